"""Small DAG builders shared by the behaviour tests."""

from __future__ import annotations

import numpy as np


def incidence(arcs: list[tuple[int, int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Incidence matrix (+1 tail, -1 head) and supply for arcs on nodes 0..n-1, source 0, sink n-1."""
    B = np.zeros((n, len(arcs)))
    for a, (u, v) in enumerate(arcs):
        B[u, a] = 1.0
        B[v, a] = -1.0
    f = np.zeros(n)
    f[0], f[-1] = 1.0, -1.0
    return B, f

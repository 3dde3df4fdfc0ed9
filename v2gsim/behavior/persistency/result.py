"""The solution type of the persistency model (D2)/(D4)/(D5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["PersistencyResult"]


@dataclass(frozen=True)
class PersistencyResult:
    """Solution of the persistency model (D2)/(D4)/(D5).

    Attributes:
        y: (n_arcs,) arc persistencies P(x_a = 1) under the extremal distribution.
        w: (n_arcs,) ``√(y(1−y))`` (the tight value of the disk-cone auxiliary, S5).
        value: optimal value ($): the tight upper bound on E[max path utility] (D2), equal to the
            dual minimum (D4).
        rho: (n_nodes,) node potentials ($), dual of flow conservation, with ``rho[sink] = 0``.
        lam: (n_arcs,) reduced utilities ``μ + s − Bᵀρ`` ($).
        status: solver status (``"optimal"`` on success; may carry a suffix such as
            ``"optimal_inaccurate"``).
        solve_time_s: wall-clock time of the solve (s), excluding problem construction.
        method: the method actually used (``"primal"``, ``"dual"`` or ``"newton"``).
        iterations: solver iterations (Newton iterations for ``"newton"``; -1 when unknown).
    """

    y: NDArray[np.float64]
    w: NDArray[np.float64]
    value: float
    rho: NDArray[np.float64]
    lam: NDArray[np.float64]
    status: str
    solve_time_s: float
    method: str = "primal"
    iterations: int = -1

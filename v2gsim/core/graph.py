"""DAG helpers over plain arrays: incidence, arc endpoints, adjacency, topological order, longest paths.

The lowest layer of v2gsim (imports only numpy). Graphs are given as arc endpoint arrays ``tail``,
``head`` (n_arcs,) over nodes ``0..n_nodes-1``, or as a node-arc incidence matrix ``B``
(n_nodes × n_arcs) with ``B[n, a] = +1`` if arc ``a`` leaves ``n`` (its tail) and ``−1`` if it enters
``n`` (its head), the convention of every model of :mod:`v2gsim.behavior` (models.md S2).

Used by the time-space activity network (:mod:`v2gsim.core.network`) and by the persistency model
(:mod:`v2gsim.behavior.persistency`), so both see the same topological order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CycleError",
    "arc_endpoints",
    "arcs_by_node",
    "as_dense",
    "longest_path_to_sink",
    "topological_order",
]


class CycleError(ValueError):
    """The graph has a directed cycle (a DAG is required)."""


def as_dense(A: Any) -> NDArray[np.float64]:
    """A matrix as a dense float array (scipy.sparse matrices and arrays are densified).

    Args:
        A: a numpy array (or array-like) or a sparse matrix with ``toarray()``.

    Returns:
        The float array (no copy when ``A`` already is a float ndarray).
    """
    return np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=float)


def arc_endpoints(B: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Tail and head node of every arc from a node-arc incidence matrix.

    Args:
        B: (n_nodes, n_arcs) incidence matrix, ``+1`` at the tail and ``−1`` at the head of each
            arc.

    Returns:
        ``(tail, head)``, two (n_arcs,) integer arrays.

    Raises:
        ValueError: if a column does not have exactly one ``+1``, one ``−1`` and zeros elsewhere.
    """
    Bd = as_dense(B)
    if Bd.ndim != 2:
        raise ValueError(f"B must be 2-D (n_nodes x n_arcs), got shape {Bd.shape}")
    plus = Bd == 1.0
    minus = Bd == -1.0
    ok = (plus.sum(axis=0) == 1) & (minus.sum(axis=0) == 1) & ((plus | minus | (Bd == 0)).all(axis=0))
    if not ok.all():
        bad = np.flatnonzero(~ok)[:5].tolist()
        raise ValueError(f"B columns {bad} are not arcs (need exactly one +1 and one -1)")
    return np.argmax(plus, axis=0).astype(np.intp), np.argmax(minus, axis=0).astype(np.intp)


def arcs_by_node(ends: NDArray[np.integer], n_nodes: int) -> list[NDArray[np.intp]]:
    """Arcs grouped by one endpoint (``tail``: out-arcs, ``head``: in-arcs), in increasing index.

    Args:
        ends: (n_arcs,) the endpoint of every arc.
        n_nodes: number of nodes.

    Returns:
        ``n_nodes`` arrays; entry ``n`` holds the arcs ``a`` with ``ends[a] == n``.
    """
    order = np.argsort(ends, kind="stable")
    starts = np.searchsorted(ends[order], np.arange(n_nodes + 1))
    return [order[starts[n] : starts[n + 1]] for n in range(n_nodes)]


def topological_order(tail: NDArray[np.integer], head: NDArray[np.integer], n_nodes: int) -> NDArray[np.intp]:
    """Topological order of the nodes of a DAG (Kahn's algorithm, depth-first stack).

    The stack starts with the nodes without incoming arcs (the lowest index on top); a node's
    out-arcs are relaxed in increasing arc index and the nodes they release are pushed in that order.
    The order is deterministic; the longest-path tie-breaking of :mod:`v2gsim.behavior.sampling`
    does not depend on it.

    Args:
        tail: (n_arcs,) tail node of each arc.
        head: (n_arcs,) head node of each arc.
        n_nodes: number of nodes.

    Returns:
        (n_nodes,) node indices such that every arc goes from an earlier to a later node.

    Raises:
        CycleError: if the graph has a directed cycle.
    """
    indeg = np.bincount(head, minlength=n_nodes)
    out_arcs = arcs_by_node(tail, n_nodes)
    stack = [int(n) for n in np.flatnonzero(indeg == 0)[::-1]]
    out: list[int] = []
    while stack:
        n = stack.pop()
        out.append(n)
        for a in out_arcs[n]:
            h = int(head[a])
            indeg[h] -= 1
            if indeg[h] == 0:
                stack.append(h)
    if len(out) != n_nodes:
        raise CycleError("the network has a directed cycle; a DAG is required")
    return np.asarray(out, dtype=np.intp)


def longest_path_to_sink(
    tail: NDArray[np.integer],
    head: NDArray[np.integer],
    weight: NDArray[np.float64],
    order: NDArray[np.integer],
    sink: int,
) -> NDArray[np.float64]:
    """Longest-path value from every node to the sink of a DAG (dynamic programme, reverse order).

    Args:
        tail, head: (n_arcs,) arc endpoints.
        weight: (n_arcs,) arc weights (e.g. utilities, $).
        order: (n_nodes,) a topological order.
        sink: the sink node.

    Returns:
        (n_nodes,) ``L[n]`` = largest total weight of an ``n``-sink path; ``L[sink] = 0`` and
        ``−inf`` where the sink is unreachable.
    """
    n_nodes = len(order)
    L = np.full(n_nodes, -np.inf)
    L[sink] = 0.0
    out_arcs = arcs_by_node(tail, n_nodes)
    for n in order[::-1]:
        arcs = out_arcs[n]
        if len(arcs) and n != sink:
            L[n] = np.max(weight[arcs] + L[head[arcs]])
    return L

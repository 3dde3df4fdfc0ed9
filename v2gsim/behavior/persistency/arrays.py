"""Validated plain-array view of an activity DAG for the persistency model (models.md §1.2).

Conventions (plain arrays, no dependency on :mod:`v2gsim.core.network`): ``B`` (n_nodes × n_arcs) is the
node-arc incidence (``+1`` at the tail, ``−1`` at the head), ``f`` (n_nodes,) the supply (``+1`` at the
single source, ``−1`` at the single sink), arc vectors ``mu``, ``sigma``, ``rebate`` (n_arcs,) in $.
Node potentials ``rho`` are fixed by ``rho[sink] = 0``; reduced utilities are
``lam = mu + rebate − Bᵀ rho`` (C3/S3), i.e. ``lam_a = util_a − (rho_tail(a) − rho_head(a))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.core.graph import arc_endpoints, as_dense, topological_order

__all__ = [
    "NetworkArrays",
    "arc_vector",
    "as_network",
    "network_arrays",
    "normalize_forced",
    "reduced_utilities",
]


@dataclass(frozen=True)
class NetworkArrays:
    """Validated plain-array view of an activity DAG.

    Attributes:
        B: (n_nodes, n_arcs) incidence matrix as float.
        f: (n_nodes,) supply vector.
        tail, head: (n_arcs,) arc endpoints.
        source, sink: the source (f = +1) and sink (f = −1) node.
        order: (n_nodes,) topological order.
        keep: (n_nodes − 1,) node indices except the sink (rows of the reduced system).
        on_path: (n_arcs,) True where the arc lies on some source-sink path (otherwise every
            feasible flow has ``y_a = 0``).
        forced: (n_arcs,) True where the arc lies on *every* source-sink path (a cut arc; every
            feasible flow has ``y_a = 1``).
        upstream: (n_forced, n_nodes) boolean; row ``k`` marks the ancestors of the tail of the
            ``k``-th forced arc (the tail included): the node set cut off by that arc.
    """

    B: NDArray[np.float64]
    f: NDArray[np.float64]
    tail: NDArray[np.intp]
    head: NDArray[np.intp]
    source: int
    sink: int
    order: NDArray[np.intp]
    keep: NDArray[np.intp]
    on_path: NDArray[np.bool_]
    forced: NDArray[np.bool_]
    upstream: NDArray[np.bool_]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.B.shape[0]

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return self.B.shape[1]

    @property
    def free(self) -> NDArray[np.bool_]:
        """Arcs whose persistency is not fixed by the network (on some but not every path)."""
        return self.on_path & ~self.forced


def _path_counts(
    tail: NDArray[np.intp], head: NDArray[np.intp], order: NDArray[np.intp], source: int, sink: int
) -> tuple[list[int], list[int], list[list[int]]]:
    """Exact path counts (Python ints) from the source to every node and from every node to the sink.

    Returns:
        ``(n_from, n_to, in_arcs)``; ``in_arcs[n]`` lists the arcs entering ``n``.
    """
    n_nodes = len(order)
    in_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    out_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    for a in range(len(tail)):
        out_arcs[tail[a]].append(a)
        in_arcs[head[a]].append(a)
    n_from = [0] * n_nodes
    n_to = [0] * n_nodes
    n_from[source] = 1
    n_to[sink] = 1
    for n in order:
        if n != source:
            n_from[n] = sum(n_from[tail[a]] for a in in_arcs[n])
    for n in order[::-1]:
        if n != sink:
            n_to[n] = sum(n_to[head[a]] for a in out_arcs[n])
    return n_from, n_to, in_arcs


def network_arrays(B: ArrayLike, f: ArrayLike) -> NetworkArrays:
    """Validate ``(B, f)`` and derive endpoints, source/sink, topological order and reachability.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence matrix (+1 tail, −1 head).
        f: (n_nodes,) supply: +1 at the single source, −1 at the single sink, 0 elsewhere.

    Returns:
        The :class:`NetworkArrays`.

    Raises:
        ValueError: on malformed incidence, supply, a cyclic graph, or a sink unreachable from the
            source.
    """
    Bd = as_dense(B)
    fd = np.asarray(f, dtype=float).ravel()
    tail, head = arc_endpoints(Bd)
    n_nodes, n_arcs = Bd.shape
    if fd.shape != (n_nodes,):
        raise ValueError(f"f must have shape ({n_nodes},), got {fd.shape}")
    src = np.flatnonzero(fd == 1.0)
    snk = np.flatnonzero(fd == -1.0)
    if len(src) != 1 or len(snk) != 1 or np.count_nonzero(fd) != 2:
        raise ValueError("f must be +1 at exactly one source, -1 at exactly one sink, 0 elsewhere")
    source, sink = int(src[0]), int(snk[0])
    order = topological_order(tail, head, n_nodes)
    n_from, n_to, in_arcs = _path_counts(tail, head, order, source, sink)
    total = n_from[sink]
    if total == 0:
        raise ValueError("the sink is not reachable from the source")
    through = [n_from[tail[a]] * n_to[head[a]] for a in range(n_arcs)]
    on_path = np.array([t > 0 for t in through], dtype=bool)
    forced = np.array([t == total for t in through], dtype=bool)
    # ancestors (tail included) of the tail of each forced arc
    forced_idx = np.flatnonzero(forced)
    upstream = np.zeros((len(forced_idx), n_nodes), dtype=bool)
    if len(forced_idx):
        anc = np.zeros((n_nodes, n_nodes), dtype=bool)
        for n in order:
            anc[n, n] = True
            for a in in_arcs[n]:
                anc[n] |= anc[tail[a]]
        upstream = anc[tail[forced_idx]]
    keep = np.delete(np.arange(n_nodes), sink)
    return NetworkArrays(Bd, fd, tail, head, source, sink, order, keep, on_path, forced, upstream)


def as_network(B: ArrayLike | NetworkArrays, f: ArrayLike | None) -> NetworkArrays:
    """``B`` itself when it is a :class:`NetworkArrays`, else :func:`network_arrays` of ``(B, f)``."""
    return B if isinstance(B, NetworkArrays) else network_arrays(B, f)


def reduced_utilities(net: NetworkArrays, util: NDArray, rho: NDArray) -> NDArray:
    """Reduced utilities (C3/S3) ``λ_a = util_a − (ρ_tail(a) − ρ_head(a))`` ($).

    Args:
        net: the network.
        util: (..., n_arcs) arc utilities ``μ + s`` ($).
        rho: (..., n_nodes) node potentials ($).

    Returns:
        (..., n_arcs) reduced utilities ($).
    """
    return util - (rho[..., net.tail] - rho[..., net.head])


def normalize_forced(net: NetworkArrays, rho: NDArray, util: NDArray) -> NDArray:
    """Shift potentials so that every forced (cut) arc has reduced utility 0.

    On a forced arc the dual (D4) is not attained (λ_a → +∞); in the attained form used here the
    arc contributes λ_a linearly and the potentials of the node set upstream of it are free up to a
    constant. Adding ``c = λ_a`` to those potentials sets λ_a = 0 and changes no other λ or the
    objective.

    Returns:
        (n_nodes,) shifted potentials with ``rho[sink] = 0``.
    """
    rho = rho.copy()
    for k, a in enumerate(np.flatnonzero(net.forced)):
        lam_a = util[a] - (rho[net.tail[a]] - rho[net.head[a]])
        rho[net.upstream[k]] += lam_a
    return rho - rho[net.sink]


def arc_vector(x: ArrayLike | None, n_arcs: int, name: str, default: float = 0.0) -> NDArray:
    """A validated (n_arcs,) float vector: ``None`` gives ``default``, a scalar is broadcast.

    Raises:
        ValueError: wrong shape or non-finite entries (``name`` in the message).
    """
    if x is None:
        return np.full(n_arcs, default)
    v = np.asarray(x, dtype=float)
    if v.ndim == 0:
        v = np.full(n_arcs, float(v))
    if v.shape != (n_arcs,):
        raise ValueError(f"{name} must have shape ({n_arcs},), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite")
    return v

"""Persistency (marginal-moment) choice model on an activity DAG (seed 000, models.md §1.2).

Drivers choose a source-sink path through an acyclic time-expanded activity network. Arc ``a``
has a random utility ṽ_a ($) with mean ``mu[a]`` and standard deviation ``sigma[a]``; nothing else
about the joint distribution is known. Over all joint distributions with those marginal moments,
the largest expected longest-path utility is (Natarajan, Song & Teo 2009)

    (D2)  sup E[Π(ṽ)] = max_{y ∈ conv(Λ)} Σ_a ( μ_a y_a + σ_a √(y_a(1−y_a)) ),

with conv(Λ) = {y : B y = f, 0 ≤ y ≤ 1}. The maximiser ``y`` gives the arc *persistencies*
P(x_a = 1) under the extremal (worst-case, path-correlated) distribution, see
:mod:`v2gsim.behavior.extremal`. It is **not** the arc-choice probability of a population of drivers
with independent utilities (for that see :mod:`v2gsim.behavior.logit`).

Conventions (plain arrays, no dependency on :mod:`v2gsim.network`):

* ``B`` (n_nodes × n_arcs): node-arc incidence, ``B[n, a] = +1`` if arc ``a`` leaves ``n`` (tail),
  ``−1`` if it enters ``n`` (head).
* ``f`` (n_nodes,): ``+1`` at the single source, ``−1`` at the single sink, ``0`` elsewhere.
* ``mu``, ``sigma``, ``rebate`` (n_arcs,), in $ (utility units); ``sigma >= 0``.
* Node duals ``rho`` are defined up to an additive constant; they are fixed by ``rho[sink] = 0``.
  Reduced utilities are ``lam = mu + rebate − Bᵀ rho`` (C3/S3), i.e.
  ``lam_a = mu_a + s_a − (rho_tail(a) − rho_head(a))``.

Three solution methods are offered (they agree to ~1e-9 in value):

* ``"primal"``: the SOCP (D2)/(D5) with the disk cone ``‖(w_a, y_a − ½)‖₂ ≤ ½`` (equivalent to
  ``w_a ≤ √(y_a(1−y_a))``, models.md S5), solved by cvxpy (Clarabel by default); ``y`` to ~1e-6.
* ``"dual"``: the SOCP (D4) in the node potentials, solved by cvxpy; ``y`` is recovered from (D3)
  (to ~1e-5, so it conserves flow only to that accuracy).
* ``"newton"``: (D4) is smooth, convex and unconstrained in ``rho`` when ``sigma_a > 0`` on every
  free arc; a damped Newton method on it (gradient ``f − B y``, Hessian ``B diag(σ²/(2h³)) Bᵀ``
  with ``h = √(λ²+σ²)``, a weighted graph Laplacian) converges in 5-20 iterations to machine
  precision, needs no problem compilation and is several times faster than a re-parameterised conic
  solve (``analysis/benchmarks/bench_behavior.py``). With some σ_a = 0 it falls back to the primal.

All cvxpy problems are built once with ``cp.Parameter`` (DPP) and only re-parameterised on re-solve;
see :class:`PersistencyModel`, which also documents how arcs whose persistency is fixed by the
network (on every path: ``y = 1``; on no path: ``y = 0``) are handled.
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

__all__ = [
    "ClusterPersistency",
    "NetworkArrays",
    "PersistencyModel",
    "PersistencyResult",
    "PersistencySolveError",
    "arc_endpoints",
    "dual_objective",
    "inner_closed_form",
    "network_arrays",
    "persistency_objective",
    "solve_persistency",
    "solve_persistency_clusters",
    "topological_order",
]

Method = Literal["primal", "dual", "newton"]

#: Default Clarabel tolerances: tighter than Clarabel's own 1e-8 so that primal and dual values
#: agree to ~1e-9 and ``y`` recovered from the dual via (D3) to ~1e-5.
CLARABEL_DEFAULTS: dict[str, Any] = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "tol_ktratio": 1e-8,
}


class PersistencySolveError(RuntimeError):
    """Raised when a persistency problem is not solved to optimality (status in the message)."""


# --------------------------------------------------------------------------------------------------
# Plain-array network helpers
# --------------------------------------------------------------------------------------------------


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
    Bd = np.asarray(B.toarray() if sps.issparse(B) else B, dtype=float)
    if Bd.ndim != 2:
        raise ValueError(f"B must be 2-D (n_nodes x n_arcs), got shape {Bd.shape}")
    plus = Bd == 1.0
    minus = Bd == -1.0
    ok = (plus.sum(axis=0) == 1) & (minus.sum(axis=0) == 1) & ((plus | minus | (Bd == 0)).all(axis=0))
    if not ok.all():
        bad = np.flatnonzero(~ok)[:5].tolist()
        raise ValueError(f"B columns {bad} are not arcs (need exactly one +1 and one -1)")
    return np.argmax(plus, axis=0).astype(np.intp), np.argmax(minus, axis=0).astype(np.intp)


def topological_order(tail: NDArray[np.intp], head: NDArray[np.intp], n_nodes: int) -> NDArray[np.intp]:
    """Topological order of the nodes of a DAG (Kahn's algorithm).

    Args:
        tail: (n_arcs,) tail node of each arc.
        head: (n_arcs,) head node of each arc.
        n_nodes: number of nodes.

    Returns:
        (n_nodes,) node indices such that every arc goes from an earlier to a later node.

    Raises:
        ValueError: if the graph has a directed cycle.
    """
    indeg = np.bincount(head, minlength=n_nodes)
    order_arcs = np.argsort(tail, kind="stable")
    starts = np.searchsorted(tail[order_arcs], np.arange(n_nodes + 1))
    stack = [int(n) for n in np.flatnonzero(indeg == 0)[::-1]]
    out: list[int] = []
    while stack:
        n = stack.pop()
        out.append(n)
        for a in order_arcs[starts[n] : starts[n + 1]]:
            h = int(head[a])
            indeg[h] -= 1
            if indeg[h] == 0:
                stack.append(h)
    if len(out) != n_nodes:
        raise ValueError("the network has a directed cycle; a DAG is required")
    return np.asarray(out, dtype=np.intp)


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
    Bd = np.asarray(B.toarray() if sps.issparse(B) else B, dtype=float)
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
    # exact path counts (Python ints): from the source to n, and from n to the sink
    in_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    out_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    for a in range(n_arcs):
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


def _normalize_forced(net: NetworkArrays, rho: NDArray, util: NDArray) -> NDArray:
    """Shift potentials so that every forced (cut) arc has reduced utility 0.

    On a forced arc the dual (D4) is not attained (λ_a → +∞); in the attained form used here the
    arc contributes λ_a linearly and the potentials of the node set upstream of it are free up to a
    constant. Adding ``c = λ_a`` to those potentials sets λ_a = 0 and changes no other λ or the
    objective.
    """
    rho = rho.copy()
    for k, a in enumerate(np.flatnonzero(net.forced)):
        lam_a = util[a] - (rho[net.tail[a]] - rho[net.head[a]])
        rho[net.upstream[k]] += lam_a
    return rho - rho[net.sink]


def _arc_vector(x: ArrayLike | None, n_arcs: int, name: str, default: float = 0.0) -> NDArray:
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


# --------------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------------


def _stable_h_plus_lam(lam: NDArray, sigma: NDArray) -> tuple[NDArray, NDArray]:
    """Return ``(h, h + λ)`` with ``h = √(λ²+σ²)``, computing ``h + λ`` without cancellation."""
    h = np.hypot(lam, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        neg = np.where(h - lam > 0, sigma**2 / (h - lam), 0.0)
    return h, np.where(lam >= 0, h + lam, neg)


def inner_closed_form(lam: ArrayLike, sigma: ArrayLike) -> tuple[NDArray, NDArray]:
    """Closed-form inner maximisation (D3): ``max_{0≤y≤1} λ y + σ √(y(1−y))``.

    The value is ``½(λ + √(λ²+σ²))`` and the maximiser ``y = ½(1 + λ/√(λ²+σ²))``. Both are computed
    without cancellation for λ ≪ 0. For ``σ = 0`` the maximiser is 1 (λ > 0) or 0 (λ < 0); at
    ``λ = σ = 0`` every ``y`` in [0, 1] is optimal and ``nan`` is returned for it.

    Args:
        lam: reduced utility λ ($), any shape.
        sigma: standard deviation σ ≥ 0 ($), broadcastable with ``lam``.

    Returns:
        ``(value, y)``: the optimal value ($) and maximiser (probability), broadcast arrays.
    """
    lam_a, sig_a = np.broadcast_arrays(np.asarray(lam, float), np.abs(np.asarray(sigma, float)))
    h, hpl = _stable_h_plus_lam(lam_a, sig_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(h > 0, hpl / (2.0 * h), np.nan)
    return 0.5 * hpl, y


def persistency_objective(y: ArrayLike, mu: ArrayLike, sigma: ArrayLike) -> float:
    """Primal objective of (D2)/(D5): ``Σ_a μ_a y_a + σ_a √(y_a(1−y_a))`` ($).

    Args:
        y: (n_arcs,) arc persistencies in [0, 1].
        mu: (n_arcs,) mean utilities ($), rebates already added for (D5).
        sigma: (n_arcs,) standard deviations ($).

    Returns:
        The objective value ($).
    """
    y = np.clip(np.asarray(y, float), 0.0, 1.0)
    return float(np.dot(mu, y) + np.dot(sigma, np.sqrt(y * (1.0 - y))))


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


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


def _flow_completion(net: NetworkArrays, y: NDArray, undetermined: NDArray[np.bool_]) -> NDArray:
    """Complete a flow whose undetermined arcs are free in [0, 1] (L1-closest to conservation).

    Solves ``min ‖B_U y_U − (f − B_D y_D)‖₁`` s.t. ``0 ≤ y_U ≤ 1`` with HiGHS.
    """
    if not undetermined.any():
        return y
    U = np.flatnonzero(undetermined)
    D = np.flatnonzero(~undetermined)
    rhs = net.f - net.B[:, D] @ y[D]
    BU = net.B[:, U]
    n, k = BU.shape
    c = np.r_[np.zeros(k), np.ones(2 * n)]
    A_eq = np.hstack([BU, np.eye(n), -np.eye(n)])
    bounds = [(0.0, 1.0)] * k + [(0.0, None)] * (2 * n)
    res = linprog(c, A_eq=A_eq, b_eq=rhs, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise PersistencySolveError(f"flow-completion LP failed: {res.message}")
    out = y.copy()
    out[U] = res.x[:k]
    return out


def _y_from_duals(net: NetworkArrays, lam: NDArray, sigma: NDArray, lam_tol: float) -> NDArray:
    """Recover persistencies from reduced utilities via (D3).

    For ``σ_a > 0``: ``y_a = ½(1 + λ_a/√(λ_a²+σ_a²))``. For ``σ_a = 0`` the limit is used:
    ``y_a = 1`` if ``λ_a > lam_tol``, ``0`` if ``λ_a < −lam_tol``; arcs with ``|λ_a| ≤ lam_tol`` are
    undetermined by the dual (every split of flow among them is optimal: they add nothing to
    ``Σ λ y + σ w``) and are filled by a flow-completion LP. Forced (cut) arcs get ``y = 1``.
    """
    _, y = inner_closed_form(lam, sigma)
    zero = sigma == 0.0
    y = np.where(zero & (lam > lam_tol), 1.0, y)
    y = np.where(zero & (lam < -lam_tol), 0.0, y)
    und = zero & (np.abs(lam) <= lam_tol) & net.free
    y = np.where(und, 0.0, y)
    y = np.where(net.forced, 1.0, y)
    y = np.where(net.on_path, y, 0.0)
    return _flow_completion(net, y, und)


# --------------------------------------------------------------------------------------------------
# Newton method on the dual (D4)
# --------------------------------------------------------------------------------------------------


def _longest_path_potentials(net: NetworkArrays, util: NDArray) -> NDArray:
    """ρ_n = longest path utility from ``n`` to the sink (−inf if the sink is unreachable)."""
    L = np.full(net.n_nodes, -np.inf)
    L[net.sink] = 0.0
    by_tail = np.argsort(net.tail, kind="stable")
    starts = np.searchsorted(net.tail[by_tail], np.arange(net.n_nodes + 1))
    for n in net.order[::-1]:
        arcs = by_tail[starts[n] : starts[n + 1]]
        if len(arcs) and n != net.sink:
            L[n] = np.max(util[arcs] + L[net.head[arcs]])
    return L


def _dual_terms(net: NetworkArrays, lam: NDArray, sigma: NDArray) -> NDArray:
    """Per-arc dual terms: ½(λ+h) on free arcs, λ on forced arcs (y ≡ 1), 0 off paths (y ≡ 0)."""
    _, hpl = _stable_h_plus_lam(lam, sigma)
    return np.where(net.forced, lam, np.where(net.on_path, 0.5 * hpl, 0.0))


def dual_objective(
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    rho: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
    rebate: ArrayLike | None = None,
) -> float:
    """Dual objective (D4) at potentials ``rho`` ($): ``½ Σ_a (λ_a + √(λ_a²+σ_a²)) + fᵀρ``.

    Every ``rho`` gives an upper bound on the primal (D2) value (weak duality). Forced (cut) arcs,
    on which every path runs, contribute ``λ_a`` (their limit as λ_a → ∞, where (D4) is approached
    but not attained).

    Args:
        B: (n_nodes, n_arcs) incidence matrix, or a :class:`NetworkArrays`.
        f: (n_nodes,) supply (ignored when ``B`` is a :class:`NetworkArrays`).
        rho: (n_nodes,) node potentials ($).
        mu: (n_arcs,) mean utilities ($).
        sigma: (n_arcs,) standard deviations ($).
        rebate: optional (n_arcs,) rebates ($), (D5).

    Returns:
        The dual objective value ($).
    """
    net = B if isinstance(B, NetworkArrays) else network_arrays(B, f)
    m = net.n_arcs
    util = _arc_vector(mu, m, "mu") + _arc_vector(rebate, m, "rebate")
    rho_v = np.asarray(rho, float)
    lam = util - (rho_v[net.tail] - rho_v[net.head])
    return float(_dual_terms(net, lam, _arc_vector(sigma, m, "sigma")).sum() + net.f @ rho_v)


def _newton_dual(
    net: NetworkArrays,
    util: NDArray,
    sigma: NDArray,
    rho0: NDArray | None = None,
    tol: float = 1e-11,
    max_iter: int = 200,
) -> tuple[NDArray, int, bool]:
    """Damped Newton method for (D4) with ``σ_a > 0`` on every free arc.

    Minimises ``F(ρ) = Σ_a φ_a(λ_a) + fᵀρ`` over ``ρ`` with ``ρ_sink = 0`` and ``λ = util − Bᵀρ``,
    where ``φ_a = ½(λ_a + h_a)`` (``h_a = √(λ_a²+σ_a²)``) on free arcs and ``φ_a = λ_a`` on forced
    arcs. ``∇F = f − B y`` (the flow-conservation residual, y from D3) and
    ``∇²F = B diag(σ²/(2h³)) Bᵀ`` (a weighted Laplacian). Forced arcs make the Hessian singular
    along the indicator of the node set upstream of each of them, a direction in which ``F`` is
    constant; ``D Dᵀ`` with those indicators is added to the Hessian. Steps are damped by Armijo
    backtracking; iteration stops when ``‖f − B y‖_∞ ≤ tol``.

    Returns:
        ``(rho, iterations, converged)`` with ``rho`` of length n_nodes and ``rho[sink] = 0``.
    """
    # Index arithmetic instead of dense B products: tiny BLAS calls are slow when OpenBLAS threads
    # compete for cores, and the Laplacian is assembled in O(n_arcs).
    n = net.n_nodes
    tail, head = net.tail, net.head
    keep = net.keep
    free = net.free
    forced = net.forced
    fk = net.f[keep]
    D = net.upstream[:, keep].T.astype(float)
    DDt = D @ D.T if D.shape[1] else np.zeros((len(keep), len(keep)))
    lap_rows = np.concatenate([tail, head, tail, head])
    lap_cols = np.concatenate([tail, head, head, tail])
    lap_flat = lap_rows * n + lap_cols
    if rho0 is None:
        rho = _longest_path_potentials(net, util)
    else:
        rho = np.asarray(rho0, float).copy()
    rho = rho - rho[net.sink]
    full = np.zeros(n)

    def parts(r: NDArray) -> tuple[float, NDArray, NDArray]:
        """Objective, h, and gradient f − B y at reduced potentials r."""
        full[keep] = r
        lam = util - (full[tail] - full[head])
        h, hpl = _stable_h_plus_lam(lam, sigma)
        F = float(np.sum(np.where(forced, lam, 0.5 * hpl)) + fk @ r)
        y = np.where(forced, 1.0, np.where(free, hpl / (2.0 * np.where(free, h, 1.0)), 0.0))
        By = np.bincount(tail, y, minlength=n) - np.bincount(head, y, minlength=n)
        return F, h, fk - By[keep]

    r = rho[keep].copy()
    F, h, g = parts(r)
    converged = False
    it = 0
    while it < max_iter:
        gnorm = float(np.max(np.abs(g)))
        if gnorm <= tol:
            converged = True
            break
        it += 1
        d = np.where(free, 0.5 * sigma**2 / np.where(free, h, 1.0) ** 3, 0.0)
        vals = np.concatenate([d, d, -d, -d])
        L = np.bincount(lap_flat, vals, minlength=n * n).reshape(n, n)
        H = L[np.ix_(keep, keep)] + DDt
        try:
            step = -sla.cho_solve(sla.cho_factor(H, check_finite=False), g, check_finite=False)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, g, rcond=None)[0]
        slope = float(g @ step)
        if not slope < 0:  # numerical breakdown: steepest descent
            step = -g
            slope = float(-(g @ g))
        t = 1.0
        accepted = False
        while t >= 1e-10:
            F_new, h_new, g_new = parts(r + t * step)
            if abs(F_new - F) <= 1e-13 * max(1.0, abs(F)):
                # F is flat at rounding level near the optimum: judge the step by the gradient
                if float(np.max(np.abs(g_new))) < gnorm:
                    accepted = True
                    break
            elif F_new <= F + 1e-4 * t * slope:  # Armijo
                accepted = True
                break
            t *= 0.5
        if not accepted:
            converged = gnorm <= 1e3 * tol
            break
        r = r + t * step
        F, h, g = F_new, h_new, g_new
    rho = np.zeros(net.n_nodes)
    rho[net.keep] = r
    return _normalize_forced(net, rho, util), it, converged


# --------------------------------------------------------------------------------------------------
# Model built once, re-solved with new parameters
# --------------------------------------------------------------------------------------------------


class PersistencyModel:
    """Persistency model (D2)/(D4)/(D5) on one network, built once and re-solved.

    The cvxpy problem is built on first use with ``cp.Parameter``s for ``mu``, ``rebate`` and
    ``sigma`` (all DPP: the parameters enter as ``(μ + s)ᵀ y + σᵀ w`` in the primal and through
    ``λ = μ + s − Bᵀρ`` and ``‖(λ_a, σ_a)‖`` in the dual), so subsequent solves only
    re-parameterise.

    Degenerate arcs are handled explicitly, because interior-point solvers lose accuracy on them:

    * an arc on no source-sink path has ``y = 0`` in every feasible flow; it is fixed to 0 and left
      out of the disk cone (the dual methods reject such networks: their (D4) is not attained);
    * a *forced* arc (a cut arc, on every source-sink path) has ``y = 1``; it is left out of the
      disk cone (``w = 0``), and in the dual it contributes ``λ_a`` instead of ``½(λ_a + h_a)``
      (the limit λ_a → ∞ at which (D4) is approached but not attained). Its potentials are then
      normalised so that ``λ_a = 0``; on such arcs ``y = ½(1 + λ/h)`` does not hold.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence matrix (+1 tail, −1 head), numpy or scipy.sparse.
        f: (n_nodes,) supply vector (+1 source, −1 sink).
        sigma: optional default (n_arcs,) standard deviations ($) used when ``solve`` gets none.
        method: ``"primal"`` (D2/D5 SOCP), ``"dual"`` (D4 SOCP) or ``"newton"`` (D4 by Newton; needs
            ``σ > 0`` on every free arc, otherwise the primal SOCP is used and reported in
            ``PersistencyResult.method``).
        solver: cvxpy solver name (default Clarabel).
        solver_options: extra keyword arguments for ``Problem.solve``; for Clarabel the defaults
            are :data:`CLARABEL_DEFAULTS`.
        lam_tol: |λ| ($) below which an arc with σ = 0 is treated as indifferent when recovering
            ``y`` from the dual.
    """

    def __init__(
        self,
        B: ArrayLike,
        f: ArrayLike,
        sigma: ArrayLike | None = None,
        *,
        method: Method = "primal",
        solver: str | None = None,
        solver_options: dict[str, Any] | None = None,
        lam_tol: float = 1e-6,
    ) -> None:
        if method not in ("primal", "dual", "newton"):
            raise ValueError(f"method must be 'primal', 'dual' or 'newton', got {method!r}")
        self.net = network_arrays(B, f)
        self.method: Method = method
        self.solver = solver or cp.CLARABEL
        opts = dict(CLARABEL_DEFAULTS) if self.solver == cp.CLARABEL else {}
        opts.update(solver_options or {})
        self.solver_options = opts
        self.lam_tol = lam_tol
        self.default_sigma = (
            None if sigma is None else self._check_sigma(_arc_vector(sigma, self.n_arcs, "sigma"))
        )
        self._primal: tuple[cp.Problem, dict[str, Any]] | None = None
        self._dual: tuple[cp.Problem, dict[str, Any]] | None = None
        if method in ("dual", "newton"):
            self._require_on_path()

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return self.net.n_arcs

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.net.n_nodes

    def _require_on_path(self) -> None:
        if not self.net.on_path.all():
            bad = np.flatnonzero(~self.net.on_path)[:5].tolist()
            raise ValueError(
                f"arcs {bad} lie on no source-sink path: the dual (D4) is not attained; prune the "
                "network or use method='primal'"
            )

    @staticmethod
    def _check_sigma(sigma: NDArray) -> NDArray:
        if np.any(sigma < 0):
            raise ValueError("sigma must be >= 0")
        return sigma

    # -- problem construction -------------------------------------------------------------------

    def _build_primal(self) -> tuple[cp.Problem, dict[str, Any]]:
        m = self.n_arcs
        net = self.net
        free = np.flatnonzero(net.free)
        off = np.flatnonzero(~net.on_path)
        Bk = sps.csr_matrix(net.B[net.keep])
        y = cp.Variable(m, name="y")
        mu = cp.Parameter(m, name="mu")
        reb = cp.Parameter(m, name="rebate")
        sig = cp.Parameter(m, name="sigma", nonneg=True)
        flow = Bk @ y == net.f[net.keep]
        cons: list[cp.Constraint] = [flow]
        obj = (mu + reb) @ y
        if len(free):
            w = cp.Variable(len(free), name="w")
            # disk cone ||(w_a, y_a - 1/2)|| <= 1/2  <=>  w_a^2 <= y_a(1 - y_a), 0 <= y_a <= 1  (S5)
            yf = y[free]
            cons.append(cp.SOC(np.full(len(free), 0.5), cp.vstack([w, yf - 0.5]), axis=0))
            obj = obj + sig[free] @ w
        if len(off):
            cons.append(y[off] == 0)
        prob = cp.Problem(cp.Maximize(obj), cons)
        return prob, {"y": y, "mu": mu, "rebate": reb, "sigma": sig, "flow": flow}

    def _build_dual(self) -> tuple[cp.Problem, dict[str, Any]]:
        m = self.n_arcs
        net = self.net
        free = np.flatnonzero(net.free)
        forced = np.flatnonzero(net.forced)
        BkT = sps.csr_matrix(net.B[net.keep].T)
        rho = cp.Variable(len(net.keep), name="rho")
        mu = cp.Parameter(m, name="mu")
        reb = cp.Parameter(m, name="rebate")
        sig = cp.Parameter(m, name="sigma", nonneg=True)
        lam = mu + reb - BkT @ rho  # (C3)/(S3)
        obj = net.f[net.keep] @ rho
        cons: list[cp.Constraint] = []
        if len(free):
            t = cp.Variable(len(free), name="t")
            lam_f = lam[free]
            # t_a >= sqrt(lam_a^2 + sigma_a^2)
            cons.append(cp.SOC(t, cp.vstack([lam_f, sig[free]]), axis=0))
            obj = obj + 0.5 * cp.sum(lam_f + t)  # (D4)
        if len(forced):
            obj = obj + cp.sum(lam[forced])
        prob = cp.Problem(cp.Minimize(obj), cons)
        return prob, {"rho": rho, "mu": mu, "rebate": reb, "sigma": sig}

    # -- solving -------------------------------------------------------------------------------

    def _inputs(
        self, mu: ArrayLike, sigma: ArrayLike | None, rebate: ArrayLike | None
    ) -> tuple[NDArray, NDArray, NDArray]:
        m = self.n_arcs
        mu_v = _arc_vector(mu, m, "mu")
        if sigma is None:
            if self.default_sigma is None:
                raise ValueError("sigma was given neither to the model nor to solve()")
            sig_v = self.default_sigma
        else:
            sig_v = self._check_sigma(_arc_vector(sigma, m, "sigma"))
        reb_v = _arc_vector(rebate, m, "rebate")
        return mu_v, sig_v, reb_v

    def _run(self, prob: cp.Problem) -> tuple[str, float, int]:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # reported instead through the status "optimal_inaccurate"
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prob.solve(solver=self.solver, **self.solver_options)
        except cp.error.SolverError as exc:
            raise PersistencySolveError(f"persistency solver {self.solver} failed: {exc}") from exc
        dt = time.perf_counter() - t0
        status = str(prob.status)
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise PersistencySolveError(
                f"persistency problem ({self.n_nodes} nodes, {self.n_arcs} arcs) not solved: "
                f"status {status!r} with solver {self.solver}"
            )
        iters = -1
        stats = prob.solver_stats
        if stats is not None and stats.num_iters is not None:
            iters = int(stats.num_iters)
        return status, dt, iters

    def solve(
        self,
        mu: ArrayLike,
        sigma: ArrayLike | None = None,
        rebate: ArrayLike | None = None,
        *,
        method: Method | None = None,
    ) -> PersistencyResult:
        """Solve the persistency model for new parameters.

        Args:
            mu: (n_arcs,) mean arc utilities ($).
            sigma: (n_arcs,) standard deviations ($, ≥ 0); defaults to the model's ``sigma``.
            rebate: (n_arcs,) rebates added to ``mu`` ($; zero on non-charging arcs), (D5).
            method: override the model's method for this call.

        Returns:
            The :class:`PersistencyResult`.

        Raises:
            PersistencySolveError: if the solver does not report an optimal solution.
        """
        mu_v, sig_v, reb_v = self._inputs(mu, sigma, rebate)
        meth = method or self.method
        if meth in ("dual", "newton"):
            self._require_on_path()
        if meth == "newton":
            if np.all(sig_v[self.net.free] > 0):
                return self._solve_newton(mu_v, sig_v, reb_v)
            meth = "primal"
        if meth == "primal":
            return self._solve_primal(mu_v, sig_v, reb_v)
        if meth == "dual":
            return self._solve_dual(mu_v, sig_v, reb_v)
        raise ValueError(f"unknown method {meth!r}")

    def _result(
        self,
        y: NDArray,
        rho: NDArray,
        util: NDArray,
        value: float,
        status: str,
        dt: float,
        method: str,
        iters: int,
    ) -> PersistencyResult:
        y = np.clip(y, 0.0, 1.0)
        return PersistencyResult(
            y=y,
            w=np.sqrt(y * (1.0 - y)),
            value=value,
            rho=rho,
            lam=util - (rho[self.net.tail] - rho[self.net.head]),
            status=status,
            solve_time_s=dt,
            method=method,
            iterations=iters,
        )

    def _solve_primal(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        if self._primal is None:
            self._primal = self._build_primal()
        prob, v = self._primal
        v["mu"].value, v["sigma"].value, v["rebate"].value = mu, sigma, reb
        status, dt, iters = self._run(prob)
        y = np.asarray(v["y"].value, float)
        y = np.where(self.net.forced, 1.0, np.where(self.net.on_path, y, 0.0))
        rho = np.zeros(self.n_nodes)
        rho[self.net.keep] = np.asarray(v["flow"].dual_value, float)
        rho = _normalize_forced(self.net, rho, mu + reb)
        return self._result(y, rho, mu + reb, float(prob.value), status, dt, "primal", iters)

    def _solve_dual(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        if self._dual is None:
            self._dual = self._build_dual()
        prob, v = self._dual
        v["mu"].value, v["sigma"].value, v["rebate"].value = mu, sigma, reb
        status, dt, iters = self._run(prob)
        t0 = time.perf_counter()
        rho = np.zeros(self.n_nodes)
        rho[self.net.keep] = np.asarray(v["rho"].value, float)
        rho = _normalize_forced(self.net, rho, mu + reb)
        lam = mu + reb - (rho[self.net.tail] - rho[self.net.head])
        y = _y_from_duals(self.net, lam, sigma, self.lam_tol)
        dt += time.perf_counter() - t0
        return self._result(y, rho, mu + reb, float(prob.value), status, dt, "dual", iters)

    def _solve_newton(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        t0 = time.perf_counter()
        util = mu + reb
        rho, iters, ok = _newton_dual(self.net, util, sigma)
        lam = util - (rho[self.net.tail] - rho[self.net.head])
        _, y = inner_closed_form(lam, sigma)
        y = np.where(self.net.forced, 1.0, y)
        value = float(_dual_terms(self.net, lam, sigma).sum() + self.net.f @ rho)
        dt = time.perf_counter() - t0
        if not ok:
            raise PersistencySolveError(
                f"Newton method on (D4) did not converge in {iters} iterations "
                f"({self.n_nodes} nodes, {self.n_arcs} arcs); use method='primal'"
            )
        return self._result(y, rho, util, value, "optimal", dt, "newton", iters)


# --------------------------------------------------------------------------------------------------
# Convenience functions
# --------------------------------------------------------------------------------------------------

_MODEL_CACHE: OrderedDict[tuple, PersistencyModel] = OrderedDict()
_MODEL_CACHE_SIZE = 32


def _cached_model(B: ArrayLike, f: ArrayLike, method: Method, solver: str | None) -> PersistencyModel:
    Bd = np.ascontiguousarray(np.asarray(B.toarray() if sps.issparse(B) else B, dtype=float))
    fd = np.ascontiguousarray(np.asarray(f, dtype=float))
    key = (Bd.shape, Bd.tobytes(), fd.tobytes(), method, solver)
    model = _MODEL_CACHE.get(key)
    if model is None:
        model = PersistencyModel(Bd, fd, method=method, solver=solver)
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    else:
        _MODEL_CACHE.move_to_end(key)
    return model


def solve_persistency(
    B: ArrayLike,
    f: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
    rebate: ArrayLike | None = None,
    *,
    method: Method = "primal",
    solver: str | None = None,
) -> PersistencyResult:
    """Solve the persistency model (D2) — with rebates (D5) — on one network.

    A :class:`PersistencyModel` per ``(B, f, method, solver)`` is cached (LRU, 32 entries), so
    repeated calls on the same network only re-parameterise the cvxpy problem.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        mu: (n_arcs,) mean arc utilities ($).
        sigma: (n_arcs,) standard deviations of arc utilities ($, ≥ 0).
        rebate: (n_arcs,) rebate added to ``mu`` ($; zero on non-charging arcs), (D5).
        method: ``"primal"`` (D2/D5 SOCP with the disk cone), ``"dual"`` ((D4) SOCP; ``y`` from
            (D3), arcs with σ = 0 and λ = 0 completed by a flow LP) or ``"newton"`` ((D4) by damped
            Newton; requires σ > 0 on free arcs, else falls back to the primal).
        solver: cvxpy solver (default Clarabel).

    Returns:
        The :class:`PersistencyResult`.
    """
    return _cached_model(B, f, method, solver).solve(mu, sigma, rebate)


@dataclass(frozen=True)
class ClusterPersistency:
    """Persistency solutions of several driver clusters and their population shares.

    Attributes:
        results: one :class:`PersistencyResult` per cluster.
        shares: (n_clusters,) population shares (sum to 1).
    """

    results: tuple[PersistencyResult, ...]
    shares: NDArray[np.float64]

    def aggregate(self, maps: Sequence[ArrayLike] | None = None) -> NDArray[np.float64]:
        """Share-weighted aggregate ``Σ_c share_c · A_c y_c``.

        Args:
            maps: one (k, n_arcs_c) matrix per cluster mapping that cluster's arc persistencies to a
                common k-vector (e.g. an hour × charging-arc indicator matrix giving the fraction of
                the fleet plugged in per hour, E1). ``None`` requires all clusters to share one arc
                set and returns the share-weighted arc persistency.

        Returns:
            (k,) aggregate (fraction of the whole fleet).
        """
        if maps is None:
            sizes = {len(r.y) for r in self.results}
            if len(sizes) != 1:
                raise ValueError("clusters have different arc sets; pass maps")
            return np.sum([s * r.y for s, r in zip(self.shares, self.results, strict=True)], axis=0)
        if len(maps) != len(self.results):
            raise ValueError("need one map per cluster")
        parts = [
            s * (np.asarray(A.toarray() if sps.issparse(A) else A, float) @ r.y)
            for s, A, r in zip(self.shares, maps, self.results, strict=True)
        ]
        return np.sum(parts, axis=0)


def solve_persistency_clusters(
    networks: Sequence[tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]],
    shares: ArrayLike,
    rebate_by_cluster: Sequence[ArrayLike | None] | None = None,
    *,
    method: Method = "primal",
    solver: str | None = None,
) -> ClusterPersistency:
    """Solve the persistency model for several driver clusters (E1).

    Each cluster has its own network and parameters ``(B, f, mu, sigma)``; the persistency of the
    fleet is the share-weighted mixture, see :meth:`ClusterPersistency.aggregate`.

    Args:
        networks: one ``(B, f, mu, sigma)`` tuple per cluster ($ for mu, sigma).
        shares: (n_clusters,) non-negative population shares summing to 1.
        rebate_by_cluster: optional per-cluster rebate vectors ($; ``None`` entries mean none).
        method: see :func:`solve_persistency`.
        solver: cvxpy solver (default Clarabel).

    Returns:
        :class:`ClusterPersistency` with the per-cluster results and shares.
    """
    sh = np.asarray(shares, float).ravel()
    if len(sh) != len(networks):
        raise ValueError(f"{len(networks)} networks but {len(sh)} shares")
    if np.any(sh < 0) or not np.isclose(sh.sum(), 1.0, atol=1e-9):
        raise ValueError("shares must be non-negative and sum to 1")
    rebates = list(rebate_by_cluster) if rebate_by_cluster is not None else [None] * len(sh)
    if len(rebates) != len(sh):
        raise ValueError("rebate_by_cluster must have one entry per cluster")
    results = tuple(
        solve_persistency(B, f, mu, sigma, reb, method=method, solver=solver)
        for (B, f, mu, sigma), reb in zip(networks, rebates, strict=True)
    )
    return ClusterPersistency(results=results, shares=sh)

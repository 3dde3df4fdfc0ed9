"""Upper bounds from the follower's monotone response (models.md §1.5, B3): branch-and-bound nodes
and the valid inequalities of the MISOCP.

y_ct is non-decreasing in s_t (the follower value is convex in s), and — when the charging arcs are
complements (Granot–Veinott, models.md B3) — in every other hour's rebate as well. For a node of the
branch-and-bound with level domains D_t, ``lo_t = min D_t``, ``hi_t = max D_t``, every s in the node
and every level ℓ ∈ D_t of hour t satisfy

    y_ct(ℓ, lo_−t) − m_ct  <=  y_ct(s)|_{s_t = ℓ}  <=  y_ct(ℓ, hi_−t) + m_ct,

where the margin ``m_ct = safety · Σ_{t'≠t} ν_c[t, t'] (hi_t' − lo_t')`` covers small
substitution effects (ν_c[t, t'] = the largest negative cross-derivative ∂y_ct/∂s_t' found by
:func:`v2gsim.optimize.bilevel.substitution.substitution_report` at sampled rebate vectors; 0 for
complements, and then the bound is rigorous) plus the follower's accuracy :data:`Y_TOL`.
With ``n = Σ_c M_c y_ct`` (expected plugged EVs) between ``n̲ = Σ_c M_c y̲_ctℓ`` and
``n̄ = Σ_c M_c ȳ_ctℓ``, and since C* increases in b and decreases in a, hour t at level ℓ
contributes at most

    U_tℓ = max_{n̲ <= n <= n̄}  p̄_t⁺ C*(ψ n, a̲) − ℓ n,   a̲ = ψ² Σ_c M_c min(y̲(1−y̲), ȳ(1−ȳ)),

(C* is concave in b above the no-bid threshold, so the maximum is found by golden-section search
and bounded with the Lipschitz constant), and ``Σ_t max_{ℓ∈D_t} U_tℓ`` bounds V on the node
(:func:`node_bounds`). The node bounds cut the range [n̲, n̄] into :data:`A_PIECES` slices and use
on each slice the smallest a over the box ∩ slab (:func:`sliced_hour_bound`; ours, issue #17: the
bound is very sensitive to a̲ at 400 EVs, 5 % more a̲ moves the root bound by 0.5 %).
:mod:`v2gsim.optimize.bilevel.chain` tightens these node bounds by fixing a window of consecutive
hours instead of one (the same box argument outside the window).
The same box at the root node (all levels, ``lo = 0``, ``hi`` = the top level)
gives the level-specific bounds ``y̲_cth``, ``ȳ_cth`` of the (B3) rows of the MISOCP
(:func:`level_bounds`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from v2gsim.optimize.bilevel.bids import cstar
from v2gsim.optimize.bilevel.follower import BatchFollower
from v2gsim.optimize.bilevel.hour_kernel import hour_value_bound, slab_spreads
from v2gsim.optimize.bilevel.instance import top_rebates
from v2gsim.optimize.bilevel.leader import LeaderData, single_hour_changes

__all__ = [
    "A_PIECES", "Y_TOL", "NodeBounds", "domain_extremes", "hour_bound", "level_bounds", "node_bounds",
    "sliced_hour_bound",
]


A_PIECES = 4
"""Slices of the range of expected plugged EVs in the hour bounds (:func:`sliced_hour_bound`)."""

Y_TOL = 1e-9
"""Accuracy of the batched follower's persistencies (Newton stops at ‖f − By‖∞ <= 1e-10); the
bounds widen every persistency range by it."""


@dataclass
class NodeBounds:
    """Bounds of one branch-and-bound node (:func:`node_bounds`).

    Attributes:
        U: (T, H) upper bounds U_tℓ of every hour's value at every level ($), −inf outside the domain.
        ub: ``Σ_t max_ℓ U_tℓ``, the node's bound on V ($).
        rho_lo: per cluster, potentials at the node's lower corner (warm starts).
        rho_hi: per cluster, potentials at the node's upper corner.
        s_lo, s_hi: (T,) rebates of the two corners ($).
        cand_idx: level indices of the exactly evaluated candidates (the two corners).
        cand_val: their exact leader values V ($).
    """

    U: NDArray[np.float64]
    ub: float
    rho_lo: list[NDArray]
    rho_hi: list[NDArray]
    s_lo: NDArray[np.float64]
    s_hi: NDArray[np.float64]
    cand_idx: list[NDArray[np.int64]]
    cand_val: NDArray[np.float64]


def hour_bound(
    ld: LeaderData, n_lo: NDArray[np.float64], n_hi: NDArray[np.float64], a_min: NDArray[np.float64],
    *, golden: bool = False,
) -> NDArray[np.float64]:
    """Upper bound of hour t's value at level ℓ over a box of cluster persistencies, (T, H).

    With ``n = Σ_c M_c y_ct`` (expected plugged EVs) in ``[n_lo, n_hi]`` and the spread term at
    least ``a_min``, the hour's value ``p̄⁺ C*(ψn, a) − ℓ n`` is at most
    ``g(n) = p̄⁺ C*(ψn, a_min) − ℓ n`` (C* decreases in a). C* is 0 below the no-bid threshold
    ``n0 = κ√a_min/ψ`` and concave above it (the bid's feasible set is convex in (C, b)), so g is
    decreasing below n0 and concave above: its maximum is g(n_lo) or the maximum of the concave
    part, found by golden-section search and bounded above by adding the Lipschitz constant
    ``p̄⁺ψ/r̄ + ℓ`` times the final bracket width.

    Without the state-of-charge cap (and unless ``golden``) the compiled kernel
    :func:`~v2gsim.optimize.bilevel.hour_kernel.hour_value_bound` does the same with the exact
    derivative of g and tangent bounds (rigorous for concave g, tighter and about 100x faster);
    ``golden=True`` forces the golden-section path (the reference the kernel is tested against).

    The inputs may carry a trailing axis of slices, (T, H, K) (:func:`sliced_hour_bound`); the
    result then has that shape too.
    """
    T, H = ld.hours, ld.n_levels
    shape = (T, H) + (n_lo.shape[2:] if n_lo.ndim > 2 else ())
    extra = (1,) * (len(shape) - 2)

    def full(x: NDArray) -> NDArray:
        return np.broadcast_to(x if x.ndim >= 2 else x[:, None], shape).copy()

    n_lo, n_hi, a_min = full(n_lo), full(n_hi), full(a_min)
    p = np.maximum(ld.price, 0.0).reshape(T, 1, *extra)
    lv = ld.levels.reshape(1, H, *extra)
    rb = ld.r_bar.reshape(T, 1, *extra)
    sg = ld.sigma_dev.reshape(T, 1, *extra)

    soc = ld.soc
    if soc is None and not golden:
        return hour_value_bound(n_lo, n_hi, a_min, p, lv, rb, sg, ld.psi, ld.kappa)

    def g(n: NDArray) -> NDArray:
        c = cstar(ld.psi * n, a_min, rb, sg, ld.kappa)
        if soc is not None:  # min of two functions, each 0 below its threshold and concave above
            c = np.minimum(c, soc.cap(ld.psi * n, a_min, ld.psi, hours_axis=0))
        return p * c - lv * n

    lo = n_lo
    hi = np.maximum(n_hi, lo)
    k_max = ld.kappa if soc is None else max(ld.kappa, soc.kappa)
    n0 = k_max * np.sqrt(np.maximum(a_min, 0.0)) / ld.psi
    best = g(lo)
    a = np.clip(n0, lo, hi)
    b = hi.copy()
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    x1 = b - ratio * (b - a)
    x2 = a + ratio * (b - a)
    g1, g2 = g(x1), g(x2)
    for _ in range(60):
        left = g1 >= g2  # the maximum of the concave part lies in [a, x2]
        b_new = np.where(left, x2, b)
        a_new = np.where(left, a, x1)
        x1_new = np.where(left, b_new - ratio * (b_new - a_new), x2)
        x2_new = np.where(left, x1, a_new + ratio * (b_new - a_new))
        g_new = g(np.where(left, x1_new, x2_new))
        g1, g2 = np.where(left, g_new, g2), np.where(left, g1, g_new)
        a, b, x1, x2 = a_new, b_new, x1_new, x2_new
    lip = p * ld.psi / rb + lv
    if soc is not None:
        sl = soc.slope().reshape(T, 1, *extra)
        lip = np.where(np.isfinite(sl), p * np.maximum(ld.psi / rb, sl) + lv, lip)
    cand = np.maximum(np.maximum(g(a), g(b)), np.maximum(g1, g2)) + lip * (b - a)
    return np.maximum(best, cand)


def _spread(ld: LeaderData, y: NDArray[np.float64]) -> NDArray[np.float64]:
    """a = ψ² Σ_c M_c y_c (1 − y_c) for persistencies y (..., n_clusters)."""
    return ld.psi**2 * ((y * (1.0 - y)) @ ld.M)


def _min_spread_at(
    ld: LeaderData, ylo: NDArray[np.float64], yhi: NDArray[np.float64], n: NDArray[np.float64]
) -> NDArray[np.float64]:
    """min of a over the box ∩ {Σ_c M_c y_c = n} at the box edges crossing the plane (+inf if none).

    a is concave, so its minimum over the polytope box ∩ plane lies at a vertex: a point of a box
    edge (one cluster free, the others at a bound) on the plane.
    """
    nc = ylo.shape[-1]
    best = np.full(n.shape, np.inf)
    for c in range(nc):
        others = [k for k in range(nc) if k != c]
        for corner in itertools.product((0, 1), repeat=len(others)):
            y = ylo.copy()
            for k, hi in zip(others, corner, strict=True):
                if hi:
                    y[..., k] = yhi[..., k]
            rest = (y @ ld.M) - y[..., c] * ld.M[c]
            yc = (n - rest) / ld.M[c]
            tol = 1e-12 * (1.0 + np.abs(yc))
            ok = (yc >= ylo[..., c] - tol) & (yc <= yhi[..., c] + tol)
            y[..., c] = np.clip(yc, ylo[..., c], yhi[..., c])
            best = np.where(ok, np.minimum(best, _spread(ld, y)), best)
    return best


def sliced_hour_bound(
    ld: LeaderData, ylo: NDArray[np.float64], yhi: NDArray[np.float64], pieces: int,
    *, compiled: bool = True,
) -> NDArray[np.float64]:
    """U_tℓ of :func:`hour_bound` with the range of n cut into ``pieces`` slices, (T, H).

    On the slice ``n_k <= n <= n_k+1`` the spread a is at least its minimum over the box ∩ slab,
    taken at a vertex (a box vertex inside the slab or a box edge crossing one of its two planes,
    a being concave), which is larger than the minimum over the whole box. Each slice is bounded
    by :func:`hour_bound` with its own a̲ and the largest slice bound is returned.

    Args:
        ld: the leader data.
        ylo, yhi: (T, H, n_clusters) persistency box of every hour and level.
        pieces: number of slices (1: the plain bound).
        compiled: take the cuts and slab minima from the compiled
            :func:`~v2gsim.optimize.bilevel.hour_kernel.slab_spreads` (default) instead of the
            numpy loops below (the reference it is tested against).
    """
    if compiled:
        cuts_k, a_k = slab_spreads(ylo, yhi, ld.M, ld.psi, pieces)
        return hour_bound(ld, cuts_k[..., :-1], cuts_k[..., 1:], a_k).max(axis=-1)
    n_lo, n_hi = ylo @ ld.M, yhi @ ld.M
    nc = ylo.shape[-1]
    verts = []
    for corner in itertools.product((0, 1), repeat=nc):
        y = np.where(np.asarray(corner, dtype=bool), yhi, ylo)
        verts.append((y @ ld.M, _spread(ld, y)))
    edges = np.linspace(0.0, 1.0, pieces + 1)
    cuts = [n_lo + (n_hi - n_lo) * e for e in edges]
    cuts[-1] = n_hi
    at = [_min_spread_at(ld, ylo, yhi, c) for c in cuts]
    a_all = []
    for k in range(pieces):
        a_k = np.minimum(at[k], at[k + 1])
        for nv, av in verts:
            inside = (nv >= cuts[k]) & (nv <= cuts[k + 1])
            a_k = np.where(inside, np.minimum(a_k, av), a_k)
        a_all.append(np.where(np.isfinite(a_k), a_k, 0.0))  # no vertex found (round-off): weakest a
    U = hour_bound(ld, np.stack(cuts[:-1], axis=-1), np.stack(cuts[1:], axis=-1),
                   np.stack(a_all, axis=-1))  # all slices at once
    return U.max(axis=-1)


def domain_extremes(dom: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Lowest and highest level index in every hour's domain."""
    H = dom.shape[1]
    return np.argmax(dom, axis=1), H - 1 - np.argmax(dom[:, ::-1], axis=1)


def node_bounds(
    ld: LeaderData, dom: NDArray[np.bool_], rho_lo: list | None, rho_hi: list | None,
    base: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> NodeBounds:
    """Per-(hour, level) upper bounds U_tℓ of a node and exact values of its candidate points.

    ``rho_lo``, ``rho_hi`` are Newton warm starts (per cluster); with ``base``, the rebates at which
    they were solved (e.g. the parent's corners), the starts are first-order
    (:meth:`~v2gsim.optimize.bilevel.leader.LeaderData.taylor_starts`).
    """
    H = dom.shape[1]
    lv = ld.levels
    lo, hi = domain_extremes(dom)
    s_lo, s_hi = lv[lo], lv[hi]
    # batch: [lo corner, variants of lo] and [hi corner, variants of hi]
    tl, hl = np.nonzero(dom & (np.arange(H)[None, :] != lo[:, None]))
    th, hh = np.nonzero(dom & (np.arange(H)[None, :] != hi[:, None]))
    S_lo = single_hour_changes(s_lo, tl, lv[hl], keep_base=True)
    S_hi = single_hour_changes(s_hi, th, lv[hh], keep_base=True)
    if base is not None:
        rho_lo, rho_hi = ld.taylor_starts(base[0], S_lo, rho_lo), ld.taylor_starts(base[1], S_hi, rho_hi)
    Y_lo, r_lo = ld.responses(S_lo, rho_lo)
    Y_hi, r_hi = ld.responses(S_hi, rho_hi)
    nc = len(ld.followers)
    ylo = np.repeat(Y_lo[0][:, None, :], H, axis=1)  # (T, H, nc): corner value where ℓ = lo_t
    ylo[tl, hl, :] = Y_lo[1 + np.arange(len(tl)), tl, :]
    yhi = np.repeat(Y_hi[0][:, None, :], H, axis=1)
    yhi[th, hh, :] = Y_hi[1 + np.arange(len(th)), th, :]
    width = s_hi - s_lo
    margin = np.full((len(s_lo), nc), Y_TOL)  # (T, nc): follower accuracy ...
    if ld.nu.size and np.any(ld.nu > 0):  # ... plus the substitution effects (ν has zero diagonal)
        margin = margin + ld.safety * np.einsum("cts,s->tc", ld.nu, width)
    ylo = np.clip(ylo - margin[:, None, :], 0.0, 1.0)
    yhi = np.clip(yhi + margin[:, None, :], 0.0, 1.0)
    U = sliced_hour_bound(ld, ylo, yhi, A_PIECES)
    U = np.where(dom, U, -np.inf)
    ub = float(U.max(axis=1).sum())
    # exact candidates: the two corners
    v_lo = ld.values(S_lo[:1], Y_lo[:1])[0]
    v_hi = ld.values(S_hi[:1], Y_hi[:1])[0]
    return NodeBounds(
        U=U, ub=ub,
        rho_lo=[r_lo[c][0] for c in range(nc)], rho_hi=[r_hi[c][0] for c in range(nc)],
        s_lo=s_lo, s_hi=s_hi,
        cand_idx=[lo, hi], cand_val=np.array([v_lo, v_hi]),
    )


def level_bounds(
    followers: list[BatchFollower], levels: NDArray[np.float64], free: NDArray[np.bool_],
    nu: NDArray[np.float64], safety: float,
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Level-specific (B3) bounds of the hourly persistencies, per cluster (T, H) arrays.

    ``y̲_cth`` (``ȳ_cth``) is y_ct at s_t = ŝ_h with the other free hours at level 0 (at the top
    level), widened by ``safety · Σ_t' ν_c[t, t'] ŝ_max`` (sampled substitution effects) and the
    follower accuracy :data:`Y_TOL`. Valid for every rebate vector with s_t = ŝ_h when the charging
    arcs are complements up to the sampled ν.

    Args:
        followers: one follower per cluster.
        levels: (H,) rebate levels ($ per plugged EV-hour), increasing, levels[0] = 0.
        free: (T,) hours whose rebate may be non-zero (the others stay at 0).
        nu: (n_clusters, T, T) substitution effects ν_c[t, t'] (1/$).
        safety: multiplier of ν in the margins.

    Returns:
        ``(lower, upper)``, lists of (T, H) arrays.
    """
    T, H = free.shape[0], levels.size
    top = top_rebates(levels, free)
    hours = np.repeat(np.arange(T), H)  # row t·H + h sets hour t ...
    values = np.where(free[hours], levels[np.tile(np.arange(H), T)], 0.0)  # ... to level h (0 if fixed)
    lo_S = single_hour_changes(np.zeros(T), hours, values)
    hi_S = single_hour_changes(top, hours, values)
    rows = np.arange(T * H)
    lo, hi = [], []
    for c, fol in enumerate(followers):
        ylo = fol.solve(lo_S).y_hours
        yhi = fol.solve(hi_S).y_hours
        margin = safety * (nu[c] @ top) + Y_TOL
        lo.append(ylo[rows, hours].reshape(T, H) - margin[:, None])
        hi.append(yhi[rows, hours].reshape(T, H) + margin[:, None])
    return lo, hi

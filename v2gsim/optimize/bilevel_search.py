"""Search methods for the bilevel rebate problem that re-solve the follower exactly (models.md §1.5).

For a fixed hourly rebate vector s the leader's best bids are the closed form of the chance bound
(:func:`v2gsim.market.chance.max_bid`, hour by hour), so the leader's value is an explicit function of
s through the drivers' response y(s) (the persistency follower D5 of every cluster c):

    V(s) = Σ_t [ p̄_t⁺ C*_t(y_t(s)) − s_t Σ_c M_c y_ct(s) ],                              (B1)

with ``C*_t(y) = (b² − κ²a) / (b r̄_t + κ √(σ_t²(b² − κ²a) + a r̄_t²))`` for ``b = ψ Σ_c M_c y_ct``,
``a = ψ² Σ_c M_c y_ct(1 − y_ct)`` (bound (3) or (4), E1 mixture), 0 when ``b² < κ²a`` (no bid).
This module maximises V over s ∈ L^T (L the discrete rebate levels) with two methods:

* :func:`coordinate_search`: steepest ascent over single-hour level changes (plus the combination
  of the best change of every hour), every candidate evaluated exactly with the batched follower.
  A heuristic: no bound.
* :func:`branch_and_bound`: an exact method over level domains D_t ⊆ L. Its bound uses the
  monotone response of the follower: y_ct is non-decreasing in s_t (the follower value is convex in
  s), and — when the charging arcs are complements (Granot–Veinott, models.md B3) — in every other
  hour's rebate as well. For a node with domains D_t, ``lo_t = min D_t``, ``hi_t = max D_t``, every
  s in the node and every level ℓ ∈ D_t of hour t satisfy

      y_ct(ℓ, lo_−t) − m_ct  <=  y_ct(s)|_{s_t = ℓ}  <=  y_ct(ℓ, hi_−t) + m_ct,

  where the margin ``m_ct = safety · Σ_{t'≠t} ν_c[t, t'] (hi_t' − lo_t')`` covers small
  substitution effects (ν_c[t, t'] = the largest negative cross-derivative ∂y_ct/∂s_t' found by
  :func:`v2gsim.optimize.bilevel_follower.substitution_report` at sampled rebate vectors; 0 for
  complements, and then the bound is rigorous) plus the follower's accuracy :data:`Y_TOL`.
  With ``n = Σ_c M_c y_ct`` (expected plugged EVs) between ``n̲ = Σ_c M_c y̲_ctℓ`` and
  ``n̄ = Σ_c M_c ȳ_ctℓ``, and since C* increases in b and decreases in a, hour t at level ℓ
  contributes at most

      U_tℓ = max_{n̲ <= n <= n̄}  p̄_t⁺ C*(ψ n, a̲) − ℓ n,   a̲ = ψ² Σ_c M_c min(y̲(1−y̲), ȳ(1−ȳ)),

  (C* is concave in b above the no-bid threshold, so the maximum is found by golden-section search
  and bounded with the Lipschitz constant), and ``Σ_t max_{ℓ∈D_t} U_tℓ`` bounds V on the node.
  Levels whose bound cannot beat the incumbent are filtered from the domains (reduced-cost fixing),
  which shrinks the box and tightens the bound again. The node is then split on the hour with the
  largest own ambiguity plus influence on the other hours (its rebate range times the cross
  effects ∂y_t'/∂s_t, weighted by the revenue slopes), into the lower and upper half of its
  domain; nodes are processed best-bound first. At a leaf (all domains single levels) the bound
  equals V exactly, so the method is exact up to the validity of the monotone bounds; each node
  also evaluates its two corners and its greedy point exactly as incumbent candidates.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.optimize.bilevel_follower import BatchFollower

__all__ = [
    "Y_TOL",
    "LeaderData",
    "SOCBound",
    "SearchResult",
    "branch_and_bound",
    "brute_force_search",
    "coordinate_search",
    "cstar",
]


Y_TOL = 1e-9
"""Accuracy of the batched follower's persistencies (Newton stops at ‖f − By‖∞ <= 1e-10); the
bounds widen every persistency range by it."""


def cstar(
    b: ArrayLike, a: ArrayLike, r_bar: ArrayLike, sigma: ArrayLike, kappa: float
) -> NDArray[np.float64]:
    """Largest bid admitted by bound (3)/(4) given its mean and spread terms (kW).

    Same closed form as :func:`v2gsim.market.chance.max_bid`, written in ``b = ψ Σ_c M_c y_c`` (kW)
    and ``a = ψ² Σ_c M_c y_c(1 − y_c)`` (kW²): increasing in b and decreasing in a.

    Args:
        b: mean plugged-in capability (kW).
        a: squared spread of the plugged-in capability (kW²).
        r_bar: mean requirement per kW of bid (kW/kW), > 0.
        sigma: deviation of the requirement (kW/kW), >= 0.
        kappa: multiplier κ of the bound.

    Returns:
        C* (kW), broadcast.
    """
    b, a, rb, sg = np.broadcast_arrays(
        np.asarray(b, float), np.asarray(a, float), np.asarray(r_bar, float), np.asarray(sigma, float)
    )
    num = b * b - kappa * kappa * a
    with np.errstate(invalid="ignore", divide="ignore"):
        den = b * rb + kappa * np.sqrt(np.maximum(sg * sg * num + a * rb * rb, 0.0))
        c = np.where((num > 0.0) & (den > 0.0), num / den, 0.0)
    return c


@dataclass(frozen=True)
class SOCBound:
    """State-of-charge guarantee (models.md E3, RECONSTRUCTED SOCP form):
    ``γ̄_t C_t − ω M y_t + κ̂ sqrt(ω² M y_t(1 − y_t) + (σ_γ,t C_t)²) ≤ 0``.

    Attributes:
        omega: guaranteed average (baseline) charging rate per plugged EV ω (kW).
        gamma_bar: (T,) mean net discharge per kW of bid over the hour γ̄_t (kWh/kW).
        sigma_gamma: (T,) forward deviation of that net discharge (kWh/kW).
        kappa: multiplier κ̂ = sqrt(−2 ln η̂) (-).
    """

    omega: float
    gamma_bar: NDArray[np.float64]
    sigma_gamma: NDArray[np.float64]
    kappa: float

    def cap(self, b: NDArray, a: NDArray, psi: float, hours_axis: int = -1) -> NDArray[np.float64]:
        """Largest bid the guarantee admits, for the mean/spread terms ``b``, ``a`` of capability ψ.

        The guarantee has the form of bound (3) with ω in place of ψ, so with ``b_ω = b ω/ψ`` and
        ``a_ω = a (ω/ψ)²`` its largest bid is :func:`cstar`; it never binds (``inf``) when
        ``γ̄ + κ̂ σ_γ ≤ 0`` (the fleet charges on average faster than regulation can drain it).
        ``hours_axis`` is the axis of ``b`` that runs over the hours.
        """
        nd = max(np.ndim(b), 1)
        shape = [1] * nd
        shape[hours_axis] = -1
        gb = self.gamma_bar.reshape(shape)
        sg = self.sigma_gamma.reshape(shape)
        ratio = self.omega / psi
        free = gb + self.kappa * sg <= 0.0
        c = cstar(b * ratio, a * ratio * ratio, np.where(free, 1.0, gb), sg, self.kappa)
        num = (b * ratio) ** 2 - self.kappa**2 * a * ratio * ratio
        return np.where(free & (num > 0.0), np.inf, c)

    def slope(self) -> NDArray[np.float64]:
        """Upper bound of d cap / d n per EV (kW per EV), ``ω / γ̄`` (inf when γ̄ <= 0)."""
        with np.errstate(divide="ignore"):
            return np.where(self.gamma_bar > 0.0, self.omega / self.gamma_bar, np.inf)


@dataclass
class LeaderData:
    """Everything the exact-follower search needs (built by :mod:`v2gsim.optimize.bilevel`).

    Attributes:
        followers: one :class:`BatchFollower` per cluster.
        M: (n_clusters,) cluster sizes M_c = share_c · M (EVs).
        psi: per-EV regulation capability ψ (kW).
        kappa: multiplier κ of the chance bound (-).
        price: (T,) expected price p̄_t ($ per kW of bid per hour).
        r_bar: (T,) mean requirement r̄_t (kW/kW).
        sigma_dev: (T,) deviation of the requirement used by the bound (kW/kW).
        levels: (H,) rebate levels ($ per plugged EV-hour), increasing, levels[0] = 0.
        free: (T,) hours whose rebate may be non-zero (others are fixed at level 0).
        nu: (n_clusters, T, T) substitution effects ν_c[t, t'] (1/$): an upper estimate of how much
            one $ of rebate in hour t' can lower cluster c's hour-t persistency (models.md B3);
            the branch-and-bound margins use them. Zero for complements.
        safety: multiplier of ν in the margins.
        evaluations: running count of follower solves (rebate vectors × clusters).
    """

    followers: list[BatchFollower]
    M: NDArray[np.float64]
    psi: float
    kappa: float
    price: NDArray[np.float64]
    r_bar: NDArray[np.float64]
    sigma_dev: NDArray[np.float64]
    levels: NDArray[np.float64]
    free: NDArray[np.bool_]
    nu: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0, 0)))
    soc: SOCBound | None = None
    safety: float = 2.0
    evaluations: int = 0
    cache_size: int = 200_000
    _cache: dict[bytes, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def clear_cache(self) -> None:
        """Forget cached follower responses (call after changing utilities)."""
        self._cache.clear()

    @property
    def hours(self) -> int:
        """Number of hours T."""
        return int(self.price.shape[0])

    @property
    def n_levels(self) -> int:
        """Number of rebate levels H."""
        return int(self.levels.shape[0])

    def responses(
        self, S: NDArray[np.float64], rho0: list[NDArray] | None = None
    ) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
        """Hourly persistencies of every cluster for a (K, T) batch of rebates.

        Rebate vectors solved before are taken from a cache (at most ``cache_size`` entries; their
        potentials are then the warm start, not the solution). Only new vectors count in
        ``evaluations``.

        Args:
            S: (K, T) rebates ($ per plugged EV-hour).
            rho0: optional warm-start potentials per cluster ((n_nodes,) or (K, n_nodes)).

        Returns:
            ``(Y, rhos)``: Y of shape (K, T, n_clusters) and, per cluster, (K, n_nodes) potentials.
        """
        S = np.ascontiguousarray(S, dtype=float)
        K = S.shape[0]
        nc = len(self.followers)
        keys = [row.tobytes() for row in S]
        Y = np.empty((K, self.hours, nc))
        rhos = [np.empty((K, f.net.n_nodes)) for f in self.followers]
        todo = []
        for k, key in enumerate(keys):
            hit = self._cache.get(key)
            if hit is None:
                todo.append(k)
            else:
                Y[k] = hit
        miss = np.asarray(todo, dtype=np.int64)
        for c, fol in enumerate(self.followers):
            r0 = None if rho0 is None else np.asarray(rho0[c])
            if len(miss):
                r0m = None if r0 is None else (r0 if r0.ndim == 1 else r0[miss])
                res = fol.solve(S[miss], r0m)
                Y[miss, :, c] = res.y_hours
                rhos[c][miss] = res.rho
            hit_rows = np.setdiff1d(np.arange(K), miss)
            if len(hit_rows):
                base = fol.base_rho if r0 is None else (r0 if r0.ndim == 1 else r0[hit_rows])
                rhos[c][hit_rows] = base
        if len(self._cache) + len(miss) > self.cache_size:
            self._cache.clear()
        for k in miss:
            self._cache[keys[k]] = Y[k].copy()
        self.evaluations += len(miss) * nc
        return Y, rhos

    def bids(self, Y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Closed-form bids C*_t (kW) for persistencies Y (..., T, n_clusters); 0 where p̄_t <= 0."""
        b = self.psi * (Y @ self.M)
        a = self.psi**2 * ((Y * (1.0 - Y)) @ self.M)
        c = cstar(b, a, self.r_bar, self.sigma_dev, self.kappa)
        if self.soc is not None:
            c = np.minimum(c, self.soc.cap(b, a, self.psi))
        return np.where(self.price > 0.0, c, 0.0)

    def values(self, S: NDArray[np.float64], Y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Leader value (B1) in $ for rebates S (K, T) and persistencies Y (K, T, n_clusters)."""
        credit = self.bids(Y) @ np.maximum(self.price, 0.0)
        paid = np.einsum("kt,ktc,c->k", S, Y, self.M)
        return credit - paid

    def evaluate(
        self, S: NDArray[np.float64], rho0: list[NDArray] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[NDArray[np.float64]]]:
        """Exact leader values of a batch: ``(values (K,), Y (K, T, n_c), rhos)``."""
        Y, rhos = self.responses(S, rho0)
        return self.values(S, Y), Y, rhos


@dataclass
class SearchResult:
    """Outcome of a search over rebate levels.

    Attributes:
        levels_idx: (T,) chosen level index per hour.
        value: exact leader value V (B1) at the chosen rebates ($).
        upper_bound: proven upper bound on V over all rebate vectors ($); ``inf`` for heuristics.
        nodes: branch-and-bound nodes processed (0 for other methods).
        evaluations: follower solves used (rebate vectors × clusters).
        status: ``"optimal"`` (gap closed), ``"time_limit"``, ``"node_limit"`` or ``"local"``.
        iterations: improving moves (coordinate search) or bound rounds (branch-and-bound).
    """

    levels_idx: NDArray[np.int64]
    value: float
    upper_bound: float
    nodes: int = 0
    evaluations: int = 0
    status: str = "local"
    iterations: int = 0


def _level_vector(ld: LeaderData, idx: NDArray[np.int64]) -> NDArray[np.float64]:
    return ld.levels[np.asarray(idx, dtype=np.int64)]


def coordinate_search(
    ld: LeaderData,
    start: ArrayLike | None = None,
    *,
    deadline: float = np.inf,
    max_iter: int = 1000,
) -> SearchResult:
    """Steepest ascent over single-hour rebate-level changes with exact follower re-solves.

    Each iteration evaluates, in one batch, every change of one free hour to another level, plus
    the combination of the best improving change of every hour; the best candidate is accepted if
    it improves V. Stops at a local optimum (no single-hour change improves), at ``max_iter``
    iterations or at ``deadline`` (a ``time.perf_counter()`` value).

    Args:
        ld: the leader data.
        start: (T,) initial level indices (default all 0, i.e. no rebates).
        deadline: wall-clock deadline (``time.perf_counter()`` seconds).
        max_iter: iteration limit.

    Returns:
        A :class:`SearchResult` with ``upper_bound = inf`` (no bound).
    """
    T, H = ld.hours, ld.n_levels
    cur = np.zeros(T, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64).copy()
    cur[~ld.free] = 0
    ev0 = ld.evaluations
    vals, _, rhos = ld.evaluate(_level_vector(ld, cur)[None, :])
    best = float(vals[0])
    rho = [r[0] for r in rhos]
    free = np.flatnonzero(ld.free)
    moves = [(t, h) for t in free for h in range(H)]
    it = 0
    status = "local"
    while it < max_iter:
        if time.perf_counter() > deadline:
            status = "time_limit"
            break
        cand = [(t, h) for (t, h) in moves if cur[t] != h]
        if not cand:
            break
        S = np.repeat(_level_vector(ld, cur)[None, :], len(cand), axis=0)
        for k, (t, h) in enumerate(cand):
            S[k, t] = ld.levels[h]
        v, _, rh = ld.evaluate(S, rho)
        gain = v - best
        # best improving change of every hour, combined
        combo = cur.copy()
        n_imp = 0
        for t in free:
            ks = [k for k, (tt, _) in enumerate(cand) if tt == t]
            kb = max(ks, key=lambda k: gain[k])
            if gain[kb] > 1e-12 * max(1.0, abs(best)):
                combo[t] = cand[kb][1]
                n_imp += 1
        kbest = int(np.argmax(gain))
        new_idx, new_val, new_rho = None, best, rho
        if gain[kbest] > 1e-12 * max(1.0, abs(best)):
            new_idx = cur.copy()
            new_idx[cand[kbest][0]] = cand[kbest][1]
            new_val = float(v[kbest])
            new_rho = [r[kbest] for r in rh]
        if n_imp >= 2:
            vc, _, rc = ld.evaluate(_level_vector(ld, combo)[None, :], rho)
            if vc[0] > new_val:
                new_idx, new_val, new_rho = combo, float(vc[0]), [r[0] for r in rc]
        if new_idx is None:
            break
        cur, best, rho = new_idx, new_val, new_rho
        it += 1
    return SearchResult(
        levels_idx=cur, value=best, upper_bound=np.inf, evaluations=ld.evaluations - ev0,
        status=status, iterations=it,
    )


@dataclass(order=True)
class _Node:
    key: float
    seq: int
    dom: NDArray[np.bool_] = field(compare=False)
    bound: float = field(compare=False)
    rho_lo: list[NDArray] | None = field(compare=False, default=None)
    rho_hi: list[NDArray] | None = field(compare=False, default=None)


@dataclass
class _Bounds:
    U: NDArray[np.float64]  # (T, H), -inf outside the domain
    ub: float
    rho_lo: list[NDArray]
    rho_hi: list[NDArray]
    cand_idx: list[NDArray[np.int64]]
    cand_val: NDArray[np.float64]


def _hour_bound(
    ld: LeaderData, n_lo: NDArray[np.float64], n_hi: NDArray[np.float64], a_min: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Upper bound of hour t's value at level ℓ over a box of cluster persistencies, (T, H).

    With ``n = Σ_c M_c y_ct`` (expected plugged EVs) in ``[n_lo, n_hi]`` and the spread term at
    least ``a_min``, the hour's value ``p̄⁺ C*(ψn, a) − ℓ n`` is at most
    ``g(n) = p̄⁺ C*(ψn, a_min) − ℓ n`` (C* decreases in a). C* is 0 below the no-bid threshold
    ``n0 = κ√a_min/ψ`` and concave above it (the bid's feasible set is convex in (C, b)), so g is
    decreasing below n0 and concave above: its maximum is g(n_lo) or the maximum of the concave
    part, found by golden-section search and bounded above by adding the Lipschitz constant
    ``p̄⁺ψ/r̄ + ℓ`` times the final bracket width.
    """
    T, H = ld.hours, ld.n_levels

    def full(x: NDArray) -> NDArray:
        return np.broadcast_to(x if x.ndim == 2 else x[:, None], (T, H)).copy()

    n_lo, n_hi, a_min = full(n_lo), full(n_hi), full(a_min)
    p = np.maximum(ld.price, 0.0)[:, None]
    lv = ld.levels[None, :]
    rb = ld.r_bar[:, None]
    sg = ld.sigma_dev[:, None]

    soc = ld.soc

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
        finite = np.isfinite(soc.slope())[:, None]
        lip = np.where(finite, p * np.maximum(ld.psi / rb, soc.slope()[:, None]) + lv, lip)
    cand = np.maximum(np.maximum(g(a), g(b)), np.maximum(g1, g2)) + lip * (b - a)
    return np.maximum(best, cand)


def _extremes(dom: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Lowest and highest level index in every hour's domain."""
    H = dom.shape[1]
    return np.argmax(dom, axis=1), H - 1 - np.argmax(dom[:, ::-1], axis=1)


def _node_bounds(ld: LeaderData, dom: NDArray[np.bool_], rho_lo: list | None, rho_hi: list | None) -> _Bounds:
    """Per-(hour, level) upper bounds U_tℓ of a node and exact values of its candidate points."""
    H = dom.shape[1]
    lv = ld.levels
    lo, hi = _extremes(dom)
    s_lo, s_hi = lv[lo], lv[hi]
    # batch: [lo corner, variants of lo] and [hi corner, variants of hi]
    tl, hl = np.nonzero(dom & (np.arange(H)[None, :] != lo[:, None]))
    th, hh = np.nonzero(dom & (np.arange(H)[None, :] != hi[:, None]))
    S_lo = np.repeat(s_lo[None, :], 1 + len(tl), axis=0)
    S_lo[1 + np.arange(len(tl)), tl] = lv[hl]
    S_hi = np.repeat(s_hi[None, :], 1 + len(th), axis=0)
    S_hi[1 + np.arange(len(th)), th] = lv[hh]
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
    a_min = ld.psi**2 * (np.minimum(ylo * (1 - ylo), yhi * (1 - yhi)) @ ld.M)
    U = _hour_bound(ld, ylo @ ld.M, yhi @ ld.M, a_min)
    U = np.where(dom, U, -np.inf)
    ub = float(U.max(axis=1).sum())
    # exact candidates: the two corners
    v_lo = ld.values(S_lo[:1], Y_lo[:1])[0]
    v_hi = ld.values(S_hi[:1], Y_hi[:1])[0]
    return _Bounds(
        U=U, ub=ub,
        rho_lo=[r_lo[c][0] for c in range(nc)], rho_hi=[r_hi[c][0] for c in range(nc)],
        cand_idx=[lo, hi], cand_val=np.array([v_lo, v_hi]),
    )


def branch_and_bound(
    ld: LeaderData,
    incumbent: SearchResult | None = None,
    *,
    rel_gap: float = 1e-6,
    deadline: float = np.inf,
    max_nodes: int = 100_000,
    max_rounds: int = 4,
    branching: Literal["influence", "ambiguity"] = "influence",
    split: Literal["half", "best"] = "half",
) -> SearchResult:
    """Exact maximisation of V(s) over s ∈ L^T by branch-and-bound on level domains.

    See the module docstring for the bound. Nodes are processed best-bound first; at each node the
    bound is recomputed after every domain filtering whose result changes the box (at most
    ``max_rounds`` times) and the greedy point (best level of every hour by its bound) is evaluated
    exactly.

    Args:
        ld: the leader data (``ld.nu`` sets the substitution margins).
        incumbent: a known solution (e.g. from :func:`coordinate_search` or a warm start).
        rel_gap: stop when ``(UB − V)/max(|V|, 1e-9) <= rel_gap``; nodes within it are pruned.
        deadline: wall-clock deadline (``time.perf_counter()`` seconds).
        max_nodes: node limit.
        max_rounds: bound recomputations per node.
        branching: ``"influence"`` (default): split the hour with the largest spread of its level
            bounds plus its rebate range times its cross effects on the other hours (revenue-
            weighted, from the exact Jacobian at the node's upper corner); ``"ambiguity"``: the
            spread alone.
        split: ``"half"`` (default): lower and upper half of the hour's domain; ``"best"``: its
            best level against the rest. (On the default instance "influence"/"half" needed about
            a third of the nodes of "ambiguity"/"best".)

    Returns:
        A :class:`SearchResult` whose ``upper_bound`` is the largest bound of the open nodes and of
        every node or level discarded (at most the incumbent plus the tolerance when the tree is
        exhausted).
    """
    T, H = ld.hours, ld.n_levels
    ev0 = ld.evaluations
    dom0 = np.zeros((T, H), dtype=bool)
    dom0[ld.free, :] = True
    dom0[~ld.free, 0] = True
    if incumbent is None:
        idx0 = np.zeros(T, dtype=np.int64)
        v0, _, _ = ld.evaluate(_level_vector(ld, idx0)[None, :])
        incumbent = SearchResult(levels_idx=idx0, value=float(v0[0]), upper_bound=np.inf)
    best_idx = np.asarray(incumbent.levels_idx, dtype=np.int64).copy()
    best_val = float(incumbent.value)

    def tol() -> float:
        return rel_gap * max(abs(best_val), 1e-9)

    seq = itertools.count()
    heap: list[_Node] = [_Node(-np.inf, next(seq), dom0, np.inf)]
    nodes = 0
    rounds = 0
    status = "optimal"
    closed = -np.inf  # largest bound of any part of the search space discarded so far
    while heap:
        if time.perf_counter() > deadline:
            status = "time_limit"
            break
        if nodes >= max_nodes:
            status = "node_limit"
            break
        node = heapq.heappop(heap)
        if node.bound <= best_val + tol():
            closed = max(closed, node.bound)
            continue
        nodes += 1
        dom = node.dom.copy()
        rho_lo, rho_hi = node.rho_lo, node.rho_hi
        rounds_here = 0
        pruned = False
        bnd: _Bounds | None = None
        recompute = True
        while True:
            if recompute:
                if rounds_here >= max_rounds and bnd is not None:
                    break
                rounds += 1
                rounds_here += 1
                bnd = _node_bounds(ld, dom, rho_lo, rho_hi)
                rho_lo, rho_hi = bnd.rho_lo, bnd.rho_hi
                # exact candidates: corners and the greedy point
                greedy = np.argmax(bnd.U, axis=1)
                vg, _, _ = ld.evaluate(_level_vector(ld, greedy)[None, :], rho_lo)
                cands = [*bnd.cand_idx, greedy]
                cvals = [*bnd.cand_val.tolist(), float(vg[0])]
                k = int(np.argmax(cvals))
                if cvals[k] > best_val:
                    best_val, best_idx = cvals[k], np.asarray(cands[k]).copy()
            assert bnd is not None
            if bnd.ub <= best_val + tol():
                closed = max(closed, bnd.ub)
                pruned = True
                break
            rowmax = bnd.U.max(axis=1)
            slack = bnd.ub - rowmax  # bound of the other hours
            cut = slack[:, None] + bnd.U
            keep = dom & (cut > best_val + tol())
            if (dom & ~keep).any():
                closed = max(closed, float(cut[dom & ~keep].max()))
            if not keep.any(axis=1).all():
                pruned = True
                break
            if (keep == dom).all():
                break
            lo_old, hi_old = _extremes(dom)
            dom = keep
            lo_new, hi_new = _extremes(dom)
            recompute = bool((lo_old != lo_new).any() or (hi_old != hi_new).any())
            if not recompute:  # same box: the bounds stay valid, drop the filtered levels
                bnd.U = np.where(dom, bnd.U, -np.inf)
                bnd.ub = float(bnd.U.max(axis=1).sum())
        if pruned or bnd is None:
            continue
        sizes = dom.sum(axis=1)
        if (sizes == 1).all():  # leaf: evaluate the single point exactly
            leaf = np.argmax(dom, axis=1)
            vl, _, _ = ld.evaluate(_level_vector(ld, leaf)[None, :], rho_lo)
            if vl[0] > best_val:
                best_val, best_idx = float(vl[0]), leaf
            continue
        U = np.where(dom, bnd.U, np.nan)
        spread = np.nanmax(U, axis=1) - np.nanmin(U, axis=1)
        if branching == "influence":
            lo_i, hi_i = _extremes(dom)
            width = ld.levels[hi_i] - ld.levels[lo_i]
            s_hi = ld.levels[hi_i]
            infl = np.zeros(T)
            for c, fol in enumerate(ld.followers):
                J = fol.jacobian(s_hi[None, :], rho_hi[c][None, :])[0]
                np.fill_diagonal(J, 0.0)
                slope = ld.psi * ld.M[c] / ld.r_bar * np.maximum(ld.price, 0.0)
                infl += width * (slope @ np.abs(J))
            score = spread + infl
        else:
            score = spread
        score = np.where(sizes > 1, score, -np.inf)
        t = int(np.argmax(score))
        lbest = int(np.nanargmax(U[t]))
        d1 = dom.copy()
        d2 = dom.copy()
        if split == "half":
            members = np.flatnonzero(dom[t])
            half = members[: len(members) // 2]
            d1[t, :] = False
            d1[t, half] = True
            d2[t, half] = False
        else:
            d1[t, :] = False
            d1[t, lbest] = True
            d2[t, lbest] = False
        rmax = np.nanmax(U[t])
        b1 = float(bnd.ub - rmax + np.nanmax(np.where(d1[t], bnd.U[t], np.nan)))
        b2 = float(bnd.ub - rmax + np.nanmax(np.where(d2[t], bnd.U[t], np.nan)))
        for d, b in ((d1, b1), (d2, b2)):
            if b > best_val + tol():
                heapq.heappush(heap, _Node(-b, next(seq), d, b, rho_lo, rho_hi))
            else:
                closed = max(closed, b)
    ub = max([best_val, closed] + [n.bound for n in heap])
    return SearchResult(
        levels_idx=best_idx, value=best_val, upper_bound=ub, nodes=nodes,
        evaluations=ld.evaluations - ev0, status=status, iterations=rounds,
    )


def brute_force_search(ld: LeaderData, *, batch: int = 512) -> SearchResult:
    """Enumerate every rebate vector over the free hours (others at level 0) exactly.

    Args:
        ld: the leader data.
        batch: rebate vectors per follower batch.

    Returns:
        The best :class:`SearchResult` (``upper_bound == value``, status ``"optimal"``).
    """
    T, H = ld.hours, ld.n_levels
    free = np.flatnonzero(ld.free)
    ev0 = ld.evaluations
    best_val, best_idx = -np.inf, np.zeros(T, dtype=np.int64)
    combos = itertools.product(range(H), repeat=len(free))
    while True:
        chunk = list(itertools.islice(combos, batch))
        if not chunk:
            break
        idx = np.zeros((len(chunk), T), dtype=np.int64)
        idx[:, free] = np.asarray(chunk, dtype=np.int64).reshape(len(chunk), len(free))
        v, _, _ = ld.evaluate(ld.levels[idx])
        k = int(np.argmax(v))
        if v[k] > best_val:
            best_val, best_idx = float(v[k]), idx[k].copy()
    return SearchResult(
        levels_idx=best_idx, value=best_val, upper_bound=best_val, evaluations=ld.evaluations - ev0,
        status="optimal",
    )

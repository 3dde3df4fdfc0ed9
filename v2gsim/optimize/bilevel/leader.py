"""The leader's value V(s) of seed 000's bilevel problem with the exact follower (models.md §1.5, B1).

For a fixed hourly rebate vector s the leader's best bids are the closed form of the chance bound
(:mod:`v2gsim.optimize.bilevel.bids`), so the leader's value is an explicit function of s through the
drivers' response y(s) (the persistency follower D5 of every cluster c):

    V(s) = Σ_t [ p̄_t⁺ C*_t(y_t(s)) − s_t Σ_c M_c y_ct(s) ].                              (B1)

:class:`LeaderData` evaluates V for batches of rebate vectors (follower responses cached) and is what
the search methods (:mod:`v2gsim.optimize.bilevel.search`) work on; :class:`SearchResult` is their
outcome; :func:`single_hour_changes` builds the batches of rebate vectors they evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.optimize.bilevel.bids import SOCBound, cstar, leader_bids, mixture_terms
from v2gsim.optimize.bilevel.follower import BatchFollower

__all__ = ["LeaderData", "SearchResult", "single_hour_changes"]


def single_hour_changes(
    base: NDArray[np.float64], hours: ArrayLike, values: ArrayLike, *, keep_base: bool = False
) -> NDArray[np.float64]:
    """Copies of the rebate vector ``base`` (T,), row k with hour ``hours[k]`` set to ``values[k]``.

    Args:
        base: (T,) rebates ($ per plugged EV-hour).
        hours: (n,) hour changed in each row.
        values: (n,) its new rebate ($).
        keep_base: put ``base`` itself first (then the result has n + 1 rows).

    Returns:
        (n, T) or (n + 1, T) rebates.
    """
    hours = np.asarray(hours, dtype=np.int64)
    off = int(keep_base)
    S = np.repeat(base[None, :], off + len(hours), axis=0)
    S[off + np.arange(len(hours)), hours] = values
    return S


@dataclass
class LeaderData:
    """Everything the exact-follower search needs (built by the bilevel problem object).

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
        soc: optional state-of-charge guarantee (models.md E3); the bids then satisfy it too.
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
    _sens: dict[tuple[int, bytes, bytes], NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def clear_cache(self) -> None:
        """Forget cached follower responses and sensitivities (call after changing utilities)."""
        self._cache.clear()
        self._sens.clear()

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
        potentials are then the warm start, not the solution); rows repeated within the batch are
        solved once. Only new vectors count in ``evaluations``.

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
        todo: list[int] = []
        hits: list[int] = []
        first: dict[bytes, int] = {}
        dup: list[tuple[int, int]] = []  # repeated rows of the batch: solved once
        cache = self._cache
        for k, key in enumerate(keys):
            hit = cache.get(key)
            if hit is not None:
                Y[k] = hit
                hits.append(k)
            elif key in first:
                dup.append((k, first[key]))
            else:
                first[key] = k
                todo.append(k)
        miss = np.asarray(todo, dtype=np.int64)
        hit_rows = np.asarray(hits, dtype=np.int64)
        for c, fol in enumerate(self.followers):
            r0 = None if rho0 is None else np.asarray(rho0[c])
            if len(miss):
                r0m = None if r0 is None else (r0 if r0.ndim == 1 else r0[miss])
                res = fol.solve(S[miss], r0m)
                Y[miss, :, c] = res.y_hours
                rhos[c][miss] = res.rho
            for k, k0 in dup:
                Y[k, :, c] = Y[k0, :, c]
                rhos[c][k] = rhos[c][k0]
            if len(hit_rows):
                base = fol.base_rho if r0 is None else (r0 if r0.ndim == 1 else r0[hit_rows])
                rhos[c][hit_rows] = base
        if len(self._cache) + len(miss) > self.cache_size:
            self._cache.clear()
        for k in miss:
            self._cache[keys[k]] = Y[k].copy()
        self.evaluations += len(miss) * nc
        return Y, rhos

    def taylor_starts(
        self, base: NDArray[np.float64], S: NDArray[np.float64], rho: list[NDArray] | None
    ) -> list[NDArray[np.float64]] | None:
        """First-order Newton warm starts ``ρ(base) + ∂ρ/∂s (S − base)`` per cluster for a batch S
        near ``base`` (``rho``: potentials at ``base``; returned unchanged when None or when a
        follower uses the conic fallback)."""
        if rho is None or any(not f.smooth for f in self.followers):
            return rho
        D = S - base[None, :]
        return [r[None, :] + D @ self._sensitivity(c, base, r).T for c, r in enumerate(rho)]

    def _sensitivity(self, c: int, base: NDArray[np.float64], rho: NDArray[np.float64]) -> NDArray:
        """``∂ρ/∂s`` of cluster c at ``(base, rho)``, remembered for the last few points (a node's
        corners are the bases of its chain, its group windows and both children's starts)."""
        key = (c, np.ascontiguousarray(base, dtype=float).tobytes(), np.ascontiguousarray(rho).tobytes())
        hit = self._sens.get(key)
        if hit is None:
            if len(self._sens) >= 64:
                self._sens.pop(next(iter(self._sens)))
            hit = self._sens[key] = self.followers[c].rho_sensitivity(base, rho)
        return hit

    def bids(self, Y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Closed-form bids C*_t (kW) for persistencies Y (..., T, n_clusters); 0 where p̄_t <= 0."""
        b, a = mixture_terms(Y, self.M, self.psi)
        c = cstar(b, a, self.r_bar, self.sigma_dev, self.kappa)
        return leader_bids(c, b, a, self.psi, self.price, self.soc)

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

    def rebates(self, idx: ArrayLike) -> NDArray[np.float64]:
        """Rebates ($) of level indices ``idx`` (any shape)."""
        return self.levels[np.asarray(idx, dtype=np.int64)]

    def point(
        self, idx: ArrayLike, rho0: list[NDArray] | None = None
    ) -> tuple[float, list[NDArray[np.float64]]]:
        """Exact leader value V (B1, $) of one level vector ``idx`` (T,) and its potentials per cluster."""
        v, _, rhos = self.evaluate(self.rebates(idx)[None, :], rho0)
        return float(v[0]), [r[0] for r in rhos]


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
        root_rho: branch-and-bound only: per-cluster potentials of the root's lower and upper
            corner (warm starts of the next day's root).
    """

    levels_idx: NDArray[np.int64]
    value: float
    upper_bound: float
    nodes: int = 0
    evaluations: int = 0
    status: str = "local"
    iterations: int = 0
    root_rho: tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]] | None = None

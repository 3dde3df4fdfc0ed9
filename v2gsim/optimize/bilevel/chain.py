"""Chain bound of a branch-and-bound node: the monotone response (B3) applied outside a window of
2r + 1 consecutive hours, maximised over level sequences by dynamic programming.

Ours (issue #17), on top of :mod:`v2gsim.optimize.bilevel.bounds`. The separable node bound gives
every hour t the best persistency range over the whole box of the other hours' rebates, so each hour
may assume its neighbours at their top rebate while the neighbours, bounded separately, choose low
ones. On the default networks the largest cross effects ∂y_t/∂s_t' are between nearby hours (a
plugged EV stays plugged); at 20 kW / 400 EVs / share 0.6 the root gap falls from 0.94 % to 0.45 %
with r = 1. The rest of the gap is the long-range coupling of the work-session hours (9-17 h, where
the bids are just above the no-bid threshold): about 0.5 $ per hour, spread over ±6 hours.

For a node with level domains D_t and corners ``lo``, ``hi``, every hour t and every combination
w = (ℓ_{t−r}, ..., ℓ_{t+r}) of levels in the domains: every rebate vector s of the node that has
these levels in the window satisfies

    y_ct(w, lo_rest) − m_ct  <=  y_ct(s)  <=  y_ct(w, hi_rest) + m_ct

(monotone response over the hours outside the window: the same complementarity assumption and
margins m_ct as the separable bound), so hour t's value is at most ``W_t(w)`` =
:func:`~v2gsim.optimize.bilevel.bounds.sliced_hour_bound` of that box at level ℓ_t. Hence
``V(s) = Σ_t v_t(s) <= Σ_t W_t(s_{t−r}, ..., s_{t+r})``; the largest right-hand side over the
node's level sequences is a longest path through the states (ℓ_{t−r+1}, ..., ℓ_{t+r})
(:func:`chain_dp`; hours outside the day are dummies at level 0). Forward and backward passes also
give, for every hour and level, the bound of the sub-box with s_t = ℓ (reduced-cost fixing and the
children's bounds), and a maximising sequence (an incumbent candidate). The W of a box stay valid
for every smaller box, so after a filtering, and in the children, the DP is re-run on the masked W
(:func:`mask_chain`). Newton starts for the window rows are first-order: ρ(corner) + ∂ρ/∂s Δs
(:meth:`~v2gsim.optimize.bilevel.follower.BatchFollower.rho_sensitivity`), 25 % faster than the
corner's ρ alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from v2gsim.optimize.bilevel.bounds import Y_TOL, domain_extremes, sliced_hour_bound
from v2gsim.optimize.bilevel.leader import LeaderData

CHAIN_PIECES = 12
"""Slices of the plugged-EV range in the chain's hour bounds (:func:`sliced_hour_bound`): the
follower solves dominate the chain's cost, so finer slices than the node bound's are cheap (at
20 kW / 400 EVs / share 0.6 the root bound falls by 0.6 $ from 4 to 16 slices).
"""

__all__ = ["ChainBounds", "chain_bounds", "chain_dp", "chain_rows", "combine", "mask_chain"]


@dataclass
class ChainBounds:
    """Chain bound of one node (:func:`chain_bounds`).

    Attributes:
        W: (T, H^(2r+1)) bounds W_t of hour t's value ($) for the levels of hours t−r..t+r
            (C-order flattened, hours outside 0..T−1 at the dummy level 0); −inf outside the domains.
        radius: window radius r (the window has 2r + 1 hours).
        ub: the node's bound on V ($), the longest path.
        L: (T, H) bound on V ($) over the sub-box with s_t = ℓ; −inf outside the domains.
        path: (T,) a maximising level sequence.
    """

    W: NDArray[np.float64]
    radius: int
    ub: float
    L: NDArray[np.float64]
    path: NDArray[np.int64]


def padded_domain(dom: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """(T + 2r, H) domains with r dummy hours (level 0 only) before and after."""
    dummy = np.zeros((r, dom.shape[1]), dtype=bool)
    dummy[:, 0] = True
    return np.vstack([dummy, dom, dummy])


def chain_rows(dom: NDArray[np.bool_], radius: int = 1) -> int:
    """Number of (hour, window levels) rows :func:`chain_bounds` evaluates at each corner."""
    sizes = padded_domain(dom, radius).sum(axis=1).astype(np.int64)
    T = dom.shape[0]
    return int(sum(np.prod(sizes[t : t + 2 * radius + 1]) for t in range(T)))


def _window_mask(dom: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """(T, H, ..., H) the window level combinations inside the domains, per hour."""
    return padded_window_mask(padded_domain(dom, r), r)


def padded_window_mask(dp: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """(T, H, ..., H) the window combinations inside the padded domains ``dp`` (T + 2r, H)."""
    T, H = dp.shape[0] - 2 * r, dp.shape[1]
    keep = np.ones((T,) + (H,) * (2 * r + 1), dtype=bool)
    for j in range(2 * r + 1):
        shape = [T] + [1] * (2 * r + 1)
        shape[j + 1] = H
        keep &= dp[np.arange(T) + j].reshape(shape)
    return keep


def _window_rows(dom: NDArray[np.bool_], r: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Hour of every row and its window levels (n, 2r + 1), in the domains."""
    keep = _window_mask(dom, r)
    nz = np.nonzero(keep)
    return nz[0], np.stack(nz[1:], axis=1)


def _window_batch(
    ld: LeaderData, t: NDArray[np.intp], combo: NDArray[np.intp], base: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Rebate vectors: ``base`` with the window hours of each row set to its levels."""
    T = base.shape[0]
    r = (combo.shape[1] - 1) // 2
    S = np.repeat(base[None, :], len(t), axis=0)
    k = np.arange(len(t))
    for j in range(2 * r + 1):
        hour = t - r + j
        ok = (hour >= 0) & (hour < T)
        S[k[ok], hour[ok]] = ld.levels[combo[ok, j]]
    return S


def chain_bounds(
    ld: LeaderData, dom: NDArray[np.bool_], rho_lo: list | None, rho_hi: list | None,
    radius: int = 1,
) -> ChainBounds:
    """The chain bound of a node with level domains ``dom`` (T, H); see the module docstring.

    Args:
        ld: the leader data (``ld.nu``, ``ld.safety`` set the substitution margins).
        dom: (T, H) level domains, every hour non-empty.
        rho_lo, rho_hi: per-cluster potentials of the node's corners (Newton warm starts) or None.
        radius: window radius r >= 1 (the window has 2r + 1 consecutive hours).
    """
    T, H = dom.shape
    r = int(radius)
    lo, hi = domain_extremes(dom)
    s_lo, s_hi = ld.levels[lo], ld.levels[hi]
    t, combo = _window_rows(dom, r)
    S_lo, S_hi = _window_batch(ld, t, combo, s_lo), _window_batch(ld, t, combo, s_hi)
    Y_lo, _ = ld.responses(S_lo, ld.taylor_starts(s_lo, S_lo, rho_lo))
    Y_hi, _ = ld.responses(S_hi, ld.taylor_starts(s_hi, S_hi, rho_hi))
    k = np.arange(len(t))
    nc = len(ld.followers)
    margin = np.full((T, nc), Y_TOL)
    if ld.nu.size and np.any(ld.nu > 0):
        margin = margin + ld.safety * np.einsum("cts,s->tc", ld.nu, s_hi - s_lo)
    b = combo[:, r]  # own level
    group = t * H + b
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=T * H)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(len(t)) - start[group[order]]
    K = int(counts.max())
    # box arrays (T, H, K, nc); padding cells get a dummy box (their bounds are never read)
    ylo = np.zeros((T, H, K, nc))
    yhi = np.ones((T, H, K, nc))
    ylo[t, b, rank] = np.clip(Y_lo[k, t] - margin[t], 0.0, 1.0)
    yhi[t, b, rank] = np.clip(Y_hi[k, t] + margin[t], 0.0, 1.0)
    U = sliced_hour_bound(ld, ylo, yhi, CHAIN_PIECES)
    W = np.full((T, H ** (2 * r + 1)), -np.inf)
    W[t, np.ravel_multi_index(tuple(combo.T), (H,) * (2 * r + 1))] = U[t, b, rank]
    ub, L, path = chain_dp(W, dom, r)
    return ChainBounds(W=W, radius=r, ub=ub, L=L, path=path)


def chain_dp(
    W: NDArray[np.float64], dom: NDArray[np.bool_], radius: int
) -> tuple[float, NDArray[np.float64], NDArray[np.int64]]:
    """Longest path ``max_ℓ Σ_t W_t(ℓ_{t−r}, ..., ℓ_{t+r})`` over level sequences in the domains.

    The state after hour t holds the levels of hours t−r+1..t+r (2r levels; hours outside 0..T−1
    at the dummy level 0).

    Args:
        W: (T, H^(2r+1)) hour bounds (C-order window levels; −inf for excluded combinations).
        dom: (T, H) level domains (W is masked with them).
        radius: window radius r.

    Returns:
        ``(ub, L, path)``: the longest path, the (T, H) longest path through ``ℓ_t = ℓ`` and one
        maximising sequence.
    """
    T, H = dom.shape
    r = int(radius)
    win = (H,) * (2 * r + 1)
    Wm = np.where(_window_mask(dom, r), W.reshape((T, *win)), -np.inf)
    F, B = dp_messages(Wm, padded_domain(dom, r), r)
    ub = float(F[T].max())
    L = np.empty((T, H))
    for t in range(T):
        tot = np.moveaxis(F[t] + B[t], r, 0).reshape(H, -1)
        L[t] = tot.max(axis=1)
    path = np.zeros(T, dtype=np.int64)
    if np.isfinite(ub):
        state = list(np.unravel_index(int(np.argmax(F[0] + B[0])), (H,) * (2 * r)))
        for t in range(T):
            path[t] = state[r]
            nxt = Wm[t][tuple(state)] + B[t + 1][tuple(state[1:])]
            state = [*state[1:], int(np.argmax(nxt))]
    return ub, L, path


def dp_messages(
    fac: NDArray[np.float64], dp: NDArray[np.bool_], r: int
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Forward and backward messages of the longest path ``max Σ_t fac_t(x_{t−r}, ..., x_{t+r})``.

    Args:
        fac: (T, G, ..., G) factors over the 2r + 1 window states (G values per hour).
        dp: (T + 2r, G) allowed values of every padded hour (the r dummy hours at each end).
        r: window radius.

    Returns:
        ``(F, B)``: ``F[t]`` the best sum of the factors before t and ``B[t]`` of those from t on,
        as functions of the states of hours t−r..t+r−1 (T + 1 arrays of shape (G,)^(2r) each).
    """
    T, G = fac.shape[0], fac.shape[1]
    fm = np.where(padded_window_mask(dp, r), fac, -np.inf)
    F0 = np.zeros((G,) * (2 * r))
    for j in range(2 * r):
        shape = [1] * (2 * r)
        shape[j] = G
        F0 = F0 + np.where(dp[j], 0.0, -np.inf).reshape(shape)
    F = [F0]
    for t in range(T):
        F.append((F[t][..., None] + fm[t]).max(axis=0))
    B = [np.zeros((G,) * (2 * r))] * (T + 1)
    for t in range(T - 1, -1, -1):
        B[t] = (fm[t] + B[t + 1][None, ...]).max(axis=-1)
    return F, B


def mask_chain(W: NDArray[np.float64], dom: NDArray[np.bool_], radius: int) -> NDArray[np.float64]:
    """``W`` with the window combinations outside the (smaller) domains ``dom`` set to −inf.

    The W of a box bound hour values on every sub-box, so the masked W are valid for ``dom``.
    """
    T = dom.shape[0]
    return np.where(_window_mask(dom, radius).reshape(T, -1), W, -np.inf)


def combine(
    U: NDArray[np.float64], dom: NDArray[np.bool_], W: NDArray[np.float64] | None, radius: int = 1
) -> tuple[float, NDArray[np.float64], NDArray[np.int64] | None]:
    """Node bound and per-level bounds from the separable hour bounds U and the chain W.

    Args:
        U: (T, H) separable hour bounds (−inf outside ``dom``).
        dom: (T, H) level domains.
        W: chain bounds of this box or a larger one (radius ``radius``), or None.
        radius: their window radius.

    Returns:
        ``(ub, L, path)``: the node's bound, the (T, H) bound of the sub-box with s_t = ℓ (the
        smaller of the separable and the chain bound; −inf outside ``dom``) and the chain's
        maximising sequence (None without W).
    """
    rowmax = U.max(axis=1)
    ub = float(rowmax.sum())
    L = np.where(dom, ub - rowmax[:, None] + U, -np.inf)
    if W is None:
        return ub, L, None
    ub_c, L_c, path = chain_dp(W, dom, radius)
    return min(ub, ub_c), np.where(dom, np.minimum(L, L_c), -np.inf), path

"""Closed forms of the persistency model: the inner maximisation (D3) and the objectives (D2), (D4).

For one arc with reduced utility λ ($) and standard deviation σ ≥ 0 ($), (D3) is

    max_{0≤y≤1} λ y + σ √(y(1−y)) = ½(λ + h),   argmax y = ½(1 + λ/h),   h = √(λ²+σ²),

so the dual (D4) at node potentials ρ is ``Σ_a ½(λ_a + h_a) + fᵀρ`` with ``λ = μ + s − Bᵀρ``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.arrays import (
    NetworkArrays,
    arc_vector,
    as_network,
    reduced_utilities,
)

__all__ = [
    "dual_objective",
    "dual_terms",
    "inner_closed_form",
    "persistency_objective",
    "stable_h_plus_lam",
]


def stable_h_plus_lam(lam: NDArray, sigma: NDArray) -> tuple[NDArray, NDArray]:
    """Return ``(h, h + λ)`` with ``h = √(λ²+σ²)`` (D3), computing ``h + λ`` without cancellation.

    For λ < 0, ``h + λ = σ² / (h − λ)``; where that is 0/0 (λ = σ = 0) the result is 0.

    Args:
        lam: reduced utilities λ ($), any shape.
        sigma: standard deviations σ ≥ 0 ($), broadcastable with ``lam``.

    Returns:
        ``(h, h + λ)`` ($), broadcast arrays.
    """
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
    h, hpl = stable_h_plus_lam(lam_a, sig_a)
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


def dual_terms(net: NetworkArrays, lam: NDArray, sigma: NDArray) -> NDArray:
    """Per-arc dual terms of (D4): ½(λ+h) on free arcs, λ on forced arcs (y ≡ 1), 0 off paths (y ≡ 0).

    Args:
        net: the network.
        lam: (n_arcs,) reduced utilities ($).
        sigma: (n_arcs,) standard deviations ($).

    Returns:
        (n_arcs,) the terms ($); their sum plus ``fᵀρ`` is the dual objective.
    """
    _, hpl = stable_h_plus_lam(lam, sigma)
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
    net = as_network(B, f)
    m = net.n_arcs
    util = arc_vector(mu, m, "mu") + arc_vector(rebate, m, "rebate")
    rho_v = np.asarray(rho, float)
    lam = reduced_utilities(net, util, rho_v)
    return float(dual_terms(net, lam, arc_vector(sigma, m, "sigma")).sum() + net.f @ rho_v)

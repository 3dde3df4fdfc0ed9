"""Chance-constrained regulation bids: the SOCP bounds (3) and (4) of models.md §1.4, in closed form.

The platform bids C_t kW of regulation capacity for hour t. With K̃_t plugged-in EVs of capability
ψ kW each and a random requirement r̃_t per kW of bid (mean r̄_t), the bid must satisfy

    P(ψ K̃_t - r̃_t C_t >= 0) >= 1 - η.                                            (R1)

Applying the CVaR bounds of Chen & Sim (R4) to the loss ``L_t = r̃_t C_t - ψ K̃_t`` with
K̃_t ~ Binomial(M, y_t) gives two sufficient SOC conditions (R5):

    (3)  r̄ C - ψ M y + κ_f(η) sqrt(ψ² M v(y) + (σ^f C)²) <= 0,   κ_f(η) = sqrt(-2 ln η)
    (4)  r̄ C - ψ M y + κ_b(η) sqrt(ψ² M v(y) + (σ^b C)²) <= 0,   κ_b(η) = (1-η)/η sqrt(-2 ln(1-η))

where σ^f, σ^b are the forward/backward deviations of r̃_t (see :mod:`v2gsim.market.deviations`).

Caveat (models.md §1.4, DERIVED). K̃ enters L with coefficient -ψ, so the rigorous deviation term
in (3) is ψ σ^b(K̃) and in (4) ψ σ^f(K̃). With the paper's ``v(y) = y(1-y)`` (``k_dev=None``),
(3) is a rigorous guarantee only for y <= 1/2 and (4) only for y >= 1/2, because the Bernoulli
backward (forward) deviation exceeds sqrt(y(1-y)) above (below) 1/2; elsewhere it is an
approximation (which held in Monte Carlo). With ``k_dev="bernoulli"`` the exact squared Bernoulli
deviation is used (σ_b(y)² in (3), σ_f(y)² in (4)) and the bound is rigorous for every y, by
Chen & Sim's proposition for independent drivers. κ_f < κ_b whenever η < 1/2 (they coincide at
η = 1/2), so (3) admits the larger bid unless σ^f of r̃ is much larger than σ^b.

RECONSTRUCTED (models.md §6 item 6): the direction of the tail inequalities (R3; the slide's typo
corrected) and the readings of ψ (charger kW), r̃_t and p̄_t.

Several driver clusters c (models.md §1.5, E1, RECONSTRUCTED: cluster-mixture variance) are
independent Binomials: the mean count is Σ_c M_c y_c and the squared deviation Σ_c M_c v(y_c).
Pass ``M`` as a 1-D array of cluster sizes and ``y`` with the clusters on its last axis.

"No bid" is always feasible: when even C = 0 violates a bound (few EVs expected, e.g.
y < κ²/(M + κ²) for one class with v = y(1-y)), the bid is zero, because at C = 0 the chance
constraint (R1) holds trivially. :func:`max_bid` returns 0.0 then, and the cvxpy builders
(:mod:`v2gsim.optimize.chance.cones`) model the switch explicitly so that a quiet hour never makes a
larger model infeasible.

Physical cap (ours, issue 30). (R1) compares the requirement with the plug-in count, not the bid
with the fleet: for a requirement far below 1 kW per kW of bid (a low score target 1 - η) the bound
admits bids beyond what the plugged EVs can deliver at all. A bid is therefore also capped by the
capability of the EVs expected to be plugged in, ``C_t <= ψ Σ_c M_c y_ct`` (:func:`capability_cap`,
``cap=True`` in :func:`max_bid`), which never exceeds the fleet's physical maximum ``ψ M``. With
the synthetic RegD requirement at η = 0.05 (r̄ + κ_f σ^f ≈ 0.995) the cap binds only where almost
every EV is expected (y >= 0.96 for M = 200, y >= 0.83 for M = 1000; the seed's case and the
default scenario never get there); for η = 0.1 and a large fleet the bound admits about
1.08 ψ Σ M_c y_c, for η = 0.5 about 2.2 times, and for η -> 1 it grows without bound (r̄ -> 0 at
score target 1 - η).

Range of η. The multipliers are defined on (0, 1), but the bounds stop being meaningful at
η = 1/2 (and, for want of digits and of any fleet that could bid, below :data:`ETA_MIN` = 1e-6):
(i) there κ_f = κ_b = sqrt(2 ln 2) ≈ 1.18 (the two bounds coincide) while the exact margin of a
symmetric loss, Φ⁻¹(1 - η) standard deviations for a normal one, is 0 - (R1) is then a median
condition that the mean condition r̄ C <= ψ E[K̃] already meets - and for η > 1/2 the exact margin
is negative: (R1) itself admits r̄ C > ψ E[K̃], hence (r̄ <= 1) bids beyond the expected plugged
capability, which the physical cap forbids; (ii) the distribution-free (Cantelli) margin of
sqrt((1 - η)/η) standard deviations that guarantees P(L > 0) <= η for every loss of that mean
and variance falls below one deviation for η > 1/2 and to 0 as η -> 1, where κ_f, κ_b -> 0 too
and (3)/(4) collapse into the mean condition, a statement about no probability at all; (iii) the
score target q = 1 - η of the requirement (:mod:`v2gsim.market.requirement`) falls below 1/2: a
bid that loses most of its mileage. The scenario schema therefore allows η in [1e-6, 1/2]
(:data:`ETA_MIN`, :data:`ETA_MAX`); these functions accept (0, 1).

This module holds the closed forms (multipliers κ, plug-in moments, left sides, the no-bid
threshold, the capability cap and the largest admitted bid), vectorised over hours and free of
cvxpy; the second-order cone constraints of the same bounds are in
:mod:`v2gsim.optimize.chance.cones`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from v2gsim.market.arrays import float_or_array
from v2gsim.market.deviations import bernoulli_deviations

__all__ = [
    "ETA_MAX",
    "ETA_MIN",
    "Bound",
    "KDev",
    "bound3_lhs",
    "bound4_lhs",
    "bound_lhs",
    "capability_cap",
    "kappa",
    "kappa_backward",
    "kappa_forward",
    "max_bid",
    "no_bid_threshold",
    "plugin_moments",
]

Bound = Literal[3, 4]
"""Which sufficient condition: 3 (forward, κ_f) or 4 (backward, κ_b), models.md §1.4."""

KDev = Literal["variance", "bernoulli"] | None
"""Deviation of one EV's plug-in indicator: None/"variance" -> y(1-y), "bernoulli" -> exact."""

ETA_MAX = 0.5

#: Smallest η the scenario schema allows. Below it κ_b(η) ≈ sqrt(2/η) > 1,400 (κ_f grows only like
#: sqrt(-2 ln η), but the score target 1 - η is then a quantile beyond a million hours of
#: requirement samples): no fleet below κ² ≈ 2 million EVs can bid at all, and the floating-point
#: evaluation of κ_b loses its digits (at η = 5e-324, 1/η overflows).
ETA_MIN = 1e-6
"""Largest meaningful violation probability η of bounds (3)/(4) (module docstring, "Range of η")."""


def _check_eta(eta: ArrayLike) -> np.ndarray:
    e = np.asarray(eta, dtype=float)
    if not np.all((e > 0.0) & (e < 1.0)):
        raise ValueError(f"eta must lie in (0, 1), got {eta}")
    return e


def _check_bound(bound: int) -> None:
    if bound not in (3, 4):
        raise ValueError(f"bound must be 3 or 4, got {bound!r}")


def kappa_forward(eta: ArrayLike) -> float | np.ndarray:
    """Multiplier of bound (3): κ_f(η) = sqrt(-2 ln η) (models.md R4, (3)).

    Args:
        eta: allowed violation probability, in (0, 1).

    Returns:
        κ_f (dimensionless); 2.448 at η = 0.05, 1.665 at η = 0.25, 1.177 at η = 0.5.
    """
    e = _check_eta(eta)
    return float_or_array(np.sqrt(-2.0 * np.log(e)))


def kappa_backward(eta: ArrayLike) -> float | np.ndarray:
    """Multiplier of bound (4): κ_b(η) = ((1-η)/η) sqrt(-2 ln(1-η)) (models.md R4, (4)).

    Args:
        eta: allowed violation probability, in (0, 1).

    Returns:
        κ_b (dimensionless); 6.086 at η = 0.05, 2.276 at η = 0.25, equal to κ_f at η = 0.5.
    """
    e = _check_eta(eta)
    return float_or_array((1.0 - e) / e * np.sqrt(-2.0 * np.log1p(-e)))


def kappa(eta: ArrayLike, bound: Bound = 3) -> float | np.ndarray:
    """Multiplier of bound (3) (:func:`kappa_forward`) or (4) (:func:`kappa_backward`)."""
    _check_bound(bound)
    return kappa_forward(eta) if bound == 3 else kappa_backward(eta)


def _unit_dev_sq(y: np.ndarray, bound: Bound, k_dev: KDev) -> np.ndarray:
    """Squared deviation of one EV's plug-in indicator that enters bound (3) or (4)."""
    if k_dev is None or k_dev == "variance":
        return y * (1.0 - y)
    if k_dev == "bernoulli":
        sf, sb = bernoulli_deviations(y)
        d = np.asarray(sb if bound == 3 else sf, dtype=float)
        return d * d
    raise ValueError(f"k_dev must be None, 'variance' or 'bernoulli', got {k_dev!r}")


def plugin_moments(
    y: ArrayLike, M: ArrayLike, *, bound: Bound = 3, k_dev: KDev = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and squared deviation of the plug-in count K̃_t (models.md R5, E1).

    Args:
        y: persistencies y_t (dimensionless, in [0, 1]). With a scalar ``M`` any shape (hours);
            with a 1-D ``M`` of cluster sizes the clusters are the last axis of ``y``.
        M: fleet size (EVs), or 1-D array of cluster sizes M_c.
        bound: 3 or 4; selects the backward (3) or forward (4) Bernoulli deviation for
            ``k_dev="bernoulli"``.
        k_dev: None or "variance" for v(y) = y(1-y) (as in the paper), "bernoulli" for the exact
            Bernoulli deviation squared.

    Returns:
        ``(mean, dev_sq)``: Σ_c M_c y_c (EVs) and Σ_c M_c v(y_c) (EVs²), shaped like the hours.

    Raises:
        ValueError: for y outside [0, 1], M <= 0, or a cluster axis that does not match ``M``.
    """
    _check_bound(bound)
    ya = np.asarray(y, dtype=float)
    Ma = np.asarray(M, dtype=float)
    if not np.all(np.isfinite(ya)) or np.any((ya < 0.0) | (ya > 1.0)):
        raise ValueError("y must lie in [0, 1]")
    if not np.all(np.isfinite(Ma)) or np.any(Ma <= 0.0):
        raise ValueError("M must be finite and > 0")
    v = _unit_dev_sq(ya, bound, k_dev)
    if Ma.ndim == 0:
        return Ma * ya, Ma * v
    if Ma.ndim == 1 and ya.ndim >= 1 and ya.shape[-1] == Ma.size:
        return ya @ Ma, v @ Ma
    raise ValueError(
        f"with cluster sizes M of shape {Ma.shape}, y needs the clusters on its last axis; "
        f"got y of shape {ya.shape}"
    )


def bound_lhs(
    C: ArrayLike,
    y: ArrayLike,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike,
    sigma: ArrayLike,
    eta: float,
    *,
    bound: Bound = 3,
    k_dev: KDev = None,
) -> float | np.ndarray:
    """Left side of bound (3) or (4) (models.md §1.4); the bid is admitted iff it is <= 0.

    ``r̄ C - ψ Σ_c M_c y_c + κ sqrt(ψ² Σ_c M_c v(y_c) + (σ C)²)`` with κ = κ_f(η) for (3) and
    κ_b(η) for (4). See the module docstring for when each bound is a rigorous guarantee.

    Args:
        C: regulation capacity bid C_t (kW), >= 0.
        y: persistency y_t (see :func:`plugin_moments` for clusters).
        M: fleet size (EVs) or 1-D array of cluster sizes.
        psi: per-EV regulation capability ψ (kW).
        r_bar: mean requirement r̄_t per kW of bid (kW/kW).
        sigma: deviation of the requirement per kW of bid: σ^f_t for (3), σ^b_t for (4) (kW/kW).
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: deviation of the plug-in indicator, see :func:`plugin_moments`.

    Returns:
        The left side (kW), broadcast over hours.
    """
    mean, dev_sq = plugin_moments(y, M, bound=bound, k_dev=k_dev)
    k = kappa(eta, bound)
    Ca = np.asarray(C, dtype=float)
    sa = np.asarray(sigma, dtype=float)
    lhs = (
        np.asarray(r_bar, dtype=float) * Ca
        - psi * mean
        + k * np.sqrt(psi**2 * dev_sq + (sa * Ca) ** 2)
    )
    return float_or_array(lhs)


def bound3_lhs(
    C: ArrayLike,
    y: ArrayLike,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike,
    sigma_f: ArrayLike,
    eta: float,
    k_dev: KDev = None,
) -> float | np.ndarray:
    """Left side of bound (3): ``r̄C - ψMy + sqrt(-2 ln η) sqrt(ψ²M v(y) + (σ^f C)²)`` (kW).

    Rigorous for y <= 1/2 with ``k_dev=None``, for all y with ``k_dev="bernoulli"`` (models.md
    §1.4 caveats). Arguments as in :func:`bound_lhs`.
    """
    return bound_lhs(C, y, M, psi, r_bar, sigma_f, eta, bound=3, k_dev=k_dev)


def bound4_lhs(
    C: ArrayLike,
    y: ArrayLike,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike,
    sigma_b: ArrayLike,
    eta: float,
    k_dev: KDev = None,
) -> float | np.ndarray:
    """Left side of bound (4): ``r̄C - ψMy + (1-η)/η sqrt(-2 ln(1-η)) sqrt(ψ²M v(y) + (σ^b C)²)``.

    In kW. Rigorous for y >= 1/2 with ``k_dev=None``, for all y with ``k_dev="bernoulli"``
    (models.md §1.4 caveats). Arguments as in :func:`bound_lhs`.
    """
    return bound_lhs(C, y, M, psi, r_bar, sigma_b, eta, bound=4, k_dev=k_dev)


def no_bid_threshold(M: ArrayLike, eta: float, bound: Bound = 3) -> float | np.ndarray:
    """Persistency below which even C = 0 violates the bound: y < κ²/(M + κ²) (models.md (3)/(4)).

    Valid for one homogeneous class with v(y) = y(1-y): ``ψ M y < κ ψ sqrt(M y (1-y))``.

    Args:
        M: fleet size (EVs).
        eta: allowed violation probability η.
        bound: 3 or 4.

    Returns:
        The threshold persistency (dimensionless).
    """
    k2 = np.asarray(kappa(eta, bound), dtype=float) ** 2
    return float_or_array(k2 / (np.asarray(M, dtype=float) + k2))


def capability_cap(y: ArrayLike, M: ArrayLike, psi: float) -> float | np.ndarray:
    """Capability of the EVs expected to be plugged in, ``ψ Σ_c M_c y_c`` (kW): the physical cap.

    No bid can be delivered beyond it (module docstring, "Physical cap"); it is at most ``ψ M``.

    Args:
        y: persistencies y_t (see :func:`plugin_moments` for clusters).
        M: fleet size (EVs) or 1-D array of cluster sizes.
        psi: per-EV regulation capability ψ (kW): the charger rating or the headroom ψ - ω.

    Returns:
        The cap (kW), shaped like the hours.
    """
    mean, _ = plugin_moments(y, M)
    return float_or_array(psi * np.asarray(mean, dtype=float))


def max_bid(
    y: ArrayLike,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike,
    sigma_dev: ArrayLike,
    eta: float,
    bound: Bound = 3,
    k_dev: KDev = None,
    *,
    cap: bool = False,
) -> float | np.ndarray:
    """Largest bid C >= 0 admitted by bound (3) or (4), in closed form (models.md §1.4).

    With ``b = ψ Σ M_c y_c`` and ``a = ψ² Σ M_c v(y_c)`` the left side
    ``g(C) = r̄ C + κ sqrt(a + (σ C)²) - b`` is convex and non-decreasing on C >= 0, so the
    admitted bids form the interval [0, C*]. If ``g(0) = κ sqrt(a) - b > 0`` no positive bid is
    admitted and the result is 0.0, the explicit "no bid" (always feasible, see module docstring).
    Otherwise C* is the root of ``(r̄² - κ²σ²) C² - 2 b r̄ C + (b² - κ² a) = 0`` with
    ``b - r̄ C >= 0``, written without cancellation as

        C* = (b² - κ² a) / (b r̄ + κ sqrt(σ² (b² - κ² a) + a r̄²)).

    If r̄ = σ = 0 any bid is admitted and the result is ``inf``. With ``cap=True`` the result is
    ``min(C*, ψ Σ_c M_c y_c)``, the bid also capped by the plugged capability
    (:func:`capability_cap`).

    Args:
        y: persistency y_t, vectorised over hours (clusters on the last axis if ``M`` is 1-D).
        M: fleet size (EVs) or 1-D array of cluster sizes.
        psi: per-EV regulation capability ψ (kW).
        r_bar: mean requirement per kW of bid r̄_t (kW/kW), >= 0; broadcasts over hours.
        sigma_dev: deviation of the requirement: σ^f_t for (3), σ^b_t for (4) (kW/kW), >= 0.
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: deviation of the plug-in indicator, see :func:`plugin_moments`.
        cap: also cap the bid by the capability of the expected plugged EVs.

    Returns:
        C* (kW), a float for scalar inputs, else an array over hours.

    Raises:
        ValueError: for negative ``psi``, ``r_bar`` or ``sigma_dev``, or invalid y, M, η.
    """
    if not psi > 0:
        raise ValueError(f"psi must be > 0, got {psi}")
    rb = np.asarray(r_bar, dtype=float)
    sg = np.asarray(sigma_dev, dtype=float)
    if np.any(rb < 0.0) or np.any(sg < 0.0):
        raise ValueError("r_bar and sigma_dev must be >= 0")
    mean, dev_sq = plugin_moments(y, M, bound=bound, k_dev=k_dev)
    k = float(kappa(eta, bound))
    b = psi * mean
    a = psi**2 * dev_sq
    b, a, rb, sg = np.broadcast_arrays(b, a, rb, sg)
    num = b * b - k * k * a  # >= 0 iff C = 0 is admitted (b >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = k * np.sqrt(np.maximum(sg * sg * num + a * rb * rb, 0.0))
        den = b * rb + disc
        c_star = np.where(den > 0.0, np.maximum(num, 0.0) / den, 0.0)
    c_star = np.where((rb == 0.0) & (sg == 0.0), np.inf, c_star)
    c_star = np.where(num < 0.0, 0.0, c_star)
    if cap:
        c_star = np.minimum(c_star, b)
    return float_or_array(c_star)

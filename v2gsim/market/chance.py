"""Chance-constrained regulation bids: the SOCP bounds (3) and (4) of models.md §1.4.

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

Several driver clusters c (models.md §1.5, E1) are independent Binomials: the mean count is
Σ_c M_c y_c and the squared deviation Σ_c M_c v(y_c). Pass ``M`` as a 1-D array of cluster sizes
and ``y`` with the clusters on its last axis.

"No bid" is always feasible: when even C = 0 violates a bound (few EVs expected, e.g.
y < κ²/(M + κ²) for one class with v = y(1-y)), the bid is zero, because at C = 0 the chance
constraint (R1) holds trivially. :func:`max_bid` returns 0.0 then, and the cvxpy builders model the
switch explicitly so that a quiet hour never makes a larger model infeasible.

The numeric functions are vectorised over hours; the cvxpy builders return DPP-compliant constraints
(``r_bar`` and ``sigma`` may be ``cp.Parameter``; a constant ``y`` is held in parameters that
:meth:`ChanceBound.set_y` refreshes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cvxpy as cp
import numpy as np
from numpy.typing import ArrayLike

from v2gsim.market.deviations import bernoulli_deviations

__all__ = [
    "Bound",
    "ChanceBound",
    "KDev",
    "bound3_constraint",
    "bound3_lhs",
    "bound4_constraint",
    "bound4_lhs",
    "bound_constraints",
    "bound_lhs",
    "deviation_disk",
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


def _out(a: np.ndarray) -> float | np.ndarray:
    """Return a Python float for 0-d results, otherwise the array."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


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
    return _out(np.sqrt(-2.0 * np.log(e)))


def kappa_backward(eta: ArrayLike) -> float | np.ndarray:
    """Multiplier of bound (4): κ_b(η) = ((1-η)/η) sqrt(-2 ln(1-η)) (models.md R4, (4)).

    Args:
        eta: allowed violation probability, in (0, 1).

    Returns:
        κ_b (dimensionless); 6.086 at η = 0.05, 2.276 at η = 0.25, equal to κ_f at η = 0.5.
    """
    e = _check_eta(eta)
    return _out((1.0 - e) / e * np.sqrt(-2.0 * np.log1p(-e)))


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
    return _out(lhs)


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
    return _out(k2 / (np.asarray(M, dtype=float) + k2))


def max_bid(
    y: ArrayLike,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike,
    sigma_dev: ArrayLike,
    eta: float,
    bound: Bound = 3,
    k_dev: KDev = None,
) -> float | np.ndarray:
    """Largest bid C >= 0 admitted by bound (3) or (4), in closed form (models.md §1.4).

    With ``b = ψ Σ M_c y_c`` and ``a = ψ² Σ M_c v(y_c)`` the left side
    ``g(C) = r̄ C + κ sqrt(a + (σ C)²) - b`` is convex and non-decreasing on C >= 0, so the
    admitted bids form the interval [0, C*]. If ``g(0) = κ sqrt(a) - b > 0`` no positive bid is
    admitted and the result is 0.0, the explicit "no bid" (always feasible, see module docstring).
    Otherwise C* is the root of ``(r̄² - κ²σ²) C² - 2 b r̄ C + (b² - κ² a) = 0`` with
    ``b - r̄ C >= 0``, written without cancellation as

        C* = (b² - κ² a) / (b r̄ + κ sqrt(σ² (b² - κ² a) + a r̄²)).

    If r̄ = σ = 0 any bid is admitted and the result is ``inf``.

    Args:
        y: persistency y_t, vectorised over hours (clusters on the last axis if ``M`` is 1-D).
        M: fleet size (EVs) or 1-D array of cluster sizes.
        psi: per-EV regulation capability ψ (kW).
        r_bar: mean requirement per kW of bid r̄_t (kW/kW), >= 0; broadcasts over hours.
        sigma_dev: deviation of the requirement: σ^f_t for (3), σ^b_t for (4) (kW/kW), >= 0.
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: deviation of the plug-in indicator, see :func:`plugin_moments`.

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
    return _out(c_star)


# ------------------------------------------------------------------------------------------------
# cvxpy constraint builders
# ------------------------------------------------------------------------------------------------


def deviation_disk(y: cp.Expression, w: cp.Expression) -> cp.Constraint:
    """Disk cone ``‖(w, y - 1/2)‖₂ <= 1/2``, i.e. ``w² + y² <= y`` (models.md §1.5, S5).

    Equivalent to ``|w| <= sqrt(y(1-y))`` with 0 <= y <= 1, elementwise over same-shaped y, w.
    """
    n = int(np.prod(y.shape)) if y.shape else 1
    yv = cp.reshape(y, (n,), order="F")
    wv = cp.reshape(w, (n,), order="F")
    return cp.SOC(np.full(n, 0.5), cp.vstack([wv, yv - 0.5]), axis=0)


def _columns(x: cp.Expression, T: int, n_c: int | None) -> list[cp.Expression]:
    """Split a (T,) or (T, n_c) expression into a list of (T,) cluster columns."""
    if n_c is None:
        return [cp.reshape(x, (T,), order="F")]
    x2 = cp.reshape(x, (T, n_c), order="F")
    return [x2[:, c] for c in range(n_c)]


@dataclass
class ChanceBound:
    """cvxpy constraints of bound (3) or (4) for T hours, with the handles a caller may need.

    Attributes:
        constraints: the constraints to add to a problem (always includes ``C >= 0``).
        kappa: the multiplier κ used.
        w: deviation variable(s) of y (variable-y form; the caller's ``w``), else None.
        b: Boolean bid indicators b_t (variable-y form with ``no_bid=True``), else None.
        y_hat: copies ŷ (= b_t y_t) used by the no-bid switch, else None.
        w_hat: copies ŵ (= b_t w_t) used by the no-bid switch, else None.
        y: parameter holding a constant y (constant-y form), else None.
        dev: parameter ``ψ sqrt(Σ_c M_c v(y_c))`` per hour (kW), constant-y form, else None.
        slack: parameter ``max(0, κ dev - ψ Σ_c M_c y_c)`` per hour (kW), constant-y form with
            ``no_bid=True``, else None.
    """

    constraints: list[cp.Constraint]
    kappa: float
    w: cp.Expression | None = None
    b: cp.Variable | None = None
    y_hat: cp.Variable | None = None
    w_hat: cp.Variable | None = None
    y: cp.Parameter | None = None
    dev: cp.Parameter | None = None
    slack: cp.Parameter | None = None
    _M: np.ndarray = field(default_factory=lambda: np.array(1.0), repr=False)
    _psi: float = field(default=1.0, repr=False)
    _bound: Bound = field(default=3, repr=False)
    _k_dev: KDev = field(default=None, repr=False)

    def set_y(self, y: ArrayLike) -> None:
        """Re-parameterise a constant-y bound with new persistencies (shape as at build time).

        Raises:
            ValueError: if the bound was built with a variable y.
        """
        if self.y is None or self.dev is None:
            raise ValueError("set_y applies only to bounds built with a constant y")
        ya = np.asarray(y, dtype=float).reshape(self.y.shape)
        mean, dev_sq = plugin_moments(ya, self._M, bound=self._bound, k_dev=self._k_dev)
        dev = self._psi * np.sqrt(dev_sq)
        self.y.value = ya
        self.dev.value = np.asarray(dev, dtype=float).reshape(self.dev.shape)
        if self.slack is not None:
            s = np.maximum(self.kappa * dev - self._psi * mean, 0.0)
            self.slack.value = np.asarray(s, dtype=float).reshape(self.slack.shape)


def _constant_y(y: object) -> tuple[bool, object]:
    """Classify y: ``(True, y)`` for numbers, Parameters and constant expressions, else False."""
    if isinstance(y, cp.Parameter) or not isinstance(y, cp.Expression):
        return True, y
    if y.variables():
        return False, y
    if y.parameters():
        raise ValueError("a parametrised y must be a single cp.Parameter")
    return True, np.asarray(y.value, dtype=float)


def bound_constraints(
    C: cp.Expression,
    y: ArrayLike | cp.Expression,
    *,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike | cp.Parameter,
    sigma: ArrayLike | cp.Parameter,
    eta: float,
    bound: Bound = 3,
    w: cp.Expression | None = None,
    disk: bool = True,
    k_dev: KDev = None,
    no_bid: bool = False,
) -> ChanceBound:
    """cvxpy constraints for bound (3) or (4) over T hours (models.md §1.4, (3)/(4); §1.5, S4/S5).

    The bound ``r̄C - ψ Σ_c M_c y_c + κ ‖(ψ sqrt(M_c) w_c)_c, σC)‖₂ <= 0`` is one second-order cone
    per hour, written as ``cp.SOC`` and DPP-compliant in ``r_bar``/``sigma`` parameters.

    Constant y (numbers or a ``cp.Parameter``): the deviation ``ψ sqrt(Σ_c M_c v(y_c))`` is a
    parameter (``k_dev`` selects v), refreshed by :meth:`ChanceBound.set_y`. With ``no_bid=True``
    the right side is relaxed to ``slack_t = max(0, g_t(0))``, where
    ``g_t(0) = κ dev_t - ψ Σ M_c y_c`` is the left side at C = 0. This is exact and stays a
    continuous SOCP: the left side is non-decreasing in C >= 0, so if g_t(0) <= 0 the constraint
    is the bound itself, and if g_t(0) > 0 it admits exactly C_t = 0 (the bound admits no bid and
    "no bid" is always feasible); with r̄ = σ = 0 every C is admitted, as for (R1) itself.

    Variable y (a cvxpy expression): the caller passes the deviation variable ``w`` (same shape as
    y) and, with ``disk=True``, the disk cone ``‖(w, y - 1/2)‖ <= 1/2`` (S5) is added, so
    ``w <= sqrt(y(1-y))``. Warning: the bound is increasing in w, so it is only as strong as the
    rest of the model forces w up to sqrt(y(1-y)); in the bilevel model the strong-duality
    constraint (S1) does this (models.md §1.5, S5). On its own, an optimiser may lower w and the
    bound is then a relaxation. Only v = y(1-y) is available (``k_dev="bernoulli"`` needs a
    constant y). With ``no_bid=True`` Boolean b_t switch the bound off; it is imposed on copies
    (ŷ_t, ŵ_t) instead of (y_t, w_t):

        ŷ_t <= y_t,  ŷ_t <= b_t,  ŵ_t >= w_t - (1 - b_t)/2,  ŵ_t >= 0,
        r̄_t C_t - ψ Σ_c M_c ŷ_ct + κ ‖((ψ sqrt(M_c) ŵ_ct)_c, σ_t C_t)‖ <= 0.

    b_t = 1: ŷ <= y and ŵ >= w only tighten the bound and ŷ = y, ŵ = w is allowed, so it is exactly
    the bound on (y, w). b_t = 0: ŷ <= 0 forces ``r̄C + κσC <= 0``, i.e. C_t = 0, and ŷ = ŵ = 0
    satisfies it whatever (y, w) are, so y is not restricted (this uses w <= 1/2, which the disk
    cone implies; with ``disk=False`` the caller's model must imply it). The model is
    a valid MISOCP with no big-M constant; relaxing b_t to [0, 1] gives C_t <= ψ Σ M_c b_t /
    (r̄ + κσ), the natural bid cap.

    Args:
        C: bid variable/expression (kW), shape () or (T,). ``C >= 0`` is added.
        y: persistencies: numbers or ``cp.Parameter`` (constant form) or a cvxpy expression
            (variable form); shape (T,) for one class, (T, n_c) with a 1-D ``M`` of n_c clusters.
        M: fleet size (EVs) or 1-D array of cluster sizes.
        psi: per-EV regulation capability ψ (kW).
        r_bar: mean requirement per kW of bid (kW/kW), numbers or a nonnegative ``cp.Parameter``.
        sigma: σ^f_t for (3) or σ^b_t for (4) (kW/kW), numbers or a nonnegative ``cp.Parameter``.
        eta: allowed violation probability η (fixed at build time).
        bound: 3 or 4.
        w: deviation variable for a variable y (required then), ignored for a constant y.
        disk: add the disk cone (S5) on (w, y) in the variable-y form.
        k_dev: None/"variance" or "bernoulli" (constant y only), see :func:`plugin_moments`.
        no_bid: add the explicit "no bid" switch described above.

    Returns:
        A :class:`ChanceBound` with the constraints and the created variables/parameters.

    Raises:
        ValueError: on inconsistent shapes, a variable y without ``w``, or a variable y with
            ``k_dev="bernoulli"``.
    """
    _check_bound(bound)
    k = float(kappa(eta, bound))
    if not psi > 0:
        raise ValueError(f"psi must be > 0, got {psi}")
    Ma = np.asarray(M, dtype=float)
    if Ma.ndim > 1 or np.any(Ma <= 0.0):
        raise ValueError("M must be a positive scalar or a 1-D array of cluster sizes")
    n_c = None if Ma.ndim == 0 else int(Ma.size)
    if C.ndim > 1:
        raise ValueError(f"C must have shape () or (T,), got {C.shape}")
    T = 1 if C.ndim == 0 else int(C.shape[0])
    Cv = cp.reshape(C, (T,), order="F")
    expected = (T,) if n_c is None else (T, n_c)
    is_const, y = _constant_y(y)
    y_shape = tuple(np.shape(y)) if not isinstance(y, cp.Expression) else tuple(y.shape)
    if int(np.prod(y_shape)) != int(np.prod(expected)):
        raise ValueError(
            f"y must have {int(np.prod(expected))} entries (hours x clusters), got shape {y_shape}"
        )
    sigC = cp.multiply(sigma, Cv)
    rC = cp.multiply(r_bar, Cv)
    cons: list[cp.Constraint] = [Cv >= 0]
    res = ChanceBound(constraints=cons, kappa=k, _M=Ma, _psi=float(psi), _bound=bound, _k_dev=k_dev)

    if is_const:
        if isinstance(y, cp.Parameter):
            y_par = y
            y_val = y.value
            if y_val is None:
                raise ValueError("the y parameter needs a value")
        else:
            y_val = np.asarray(y, dtype=float)
            y_par = cp.Parameter(y_shape, nonneg=True, name="y_const")
        res.y = y_par
        res.dev = cp.Parameter((T,), nonneg=True, name="plugin_dev")
        y_cols = _columns(y_par, T, n_c)
        mean_expr = psi * (
            y_cols[0] * float(Ma)
            if n_c is None
            else sum(y_cols[c] * float(Ma[c]) for c in range(n_c))
        )
        rhs = mean_expr - rC
        if no_bid:
            res.slack = cp.Parameter((T,), nonneg=True, name="no_bid_slack")
            rhs = rhs + res.slack
        res.set_y(y_val)
        cons.append(cp.SOC(rhs / k, cp.vstack([res.dev, sigC]), axis=0))
        return res

    if k_dev not in (None, "variance"):
        raise ValueError("k_dev='bernoulli' needs a constant y; a variable y uses v = y(1-y)")
    if w is None:
        raise ValueError(
            "a variable y needs its deviation variable w (w_t = sqrt(y_t(1-y_t)) must be "
            "enforced by the surrounding model, e.g. the strong-duality constraint S1)"
        )
    if tuple(w.shape) != tuple(y.shape):
        raise ValueError(f"w must have the shape of y {y.shape}, got {w.shape}")
    res.w = w
    if disk:
        cons.append(deviation_disk(y, w))
    y_cols = _columns(y, T, n_c)
    w_cols = _columns(w, T, n_c)
    if no_bid:
        res.b = cp.Variable(T, boolean=True, name="bid_on")
        res.y_hat = cp.Variable(expected, name="y_hat")
        res.w_hat = cp.Variable(expected, nonneg=True, name="w_hat")
        yh_cols = _columns(res.y_hat, T, n_c)
        wh_cols = _columns(res.w_hat, T, n_c)
        for yc, wc, yh, wh in zip(y_cols, w_cols, yh_cols, wh_cols, strict=True):
            cons += [yh <= yc, yh <= res.b, wh >= wc - 0.5 * (1 - res.b)]
        y_cols, w_cols = yh_cols, wh_cols
    sizes = [float(Ma)] if n_c is None else [float(m) for m in Ma]
    mean_expr = psi * sum(m * yc for m, yc in zip(sizes, y_cols, strict=True))
    rows = [psi * np.sqrt(m) * wc for m, wc in zip(sizes, w_cols, strict=True)]
    cons.append(cp.SOC((mean_expr - rC) / k, cp.vstack([*rows, sigC]), axis=0))
    return res


def bound3_constraint(
    C: cp.Expression,
    y: ArrayLike | cp.Expression,
    *,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike | cp.Parameter,
    sigma_f: ArrayLike | cp.Parameter,
    eta: float,
    w: cp.Expression | None = None,
    disk: bool = True,
    k_dev: KDev = None,
    no_bid: bool = False,
) -> ChanceBound:
    """cvxpy form of bound (3) (κ_f, σ^f); see :func:`bound_constraints` for all arguments."""
    return bound_constraints(
        C,
        y,
        M=M,
        psi=psi,
        r_bar=r_bar,
        sigma=sigma_f,
        eta=eta,
        bound=3,
        w=w,
        disk=disk,
        k_dev=k_dev,
        no_bid=no_bid,
    )


def bound4_constraint(
    C: cp.Expression,
    y: ArrayLike | cp.Expression,
    *,
    M: ArrayLike,
    psi: float,
    r_bar: ArrayLike | cp.Parameter,
    sigma_b: ArrayLike | cp.Parameter,
    eta: float,
    w: cp.Expression | None = None,
    disk: bool = True,
    k_dev: KDev = None,
    no_bid: bool = False,
) -> ChanceBound:
    """cvxpy form of bound (4) (κ_b, σ^b); see :func:`bound_constraints` for all arguments."""
    return bound_constraints(
        C,
        y,
        M=M,
        psi=psi,
        r_bar=r_bar,
        sigma=sigma_b,
        eta=eta,
        bound=4,
        w=w,
        disk=disk,
        k_dev=k_dev,
        no_bid=no_bid,
    )

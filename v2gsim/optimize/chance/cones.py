"""cvxpy second-order cone forms of the chance bounds (3) and (4) (models.md §1.4; §1.5, S4/S5).

The bound ``r̄C - ψ Σ_c M_c y_c + κ ‖(ψ sqrt(M_c) w_c)_c, σC)‖₂ <= 0`` (closed forms, notation and
caveats in :mod:`v2gsim.optimize.chance.bounds`) is one second-order cone per hour, written as ``cp.SOC``
and DPP-compliant in ``r_bar``/``sigma`` parameters. :func:`bound_constraints` builds it in one of
two forms.

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

Physical cap (``cap=True``): ``C_t <= ψ Σ_c M_c y_ct``, the capability of the EVs expected to be
plugged in (:func:`v2gsim.optimize.chance.bounds.capability_cap`; the bound alone admits more when
r̄ + κσ < 1). For a constant y it is the parameter ``cap`` (refreshed by
:meth:`ChanceBound.set_y`), for a variable y a linear constraint in y.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
from numpy.typing import ArrayLike

from v2gsim.optimize.chance.bounds import Bound, KDev, kappa, plugin_moments

__all__ = [
    "ChanceBound",
    "bound3_constraint",
    "bound4_constraint",
    "bound_constraints",
    "deviation_disk",
]


def deviation_disk(y: cp.Expression, w: cp.Expression) -> cp.Constraint:
    """Disk cone ``‖(w, y - 1/2)‖₂ <= 1/2``, i.e. ``w² + y² <= y`` (models.md §1.5, S5).

    Equivalent to ``|w| <= sqrt(y(1-y))`` with 0 <= y <= 1, elementwise over same-shaped y, w.
    RECONSTRUCTED (models.md §6 item 2: the seed's (S1) replaces sqrt(y(1-y)) by such a w; the
    cone form is ours, exact by the strong-duality argument).
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
        cap: parameter ``ψ Σ_c M_c y_c`` per hour (kW), the physical cap of a constant-y bound
            built with ``cap=True``, else None.
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
    cap: cp.Parameter | None = None
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
        if self.cap is not None:
            self.cap.value = np.asarray(self._psi * mean, dtype=float).reshape(self.cap.shape)


@dataclass(frozen=True, eq=False)
class _Hours:
    """The bid and the shapes every part of one bound shares.

    Attributes:
        T: number of hours.
        n_c: number of driver clusters, None for one class with a scalar ``M``.
        sizes: fleet size, or cluster sizes M_c (EVs).
        psi: per-EV regulation capability ψ (kW).
        k: the multiplier κ.
        rC: ``r̄_t C_t`` (kW), shape (T,).
        sigC: ``σ_t C_t`` (kW), shape (T,).
    """

    T: int
    n_c: int | None
    sizes: list[float]
    psi: float
    k: float
    rC: cp.Expression
    sigC: cp.Expression

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of y: (T,) for one class, (T, n_c) for clusters."""
        return (self.T,) if self.n_c is None else (self.T, self.n_c)

    def columns(self, x: cp.Expression) -> list[cp.Expression]:
        """The (T,) cluster columns of a y-shaped expression."""
        return _columns(x, self.T, self.n_c)

    def capability(self, y_cols: list[cp.Expression]) -> cp.Expression:
        """``ψ Σ_c M_c y_c`` (kW), shape (T,): the capability of the expected plugged EVs."""
        return self.psi * sum(m * yc for m, yc in zip(self.sizes, y_cols, strict=True))

    def cone(
        self,
        y_cols: list[cp.Expression],
        dev_rows: list[cp.Expression],
        slack: cp.Expression | None = None,
    ) -> cp.Constraint:
        """``r̄C - ψ Σ_c M_c y_c - slack + κ ‖(dev rows, σC)‖ <= 0`` as one ``cp.SOC`` per hour."""
        rhs = self.capability(y_cols) - self.rC
        if slack is not None:
            rhs = rhs + slack
        return cp.SOC(rhs / self.k, cp.vstack([*dev_rows, self.sigC]), axis=0)


def _constant_y(y: object) -> tuple[bool, object]:
    """Classify y: ``(True, y)`` for numbers, Parameters and constant expressions, else False."""
    if isinstance(y, cp.Parameter) or not isinstance(y, cp.Expression):
        return True, y
    if y.variables():
        return False, y
    if y.parameters():
        raise ValueError("a parametrised y must be a single cp.Parameter")
    return True, np.asarray(y.value, dtype=float)


def _constant_y_bound(
    res: ChanceBound, y: object, y_shape: tuple[int, ...], hours: _Hours, no_bid: bool, cap: bool,
    C: cp.Expression,
) -> None:
    """Add the constant-y form (module docstring) to ``res``: y, dev (slack, cap) parameters."""
    if isinstance(y, cp.Parameter):
        y_par = y
        y_val = y.value
        if y_val is None:
            raise ValueError("the y parameter needs a value")
    else:
        y_val = np.asarray(y, dtype=float)
        y_par = cp.Parameter(y_shape, nonneg=True, name="y_const")
    res.y = y_par
    res.dev = cp.Parameter((hours.T,), nonneg=True, name="plugin_dev")
    if no_bid:
        res.slack = cp.Parameter((hours.T,), nonneg=True, name="no_bid_slack")
    if cap:
        res.cap = cp.Parameter((hours.T,), nonneg=True, name="capability_cap")
        res.constraints.append(C <= res.cap)
    res.set_y(y_val)
    res.constraints.append(hours.cone(hours.columns(y_par), [res.dev], res.slack))


def _no_bid_copies(
    res: ChanceBound, y_cols: list[cp.Expression], w_cols: list[cp.Expression], hours: _Hours
) -> tuple[list[cp.Expression], list[cp.Expression]]:
    """Add the no-bid switch b_t of the variable-y form (module docstring); return (ŷ, ŵ) columns.

    ``ŷ_t <= y_t``, ``ŷ_t <= b_t``, ``ŵ_t >= w_t - (1 - b_t)/2``, ``ŵ_t >= 0`` per cluster.
    """
    res.b = cp.Variable(hours.T, boolean=True, name="bid_on")
    res.y_hat = cp.Variable(hours.shape, name="y_hat")
    res.w_hat = cp.Variable(hours.shape, nonneg=True, name="w_hat")
    yh_cols = hours.columns(res.y_hat)
    wh_cols = hours.columns(res.w_hat)
    for yc, wc, yh, wh in zip(y_cols, w_cols, yh_cols, wh_cols, strict=True):
        res.constraints.extend([yh <= yc, yh <= res.b, wh >= wc - 0.5 * (1 - res.b)])
    return yh_cols, wh_cols


def _variable_y_bound(
    res: ChanceBound,
    y: cp.Expression,
    w: cp.Expression | None,
    hours: _Hours,
    *,
    disk: bool,
    k_dev: KDev,
    no_bid: bool,
    cap: bool,
    C: cp.Expression,
) -> None:
    """Add the variable-y form (module docstring) to ``res``: disk cone, switch, cap and the bound."""
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
        res.constraints.append(deviation_disk(y, w))
    y_cols = hours.columns(y)
    w_cols = hours.columns(w)
    if cap:
        res.constraints.append(C <= hours.capability(y_cols))
    if no_bid:
        y_cols, w_cols = _no_bid_copies(res, y_cols, w_cols, hours)
    rows = [hours.psi * np.sqrt(m) * wc for m, wc in zip(hours.sizes, w_cols, strict=True)]
    res.constraints.append(hours.cone(y_cols, rows))


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
    cap: bool = False,
) -> ChanceBound:
    """cvxpy constraints for bound (3) or (4) over T hours (models.md §1.4, (3)/(4); §1.5, S4/S5).

    One ``cp.SOC`` per hour, DPP-compliant in ``r_bar``/``sigma`` parameters. A constant y is held
    in parameters (:meth:`ChanceBound.set_y`); with ``no_bid=True`` a slack parameter relaxes the
    bound exactly to C_t = 0 in hours where even C = 0 violates it. A variable y needs its deviation
    variable ``w`` and is only as strong as the rest of the model forces ``w`` up to
    ``sqrt(y(1-y))``; with ``no_bid=True`` Boolean b_t switch the bound off (a MISOCP without a
    big-M constant). Both forms are described in the module docstring.

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
        k_dev: None/"variance" or "bernoulli" (constant y only), see
            :func:`v2gsim.optimize.chance.bounds.plugin_moments`.
        no_bid: add the explicit "no bid" switch described in the module docstring.
        cap: add the physical cap ``C_t <= ψ Σ_c M_c y_ct`` (module docstring).

    Returns:
        A :class:`ChanceBound` with the constraints and the created variables/parameters.

    Raises:
        ValueError: on inconsistent shapes, a variable y without ``w``, or a variable y with
            ``k_dev="bernoulli"``.
    """
    k = float(kappa(eta, bound))
    if not psi > 0:
        raise ValueError(f"psi must be > 0, got {psi}")
    Ma = np.asarray(M, dtype=float)
    if Ma.ndim > 1 or np.any(Ma <= 0.0):
        raise ValueError("M must be a positive scalar or a 1-D array of cluster sizes")
    if C.ndim > 1:
        raise ValueError(f"C must have shape () or (T,), got {C.shape}")
    T = 1 if C.ndim == 0 else int(C.shape[0])
    Cv = cp.reshape(C, (T,), order="F")
    n_c = None if Ma.ndim == 0 else int(Ma.size)
    is_const, y = _constant_y(y)
    y_shape = tuple(np.shape(y)) if not isinstance(y, cp.Expression) else tuple(y.shape)
    expected = int(np.prod((T,) if n_c is None else (T, n_c)))
    if int(np.prod(y_shape)) != expected:
        raise ValueError(f"y must have {expected} entries (hours x clusters), got shape {y_shape}")
    sizes = [float(Ma)] if n_c is None else [float(m) for m in Ma]
    sigC = cp.multiply(sigma, Cv)
    rC = cp.multiply(r_bar, Cv)
    hours = _Hours(T=T, n_c=n_c, sizes=sizes, psi=psi, k=k, rC=rC, sigC=sigC)
    res = ChanceBound(
        constraints=[Cv >= 0], kappa=k, _M=Ma, _psi=float(psi), _bound=bound, _k_dev=k_dev
    )
    if is_const:
        _constant_y_bound(res, y, y_shape, hours, no_bid, cap, Cv)
    else:
        _variable_y_bound(res, y, w, hours, disk=disk, k_dev=k_dev, no_bid=no_bid, cap=cap, C=Cv)
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

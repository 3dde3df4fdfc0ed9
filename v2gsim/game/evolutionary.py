"""Evolutionary game between EV users and the power-grid company on the discharge price (seed 001).

Lin, Feng & Lu (2020), *Revenue optimization strategy of V2G based on evolutionary game*,
restated in ``design/models.md`` §2. Two populations play a 2x2 game: a share ``x`` of EV users
cooperates (charges in the valley and discharges ``E_d`` kWh to the grid at price ``p_d``) and a
share ``y`` of the power-grid company (PG) cooperates (accepts the discharge). Payoffs are (4),
(5), (8), (9); the replicator dynamics are (7) and (11). Pure numpy/scipy (no Mesa).

Conventions:

* Money is in yuan, energy in kWh, prices and unit costs in yuan/kWh, time in the (dimensionless)
  time unit of the replicator dynamics. ``U_EV``, ``U_PG``, ``L_EV`` and ``L_PG`` are lump sums in
  yuan (the seed prints ``U`` as yuan/kWh but uses it as a lump sum, models.md §2.1).
* Equation numbers ``(n)`` refer to models.md §2.2. (6), (7), (10), (11), (14), (15), (18)-(20),
  (23), (24) are DERIVED there from the legible (4), (5), (8), (9), (16), (17).
* The replicator field is written in factored form::

      dx/dt = x (1 - x) (a y - L_EV),   a = E_d (p_d - L_B) + L_EV          (7)
      dy/dt = y (1 - y) (b x - c),      b = E_d (E_G - p_d - P_PG) + L_PG,
                                        c = E_c P_PG + L_PG                 (11)

  so that the edges of the unit square are exactly invariant.

Flag carried over from models.md: the stability of C(1, 1) on the EV side only needs ``p_d > L_B``;
the paper's price floor (18)/(20) is the participation (individual-rationality) condition (16)
against ``U_EV``, so :func:`price_range` is an IR range, not the ESS range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import DOP853, solve_ivp

__all__ = [
    "REGION_EQUILIBRIUM",
    "SEED_PRINTED",
    "GameParams",
    "as_params",
    "basin_of_cooperation",
    "classify_eigenvalues",
    "convergence_time",
    "convergence_time_grid",
    "curve1",
    "curve2",
    "equilibria",
    "ev_min_discharge",
    "ev_participates",
    "fig2_points",
    "jacobian",
    "line3",
    "mean_payoff_ev",
    "mean_payoff_pg",
    "payoff_ev_coop",
    "payoff_ev_noncoop",
    "payoff_pg_coop",
    "payoff_pg_noncoop",
    "pg_min_discharge",
    "pg_participates",
    "point_E",
    "point_F",
    "point_G",
    "price_bounds",
    "price_range",
    "region",
    "region_codes",
    "replicator_rhs",
    "replicator_step",
    "saddle_point",
    "separatrix",
    "tab3_gains",
    "trajectory",
    "xdot",
    "ydot",
]

#: Values printed in the seed (Fig. 2 points and Tab. 3), for comparison only, never as results.
#: The printed G does not lie on the seed's own curves (models.md §2.3).
SEED_PRINTED: dict[str, tuple[float, float]] = {
    "E": (1.1060, 20.0),
    "F": (1.4811, 20.0),
    "G": (1.4632, 13.1622),
    "tab3_evolutionary": (0.4878, 0.4906),
    "tab3_bayesian": (0.1211, 0.3825),
}

#: Fig. 2 region -> equilibrium of Fig. 1 it corresponds to (seed Tab. 2).
REGION_EQUILIBRIUM: dict[str, str] = {"a": "A", "b": "B", "c": "O", "d": "C"}

_REGION_LETTERS = ("a", "b", "c", "d")
_NONNEGATIVE = ("E_c", "E_d", "E_max", "p_c", "p_d", "L_B", "L_EV", "L_PG", "E_G", "P_PG")


@dataclass(frozen=True)
class GameParams:
    """Parameters of the EV/PG evolutionary game (models.md §2.1).

    Attributes:
        U_EV: EV users' normal income, lump sum (yuan). Seed: 0.5374.
        U_PG: PG normal income, lump sum (yuan). Seed: 0.4985.
        E_c: energy charged per EV in the valley period (kWh). Seed: 20.
        E_d: energy discharged to the grid when both cooperate (kWh).
        E_max: maximum discharge, 25 kWh x 0.8 depth (kWh); line 3 of Fig. 2. Seed: 20.
        p_c: charging (valley) price (yuan/kWh). Seed: 0.2856.
        p_d: discharge price paid by PG to EVs (yuan/kWh); the decision variable.
        L_B: battery loss per kWh charged or discharged (yuan/kWh). Seed: 0.41.
        L_EV: EV loss when it cooperates and PG does not, lump sum (yuan). Not given by the seed.
        L_PG: PG loss when it cooperates and EVs do not, lump sum (yuan). Not given by the seed.
        E_G: PG extra income per kWh discharged (yuan/kWh). Seed: 14900/(15*3.2*200).
        P_PG: PG infrastructure (charging-pile) cost per kWh (yuan/kWh). Seed: 0.0355.
    """

    U_EV: float
    U_PG: float
    E_c: float
    E_d: float
    E_max: float
    p_c: float
    p_d: float
    L_B: float
    L_EV: float
    L_PG: float
    E_G: float
    P_PG: float

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = float(getattr(self, f.name))
            if not math.isfinite(value):
                raise ValueError(f"GameParams.{f.name} must be finite, got {value!r}")
            if f.name in _NONNEGATIVE and value < 0:
                raise ValueError(f"GameParams.{f.name} must be >= 0, got {value!r}")
            object.__setattr__(self, f.name, value)
        if self.E_max <= 0:
            raise ValueError(f"GameParams.E_max must be > 0 kWh, got {self.E_max!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the twelve parameters, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any], base: GameParams | None = None) -> GameParams:
        """Build parameters from a mapping of field name -> value (units as in the class docstring).

        Args:
            m: mapping with keys among :meth:`field_names`.
            base: if given, fields missing from ``m`` are taken from it; otherwise every field
                is required.

        Raises:
            ValueError: naming the unknown keys, or the missing keys when ``base`` is None.
        """
        names = cls.field_names()
        unknown = sorted(set(m) - set(names))
        if unknown:
            raise ValueError(
                f"unknown game parameter(s): {', '.join(unknown)}; allowed: {', '.join(names)}"
            )
        if base is None:
            missing = [n for n in names if n not in m]
            if missing:
                raise ValueError(f"missing game parameter(s): {', '.join(missing)}")
            return cls(**{n: m[n] for n in names})
        return dataclasses.replace(base, **{n: m[n] for n in names if n in m})

    @classmethod
    def lin2020(cls, **overrides: float) -> GameParams:
        """The seed's case study (Lin, Feng & Lu 2020, §3.1; models.md §2.1 and §2.3).

        From the seed: U_EV = 0.5374, U_PG = 0.4985, E_c = E_max = 20 kWh (25 kWh x 0.8),
        p_c = 0.2856 yuan/kWh, L_B = 0.41 yuan/kWh, E_G = 14900/(15*3.2*200) yuan/kWh,
        P_PG = 0.0355 yuan/kWh. NOT given by the seed, illustrative only: E_d = 20 kWh (= E_max),
        p_d = 1.3 yuan/kWh (inside the price range), L_EV = L_PG = 1 yuan (the values used for the
        check in models.md §2.2).

        Args:
            **overrides: fields to replace.
        """
        base = cls(
            U_EV=0.5374,
            U_PG=0.4985,
            E_c=20.0,
            E_d=20.0,
            E_max=20.0,
            p_c=0.2856,
            p_d=1.3,
            L_B=0.41,
            L_EV=1.0,
            L_PG=1.0,
            E_G=14900.0 / (15.0 * 3.2 * 200.0),
            P_PG=0.0355,
        )
        return cls.from_mapping(overrides, base=base) if overrides else base

    def replace(self, **changes: float) -> GameParams:
        """Return a copy with some fields changed (validated like the constructor)."""
        return self.from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, float]:
        """Field name -> value (plain floats, JSON-serialisable)."""
        return {n: float(getattr(self, n)) for n in self.field_names()}

    # Coefficients of the factored replicator field (7), (11).
    @property
    def a(self) -> float:
        """Slope of S_EV1 - S_EV2 in y: E_d (p_d - L_B) + L_EV (yuan); from (7)."""
        return self.E_d * (self.p_d - self.L_B) + self.L_EV

    @property
    def b(self) -> float:
        """Slope of S_PG1 - S_PG2 in x: E_d (E_G - p_d - P_PG) + L_PG (yuan); from (11)."""
        return self.E_d * (self.E_G - self.p_d - self.P_PG) + self.L_PG

    @property
    def c(self) -> float:
        """PG loss when it cooperates alone: E_c P_PG + L_PG (yuan); from (11)."""
        return self.E_c * self.P_PG + self.L_PG


def as_params(params: GameParams | Mapping[str, Any]) -> GameParams:
    """Accept a :class:`GameParams` or a complete mapping of its fields."""
    if isinstance(params, GameParams):
        return params
    return GameParams.from_mapping(params)


# ----------------------------------------------------------------------------------------------
# Payoffs (4), (5), (8), (9) and averages (6), (10)
# ----------------------------------------------------------------------------------------------


def payoff_ev_coop(y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a cooperating EV user, eq. (4) (yuan).

    ``S_EV1 = y[U_EV + E_d p_d - E_c p_c - (E_d + E_c) L_B]
    + (1 - y)[U_EV - E_c p_c - E_c L_B - L_EV]``

    Args:
        y: share of the PG population cooperating, in [0, 1].
        params: game parameters.
    """
    p = params
    y = np.asarray(y, dtype=float)
    both = p.U_EV + p.E_d * p.p_d - p.E_c * p.p_c - (p.E_d + p.E_c) * p.L_B
    alone = p.U_EV - p.E_c * p.p_c - p.E_c * p.L_B - p.L_EV
    return y * both + (1.0 - y) * alone


def payoff_ev_noncoop(y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a non-cooperating EV user, eq. (5) (yuan): ``U_EV - E_c p_c - E_c L_B``.

    Args:
        y: share of PG cooperating (the payoff does not depend on it; kept for broadcasting).
        params: game parameters.
    """
    p = params
    y = np.asarray(y, dtype=float)
    return np.full_like(y, p.U_EV - p.E_c * p.p_c - p.E_c * p.L_B)


def payoff_pg_coop(x: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a cooperating PG, eq. (8) (yuan).

    ``S_PG1 = x[U_PG + E_d E_G - E_d p_d - (E_d + E_c) P_PG] + (1 - x)[U_PG - E_c P_PG - L_PG]``

    Args:
        x: share of EV users cooperating, in [0, 1].
        params: game parameters.
    """
    p = params
    x = np.asarray(x, dtype=float)
    both = p.U_PG + p.E_d * p.E_G - p.E_d * p.p_d - (p.E_d + p.E_c) * p.P_PG
    alone = p.U_PG - p.E_c * p.P_PG - p.L_PG
    return x * both + (1.0 - x) * alone


def payoff_pg_noncoop(x: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a non-cooperating PG, eq. (9) (yuan): ``S_PG2 = U_PG``.

    Args:
        x: share of EV users cooperating (no dependence; kept for broadcasting).
        params: game parameters.
    """
    x = np.asarray(x, dtype=float)
    return np.full_like(x, params.U_PG)


def mean_payoff_ev(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Average EV payoff, eq. (6) (yuan): ``x S_EV1 + (1 - x) S_EV2``."""
    x = np.asarray(x, dtype=float)
    return x * payoff_ev_coop(y, params) + (1.0 - x) * payoff_ev_noncoop(y, params)


def mean_payoff_pg(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Average PG payoff, eq. (10) (yuan): ``y S_PG1 + (1 - y) U_PG``."""
    y = np.asarray(y, dtype=float)
    return y * payoff_pg_coop(x, params) + (1.0 - y) * payoff_pg_noncoop(x, params)


# ----------------------------------------------------------------------------------------------
# Replicator dynamics (7), (11)
# ----------------------------------------------------------------------------------------------


def xdot(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """EV replicator dynamics, eq. (7) (1/time).

    ``x (1 - x) [y (E_d p_d - E_d L_B + L_EV) - L_EV]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return x * (1.0 - x) * (params.a * y - params.L_EV)


def ydot(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """PG replicator dynamics, eq. (11) (1/time).

    ``y (1 - y) [x E_d E_G - x E_d p_d - x E_d P_PG - E_c P_PG - L_PG + x L_PG]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return y * (1.0 - y) * (params.b * x - params.c)


def replicator_rhs(
    t: float, z: ArrayLike, params: GameParams | Mapping[str, Any]
) -> NDArray[np.float64]:
    """Vector field of the replicator dynamics (7), (11), in the ``solve_ivp`` signature.

    Args:
        t: time (unused; the system is autonomous).
        z: state ``[x, y]`` (shares of cooperating EVs and PG); shape (2,) or (2, k).
        params: game parameters (or a mapping of them).

    Returns:
        ``[dx/dt, dy/dt]`` with the shape of ``z``.
    """
    p = as_params(params)
    z = np.asarray(z, dtype=float)
    return np.stack([xdot(z[0], z[1], p), ydot(z[0], z[1], p)])


def _fast_rhs(_t: float, z: NDArray[np.float64], a: float, lev: float, b: float, c: float) -> Any:
    """Scalar (7), (11) in factored form, for the integrators (no array conversions)."""
    x, y = z[0], z[1]
    return np.array([x * (1.0 - x) * (a * y - lev), y * (1.0 - y) * (b * x - c)])


def _fast_jac(_t: float, z: NDArray[np.float64], a: float, lev: float, b: float, c: float) -> Any:
    """Analytic Jacobian of :func:`_fast_rhs` (for the stiff-capable LSODA integrator)."""
    x, y = z[0], z[1]
    return np.array(
        [
            [(1.0 - 2.0 * x) * (a * y - lev), x * (1.0 - x) * a],
            [y * (1.0 - y) * b, (1.0 - 2.0 * y) * (b * x - c)],
        ]
    )


def _fast_args(p: GameParams) -> tuple[float, float, float, float]:
    return (p.a, p.L_EV, p.b, p.c)


def trajectory(
    params: GameParams | Mapping[str, Any], x0: float, y0: float, t: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Integrate the replicator dynamics (7), (11) and sample them at the times ``t``.

    Uses ``scipy.integrate.solve_ivp`` (LSODA with the analytic Jacobian, so long horizons near
    the stiff corner C stay cheap; rtol 1e-10, atol 1e-12) with dense output.

    Args:
        params: game parameters (or a mapping of them).
        x0: share of cooperating EV users at time ``t[0]``, in [0, 1].
        y0: share of PG cooperation at time ``t[0]``, in [0, 1].
        t: non-decreasing 1-D array of times (replicator time units).

    Returns:
        ``(x, y)``, arrays shaped like ``t``, clipped to [0, 1].
    """
    p = as_params(params)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError("t must be a non-empty 1-D array of times")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    _check_share(x0, "x0")
    _check_share(y0, "y0")
    if t[-1] == t[0]:
        return np.full(t.shape, float(x0)), np.full(t.shape, float(y0))
    sol = solve_ivp(
        _fast_rhs,
        (t[0], t[-1]),
        [float(x0), float(y0)],
        method="LSODA",
        jac=_fast_jac,
        dense_output=True,
        rtol=1e-10,
        atol=1e-12,
        args=_fast_args(p),
    )
    if not sol.success:  # pragma: no cover - smooth bounded field
        raise RuntimeError(f"replicator integration failed: {sol.message}")
    z = np.clip(sol.sol(t), 0.0, 1.0)
    return z[0], z[1]


def replicator_step(
    x: ArrayLike, y: ArrayLike, params: GameParams | Mapping[str, Any], dt: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One explicit-Euler step of (7), (11), clipped to [0, 1] (for the agent-based grid company).

    Args:
        x: current share(s) of cooperating EV users.
        y: current share(s) of PG cooperation.
        params: game parameters (or a mapping of them).
        dt: step length (replicator time units, >= 0).

    Returns:
        ``(x + dt * dx/dt, y + dt * dy/dt)`` clipped to [0, 1].
    """
    if dt < 0:
        raise ValueError(f"dt must be >= 0, got {dt!r}")
    p = as_params(params)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xn = np.clip(x + dt * xdot(x, y, p), 0.0, 1.0)
    yn = np.clip(y + dt * ydot(x, y, p), 0.0, 1.0)
    return xn, yn


def _check_share(v: float, name: str) -> None:
    if not (0.0 <= float(v) <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {v!r}")


# ----------------------------------------------------------------------------------------------
# Equilibria (14), (15) and stability
# ----------------------------------------------------------------------------------------------


def jacobian(x: float, y: float, params: GameParams) -> NDArray[np.float64]:
    """Analytic Jacobian of the replicator field (7), (11) at ``(x, y)`` (1/time).

    ``[[(1-2x)(a y - L_EV), x(1-x) a], [y(1-y) b, (1-2y)(b x - c)]]`` with a, b, c as in the module
    docstring.
    """
    p = params
    return np.array(
        [
            [(1.0 - 2.0 * x) * (p.a * y - p.L_EV), x * (1.0 - x) * p.a],
            [y * (1.0 - y) * p.b, (1.0 - 2.0 * y) * (p.b * x - p.c)],
        ]
    )


def classify_eigenvalues(eigenvalues: ArrayLike, tol: float = 1e-12) -> str:
    """Label a hyperbolic equilibrium from its Jacobian eigenvalues.

    Args:
        eigenvalues: the two eigenvalues (real or complex).
        tol: real parts with ``|Re| <= tol`` count as zero.

    Returns:
        ``"stable"`` (all Re < 0), ``"unstable"`` (all Re > 0), ``"saddle"`` (signs differ) or
        ``"non-hyperbolic"`` (a real part within ``tol`` of zero).
    """
    re = np.real(np.asarray(eigenvalues))
    if np.any(np.abs(re) <= tol):
        return "non-hyperbolic"
    if np.all(re < 0):
        return "stable"
    if np.all(re > 0):
        return "unstable"
    return "saddle"


def saddle_point(params: GameParams) -> tuple[float, float] | None:
    """Interior equilibrium D = (x_D, y_D), eqs. (14), (15), or None if not strictly inside (0,1)^2.

    ``x_D = (E_c P_PG + L_PG) / (E_d (E_G - p_d - P_PG) + L_PG)``,
    ``y_D = L_EV / (E_d (p_d - L_B) + L_EV)``.
    """
    p = params
    if p.a == 0 or p.b == 0:
        return None
    x_d = p.c / p.b
    y_d = p.L_EV / p.a
    if 0.0 < x_d < 1.0 and 0.0 < y_d < 1.0:
        return float(x_d), float(y_d)
    return None


def _eig(j: NDArray[np.float64]) -> NDArray[Any]:
    if j[0, 1] == 0.0 and j[1, 0] == 0.0:
        return np.array([j[0, 0], j[1, 1]])
    ev = np.linalg.eigvals(j)
    ev = ev[np.argsort(-ev.real, kind="stable")]
    if np.all(ev.imag == 0):
        return ev.real
    return ev


def equilibria(params: GameParams | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The equilibria O(0,0), A(1,0), B(0,1), C(1,1) and D(x_D, y_D) with their stability.

    D, from (14), (15), is included only when strictly inside the unit square. The Jacobian is the
    analytic one of :func:`jacobian`; at the corners it is diagonal and its eigenvalues are listed
    in (x, y) order, at D in decreasing real part.

    Args:
        params: game parameters (or a mapping of them).

    Returns:
        List of dicts ``{name, x, y, eigenvalues, label}``; ``eigenvalues`` is a list of floats
        (complex numbers only if the Jacobian has complex eigenvalues), ``label`` as in
        :func:`classify_eigenvalues`.
    """
    p = as_params(params)
    points: list[tuple[str, float, float]] = [
        ("O", 0.0, 0.0),
        ("A", 1.0, 0.0),
        ("B", 0.0, 1.0),
        ("C", 1.0, 1.0),
    ]
    d = saddle_point(p)
    if d is not None:
        points.append(("D", d[0], d[1]))
    out = []
    for name, x, y in points:
        j = jacobian(x, y, p)
        ev = _eig(j)
        scale = max(1.0, float(np.max(np.abs(j))))
        out.append(
            {
                "name": name,
                "x": float(x),
                "y": float(y),
                "eigenvalues": [complex(v) if np.iscomplexobj(ev) else float(v) for v in ev],
                "label": classify_eigenvalues(ev, tol=1e-12 * scale),
            }
        )
    return out


def _stable_corners(p: GameParams) -> list[tuple[float, float]]:
    return [(e["x"], e["y"]) for e in equilibria(p) if e["name"] != "D" and e["label"] == "stable"]


# ----------------------------------------------------------------------------------------------
# Participation conditions (16)-(20), curves (23), (24), points E, F, G, regions, Tab. 3
# ----------------------------------------------------------------------------------------------


def ev_participates(p_d: ArrayLike, E_d: ArrayLike, params: GameParams) -> NDArray[np.bool_]:
    """Condition (16): ``U_EV + E_d p_d - E_c p_c - (E_c + E_d) L_B > U_EV`` (EV profits).

    Args:
        p_d: discharge price(s) (yuan/kWh).
        E_d: discharged energy (kWh).
        params: game parameters (only E_c, p_c, L_B are used).
    """
    p = params
    p_d = np.asarray(p_d, dtype=float)
    E_d = np.asarray(E_d, dtype=float)
    return E_d * p_d - p.E_c * p.p_c - (p.E_c + E_d) * p.L_B > 0


def pg_participates(p_d: ArrayLike, E_d: ArrayLike, params: GameParams) -> NDArray[np.bool_]:
    """Condition (17): ``U_PG + E_d E_G - E_d p_d - (E_c + E_d) P_PG > U_PG`` (PG profits).

    Args:
        p_d: discharge price(s) (yuan/kWh).
        E_d: discharged energy (kWh).
        params: game parameters (only E_c, E_G, P_PG are used).
    """
    p = params
    p_d = np.asarray(p_d, dtype=float)
    E_d = np.asarray(E_d, dtype=float)
    return E_d * p.E_G - E_d * p_d - (p.E_c + E_d) * p.P_PG > 0


def ev_min_discharge(p_d: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Condition (18) / curve 1, eq. (23): ``E_d^EV = E_c (p_c + L_B) / (p_d - L_B)`` (kWh).

    The EV profits (16) iff ``E_d > E_d^EV``. Returns +inf where ``p_d <= L_B`` (no discharge
    amount suffices).
    """
    p = params
    p_d = np.asarray(p_d, dtype=float)
    margin = p_d - p.L_B
    with np.errstate(divide="ignore", invalid="ignore"):
        out = p.E_c * (p.p_c + p.L_B) / margin
    return np.where(margin > 0, out, np.inf)


def pg_min_discharge(p_d: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Condition (19) / curve 2, eq. (24): ``E_d^PG = E_c P_PG / (E_G - P_PG - p_d)`` (kWh).

    The PG profits (17) iff ``E_d > E_d^PG``. Returns +inf where ``p_d >= E_G - P_PG``.
    """
    p = params
    p_d = np.asarray(p_d, dtype=float)
    margin = p.E_G - p.P_PG - p_d
    with np.errstate(divide="ignore", invalid="ignore"):
        out = p.E_c * p.P_PG / margin
    return np.where(margin > 0, out, np.inf)


#: Curve 1 of Fig. 2, eq. (23) (alias of :func:`ev_min_discharge`).
curve1 = ev_min_discharge
#: Curve 2 of Fig. 2, eq. (24) (alias of :func:`pg_min_discharge`).
curve2 = pg_min_discharge


def line3(params: GameParams) -> float:
    """Line 3 of Fig. 2: the maximum discharge ``E_d = E_max`` (kWh)."""
    return params.E_max


def price_bounds(E_d: ArrayLike, params: GameParams) -> tuple[NDArray[np.float64], ...]:
    """Condition (20): ``L_B + E_c (p_c + L_B)/E_d < p_d < E_G - P_PG - E_c P_PG / E_d`` (yuan/kWh).

    Args:
        E_d: discharged energy (kWh, > 0).
        params: game parameters.

    Returns:
        ``(low, high)``: EV unit cost and PG unit revenue; the range is empty when low >= high.
    """
    p = params
    E_d = np.asarray(E_d, dtype=float)
    low = p.L_B + p.E_c * (p.p_c + p.L_B) / E_d
    high = p.E_G - p.P_PG - p.E_c * p.P_PG / E_d
    return low, high


def price_range(params: GameParams | Mapping[str, Any]) -> tuple[float, float]:
    """The seed's "reasonable discharge price" range: (20) at ``E_d = E_max`` (yuan/kWh).

    Equals ``(p_E, p_F)``, the prices of points E and F. This is an individual-rationality range
    (models.md flag); empty if ``low >= high``.
    """
    p = as_params(params)
    low, high = price_bounds(p.E_max, p)
    return float(low), float(high)


def point_E(params: GameParams) -> tuple[float, float]:
    """E = curve 1 ∩ line 3: ``(L_B + E_c (p_c + L_B)/E_max, E_max)`` (yuan/kWh, kWh)."""
    p = params
    return float(p.L_B + p.E_c * (p.p_c + p.L_B) / p.E_max), p.E_max


def point_F(params: GameParams) -> tuple[float, float]:
    """F = curve 2 ∩ line 3: ``(E_G - P_PG - E_c P_PG / E_max, E_max)`` (yuan/kWh, kWh)."""
    p = params
    return float(p.E_G - p.P_PG - p.E_c * p.P_PG / p.E_max), p.E_max


def point_G(params: GameParams) -> tuple[float, float]:
    """G = curve 1 ∩ curve 2 (yuan/kWh, kWh); NaNs if the curves do not cross.

    ``E_d^G = E_c (p_c + L_B + P_PG) / (E_G - P_PG - L_B)``, ``p^G = L_B + E_c (p_c + L_B)/E_d^G``.
    """
    p = params
    denom = p.E_G - p.P_PG - p.L_B
    num = p.E_c * (p.p_c + p.L_B + p.P_PG)
    if denom <= 0 or num <= 0:
        return math.nan, math.nan
    e_g = num / denom
    return float(p.L_B + p.E_c * (p.p_c + p.L_B) / e_g), float(e_g)


def fig2_points(params: GameParams | Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Points E, F, G of Fig. 2 as ``{name: (p_d, E_d)}`` (yuan/kWh, kWh)."""
    p = as_params(params)
    return {"E": point_E(p), "F": point_F(p), "G": point_G(p)}


def tab3_gains(
    params: GameParams | Mapping[str, Any], p_d: float | None = None, E_d: float | None = None
) -> dict[str, float]:
    """Tab. 3 "gains": ``S_EV1`` (4) and ``S_PG1`` (8) at ``x = y = 1`` (yuan, lump-sum U).

    Args:
        params: game parameters.
        p_d: discharge price (yuan/kWh); default ``params.p_d``.
        E_d: discharged energy (kWh); default ``params.E_d``.

    Returns:
        ``{"EV": S_EV1, "PG": S_PG1, "difference": S_PG1 - S_EV1}`` (the sign convention of the
        seed's 0.0028 and 0.2614).
    """
    p = as_params(params)
    changes = {}
    if p_d is not None:
        changes["p_d"] = p_d
    if E_d is not None:
        changes["E_d"] = E_d
    if changes:
        p = p.replace(**changes)
    ev = float(payoff_ev_coop(1.0, p))
    pg = float(payoff_pg_coop(1.0, p))
    return {"EV": ev, "PG": pg, "difference": pg - ev}


def region_codes(p_d: ArrayLike, E_d: ArrayLike, params: GameParams) -> NDArray[np.int64]:
    """Vectorised Fig. 2 regions: 0..3 for a..d, -1 above line 3 (``E_d > E_max``).

    a: EV profits (16) only; b: PG profits (17) only; c: neither; d: both.
    """
    p_d = np.asarray(p_d, dtype=float)
    E_d = np.asarray(E_d, dtype=float)
    ev = ev_participates(p_d, E_d, params)
    pg = pg_participates(p_d, E_d, params)
    code = np.where(ev & ~pg, 0, np.where(~ev & pg, 1, np.where(ev & pg, 3, 2)))
    return np.where(E_d > params.E_max, -1, code).astype(np.int64)


def region(p_d: float, E_d: float, params: GameParams | Mapping[str, Any]) -> str | None:
    """Region of Fig. 2 / Tab. 2 containing ``(p_d, E_d)`` (yuan/kWh, kWh).

    Returns:
        ``"a"`` (EV yes, PG no -> A(1,0)), ``"b"`` (EV no, PG yes -> B(0,1)), ``"c"`` (neither ->
        O(0,0)), ``"d"`` (both -> C(1,1): above both curves and not above line 3), or None when
        ``E_d > E_max`` (beyond line 3). Boundaries (strict inequalities (16), (17)) count as "no".
        Map to the equilibrium with :data:`REGION_EQUILIBRIUM`.
    """
    p = as_params(params)
    code = int(region_codes(p_d, E_d, p))
    return None if code < 0 else _REGION_LETTERS[code]


# ----------------------------------------------------------------------------------------------
# Batch integration: basins, separatrix, convergence times
# ----------------------------------------------------------------------------------------------


def _batch_first_hit(
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    coef: dict[str, NDArray[np.float64]],
    margin: Callable[
        [NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]], NDArray[np.float64]
    ],
    t_max: float,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    n_sub: int = 64,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Integrate many replicator systems at once until ``margin <= 0`` for each (first hit).

    ``coef`` holds per-system arrays ``a, lev, b, c`` of the factored field (7), (11).
    ``margin(x, y, idx)`` evaluates the stopping margin of systems ``idx`` at states ``(x, y)``.
    Returns the hit time (inf if not reached by ``t_max``) and the state at that time (or at
    ``t_max``). Hit times are located inside each step from DOP853's dense output by sampling and
    linear interpolation of the margin. Finished systems are dropped by restarting the solver.
    """
    n = x0.size
    t_hit = np.full(n, np.inf)
    x_end = x0.astype(float).copy()
    y_end = y0.astype(float).copy()
    all_idx = np.arange(n)
    m0 = margin(x_end, y_end, all_idx)
    t_hit[m0 <= 0] = 0.0
    active = all_idx[m0 > 0]
    t0 = 0.0
    first_step = None
    while active.size and t0 < t_max:
        a, lev, b, c = (coef[k][active] for k in ("a", "lev", "b", "c"))
        k = active.size

        def rhs(_t: float, z: NDArray[np.float64], a=a, lev=lev, b=b, c=c, k=k) -> Any:
            x, y = z[:k], z[k:]
            return np.concatenate([x * (1 - x) * (a * y - lev), y * (1 - y) * (b * x - c)])

        z0 = np.concatenate([x_end[active], y_end[active]])
        solver = DOP853(rhs, t0, z0, t_max, rtol=rtol, atol=atol, first_step=first_step)
        alive = np.ones(k, dtype=bool)
        while solver.status == "running":
            solver.step()
            z = solver.y
            x_end[active[alive]] = z[:k][alive]
            y_end[active[alive]] = z[k:][alive]
            m = margin(z[:k], z[k:], active)
            new = alive & (m <= 0)
            if new.any():
                dense = solver.dense_output()
                ts = np.linspace(solver.t_old, solver.t, n_sub + 1)
                zz = dense(ts)  # (2k, n_sub + 1)
                sel = np.flatnonzero(new)
                xs, ys = zz[:k][sel], zz[k:][sel]
                ms = margin(xs.ravel(), ys.ravel(), np.repeat(active[sel], n_sub + 1)).reshape(
                    xs.shape
                )
                ms[:, -1] = np.minimum(ms[:, -1], 0.0)
                j = np.argmax(ms <= 0, axis=1)
                j = np.maximum(j, 1)
                rows = np.arange(sel.size)
                m_lo, m_hi = ms[rows, j - 1], ms[rows, j]
                frac = np.where(m_lo > m_hi, m_lo / np.where(m_lo > m_hi, m_lo - m_hi, 1), 1.0)
                frac = np.clip(frac, 0.0, 1.0)
                t_hit[active[sel]] = ts[j - 1] + frac * (ts[j] - ts[j - 1])
                x_end[active[sel]] = xs[rows, j]
                y_end[active[sel]] = ys[rows, j]
                alive[sel] = False
            if not alive.any():
                break
            if alive.sum() < 0.5 * k and k > 32:
                break  # restart with the survivors only
        if solver.status == "failed":  # pragma: no cover
            raise RuntimeError("replicator batch integration failed")
        t0 = solver.t
        first_step = min(solver.step_size, t_max - t0) if solver.step_size else None
        first_step = first_step if first_step and first_step > 0 else None
        active = active[alive]
        if solver.status == "finished":
            break
    return t_hit, x_end, y_end


def _coef_arrays(ps: list[GameParams], index: NDArray[np.intp]) -> dict[str, NDArray[np.float64]]:
    """Per-system coefficients ``a, lev, b, c`` of (7), (11): ``ps[index[i]]`` for system ``i``."""
    table = np.array([[q.a, q.L_EV, q.b, q.c] for q in ps])[index]
    return {"a": table[:, 0], "lev": table[:, 1], "b": table[:, 2], "c": table[:, 3]}


def separatrix(
    params: GameParams | Mapping[str, Any], corner_tol: float = 1e-7
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Stable manifold of the saddle D: the boundary between the basins of O and C.

    Integrates (7), (11) backwards in time from D along the stable eigenvector of the Jacobian, in
    both directions, until within ``corner_tol`` of the sources A(1,0) and B(0,1) (the edges are
    invariant, so the manifold runs A -> D -> B, as the seed's regions ADBO / ADBC describe).

    Returns:
        ``(x, y)`` arrays ordered from A through D to B (endpoints A and B included), or None when
        D is not inside the unit square.
    """
    p = as_params(params)
    d = saddle_point(p)
    if d is None:
        return None
    j = jacobian(d[0], d[1], p)
    w, v = np.linalg.eig(j)
    if np.iscomplexobj(w) and np.any(w.imag != 0):  # pragma: no cover - not a saddle
        return None
    k = int(np.argmin(w.real))
    vec = np.real(v[:, k])
    vec = vec / np.linalg.norm(vec)
    if vec[0] < 0:
        vec = -vec  # now points towards larger x (and smaller y): the A branch
    t_end = -200.0 / max(float(np.min(np.abs(w.real))), 1e-3) - 50.0
    branches = []
    for sign, corner in ((1.0, (1.0, 0.0)), (-1.0, (0.0, 1.0))):
        start = np.array(d) + sign * 1e-7 * vec

        def near(_t: float, z: NDArray[np.float64], *_args: float, corner=corner) -> float:
            return max(abs(z[0] - corner[0]), abs(z[1] - corner[1])) - corner_tol

        near.terminal = True  # type: ignore[attr-defined]
        sol = solve_ivp(
            _fast_rhs,
            (0.0, t_end),
            start,
            method="LSODA",
            jac=_fast_jac,
            args=_fast_args(p),
            rtol=1e-10,
            atol=1e-13,
            events=near,
        )
        branch = np.clip(sol.y, 0.0, 1.0)
        branches.append(np.column_stack([branch, np.array(corner)]))
    a_branch, b_branch = branches
    xs = np.concatenate([a_branch[0, ::-1], [d[0]], b_branch[0]])
    ys = np.concatenate([a_branch[1, ::-1], [d[1]], b_branch[1]])
    return xs, ys


def basin_of_cooperation(
    params: GameParams | Mapping[str, Any],
    n: int = 101,
    method: str = "grid",
    t_max: float = 2000.0,
) -> float:
    """Fraction of the unit square of initial shares ``(x0, y0)`` that converges to C(1, 1).

    Args:
        params: game parameters.
        n: grid resolution for ``method="grid"``: the midpoints of an ``n x n`` partition of the
            unit square are integrated under (7), (11).
        method: ``"grid"`` (integrate every grid point; a point is decided as soon as it enters the
            forward-invariant quadrant ``x > x_D, y > y_D`` (-> C) or ``x < x_D, y < y_D`` (-> O),
            or, without interior saddle, comes within 1e-6 of a stable corner; points undecided at
            ``t_max`` lie on the separatrix and count 1/2) or ``"separatrix"`` (area of the region
            A-D-B-C bounded by :func:`separatrix`, by the shoelace formula; error ~1e-7).
        t_max: integration horizon for ``"grid"`` (replicator time units).

    Returns:
        The basin fraction in [0, 1].
    """
    p = as_params(params)
    d = saddle_point(p)
    if method == "separatrix":
        if d is None:
            return basin_of_cooperation(p, n=n, method="grid", t_max=t_max)
        sx, sy = separatrix(p)  # type: ignore[misc]
        px = np.concatenate([sx, [1.0]])
        py = np.concatenate([sy, [1.0]])
        area = 0.5 * abs(np.dot(px, np.roll(py, -1)) - np.dot(py, np.roll(px, -1)))
        return float(area)
    if method != "grid":
        raise ValueError(f"method must be 'grid' or 'separatrix', got {method!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    g = (np.arange(n) + 0.5) / n
    X0, Y0 = np.meshgrid(g, g, indexing="ij")
    x0, y0 = X0.ravel(), Y0.ravel()
    coef = _coef_arrays([p], np.zeros(x0.size, dtype=np.intp))
    if d is not None:
        xd, yd = d

        def margin(x: Any, y: Any, _idx: Any) -> Any:
            ne = np.minimum(x - xd, y - yd)
            sw = np.minimum(xd - x, yd - y)
            return -np.maximum(ne, sw)

        t_hit, xe, ye = _batch_first_hit(x0, y0, coef, margin, t_max)
        to_c = np.where(np.isfinite(t_hit), (xe > xd).astype(float), 0.5)
        return float(np.mean(to_c))
    corners = _stable_corners(p)
    if not corners:
        return 0.0
    cx = np.array([c[0] for c in corners])
    cy = np.array([c[1] for c in corners])

    def margin_c(x: Any, y: Any, _idx: Any) -> Any:
        dist = np.maximum(np.abs(x[:, None] - cx), np.abs(y[:, None] - cy)).min(axis=1)
        return dist - 1e-6

    t_hit, xe, ye = _batch_first_hit(x0, y0, coef, margin_c, t_max)
    to_c = np.isfinite(t_hit) & (xe > 0.5) & (ye > 0.5)
    return float(np.mean(to_c))


def convergence_time(
    params: GameParams | Mapping[str, Any],
    x0: float,
    y0: float,
    tol: float = 1e-3,
    t_max: float = 1e4,
) -> float:
    """Time for the replicator dynamics (7), (11) to come within ``tol`` of a stable equilibrium.

    Distance is the max-norm to the nearest stable corner (O or C with the seed's signs). Uses
    ``solve_ivp`` (LSODA, analytic Jacobian) with terminal events, so the time is accurate to
    the event root-finder.

    Args:
        params: game parameters.
        x0: initial share of cooperating EV users, in [0, 1].
        y0: initial share of PG cooperation, in [0, 1].
        tol: convergence tolerance on the shares.
        t_max: horizon (replicator time units).

    Returns:
        The first time at which the state is within ``tol`` of a stable equilibrium; 0 if it starts
        there; ``inf`` if not reached by ``t_max`` (e.g. starting on the separatrix).
    """
    p = as_params(params)
    _check_share(x0, "x0")
    _check_share(y0, "y0")
    corners = _stable_corners(p)
    if not corners:
        return math.inf
    if min(max(abs(x0 - cx), abs(y0 - cy)) for cx, cy in corners) <= tol:
        return 0.0
    events = []
    for cx, cy in corners:

        def ev(
            _t: float, z: NDArray[np.float64], *_args: float, cx: float = cx, cy: float = cy
        ) -> float:
            return max(abs(z[0] - cx), abs(z[1] - cy)) - tol

        ev.terminal = True  # type: ignore[attr-defined]
        ev.direction = -1  # type: ignore[attr-defined]
        events.append(ev)
    sol = solve_ivp(
        _fast_rhs,
        (0.0, t_max),
        [float(x0), float(y0)],
        method="LSODA",
        jac=_fast_jac,
        args=_fast_args(p),
        rtol=1e-10,
        atol=1e-12,
        events=events,
    )
    hits = [te[0] for te in sol.t_events if te.size]
    return float(min(hits)) if hits else math.inf


def convergence_time_grid(
    params: GameParams | Mapping[str, Any],
    p_d: ArrayLike,
    x0: ArrayLike,
    y0: ArrayLike,
    tol: float = 1e-3,
    t_max: float = 1e3,
    return_limit: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Vectorised :func:`convergence_time` over broadcast arrays of ``(p_d, x0, y0)``.

    All systems are integrated together (DOP853 on the stacked field (7), (11)); the hit time is
    located inside the step by sampling the dense output at 1/64 of the step and interpolating
    linearly (relative accuracy ~1e-5; :func:`convergence_time` is exact to the root-finder).

    Args:
        params: game parameters (``p_d`` is overridden per point).
        p_d: discharge prices (yuan/kWh).
        x0: initial EV cooperation shares in [0, 1].
        y0: initial PG cooperation shares in [0, 1].
        tol: max-norm tolerance to the nearest stable corner.
        t_max: horizon (replicator time units).
        return_limit: also return the name of the equilibrium reached (``"O"``, ``"A"``, ``"B"``,
            ``"C"``, or ``""`` where not reached).

    Returns:
        Convergence times, shape ``broadcast(p_d, x0, y0)``, inf where not reached; with
        ``return_limit`` a tuple ``(times, limits)``.
    """
    p = as_params(params)
    P, X, Y = np.broadcast_arrays(
        np.asarray(p_d, dtype=float), np.asarray(x0, dtype=float), np.asarray(y0, dtype=float)
    )
    shape = P.shape
    if np.any((X < 0) | (X > 1) | (Y < 0) | (Y > 1)):
        raise ValueError("x0 and y0 must be in [0, 1]")
    prices, inv = np.unique(P.ravel(), return_inverse=True)
    ps = [p.replace(p_d=float(q)) for q in prices]
    coef = _coef_arrays(ps, inv.ravel())
    corners = np.array([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
    stable = np.zeros((prices.size, 4), dtype=bool)
    for i, q in enumerate(ps):
        sc = _stable_corners(q)
        stable[i] = [tuple(c) in sc for c in corners]
    stable_pt = stable[inv]

    def margin(x: Any, y: Any, idx: Any) -> Any:
        dist = np.maximum(np.abs(x[:, None] - corners[:, 0]), np.abs(y[:, None] - corners[:, 1]))
        dist = np.where(stable_pt[idx], dist, np.inf).min(axis=1)
        return dist - tol

    t_hit, xe, ye = _batch_first_hit(X.ravel(), Y.ravel(), coef, margin, t_max)
    if not return_limit:
        return t_hit.reshape(shape)
    idx = np.arange(t_hit.size)
    dist = np.maximum(np.abs(xe[:, None] - corners[:, 0]), np.abs(ye[:, None] - corners[:, 1]))
    dist = np.where(stable_pt[idx], dist, np.inf)
    names = np.array(["O", "A", "B", "C"])[np.argmin(dist, axis=1)]
    names = np.where(np.isfinite(t_hit), names, "")
    return t_hit.reshape(shape), names.reshape(shape)

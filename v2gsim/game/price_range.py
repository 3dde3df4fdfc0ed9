"""Participation conditions and the price range of the EV/PG game (seed 001): (16)-(24), Fig. 2, Tab. 3.

The individual-rationality conditions (16), (17), their break-even curves (18), (19) = curves 1
and 2 of Fig. 2 ((23), (24)), line 3 (``E_d = E_max``), the price range (20), the points E, F, G
of Fig. 2, the regions a-d of Tab. 2 and the "gains" of Tab. 3. Prices in yuan/kWh, energies in
kWh, money in yuan. Equation numbers refer to ``docs/models.md`` §2.2 ((18)-(20), (23), (24)
are DERIVED there). Pure numpy.

Flag carried over from models.md: the price floor (18)/(20) is the participation condition (16)
against ``U_EV``, so :func:`price_range` is an individual-rationality range, not the ESS range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams, as_params
from v2gsim.game.payoffs import payoff_ev_coop, payoff_pg_coop

__all__ = [
    "REGION_EQUILIBRIUM",
    "SEED_PRINTED",
    "curve1",
    "curve2",
    "ev_min_discharge",
    "ev_participates",
    "ev_unit_cost",
    "fig2_points",
    "line3",
    "pg_min_discharge",
    "pg_participates",
    "pg_unit_revenue",
    "point_E",
    "point_F",
    "point_G",
    "price_bounds",
    "price_range",
    "region",
    "region_codes",
    "tab3_gains",
]

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
        out = p.ev_charge_cost / margin
    return np.where(margin > 0, out, np.inf)


def pg_min_discharge(p_d: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Condition (19) / curve 2, eq. (24): ``E_d^PG = E_c P_PG / (E_G - P_PG - p_d)`` (kWh).

    The PG profits (17) iff ``E_d > E_d^PG``. Returns +inf where ``p_d >= E_G - P_PG``.
    """
    p = params
    p_d = np.asarray(p_d, dtype=float)
    margin = p.E_G - p.P_PG - p_d
    with np.errstate(divide="ignore", invalid="ignore"):
        out = p.pg_charge_cost / margin
    return np.where(margin > 0, out, np.inf)


#: Curve 1 of Fig. 2, eq. (23) (alias of :func:`ev_min_discharge`).
curve1 = ev_min_discharge
#: Curve 2 of Fig. 2, eq. (24) (alias of :func:`pg_min_discharge`).
curve2 = pg_min_discharge


def line3(params: GameParams) -> float:
    """Line 3 of Fig. 2: the maximum discharge ``E_d = E_max`` (kWh)."""
    return params.E_max


def ev_unit_cost(E_d: float | NDArray[np.float64], params: GameParams) -> float | NDArray[np.float64]:
    """EV's unit cost, the left side of (20): ``L_B + E_c (p_c + L_B) / E_d`` (yuan/kWh).

    The lowest price at which discharging ``E_d`` kWh satisfies (16); curve 1 (23) inverted.

    Args:
        E_d: discharged energy (kWh, > 0), scalar or array.
        params: game parameters.
    """
    p = params
    return p.L_B + p.ev_charge_cost / E_d


def pg_unit_revenue(
    E_d: float | NDArray[np.float64], params: GameParams
) -> float | NDArray[np.float64]:
    """PG's unit revenue, the right side of (20): ``E_G - P_PG - E_c P_PG / E_d`` (yuan/kWh).

    The highest price at which accepting ``E_d`` kWh satisfies (17); curve 2 (24) inverted.

    Args:
        E_d: discharged energy (kWh, > 0), scalar or array.
        params: game parameters.
    """
    p = params
    return p.E_G - p.P_PG - p.pg_charge_cost / E_d


def price_bounds(E_d: ArrayLike, params: GameParams) -> tuple[NDArray[np.float64], ...]:
    """Condition (20): ``L_B + E_c (p_c + L_B)/E_d < p_d < E_G - P_PG - E_c P_PG / E_d`` (yuan/kWh).

    Args:
        E_d: discharged energy (kWh, > 0).
        params: game parameters.

    Returns:
        ``(low, high)``: EV unit cost and PG unit revenue; the range is empty when low >= high.
    """
    E_d = np.asarray(E_d, dtype=float)
    return ev_unit_cost(E_d, params), pg_unit_revenue(E_d, params)


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
    return float(ev_unit_cost(params.E_max, params)), params.E_max


def point_F(params: GameParams) -> tuple[float, float]:
    """F = curve 2 ∩ line 3: ``(E_G - P_PG - E_c P_PG / E_max, E_max)`` (yuan/kWh, kWh)."""
    return float(pg_unit_revenue(params.E_max, params)), params.E_max


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
    return float(ev_unit_cost(e_g, p)), float(e_g)


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

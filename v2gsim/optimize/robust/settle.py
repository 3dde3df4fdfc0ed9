"""Realized cost of a robust plan for one realization (models.md §5.1 (7), (9), (10)).

RECONSTRUCTED settlement (ours): the DAM energy is bought/sold as planned; each reserve request is
paid (9) only in slots where the vehicle is connected (a call to an absent vehicle is not
delivered); PC bills the owner (10) on the realized power; a feedback plan's re-trades (connected
slots) settle at c^+ plus the unbalance cost per kWh re-traded (feedback_lp). The shortfall is
``sum_i [e_dep - e_i at departure]^+``.
"""

from __future__ import annotations

import numpy as np

from v2gsim.optimize.robust.check import check_plan, departure_energy, realized_power, retrade_power
from v2gsim.optimize.robust.full_lp import RobustPlan
from v2gsim.optimize.robust.spec import DayPrices, FleetDay, Realizations

__all__ = ["realized_outcome", "sample_signal"]


def sample_signal(rng: np.random.Generator, prices: DayPrices) -> np.ndarray:
    """TSO requests w_k in {-1, 0, +1} (K,), -1 with probability pi_up, +1 with pi_down."""
    u = rng.random(prices.pi_up.size)
    return np.where(u < prices.pi_up, -1.0, np.where(u >= 1.0 - prices.pi_down, 1.0, 0.0))


def realized_outcome(plan: RobustPlan, fleet: FleetDay, prices: DayPrices, real: Realizations,
                     business: str, unbalance_cost: float = 0.0) -> dict[str, float]:
    """Realized cost (currency), delivered reserve and departure shortfall (kWh) of one realization."""
    assert real.size == 1
    dt = fleet.delta
    p, conn = realized_power(plan, real)
    w = real.w[0]
    agg = plan.p_dam.sum(axis=0)
    j_dam = float(dt * (prices.c_plus * np.maximum(agg, 0) - prices.c_minus * np.maximum(-agg, 0)).sum())
    up = (plan.r_up * np.maximum(-w, 0.0)[None, :] * conn[0]).sum(axis=0) * dt
    down = (plan.r_down * np.maximum(w, 0.0)[None, :] * conn[0]).sum(axis=0) * dt
    j_asm = float((prices.c_down * down).sum() - (prices.c_up * up).sum())
    g = retrade_power(plan, real.w)[0] * conn[0]
    j_re = float(dt * (prices.c_plus * g.sum(axis=0)).sum() + dt * unbalance_cost * np.abs(g).sum())
    j_ev = 0.0
    if business == "PC":
        assert prices.c_ch is not None and prices.c_dis is not None
        j_ev = float(dt * (-prices.c_ch * np.maximum(p[0], 0) + prices.c_dis * np.maximum(-p[0], 0)).sum())
    e_dep = departure_energy(p, conn, fleet, real)[0]
    viol = check_plan(plan, fleet, real)
    return {"realized_cost": j_dam + j_asm + j_ev + j_re, "reserve_up_kwh": float(up.sum()),
            "reserve_down_kwh": float(down.sum()),
            "shortfall_kwh": float(np.maximum(fleet.e_dep - e_dep, 0.0).sum()),
            "violations": float(viol["any"])}

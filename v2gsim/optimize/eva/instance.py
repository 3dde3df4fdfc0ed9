"""A day-ahead instance of the revenue model (O) from a sampled EV population (seed 003).

RECONSTRUCTED (models.md §4.2): the seed's fleet, prices, windows and incentive levels are not in the
extraction; :class:`MarketDay` holds ours. The baseline (no-incentive) charging of each EV is uniform
over its stay, delivering ``max(E^req - E^0, 0)`` by departure; it lies inside the EV's region (F1, F2)
because its rate never exceeds the charger's, so the zero-incentive plan is always feasible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from v2gsim.optimize.eva.regions import EVSessions, region
from v2gsim.optimize.eva.willingness import Willingness

if TYPE_CHECKING:  # revenue imports scipy; validating a scenario must not
    from v2gsim.optimize.eva.revenue import RevenueInputs

__all__ = ["MarketDay", "build_inputs", "uniform_baseline"]


@dataclass(frozen=True)
class MarketDay:
    """Hourly prices (currency/kWh, capacity per kW·h), TSO windows and requests of one day (T,)."""

    r_da: np.ndarray
    r_up: np.ndarray
    r_down: np.ndarray
    r_cap: np.ndarray
    c_reg: np.ndarray
    up_window: np.ndarray
    down_window: np.ndarray
    req_kw: np.ndarray


def uniform_baseline(ev: EVSessions) -> np.ndarray:
    """(M, T) grid-side baseline power (kW): ``max(E^req - E^0, 0)`` spread evenly over the stay."""
    stay_h = (ev.t_d - ev.t_a) * ev.dt
    rate = np.maximum(ev.e_req - ev.e0, 0.0) / (ev.eta_c * stay_h)
    return np.where(ev.connected(), rate[:, None], 0.0)


def build_inputs(ev: EVSessions, day: MarketDay, disc_levels: np.ndarray, disc_form: Willingness,
                 sub_levels: np.ndarray, sub_form: Willingness, *, discount_in_purchase: bool = True
                 ) -> RevenueInputs:
    """Aggregate the fleet (F3) and evaluate the willingness (W) at the levels: the inputs of (O).

    The fleet's efficiencies are taken from its first EV (the population samplers use one value).
    """
    from v2gsim.optimize.eva.revenue import RevenueInputs

    agg = region(ev).aggregate()
    return RevenueInputs(
        e_upper=agg.upper[0], e_lower=agg.lower[0], p_c_agg=agg.p_max[0], p_d_agg=-agg.p_min[0],
        p_base=uniform_baseline(ev).sum(0), r_da=day.r_da, r_up=day.r_up, r_down=day.r_down,
        r_cap=day.r_cap, c_reg=day.c_reg, up_window=np.asarray(day.up_window, bool),
        down_window=np.asarray(day.down_window, bool), req=day.req_kw,
        disc_levels=np.asarray(disc_levels, float), pi_disc=disc_form.prob(np.asarray(disc_levels, float)),
        sub_levels=np.asarray(sub_levels, float), pi_sub=sub_form.prob(np.asarray(sub_levels, float)),
        e_min_agg=np.full(ev.T + 1, float(ev.e_min.sum())),
        e_max_agg=np.full(ev.T + 1, float(ev.e_max.sum())),
        eta_c=float(ev.eta_c[0]), eta_d=float(ev.eta_d[0]), dt=ev.dt,
        discount_in_purchase=discount_in_purchase)

"""A day-ahead instance of the revenue model (O) from a sampled EV population (seed 003).

:class:`RevenueInputs` is the instance :func:`v2gsim.optimize.eva.revenue.solve_revenue` solves: the
fleet's aggregate region and baseline, the day's market (:class:`MarketDay`) and the response shares
at the incentive levels. RECONSTRUCTED (models.md §4.2): the seed's fleet, prices, windows and
incentive levels are not in the extraction; :class:`MarketDay` holds ours. The baseline
(no-incentive) charging of each EV is uniform over its stay, delivering ``max(E^req - E^0, 0)`` by
departure; it lies inside the EV's region (F1, F2) because its rate never exceeds the charger's, so
the zero-incentive plan is always feasible.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from v2gsim.optimize.eva.regions import EVSessions, region
from v2gsim.optimize.eva.willingness import Willingness

__all__ = ["MarketDay", "RevenueInputs", "build_inputs", "uniform_baseline"]


@dataclass(frozen=True)
class MarketDay:
    """Hourly prices, TSO windows and requests of one day, each (T,) (models.md §4.2 (O), (a)).

    Attributes:
        r_da: day-ahead purchase price R_DA (currency/kWh).
        r_up, r_down: up- and down-regulation energy prices R_up, R_dn (currency/kWh).
        r_cap: capacity price R_cap (currency per kW and h).
        c_reg: peak-regulation cost per kWh regulated (currency/kWh).
        up_window, down_window: hours the TSO asks for up / down regulation (bool, disjoint).
        req_kw: the TSO's largest request per hour (kW).

    Raises:
        ValueError: the arrays differ in shape, are not 1-D, or an hour asks for both directions.
    """

    r_da: np.ndarray
    r_up: np.ndarray
    r_down: np.ndarray
    r_cap: np.ndarray
    c_reg: np.ndarray
    up_window: np.ndarray
    down_window: np.ndarray
    req_kw: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.r_da)
        if len(shape) != 1:
            raise ValueError(f"MarketDay.r_da: must be 1-D (one value per hour), got shape {shape}")
        for f in fields(self):
            v = np.asarray(getattr(self, f.name), bool if f.name.endswith("window") else float)
            if v.shape != shape:
                raise ValueError(f"MarketDay.{f.name}: shape {v.shape} != {shape}")
            object.__setattr__(self, f.name, v)
        if np.any(self.up_window & self.down_window):
            raise ValueError("MarketDay.up_window/down_window: an hour asks for both directions")

    @property
    def T(self) -> int:
        """Hours in the day."""
        return int(self.r_da.shape[0])


@dataclass(frozen=True)
class RevenueInputs:
    """One day-ahead instance; hourly arrays (T,), energies (T+1,), levels (K,). Units kWh, kW, cur/kWh.

    Attributes:
        e_upper, e_lower: aggregate energy boundaries (F3) at t = 0..T (kWh); ``E_0 = e_upper[0]``.
        p_c_agg, p_d_agg: aggregate charge / discharge power limits (kW).
        p_base: baseline (no-incentive) charging power (kW), inside the region.
        day: the day's prices, TSO windows and requests (:class:`~v2gsim.optimize.eva.instance.MarketDay`).
        disc_levels, pi_disc: charging discount levels (cur/kWh) and response shares π^c (CBDR).
        sub_levels, pi_sub: discharging subsidy levels and shares π^d (DBDR); a single level 0 with
            share 0 switches the instrument off.
        eta_c, eta_d: fleet efficiencies (-); dt: slot length (h).
        discount_in_purchase: net the charging discounts into the purchase cost (True) or subsidy.
        e_min_agg, e_max_agg: aggregate SOC limits (d) (kWh; default: no extra limit).
        commit_kw: (T,) regulation committed day-ahead (kW; settling a plan), or None; a shortfall
            ``u_t >= commit_t - r^up_t - r^dn_t`` costs ``shortfall_price`` per kWh and is reported
            in the peak-regulation (deviation) cost.
        shortfall_price: price of a committed kWh not delivered (currency/kWh).
    """

    e_upper: np.ndarray
    e_lower: np.ndarray
    p_c_agg: np.ndarray
    p_d_agg: np.ndarray
    p_base: np.ndarray
    day: MarketDay
    disc_levels: np.ndarray
    pi_disc: np.ndarray
    sub_levels: np.ndarray
    pi_sub: np.ndarray
    eta_c: float
    eta_d: float
    dt: float
    discount_in_purchase: bool
    e_min_agg: np.ndarray | None = None
    e_max_agg: np.ndarray | None = None
    commit_kw: np.ndarray | None = None
    shortfall_price: float = 0.0

    @property
    def T(self) -> int:
        """Hours in the day."""
        return int(np.asarray(self.p_base).shape[0])

    def __post_init__(self) -> None:
        T = self.T
        for name in ("p_c_agg", "p_d_agg"):
            if np.asarray(getattr(self, name)).shape != (T,):
                shape = np.asarray(getattr(self, name)).shape
                raise ValueError(f"RevenueInputs.{name}: shape {shape} != ({T},)")
        if self.day.T != T:
            raise ValueError(f"RevenueInputs.day: {self.day.T} hours, the fleet's baseline has {T}")
        for name in ("e_upper", "e_lower"):
            if np.asarray(getattr(self, name)).shape != (T + 1,):
                raise ValueError(f"RevenueInputs.{name}: shape must be ({T + 1},)")
        for lv, pi, name in ((self.disc_levels, self.pi_disc, "disc"), (self.sub_levels, self.pi_sub, "sub")):
            if np.shape(lv) != np.shape(pi) or np.size(lv) == 0:
                raise ValueError(f"RevenueInputs.{name}_levels/pi_{name}: need equal, non-empty lengths")
            if np.any((np.asarray(pi) < 0) | (np.asarray(pi) > 1)):
                raise ValueError(f"RevenueInputs.pi_{name}: response shares must lie in [0, 1]")


def uniform_baseline(ev: EVSessions) -> np.ndarray:
    """(M, T) grid-side baseline power (kW): ``max(E^req - E^0, 0)`` spread evenly over the stay."""
    stay_h = (ev.t_d - ev.t_a) * ev.dt
    rate = np.maximum(ev.e_req - ev.e0, 0.0) / (ev.eta_c * stay_h)
    return np.where(ev.connected(), rate[:, None], 0.0)


def build_inputs(ev: EVSessions, day: MarketDay, disc_levels: np.ndarray, disc_form: Willingness,
                 sub_levels: np.ndarray, sub_form: Willingness, *, discount_in_purchase: bool
                 ) -> RevenueInputs:
    """Aggregate the fleet (F3) and evaluate the willingness (W) at the levels: the inputs of (O).

    The fleet's efficiencies are taken from its first EV (the population samplers use one value).
    """
    agg = region(ev).aggregate()
    return RevenueInputs(
        e_upper=agg.upper[0], e_lower=agg.lower[0], p_c_agg=agg.p_max[0], p_d_agg=-agg.p_min[0],
        p_base=uniform_baseline(ev).sum(0), day=day,
        disc_levels=np.asarray(disc_levels, float), pi_disc=disc_form.prob(np.asarray(disc_levels, float)),
        sub_levels=np.asarray(sub_levels, float), pi_sub=sub_form.prob(np.asarray(sub_levels, float)),
        e_min_agg=np.full(ev.T + 1, float(ev.e_min.sum())),
        e_max_agg=np.full(ev.T + 1, float(ev.e_max.sum())),
        eta_c=float(ev.eta_c[0]), eta_d=float(ev.eta_d[0]), dt=ev.dt,
        discount_in_purchase=discount_in_purchase)

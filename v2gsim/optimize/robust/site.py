"""A site's day as inputs of the robust plan: declared sessions -> uncertainty box, prices, and the
day-averaged working point of the reduced problem (models.md §5; RECONSTRUCTED choices, ours).

Box (RECONSTRUCTED): each user declares arrival, departure and energy at arrival; the set is the
declared value +- the spec's slack (clipped to the day and the battery). A slot counts as connected
only if the vehicle is there for all of it (arrival rounded up, departure down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.behavior.mobility.core import Sessions
from v2gsim.optimize.robust.spec import DayPrices, FleetDay

__all__ = ["RobustSpec", "day_prices", "fleet_day", "fleet_day_from_sessions", "working_point"]


@dataclass(frozen=True)
class RobustSpec:
    """Plain settings of the robust plan (``[platform.robust]``).

    Every field is required: the units, meanings and defaults are stated once, in
    :class:`v2gsim.config.robust.RobustConfig`, and :func:`v2gsim.specs.build.robust_spec` passes them all.
    """

    business: str
    pi_up: float
    pi_down: float
    c_ch: float
    c_dis: float
    up_factor: float
    down_factor: float
    arrival_slack_h: float
    departure_slack_h: float
    energy_slack_kwh: float
    charger_kw: float
    plant_kw: float
    e_min_kwh: float
    eta_c: float
    eta_d: float
    alpha: float
    uncertainty: str
    realized: str
    n_scenarios: int
    feedback: bool
    unbalance_cost: float
    feedback_max_lag: int


def _box_slots(spec: RobustSpec, arrival_h, departure_h, dt: float, k: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds ``a_lo, a_hi, d_lo, d_hi`` of the first and last connected slot (module docstring):
    the declared times +- the slacks, arrival rounded up, departure down, clipped to the day's k
    slots of dt h, with a sure connection window ``a_hi <= d_lo``."""
    arr, dep = np.asarray(arrival_h, float), np.asarray(departure_h, float)
    a_lo = np.clip(np.ceil((arr - spec.arrival_slack_h) / dt - 1e-9), 0, k - 1).astype(int)
    a_hi = np.clip(np.ceil((arr + spec.arrival_slack_h) / dt - 1e-9), 0, k - 1).astype(int)
    d_lo = np.clip(np.floor((dep - spec.departure_slack_h) / dt + 1e-9) - 1, 0, k - 1).astype(int)
    d_hi = np.clip(np.floor((dep + spec.departure_slack_h) / dt + 1e-9) - 1, 0, k - 1).astype(int)
    d_lo = np.maximum(d_lo, a_hi)
    d_hi = np.maximum(d_hi, d_lo)
    return a_lo, a_hi, d_lo, d_hi


def fleet_day(spec: RobustSpec, arrival_h, departure_h, e0_kwh, e_dep_kwh, capacity_kwh: float,
              slot_minutes: int) -> FleetDay:
    """The uncertainty box around the declared sessions (arrays (N,), h and kWh)."""
    dt = slot_minutes / 60.0
    k = round(24 / dt)
    a_lo, a_hi, d_lo, d_hi = _box_slots(spec, arrival_h, departure_h, dt, k)
    e0 = np.asarray(e0_kwh, float)
    e_min = min(spec.e_min_kwh, float(np.min(e0)))
    e0_lo = np.clip(e0 - spec.energy_slack_kwh, e_min, capacity_kwh)
    e0_hi = np.clip(e0 + spec.energy_slack_kwh, e_min, capacity_kwh)
    e_dep = np.minimum(np.asarray(e_dep_kwh, float), capacity_kwh)
    return FleetDay.build(delta=dt, n_slots=k, a_lo=a_lo, a_hi=a_hi, d_lo=d_lo, d_hi=d_hi, e0_lo=e0_lo,
                          e0_hi=e0_hi, e_min=e_min, e_max=capacity_kwh, e_dep=e_dep, p_max=spec.charger_kw,
                          eta_c=spec.eta_c, eta_d=spec.eta_d, alpha=spec.alpha, p_plant=spec.plant_kw)


def fleet_day_from_sessions(spec: RobustSpec, sessions: Sessions, *, e_min, e_max, p_max, eta_c, eta_d,
                            slot_minutes: int) -> FleetDay:
    """The uncertainty box around declared sessions of EVs with their own batteries (arrays (N,)).

    The plan of the loop's own EVs (issue #32): the box is :func:`fleet_day`'s (times +- the spec's
    slacks, rounded to whole connected slots; departures after midnight end the plan's day), the
    physics each EV's (its window ``[e_min, e_max]``, charger ``p_max``, efficiencies; the spec's
    ``alpha`` and plant limit). Two caps keep the plan feasible, and both show up as a departure
    shortfall in the loop, never hidden (ours): an EV may arrive below its window (its plan's floor
    is then its lowest arrival energy), and the departure requirement is capped at what the EV can
    surely reach, charging at ``p_max`` from the box's lowest arrival energy over its surely
    connected slots.

    Args:
        spec: the plan's settings (slacks, alpha, plant limit).
        sessions: the declared sessions (:class:`~v2gsim.behavior.mobility.core.Sessions`, one per
            vehicle: arrival and departure times, energy at arrival and wanted at departure).
        e_min, e_max: each EV's stored-energy window (kWh), (N,) in the sessions' order.
        p_max: each EV's power limit in both directions (kW, grid side).
        eta_c, eta_d: efficiencies (-).
        slot_minutes: slot length (min).
    """
    dt = slot_minutes / 60.0
    k = round(24 / dt)
    a_lo, a_hi, d_lo, d_hi = _box_slots(spec, sessions.arrival_h, np.minimum(sessions.departure_h, 24.0),
                                        dt, k)
    e_max = np.asarray(e_max, float)
    e0 = sessions.energy_arrival_kwh
    e0_lo = np.clip(e0 - spec.energy_slack_kwh, 0.0, e_max)
    e0_hi = np.clip(e0 + spec.energy_slack_kwh, 0.0, e_max)
    floor = np.minimum(np.asarray(e_min, float), e0_lo)
    p_max, eta_c = np.asarray(p_max, float), np.asarray(eta_c, float)
    sure = d_lo - a_hi + 1  # slots connected in every realization of the box
    reach = spec.alpha ** sure * (e0_lo + eta_c * p_max * dt * sure)  # a lower bound with alpha < 1
    e_dep = np.minimum(np.minimum(sessions.energy_wanted_kwh, e_max), reach)
    return FleetDay.build(delta=dt, n_slots=k, a_lo=a_lo, a_hi=a_hi, d_lo=d_lo, d_hi=d_hi, e0_lo=e0_lo,
                          e0_hi=e0_hi, e_min=floor, e_max=e_max, e_dep=e_dep, p_max=p_max,
                          eta_c=eta_c, eta_d=eta_d, alpha=spec.alpha, p_plant=spec.plant_kw)


def day_prices(spec: RobustSpec, buy, sell, up=None, down=None) -> DayPrices:
    """One day's prices (K,): c+ = buy, c- = min(sell, buy); c_up/c_down from the balancing prices
    where given and finite, else ``up_factor``/``down_factor`` x buy (ours)."""
    buy = np.asarray(buy, float)
    c_up = spec.up_factor * buy if up is None else np.where(np.isfinite(up), up, spec.up_factor * buy)
    c_down = spec.down_factor * buy if down is None else np.where(np.isfinite(down), down,
                                                                  spec.down_factor * buy)
    pc = spec.business == "PC"
    return DayPrices.build(buy.size, c_plus=buy, c_minus=np.minimum(np.asarray(sell, float), buy), c_up=c_up,
                           c_down=c_down, pi_up=spec.pi_up, pi_down=spec.pi_down,
                           c_ch=spec.c_ch if pc else None, c_dis=spec.c_dis if pc else None)


def working_point(spec: RobustSpec, prices: DayPrices, fleet: FleetDay) -> dict[str, float | str | None]:
    """Arguments of :func:`~v2gsim.optimize.robust.profitability` at the day-averaged prices (over
    the slots every vehicle is surely connected) and the fleet-mean energies (kWh)."""
    slot = np.arange(fleet.n_slots)
    mask = np.any((slot[None, :] >= fleet.a_hi[:, None]) & (slot[None, :] <= fleet.d_lo[:, None]), axis=0)
    e0 = 0.5 * (fleet.e0_lo + fleet.e0_hi)
    pc = spec.business == "PC"
    return dict(business=spec.business, c_plus=float(prices.c_plus[mask].mean()),
                c_minus=float(prices.c_minus[mask].mean()), c_up=float(prices.c_up[mask].mean()),
                c_down=float(prices.c_down[mask].mean()), pi_up=spec.pi_up, pi_down=spec.pi_down,
                e_req=float(np.mean(np.maximum(fleet.e_dep - e0, 0.0))),
                e_room=float(np.mean(fleet.e_max - e0)), c_ch=spec.c_ch if pc else None,
                c_dis=spec.c_dis if pc else None)

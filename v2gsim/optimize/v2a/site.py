"""One V2A site-day from sessions (seed 002): the plain site spec and the bridge to the MILP.

:class:`V2ASiteSpec` is the plain form of the site fields of ``[platform.v2a]`` (built by
:func:`v2gsim.specs.build.v2a_spec`; the policy ``v2a`` composes it with its own fields,
:class:`v2gsim.policies.v2a.V2APolicySpec`); :func:`site_instance` turns one day's
:class:`~v2gsim.behavior.mobility.Sessions` at the site into a
:class:`~v2gsim.optimize.v2a.SiteInstance` on the site's slot axis (hourly slots starting at
``start_hour``; a stay past the axis' end is cut there). :func:`with_and_without` solves both cases
of the seed's comparison (discharging allowed or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from v2gsim.behavior.mobility import Sessions
from v2gsim.optimize.v2a import SiteInstance, SiteSchedule, solve_site

__all__ = ["V2ASiteSpec", "site_instance", "with_and_without"]


@dataclass(frozen=True)
class V2ASiteSpec:
    """A V2A site: the site fields of ``[platform.v2a]`` (models.md §3); hourly arrays by clock hour.

    Every value comes from the caller: the scenario's defaults are the schema's
    (:class:`v2gsim.config.v2a.V2AConfig`, the one place they are written).

    Attributes:
        place: site type, ``"home"`` {c, H, G}, ``"building"`` {c, B, G} or ``"station"`` {c, V, G}.
        start_hour: clock hour of the first slot of the site's day (h).
        load_price: (24,) load price theta_L by clock hour (p.u./kWh).
        v2g_price: (24,) V2G price theta_V2G by clock hour (p.u./kWh).
        base_load_kw: (24,) base load P^B of the site by clock hour (kW).
        rho: energy-wish penalty per SOC percentage point of (10) (p.u./pp).
        lam: cycle penalty per cycle of (10) (p.u.).
        penalty: form of D in (10), ``"plus"`` or ``"square"``.
        cycles: cycle count of (6), ``"switches"`` or ``"discharge_episodes"``.
        power_kw: rated charge/discharge power (kW).
        eta_c, eta_d: charging and discharging efficiencies (-).
        soc_min, soc_max: SOC limits (-).
        charging_fee: station fee per kWh charged (p.u./kWh).
        seed: seed of the one-day session draw of ``v2gsim v2a``.
    """

    place: str
    start_hour: int
    load_price: tuple[float, ...]
    v2g_price: tuple[float, ...]
    base_load_kw: tuple[float, ...]
    rho: float
    lam: float
    penalty: str
    cycles: str
    power_kw: float
    eta_c: float
    eta_d: float
    soc_min: float
    soc_max: float
    charging_fee: float
    seed: int

    def on_axis(self, values: Sequence[float]) -> np.ndarray:
        """(24,) clock-hour values rolled onto the site's slot axis (slot 0 = ``start_hour``)."""
        return np.roll(np.asarray(values, dtype=float), -self.start_hour)

    def clock_hours(self) -> np.ndarray:
        """(24,) clock hour of each slot of the axis."""
        return (np.arange(24) + self.start_hour) % 24


def site_instance(spec: V2ASiteSpec, sessions: Sessions, capacity_kwh: float | np.ndarray,
                  **changes: Any) -> SiteInstance:
    """The site-day MILP instance of hourly ``sessions`` (one day, at this site).

    Args:
        spec: the site.
        sessions: the EVs' sessions (hourly slots; arrival in [0, 24) h of the day).
        capacity_kwh: battery capacity, scalar or (N,) (kWh).
        **changes: fields of :class:`SiteInstance` to override (e.g. ``allow_discharge=False``).

    Returns:
        The instance; SOCs are the sessions' energies over the capacity, clipped to [0, 1].
    """
    if sessions.slot_minutes != 60:
        sessions = sessions.regrid(60)
    cap = np.broadcast_to(np.asarray(capacity_kwh, dtype=float), (len(sessions),))
    arr = (sessions.arrival_slot - spec.start_hour) % 24
    dep = np.minimum(arr + (sessions.departure_slot - sessions.arrival_slot), 24)
    fields = dict(
        place=spec.place, load_price=spec.on_axis(spec.load_price), v2g_price=spec.on_axis(spec.v2g_price),
        base_load=spec.on_axis(spec.base_load_kw), arrival=arr, departure=dep,
        soc_ini=np.clip(sessions.energy_arrival_kwh / cap, 0.0, 1.0),
        soc_exp=np.clip(sessions.energy_wanted_kwh / cap, 0.0, 1.0), capacity_kwh=cap,
        power_kw=spec.power_kw, eta_c=spec.eta_c, eta_d=spec.eta_d, soc_min=spec.soc_min,
        soc_max=spec.soc_max, rho=spec.rho, lam=spec.lam, penalty=spec.penalty, cycles=spec.cycles,
        charging_fee=spec.charging_fee)
    fields.update(changes)
    return SiteInstance(**fields)


def fleet_site_instance(site: V2ASiteSpec, site_type: str, base_load_kw: Sequence[float], sessions: Sessions,
                        *, capacity_kwh: np.ndarray, power_kw: np.ndarray, eta_c: np.ndarray,
                        eta_d: np.ndarray, soc_min: np.ndarray, soc_max: np.ndarray,
                        wanted_soc: np.ndarray | None = None, hours: int = 24,
                        households: bool = False) -> SiteInstance:
    """The site-day instance of the loop's own EVs (issue 32): their sessions, their batteries.

    Unlike :func:`site_instance` (the seed's site, its physics and slot axis), the slots are the
    loop's clock hours ``0..hours-1`` and every EV has its fleet's capacity, power, efficiencies and
    SOC window. A session's window is ``[min(arrival, hours - 1), departure)`` with the departure
    clipped to the day (a stay past midnight is planned until the day's end); its SOC at arrival is
    its energy over the capacity (clipped to [0, 1]), and the SOC window of an EV arriving outside
    it is widened to its arrival SOC (the seed's limits cannot be imposed on an arrival).

    Args:
        site: the site's prices and penalties (``load_price``, ``v2g_price`` by clock hour; rho,
            lam, penalty, cycles).
        site_type: ``home``, ``building`` or ``station``.
        base_load_kw: (hours,) the site's base load (kW; per household at home).
        sessions: the EVs' sessions (any slot grid: viewed on 60-min slots), one per EV.
        capacity_kwh, power_kw, eta_c, eta_d, soc_min, soc_max: (N,) per EV, in the sessions' order.
        wanted_soc: (N,) SOC wished at departure; default the sessions' wanted energy over the capacity.
        hours: slots of the day.
        households: one sub-site per EV (home: each EV its own household, no back-feed (11)).
    """
    s = sessions.regrid(60) if sessions.slot_minutes != 60 else sessions
    arr = np.minimum(s.arrival_slot, hours - 1)
    dep = np.clip(s.departure_slot, arr + 1, hours)
    ini = np.clip(s.energy_arrival_kwh / capacity_kwh, 0.0, 1.0)
    wish = np.clip(s.energy_wanted_kwh / capacity_kwh, 0.0, 1.0) if wanted_soc is None else wanted_soc
    return SiteInstance(
        place=site_type, load_price=np.asarray(site.load_price), v2g_price=np.asarray(site.v2g_price),
        base_load=np.asarray(base_load_kw), arrival=arr, departure=dep, soc_ini=ini, soc_exp=wish,
        capacity_kwh=capacity_kwh, power_kw=power_kw, eta_c=eta_c, eta_d=eta_d,
        soc_min=np.minimum(soc_min, ini), soc_max=np.maximum(soc_max, ini), rho=site.rho, lam=site.lam,
        penalty=site.penalty, cycles=site.cycles, group=np.arange(len(s)) if households else None)


def with_and_without(inst: SiteInstance, **solve_kw: Any) -> tuple[SiteSchedule, SiteSchedule]:
    """Solve the site-day with discharging allowed and with charging only (the seed's comparison)."""
    return solve_site(inst, **solve_kw), solve_site(inst.replace(allow_discharge=False), **solve_kw)

"""Policy ``v2a`` (seed 002, issue #12): the fleet's sites schedule the EVs their paths bring there.

Every day each site solves its V2A problem (:mod:`v2gsim.optimize.v2a`, equations RECONSTRUCTED,
models.md §3.2): the households (each EV's home charger, one sub-site per EV with its own base load
and no back-feed (11)) all at once by the exact vectorized DP of :mod:`v2gsim.optimize.v2a.dp` (a
grouped MILP is the same problem but slow to prove), a building at ``work`` and a charging station
at ``other`` by one MILP each. The plan uses the platform's expectation of the sessions: yesterday's
realized sessions at the place (day 0 plans nothing), the energy stored the evening before (SOC at
plug-in) and each EV's ``soc_target`` as the wish. The sites offer ``offer_fraction`` of their
planned V2G power to the platform's regulation bid; no rebates.

**The fleet executes the plan.** The decision carries the site schedules as the day's base-point
schedule (:class:`~v2gsim.core.schedule.BaseSchedule`, hourly slots): every planned EV draws
``+P_i`` in its charging slots and ``-P_i`` in its discharging ones (H, B, V, G; grid side, P_i the
instance's power) and 0 in the idle slots of its expected windows (outside them it keeps baseline
charging: a NaN slot of the schedule), and the fleet executes that within what its
battery allows (plugged in that hour, power limits, SOC window, efficiencies;
:mod:`v2gsim.core.schedule`); EVs without a plan keep baseline charging, and so do EVs that are not
V2G capable (the site model's one rated power per EV is then 0). The model records planned,
executed and deviating base energy per hour and day (``planned_base_kwh``, ``executed_base_kwh``,
``schedule_deviation_kwh``), and :meth:`V2APolicy.settle` measures ``departure_shortfall_kwh`` on
the simulated batteries: the sum over today's realized sessions of max(0, wish - stored energy at
the end of the session's last hour). The realized sessions differ from the expected ones;
:meth:`V2APolicy.settle` also replays the plan's modes on them (modes outside the realized window
dropped, EVs not planned idle: the ``v2a_realized_*`` columns, the site model's own account) and
reports planned vs realized cost and unmet energy wishes.

Simplifications (ours): the plug-in state of the loop does not say where an EV is plugged, so a
planned EV follows its plan wherever it is plugged in; an EV planned at several sites follows, in
each hour, the first site (home, work, other) whose expected window holds the hour; an EV visiting
several sites is planned at each with its evening-before energy; an EV arriving outside
[soc_min, soc_max] gets its own bounds widened to its arrival SOC in the plan (the seed's limits
cannot be imposed on an arrival).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from v2gsim.core.schedule import BaseSchedule
from v2gsim.optimize.v2a import (
    MODE_CODES,
    SiteInstance,
    SiteSchedule,
    V2AInfeasibleError,
    evaluate_modes,
    solve_site,
)
from v2gsim.optimize.v2a.dp import solve_single_ev_sites
from v2gsim.optimize.v2a.site import V2ASiteSpec, fleet_site_instance
from v2gsim.policies.base import DayOutcome, Decision, Observation, PolicyInputs, require_clock_day

if TYPE_CHECKING:
    from v2gsim.behavior.mobility.core import Sessions
    from v2gsim.core.fleet import Fleet

__all__ = ["SITE_PLACES", "V2APolicy", "V2APolicySpec", "make_v2a"]

_CLOCK = "seed 002: the sites' prices and base loads by clock hour"

#: Charger place -> site type.
SITE_PLACES: dict[str, str] = {"home": "home", "work": "building", "other": "station"}


@dataclass(frozen=True)
class V2APolicySpec:
    """Settings of ``v2a``: the site of ``[platform.v2a]`` and the table's policy-only fields.

    The site's hourly arrays are used by hour of the simulated day (the loop's day starts at hour
    0); its penalties (rho, lam, penalty, cycles) and ``power_kw`` (capped by each EV's charger and
    discharge limits) apply at every site; the EVs' efficiencies and SOC limits are the fleet's.
    Every value comes from the adapter (:func:`v2gsim.specs.build.v2a_policy_spec`); the defaults
    are the schema's (:class:`v2gsim.config.v2a.V2AConfig`).

    Attributes:
        site: the site (:class:`~v2gsim.optimize.v2a.site.V2ASiteSpec`); its ``base_load_kw`` is
            the base load of one household at ``home`` (kW).
        work_load_kw: (24,) base load of the building at ``work`` (kW).
        other_load_kw: (24,) base load of the charging station at ``other`` (kW).
        offer_fraction: share of the planned V2G power bid for regulation (-).
        time_limit_s: HiGHS time limit per site-day (s).
        gap: relative MIP gap of HiGHS (-).
        sessions_place: the charger place of a session model driving the loop (the sites plan
            its declared sessions there), or None when the drivers' paths drive it.
    """

    site: V2ASiteSpec
    work_load_kw: tuple[float, ...]
    other_load_kw: tuple[float, ...]
    offer_fraction: float
    time_limit_s: float
    gap: float
    sessions_place: str | None
    name: str = "v2a"

    def base_load_kw(self, place: str) -> tuple[float, ...]:
        """(24,) base load of one site at charger place ``place`` (kW; per household at home)."""
        return {"home": self.site.base_load_kw, "work": self.work_load_kw, "other": self.other_load_kw}[place]


class V2APolicy:
    """Plan the day's site schedules from yesterday's sessions; the fleet executes them; settle them
    on today's sessions."""

    name = "v2a"
    schedules = True
    daily_keys = ("planned_cost", "realized_cost", "v2a_planned_cost", "v2a_realized_cost",
                  "v2a_planned_unmet_kwh", "v2a_realized_unmet_kwh",
                  "v2a_planned_sessions", "v2a_realized_sessions", "v2a_soc_violations", "v2a_offer_kwh",
                  "v2a_solve_s", "departure_shortfall_kwh")

    def __init__(self, spec: V2APolicySpec, fleet: Fleet) -> None:
        self.spec = spec
        m = fleet.capacity_kwh.size
        self.cap = np.asarray(fleet.capacity_kwh, float)
        self.target = np.broadcast_to(np.asarray(fleet.soc_target, float), (m,))
        self.soc_min = np.broadcast_to(np.asarray(fleet.soc_min, float), (m,))
        self.soc_max = np.broadcast_to(np.asarray(fleet.soc_max, float), (m,))
        dis = fleet.charger_kw if fleet.discharge_kw is None else fleet.discharge_kw
        self.power = np.minimum(np.minimum(fleet.charger_kw, dis), spec.site.power_kw)
        one = np.ones(m)
        self.eta_c = one if fleet.charge_efficiency is None else np.asarray(fleet.charge_efficiency, float)
        eta_d = fleet.discharge_efficiency
        self.eta_d = one if eta_d is None else np.asarray(eta_d, float)
        self._expect: dict[str, Sessions] = {}  # place -> the sessions the sites plan for
        self._declared = False  # the expected sessions are declarations (their own energies)
        self._plan: dict[str, tuple[np.ndarray, SiteSchedule]] = {}
        self._windows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # place -> planned windows

    def _instance(self, place: str, sessions: Sessions, wish_target: bool = True) -> SiteInstance:
        """The site instance of ``sessions`` with the fleet's physics (its own wish ``soc_target``
        unless ``wish_target`` is False: then the sessions' wanted energy)."""
        ev = sessions.ev
        return fleet_site_instance(
            self.spec.site, SITE_PLACES[place], self.spec.base_load_kw(place), sessions,
            capacity_kwh=self.cap[ev], power_kw=self.power[ev], eta_c=self.eta_c[ev], eta_d=self.eta_d[ev],
            soc_min=self.soc_min[ev], soc_max=self.soc_max[ev],
            wanted_soc=self.target[ev] if wish_target else None, households=place == "home")

    def schedule(self, hours: int) -> BaseSchedule | None:
        """The planned sites' modes as one base-point schedule (module docstring), None without a plan.

        Args:
            hours: hours T of the day (hourly slots).

        Returns:
            Grid-side kW per planned EV and hour: ``+P_i`` charging, ``-P_i`` discharging, 0 idle
            inside an expected window, NaN outside every window (baseline charging there).
        """
        if not self._plan:
            return None
        ev_all = np.unique(np.concatenate([ev for ev, _ in self._plan.values()]))
        power = np.full((ev_all.size, hours), np.nan)  # NaN: no plan, baseline charging
        taken = np.zeros((ev_all.size, hours), dtype=bool)
        t = np.arange(hours)
        for place, (ev, sched) in self._plan.items():
            arr, dep = self._windows[place]
            rows = np.searchsorted(ev_all, ev)
            win = (t[None, :] >= arr[:, None]) & (t[None, :] < dep[:, None]) & ~taken[rows]
            sign = np.where(sched.modes == MODE_CODES["c"], 1.0, np.where(sched.modes > 0, -1.0, 0.0))
            power[rows] = np.where(win, sign * self.power[ev][:, None], power[rows])
            taken[rows] |= win
        # the site model has one rated power for both directions: an EV that cannot discharge gets
        # power 0 there, so it is left out of the schedule and keeps baseline charging
        keep = self.power[ev_all] > 0
        return BaseSchedule(ev=ev_all[keep], power_kw=power[keep], slot_minutes=60)

    def decide(self, obs: Observation) -> Decision:
        """Solve each site's MILP on the expected sessions; return the plan as the day's base-point
        schedule; bid a share of the planned V2G power."""
        require_clock_day("v2a", obs.hours, _CLOCK)
        t0 = time.perf_counter()
        self._declared = obs.sessions is not None and self.spec.sessions_place is not None
        if self._declared:  # a session model drives the loop: plan today's declarations
            self._expect = {self.spec.sessions_place: obs.sessions.regrid(60)}
        self._plan, self._windows, status = {}, {}, "optimal" if self._expect else "no history"
        energy = np.asarray(obs.energy_kwh if obs.energy_kwh is not None else self.cap * self.target, float)
        v2g = np.zeros(obs.hours)
        for place, sessions in self._expect.items():
            ev = sessions.ev
            if not self._declared:  # yesterday's windows, the energy stored this evening
                sessions = replace(sessions, energy_arrival_kwh=np.clip(energy[ev], 0.0, None))
            inst = self._instance(place, sessions, wish_target=not self._declared)
            try:
                if place == "home":  # one EV per household: the exact DP, all homes at once
                    sched = solve_single_ev_sites(inst)
                else:
                    sched = solve_site(inst, time_limit=self.spec.time_limit_s, gap=self.spec.gap)
            except (V2AInfeasibleError, RuntimeError) as exc:  # keep the day going without this site
                status = f"fallback: {place}: {exc}"
                continue
            self._plan[place] = (ev, sched)
            self._windows[place] = (inst.arrival, inst.departure)
            v2g += sched.v2g_kw
        cost = sum(s.costs["cost"] for _, s in self._plan.values())
        info = {"v2a_planned_cost": cost, "v2a_plan": {p: {"ev": ev.tolist(), "modes": s.modes.tolist()}
                                                        for p, (ev, s) in self._plan.items()}}
        return Decision(rebate=np.zeros(obs.hours), bid_kw=self.spec.offer_fraction * v2g, status=status,
                        solve_time_s=time.perf_counter() - t0, info=info,
                        fallback_reason=status if status.startswith("fallback") else "",
                        schedule=self.schedule(obs.hours))

    def _energy_costs(self, outcome: DayOutcome) -> tuple[float, float]:
        """Planned and executed energy cost of the covered EVs at the site's prices (p.u.):
        sum over EVs and hours of ``load_price max(p, 0) - v2g_price max(-p, 0)`` times 1 h."""
        ex = outcome.executed
        if ex is None:
            return 0.0, 0.0
        site = self.spec.site
        buy, sell = np.asarray(site.load_price, float), np.asarray(site.v2g_price, float)

        def cost(p: np.ndarray) -> float:
            k = ex.base.slots_per_hour
            b, s_ = np.repeat(buy, k), np.repeat(sell, k)
            return float((ex.base.slot_h * (b * np.maximum(p, 0) - s_ * np.maximum(-p, 0))).sum())

        z = np.nan_to_num
        return cost(z(ex.planned.power_kw)), cost(z(ex.executed_kw))

    def settle(self, outcome: DayOutcome) -> dict[str, float]:
        """Replay the plan on the realized sessions; measure the departure shortfall on the simulated
        batteries (NaN when the outcome carries no stored energy); remember the sessions as
        tomorrow's expectation."""
        planned_cost = planned_unmet = realized_cost = realized_unmet = shortfall = 0.0
        n_plan = n_real = viol = 0
        hours = outcome.plugged.shape[1]
        expect = {}
        for place in SITE_PLACES:
            try:
                sess = outcome.sessions_at(place)
            except ValueError:  # a place the network does not have
                continue
            if len(sess) == 0:
                continue
            ev = sess.ev
            expect[place] = sess
            real = self._instance(place, sess)
            dep = real.departure
            if outcome.stored_kwh is not None:  # the simulated battery at the end of the session
                wish = self.target[ev] * self.cap[ev]
                shortfall += float(np.maximum(wish - outcome.stored_kwh[ev, dep - 1], 0.0).sum())
            modes = np.zeros((ev.size, hours), dtype=int)
            if place in self._plan:
                pev, sched = self._plan[place]
                n_plan += pev.size
                planned_cost += sched.costs["cost"]
                planned_unmet += float((np.maximum(sched.shortfall_pp, 0) / 100 * self.cap[pev]).sum())
                row = {int(e): k for k, e in enumerate(pev)}
                idx = np.array([row.get(int(e), -1) for e in ev])
                have = idx >= 0
                modes[have] = sched.modes[idx[have]]
                modes[~real.window] = 0
            ev_real = evaluate_modes(real, modes)
            n_real += ev.size
            realized_cost += ev_real.costs["cost"]
            realized_unmet += float((np.maximum(ev_real.shortfall_pp, 0) / 100 * self.cap[ev]).sum())
            win = real.window
            lo, hi = real.soc_min[:, None] - 1e-9, real.soc_max[:, None] + 1e-9
            out = win & ((ev_real.soc < lo) | (ev_real.soc > hi))
            viol += int(out.any(axis=1).sum())
        self._expect = expect
        d = outcome.decision
        energy_planned, energy_realized = self._energy_costs(outcome)
        return {"planned_cost": energy_planned, "realized_cost": energy_realized,
                "v2a_planned_cost": planned_cost, "v2a_realized_cost": realized_cost,
                "v2a_planned_unmet_kwh": planned_unmet, "v2a_realized_unmet_kwh": realized_unmet,
                "v2a_planned_sessions": float(n_plan), "v2a_realized_sessions": float(n_real),
                "v2a_soc_violations": float(viol), "v2a_offer_kwh": float(np.sum(d.bid_kw)),
                "v2a_solve_s": float(d.solve_time_s) if not math.isnan(d.solve_time_s) else 0.0,
                "departure_shortfall_kwh": shortfall if outcome.stored_kwh is not None else math.nan}


def make_v2a(spec: V2APolicySpec, inputs: PolicyInputs) -> V2APolicy:
    """Build ``v2a``; it needs the fleet copy of :class:`PolicyInputs` (built through the registry).

    Raises:
        ValueError: no fleet in the inputs, or a day of other than 24 hours (the sites' prices and
            base loads are given by clock hour).
    """
    require_clock_day("v2a", inputs.hours, _CLOCK)
    if inputs.fleet is None:
        raise ValueError("policy v2a needs PolicyInputs.fleet (build it through the model or registry)")
    return V2APolicy(spec, inputs.fleet)

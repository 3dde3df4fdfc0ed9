"""Policy ``robust`` (seed 004): the parking site's robust day-ahead plan, executed by the fleet.

The session model drives the loop (``[sessions] drive``, on by default with this policy;
:mod:`v2gsim.behavior.mobility.daily`): every EV of the fleet has one session a day at the site.
Each evening the users declare tomorrow's sessions (``Observation.sessions``); the policy builds
the uncertainty box around the declarations with each EV's own battery, charger and efficiencies
(:func:`~v2gsim.optimize.robust.site.fleet_day_from_sessions`) and solves the robust LP
(:class:`~v2gsim.optimize.robust.full_lp.RobustPlanner`, built once and re-parameterized per day) at
the day's energy prices (the hourly ``Observation.energy_price`` held over its slots). RECONSTRUCTED
(models.md §5, §6 item 11).

**The fleet executes the plan.** The decision's schedule is the day-ahead base point ``p_dam`` per
EV and slot with the plan's up/down reserve; the loop's TSO calls reserve in each slot (upward with
probability ``pi_up``, downward with ``pi_down``) and the EVs are asked to draw ``p_dam + r_down
w^+ - r_up w^-`` (models.md §5.1 (8)), which they execute within what their batteries and plug-in
state allow (:mod:`v2gsim.core.schedule`). The realized sessions follow ``realized``: ``"box"``
inside the declared box, where the plan's promise holds (every EV leaves with its wanted energy,
no EV deviates from its plan), or ``"preset"``, a fresh draw that may leave the box (the loop
measures the shortfall and the deviation). No rebates or regulation bids.

Daily columns (currency of the prices; a negative cost is earned): ``planned_cost`` the plan's cost
with today's requests deployed (day-ahead energy (7) of ``p_dam``, reserve (9) on the requested
energy, the owners' bill (10) under PC on the planned power); ``realized_cost`` the same from what
the fleet did (reserve paid on the delivered energy, the owners billed on the executed power, and
every kWh drawn beyond the plan bought at ``c+``, one sold back at ``c+`` too: an imbalance
settlement, ours); ``reserve_requested_kwh`` / ``reserve_delivered_kwh`` (both directions) and per
direction ``robust_reserve_up/down_kwh`` delivered; ``robust_plan_cost`` the LP's expected cost;
``robust_planned_up/down_kwh`` the reserve offered; ``robust_violations`` EVs that could not follow
their plan (deviation above 1e-6 kWh); ``robust_sessions_outside`` realized sessions outside their
declared box. The loop adds ``departure_shortfall_kwh`` (:mod:`v2gsim.sim.session_loop`) and the
schedule columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from v2gsim.core.schedule import BaseSchedule, delivered_reserve
from v2gsim.core.solvers.errors import InfeasibleError
from v2gsim.optimize.robust.check import sample_realizations
from v2gsim.optimize.robust.full_lp import RobustPlan, RobustPlanner
from v2gsim.optimize.robust.site import RobustSpec, day_prices, fleet_day_from_sessions
from v2gsim.optimize.robust.spec import DayPrices, FleetDay
from v2gsim.policies.base import DayOutcome, Decision, Observation, PolicyInputs, require_clock_day

if TYPE_CHECKING:
    from v2gsim.behavior.mobility.core import Sessions
    from v2gsim.core.fleet import Fleet

__all__ = ["RobustPolicy", "RobustPolicySpec", "make_robust"]

_CLOCK = "seed 004: the site's day of 24 h in slots"

#: Deviation (kWh per EV and day) above which an EV did not follow its plan.
_FOLLOW_TOL_KWH = 1e-6


@dataclass(frozen=True)
class RobustPolicySpec:
    """Settings of ``robust``: the plan's settings and the site's session model (its slot grid)."""

    robust: RobustSpec
    sessions: Any
    name: str = "robust"


def _cost(p_ev: np.ndarray, day_ahead: np.ndarray, up_kwh: np.ndarray, down_kwh: np.ndarray,
          prices: DayPrices, dt: float, business: str) -> float:
    """Cost (7) + (9) + (10) of per-EV power ``p_ev`` (N, K) kW against the day-ahead purchase
    ``day_ahead`` (K,) kW, reserve energies (K,) kWh; the aggregate's difference from the day-ahead
    purchase settles at c+ (module docstring)."""
    agg = day_ahead
    j_dam = dt * float((prices.c_plus * np.maximum(agg, 0) - prices.c_minus * np.maximum(-agg, 0)).sum())
    j_asm = float((prices.c_down * down_kwh).sum() - (prices.c_up * up_kwh).sum())
    reserve = (down_kwh - up_kwh) / dt  # the aggregate's reserve power (kW)
    j_imb = dt * float((prices.c_plus * (p_ev.sum(axis=0) - agg - reserve)).sum())
    j_ev = 0.0
    if business == "PC":
        assert prices.c_ch is not None and prices.c_dis is not None
        j_ev = dt * float((-prices.c_ch * np.maximum(p_ev, 0) + prices.c_dis * np.maximum(-p_ev, 0)).sum())
    return j_dam + j_asm + j_imb + j_ev


def _outside(real: Sessions, fleet: FleetDay) -> int:
    """Realized sessions outside their declared box (slots of the plan's grid, energy at arrival)."""
    ev = real.ev
    dt_min = round(fleet.delta * 60)
    r = real.regrid(dt_min, "inner") if real.slot_minutes != dt_min or real.rule != "inner" else real
    a, d = r.arrival_slot, np.minimum(r.last_slot, fleet.n_slots - 1)
    e0 = real.energy_arrival_kwh
    bad = ((a < fleet.a_lo[ev]) | (a > fleet.a_hi[ev]) | (d < fleet.d_lo[ev]) | (d > fleet.d_hi[ev])
           | (e0 < fleet.e0_lo[ev] - 1e-9) | (e0 > fleet.e0_hi[ev] + 1e-9))
    return int(bad.sum())


@dataclass
class RobustPolicy:
    """The seed-004 site planner (module docstring)."""

    spec: RobustSpec
    fleet: Fleet
    slot_minutes: int
    rng: np.random.Generator
    name: str = "robust"
    schedules: bool = True
    daily_keys: tuple[str, ...] = ("planned_cost", "realized_cost", "reserve_requested_kwh",
                                   "reserve_delivered_kwh", "robust_plan_cost", "robust_planned_up_kwh",
                                   "robust_planned_down_kwh", "robust_reserve_up_kwh",
                                   "robust_reserve_down_kwh", "robust_violations", "robust_sessions_outside")
    _planner: RobustPlanner | None = field(default=None, repr=False)
    _pending: tuple[FleetDay, DayPrices, RobustPlan] | None = field(default=None, repr=False)

    def _site(self, sessions: Sessions) -> FleetDay:
        """The box around the declared sessions with the fleet's physics (one session per EV)."""
        f, ev = self.fleet, sessions.ev
        cap = f.capacity_kwh[ev]
        discharge = (f.discharge_kw * f.v2g)[ev]
        p_max = np.where(discharge > 0, np.minimum(f.charger_kw[ev], discharge), f.charger_kw[ev])
        return fleet_day_from_sessions(
            self.spec, sessions, e_min=f.soc_min[ev] * cap, e_max=f.soc_max[ev] * cap, p_max=p_max,
            eta_c=f.charge_efficiency[ev], eta_d=f.discharge_efficiency[ev], slot_minutes=self.slot_minutes)

    def decide(self, obs: Observation) -> Decision:
        """Plan the declared sessions; the plan's base point and reserve as the day's schedule."""
        require_clock_day("robust", obs.hours, _CLOCK)
        if obs.energy_price is None:
            raise ValueError("policy 'robust' needs the day's energy prices: turn [market.energy] on")
        if obs.sessions is None:
            raise ValueError("policy 'robust' plans the loop's EVs from their declared sessions: it "
                             "needs a session model driving the loop ([sessions] enabled, drive)")
        site = self._site(obs.sessions)
        per_hour = site.n_slots // obs.hours
        sell = obs.energy_sell_price if obs.energy_sell_price is not None else obs.energy_price
        prices = day_prices(self.spec, np.repeat(obs.energy_price, per_hour), np.repeat(sell, per_hour))
        self._pending = None
        try:
            if self.spec.uncertainty == "scenarios":
                scen = sample_realizations(site, self.spec.n_scenarios, self.rng)
                plan = RobustPlanner(site, self.spec.business, scenarios=scen).solve(site, prices)
            else:
                if self._planner is None or self._planner.n != site.n:
                    self._planner = RobustPlanner(site, self.spec.business)
                plan = self._planner.solve(site, prices)
        except InfeasibleError as exc:  # keep the day going on baseline charging
            reason = f"fallback: {exc}"
            return Decision(rebate=np.zeros(obs.hours), bid_kw=np.zeros(obs.hours), status=reason,
                            fallback_reason=reason)
        self._pending = (site, prices, plan)
        schedule = BaseSchedule(ev=obs.sessions.ev, power_kw=plan.p_dam, slot_minutes=self.slot_minutes,
                                reserve_up_kw=np.maximum(plan.r_up, 0.0),  # LP round-off below 0
                                reserve_down_kw=np.maximum(plan.r_down, 0.0))
        return Decision(rebate=np.zeros(obs.hours), bid_kw=np.zeros(obs.hours), status="optimal",
                        solve_time_s=plan.solve_seconds,
                        info={"robust_plan": plan, "robust_site": site}, schedule=schedule)

    def settle(self, outcome: DayOutcome) -> dict[str, float]:
        """Planned vs realized cost, reserve requested and delivered, followed plans (docstring)."""
        ex = outcome.executed
        if self._pending is None or ex is None:  # a fallback day: nothing was planned
            return dict.fromkeys(self.daily_keys, math.nan)
        site, prices, plan = self._pending
        dt = site.delta
        w = ex.request if ex.request is not None else np.zeros(site.n_slots)
        up_mask, down_mask = w < 0, w > 0
        req_slot, got_slot = delivered_reserve(ex.base.power_kw, ex.planned.power_kw, ex.executed_kw, dt)
        zero = np.zeros(site.n_slots)
        planned = _cost(ex.planned.power_kw, plan.p_dam.sum(axis=0), np.where(up_mask, req_slot, zero),
                        np.where(down_mask, req_slot, zero), prices, dt, self.spec.business)
        realized = _cost(ex.executed_kw, plan.p_dam.sum(axis=0), np.where(up_mask, got_slot, zero),
                         np.where(down_mask, got_slot, zero), prices, dt, self.spec.business)
        dev = np.abs(ex.planned.power_kw - ex.executed_kw).sum(axis=1) * dt
        outside = _outside(outcome.sessions, site) if outcome.sessions is not None else 0
        return {"planned_cost": planned, "realized_cost": realized,
                "reserve_requested_kwh": float(req_slot.sum()),
                "reserve_delivered_kwh": float(got_slot.sum()),
                "robust_plan_cost": float(plan.cost),
                "robust_planned_up_kwh": float(plan.r_up.sum() * dt),
                "robust_planned_down_kwh": float(plan.r_down.sum() * dt),
                "robust_reserve_up_kwh": float(got_slot[up_mask].sum()),
                "robust_reserve_down_kwh": float(got_slot[down_mask].sum()),
                "robust_violations": float((dev > _FOLLOW_TOL_KWH).sum()),
                "robust_sessions_outside": float(outside)}


def make_robust(spec: RobustPolicySpec, inputs: PolicyInputs) -> RobustPolicy:
    """Build ``robust`` from its settings, the fleet copy and the run's policy generator.

    Raises:
        ValueError: no fleet in the inputs, no session model, or a day other than 24 hours.
    """
    require_clock_day("robust", inputs.hours, _CLOCK)
    if inputs.fleet is None:
        raise ValueError("policy robust needs PolicyInputs.fleet (build it through the model or registry)")
    if spec.sessions is None or not hasattr(spec.sessions, "slot_minutes"):
        raise ValueError("policy 'robust' needs [sessions] enabled with model = 'preset', 'parametric' "
                         "or 'empirical'")
    return RobustPolicy(spec=spec.robust, fleet=inputs.fleet, slot_minutes=int(spec.sessions.slot_minutes),
                        rng=inputs.rng)

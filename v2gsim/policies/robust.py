"""Policy ``robust`` (seed 004): a parking site's robust day-ahead plan with up/down reserve.

Each evening the site's users declare tomorrow's sessions (drawn from the scenario's
``[sessions]`` laws with the policy's generator); the policy plans the robust LP
(:class:`~v2gsim.optimize.robust.full_lp.RobustPlanner`, built once and re-parameterized per day) at
the day's energy prices (the hourly ``Observation.energy_price`` held over its slots). After the
day, :meth:`RobustPolicy.settle` draws the TSO requests from the acceptance probabilities and the
realized sessions (``realized = "box"``: uniform inside the declared box; ``"preset"``: a fresh
draw from the laws, which may leave it), and reports planned vs realized cost, reserve delivered
and the departure-energy shortfall. The site is settled here; the platform's rebates and
regulation bids stay zero (the plan is in ``Decision.info``). RECONSTRUCTED (models.md §5, §6 item 11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v2gsim.behavior.mobility.parametric import ParametricSessionSpec, sample_parametric
from v2gsim.optimize.robust.check import sample_realizations
from v2gsim.optimize.robust.feedback_lp import FeedbackSpec
from v2gsim.optimize.robust.full_lp import RobustPlanner
from v2gsim.optimize.robust.settle import realized_outcome, sample_signal
from v2gsim.optimize.robust.site import RobustSpec, day_prices, fleet_day
from v2gsim.optimize.robust.spec import Realizations
from v2gsim.policies.base import DayOutcome, Decision, Observation, PolicyInputs, require_clock_day

__all__ = ["RobustPolicy", "RobustPolicySpec", "make_robust"]

_CLOCK = "seed 004: the site's day of 24 h in slots"


@dataclass(frozen=True)
class RobustPolicySpec:
    """Settings of ``robust``: the plan's settings and the site's session laws."""

    robust: RobustSpec
    sessions: Any
    name: str = "robust"


@dataclass
class RobustPolicy:
    """The seed-004 site planner (module docstring)."""

    spec: RobustSpec
    sessions: ParametricSessionSpec
    rng: np.random.Generator
    name: str = "robust"
    daily_keys: tuple[str, ...] = ("robust_planned_cost", "robust_realized_cost", "robust_reserve_up_kwh",
                                   "robust_reserve_down_kwh", "robust_shortfall_kwh", "robust_violations",
                                   "robust_planned_up_kwh", "robust_planned_down_kwh")
    _planner: RobustPlanner | None = field(default=None, repr=False)
    _pending: tuple | None = field(default=None, repr=False)

    def decide(self, obs: Observation) -> Decision:
        """Plan tomorrow's site; no rebates or platform bids."""
        require_clock_day("robust", obs.hours, _CLOCK)
        if obs.energy_price is None:
            raise ValueError("policy 'robust' needs the day's energy prices: turn [market.energy] on")
        s = self.sessions
        decl = sample_parametric(self.rng, s)
        fleet = fleet_day(self.spec, decl.arrival_h, decl.departure_h, decl.energy_arrival_kwh,
                          decl.energy_wanted_kwh, s.capacity_kwh or 50.0, s.slot_minutes)
        per_hour = fleet.n_slots // obs.hours
        sell = obs.energy_sell_price if obs.energy_sell_price is not None else obs.energy_price
        prices = day_prices(self.spec, np.repeat(obs.energy_price, per_hour), np.repeat(sell, per_hour))
        if self.spec.uncertainty == "scenarios":
            scen = sample_realizations(fleet, self.spec.n_scenarios, self.rng)
            planner = RobustPlanner(fleet, self.spec.business, scenarios=scen)
        else:
            if self._planner is None:
                fb = FeedbackSpec(self.spec.feedback, self.spec.unbalance_cost, self.spec.feedback_max_lag)
                self._planner = RobustPlanner(fleet, self.spec.business, feedback=fb)
            planner = self._planner
        plan = planner.solve(fleet, prices)
        self._pending = (fleet, prices, plan)
        return Decision(rebate=np.zeros(obs.hours), bid_kw=np.zeros(obs.hours), status="optimal",
                        solve_time_s=plan.solve_seconds, info={"robust_plan": plan, "robust_site": fleet})

    def settle(self, outcome: DayOutcome) -> dict[str, float]:
        """Realize the day: TSO requests, sessions; planned vs realized cost, reserve, shortfall."""
        assert self._pending is not None, "settle before decide"
        fleet, prices, plan = self._pending
        w = sample_signal(self.rng, prices)[None, :]
        if self.spec.realized == "box":
            r = sample_realizations(fleet, 1, self.rng)
            real = Realizations(r.a, r.d, r.e0, w)
        else:
            s = self.sessions
            d = sample_parametric(self.rng, s)
            dt = fleet.delta
            a = np.ceil(d.arrival_h / dt - 1e-9).astype(int)[None, :]
            dd = np.maximum(np.floor(d.departure_h / dt + 1e-9).astype(int) - 1, a[0])[None, :]
            real = Realizations(a, dd, np.clip(d.energy_arrival_kwh, 0, fleet.e_max)[None, :], w)
        res = realized_outcome(plan, fleet, prices, real, self.spec.business,
                               unbalance_cost=self.spec.unbalance_cost)
        dt = fleet.delta
        return {"robust_planned_cost": plan.cost, "robust_realized_cost": res["realized_cost"],
                "robust_reserve_up_kwh": res["reserve_up_kwh"],
                "robust_reserve_down_kwh": res["reserve_down_kwh"],
                "robust_shortfall_kwh": res["shortfall_kwh"], "robust_violations": res["violations"],
                "robust_planned_up_kwh": float(plan.r_up.sum() * dt),
                "robust_planned_down_kwh": float(plan.r_down.sum() * dt)}


def make_robust(spec: RobustPolicySpec, inputs: PolicyInputs) -> RobustPolicy:
    """Build ``robust`` from its settings and the run's policy generator.

    Raises:
        ValueError: the scenario's ``[sessions]`` is not a preset/parametric model, or the day is
            not 24 hours (the site's plan is one clock day of slots).
    """
    require_clock_day("robust", inputs.hours, _CLOCK)
    if not isinstance(spec.sessions, ParametricSessionSpec):
        raise ValueError("policy 'robust' needs [sessions] enabled with model = 'preset' or 'parametric'")
    return RobustPolicy(spec=spec.robust, sessions=spec.sessions, rng=inputs.rng)

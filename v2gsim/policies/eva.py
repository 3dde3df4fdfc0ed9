"""Policy ``eva``: the seed-003 aggregator (charging discounts, discharging subsidies) in the daily loop.

RECONSTRUCTED (models.md §4.2): see :mod:`v2gsim.optimize.eva`. Each evening the policy solves the
revenue model (O) on its planning fleet (``spec.evs`` EVs sampled from ``spec.population``, scaled
to the run's fleet size) and announces hourly discount/subsidy levels; its capacity bids (the
peak-regulation capacity it offers the TSO for the requested hours of ``spec.day``) go into the
decision's ``bid_kw``; no per-hour rebates (the incentives are per kWh, settled by the policy).

After the day, :meth:`EvaPolicy.settle` rebuilds the fleet from the realized home sessions, draws
each driver's response to the announced levels from the willingness model (W) (one uniform per
driver and day, so a driver who answers a small incentive answers a larger one), and re-solves (O)
with the levels fixed, the realized response shares and the planned regulation committed (a
shortfall costs ``shortfall_price`` per kWh, in the peak-regulation cost): the daily table gets the
predicted and the realized response shares and revenue items side by side.

The realized home stays are read on the plan's noon-to-noon clock, cyclically over the loop's
calendar day (:meth:`EvaPolicy._realized_fleet`), so an overnight stay is one session, as in the
plan.

Clock: the model's slot 0 is 12:00; the loop's hour h is slot ``(h - 12) mod 24``. The plan is one
24-hour clock day: the policy refuses a day of other than 24 hours (``network.hours``).

Bids: the plan's bids are bounded by its own fleet's regulation power (its prediction of the
plugged EVs); scaled to the run's fleet they are also capped by the whole fleet's ``ψ M``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from v2gsim.optimize.eva.regions import EVSessions
from v2gsim.optimize.eva.spec import EvaSpec, instance_from_spec
from v2gsim.optimize.eva.willingness import ClusterWillingness
from v2gsim.policies.base import DayOutcome, Decision, Observation, PolicyInputs, require_clock_day

if TYPE_CHECKING:  # the MILP (scipy) is imported when the policy first decides
    from v2gsim.optimize.eva.revenue import Breakdown, RevenueInputs

__all__ = ["EvaPolicy", "make_eva", "sessions_to_slots"]

NOON = 12
_CLOCK = "seed 003: 24 hourly slots from 12:00, read cyclically"


def sessions_to_slots(arrival_h: np.ndarray, departure_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrival/departure hours after midnight -> integer slots after noon, ``0 <= t_a < t_d <= 24``."""
    t_a = np.floor(np.mod(arrival_h - NOON, 24)).astype(int)
    stay = np.maximum(np.rint(departure_h - arrival_h), 1).astype(int)
    t_a = np.minimum(t_a, 23)
    return t_a, np.minimum(t_a + stay, 24)


@dataclass
class EvaPolicy:
    """Announce the plan of (O); settle it against the realized sessions and sampled responses."""

    spec: EvaSpec
    rng: np.random.Generator
    fleet: Any = None
    shortfall_price: float = 1.5
    name: str = "eva"
    daily_keys: tuple[str, ...] = (
        "eva_planned_revenue", "eva_realized_revenue", "eva_planned_share", "eva_realized_share",
        "eva_planned_energy_revenue", "eva_realized_energy_revenue", "eva_realized_evs")
    _plan: Breakdown | None = field(default=None, repr=False)
    _scale: float = 1.0

    def decide(self, obs: Observation) -> Decision:
        """Solve (O) for the planning fleet; bids rotated to the loop's clock and scaled to the fleet."""
        from v2gsim.optimize.eva.revenue import solve_revenue

        require_clock_day("eva", obs.hours, _CLOCK)
        if self._plan is None:  # the planning instance is fixed by the spec (its seed): solve once
            x, _, _ = instance_from_spec(self.spec)
            self._plan = solve_revenue(x)
        b, self._scale = self._plan, obs.fleet_size / self.spec.evs
        bid = np.roll(b.plan["bid_kw"], NOON)[: obs.hours] * self._scale
        bid = np.clip(bid, 0.0, obs.charger_kw * obs.fleet_size)  # never beyond the whole fleet
        return Decision(rebate=np.zeros(obs.hours), bid_kw=bid, status="optimal",
                        predicted_profit=b.total_operating_revenue * self._scale,
                        info={"eva_plan": {k: np.asarray(v) for k, v in b.plan.items()},
                              "eva_items": b.items()})

    def _realized_fleet(self, outcome: DayOutcome) -> tuple[EVSessions, np.ndarray]:
        """Today's home stays on the plan's noon-to-noon clock, with the cluster labels of their EVs.

        The day is read cyclically, as the plan is (its slot s is the loop's hour (s + 12) mod 24):
        an EV at home from 18 h and again until 8 h is one stay from slot 6 to slot 20. A stay runs
        from the first to the last home hour on that clock; its arrival energy is the energy
        stored at the start of the day and its wanted energy the same (the loop's default).
        """
        home = np.roll(outcome.plugged_at("home"), -NOON, axis=1)
        i = np.flatnonzero(home.any(axis=1))
        h = home[i]
        t_a = np.argmax(h, axis=1)
        t_d = h.shape[1] - np.argmax(h[:, ::-1], axis=1)
        e_start = np.asarray(outcome.energy_start_kwh, float)[i]
        f = self.fleet
        pop = self.spec.population
        cap = np.asarray(f.capacity_kwh)[i] if f is not None else np.full(i.size, pop.capacity_kwh)
        e_min = (np.asarray(f.soc_min)[i] if f is not None else pop.soc_min) * cap
        e_max = (np.asarray(f.soc_max)[i] if f is not None else pop.soc_max) * cap
        p_c = np.asarray(f.charger_kw, float)[i] if f is not None else np.full(i.size, pop.p_c_kw)
        p_d = np.asarray(f.discharge_kw, float)[i] if f is not None else np.full(i.size, pop.p_d_kw)
        e0 = np.clip(e_start, e_min, e_max)
        reach = np.minimum(e0 + pop.eta_c * p_c * (t_d - t_a), e_max)
        e_req = np.clip(e_start, e_min, reach)
        n = i.size
        ev = EVSessions(e0=e0, e_min=e_min, e_max=e_max, e_req=e_req, p_c=p_c, p_d=p_d,
                        eta_c=np.full(n, pop.eta_c), eta_d=np.full(n, pop.eta_d), t_a=t_a, t_d=t_d, T=24)
        return ev, self.spec.labels(n, self.rng)

    def settle(self, outcome: DayOutcome) -> Mapping[str, float]:
        """Predicted vs realized response shares and revenue of the day (currency, shares in [0, 1])."""
        from v2gsim.optimize.eva.revenue import solve_revenue

        plan = self._plan
        assert plan is not None, "settle() before decide()"
        ev, labels = self._realized_fleet(outcome)
        keys = self.daily_keys
        if ev.M == 0:
            return dict.fromkeys(keys, 0.0) | {
                "eva_planned_revenue": plan.total_operating_revenue * self._scale}
        x, _, _ = instance_from_spec(self.spec, ev=ev, labels=labels)
        u = self.rng.random(ev.M)  # one draw per driver: responds to level k iff u < pi_i(delta_k)
        commit = (plan.plan["r_up_kw"] + plan.plan["r_down_kw"]) * self._scale
        real = replace(self._realized_shares(x, labels, u), commit_kw=commit,
                       shortfall_price=self.shortfall_price)
        levels = (plan.plan["discount_level"], plan.plan["subsidy_level"])
        b = solve_revenue(real, fixed_levels=levels)
        return {"eva_planned_revenue": plan.total_operating_revenue * self._scale,
                "eva_realized_revenue": b.total_operating_revenue,
                "eva_planned_share": _mean_share(plan.plan, plan_pi(plan, "disc", x),
                                                 plan_pi(plan, "sub", x)),
                "eva_realized_share": _mean_share(plan.plan, real.pi_disc, real.pi_sub),
                "eva_planned_energy_revenue": plan.energy_revenue * self._scale,
                "eva_realized_energy_revenue": b.energy_revenue,
                "eva_realized_evs": float(ev.M)}

    def _realized_shares(self, x: RevenueInputs, labels: np.ndarray, u: np.ndarray) -> RevenueInputs:
        """The instance with sampled response shares per level in place of the expected ones."""
        def sampled(forms: Mapping[str, Any], levels: np.ndarray, pi: np.ndarray) -> np.ndarray:
            if not np.any(pi):
                return np.zeros_like(pi)
            cw = ClusterWillingness(forms)
            return np.array([float(np.mean(u < cw.prob(float(d), labels))) for d in levels])
        return replace(x, pi_disc=sampled(self.spec.discount_forms, x.disc_levels, x.pi_disc),
                       pi_sub=sampled(self.spec.subsidy_forms, x.sub_levels, x.pi_sub))


def make_eva(spec: EvaSpec, inputs: PolicyInputs) -> EvaPolicy:
    """Build ``eva`` from its spec, the run's policy generator and the fleet copy.

    Raises:
        ValueError: the run's day is not 24 hours (the plan is one noon-to-noon clock day).
    """
    require_clock_day("eva", inputs.hours, _CLOCK)
    return EvaPolicy(spec=spec, rng=inputs.rng, fleet=inputs.fleet)


def plan_pi(plan: Breakdown, which: str, x: RevenueInputs) -> np.ndarray:
    """The planned (expected) response share per level, recovered from the plan's chosen levels."""
    lv = plan.plan["discount_level" if which == "disc" else "subsidy_level"]
    pi = plan.plan["pi_discount" if which == "disc" else "pi_subsidy"]
    out = np.zeros(np.size(x.disc_levels if which == "disc" else x.sub_levels))
    out[lv] = pi
    return out


def _mean_share(plan: Mapping[str, np.ndarray], pi_disc: np.ndarray, pi_sub: np.ndarray) -> float:
    """Mean response share at the chosen levels over the hours with regulation (0 if none)."""
    up, down = plan["r_up_kw"] > 1e-9, plan["r_down_kw"] > 1e-9
    vals = np.concatenate([np.asarray(pi_sub)[plan["subsidy_level"][up]],
                           np.asarray(pi_disc)[plan["discount_level"][down]]])
    return float(vals.mean()) if vals.size else 0.0

"""Policy ``v2a`` in the daily loop: planned vs realized site schedules (seed 002, issue #12)."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.behavior.mobility import Sessions
from v2gsim.config import ScenarioError
from v2gsim.policies import DayOutcome, Decision, Observation
from v2gsim.policies.v2a import V2APolicy
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import policy_spec

HOURS = 24


def _scenario(n: int, days: int = 3):
    return load_scenario("mao2018_household", ["platform.policy='v2a'", f"drivers.count={n}",
                                               "output.figures=false", "output.progress=false"], days=days)


def _run(days=3, n=30):
    model = V2GMarketModel(_scenario(n, days))
    while model.running:
        model.step()
    return model


def test_daily_table_reports_planned_and_realized():
    model = _run()
    d = model.daily_table()
    assert list(d.columns[-len(V2APolicy.daily_keys):]) == list(V2APolicy.daily_keys)
    # day 0 has no history: nothing planned, nothing offered; later days plan yesterday's sessions
    assert d["v2a_planned_sessions"].iloc[0] == 0 and d["v2a_offer_kwh"].iloc[0] == 0
    assert d["v2a_planned_cost"].iloc[0] == 0 and d["v2a_planned_unmet_kwh"].iloc[0] == 0
    assert (d["v2a_planned_sessions"].iloc[1:] > 0).all()
    assert (d["v2a_realized_sessions"] > 0).all()
    # yesterday's realized sessions are today's plan
    np.testing.assert_array_equal(d["v2a_planned_sessions"].iloc[1:], d["v2a_realized_sessions"].iloc[:-1])
    # the sites' V2G offer is the regulation bid (offer_fraction of the planned V2G power, 1-h slots)
    np.testing.assert_allclose(d["v2a_offer_kwh"], d["bid_kwh"])
    assert (d["v2a_offer_kwh"].iloc[1:] > 0).all()


def _home(ev, energy_kwh) -> Sessions:
    """Overnight home sessions (18 h to 7 h next day) of the EVs ``ev`` with their arrival energies."""
    n = len(ev)
    return Sessions(ev=np.asarray(ev), day=np.zeros(n, int), arrival_h=np.full(n, 18.0),
                    departure_h=np.full(n, 31.0), energy_arrival_kwh=np.asarray(energy_kwh, float),
                    energy_wanted_kwh=np.asarray(energy_kwh, float))


def _outcome(sessions: Sessions, decision: Decision, m: int) -> DayOutcome:
    def sessions_at(place: str) -> Sessions:
        if place != "home":
            raise ValueError(f"no place {place!r}")
        return sessions

    plugged = np.zeros((m, HOURS), bool)
    return DayOutcome(day=0, decision=decision, plugged=plugged, travel_kwh=np.zeros((m, HOURS)),
                      energy_start_kwh=np.zeros(m), hourly={}, sessions_at=sessions_at,
                      plugged_at=lambda place: plugged)


def _decide(policy: V2APolicy, energy_kwh: np.ndarray) -> Decision:
    m = energy_kwh.size
    return policy.decide(Observation(day=1, hours=HOURS, fleet_size=m, charger_kw=3.3,
                                     plugged_history=np.zeros((0, HOURS)), capability_price=np.zeros(HOURS),
                                     performance_price=np.zeros(HOURS), energy_kwh=energy_kwh))


def test_a_plan_settled_on_the_sessions_it_expected_is_realized_exactly():
    """Planned = realized when the day brings the expected sessions; an unplanned EV stays idle."""
    m = 4
    policy = V2GMarketModel(_scenario(m)).platform.policy
    energy = 0.3 * policy.cap  # below every EV's wish: the plan has something to charge
    planned = [0, 1, 2]
    nothing = Decision(np.zeros(HOURS), np.zeros(HOURS))
    first = policy.settle(_outcome(_home(planned, energy[planned]), nothing, m))
    assert first["v2a_planned_sessions"] == 0 and first["v2a_realized_sessions"] == 3

    decision = _decide(policy, energy)
    ev, sched = policy._plan["home"]
    assert ev.tolist() == planned and decision.status == "optimal"
    row = policy.settle(_outcome(_home(planned, energy[planned]), decision, m))
    assert row["v2a_planned_sessions"] == row["v2a_realized_sessions"] == 3
    assert row["v2a_realized_cost"] == pytest.approx(row["v2a_planned_cost"], rel=1e-9, abs=1e-9)
    assert row["v2a_realized_unmet_kwh"] == pytest.approx(row["v2a_planned_unmet_kwh"], abs=1e-9)
    assert row["v2a_planned_cost"] == pytest.approx(sched.costs["cost"])
    assert row["v2a_soc_violations"] == 0
    spec = policy.spec
    assert row["v2a_offer_kwh"] == pytest.approx(spec.offer_fraction * sched.v2g_kw.sum())

    # tomorrow EV 3 comes home too: the plan has no modes for it, it idles and misses its whole wish
    row = policy.settle(_outcome(_home([0, 1, 2, 3], energy), _decide(policy, energy), m))
    assert row["v2a_planned_sessions"] == 3 and row["v2a_realized_sessions"] == 4
    wish_gap = (policy.target[3] - energy[3] / policy.cap[3]) * policy.cap[3]
    assert wish_gap > 1.0
    assert row["v2a_realized_unmet_kwh"] - row["v2a_planned_unmet_kwh"] == pytest.approx(wish_gap)


def test_policy_needs_the_table():
    # refused when the scenario is validated (issue 30 item 8), or at the latest by the adapter
    with pytest.raises(ScenarioError, match=r"platform\.v2a"):
        policy_spec(load_scenario("tiny", ["platform.policy='v2a'"]))

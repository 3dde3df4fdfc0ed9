"""Policy ``v2a`` in the daily loop: planned vs realized site schedules (seed 002, issue #12)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import record_observations

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


def test_the_decision_carries_the_plan_as_the_fleets_base_point_schedule():
    """+P in charging hours, -P in discharging ones (any of H, B, V, G), 0 in the idle hours of the
    expected window and NaN (no plan: baseline charging) outside it, for the planned EVs only; the
    departure shortfall is read from the simulated batteries."""
    m = 4
    policy = V2GMarketModel(_scenario(m)).platform.policy
    energy = 0.3 * policy.cap
    planned = [0, 2, 3]
    policy.settle(_outcome(_home(planned, energy[planned]), Decision(np.zeros(HOURS), np.zeros(HOURS)), m))
    decision = _decide(policy, energy)
    _, sched = policy._plan["home"]
    plan = decision.schedule
    assert plan is not None and plan.slot_minutes == 60 and plan.ev.tolist() == planned
    p = policy.power[planned][:, None]
    want = np.where(sched.modes == 1, p, np.where(sched.modes > 1, -p, 0.0))
    arr, dep = policy._windows["home"]
    hour = np.arange(HOURS)
    window = (hour[None, :] >= arr[:, None]) & (hour[None, :] < dep[:, None])
    want = np.where(window, want, np.nan)
    assert np.isnan(want).any() and not np.isnan(want).all()
    np.testing.assert_array_equal(plan.power_kw, want)
    assert (want > 0).any()  # EVs below their wish charge
    # an overnight stay (18 h to 7 h next day) ends at the end of the loop's day: stored after hour 23
    stored = np.tile(energy[:, None], (1, HOURS))
    stored[0, -1] = policy.target[0] * policy.cap[0] + 1.0  # EV 0 leaves above its wish
    out = _outcome(_home(planned, energy[planned]), decision, m)
    row = policy.settle(DayOutcome(**{**out.__dict__, "stored_kwh": stored}))
    wish = policy.target * policy.cap
    assert row["departure_shortfall_kwh"] == pytest.approx(float(sum(wish[i] - energy[i] for i in (2, 3))))
    assert np.isnan(policy.settle(out)["departure_shortfall_kwh"])  # no simulated batteries given


def _priced(price: float, n: int = 20, days: int = 3) -> V2GMarketModel:
    sc = load_scenario("mao2018_household", [
        "platform.policy='v2a'", f"drivers.count={n}", "output.figures=false", "output.progress=false",
        "platform.v2a.offer_fraction=0", "platform.v2a.lam=0", f"platform.v2a.v2g_price={[price] * 24}"],
        days=days)
    model = V2GMarketModel(sc)
    while model.running:
        model.step()
    return model


def test_the_v2g_price_changes_the_simulated_fleet():
    """Issue 32 acceptance: offer_fraction 0 (no regulation), V2G price 0 vs 9 (lam 0): the plans
    differ and the simulated fleet follows them (hourly net base energy, end-of-run stored energy)."""
    free, paid = _priced(0.0), _priced(9.0)
    hf, hp = free.hourly_table(), paid.hourly_table()
    assert (hf["bid_kw"] == 0).all() and (hp["net_discharge_kwh"] == 0).all()
    # day 0 plans nothing: both runs are the same fleet until the first plan
    day0 = hf["day"] == 0
    cols = ["plugged", "soc_mean", "executed_base_kwh"]
    np.testing.assert_array_equal(hf.loc[day0, cols].to_numpy(), hp.loc[day0, cols].to_numpy())
    # V2G at 9 p.u. plans net discharge, at 0 net charging; the fleet executes part of each plan
    later = ~day0
    assert hp.loc[later, "planned_base_kwh"].sum() < 0 < hf.loc[later, "planned_base_kwh"].sum()
    assert hp.loc[later, "executed_base_kwh"].sum() < hf.loc[later, "executed_base_kwh"].sum()
    assert not np.allclose(hf["executed_base_kwh"], hp["executed_base_kwh"])
    assert paid.fleet.energy_kwh.sum() < free.fleet.energy_kwh.sum() - 1.0
    # executed never exceeds what was planned in magnitude, and the deviation is recorded per day
    for h, model in ((hf, free), (hp, paid)):
        d = model.daily_table()
        by_day = h.groupby("day")["schedule_deviation_kwh"].sum()
        np.testing.assert_allclose(d["schedule_deviation_kwh"], by_day)
        assert (d["schedule_deviation_kwh"].iloc[1:] > 0).all()  # the loop's EVs are not always plugged
        assert (d["departure_shortfall_kwh"] >= 0).all()


def test_evs_that_cannot_discharge_keep_baseline_charging():
    """The site model has one rated power per EV (min of charge and discharge limits): 0 for an EV
    that is not V2G capable, which the schedule then leaves to baseline charging."""
    from v2gsim.core.fleet import EVModelSpec, Fleet, FleetSpec

    models = (EVModelSpec("v2g", 0.5, 60.0, 11.0, 7.0, 0.2, 0.9),
              EVModelSpec("uni", 0.5, 60.0, 11.0, 0.0, 0.2, 0.9, v2g=False))
    fleet = Fleet.from_spec(FleetSpec(count=6, battery_kwh=60.0, charger_kw=10.0, baseline_charge_kw=3.3,
                                      soc_min=0.2, soc_max=0.9, soc_target=0.8, soc_init=(0.3, 0.4),
                                      models=models), np.random.default_rng(1))
    policy = V2APolicy(V2GMarketModel(_scenario(6)).platform.policy.spec, fleet)
    energy = fleet.energy_kwh.copy()
    everyone = list(range(6))
    policy.settle(_outcome(_home(everyone, energy), Decision(np.zeros(HOURS), np.zeros(HOURS)), 6))
    plan = _decide(policy, energy).schedule
    assert plan.ev.tolist() == np.flatnonzero(fleet.v2g).tolist() and 0 < plan.ev.size < 6
    assert (plan.power_kw > 0).any()


def test_v2a_plans_the_declared_sessions_when_sessions_drive_the_loop():
    """With the household preset driving the loop the sites plan the day's declared sessions (no
    history needed: day 0 has a plan), the realized ones are a fresh draw, and the fleet executes."""
    sc = load_scenario("mao2018_household", [
        "platform.policy='v2a'", "drivers.count=20", "sessions.drive=true", "sessions.place='home'",
        "platform.v2a.offer_fraction=0"], days=2)
    model = V2GMarketModel(sc)
    seen = record_observations(model)
    while model.running:
        model.step()
    daily = model.daily_table()
    assert all(o.sessions is not None and len(o.sessions) == 20 for o in seen)
    assert (daily["v2a_planned_sessions"] == 20).all()  # one declared session per EV, every day
    assert (daily["planned_base_kwh"] > 0).all() and (daily["executed_base_kwh"] > 0).all()
    # the realized sessions differ from the declared ones: part of the plan cannot be followed
    assert (daily["schedule_deviation_kwh"] > 0).all()
    assert set(daily.columns) >= {"sessions", "off_site_kwh", "departure_shortfall_kwh"}
    assert (daily["sessions"] == 20).all()

"""Policy ``eva`` in the daily loop: bids from the plan, predicted vs realized columns, commitment."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.optimize.eva.revenue import RevenueInputs, solve_revenue
from v2gsim.optimize.eva.spec import instance_from_spec
from v2gsim.policies.eva import EvaPolicy
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import eva_spec


@pytest.fixture(scope="module")
def hybrid():
    scenario = load_scenario("ma2025_hybrid", days=4)
    model = V2GMarketModel(scenario)
    assert isinstance(model.platform.policy, EvaPolicy)
    while model.running:
        model.step()
    return scenario, model


def test_day_zero_plans_the_sampled_population_without_a_schedule(hybrid):
    scenario, model = hybrid
    daily = model.daily_table()
    assert set(EvaPolicy.daily_keys) <= set(daily.columns)
    spec = eva_spec(scenario.platform.eva)
    plan = solve_revenue(instance_from_spec(spec)[0])
    scale = scenario.drivers.count / spec.evs
    assert daily["eva_planned_revenue"][0] == pytest.approx(plan.total_operating_revenue * scale)
    # day 0's hourly bids = the plan's bids rotated from the noon clock and scaled
    bids = model.hourly_table().query("day == 0")["bid_kw"].to_numpy()
    assert np.allclose(bids, np.roll(plan.plan["bid_kw"], 12) * scale)
    assert daily["planned_base_kwh"][0] == 0 and np.isnan(daily["planned_cost"][0])


def test_later_days_plan_the_loops_evs_and_the_fleet_executes_it(hybrid):
    _, model = hybrid
    daily = model.daily_table().iloc[1:]
    # re-solved daily on the forecast of the loop's own EVs: the plan changes from day to day
    assert daily["eva_planned_revenue"].nunique() == len(daily)
    assert (daily["planned_base_kwh"].abs() > 0).all() and (daily["executed_base_kwh"].abs() > 0).all()
    # what the batteries could not follow is measured, not hidden
    assert (daily["schedule_deviation_kwh"] > 0).all()
    assert np.isfinite(daily[["planned_cost", "realized_cost", "departure_shortfall_kwh",
                              "eva_disaggregation_gap_kwh"]].to_numpy()).all()
    slots = model.slots_table()
    assert set(slots["day"]) == {1, 2, 3}
    executed = slots.groupby("day")["executed_kw"].sum().to_numpy()  # hourly slots: kW = kWh
    assert np.allclose(executed, daily["executed_base_kwh"].to_numpy())
    # the drawn response shares match the expected ones within sampling error (~200 EVs at home)
    for row in daily.itertuples():
        p = row.eva_planned_share
        assert 0 < p < 1 and abs(row.eva_realized_share - p) <= 0.15


def test_the_incentives_change_what_the_fleet_does():
    """No discount (levels all 0) vs the seed's levels: the executed base energy differs."""
    base = V2GMarketModel(load_scenario("ma2025_cbdr", days=3))
    none = V2GMarketModel(load_scenario("ma2025_cbdr", ["platform.eva.discount_levels=[0.0]"], days=3))
    for m in (base, none):
        while m.running:
            m.step()
    a, b = base.hourly_table()["executed_base_kwh"], none.hourly_table()["executed_base_kwh"]
    assert not np.allclose(a, b)
    assert not np.allclose(base.fleet.energy_kwh, none.fleet.energy_kwh)


def test_commitment_shortfall_is_priced_into_peak_regulation_cost():
    spec = eva_spec(load_scenario("ma2025_cbdr").platform.eva)
    x, _, _ = instance_from_spec(spec)
    plan = solve_revenue(x)
    lv = (plan.plan["discount_level"], plan.plan["subsidy_level"])
    commit = plan.plan["r_up_kw"] + plan.plan["r_down_kw"]
    weak = RevenueInputs(**{**x.__dict__, "pi_disc": x.pi_disc / 2, "commit_kw": commit,
                            "shortfall_price": 5.0})
    b = solve_revenue(weak, fixed_levels=lv)
    short = b.plan["shortfall_kw"]
    assert short.sum() > 1.0  # half the responders cannot deliver the plan
    assert np.allclose(short, np.maximum(commit - b.plan["r_up_kw"] - b.plan["r_down_kw"], 0), atol=1e-6)
    reg = float(np.sum(x.day.c_reg * (b.plan["r_up_kw"] + b.plan["r_down_kw"])) + 5.0 * short.sum())
    assert np.isclose(b.peak_regulation_cost, reg)


def test_realized_home_stays_are_read_on_the_noon_clock():
    from v2gsim.policies.base import DayOutcome

    policy = EvaPolicy(spec=eva_spec(load_scenario("ma2025_hybrid").platform.eva),
                       rng=np.random.default_rng(0))
    home = np.zeros((3, 24), dtype=bool)
    home[0, 18:] = home[0, :8] = True  # overnight: 18 h to 8 h -> noon slots 6..19
    home[1, 13:15] = True  # afternoon: noon slots 1..2
    energy = np.array([10.0, 20.0, 30.0])
    out = DayOutcome(day=0, decision=None, plugged=home, travel_kwh=np.zeros((3, 24)),
                     energy_start_kwh=energy, hourly={}, sessions_at=None,
                     plugged_at=lambda place: home if place == "home" else np.zeros_like(home))
    idx, ev, at_home = policy._realized_fleet(out)
    assert idx.tolist() == [0, 1]
    assert ev.t_a.tolist() == [6, 1] and ev.t_d.tolist() == [20, 3]
    assert at_home.shape == (2, 24) and at_home[0, 6:20].all() and at_home[1].sum() == 2
    # on the next day the window is yesterday's 12-24 h and today's 0-12 h
    home2 = np.zeros((3, 24), dtype=bool)
    home2[2, 2:4] = True  # EV 2 at home 2-4 h today -> noon slots 14..15
    out2 = DayOutcome(day=1, decision=None, plugged=home2, travel_kwh=np.zeros((3, 24)),
                      energy_start_kwh=energy, hourly={}, sessions_at=None,
                      plugged_at=lambda place: home2 if place == "home" else np.zeros_like(home2))
    idx, ev, _ = policy._realized_fleet(out2)
    # EV 0: 18-24 h yesterday (slots 6..11); EV 1: 13-15 h yesterday (slots 1..2); EV 2: slots 14..15
    assert idx.tolist() == [0, 1, 2] and ev.t_a.tolist() == [6, 1, 14] and ev.t_d.tolist() == [12, 3, 16]


def test_with_rebates_the_incentives_change_who_plugs_in():
    """drivers_see = "rebate": the plan's expected incentive per EV at home is the hour's rebate, the
    drivers' paths see it (more plugged EV-hours where it is paid) and the platform pays it: the
    realized incentives are the rebates paid (exchange rate 1)."""
    runs = {}
    for see in ("none", "rebate"):
        m = V2GMarketModel(load_scenario("ma2025_cbdr", [f'platform.eva.drivers_see="{see}"'], days=4))
        while m.running:
            m.step()
        runs[see] = m
    none, paid = runs["none"].hourly_table(), runs["rebate"].hourly_table()
    assert (none["rebate"] == 0).all() and (paid["rebate"] > 0).any()
    on = paid["rebate"] > 0
    assert paid.loc[on, "plugged"].sum() > none.loc[on, "plugged"].sum()
    np.testing.assert_allclose(paid["rebates_paid"], paid["rebate"] * paid["plugged"])
    daily = runs["rebate"].daily_table()
    assert daily["rebates_paid"].iloc[2:].gt(0).all()

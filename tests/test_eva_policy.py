"""Policy ``eva`` in the daily loop: bids from the plan, predicted vs realized columns, commitment."""

from __future__ import annotations

import numpy as np

from v2gsim import load_scenario
from v2gsim.optimize.eva.revenue import RevenueInputs, solve_revenue
from v2gsim.optimize.eva.spec import instance_from_spec
from v2gsim.policies.eva import EvaPolicy, sessions_to_slots
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import eva_spec


def test_eva_runs_in_the_loop_with_planned_and_realized_columns():
    scenario = load_scenario("ma2025_hybrid", days=2)
    model = V2GMarketModel(scenario)
    assert isinstance(model.platform.policy, EvaPolicy)
    while model.running:
        model.step()
    daily = model.daily_table()
    keys = list(EvaPolicy.daily_keys)
    assert set(keys) <= set(daily.columns)
    spec = eva_spec(scenario.platform.eva)
    plan = solve_revenue(instance_from_spec(spec)[0])
    scale = scenario.drivers.count / spec.evs
    assert np.allclose(daily["eva_planned_revenue"], plan.total_operating_revenue * scale)
    # hourly bids in the loop = the plan's bids rotated from the noon clock and scaled
    bids = model.hourly_table().query("day == 0")["bid_kw"].to_numpy()
    assert np.allclose(bids, np.roll(plan.plan["bid_kw"], 12) * scale)
    # sampled response shares match the expected ones within sampling error
    for row in daily.itertuples():
        p, n = row.eva_planned_share, row.eva_realized_evs
        assert 0 < p < 1 and abs(row.eva_realized_share - p) <= 4 * np.sqrt(p * (1 - p) / n) + 0.05


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


def test_sessions_to_slots():
    t_a, t_d = sessions_to_slots(np.array([19.0, 2.0, 12.0]), np.array([31.0, 24.0, 13.0]))
    assert t_a.tolist() == [7, 14, 0] and t_d.tolist() == [19, 24, 1]


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
    ev, labels = policy._realized_fleet(out)
    assert ev.t_a.tolist() == [6, 1] and ev.t_d.tolist() == [20, 3] and labels.size == 2

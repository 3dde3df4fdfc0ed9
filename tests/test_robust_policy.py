"""Policy ``robust`` (seed 004) in the daily loop: the plan of the loop's own EVs, executed by the
fleet (issue #32): zero shortfall and no deviation inside the box, both measured outside it."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.policies.robust import RobustPolicy
from v2gsim.sim.model import V2GMarketModel


def _run(overrides=(), days=3):
    model = V2GMarketModel(load_scenario("bianchi2023_parking", list(overrides), days=days))
    while model.running:
        model.step()
    return model


@pytest.fixture(scope="module")
def inside():
    return _run(days=30)


def test_inside_the_box_the_promise_holds_every_day(inside):
    """30 days of sessions realized inside the declared box: every EV leaves with its wanted energy
    and follows its plan (the fleet's physics never had to cut a planned slot)."""
    daily = inside.daily_table()
    assert set(RobustPolicy.daily_keys) <= set(daily.columns)
    assert (daily["robust_sessions_outside"] == 0).all()
    assert (daily["departure_shortfall_kwh"] == 0).all()
    assert (daily["robust_violations"] == 0).all()
    assert daily["schedule_deviation_kwh"].max() < 1e-9
    assert np.allclose(daily["planned_cost"], daily["realized_cost"], atol=1e-9)
    assert np.allclose(daily["reserve_delivered_kwh"], daily["reserve_requested_kwh"], atol=1e-9)
    assert daily["reserve_requested_kwh"].sum() > 0  # the TSO called the reserve on some day
    assert (daily["sessions"] == 10).all()
    # the plan moved the batteries: executed base energy = planned, and charging happened
    assert (daily["executed_base_kwh"] > 0).all()
    hourly = inside.hourly_table()
    assert np.allclose(hourly["bid_kw"], 0.0)  # no regulation bids, no rebates


def test_the_plugged_in_matrix_is_the_sessions(inside):
    hourly = inside.hourly_table()
    # bianchi2023_uniform: arrivals 6-8 h (+- 0.5 h box), departures 16-20 h: nobody before 5 h
    assert (hourly.loc[hourly["hour"] < 5, "plugged"] == 0).all()
    assert (hourly.loc[hourly["hour"].between(9, 14), "plugged"] == 10).all()


def test_outside_the_box_the_shortfall_is_measured():
    daily = _run(['platform.robust.realized="preset"'], days=5).daily_table()
    assert daily["robust_sessions_outside"].sum() > 0
    assert daily["schedule_deviation_kwh"].sum() > 0
    assert daily["robust_violations"].sum() > 0
    assert daily["departure_shortfall_kwh"].sum() > 0
    assert (daily["realized_cost"] != daily["planned_cost"]).any()


def test_the_business_model_changes_the_fleet():
    """PC without reserve prices vs FC with pi_up = pi_down = 0.5 (issue #32 acceptance)."""
    pc = _run(['platform.robust.up_factor=0', 'platform.robust.down_factor=0'], days=3)
    fc = _run(['platform.robust.business="FC"', 'platform.robust.pi_up=0.5',
               'platform.robust.pi_down=0.5'], days=3)
    assert not np.allclose(pc.fleet.energy_kwh, fc.fleet.energy_kwh)
    a, b = pc.hourly_table(), fc.hourly_table()
    assert not np.allclose(a["executed_base_kwh"], b["executed_base_kwh"])


def test_same_seed_same_tables():
    a, b = _run(days=2), _run(days=2)
    cols = [c for c in a.daily_table().columns if c != "solve_time_s"]
    assert a.daily_table()[cols].equals(b.daily_table()[cols])


def test_needs_energy_prices():
    from v2gsim.config.base import ScenarioError

    with pytest.raises(ScenarioError, match=r"market\.energy\.source: policy 'robust'"):
        _run(['market.energy.source="none"'], days=1)


def test_feedback_is_refused_in_the_loop():
    from v2gsim.config.base import ScenarioError

    with pytest.raises(ScenarioError, match=r"platform\.robust\.feedback"):
        load_scenario("bianchi2023_parking",
                      ['platform.robust.business="FC"', "platform.robust.feedback=true"])

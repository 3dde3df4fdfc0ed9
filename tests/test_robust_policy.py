"""Policy ``robust`` (seed 004) in the daily loop: planned vs realized, reserve, shortfall."""

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


def test_inside_box_no_shortfall_and_columns():
    model = _run()
    daily = model.daily_table()
    keys = RobustPolicy.daily_keys
    assert set(keys) <= set(daily.columns)
    assert (daily["robust_violations"] == 0).all() and (daily["robust_shortfall_kwh"] == 0).all()
    assert (daily["robust_planned_up_kwh"] > 0).all()
    # reserve is delivered only when requested: never more than planned
    assert (daily["robust_reserve_up_kwh"] <= daily["robust_planned_up_kwh"] + 1e-9).all()
    # the platform's own market is untouched: no bids, no rebates
    hourly = model.hourly_table()
    assert np.allclose(hourly["bid_kw"], 0.0)


def test_outside_box_violations_reported():
    daily = _run(['platform.robust.realized="preset"'], days=3).daily_table()
    assert daily["robust_violations"].sum() > 0
    assert daily["robust_shortfall_kwh"].sum() > 0


def test_needs_energy_prices():
    from v2gsim.config.base import ScenarioError

    with pytest.raises(ScenarioError, match=r"market\.energy\.source: policy 'robust'"):
        _run(['market.energy.source="none"'], days=1)

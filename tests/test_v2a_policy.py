"""Policy ``v2a`` in the daily loop: planned vs realized site schedules (seed 002, issue #12)."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.config import ScenarioError
from v2gsim.policies.v2a import V2APolicy
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import policy_spec


def _run(days=3, n=30):
    sc = load_scenario("mao2018_household", ["platform.policy='v2a'", f"drivers.count={n}",
                                             "output.figures=false", "output.progress=false"], days=days)
    model = V2GMarketModel(sc)
    while model.running:
        model.step()
    return model


def test_daily_table_reports_planned_and_realized():
    model = _run()
    d = model.daily_table()
    for k in V2APolicy.daily_keys:
        assert k in d.columns
    # day 0 has no history: nothing planned, nothing offered; later days plan yesterday's sessions
    assert d["v2a_planned_sessions"].iloc[0] == 0 and d["v2a_offer_kwh"].iloc[0] == 0
    assert (d["v2a_planned_sessions"].iloc[1:] > 0).all()
    assert (d["v2a_realized_sessions"] > 0).all()
    # the sites' V2G offer is the regulation bid (offer_fraction of the planned V2G power, 1-h slots)
    np.testing.assert_allclose(d["v2a_offer_kwh"], d["bid_kwh"])
    assert (d["v2a_realized_unmet_kwh"] >= 0).all() and (d["v2a_planned_unmet_kwh"] >= 0).all()
    assert (d["v2a_soc_violations"] >= 0).all()


def test_policy_needs_the_table():
    sc = load_scenario("tiny", ["platform.policy='v2a'"])
    with pytest.raises(ScenarioError, match=r"platform\.v2a"):
        policy_spec(sc)

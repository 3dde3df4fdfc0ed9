"""Promised fallbacks and profit semantics (issue 30 item 7).

* ``--set network.places.0.plug_sigma=1e-12`` stopped with exit 1 (Newton on (D4) did not converge
  in the evening's re-calibration); now the day records a belief fallback and keeps yesterday's
  beliefs.
* A degradation cost of 2.8e12 $/day left ``profit`` untouched without saying so; now ``profit`` is
  documented as the regulation market's (credits minus rebates) and ``profit_net_degradation``
  (daily table and summary) subtracts the battery wear.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import step_model

from v2gsim.behavior import beliefs as beliefs_module
from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.persistency import PersistencySolveError
from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.experiments.runner import run_scenario

CALIBRATED = ['platform.beliefs="calibrated"', 'platform.policy="chance"']


def test_recalibration_failure_keeps_beliefs_and_records_a_fallback():
    model = step_model("tiny", [*CALIBRATED, "network.places.0.plug_sigma=1e-12"], days=2)
    daily = model.daily_table()
    assert len(daily) == 2
    assert daily["fallback_reason"].str.contains("belief fallback: recalibrate: PersistencySolveError").all()
    assert daily["policy_status"].str.contains("belief fallback").all()
    assert daily["belief_error"].isna().all()
    assert [phase for _, phase, _ in model.platform.fallbacks].count("recalibrate") == 2


def test_cli_run_with_a_degenerate_plug_sigma_exits_0(tmp_path):
    args = ["run", "tiny", "--days", "1", "--out", str(tmp_path / "run"), "--quiet",
            *[a for s in [*CALIBRATED, "network.places.0.plug_sigma=1e-12"] for a in ("--set", s)]]
    assert main(args) == 0


def test_recalibration_is_all_or_nothing(monkeypatch):
    """A failure in the second cluster leaves the first cluster's beliefs as they were too."""
    model = step_model("tiny", [*CALIBRATED, "drivers.clusters=[{name='a', share=0.5}, "
                                              "{name='b', share=0.5}]"], days=1)
    beliefs: ClusterBeliefs = model.platform.beliefs
    before = [net.mu.copy() for net in beliefs.networks]
    real = beliefs_module.calibrate_place
    calls = []

    def flaky(net, observed, place):
        calls.append(place)
        if len(calls) == 2:
            raise PersistencySolveError("did not converge", name="test", solver="newton",
                                        status="not_converged", summary="")
        return real(net, observed, place)

    monkeypatch.setattr(beliefs_module, "calibrate_place", flaky)
    observed = {(0, "home"): np.full(24, 0.3), (1, "home"): np.full(24, 0.3)}
    with pytest.raises(PersistencySolveError):
        beliefs.recalibrate(observed)
    for net, mu in zip(beliefs.networks, before, strict=True):
        np.testing.assert_array_equal(net.mu, mu)


def test_profit_net_of_degradation():
    plain = run_scenario(load_scenario("tiny", days=2), progress=False)
    worn = run_scenario(load_scenario("tiny", ["drivers.degradation.throughput_cost=1e9"], days=2),
                        progress=False)
    d = worn.daily
    np.testing.assert_allclose(d["profit"], plain.daily["profit"])  # profit is the market's
    np.testing.assert_allclose(d["profit_net_degradation"], d["profit"] - d["degradation_cost"])
    s = worn.summary
    assert s["profit"] == pytest.approx(plain.summary["profit"])
    assert s["degradation_cost"] == pytest.approx(d["degradation_cost"].sum())
    assert s["profit_net_degradation"] == pytest.approx(s["profit"] - s["degradation_cost"])
    assert s["profit_net_degradation"] < -1e9
    assert "profit_net_degradation" not in plain.summary
    assert "profit_net_degradation" not in plain.daily

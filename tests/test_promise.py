"""The promise beside the outcome: the guarantee's realized share, the forecast error, the warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.experiments.promise import clopper_pearson
from v2gsim.experiments.runner import run_scenario

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_clopper_pearson_by_hand():
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))  # 0.3085
    lo, hi = clopper_pearson(10, 10)
    assert lo == pytest.approx(0.025 ** (1 / 10)) and hi == 1.0
    assert clopper_pearson(5, 10) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    assert all(np.isnan(clopper_pearson(0, 0)))


@pytest.fixture(scope="module")
def wrong():
    """Chance bids planned with the scenario's own (worst-case population) prediction."""
    return run_scenario(load_scenario(SCEN / "default.toml", ['platform.beliefs="scenario"'],
                                      days=10), progress=False)


def test_a_wrong_forecast_breaks_the_guarantee_and_says_so(wrong, capsys, tmp_path):
    s = wrong.summary
    assert s["guarantee_broken"] and s["share_bid_hours_below_target"] > 0.15
    assert s["share_below_target_ci95_low"] > s["guarantee_eta"] == 0.05
    assert s["forecast_mae_plugged"] > 5.0
    assert main(["run", "--days", "10", "--set", 'platform.beliefs="scenario"', "--out",
                 str(tmp_path / "r"), "--quiet", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: the guarantee is broken" in out and "promise: score >= 0.95" in out


def test_a_learned_forecast_keeps_the_guarantee(wrong):
    right = run_scenario(load_scenario(SCEN / "default.toml", days=10), progress=False)
    s = right.summary
    assert not s["guarantee_broken"] and s["share_below_target_ci95_low"] <= 0.05
    assert s["share_bid_hours_below_target"] < wrong.summary["share_bid_hours_below_target"] / 3
    assert s["forecast_mae_plugged"] < wrong.summary["forecast_mae_plugged"]


def test_an_exact_forecast_keeps_the_guarantee():
    """Extremal drivers are the population the persistency prediction describes."""
    r = run_scenario(load_scenario(SCEN / "default.toml", ['platform.beliefs="scenario"',
                                                           'drivers.distribution="extremal"'],
                                   days=5), progress=False)
    assert not r.summary["guarantee_broken"]


def test_daily_forecast_error_is_hourly_resolved(wrong):
    h, d = wrong.hourly, wrong.daily
    err = (h["predicted_plugged"] - h["plugged"]).abs().groupby(h["day"])
    np.testing.assert_allclose(d["forecast_mae"], err.mean())
    np.testing.assert_allclose(d["forecast_max_abs_error"], err.max())
    # the daily totals agree much better than the hours (what the hourly error shows)
    total_gap = abs(d["predicted_ev_hours"].sum() - d["plugged_ev_hours"].sum()) / 240
    assert total_gap < d["forecast_mae"].mean() / 2


def test_fallbacks_are_recorded_with_their_reason(capsys, tmp_path):
    scen = load_scenario(SCEN / "tiny.toml", ["network.places.0.sigma=1e-12",
                                              'platform.policy="bilevel"',
                                              "platform.chance.requirement_days=1"], days=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = run_scenario(scen, progress=False).daily
    reason = d["fallback_reason"].item()
    assert reason.startswith("belief fallback: observe: PersistencySolveError")
    assert "policy fallback: BeliefsUnavailable" in reason
    ok = run_scenario(load_scenario(SCEN / "tiny.toml", days=1), progress=False).daily
    assert ok["fallback_reason"].tolist() == [""]


def test_default_platform_keeps_its_guarantee_on_real_regd_days():
    require_shared("pjm_regd_2s_2020-07/regd_2s_2020-07-16.csv")
    require_shared("pjm_regd_2s_2020-07/regd_2s_2020-07-17.csv")
    require_shared("pjm_reg_market_2016/reg_market_results_2016.csv")
    r = run_scenario(load_scenario(SCEN / "pjm_regd_2020.toml", days=30), progress=False)
    s = r.summary
    assert s["policy"] == "chance" and s["bid_hours"] > 300
    assert s["share_bid_hours_below_target"] <= 0.05 and not s["guarantee_broken"]


def test_the_warning_names_the_policy_and_the_remedy():
    from v2gsim.experiments.promise import promise_lines

    s = {"bid_hours": 100, "score_target": 0.95, "guarantee_eta": 0.05,
         "share_bid_hours_below_target": 0.2, "share_below_target_ci95_low": 0.13,
         "share_below_target_ci95_high": 0.29, "guarantee_broken": True,
         "forecast_mae_plugged": 4.0, "forecast_max_abs_error_plugged": 20.0,
         "predicted_profit": None, "policy": "chance", "beliefs": "scenario"}
    assert "beliefs = 'calibrated'" in promise_lines(s)[-1]
    assert "plug_source = 'history'" in promise_lines({**s, "beliefs": "calibrated"})[-1]
    naive = promise_lines({**s, "policy": "naive"})[-1]
    assert naive.startswith("NOTE: naive makes no guarantee") and "20.0%" in naive
    assert not any("WARNING" in x for x in promise_lines({**s, "guarantee_broken": False}))

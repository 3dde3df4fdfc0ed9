"""Policy `bilevel` in the model and the `v2gsim solve` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.experiments.runner import run_scenario
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import build_policy

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
RICH = ["drivers.charger_kw=30", "drivers.count=200"]  # rebates pay at 30 kW chargers


@pytest.mark.parametrize("overrides", [[], RICH])
def test_bilevel_never_predicts_less_than_chance(overrides):
    scen = load_scenario(SCEN / "tiny.toml", overrides)
    model = V2GMarketModel(scen)
    obs = model.platform.observe(0, *model.tso.price_forecast())
    pol = build_policy(scen, "bilevel")
    sol = pol.solve(obs)
    chance = pol.chance.decide(obs)
    assert sol.objective_no_rebates == pytest.approx(chance.info["expected_credit"], rel=1e-6)
    assert sol.objective >= sol.objective_no_rebates - 1e-9
    # zero rebates reproduce the chance bids
    if np.all(sol.rebates == 0):
        np.testing.assert_allclose(sol.bids, chance.bid_kw, rtol=1e-6, atol=1e-6)
    assert sol.certificate <= 1e-4


def test_bilevel_policy_runs_daily_and_records_its_solves():
    scen = load_scenario(SCEN / "tiny.toml", ['platform.policy="bilevel"', *RICH], days=3)
    r = run_scenario(scen)
    d, h = r.daily, r.hourly
    assert set(d["policy_status"]) <= {"optimal", "time_limit", "feasible"}
    assert (d["solve_time_s"] > 0).all() and (d["gap"] >= 0).all()
    # rebates pay here, and every hour's rebate is one of the scenario's levels (Decision already
    # refuses negative ones)
    assert (h["rebate"] > 0).any()
    assert set(h["rebate"].round(12)) <= set(scen.platform.bilevel.levels)
    # rebates are paid per plugged EV-hour
    np.testing.assert_allclose(h["rebates_paid"], h["rebate"] * h["plugged"])


def test_solve_command_json(capsys):
    sets = [arg for o in RICH for arg in ("--set", o)]
    assert main(["solve", str(SCEN / "tiny.toml"), "--json", *sets]) == 0
    out = json.loads(capsys.readouterr().out)
    scen = load_scenario(SCEN / "tiny.toml", RICH)
    levels = np.asarray(scen.platform.bilevel.levels)
    rebates, y = np.asarray(out["rebates"]), np.asarray(out["y"])
    assert len(out["rebates"]) == len(out["bids"]) == len(out["y"]) == 24
    assert out["objective"] >= out["objective_no_rebates"]
    # the hourly rebates are the levels the solution indexes
    np.testing.assert_array_equal(rebates, levels[out["level_index"]])
    # objective = credits - rebates paid; rebates paid = s_t x plugged-in EVs (one cluster of 200)
    assert out["objective"] == pytest.approx(out["credit"] - out["rebate_cost"], rel=1e-12)
    assert out["rebate_cost"] == pytest.approx(scen.drivers.count * rebates @ y[:, 0], rel=1e-9)
    np.testing.assert_allclose(out["plug_fraction"], y[:, 0], rtol=1e-12)
    # the reported gap and improvement are those of the reported bound and values
    assert out["upper_bound"] >= out["objective"]
    assert out["gap"] == pytest.approx((out["upper_bound"] - out["objective"]) / out["objective"], rel=1e-9)
    assert out["improvement"] == pytest.approx(out["objective"] / out["objective_no_rebates"] - 1, rel=1e-9)
    assert out["certificate"] <= 1e-4 and out["solve_time_s"] > 0


def test_soc_guarantee_switch_in_the_policy():
    scen = load_scenario(SCEN / "tiny.toml", [*RICH, "platform.bilevel.soc_guarantee=true",
                                              "drivers.baseline_charge_kw=1.0"])
    pol = build_policy(scen, "bilevel")
    assert pol.soc is not None and pol.soc.omega == 1.0
    model = V2GMarketModel(scen)
    obs = model.platform.observe(0, *model.tso.price_forecast())
    with_soc = pol.solve(obs)
    pol.soc, pol.problem = None, None
    without = pol.solve(obs)
    assert with_soc.objective <= without.objective + 1e-9
    assert with_soc.status in ("optimal", "time_limit")


def test_community_objective_switch_in_the_model():
    scen = load_scenario(SCEN / "tiny.toml", ['platform.policy="bilevel"', *RICH,
                                              'platform.bilevel.objective="community"'], days=2)
    r = run_scenario(scen)
    d = r.daily
    assert set(d["policy_status"]) <= {"optimal", "feasible"}
    assert (d["predicted_profit"] >= -1e-9).all()  # the community keeps the platform solvent


def test_solve_command_community(capsys):
    sets = [arg for o in [*RICH, 'platform.bilevel.objective="community"'] for arg in ("--set", o)]
    assert main(["solve", str(SCEN / "tiny.toml"), *sets]) == 0
    out = capsys.readouterr().out
    assert "community (E2)" in out and "upper bound" in out

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
    assert (h["rebate"] >= 0).all() and (h["rebate"] > 0).any()
    # rebates are paid per plugged EV-hour
    np.testing.assert_allclose(h["rebates_paid"], h["rebate"] * h["plugged"])


def test_solve_command_json(capsys):
    sets = [arg for o in RICH for arg in ("--set", o)]
    assert main(["solve", str(SCEN / "tiny.toml"), "--json", *sets]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("rebates", "bids", "y", "objective", "gap", "solve_time_s", "certificate"):
        assert key in out
    assert len(out["rebates"]) == 24 and out["objective"] >= out["objective_no_rebates"]


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

"""``v2gsim profitability`` and the seed-004 parking scenario (models.md §5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared

from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.optimize.robust import check_plan, sample_realizations
from v2gsim.optimize.robust.full_lp import RobustPlanner
from v2gsim.studies.robust import scenario_day, site_report

GME = "italy_gme_pun_msd_nord_2019-08_10"


def _untimed(obj):
    """``obj`` without its ``solve_seconds`` entries (at any depth)."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if k != "solve_seconds"}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def test_profitability_text_prints_the_report(tmp_path, capsys):
    assert main(["profitability", "bianchi2023_parking", "--json", "--no-figures"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert "figure" not in rep
    assert main(["profitability", "bianchi2023_parking", "--no-figures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    wp, cf, fp = rep["working_point"], rep["closed_form"], rep["full_plan"]
    assert len(lines) == 3
    assert lines[0].startswith(f"bianchi2023_parking: business {wp['business']}, day-averaged c+ "
                               f"{wp['c_plus']:.4f}, ")
    assert lines[1].startswith(f"reduced problem: regime {cf['regime']} (LP: {rep['lp']['regime']}), "
                               f"J* {cf['cost']:.4f} {rep['currency']}, gamma_up {cf['gamma_up']:+.4f}")
    assert lines[2].startswith(f"full robust plan ({fp['n_vehicles']} vehicles): expected cost "
                               f"{fp['cost']:.3f} {rep['currency']}, ")


def test_profitability_cli_json_and_figure(tmp_path, capsys):
    fig = tmp_path / "plane.png"
    assert main(["profitability", "bianchi2023_parking", "--json", "--out", str(fig)]) == 0
    out = json.loads(capsys.readouterr().out)
    wp, cf, lp = out["working_point"], out["closed_form"], out["lp"]
    assert cf["regime"] == lp["regime"] and cf["cost"] == pytest.approx(lp["cost"], abs=1e-7)
    assert cf["gamma_up"] == pytest.approx(wp["pi_up"] * (wp["c_up"] - wp["c_ch"]))
    gd = wp["pi_down"] * (wp["c_plus"] - wp["c_down"]) - (1 - wp["pi_down"]) * (wp["c_ch"] - wp["c_plus"])
    assert cf["gamma_down"] == pytest.approx(gd)
    assert out["full_plan"]["n_vehicles"] == 10 and fig.stat().st_size > 10_000
    assert out["figure"] == str(fig)
    # the JSON is the library's report of the same day (solve times aside)
    lib = json.loads(json.dumps(site_report(scenario_day(load_scenario("bianchi2023_parking"))),
                                default=float))
    assert _untimed(out) == _untimed({**lib, "figure": str(fig)})
    # the preset: arrivals 6-8 h, departures 16-20 h, 15-minute slots
    site = scenario_day(load_scenario("bianchi2023_parking"))
    assert site.fleet.n_slots == 96 and site.fleet.a_lo.min() >= 22 and site.fleet.d_hi.max() <= 81


def test_parking_plan_robust_inside_its_box():
    site = scenario_day(load_scenario("bianchi2023_parking"))
    plan = RobustPlanner(site.fleet, "PC").solve(site.fleet, site.prices)
    res = check_plan(plan, site.fleet, sample_realizations(site.fleet, 1000, np.random.default_rng(4)))
    assert res["any"] == 0


def test_gme_prices(tmp_path):
    pun = require_shared(f"{GME}/pun_2019-08_10.csv")
    msd = require_shared(f"{GME}/msd_nord_avg_prices_2019-08_10.csv")
    sets = ['market.energy.source="gme"', f'market.energy.price_file="{pun}"',
            f'market.energy.balancing_file="{msd}"', "market.energy.exchange_rate=1.11"]
    site = scenario_day(load_scenario("bianchi2023_parking", sets))
    assert site.currency == "EUR"
    # PUN of August 2019 is 0.02-0.12 EUR/kWh; c_up comes from the MSD file, not the factor
    assert 0.01 < site.prices.c_plus.mean() < 0.15
    assert not np.allclose(site.prices.c_up, 2.0 * site.prices.c_plus)
    rep = site_report(site)
    assert rep["closed_form"]["regime"] == rep["lp"]["regime"]

"""Smoke test of analysis/evolutionary_convergence.py (quick mode, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_script

from v2gsim.game.basins import basin_of_cooperation
from v2gsim.game.params import GameParams


def test_quick_study(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    assert load_script("analysis/evolutionary_convergence.py").main(["--quick", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    for name in ("basin.csv", "basin.png", "gaps.csv", "gaps.png", "price_learning.csv",
                 "price_learning.png", "summary.json"):
        assert (out / name).stat().st_size > 0, name

    basin = pd.read_csv(out / "basin.csv")
    # (an area share of the unit square) positive exactly where the interior saddle D exists
    assert (basin.basin_C[basin.x_D.isna()] == 0).all() and (basin.basin_C[basin.x_D.notna()] > 0).all()
    # at the base price the basin shrinks as either loss grows (D moves towards C)
    for loss in ("L_EV", "L_PG"):
        assert (basin[basin.sweep == loss].sort_values(loss).basin_C.diff().dropna() < 0).all(), loss
    # the separatrix area agrees with the grid of trajectories (an independent method)
    row = basin[basin.sweep == "L_EV"].iloc[3]
    grid = basin_of_cooperation(GameParams.lin2020(p_d=row.p_d, L_EV=row.L_EV, L_PG=row.L_PG), n=41)
    assert grid == pytest.approx(row.basin_C, abs=5e-3)
    assert summary["basin"]["zero_for_p_d_at_or_below_L_B"]
    assert 0.9 < summary["basin"]["at_base"] < 1.0  # separatrix area at p_d = 1.3, L = 1

    gaps = pd.read_csv(out / "gaps.csv")
    assert set(gaps.M) == {100, 1000, 10_000}
    for key in ("proportional/matched", "fermi/matched"):
        g = summary["gaps"][key]["mean_gap_x_ode"]
        assert g["10000"] < g["100"], (key, g)
    prop = gaps[(gaps.rule == "proportional") & (gaps.pg_draw == "matched")]
    assert prop[prop.M == 10_000].gap_x_ode.max() < prop[prop.M == 100].gap_x_ode.mean()

    learn = summary["price_learning"]["scenario grid/replicator"]
    assert abs(learn["final_price_mean"] - learn["fixed_point_price"]) < 0.02

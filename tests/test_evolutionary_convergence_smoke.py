"""Smoke test of analysis/evolutionary_convergence.py (quick mode, a few seconds)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "analysis" / "evolutionary_convergence.py"


def _load():
    spec = importlib.util.spec_from_file_location("evolutionary_convergence", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_study(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    assert _load().main(["--quick", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    for name in ("basin.csv", "basin.png", "gaps.csv", "gaps.png", "price_learning.csv",
                 "price_learning.png", "summary.json"):
        assert (out / name).stat().st_size > 0, name

    basin = pd.read_csv(out / "basin.csv")
    assert basin.basin_C.between(0, 1).all()
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

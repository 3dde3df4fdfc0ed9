"""Smoke test of analysis/reproduce_mao2018.py (quick mode)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import load_script


def test_quick(tmp_path: Path, capsys) -> None:
    mod = load_script("analysis/reproduce_mao2018.py")
    out = tmp_path / "m"
    summary = mod.main(["--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{"):]) == json.loads((out / "summary.json").read_text())
    h = summary["household"]
    assert h["objective_with"] <= h["objective_without"] + 1e-9
    assert h["min_objective_reduction_pct"] >= -1e-9
    assert h["seed"]["reduction_pct"] == 4.37
    assert [r["lambda"] for r in summary["lambda_sweep"]["rows"]] == [0.0, 0.5]
    rows = summary["lambda_sweep"]["rows"]
    assert rows[1]["cycles"] <= rows[0]["cycles"]  # the optimum's cycle count cannot rise with lambda
    for f in ("household.png", "building.png", "station.png", "lambda_sweep.png"):
        assert (out / f).stat().st_size > 10_000
    assert len(summary["notes"]) == 5

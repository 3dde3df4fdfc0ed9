"""Smoke test of analysis/reproduce_ma2025.py (three small scenarios, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import load_script


def test_table_json_figure(tmp_path: Path, capsys) -> None:
    mod = load_script("analysis/reproduce_ma2025.py")
    out = tmp_path / "ma"
    summary = mod.main(["--out", str(out), "--evs", "40"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "summary.json").read_text()) == summary
    for name in ("table.md", "table.csv", "revenue.png"):
        assert (out / name).stat().st_size > 0
    seed = summary["claims_seed"]
    assert abs(seed["hybrid_over_cbdr_total"] - 3.13) < 0.01 and seed["breakdown_exact"]
    assert abs(seed["dbdr_vs_cbdr_total_pct"] - 5.4) < 0.1  # not +42.6 %
    assert summary["claims_ours"]["breakdown_exact"] is True
    assert set(summary["ours"]) == {"CBDR", "DBDR", "CBDR+DBDR"}
    assert any("42.6" in n and "cannot be checked" in n for n in summary["notes"])
    table = (out / "table.md").read_text()
    assert "1486.71304" in table and f"{summary['ours']['CBDR']['energy_revenue']:.5f}" in table

"""analysis/reproduce_bianchi2023.py on a shortened instance (3 vehicles): the three Fig. 3 cases."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import load_script


def test_three_cases_on_a_short_instance(tmp_path: Path, capsys) -> None:
    mod = load_script("analysis/reproduce_bianchi2023.py")
    sets = ["--set", "sessions.n_evs=3", "--set", "drivers.count=3"]
    assert mod.main([*sets, "--json", "--out", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert "cases" not in captured.err  # --quiet: no progress bar
    cases = [r["case"] for r in res.values()]
    assert cases == ["all day-ahead", "downward", "upward"]
    _, down, up = (r["full_plan"] for r in res.values())
    assert down["reserve_up_kwh"] < 1e-6 < down["reserve_down_kwh"]
    assert up["reserve_down_kwh"] < 1e-6 < up["reserve_up_kwh"]
    # "partial": the downward reserve is below the fleet's room for it
    room = 3 * 50.0
    assert down["reserve_down_kwh"] < 0.5 * room
    assert (tmp_path / "plane.png").stat().st_size > 10_000
    # every case's working point is the closed form at the day-averaged prices (LP agrees)
    assert all(r["closed_form"]["regime"] == r["lp"]["regime"] for r in res.values())

"""The CLI: validate exit codes and messages, run writes a complete run directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from v2gsim.cli import main

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_validate_ok(capsys):
    assert main(["validate", str(SCEN / "default.toml")]) == 0
    assert capsys.readouterr().out.strip() == "OK"


def test_validate_rejects_unknown_key_wrong_type_and_range(tmp_path, capsys):
    cases = {
        "unknown": ("[drivers]\ncolour = 'red'\n", "drivers.colour: unknown field"),
        "type": ("[drivers]\ncount = 'many'\n", "drivers.count: Input should be a valid integer"),
        "range": ("[drivers]\nsoc_max = 2.0\n", "drivers.soc_max: Input should be less than"),
    }
    for name, (body, expected) in cases.items():
        f = tmp_path / f"{name}.toml"
        f.write_text(f'extends = "{SCEN / "tiny.toml"}"\n{body}')
        assert main(["validate", str(f)]) == 2
        out = capsys.readouterr().out
        assert f"{f}: {expected}" in out, out


def test_validate_malformed_file_has_no_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_bytes(b"[drivers\ncount = \xff\n")
    proc = subprocess.run([sys.executable, "-m", "v2gsim.cli", "validate", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert str(f) in proc.stdout


def test_run_writes_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", str(SCEN / "tiny.toml"), "--days", "2", "--out", str(out), "--quiet",
               "--set", "output.figures=true", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("scenario", "seed", "days", "drivers", "mean_performance_score",
                "capability_credit", "performance_credit", "rebates_paid", "profit",
                "runtime_s"):
        assert key in summary
    assert summary["days"] == 2 and summary["drivers"] == 20
    assert summary["profit"] == summary["capability_credit"] + summary["performance_credit"] \
        - summary["rebates_paid"]
    hourly = pd.read_parquet(out / "hourly.parquet")
    assert len(hourly) == 2 * 24
    assert json.loads((out / "config.json").read_text())["drivers"]["count"] == 20
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["forecast_by_hour.png", "performance_score_by_day.png",
                    "plugged_and_bid_by_hour.png", "soc_distribution.png"]


def test_run_bad_override_exits_2(capsys):
    assert main(["run", str(SCEN / "tiny.toml"), "--set", "days=0"]) == 2
    assert "days: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_game_command_json(capsys, tmp_path):
    assert main(["game", "--json", "--no-figures", "--at", "1.4632", "13.1622"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep) >= {"points", "price_range", "equilibria", "gains"}
    assert rep["points"]["F"][0] == pytest.approx(1.4811, abs=1e-4)
    assert rep["points"]["G"] == pytest.approx([1.4629, 13.2136], abs=1e-4)
    assert {e["name"] for e in rep["equilibria"]} >= {"O", "A", "B", "C"}
    assert rep["gains"]["evolutionary"]["EV"] == pytest.approx(0.4878, abs=1e-4)


def test_calibrate_command_on_real_evwatts_sessions(tmp_path, capsys):
    from conftest import require_shared

    from v2gsim.config import load_scenario

    sessions = require_shared("evwatts_houston_sessions/VehicleChargingSessions.csv")
    out = tmp_path / "calibrated.toml"
    rc = main(["calibrate", str(sessions), "--network", str(SCEN / "default.toml"),
               "--out", str(out), "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_error"] < 1e-3
    scen = load_scenario(out)  # extends the default and validates
    assert scen.extends is not None and scen.drivers.count == 200
    home = scen.network.place("home")
    assert isinstance(home.plug_utility, list) and len(home.plug_utility) == 24

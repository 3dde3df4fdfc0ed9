"""Monte Carlo sweeps: backends agree, kill-and-resume loses nothing, failures are contained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.experiments.aggregate import aggregate
from v2gsim.experiments.sweep import SweepSpec, parse_grid, run_sweep, split_values

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
GRID = {"drivers.count": [8, 12], "platform.naive.bid_fraction": [0.3, 0.6]}


@pytest.fixture(scope="module")
def spec() -> SweepSpec:
    base = load_scenario(SCEN / "tiny.toml", days=2)
    return SweepSpec(base=base, grid=GRID, replications=3)


def _parts(out: Path) -> pd.DataFrame:
    files = sorted((out / "parts").glob("p*/summary.parquet"))
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return df.drop(columns=["runtime_s"]).sort_values(["point", "replication"]).reset_index(
        drop=True)


def test_split_values_and_grid():
    assert split_values("1,2.5,'a,b',[1,2],true") == [1, 2.5, "a,b", [1, 2], True]
    assert parse_grid(["a.b=1,2", "c=x"]) == {"a.b": [1, 2], "c": ["x"]}


def test_tasks_and_seeds(spec):
    tasks = spec.tasks()
    assert len(tasks) == 12 and len({t.name for t in tasks}) == 12
    assert spec.scenario_for(dict(tasks[-1].params)).drivers.count == 12


def test_serial_pool_and_dask_give_identical_tables(spec, tmp_path):
    outs = {}
    for label, kw in {"serial": {"workers": 1}, "pool": {"workers": 2},
                      "dask": {"workers": 2, "backend": "dask"}}.items():
        out = tmp_path / label
        res = run_sweep(spec, out, progress=False, **kw)
        assert res.n_done == 12 and res.n_failed == 0
        outs[label] = out
    ref_parts, ref_rep = _parts(outs["serial"]), aggregate(outs["serial"])
    assert len(ref_rep) == 4 * ref_rep["metric"].nunique()
    for label in ("pool", "dask"):
        pd.testing.assert_frame_equal(_parts(outs[label]), ref_parts)
        pd.testing.assert_frame_equal(aggregate(outs[label]), ref_rep)
    # hourly parts identical too, byte for byte after reading
    a = pd.read_parquet(outs["serial"] / "parts" / "p0003_r0002" / "hourly.parquet")
    b = pd.read_parquet(outs["dask"] / "parts" / "p0003_r0002" / "hourly.parquet")
    pd.testing.assert_frame_equal(a, b)
    # replications differ from each other (seeds are spawned per task)
    s = ref_parts[ref_parts.point == 0]
    assert s["profit"].nunique() == 3


def test_rerun_skips_and_force_recomputes(spec, tmp_path):
    out = tmp_path / "s"
    run_sweep(spec, out, progress=False)
    again = run_sweep(spec, out, progress=False)
    assert again.n_skipped == 12 and again.n_done == 0
    forced = run_sweep(spec, out, progress=False, force=True)
    assert forced.n_done == 12


def test_failing_task_is_recorded_and_others_finish(tmp_path, capsys):
    out = tmp_path / "f"
    bad = tmp_path / "prices.csv"  # exists (so the scenario validates) but is not a price file
    bad.write_text("not,a\nprice,file\n")
    rc = main(["sweep", str(SCEN / "tiny.toml"), "--set", "days=1",
               "--set", f"market.price_file='{bad}'",
               "--set", "market.prices='synthetic','pjm'", "--replications", "2",
               "--out", str(out), "--quiet", "--no-figures"])
    assert rc == 1
    captured = capsys.readouterr()
    assert "2 done" in captured.out and "2 failed" in captured.out
    failed = sorted((out / "failed").glob("*.json"))
    assert [f.stem for f in failed] == ["p0001_r0000", "p0001_r0001"]
    rec = json.loads(failed[0].read_text())
    assert "prices.csv" in rec["error"] and rec["params"]["market.prices"] == "pjm"
    assert sorted(p.name for p in (out / "parts").iterdir()) == ["p0000_r0000", "p0000_r0001"]
    assert main(["report", str(out), "--no-figures"]) == 1
    assert "2 failed tasks" in capsys.readouterr().out


def test_kill_and_resume_loses_and_duplicates_nothing(spec, tmp_path):
    ref = tmp_path / "ref"
    run_sweep(spec, ref, progress=False)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "v2gsim.cli", "sweep", str(SCEN / "tiny.toml"), "--set",
           "days=2", "--set", "drivers.count=8,12", "--set", "platform.naive.bid_fraction=0.3,0.6",
           "--replications", "3", "--out", str(out), "--quiet", "--no-figures"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    parts = out / "parts"
    while time.time() < deadline:
        if parts.is_dir() and any(not p.name.startswith(".") for p in parts.iterdir()):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = sorted(p.name for p in parts.iterdir() if not p.name.startswith("."))
    assert 1 <= len(finished_before) < 12
    assert main(cmd[3:]) == 0
    names = sorted(p.name for p in parts.iterdir())
    assert len(names) == 12 and len(set(names)) == 12
    pd.testing.assert_frame_equal(_parts(out), _parts(ref))
    pd.testing.assert_frame_equal(aggregate(out), aggregate(ref))


def test_report_of_run_directories(tmp_path):
    for seed in (1, 2):
        main(["run", str(SCEN / "tiny.toml"), "--days", "1", "--seed", str(seed),
              "--out", str(tmp_path / f"run{seed}"), "--quiet", "--no-figures"])
    rep = aggregate(tmp_path)
    profit = rep[rep.metric == "profit"]
    assert len(profit) == 1 and profit["n"].item() == 2
    one = aggregate(tmp_path / "run1")
    assert one[one.metric == "profit"]["n"].item() == 1

"""What a new user hits first: pooled reports, run-directory collisions, stepping, file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

import v2gsim
from v2gsim.cli import main
from v2gsim.config import load_scenario
from v2gsim.experiments.aggregate import aggregate, report_notes
from v2gsim.experiments.rundir import default_run_dir
from v2gsim.experiments.runner import run_to_dir
from v2gsim.experiments.sweep import run_sweep, spec_from_scenario
from v2gsim.sim.model import HorizonError, V2GMarketModel

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _tiny(*sets, days=2, seed=None):
    return load_scenario(SCEN / "tiny.toml", list(sets), days=days, seed=seed)


def test_report_splits_runs_of_different_configurations(tmp_path):
    runs = tmp_path / "runs"
    for k, (sets, seed) in enumerate([((), 1), ((), 2), (("drivers.count=30",), 1),
                                      (("drivers.count=30",), 2), ((), 1)]):
        run_to_dir(_tiny(*sets, seed=seed), out=runs / f"r{k}", progress=False)
    rep = aggregate(runs)
    profit = rep[rep.metric == "profit"]
    # two configurations -> two points; r4 repeats r0 (same configuration and seed): counted once
    assert len(profit) == 2 and sorted(profit["n"]) == [2, 2]
    assert sorted(profit["drivers.count"]) == [20, 30]
    notes = report_notes(runs)
    assert "2 configurations" in notes[0] and "drivers.count" in notes[0]
    assert any("r4: same configuration and seed as r0" in n for n in notes)
    # the same scenario name did not pool them
    assert set(profit["scenario"]) == {"tiny"}


def test_two_runs_in_the_same_second_get_two_directories(tmp_path):
    scen = _tiny()
    dirs = {default_run_dir(scen, tmp_path) for _ in range(20)}
    assert len(dirs) == 20 and all(d.is_dir() for d in dirs)


def test_existing_out_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", str(SCEN / "tiny.toml"), "--days", "1", "--out", str(out), "--quiet",
            "--no-figures"]
    assert main(args) == 0
    before = (out / "summary.json").read_text()
    assert main(args) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == before
    assert main([*args, "--force"]) == 0


def test_stepping_stops_at_the_horizon():
    scen = _tiny(days=3)
    model = V2GMarketModel(scen)
    n = 0
    while model.running:
        model.step()
        n += 1
    assert n == 3 and model.steps == 3
    with pytest.raises(HorizonError, match="all 3 days are simulated"):
        model.step()
    assert model.steps == 3 and len(model.daily_table()) == 3
    assert v2gsim.V2GMarketModel is V2GMarketModel


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_run_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        res = run_to_dir(_tiny(days=1), out=tmp_path / "run", progress=False)
    finally:
        os.umask(old)
    for name in ("config.json", "hourly.parquet", "summary.json"):
        assert stat.S_IMODE((res.path / name).stat().st_mode) == mode


def test_validate_flags_a_missing_data_file(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text(f'extends = "{SCEN / "tiny.toml"}"\n[market]\nprices = "pjm"\n'
                 'price_file = "nowhere/prices.csv"\n')
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().out
    assert "market.price_file: file not found" in err and "nowhere/prices.csv" in err


def test_paired_sweep_shares_the_random_streams(tmp_path):
    scen = _tiny()
    tables = {}
    for paired in (False, True):
        spec = spec_from_scenario(scen, ["platform.naive.bid_fraction=0.3,0.6"], 2, paired=paired)
        out = tmp_path / f"s{paired}"
        run_sweep(spec, out, progress=False)
        tables[paired] = {p.name: pd.read_parquet(p / "hourly.parquet")
                          for p in (out / "parts").iterdir()}
        summ = pd.read_parquet(out / "parts" / "p0001_r0001" / "summary.parquet")
        assert summ["stream"].item().endswith("spawn_key=(1,))" if paired else "spawn_key=(1, 1))")
    # bid_fraction does not change behaviour: with common random numbers the drivers are the same
    same = tables[True]["p0000_r0001"]["plugged"].equals(tables[True]["p0001_r0001"]["plugged"])
    diff = tables[False]["p0000_r0001"]["plugged"].equals(tables[False]["p0001_r0001"]["plugged"])
    assert same and not diff


def test_headline_score_says_how_many_hours_it_averages(tmp_path, capsys):
    assert main(["run", str(SCEN / "tiny.toml"), "--days", "1", "--out", str(tmp_path / "a"),
                 "--quiet", "--no-figures"]) == 0
    assert "no bid hours" in capsys.readouterr().out
    assert main(["run", str(SCEN / "tiny.toml"), "--out", str(tmp_path / "b"), "--quiet",
                 "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "bid-weighted over" in out and "below the target 0.95" in out


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"v2gsim {v2gsim.__version__}"

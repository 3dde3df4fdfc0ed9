"""Smoke test of analysis/reproduce_mao2018.py (quick mode)."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

from conftest import load_script

from v2gsim.core.solvers.highs import silenced_c_stdout


def test_quick(tmp_path: Path, capfd) -> None:
    mod = load_script("analysis/reproduce_mao2018.py")
    out = tmp_path / "m"
    summary = mod.main(["--quick", "--out", str(out)])
    captured = capfd.readouterr()  # file descriptors 1 and 2: what C code prints is here too
    assert json.loads(captured.out) == json.loads((out / "summary.json").read_text())
    # progress on stderr: the household, 2 draws, 2 sites and 2 values of lambda
    assert "site-day solves: 100%" in captured.err and "7/7" in captured.err
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


def test_silenced_c_stdout_drops_c_prints_and_keeps_python_output(capfd) -> None:
    libc = ctypes.CDLL(None)
    print("before", flush=True)
    with silenced_c_stdout():
        libc.printf(b"HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();\n")
    libc.fflush(None)  # a line left in the C buffer would come out here
    libc.printf(b"C after\n")
    libc.fflush(None)
    print("after", flush=True)
    assert capfd.readouterr().out == "before\nC after\nafter\n"

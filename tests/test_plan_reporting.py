"""The plan beside the outcome in the outputs (issue 32 item 4): ``slots.parquet``, ``schedule.png``,
the report's "Plan beside outcome" and the plan metrics of ``v2gsim compare``.

Every expected value is recomputed here from the tables the run wrote (sums over days, means over
days per slot, Student-t intervals), not taken from the code under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from v2gsim import load_scenario
from v2gsim.cli import main
from v2gsim.experiments.compare import PLAN_METRICS, run_compare
from v2gsim.experiments.html import PLAN_COLUMNS
from v2gsim.experiments.rundir import read_run
from v2gsim.experiments.runner import run_to_dir
from v2gsim.experiments.sweep_dir import MARKER, RUN_FILES
from v2gsim.reporting.figures import run_figures, schedule_by_slot
from v2gsim.sim.model import V2GMarketModel

NAME, DAYS = "bianchi2023_parking", 2
#: The plan metrics of policy robust (v2a's own costs are v2a's only).
ROBUST = [m for m in PLAN_METRICS if not m.startswith("v2a_")]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A robust run of bianchi2023_parking written without figures (``report`` draws them)."""
    out = tmp_path_factory.mktemp("plan") / "run"
    assert main(["run", NAME, "--days", str(DAYS), "--out", str(out), "--quiet", "--no-figures"]) == 0
    return out


def test_slots_parquet_is_the_models_slots_table(run: Path) -> None:
    model = V2GMarketModel(load_scenario(NAME, [], days=DAYS))
    while model.running:
        model.step()
    expected = model.slots_table()
    assert expected is not None and len(expected) == DAYS * 96  # 15-min slots
    back = read_run(run).slots
    pd.testing.assert_frame_equal(back, expected)
    assert "slots.parquet" in RUN_FILES
    assert "slots.parquet" in json.loads((run / MARKER).read_text())["files"]
    # the request is a reserve call of the TSO in some slot of these days (else nothing to mark)
    assert set(np.unique(back["request"])) <= {-1.0, 0.0, 1.0} and (back["request"] != 0).any()


def test_no_slots_without_schedules(tmp_path: Path) -> None:
    res = run_to_dir(load_scenario("tiny", ["drivers.count=20"], days=1), tmp_path / "tiny")
    assert res.slots is None and read_run(tmp_path / "tiny").slots is None
    assert not (tmp_path / "tiny" / "slots.parquet").exists()
    assert not (tmp_path / "tiny" / "figures" / "schedule.png").exists()


def test_schedule_figure_draws_the_table(run: Path) -> None:
    res = read_run(run)
    slots = res.slots
    assert "schedule.png" in run_figures(res.hourly, res.daily, res.fleet, res.soc, slots)
    assert "schedule.png" not in run_figures(res.hourly, res.daily, res.fleet, res.soc, slots.iloc[:0])
    fig = schedule_by_slot(slots, days=1)
    top, bottom = fig.axes[0], fig.axes[1]
    day0 = slots[slots["day"] == 0].sort_values("slot")
    np.testing.assert_allclose(top.lines[2].get_ydata(), day0["executed_kw"])  # day-ahead, planned, executed
    np.testing.assert_allclose(top.lines[1].get_ydata(), day0["planned_kw"])
    assert len(top.patches) == int((day0["request"] != 0).sum())  # one shaded span per reserve call
    mean = slots.groupby("slot")["day_ahead_kw"].mean()
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), mean.to_numpy())
    np.testing.assert_allclose(bottom.lines[0].get_xdata(), mean.index.to_numpy() * 0.25)  # hours


def test_report_shows_the_figure_and_the_plan(run: Path) -> None:
    assert not (run / "figures" / "schedule.png").exists()
    assert main(["report", str(run)]) == 0
    png = run / "figures" / "schedule.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    text = (run / "report.html").read_text(encoding="utf-8")
    assert "<img alt='schedule.png' src='data:image/png;base64," in text
    section = text.split("<h2>Plan beside outcome</h2>", 1)[1].split("<h2>", 1)[0]
    daily = pd.read_parquet(run / "daily.parquet")
    shown = [c for c in PLAN_COLUMNS if c in daily]
    assert len(shown) >= 8  # base energies, deviation, costs, reserve, shortfall of robust
    for col in shown:
        total = float(daily[col].sum())
        assert f"<td>{col}</td><td>{total:.4g}</td>" in section, col


def test_compare_reports_the_plan_with_intervals(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    res = run_compare(load_scenario(NAME, [], days=DAYS), ["robust", "naive"], out, replications=2,
                      progress=False, figures=False)
    comp = res.comparison
    robust = comp[comp["policy"] == "robust"].set_index("metric")
    assert set(ROBUST) <= set(robust.index)
    assert not set(PLAN_METRICS) & set(comp.loc[comp["policy"] == "naive", "metric"])  # has no plan
    daily = pd.read_parquet(out / "tables" / "robust" / "daily.parquet")
    for metric in ROBUST:
        row = robust.loc[metric]
        totals = daily.groupby("replication")[metric].sum().to_numpy()
        half = stats.t.ppf(0.975, 1) * totals.std(ddof=1) / math.sqrt(2)
        assert row["n"] == 2 and row["mean"] == pytest.approx(totals.mean(), abs=1e-9), metric
        assert np.isfinite([row["ci95_low"], row["ci95_high"]]).all(), metric
        if not row["ci95_clipped"]:
            assert row["ci95_high"] - row["mean"] == pytest.approx(half, abs=1e-9), metric
        assert row["diff_mean"] == 0.0  # against itself
    assert main(["report", str(out)]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert all(f"<td>{m}</td>" in text for m in ROBUST)

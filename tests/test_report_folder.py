"""Issue 31 items 1, 10 and 11: ``v2gsim report`` over a folder of runs finishes with a bounded
number of sensible figures and one report.html; confidence intervals respect the quantities' bounds;
no pandas PerformanceWarning and no figure left open."""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from pandas.errors import PerformanceWarning
from scipy import stats

from v2gsim.cli import main
from v2gsim.experiments.aggregate import BOUNDS, aggregate, clip_ci, report_axes, write_report
from v2gsim.experiments.rundir import read_run
from v2gsim.reporting.figures import (
    MAX_PANELS,
    MAX_REPORT_FIGURES,
    report_figures,
    run_figures,
    score_by_day,
)

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.toml"
#: Runs of tiny: (directory, extra arguments). Two of them repeat a configuration (seeds 1 and 2).
RUNS = (
    ("naive-s1", ["--seed", "1"]),
    ("naive-s2", ["--seed", "2"]),
    ("chance-s1", ["--seed", "1", "--set", "platform.policy=chance"]),
    ("bilevel-s1", ["--seed", "1", "--set", "platform.policy=bilevel"]),
    ("naive-30-s1", ["--seed", "1", "--set", "drivers.count=30"]),
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report-folder") / "runs"
    for name, extra in RUNS:
        assert main(["run", str(TINY), "--days", "2", "--out", str(folder / name), "--quiet",
                     "--no-figures", *extra]) == 0
    return folder


def _copy(runs: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(runs, tmp_path / "runs"))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@contextlib.contextmanager
def _strict() -> Iterator[None]:
    """Warnings that must not occur, as errors: pandas' fragmentation warning, any RuntimeWarning
    (among them matplotlib's 'More than 20 figures have been opened')."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerformanceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        yield


def test_report_of_a_folder_of_runs(runs, tmp_path, capsys):
    folder = _copy(runs, tmp_path)
    with _strict():
        assert main(["report", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"html report: {folder / 'report.html'}" in out
    pngs = sorted((folder / "figures").glob("*.png"))
    assert 1 <= len(pngs) <= MAX_REPORT_FIGURES
    sizes = [_png_size(p) for p in pngs]
    assert max(w for w, _ in sizes) <= 4000 and max(h for _, h in sizes) <= 1000
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    runs_table = text[text.index("<h2>Runs</h2>"):text.index("<h2>Figures</h2>")]
    for name, _ in RUNS:  # every run is listed
        assert f"<td>{name}</td>" in runs_table
    assert "bid-weighted" in text and "clipped at 0" in text
    shown = re.findall(r"<h3>(report_\w+)</h3>", text)
    assert shown[0] == "report_profit" and len(shown) == len(pngs)
    assert "report_guarantee_eta" not in shown and "report_score_target" not in shown


def test_axes_labels_and_points_of_a_folder(runs):
    rep = aggregate(runs)
    # policy and fleet size vary independently of each other: they are the axes, policy first
    assert report_axes(runs) == ["platform.policy", "drivers.count"]
    labels = rep.drop_duplicates("point").set_index("label")["point"]
    assert sorted(labels.index) == ["bilevel / drivers.count=20", "chance / drivers.count=20",
                                    "naive / drivers.count=20", "naive / drivers.count=30"]
    profit = rep[rep.metric == "profit"].set_index("label")
    assert profit.loc["naive / drivers.count=20", "n"] == 2  # seeds 1 and 2: one configuration
    figs = list(report_figures(rep, report_axes(runs), BOUNDS))
    assert 1 <= len(figs) <= MAX_REPORT_FIGURES and figs[0][0] == "report_profit.png"
    assert all(len(fig.axes) == 2 for _, fig in figs)
    assert plt.get_fignums() == []  # plain Figures: nothing stays open in pyplot
    score = dict(figs).get("report_mean_performance_score.png")
    if score is not None:  # the score axis ends at 1 at most
        assert all(ax.get_ylim()[1] <= 1.0 for ax in score.axes)


def test_confidence_interval_of_two_runs_is_clipped_at_zero(runs):
    """The interval of a point of two runs, computed independently from their summaries."""
    rep = aggregate(runs).set_index(["label", "metric"])
    s = [json.loads((runs / r / "summary.json").read_text()) for r in ("naive-s1", "naive-s2")]
    t = stats.t.ppf(0.975, 1)
    clipped = []
    for metric in ("capability_credit", "profit", "mean_performance_score"):
        v = np.array([x[metric] for x in s], dtype=float)
        half = t * v.std(ddof=1) / math.sqrt(2)
        low, high = v.mean() - half, v.mean() + half
        lo_b, hi_b = BOUNDS.get(metric, (-math.inf, math.inf))
        row = rep.loc[("naive / drivers.count=20", metric)]
        assert row["ci95_low"] == pytest.approx(max(low, lo_b), rel=1e-12, abs=1e-12)
        assert row["ci95_high"] == pytest.approx(min(high, hi_b), rel=1e-12, abs=1e-12)
        assert bool(row["ci95_clipped"]) == (low < lo_b or high > hi_b)
        clipped.append(bool(row["ci95_clipped"]))
    assert any(clipped) and not all(clipped)  # both cases are exercised (profit can be negative)


def test_clip_ci_on_a_hand_made_table():
    table = pd.DataFrame({
        "metric": ["rebates_paid", "profit", "mean_performance_score", "rebates_paid", "unknown"],
        "mean": [10.0, 10.0, 0.99, 1.0, 1.0],
        "ci95_low": [-5.0, -5.0, 0.97, 0.5, -1.0],
        "ci95_high": [25.0, 25.0, 1.01, 1.5, 3.0],
    })
    out = clip_ci(table)
    assert out["ci95_low"].tolist() == [0.0, -5.0, 0.97, 0.5, -1.0]  # rebates cannot be negative
    assert out["ci95_high"].tolist() == [25.0, 25.0, 1.0, 1.5, 3.0]  # a score cannot exceed 1
    assert out["ci95_clipped"].tolist() == [True, False, True, False, False]
    assert table["ci95_low"].iloc[0] == -5.0  # the input is not changed
    # a bound that the observations break is not applied (here: a negative rebate was observed)
    observed = pd.DataFrame({"min": [-3.0, -9.0, 0.9], "max": [30.0, 40.0, 1.0]},
                            index=["rebates_paid", "profit", "mean_performance_score"])
    out = clip_ci(table.iloc[:3], observed)
    assert out["ci95_low"].tolist() == [-5.0, -5.0, 0.97]
    assert out["ci95_clipped"].tolist() == [False, False, True]


def test_sweep_report_plots_only_the_swept_parameters_profit_first(tmp_path, capsys):
    scen = tmp_path / "s.toml"
    scen.write_text(f'extends = "{TINY}"\ndays = 2\n[experiment]\nreplications = 2\n'
                    'grid = { "platform.naive.bid_fraction" = [0.3, 0.6], "drivers.charger_kw" = [7.2] }\n')
    out = tmp_path / "sw"
    assert main(["sweep", str(scen), "--out", str(out), "--quiet", "--no-figures"]) == 0
    assert report_axes(out) == ["platform.naive.bid_fraction"]  # the constant grid key is no axis
    with _strict():
        assert main(["report", str(out)]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    shown = re.findall(r"<h3>(report_\w+)</h3>", text)
    assert shown and shown[0] == "report_profit"
    assert not {"report_guarantee_eta", "report_score_target"} & set(shown)
    rep = pd.read_csv(out / "report.csv")
    assert [len(f.axes) for _, f in report_figures(rep, report_axes(out), BOUNDS)] == [1] * len(shown)


def _write_run(folder: Path, k: int, fields: int) -> None:
    """A run directory as an older version wrote it: its configuration has ``fields`` settings of
    its own (runs of different versions share few setting names)."""
    folder.mkdir(parents=True)
    config = {"name": "old", "seed": k, "days": 2,
              f"v{k}": {f"setting_{j}": j * (k + 1) for j in range(fields)}}
    summary = {"scenario": "old", "seed": k, "replication": 0, "days": 2, "drivers": 20,
               "policy": "naive", "profit": 10.0 * k - 3.0, "rebates_paid": float(k % 2),
               "mean_performance_score": 1.0 - 0.01 * k, "capability_credit": 2.0 + k}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "summary.json").write_text(json.dumps(summary))


def test_configurations_differing_in_hundreds_of_fields(tmp_path):
    folder = tmp_path / "runs"
    for k in range(6):
        _write_run(folder / f"r{k}", k, 40)  # 6 x 40 = 240 fields in which they differ
    with _strict():
        rep, figs = write_report(folder)
    assert rep["point"].nunique() == 6 and len([c for c in rep.columns if c.startswith("v")]) == 240
    assert report_axes(folder) == ["label"]  # too many settings: one axis of configurations
    assert 1 <= len(figs) <= MAX_REPORT_FIGURES
    assert all(_png_size(f)[0] <= 4000 for f in figs)
    assert main(["report", str(folder)]) == 0 and (folder / "report.html").is_file()


def test_run_figures_are_not_kept_open(runs):
    res = read_run(runs / "naive-s1")
    with plt.rc_context({"figure.max_open_warning": 1}), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        figs = run_figures(res.hourly, res.daily, res.fleet, res.soc)
    assert len(figs) >= 3 and plt.get_fignums() == []
    ax = score_by_day(res.daily).axes[0]
    assert ax.get_ylim()[1] == 1.0  # a score axis ends at 1


def test_panels_and_widths_are_bounded(runs):
    rep = aggregate(runs)
    params = ["platform.policy", "drivers.count", "label", "scenario"]  # more than MAX_PANELS
    _, fig = next(report_figures(rep, params, BOUNDS))
    assert len(fig.axes) == MAX_PANELS
    assert fig.get_figwidth() * 100 <= 1800 + 1e-9  # at 100 dpi
    # nothing varies that names the points (a sweep whose grid keys have one value each): by point
    _, fig = next(report_figures(rep.drop(columns=["label", "scenario"]), [], BOUNDS))
    assert fig.axes[0].get_xlabel() == "point" and len(fig.axes[0].get_xticks()) == 4

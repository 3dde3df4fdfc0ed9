"""Reports over many runs: mean, std and 95 % confidence interval per point and metric.

``v2gsim report DIR`` reads either a sweep directory (``sweep.json``, ``parts/``: points are the
grid's points) or a folder of run directories (``*/summary.json`` with their ``config.json``).
Run directories are grouped by their *resolved configuration* - the scenario after ``extends`` and
``--set`` without the fields that do not change results (:data:`NOT_CONFIGURATION`: the seed,
which is what makes runs replications, output settings, names and descriptions) - so runs of
different fleets, horizons or policies are never pooled into one point, even when they share a
scenario name. Each configuration is its own point, the fields in which the configurations differ
become columns of the report, and :func:`report_notes` says which they are. Two runs with the
same configuration and the same seed are the same run: it is counted once.

A sweep's report counts only the intact parts of its own tasks (:func:`scan_sweep`: ``sweep.json``
says which they are): a stray part folder (not one of its tasks), a damaged part and a file v2gsim
did not write are named in :func:`report_notes` and not counted; an unfinished sweep is reported as
``incomplete: n of N tasks``. A damaged ``sweep.json``, ``summary.json``, ``config.json`` or failure
record is an error naming the file (:class:`v2gsim.experiments.sweep_dir.ResultFileError`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2gsim.experiments.sweep_dir import (
    MAX_TASKS,
    TASK_NAME,
    ResultFileError,
    atomic_write,
    claim,
    intact,
    output_kind,
    read_json,
    record,
)

__all__ = [
    "BOUNDS",
    "NOT_CONFIGURATION",
    "SweepScan",
    "aggregate",
    "clip_ci",
    "config_key",
    "differing_fields",
    "failures",
    "report_axes",
    "report_notes",
    "runs_table",
    "scan_sweep",
    "sweep_notes",
    "swept_parameters",
    "write_report",
]

#: Summary fields that describe a task rather than measure it (not aggregated as metrics).
ID_COLUMNS = ("scenario", "point", "replication", "seed", "days", "drivers", "policy", "config")
#: Fields that vary between identical runs (timings) and are kept out of the report.
NON_METRICS = ("runtime_s",)
#: Top-level scenario fields that do not change a run's results (left out of its configuration).
NOT_CONFIGURATION = ("seed", "output", "source", "extends", "name", "description", "experiment")
#: Metrics that cannot be negative (credits, rebates, hours, EVs, kW, kWh, errors, costs of wear).
NON_NEGATIVE = ("capability_credit", "performance_credit", "rebates_paid", "bid_hours",
                "bid_hours_below_target", "zero_score_bid_hours", "mean_plugged", "mean_bid_kw",
                "unmet_travel_kwh", "energy_bought_kwh", "energy_sold_kwh", "forecast_mae_plugged",
                "forecast_max_abs_error_plugged", "degradation_cost", "predicted_ev_hours",
                "plugged_ev_hours", "departure_shortfall_kwh", "schedule_deviation_kwh",
                "reserve_requested_kwh", "reserve_delivered_kwh")
#: Metrics in [0, 1]: scores, shares, states of charge, the share of runs that broke the guarantee.
UNIT_INTERVAL = ("mean_performance_score", "share_bid_hours_below_target", "min_soc",
                 "share_below_target_ci95_low", "share_below_target_ci95_high", "guarantee_broken",
                 "guarantee_eta", "score_target")
#: ``metric -> (low, high)``: the interval a metric cannot leave; its confidence interval is clipped
#: to it (:func:`clip_ci`).
BOUNDS: dict[str, tuple[float, float]] = {**{m: (0.0, math.inf) for m in NON_NEGATIVE},
                                          **{m: (0.0, 1.0) for m in UNIT_INTERVAL}}
#: A folder of runs whose configurations differ in more independent settings than this is plotted
#: against its configuration labels, not against each setting.
MAX_AXES = 3
#: What the report says about its confidence intervals (report.html, ``v2gsim report``).
CI_NOTE = ("95 % confidence intervals are Student-t intervals over the runs of a point; those of "
           "quantities that cannot be negative (credits, rebates, hours, EVs, kW, kWh) are clipped "
           "at 0 and those of scores and shares also at 1 (column ci95_clipped says where)")


@dataclass
class _Rows:
    """Summary rows of a sweep or a folder of runs (:func:`_rows`).

    Attributes:
        df: one row per task or run.
        params: the columns that tell the points apart (a sweep's grid keys, the fields in which a
            folder's configurations differ).
        notes: what a reader of the report should know.
        axes: the columns to plot the metrics against (the parameters that vary and make an axis).
    """

    df: pd.DataFrame
    params: list[str]
    notes: list[str]
    axes: list[str]


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested mapping (lists are kept as values)."""
    if not isinstance(obj, Mapping):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in NOT_CONFIGURATION}


def config_key(config: Mapping[str, Any]) -> str:
    """Short hash of a resolved scenario's configuration (the fields that change results)."""
    text = json.dumps(_configuration(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def differing_fields(configs: list[Mapping[str, Any]]) -> list[str]:
    """Dotted fields whose values are not the same in all of ``configs``."""
    flat = [_flatten(_configuration(c)) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    return [k for k in keys if len({json.dumps(f.get(k), default=str) for f in flat}) > 1]


def _cell(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, list | dict) else v


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _partition(values: pd.Series) -> tuple[int, ...]:
    """The grouping of the points that ``values`` (one per point, in point order) induce."""
    return tuple(pd.factorize(values.map(lambda v: json.dumps(v, default=str)))[0])


def _free_fields(points: pd.DataFrame, fields: list[str]) -> list[str]:
    """The fields that differ between configurations of the same scenario and policy."""
    if len(points) < 2:
        return []
    g = points.groupby(["scenario", "policy"], dropna=False)
    return [f for f in fields if f != "platform.policy"
            and (g[f].agg(lambda v: v.map(lambda x: json.dumps(x, default=str)).nunique()) > 1).any()]


def _labels(points: pd.DataFrame, fields: list[str]) -> list[str]:
    """A short, readable name per configuration (``points``: one row per point, in point order):
    its scenario and policy where they vary, then up to three further settings it was run with."""
    parts: list[list[str]] = [[] for _ in range(len(points))]
    for col in ("scenario", "policy"):
        if points[col].nunique(dropna=False) > 1:
            for k, v in enumerate(points[col]):
                parts[k].append(str(v))
    for f in [f for f in _free_fields(points, fields) if all(map(_scalar, points[f]))][:3]:
        for k, v in enumerate(points[f]):
            parts[k].append(f"{f}={v}" if len(str(v)) <= 24 else f"{f}={str(v)[:21]}...")
    labels = [" / ".join(p) or str(s) for p, s in zip(parts, points["scenario"], strict=True)]
    dup = pd.Series(labels).duplicated(keep=False)
    return [f"{lab} #{pt}" if d else lab for lab, d, pt in zip(labels, dup, points["point"], strict=True)]


def _run_axes(points: pd.DataFrame, fields: list[str]) -> list[str]:
    """The x axes of a folder of runs' figures: the settings that vary, one per distinct way of
    grouping the configurations, when at most :data:`MAX_AXES`; else the configuration label."""
    cands = (["scenario"] if points["scenario"].nunique(dropna=False) > 1 else []) + sorted(
        fields, key=lambda f: (f != "platform.policy", f))
    axes, seen = [], set()
    for c in cands:
        part = _partition(points[c])
        if part not in seen and (c == "scenario" or all(_scalar(v) for v in points[c])):
            seen.add(part)
            axes.append(c)
    return axes if len(axes) <= MAX_AXES else ["label"]


def _run_dirs(path: Path) -> list[Path]:
    runs = [path] if (path / "summary.json").exists() else sorted(
        p.parent for p in path.glob("*/summary.json"))
    if not runs:
        raise FileNotFoundError(f"{path}: neither a sweep directory (parts/) nor run directories "
                                "(summary.json)")
    return runs


def _run_rows(path: Path) -> _Rows:
    """Rows of a folder of run directories, one point per configuration (module docstring)."""
    rows, configs, notes, seen = [], [], [], {}
    for r in _run_dirs(path):
        summary = read_json(r / "summary.json")
        config = read_json(r / "config.json") if (r / "config.json").exists() else {}
        if not isinstance(summary, dict) or not isinstance(config, dict):
            raise ResultFileError(f"{r}: damaged (summary.json and config.json must be JSON objects)")
        key = config_key(config)
        ident = (key, summary.get("seed"), summary.get("replication"))
        if ident in seen:
            notes.append(f"{r.name}: same configuration and seed as {seen[ident]}; counted once")
            continue
        seen[ident] = r.name
        rows.append(summary | {"run": r.name, "config": key})
        configs.append(config)
    df = pd.DataFrame(rows)
    by_key = dict(zip(df["config"], configs, strict=True))
    fields = differing_fields(list(by_key.values()))
    flat = {k: _flatten(_configuration(c)) for k, c in by_key.items()}
    df.insert(0, "point", pd.factorize(df["config"])[0])
    points = df.drop_duplicates("point").reindex(columns=["point", "config", "scenario", "policy"])
    points = points.reset_index(drop=True)
    values = pd.DataFrame({f: [flat[k].get(f) for k in points["config"]] for f in fields},
                          index=points.index)
    points = pd.concat([points, values], axis=1)
    points.insert(2, "label", _labels(points, fields))
    cells = pd.concat([points[["point", "label"]], values.map(_cell)], axis=1)
    df = df.merge(cells, on="point", how="left", validate="many_to_one")  # one frame, not 195 inserts
    if len(by_key) > 1:
        shown = ", ".join(fields[:12]) + (f" and {len(fields) - 12} more" if len(fields) > 12 else "")
        notes.insert(0, f"{path}: {len(df)} runs in {len(by_key)} configurations, reported as "
                        f"separate points; they differ in {shown}")
    return _Rows(df, fields, notes, _run_axes(points, fields))


@dataclass
class SweepScan:
    """A sweep directory as it is on disk (:func:`scan_sweep`; nothing is changed).

    Attributes:
        n_tasks: tasks of the sweep (``sweep.json``: points x replications).
        parts: the intact part folders of the sweep's tasks (what the report counts).
        failures: the failure records of tasks without a part.
        stray: part folders that are not tasks of this sweep (not counted).
        damaged: part folders of the sweep's tasks that are not intact (not counted).
        foreign: other entries of ``parts/`` and ``failed/`` (not v2gsim's; ignored).
    """

    n_tasks: int
    parts: list[Path] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        """Tasks with neither a part nor a failure record."""
        return self.n_tasks - len(self.parts) - len(self.failures)


def _is_task(name: str, points: int, reps: int) -> bool:
    """Whether ``name`` is the folder name of a task of a sweep of ``points`` x ``reps``."""
    m = TASK_NAME.fullmatch(name)
    return m is not None and int(m[1]) < points and int(m[2]) < reps and \
        name == f"p{int(m[1]):04d}_r{int(m[2]):04d}"


def _sweep_size(path: Path) -> tuple[int, int]:
    """``(points, replications)`` of the sweep directory ``path`` (ResultFileError when damaged)."""
    meta = read_json(path / "sweep.json", ("grid", "replications"))
    grid, reps = meta["grid"], meta["replications"]
    if not (isinstance(grid, dict) and all(isinstance(v, list) for v in grid.values())
            and type(reps) is int and reps >= 1
            and math.prod(len(v) for v in grid.values()) * reps <= MAX_TASKS):
        raise ResultFileError(f"{path / 'sweep.json'}: damaged (grid must map keys to lists, "
                              f"replications be a positive integer, at most {MAX_TASKS} tasks)")
    return math.prod(len(v) for v in grid.values()), reps


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []


def scan_sweep(path: str | Path) -> SweepScan:
    """Which of the sweep's tasks finished or failed, and what else ``parts/`` and ``failed/`` hold.

    Raises:
        ResultFileError: ``sweep.json``, or the failure record of one of its tasks, is damaged.
    """
    path = Path(path)
    points, reps = _sweep_size(path)
    scan, done = SweepScan(n_tasks=points * reps), set()
    for e in _listing(path / "parts"):
        real = e.is_dir() and not e.is_symlink()
        if e.name.startswith("."):
            continue
        if not (TASK_NAME.fullmatch(e.name) and real):
            scan.foreign.append(f"parts/{e.name}")
        elif not _is_task(e.name, points, reps):
            scan.stray.append(f"parts/{e.name}")
        elif intact(e):
            scan.parts.append(e)
            done.add(e.name)
        else:
            scan.damaged.append(f"parts/{e.name}")
    for f in _listing(path / "failed"):
        if f.suffix == ".json" and _is_task(f.stem, points, reps) and f.is_file():
            if f.stem not in done:
                scan.failures.append(read_json(f, ("task", "error")))
        elif not f.name.startswith("."):
            scan.foreign.append(f"failed/{f.name}")
    return scan


def sweep_notes(scan: SweepScan) -> list[str]:
    """What a reader of a sweep's report should know: parts not counted, files that are not v2gsim's."""
    return ([f"{n}: not a task of this sweep (see sweep.json); not counted" for n in scan.stray]
            + [f"{n}: damaged part (files missing or changed); not counted - run the sweep again "
               "to repair it" for n in scan.damaged]
            + [f"{n}: not written by v2gsim; ignored" for n in scan.foreign])


def _sweep_rows(path: Path, scan: SweepScan) -> pd.DataFrame:
    if not scan.parts:
        raise FileNotFoundError(f"{path}: no finished tasks under parts/")
    frames = []
    for part in scan.parts:
        try:
            frames.append(pd.read_parquet(part / "summary.parquet"))
        except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError or OSError
            raise ResultFileError(f"{part / 'summary.parquet'}: damaged ({type(exc).__name__})") from None
    return pd.concat(frames, ignore_index=True)


def swept_parameters(path: Path) -> list[str]:
    """The grid keys of a sweep directory (empty for run directories)."""
    meta = path / "sweep.json"
    return list(read_json(meta, ("grid",))["grid"]) if meta.exists() else []


def _rows(path: Path) -> _Rows:
    """Summary rows, the columns that tell the points apart, notes and the figures' axes."""
    if (path / "sweep.json").is_file():
        scan = scan_sweep(path)
        df = _sweep_rows(path, scan)
        params = [c for c in swept_parameters(path) if c in df.columns]
        axes = [c for c in params if df[c].map(lambda v: json.dumps(v, default=str)).nunique() > 1]
        return _Rows(df, params, sweep_notes(scan), axes)
    return _run_rows(path)


def report_notes(path: str | Path) -> list[str]:
    """What the report of ``path`` did that a reader should know (split configurations, duplicates,
    a sweep's parts that were not counted and files that are not v2gsim's)."""
    return _rows(Path(path)).notes


def report_axes(path: str | Path) -> list[str]:
    """The columns the report figures of ``path`` put on their x axes (:func:`write_report`)."""
    return _rows(Path(path)).axes


def runs_table(path: str | Path) -> pd.DataFrame:
    """The runs of a folder of run directories: one row per run counted, with its point and label.

    Columns ``run``, ``point``, ``label``, ``scenario``, ``policy``, ``days``, ``drivers``,
    ``seed`` and the headline outcomes ``profit`` ($), ``mean_performance_score`` (-, bid-weighted)
    and ``zero_score_bid_hours`` (h), where the summaries have them.
    """
    df = _run_rows(Path(path)).df
    cols = ["run", "point", "label", "scenario", "policy", "days", "drivers", "seed", "profit",
            "mean_performance_score", "zero_score_bid_hours"]
    return df[[c for c in cols if c in df.columns]].sort_values(["point", "run"], ignore_index=True)


def clip_ci(table: pd.DataFrame, observed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Clip the confidence intervals of bounded metrics (:data:`BOUNDS`) to their bounds.

    A Student-t interval is symmetric about the mean and can reach below 0 for a quantity that
    cannot be negative (rebates of a few runs, one of them large) or above 1 for a score. The clipped
    interval is the set of values the quantity can take that the t-interval covers; column
    ``ci95_clipped`` says which rows were clipped. A metric is clipped only when its bound holds
    for what was observed: every value in ``observed`` (index metric, columns ``min`` and ``max``),
    or, without it, its means.

    Args:
        table: columns ``metric``, ``mean``, ``ci95_low``, ``ci95_high``.
        observed: the smallest and largest value of each metric over the runs.

    Returns:
        A copy with the clipped intervals and the boolean column ``ci95_clipped``.
    """
    out = table.copy()
    bound = out["metric"].map(BOUNDS)
    known = bound.notna()
    lo = pd.Series(np.nan, index=out.index)
    hi = pd.Series(np.nan, index=out.index)
    lo[known] = [b[0] for b in bound[known]]
    hi[known] = [b[1] for b in bound[known]]
    mean = pd.to_numeric(out["mean"], errors="coerce")
    vmin = out["metric"].map(observed["min"]) if observed is not None else mean
    vmax = out["metric"].map(observed["max"]) if observed is not None else mean
    holds = known & ~(vmin < lo) & ~(vmax > hi)  # NaN (no value) does not break a bound
    low, high = (pd.to_numeric(out[c], errors="coerce") for c in ("ci95_low", "ci95_high"))
    clip_low, clip_high = holds & (low < lo), holds & (high > hi)
    out["ci95_low"] = low.where(~clip_low, lo)
    out["ci95_high"] = high.where(~clip_high, hi)
    out["ci95_clipped"] = clip_low | clip_high
    return out


def _aggregate(rows: _Rows) -> pd.DataFrame:
    """The report table of ``rows`` (:func:`aggregate`)."""
    from scipy import stats

    df, params = rows.df, rows.params
    if "config" in df.columns:  # run directories: one point per configuration, fields by point
        group = ["point", "config", "label", "scenario"]
    else:
        group = ["point", *params] if params else ["point", "scenario"]
    metrics = [c for c in df.columns
               if c not in (*ID_COLUMNS, *NON_METRICS, *group, *params, "run")
               and pd.api.types.is_numeric_dtype(df[c])]
    values = df[metrics].astype(float)  # booleans (guarantee_broken) count as 0 and 1
    long = pd.concat([df[group], values], axis=1).melt(id_vars=group, var_name="metric")
    g = long.groupby([*group, "metric"], sort=True, dropna=False)["value"]
    rep = g.agg(mean="mean", std="std", n="count").reset_index()
    tcrit = stats.t.ppf(0.975, np.maximum(rep["n"] - 1, 1))
    half = np.where(rep["n"] > 1, tcrit * rep["std"] / np.sqrt(rep["n"]), np.nan)
    rep["ci95_low"] = rep["mean"] - half
    rep["ci95_high"] = rep["mean"] + half
    rep = clip_ci(rep, long.groupby("metric")["value"].agg(["min", "max"]))
    if "config" in df.columns and params:
        fields = df.drop_duplicates("point")[["point", *params]]
        rep = rep.merge(fields, on="point", how="left", validate="many_to_one")
        group = [*group, *params]
    return rep[[*group, "metric", "mean", "std", "ci95_low", "ci95_high", "n", "ci95_clipped"]]


def aggregate(path: str | Path) -> pd.DataFrame:
    """One tidy table: point x metric with mean, std, 95 % confidence interval, n and whether the
    interval was clipped.

    The interval is ``mean +- t_{0.975, n-1} * std / sqrt(n)`` (NaN for n = 1), clipped to the
    bounds of quantities that cannot be negative or exceed 1 (:func:`clip_ci`, :data:`BOUNDS`).
    Metrics are the numeric fields of the task summaries except identifiers and timings. Points
    are a sweep's grid points, or the distinct configurations of a folder of run directories
    (module docstring), which get a readable ``label`` and the fields they differ in as columns.
    """
    return _aggregate(_rows(Path(path)))


def failures(path: str | Path) -> list[dict[str, Any]]:
    """Failure records of the tasks of a sweep directory that have no finished part (empty for
    run directories)."""
    path = Path(path)
    return scan_sweep(path).failures if (path / "sweep.json").is_file() else []


def write_report(path: str | Path, figures: bool = True) -> tuple[pd.DataFrame, list[Path]]:
    """Write ``report.csv``, ``report.parquet`` and ``figures/report_<metric>.png``.

    The figures (:func:`v2gsim.reporting.figures.report_figures`) plot the metrics that vary, profit
    first, against the parameters that vary and make an axis: a sweep's swept parameters with more
    than one value; the settings of a folder of runs when they are at most :data:`MAX_AXES`
    independent ones, else one axis of configuration labels. Each figure is saved and let go before
    the next is drawn. ``path`` must be a directory v2gsim wrote
    (:func:`v2gsim.experiments.sweep_dir.claim`): a sweep, a comparison, or a folder of run
    directories; the files are recorded in its marker.

    Returns:
        The report table and the figure files written.
    """
    path = Path(path)
    rows = _rows(path)
    rep = _aggregate(rows)
    claim(path, output_kind(path) or "runs")
    record(path, ["report.csv", "report.parquet"])
    atomic_write(path / "report.csv", lambda p: rep.to_csv(p, index=False))
    atomic_write(path / "report.parquet", lambda p: rep.to_parquet(p, index=False))
    written: list[Path] = []
    if figures:
        from v2gsim.reporting.figures import report_figures

        fig_dir = path / "figures"
        fig_dir.mkdir(exist_ok=True)
        for fname, fig in report_figures(rep, rows.axes, BOUNDS):
            target = fig_dir / fname
            record(path, [f"figures/{fname}"])
            atomic_write(target, lambda p, fig=fig: fig.savefig(p, dpi=100, format="png"))
            written.append(target)
    return rep, written

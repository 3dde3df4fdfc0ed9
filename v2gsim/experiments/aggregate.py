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
    "NOT_CONFIGURATION",
    "SweepScan",
    "aggregate",
    "config_key",
    "differing_fields",
    "failures",
    "report_notes",
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


def _run_rows(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rows of a folder of run directories, one point per configuration.

    Returns:
        ``(rows, differing fields, notes)``.
    """
    runs = [path] if (path / "summary.json").exists() else sorted(
        p.parent for p in path.glob("*/summary.json"))
    if not runs:
        raise FileNotFoundError(f"{path}: neither a sweep directory (parts/) nor run directories "
                                "(summary.json)")
    rows, configs, notes, seen = [], [], [], {}
    for r in runs:
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
    for f in fields:
        df[f] = [_cell(_flatten(_configuration(by_key[k])).get(f)) for k in df["config"]]
    df.insert(0, "point", pd.factorize(df["config"])[0])
    if len(by_key) > 1:
        shown = ", ".join(fields[:12]) + (f" and {len(fields) - 12} more" if len(fields) > 12 else "")
        notes.insert(0, f"{path}: {len(df)} runs in {len(by_key)} configurations, reported as "
                        f"separate points; they differ in {shown}")
    return df, fields, notes


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


def _rows(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Summary rows, the columns that tell the points apart, and notes."""
    if (path / "sweep.json").is_file():
        scan = scan_sweep(path)
        df = _sweep_rows(path, scan)
        params = [c for c in swept_parameters(path) if c in df.columns]
        return df, params, sweep_notes(scan)
    return _run_rows(path)


def report_notes(path: str | Path) -> list[str]:
    """What the report of ``path`` did that a reader should know (split configurations, duplicates,
    a sweep's parts that were not counted and files that are not v2gsim's)."""
    return _rows(Path(path))[2]


def aggregate(path: str | Path) -> pd.DataFrame:
    """One tidy table: point x metric with mean, std, 95 % confidence interval and n.

    The interval is ``mean +- t_{0.975, n-1} * std / sqrt(n)`` (NaN for n = 1). Metrics are the
    numeric fields of the task summaries except identifiers and timings. Points are a sweep's grid
    points, or the distinct configurations of a folder of run directories (module docstring).
    """
    from scipy import stats

    path = Path(path)
    df, params, _ = _rows(path)
    if "config" in df.columns:  # run directories: one point per configuration
        group = ["point", "config", "scenario", *[p for p in params if p != "scenario"]]
    else:
        group = ["point", *params] if params else ["point", "scenario"]
    metrics = [c for c in df.columns
               if c not in (*ID_COLUMNS, *NON_METRICS, *group, "run")
               and pd.api.types.is_numeric_dtype(df[c])]
    long = df.melt(id_vars=group, value_vars=metrics, var_name="metric")
    g = long.groupby([*group, "metric"], sort=True, dropna=False)["value"]
    rep = g.agg(mean="mean", std="std", n="count").reset_index()
    tcrit = stats.t.ppf(0.975, np.maximum(rep["n"] - 1, 1))
    half = np.where(rep["n"] > 1, tcrit * rep["std"] / np.sqrt(rep["n"]), np.nan)
    rep["ci95_low"] = rep["mean"] - half
    rep["ci95_high"] = rep["mean"] + half
    return rep[[*group, "metric", "mean", "std", "ci95_low", "ci95_high", "n"]]


def failures(path: str | Path) -> list[dict[str, Any]]:
    """Failure records of the tasks of a sweep directory that have no finished part (empty for
    run directories)."""
    path = Path(path)
    return scan_sweep(path).failures if (path / "sweep.json").is_file() else []


def write_report(path: str | Path, figures: bool = True) -> tuple[pd.DataFrame, list[Path]]:
    """Write ``report.csv``, ``report.parquet`` and figures of each metric vs each parameter.

    ``path`` must be a directory v2gsim wrote (:func:`v2gsim.experiments.sweep_dir.claim`): a sweep,
    a comparison, or a folder of run directories; the files are recorded in its marker.
    """
    path = Path(path)
    rep = aggregate(path)
    claim(path, output_kind(path) or "runs")
    record(path, ["report.csv", "report.parquet"])
    atomic_write(path / "report.csv", lambda p: rep.to_csv(p, index=False))
    atomic_write(path / "report.parquet", lambda p: rep.to_parquet(p, index=False))
    written: list[Path] = []
    if figures:
        import matplotlib.pyplot as plt

        from v2gsim.reporting.figures import report_figures

        params = swept_parameters(path) or [c for c in rep.columns if c not in (
            "point", "config", "scenario", "metric", "mean", "std", "ci95_low", "ci95_high", "n")]
        fig_dir = path / "figures"
        fig_dir.mkdir(exist_ok=True)
        figs = report_figures(rep, params)
        record(path, [f"figures/{fname}" for fname in figs])
        for fname, fig in figs.items():
            target = fig_dir / fname
            atomic_write(target, lambda p, fig=fig: fig.savefig(p, dpi=100, format="png"))
            plt.close(fig)
            written.append(target)
    return rep, written

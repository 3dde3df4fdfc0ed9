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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2gsim.experiments.rundir import atomic_write

__all__ = [
    "NOT_CONFIGURATION",
    "aggregate",
    "config_key",
    "differing_fields",
    "failures",
    "report_notes",
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
        summary = json.loads((r / "summary.json").read_text())
        config = json.loads((r / "config.json").read_text()) if (r / "config.json").exists() else {}
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


def _sweep_rows(path: Path) -> pd.DataFrame:
    files = sorted((path / "parts").glob("p*/summary.parquet"))
    if not files:
        raise FileNotFoundError(f"{path}: no finished tasks under parts/")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def swept_parameters(path: Path) -> list[str]:
    """The grid keys of a sweep directory (empty for run directories)."""
    meta = path / "sweep.json"
    return list(json.loads(meta.read_text())["grid"]) if meta.exists() else []


def _rows(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Summary rows, the columns that tell the points apart, and notes."""
    if (path / "parts").is_dir():
        df = _sweep_rows(path)
        params = [c for c in swept_parameters(path) if c in df.columns]
        return df, params, []
    return _run_rows(path)


def report_notes(path: str | Path) -> list[str]:
    """What the report of ``path`` did that a reader should know (split configurations, duplicates)."""
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
    """Failure records of a sweep directory."""
    return [json.loads(f.read_text()) for f in sorted(Path(path).glob("failed/*.json"))]


def write_report(path: str | Path, figures: bool = True) -> tuple[pd.DataFrame, list[Path]]:
    """Write ``report.csv``, ``report.parquet`` and figures of each metric vs each parameter."""
    path = Path(path)
    rep = aggregate(path)
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
        for fname, fig in report_figures(rep, params).items():
            target = fig_dir / fname
            atomic_write(target, lambda p, fig=fig: fig.savefig(p, dpi=100, format="png"))
            plt.close(fig)
            written.append(target)
    return rep, written

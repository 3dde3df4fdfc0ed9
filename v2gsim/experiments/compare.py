"""Policies side by side: one scenario under several policies with common random numbers.

A comparison is a paired sweep (:mod:`v2gsim.experiments.sweep`) over the grid ``platform.policy =
[p_0, p_1, ...]``: replication r of every policy runs with the streams
``SeedSequence(seed, spawn_key=(r,))`` (``common_random_numbers``), so every policy faces the same
fleet, the same AGC signals and prices and the same drivers' random utilities; where two policies'
decisions do not change what drivers see (no rebates), the drivers' paths coincide hour by hour.
Differences against the first policy are therefore paired per replication.

Layout of a compare directory (a sweep directory plus)::

    compare.json                     policies, replications, scenario name
    tables/<policy>/summary.csv      one row per replication
    tables/<policy>/daily.parquet    hourly.parquet: every replication's tables, tidy
    comparison.csv comparison.json   policy x metric: mean, std, 95 % CI, n; paired difference vs p_0
                                     (the plan beside the outcome, PLAN_METRICS, for the policies
                                     that return schedules)
    figures/compare_*.png            profit by day, predicted vs realized by hour, score distributions

Resumable like any sweep: a re-run skips the finished (policy, replication) parts. Only the intact
parts of the comparison's own tasks are read (:func:`v2gsim.experiments.aggregate.scan_sweep`); the
directory is v2gsim's (kind ``compare``, :func:`v2gsim.experiments.sweep_dir.claim`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from v2gsim.config import Scenario, ScenarioError
from v2gsim.experiments.aggregate import clip_ci, scan_sweep
from v2gsim.experiments.sweep import SweepResult, SweepSpec, run_sweep
from v2gsim.experiments.sweep_dir import ResultFileError, atomic_write, claim, read_json, record

__all__ = [
    "METRICS",
    "PLAN_METRICS",
    "POLICY_KEY",
    "CompareOutcome",
    "compare_spec",
    "comparison_table",
    "is_compare_dir",
    "load_policy_tables",
    "mean_ci",
    "paired_difference",
    "run_compare",
    "write_comparison",
]

POLICY_KEY = "platform.policy"
"""The grid key a comparison varies."""

METRICS: tuple[str, ...] = (
    "profit", "capability_credit", "performance_credit", "rebates_paid", "mean_performance_score",
    "share_bid_hours_below_target", "predicted_profit", "realized_profit_predicted_days",
    "predicted_ev_hours", "plugged_ev_hours", "forecast_mae_plugged", "mean_bid_kw",
)
"""Per-replication metrics of the comparison report ($, -, EV-hours, EVs, kW)."""

PLAN_METRICS: tuple[str, ...] = (
    "planned_cost", "realized_cost", "v2a_planned_cost", "v2a_realized_cost", "departure_shortfall_kwh",
    "schedule_deviation_kwh", "reserve_requested_kwh", "reserve_delivered_kwh",
)
"""The plan beside the outcome of the policies that return schedules, run totals over days: robust's
costs ($ of the prices; negative: earned), v2a's (p.u. of ``[platform.v2a]``'s prices), energies (kWh:
shortfall at departure, |planned - executed| base energy, reserve called and delivered). Reported
only for a policy that has them (a finite value in some replication)."""


def compare_spec(scenario: Scenario, policies: Sequence[str], replications: int) -> SweepSpec:
    """The paired sweep of ``scenario`` over ``policies`` (names of registered policies).

    Raises:
        ScenarioError: fewer than two distinct policies, an unknown name, ``replications < 1`` or
            more than ``MAX_TASKS`` tasks.
    """
    from v2gsim.policies import available_policies

    names = [p.strip() for p in policies if p.strip()]
    known = list(available_policies())
    origin = scenario.source or scenario.name
    bad = [p for p in names if p not in known]
    if bad:
        raise ScenarioError([f"{origin}: --policies: unknown policy {', '.join(map(repr, bad))}; "
                             f"allowed: {', '.join(known)}"])
    if len(names) < 2 or len(set(names)) != len(names):
        raise ScenarioError([f"{origin}: --policies: give at least two distinct policies, got {names}"])
    spec = SweepSpec(base=scenario, grid={POLICY_KEY: names}, replications=int(replications),
                     paired=True)
    spec.check_size()
    return spec


def is_compare_dir(path: str | Path) -> bool:
    """Whether ``path`` is a compare directory (has ``compare.json``)."""
    return (Path(path) / "compare.json").is_file()


def _parts(parts: list[Path], table: str) -> pd.DataFrame:
    frames = []
    for p in parts:
        try:
            frames.append(pd.read_parquet(p / f"{table}.parquet"))
        except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError or OSError
            raise ResultFileError(f"{p / f'{table}.parquet'}: damaged ({type(exc).__name__})") from None
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rows_of(df: pd.DataFrame, policy: str, order: list[str]) -> pd.DataFrame:
    return df[df[POLICY_KEY] == policy].sort_values(order).reset_index(drop=True)


def load_policy_tables(out: str | Path) -> dict[str, dict[str, pd.DataFrame]]:
    """``{policy: {"summary"|"daily"|"hourly": table}}`` of a compare directory's finished parts.

    The summary gets ``predicted_ev_hours`` and ``plugged_ev_hours`` (sums of the daily columns
    over the run, EV-hours) so that the predicted and realized plug-ins are compared per replication,
    and the run totals of the daily :data:`PLAN_METRICS` it does not carry itself
    (``schedule_deviation_kwh``, kWh; NaN for a policy without them).
    """
    out = Path(out)
    meta = read_json(out / "compare.json", ("policies",))
    parts = scan_sweep(out).parts
    if not parts:
        raise FileNotFoundError(f"{out}: no finished tasks under parts/")
    tables = {name: _parts(parts, name) for name in ("summary", "daily", "hourly")}
    daily = tables["daily"]
    summed = ["predicted_ev_hours", "plugged_ev_hours",
              *(c for c in PLAN_METRICS if c in daily.columns and c not in tables["summary"].columns)]
    sums = daily.groupby([POLICY_KEY, "replication"])[summed].sum(min_count=1).reset_index()
    summary = tables["summary"].merge(sums, on=[POLICY_KEY, "replication"], how="left")
    res = {}
    for pol in meta["policies"]:
        res[pol] = {
            "summary": _rows_of(summary, pol, ["replication"]),
            "daily": _rows_of(daily, pol, ["replication", "day"]),
            "hourly": _rows_of(tables["hourly"], pol, ["replication", "day", "hour"]),
        }
    return res


def mean_ci(x: Any) -> dict[str, float]:
    """Mean, sample std and two-sided 95 % Student-t interval of the finite values of ``x``.

    Returns:
        ``{"n", "mean", "std", "ci95_low", "ci95_high"}``; std and the interval are NaN when n < 2.
    """
    v = np.asarray(pd.to_numeric(pd.Series(x), errors="coerce"), float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return {"n": 0, "mean": np.nan, "std": np.nan, "ci95_low": np.nan, "ci95_high": np.nan}
    mean = float(v.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "std": np.nan, "ci95_low": np.nan, "ci95_high": np.nan}
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / np.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> dict[str, float]:
    """Mean and 95 % CI of ``b[metric] - a[metric]`` matched by replication (both finite)."""
    m = a[["replication", metric]].merge(b[["replication", metric]], on="replication", suffixes=("_a", "_b"))
    d = pd.to_numeric(m[f"{metric}_b"], errors="coerce") - pd.to_numeric(m[f"{metric}_a"], errors="coerce")
    return mean_ci(d)


def comparison_table(tables: dict[str, dict[str, pd.DataFrame]], metrics: Sequence[str] = METRICS,
                     optional: Sequence[str] = PLAN_METRICS) -> pd.DataFrame:
    """Tidy policy x metric table: n, mean, std, 95 % CI and the paired difference vs the first policy.

    A policy's interval of a quantity that cannot be negative (or a score above 1) is clipped to
    its bound (:func:`~v2gsim.experiments.aggregate.clip_ci`, column ``ci95_clipped``); the paired
    differences are not (they may take either sign).

    Args:
        tables: ``{policy: {"summary": one row per replication, ...}}`` (:func:`load_policy_tables`).
        metrics: summary columns reported for every policy that has the column.
        optional: summary columns reported after ``metrics`` only for the policies with a finite
            value of them (default: :data:`PLAN_METRICS`, which other policies lack).
    """
    policies = list(tables)
    ref = tables[policies[0]]["summary"]
    parts = []
    for pol in policies:
        s = tables[pol]["summary"]
        rows = []
        for metric in (*metrics, *(m for m in optional if m not in metrics)):
            if metric not in s.columns or (metric not in metrics and not _finite(s[metric])):
                continue
            row: dict[str, Any] = {"policy": pol, "metric": metric, **mean_ci(s[metric])}
            d = paired_difference(ref, s, metric)
            row.update({"vs": policies[0], "diff_n": d["n"], "diff_mean": d["mean"],
                        "diff_ci95_low": d["ci95_low"], "diff_ci95_high": d["ci95_high"]})
            rows.append(row)
        if rows:
            present = [r["metric"] for r in rows]
            observed = s[present].apply(pd.to_numeric, errors="coerce").agg(["min", "max"]).T
            parts.append(clip_ci(pd.DataFrame(rows), observed))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _finite(values: pd.Series) -> bool:
    """Whether ``values`` hold a finite number."""
    return bool(np.isfinite(pd.to_numeric(values, errors="coerce").to_numpy(float)).any())


@dataclass
class CompareOutcome:
    """What :func:`run_compare` did: the sweep outcome, the comparison table and the files written."""

    sweep: SweepResult
    comparison: pd.DataFrame
    files: list[Path]


def write_comparison(out: str | Path, figures: bool = True) -> tuple[pd.DataFrame, list[Path]]:
    """Write the per-policy tables, ``comparison.csv``/``.json`` and figures of a compare directory
    (a directory v2gsim wrote; every file is recorded in its marker)."""
    out = Path(out)
    tables = load_policy_tables(out)
    claim(out, "compare")
    files: list[Path] = []
    record(out, ["comparison.csv", "comparison.json", *(f"tables/{pol}/{name}" for pol in tables
                 for name in ("summary.csv", "daily.parquet", "hourly.parquet"))])
    for pol, tabs in tables.items():
        folder = out / "tables" / pol
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "summary.csv", lambda p, t=tabs: t["summary"].to_csv(p, index=False))
        for name in ("daily", "hourly"):
            atomic_write(folder / f"{name}.parquet",
                         lambda p, t=tabs, n=name: t[n].to_parquet(p, index=False))
        files += [folder / "summary.csv", folder / "daily.parquet", folder / "hourly.parquet"]
    comp = comparison_table(tables)
    atomic_write(out / "comparison.csv", lambda p: comp.to_csv(p, index=False))
    meta = read_json(out / "compare.json", ("policies",))
    doc = {**meta, "rows": json.loads(comp.to_json(orient="records"))}
    atomic_write(out / "comparison.json", lambda p: p.write_text(json.dumps(doc, indent=1)))
    files += [out / "comparison.csv", out / "comparison.json"]
    if figures:
        from v2gsim.reporting.compare import write_compare_figures

        figs = write_compare_figures(tables, out / "figures")
        record(out, figs)
        files += figs
    return comp, files


def run_compare(scenario: Scenario, policies: Sequence[str], out: str | Path, *, replications: int = 1,
                workers: int = 1, force: bool = False, progress: bool = True,
                figures: bool = True, on_result: Any = None) -> CompareOutcome:
    """Run (or resume) the comparison of ``policies`` on ``scenario`` into ``out`` and report it.

    Raises:
        ScenarioError: bad policies or replications, or ``out`` holds another sweep or comparison.
        SweepDirectoryError: ``out`` is not writable or another sweep is writing to it.
    """
    spec = compare_spec(scenario, policies, replications)
    out = Path(out)
    meta = {"scenario": scenario.name, "policies": spec.grid[POLICY_KEY],
            "replications": spec.replications, "common_random_numbers": True}
    res = run_sweep(spec, out, workers=workers, force=force, progress=progress, on_result=on_result,
                    kind="compare")
    out = res.out
    record(out, ["compare.json"])
    atomic_write(out / "compare.json", lambda p: p.write_text(json.dumps(meta, indent=1)))
    if res.n_done + res.n_skipped == 0:
        return CompareOutcome(res, pd.DataFrame(), [])
    comp, files = write_comparison(out, figures=figures)
    return CompareOutcome(res, comp, files)

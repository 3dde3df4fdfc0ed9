"""A self-contained HTML summary (``report.html``) of a run, sweep, compare or runs directory.

Readable without Python: the figures are embedded as base64 PNGs, the resolved scenario is printed
as JSON and the headline numbers as tables, with notes on how to read them (the performance score
is a bid-weighted mean; confidence intervals of bounded quantities are clipped at their bounds).

* run directory (``summary.json``, ``config.json``): the summary with units, ``figures/*.png``
  (with ``schedule.png``, planned vs executed power per slot, when the run has ``slots.parquet``)
  and, for a policy that returns schedules, "Plan beside outcome": the daily plan and outcome
  columns (:data:`PLAN_COLUMNS`) summed over the days;
* sweep directory (``sweep.json``, ``parts/``): ``report.csv`` (mean and 95 % CI per point and
  metric, written by :func:`v2gsim.experiments.aggregate.write_report` when missing), one row per
  point, ``figures/report_<metric>.png`` (profit first);
* compare directory (``compare.json``): ``comparison.csv`` (policy x metric with the paired
  differences; the headline metrics and, for the policies that have them, the plan-beside-outcome
  totals), ``figures/compare_*.png``;
* runs directory (a folder of ``v2gsim run`` directories): the aggregate as for a sweep, one row
  per configuration, the table of the runs, and each configuration's resolved scenario.

The directory's kind is its v2gsim marker's (or, for an earlier version's directory, recognized by
these files); ``report.html`` is written only into a directory v2gsim wrote
(:func:`v2gsim.experiments.sweep_dir.claim`). A damaged result file is an error naming it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from v2gsim.experiments.sweep_dir import ResultFileError, atomic_write, claim, output_kind, read_json, record

__all__ = ["directory_kind", "write_html_report"]

HEADLINE = ("profit", "capability_credit", "performance_credit", "rebates_paid", "mean_performance_score",
            "zero_score_bid_hours", "share_bid_hours_below_target", "predicted_profit",
            "realized_profit_predicted_days", "predicted_ev_hours", "plugged_ev_hours")
#: What the quantities of a run's summary are (beside their values in report.html).
MEANING = {
    "profit": "$: capability + performance credits - rebates (no energy or degradation cost)",
    "capability_credit": "$", "performance_credit": "$", "rebates_paid": "$ paid to drivers",
    "mean_performance_score": "-: bid-weighted mean of the hourly scores of the bid hours (each hour "
                              "weighted by its bid in kW), not the share of good hours",
    "bid_hours": "h with a bid", "score_target": "-: 1 - eta of [platform.chance]",
    "bid_hours_below_target": "h: bid hours that scored below score_target",
    "share_bid_hours_below_target": "-: bid_hours_below_target / bid_hours",
    "zero_score_bid_hours": "h: bid hours that scored 0 (inside the mean score, by their bid)",
    "profit_per_ev_per_day": "$ per EV-day", "mean_plugged": "EVs", "mean_bid_kw": "kW",
    "min_soc": "-", "unmet_travel_kwh": "kWh", "runtime_s": "s", "energy_cost": "$ (net)",
    "energy_bought_kwh": "kWh", "energy_sold_kwh": "kWh", "profit_net_energy": "$",
    "degradation_cost": "$", "profit_net_degradation": "$", "predicted_profit": "$",
    "realized_profit_predicted_days": "$", "forecast_mae_plugged": "EVs",
    "forecast_max_abs_error_plugged": "EVs",
    "planned_base_kwh": "kWh: base energy the covered EVs were asked to follow (grid side, + = charge)",
    "executed_base_kwh": "kWh: base energy the covered EVs' batteries executed",
    "schedule_deviation_kwh": "kWh: sum over EVs and slots of |planned - executed| energy",
    "planned_cost": "$ (currency of the prices; negative: earned): the site's cost if all went to plan",
    "realized_cost": "$: the same cost from what the drivers and the TSO did",
    "reserve_requested_kwh": "kWh of reserve the TSO called (both directions)",
    "reserve_delivered_kwh": "kWh of called reserve the fleet delivered",
    "departure_shortfall_kwh": "kWh: sum over stays of max(0, wanted - stored at departure)",
    "v2a_planned_cost": "p.u. of [platform.v2a]'s prices: the v2a sites' planned cost",
    "v2a_realized_cost": "p.u. of [platform.v2a]'s prices: the same from what happened",
}
#: Daily columns of a policy that returns schedules: the plan beside the outcome, summed over days.
PLAN_COLUMNS = ("planned_base_kwh", "executed_base_kwh", "schedule_deviation_kwh", "planned_cost",
                "realized_cost", "v2a_planned_cost", "v2a_realized_cost", "reserve_requested_kwh",
                "reserve_delivered_kwh", "departure_shortfall_kwh")
SCORE_NOTE = ("mean_performance_score is bid-weighted: the mean of the hourly scores of the hours with "
              "a bid, each weighted by its bid (kW). A mean near 1 can sit beside many hours that "
              "scored 0: read it with zero_score_bid_hours and share_bid_hours_below_target.")
#: At most this many rows in the runs table and resolved scenarios in a runs directory's page.
MAX_ROWS, MAX_CONFIGS = 1000, 50

FIG = "<h2>Figures</h2>"
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
         "text-align:right}th{background:#eee}pre{background:#f6f6f6;padding:1em;overflow:auto;"
         "max-height:30em;font-size:12px}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}"
         "td{white-space:nowrap}th{font-size:12px}.scroll{overflow-x:auto;max-width:100%}"
         "details{margin:.3em 0}")


def directory_kind(path: str | Path) -> str:
    """``"compare"``, ``"sweep"``, ``"run"`` or ``"runs"`` (a folder of run directories).

    Raises:
        FileNotFoundError: ``path`` is none of them.
    """
    p = Path(path)
    kind = output_kind(p)
    if kind == "compare" or (kind == "sweep" and (p / "compare.json").is_file()):
        return "compare"
    if kind == "sweep":
        return "sweep"
    if kind == "run" and (p / "summary.json").is_file():
        return "run"
    if kind == "runs":
        return "runs"
    raise FileNotFoundError(f"{p}: not a run, sweep or compare directory (no summary.json + config.json, "
                            "sweep.json + parts/ or compare.json) nor a folder of run directories")


def _read_csv(path: Path, column: str) -> pd.DataFrame:
    """The table ``path`` written by v2gsim (with ``column``); ResultFileError when damaged."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        raise ResultFileError(f"{path}: damaged or unreadable ({type(exc).__name__})") from None
    if column not in df.columns:
        raise ResultFileError(f"{path}: damaged (no column {column!r})")
    return df


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.4g}"
    return html.escape(str(v))


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _run_figures(p: Path) -> None:
    """Draw a run's figures from its tables when it was run without them (``--no-figures``)."""
    from v2gsim.experiments.rundir import read_run
    from v2gsim.reporting.figures import run_figures

    res = read_run(p)
    (p / "figures").mkdir(exist_ok=True)
    figs = run_figures(res.hourly, res.daily, res.fleet, res.soc, res.slots)
    record(p, [f"figures/{fname}" for fname in figs])
    for fname, fig in figs.items():
        atomic_write(p / "figures" / fname, lambda t, fig=fig: fig.savefig(t, dpi=110, format="png"))


def _img(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (f"<h3>{html.escape(png.stem)}</h3><img alt='{html.escape(png.name)}' "
            f"src='data:image/png;base64,{data}'>")


def _figures(folder: Path, pattern: str) -> str:
    return "".join(_img(png) for png in sorted(folder.glob(pattern))) or "<p>(no figures)</p>"


def _report_figures(p: Path, rep: pd.DataFrame) -> str:
    """The report figures of ``rep``'s metrics that are on disk, in the report's order (profit first;
    a figure of a metric the report no longer plots is left out)."""
    from v2gsim.reporting.figures import report_metrics

    pngs = [p / "figures" / f"report_{m}.png" for m in report_metrics(rep)]
    return "".join(_img(f) for f in pngs if f.is_file()) or "<p>(no figures)</p>"


def _notes(notes: list[str]) -> str:
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"


def _interval(mean: Any, low: Any, high: Any, clipped: bool) -> str:
    """``mean [low, high]`` of a report cell (``†``: the interval was clipped at a bound)."""
    text = _fmt(float(mean)) if pd.notna(mean) else ""
    if pd.notna(low) and pd.notna(high):
        text += f" [{_fmt(float(low))}, {_fmt(float(high))}]" + (" †" if clipped else "")
    return text


def _wide(rep: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per point: ``keys``, the most runs a metric of it averages (n) and ``mean [95 % CI]``
    of each headline metric and plan-beside-outcome total present (the long table with std and every
    metric is report.csv)."""
    shown = (*HEADLINE, *PLAN_COLUMNS)
    rows = rep[rep.metric.isin(shown)]
    clipped = rows["ci95_clipped"].astype(str).eq("True") if "ci95_clipped" in rows else rows["n"] < 0
    metrics = [m for m in shown if m in set(rows["metric"])]
    out = []
    for _point, sub in rows.groupby("point", sort=True):
        first = sub.iloc[0]
        row: dict[str, Any] = {k: first[k] for k in keys if k in sub.columns} | {"n": int(sub["n"].max())}
        cells = {r.metric: _interval(r.mean, r.ci95_low, r.ci95_high, bool(c))
                 for r, c in zip(sub.itertuples(), clipped[sub.index], strict=True)}
        out.append(row | {m: cells.get(m, "") for m in metrics})
    return pd.DataFrame(out)


def _aggregate_parts(p: Path, keys: list[str], notes: list[str],
                     middle: str = "") -> tuple[pd.DataFrame, str]:
    """The report table of a sweep or runs directory (written when missing) and its page sections:
    notes, headline numbers, ``middle``, figures."""
    from v2gsim.experiments.aggregate import CI_NOTE

    if not (p / "report.csv").is_file():
        from v2gsim.experiments.aggregate import write_report

        write_report(p)
    rep = _read_csv(p / "report.csv", "metric")
    keys = keys or [c for c in rep.columns[:list(rep.columns).index("metric")]]
    body = (_notes([*notes, SCORE_NOTE, CI_NOTE + "; in the tables below: †"])
            + "<h2>Headline numbers</h2><p>mean [95 % confidence interval] per point; std and every "
              "metric in report.csv</p>" + _table(_wide(rep, keys)) + middle + FIG
            + _report_figures(p, rep))
    return rep, body


def _run_parts(p: Path) -> tuple[str, str]:
    if not list((p / "figures").glob("*.png")):
        _run_figures(p)
    s = read_json(p / "summary.json")
    if not isinstance(s, dict):
        raise ResultFileError(f"{p / 'summary.json'}: damaged (expected a JSON object)")
    rows = pd.DataFrame([(k, v, MEANING.get(k, "")) for k, v in s.items() if not isinstance(v, dict | list)],
                        columns=["quantity", "value", "unit and meaning"])
    body = (_notes([SCORE_NOTE]) + "<h2>Headline numbers</h2>" + _table(rows) + _plan(p) + FIG
            + _figures(p / "figures", "*.png") + _scenario(read_json(p / "config.json")))
    return f"run {s.get('scenario', p.name)}", body


def _plan(p: Path) -> str:
    """The section "Plan beside outcome" of a run whose daily table has :data:`PLAN_COLUMNS` (their
    totals over the run's days, with units), else ''."""
    daily = p / "daily.parquet"
    try:
        df = pd.read_parquet(daily) if daily.is_file() else pd.DataFrame()
    except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError or OSError
        raise ResultFileError(f"{daily}: damaged ({type(exc).__name__})") from None
    rows = [(c, float(df[c].sum(min_count=1)), MEANING.get(c, "")) for c in PLAN_COLUMNS
            if c in df and df[c].notna().any()]
    if not rows:
        return ""
    return ("<h2>Plan beside outcome</h2><p>the daily columns of a policy that returns schedules, "
            f"summed over the {len(df)} days; per slot: slots.parquet and figure schedule</p>"
            + _table(pd.DataFrame(rows, columns=["quantity", "total over days", "unit and meaning"])))


def _scenario(config: Any, head: str = "<h2>Resolved scenario</h2>") -> str:
    return f"{head}<pre>{html.escape(json.dumps(config, indent=1, default=str))}</pre>"


def _sweep_parts(p: Path) -> tuple[str, str]:
    from v2gsim.experiments.aggregate import scan_sweep, sweep_notes

    meta = read_json(p / "sweep.json", ("base", "grid", "replications"))
    _, body = _aggregate_parts(p, [], sweep_notes(scan_sweep(p)))
    title = f"sweep {meta['base'].get('name', p.name)}: grid {', '.join(meta['grid']) or '(none)'}, " \
            f"{meta['replications']} replications"
    return title, body + _scenario(meta)


def _runs_parts(p: Path) -> tuple[str, str]:
    """A folder of run directories: its configurations' headline numbers, runs, figures and scenarios."""
    from v2gsim.experiments.aggregate import report_notes, runs_table

    runs = runs_table(p)
    listing = (f"<h2>Runs</h2><p>{len(runs)} runs in {runs['point'].nunique()} configurations "
               "(points); a configuration is everything but the seed, names and output settings</p>"
               + _table(runs.head(MAX_ROWS))
               + ("" if len(runs) <= MAX_ROWS else f"<p>(first {MAX_ROWS} of {len(runs)} runs)</p>"))
    rep, body = _aggregate_parts(p, ["point", "label"], report_notes(p), listing)
    cols = list(rep.columns)
    fields = cols[cols.index("scenario") + 1:cols.index("metric")] if "scenario" in cols else []
    if fields:
        body += (f"<details><summary>the {len(fields)} fields in which the configurations differ"
                 f"</summary><p>{html.escape(', '.join(fields))}</p></details>")
    body += "<h2>Resolved scenarios</h2>"
    first = runs.drop_duplicates("point")
    for r in first.head(MAX_CONFIGS).itertuples():
        config = p / str(r.run) / "config.json"
        body += _scenario(read_json(config) if config.is_file() else "(no config.json)",
                          f"<details><summary>point {r.point}: {html.escape(str(r.label))} "
                          f"(run {html.escape(str(r.run))})</summary>") + "</details>"
    if len(first) > MAX_CONFIGS:
        body += f"<p>(first {MAX_CONFIGS} of {len(first)} configurations)</p>"
    name = ", ".join(map(str, dict.fromkeys(runs["scenario"])))
    return f"runs of {name}: {len(runs)} runs, {runs['point'].nunique()} configurations", body


def _compare_parts(p: Path) -> tuple[str, str]:
    from v2gsim.experiments.aggregate import CI_NOTE, clip_ci

    if not (p / "comparison.csv").is_file():
        from v2gsim.experiments.compare import write_comparison

        write_comparison(p)
    meta = read_json(p / "compare.json", ("scenario", "policies", "replications"))
    comp = clip_ci(_read_csv(p / "comparison.csv", "metric"))
    comp = comp[comp.metric.isin((*HEADLINE, *PLAN_COLUMNS))]
    title = (f"compare {meta['scenario']}: {', '.join(meta['policies'])} x {meta['replications']} "
             "replications (common random numbers; diff_* = policy - " + meta["policies"][0] + ", paired)")
    body = (_notes([SCORE_NOTE, CI_NOTE + "; the paired differences (diff_*) are not clipped"])
            + "<h2>Headline numbers</h2>" + _table(comp) + FIG + _figures(p / "figures", "compare_*.png")
            + _scenario(read_json(p / "sweep.json")))
    return title, body


def write_html_report(path: str | Path) -> Path:
    """Write ``report.html`` into the run, sweep, compare or runs directory ``path``; return its path."""
    p = Path(path)
    kind = directory_kind(p)
    claim(p, {"compare": output_kind(p) or "compare"}.get(kind, kind))
    parts = {"run": _run_parts, "sweep": _sweep_parts, "compare": _compare_parts, "runs": _runs_parts}
    title, body = parts[kind](p)
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
           f"<p>{kind} directory <code>{html.escape(str(p.resolve()))}</code></p>{body}</body></html>")
    target = p / "report.html"
    record(p, ["report.html"])
    atomic_write(target, lambda t: t.write_text(doc, encoding="utf-8"))
    return target

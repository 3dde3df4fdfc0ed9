"""A self-contained HTML summary (``report.html``) of a run, sweep or compare directory.

Readable without Python: the figures are embedded as base64 PNGs, the resolved scenario is printed
as JSON and the headline numbers as tables.

* run directory (``summary.json``, ``config.json``): the summary, ``figures/*.png``;
* sweep directory (``sweep.json``, ``parts/``): ``report.csv`` (mean and 95 % CI per point and
  metric, written by :func:`v2gsim.experiments.aggregate.write_report` when missing),
  ``figures/report_*.png``;
* compare directory (``compare.json``): ``comparison.csv`` (policy x metric with the paired
  differences), ``figures/compare_*.png``.

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
            "share_bid_hours_below_target", "predicted_profit", "realized_profit_predicted_days",
            "predicted_ev_hours", "plugged_ev_hours")

FIG = "<h2>Figures</h2>"
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
         "text-align:right}th{background:#eee}pre{background:#f6f6f6;padding:1em;overflow:auto;"
         "max-height:30em;font-size:12px}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}")


def directory_kind(path: str | Path) -> str:
    """``"compare"``, ``"sweep"`` or ``"run"``.

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
    raise FileNotFoundError(f"{p}: not a run, sweep or compare directory (no summary.json + config.json, "
                            "sweep.json + parts/ or compare.json)")


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
    return f"<table><tr>{head}</tr>{body}</table>"


def _figures(folder: Path, pattern: str) -> str:
    out = []
    for png in sorted(folder.glob(pattern)):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        out.append(f"<h3>{html.escape(png.stem)}</h3><img alt='{html.escape(png.name)}' "
                   f"src='data:image/png;base64,{data}'>")
    return "".join(out) or "<p>(no figures)</p>"


def _run_figures(p: Path) -> None:
    """Draw a run's figures from its tables when it was run without them (``--no-figures``)."""
    import matplotlib.pyplot as plt

    from v2gsim.experiments.rundir import read_run
    from v2gsim.reporting.figures import run_figures

    res = read_run(p)
    (p / "figures").mkdir(exist_ok=True)
    figs = run_figures(res.hourly, res.daily, res.fleet, res.soc)
    record(p, [f"figures/{fname}" for fname in figs])
    for fname, fig in figs.items():
        atomic_write(p / "figures" / fname, lambda t, fig=fig: fig.savefig(t, dpi=110, format="png"))
        plt.close(fig)


def _run_parts(p: Path) -> tuple[str, str, Any]:
    if not list((p / "figures").glob("*.png")):
        _run_figures(p)
    s = read_json(p / "summary.json")
    if not isinstance(s, dict):
        raise ResultFileError(f"{p / 'summary.json'}: damaged (expected a JSON object)")
    rows = pd.DataFrame([(k, v) for k, v in s.items() if not isinstance(v, dict | list)],
                        columns=["quantity", "value"])
    return f"run {s.get('scenario', p.name)}", _table(rows) + FIG + _figures(p / "figures", "*.png"), \
        read_json(p / "config.json")


def _sweep_parts(p: Path) -> tuple[str, str, Any]:
    if not (p / "report.csv").is_file():
        from v2gsim.experiments.aggregate import write_report

        write_report(p)
    rep = _read_csv(p / "report.csv", "metric")
    meta = read_json(p / "sweep.json", ("base", "grid", "replications"))
    rep = rep[rep.metric.isin(HEADLINE)]
    title = f"sweep {meta['base'].get('name', p.name)}: grid {', '.join(meta['grid']) or '(none)'}, " \
            f"{meta['replications']} replications"
    return title, _table(rep) + FIG + _figures(p / "figures", "report_*.png"), meta


def _compare_parts(p: Path) -> tuple[str, str, Any]:
    if not (p / "comparison.csv").is_file():
        from v2gsim.experiments.compare import write_comparison

        write_comparison(p)
    meta = read_json(p / "compare.json", ("scenario", "policies", "replications"))
    comp = _read_csv(p / "comparison.csv", "metric")
    comp = comp[comp.metric.isin(HEADLINE)]
    title = (f"compare {meta['scenario']}: {', '.join(meta['policies'])} x {meta['replications']} "
             "replications (common random numbers; diff_* = policy - " + meta["policies"][0] + ", paired)")
    scenario = read_json(p / "sweep.json")
    return title, _table(comp) + FIG + _figures(p / "figures", "compare_*.png"), scenario


def write_html_report(path: str | Path) -> Path:
    """Write ``report.html`` into the run, sweep or compare directory ``path`` and return its path."""
    p = Path(path)
    kind = directory_kind(p)
    claim(p, {"compare": output_kind(p) or "compare"}.get(kind, kind))
    title, body, scenario = {"run": _run_parts, "sweep": _sweep_parts, "compare": _compare_parts}[kind](p)
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
           f"<p>{kind} directory <code>{html.escape(str(p.resolve()))}</code></p>"
           f"<h2>Headline numbers</h2>{body}<h2>Resolved scenario</h2>"
           f"<pre>{html.escape(json.dumps(scenario, indent=1, default=str))}</pre></body></html>")
    target = p / "report.html"
    record(p, ["report.html"])
    atomic_write(target, lambda t: t.write_text(doc, encoding="utf-8"))
    return target

"""``v2gsim compare SCENARIO --policies a,b[,...]``: policies side by side.

The library is :mod:`v2gsim.experiments.compare`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from v2gsim.config import load_scenario

__all__ = ["add_compare_parser", "cmd_compare", "html_report"]

HEADLINE = ("profit", "rebates_paid", "mean_performance_score", "share_bid_hours_below_target",
            "predicted_profit", "realized_profit_predicted_days", "predicted_ev_hours", "plugged_ev_hours")


def add_compare_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of ``v2gsim compare``."""
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML or shipped name")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field (repeatable)")
    p.add_argument("--policies", default="naive,chance,bilevel",
                   help="comma-separated registered policies; differences are against the first")
    p.add_argument("--replications", type=int, default=1, help="replications (common random numbers)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--days", type=int, default=None, help="override the number of days")
    p.add_argument("--out", type=Path, default=None,
                   help="compare directory (default runs/<scenario>-compare)")
    p.add_argument("--force", action="store_true", help="recompute finished parts")
    p.add_argument("--no-figures", action="store_true", help="skip figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the comparison rows as JSON")
    p.set_defaults(func=cmd_compare)


def _fmt(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def cmd_compare(args: argparse.Namespace) -> int:
    """Run or resume the comparison and print its headline table."""
    from v2gsim.experiments.compare import run_compare

    scenario = load_scenario(args.scenario, args.overrides, days=args.days)
    policies = args.policies.split(",")
    out = args.out or Path(f"runs/{scenario.name}-compare")
    res = run_compare(scenario, policies, out, replications=args.replications, workers=args.workers,
                      force=args.force, progress=not args.quiet and not args.json,
                      figures=not args.no_figures)
    sw = res.sweep
    for f in sw.failures:
        print(f"  failed {f['task']}: {f['error']}", file=sys.stderr)
    if args.json:
        print(json.dumps(json.loads(res.comparison.to_json(orient="records")), indent=1))
        return 1 if sw.n_failed else 0
    print(f"compare {scenario.name}: {', '.join(p.strip() for p in policies)} x {args.replications} "
          f"replications (common random numbers) -> {out}")
    print(f"  {sw.n_done} done, {sw.n_skipped} skipped (already finished), {sw.n_failed} failed of "
          f"{sw.n_tasks} in {sw.wall_s:.1f} s")
    comp = res.comparison
    if len(comp):
        ref = comp["vs"].iloc[0]
        print(f"  {'metric':32s} {'policy':10s} {'mean':>10s} {'95% CI':>23s} {'- ' + ref:>12s} "
              f"{'95% CI':>23s}")
        for metric in HEADLINE:
            for r in comp[comp.metric == metric].itertuples():
                print(f"  {metric:32s} {r.policy:10s} {_fmt(r.mean):>10s} "
                      f"[{_fmt(r.ci95_low):>10s}, {_fmt(r.ci95_high):>10s}] {_fmt(r.diff_mean):>12s} "
                      f"[{_fmt(r.diff_ci95_low):>10s}, {_fmt(r.diff_ci95_high):>10s}]")
        print(f"  tables: {out / 'comparison.csv'}, {out / 'tables'}/<policy>/; figures: {out / 'figures'}")
    return 1 if sw.n_failed else 0


def html_report(args: argparse.Namespace) -> int | None:
    """``v2gsim report DIR``'s HTML: a run or compare directory gets only ``report.html`` (returns
    0); a sweep gets it after the aggregate report (``None``: the caller writes that first)."""
    from v2gsim.experiments.html import directory_kind, write_html_report

    try:
        kind = directory_kind(args.dir)
    except FileNotFoundError:
        return None  # a folder of run directories: the aggregate report only
    if kind == "sweep" and not getattr(args, "_aggregated", False):
        return None
    print(f"html report: {write_html_report(args.dir)}")
    return 0

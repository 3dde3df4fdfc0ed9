"""``v2gsim sweep``, ``v2gsim compare`` and ``v2gsim report``: many runs and their reports.

The library is :mod:`v2gsim.experiments` (``sweep``, ``compare``, ``aggregate``, ``html``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from v2gsim.cli.common import (
    Subparsers,
    add_command,
    add_days,
    add_force,
    add_json,
    add_no_figures,
    add_out,
    add_overrides,
    add_quiet,
    add_scenario,
)
from v2gsim.config import load_scenario

__all__ = ["register"]

#: The metrics ``v2gsim compare`` prints, in order.
HEADLINE = ("profit", "rebates_paid", "mean_performance_score", "share_bid_hours_below_target",
            "predicted_profit", "realized_profit_predicted_days", "predicted_ev_hours", "plugged_ev_hours")


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``sweep``, ``compare`` and ``report``."""
    sw = add_command(subparsers, parents, "sweep", _cmd_sweep,
                     help="Monte Carlo sweep: grid of --set lists x replications")
    add_scenario(sw, "scenario TOML (default: default)")
    add_overrides(sw, metavar="KEY=V1,V2,...", help="swept values (repeatable; the grid is their "
                  "Cartesian product); merged over the scenario's [experiment.grid]")
    sw.add_argument("--replications", type=int, default=None, help="replications per point")
    sw.add_argument("--paired", action="store_true",
                    help="common random numbers: replication r of every point uses the same streams")
    sw.add_argument("--workers", type=int, default=None, help="worker processes")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://...)")
    sw.add_argument("--dask", action="store_true", help="use a Dask LocalCluster")
    add_out(sw, help="sweep directory")
    add_force(sw, help="recompute finished tasks")
    add_no_figures(sw, help="skip report figures")
    add_quiet(sw)

    cp = add_command(subparsers, parents, "compare", _cmd_compare,
                     help="the same scenario under several policies, paired (CRN)")
    add_scenario(cp, "scenario TOML or shipped name")
    add_overrides(cp, help="override a scenario field (repeatable)")
    cp.add_argument("--policies", default="naive,chance,bilevel",
                    help="comma-separated registered policies; differences are against the first")
    cp.add_argument("--replications", type=int, default=1, help="replications (common random numbers)")
    cp.add_argument("--workers", type=int, default=1, help="worker processes")
    add_days(cp)
    add_out(cp, help="compare directory (default runs/<scenario>-compare)")
    add_force(cp, help="recompute finished parts")
    add_no_figures(cp, help="skip figures")
    add_quiet(cp)
    add_json(cp, help="print the comparison rows as JSON")

    rp = add_command(subparsers, parents, "report", _cmd_report,
                     help="aggregate a sweep (or run) directory: mean, std, 95%% CI; report.html")
    rp.add_argument("dir", type=Path,
                    help="a sweep directory (sweep.json, parts/) or a folder of run directories")
    add_no_figures(rp, help="skip figures/report_*.png")
    rp.add_argument("--show", action="store_true", help="print the table")


def _cmd_sweep(args: argparse.Namespace) -> int:
    """Run or resume the sweep, then write its aggregate report; exit 1 if a task failed."""
    from v2gsim.experiments.aggregate import write_report
    from v2gsim.experiments.sweep import run_sweep, spec_from_scenario

    scenario = load_scenario(args.scenario)
    exp = scenario.experiment
    spec = spec_from_scenario(scenario, args.overrides, args.replications,
                              paired=True if args.paired else None)
    out = args.out or Path(exp.out or f"runs/{scenario.name}-sweep")
    workers = args.workers if args.workers is not None else exp.workers
    scheduler = args.scheduler if args.scheduler is not None else exp.scheduler
    backend = "dask" if (scheduler or args.dask) else exp.backend
    print(f"sweep {scenario.name}: {len(spec.points())} points x {spec.replications} replications "
          f"-> {out} ({backend}, {workers} worker{'s' if workers != 1 else ''})")
    res = run_sweep(spec, out, workers=workers, backend=backend, scheduler=scheduler,
                    force=args.force, progress=not args.quiet)
    for f in res.failures:
        print(f"  failed {f['task']}: {f['error']}", file=sys.stderr)
    if res.repaired:
        print(f"  {len(res.repaired)} damaged part(s) found and run again: {', '.join(res.repaired)}",
              file=sys.stderr)
    print(f"{res.n_done} done, {res.n_skipped} skipped (already finished), {res.n_failed} failed "
          f"of {res.n_tasks} tasks in {res.wall_s:.1f} s ({res.tasks_per_s:.2f} tasks/s)")
    if res.n_done + res.n_skipped > 0:
        _, figs = write_report(out, figures=not args.no_figures)
        print(f"report: {out / 'report.csv'} ({len(figs)} figures)")
    return 1 if res.n_failed else 0


def _fmt(x: float | None) -> str:
    """A number of the comparison table (``nan`` for a missing or infinite one)."""
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _cmd_compare(args: argparse.Namespace) -> int:
    """Run or resume the comparison and print its headline table; exit 1 if a part failed."""
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
    status = 1 if sw.n_failed else 0
    if args.json:
        print(json.dumps(json.loads(res.comparison.to_json(orient="records")), indent=1))
        return status
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
    return status


def _cmd_report(args: argparse.Namespace) -> int:
    """Report a directory: a run or compare directory gets ``report.html``; a sweep its aggregate
    (``report.csv``, figures) and then ``report.html``; a folder of run directories its aggregate.

    Exits 1 if the sweep has failed tasks.
    """
    from v2gsim.experiments.aggregate import failures, report_notes, write_report
    from v2gsim.experiments.html import directory_kind, write_html_report

    try:
        kind: str | None = directory_kind(args.dir)
    except FileNotFoundError:
        kind = None  # a folder of run directories (or nothing): the aggregate says which
    if kind in ("run", "compare"):
        print(f"html report: {write_html_report(args.dir)}")
        return 0
    rep, figs = write_report(args.dir, figures=not args.no_figures)
    for note in report_notes(args.dir):
        print(f"note: {note}", file=sys.stderr)
    failed = failures(args.dir)
    print(f"report: {args.dir / 'report.csv'} ({rep['point'].nunique()} points, "
          f"{rep['metric'].nunique()} metrics, {len(figs)} figures); {len(failed)} failed tasks")
    if args.show:
        print(rep.to_string(index=False))
    if kind == "sweep":  # after the aggregate: the page shows the report.csv just written
        print(f"html report: {write_html_report(args.dir)}")
    return 1 if failed else 0

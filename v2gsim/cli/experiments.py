"""``v2gsim sweep``, ``v2gsim compare`` and ``v2gsim report``: many runs and their reports.

The library is :mod:`v2gsim.experiments` (``sweep``, ``compare``, ``aggregate``, ``html``).

* A Dask scheduler is chosen only by the user: ``sweep --scheduler tcp://HOST:PORT``, else the
  environment variable ``V2GSIM_DASK_SCHEDULER``; a scenario file never names one (its
  ``[experiment]`` table gives the grid, replications, pairing, workers and the sweep directory).
  A malformed address is one line and exit 2. The client accepts only plain data (msgpack) back
  from the cluster; a scheduler and its workers are still trusted like a shell on this machine.
* Output directories: ``sweep``, ``compare`` and ``report`` write only into a directory v2gsim
  created (its marker ``.v2gsim-output.json``), an empty one, or one of an earlier version
  recognized by its files; ``--force`` removes only what v2gsim wrote there; the filesystem root
  and the home directory are refused (:func:`v2gsim.experiments.sweep_dir.claim`).
* ``report`` exits 0 when every task of a sweep (or comparison) finished, 1 when some failed or
  are missing (it says ``incomplete: n of N tasks finished``; the report covers the finished ones),
  2 for a damaged result file (named) or a directory that is not v2gsim's.
* ``--workers`` is 1 to 1024 and never starts more processes than there are tasks to run; a sweep
  has at most 1,000,000 tasks (points x replications), checked before anything runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from v2gsim.experiments.sweep import SweepResult

__all__ = ["register"]

#: The metrics ``v2gsim compare`` prints, in order.
HEADLINE = ("profit", "rebates_paid", "mean_performance_score", "share_bid_hours_below_target",
            "predicted_profit", "realized_profit_predicted_days", "predicted_ev_hours", "plugged_ev_hours",
            # plan beside outcome (policies with schedules; the others have no rows)
            "planned_cost", "realized_cost", "schedule_deviation_kwh", "departure_shortfall_kwh",
            "reserve_requested_kwh", "reserve_delivered_kwh")


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
    sw.add_argument("--workers", type=int, default=None,
                    help="worker processes, 1 to 1024 (never more than the tasks to run)")
    sw.add_argument("--scheduler", default=None,
                    help="Dask scheduler address tcp://HOST:PORT or tls://HOST:PORT (default: the "
                    "environment variable V2GSIM_DASK_SCHEDULER; a scenario file never sets it); "
                    "the scheduler and its workers run code as you: connect only to your own")
    sw.add_argument("--dask", action="store_true", help="use a Dask LocalCluster")
    add_out(sw, help="sweep directory")
    add_force(sw, help="recompute finished tasks (removes only what v2gsim wrote into --out)")
    add_no_figures(sw, help="skip report figures")
    add_quiet(sw)

    cp = add_command(subparsers, parents, "compare", _cmd_compare,
                     help="the same scenario under several policies, paired (CRN)")
    add_scenario(cp, "scenario TOML or shipped name")
    add_overrides(cp, help="override a scenario field (repeatable)")
    cp.add_argument("--policies", default="naive,chance,bilevel",
                    help="comma-separated registered policies; differences are against the first")
    cp.add_argument("--replications", type=int, default=1, help="replications (common random numbers)")
    cp.add_argument("--workers", type=int, default=1,
                    help="worker processes, 1 to 1024 (never more than the tasks to run)")
    add_days(cp)
    add_out(cp, help="compare directory (default runs/<scenario>-compare)")
    add_force(cp, help="recompute finished parts (removes only what v2gsim wrote into --out)")
    add_no_figures(cp, help="skip figures")
    add_quiet(cp)
    add_json(cp, help="print the comparison rows as JSON")

    rp = add_command(subparsers, parents, "report", _cmd_report,
                     help="aggregate a sweep, comparison, run or folder of runs: mean, std, 95%% CI; "
                     "report.html (exit 1 when tasks failed or are missing)")
    rp.add_argument("dir", type=Path,
                    help="a sweep directory (sweep.json, parts/) or a folder of run directories")
    add_no_figures(rp, help="skip figures/report_*.png")
    rp.add_argument("--show", action="store_true", help="print the table")


def _scheduler(args: argparse.Namespace) -> str:
    """The Dask scheduler address: ``--scheduler``, else ``$V2GSIM_DASK_SCHEDULER``, else none
    (checked: ScenarioError naming where a malformed one came from)."""
    from v2gsim.experiments.sweep import SCHEDULER_ENV, check_scheduler_address

    if args.scheduler is not None:
        text, origin = args.scheduler, "--scheduler"
    else:
        text, origin = os.environ.get(SCHEDULER_ENV, ""), SCHEDULER_ENV
    return check_scheduler_address(text, origin) if text.strip() else ""


def _print_leftovers(res: SweepResult) -> None:
    """The failed tasks, repaired parts, foreign files and blocked tasks of a sweep, on stderr."""
    for f in res.failures:
        print(f"  failed {f['task']}: {f['error']}", file=sys.stderr)
    if res.repaired:
        print(f"  {len(res.repaired)} damaged part(s) found and run again: {', '.join(res.repaired)}",
              file=sys.stderr)
    for name in res.foreign:
        print(f"  {res.out / name}: not written by v2gsim; left in place", file=sys.stderr)
    for name in res.blocked:
        print(f"  {res.out / 'parts' / name}: holds files v2gsim did not write; task {name} not run "
              "(move the folder away and run again)", file=sys.stderr)


def _cmd_sweep(args: argparse.Namespace) -> int:
    """Run or resume the sweep, then write its aggregate report; exit 1 if a task failed or could
    not run."""
    scenario = load_scenario(args.scenario)  # a bad scenario fails before the heavy imports
    from v2gsim.experiments.aggregate import write_report
    from v2gsim.experiments.sweep import check_workers, run_sweep, spec_from_scenario

    scheduler = _scheduler(args)  # never from the scenario file
    exp = scenario.experiment
    spec = spec_from_scenario(scenario, args.overrides, args.replications,
                              paired=True if args.paired else None)
    out = args.out or Path(exp.out or f"runs/{scenario.name}-sweep")
    workers = check_workers(args.workers if args.workers is not None else exp.workers,
                            "--workers" if args.workers is not None else "experiment.workers")
    backend = "dask" if (scheduler or args.dask) else exp.backend
    print(f"sweep {scenario.name}: {spec.n_points} points x {spec.replications} replications "
          f"-> {out} ({backend}{' ' + scheduler if scheduler else ''}, {workers} "
          f"worker{'s' if workers != 1 else ''})")
    res = run_sweep(spec, out, workers=workers, backend=backend, scheduler=scheduler,
                    force=args.force, progress=not args.quiet)
    _print_leftovers(res)
    print(f"{res.n_done} done, {res.n_skipped} skipped (already finished), {res.n_failed} failed "
          f"of {res.n_tasks} tasks in {res.wall_s:.1f} s ({res.tasks_per_s:.2f} tasks/s)")
    if res.n_done + res.n_skipped > 0:
        _, figs = write_report(res.out, figures=not args.no_figures)
        print(f"report: {res.out / 'report.csv'} ({len(figs)} figures)")
    return 1 if res.n_failed or res.blocked else 0


def _fmt(x: float | None) -> str:
    """A number of the comparison table (``nan`` for a missing or infinite one)."""
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _cmd_compare(args: argparse.Namespace) -> int:
    """Run or resume the comparison and print its headline table; exit 1 if a part failed."""
    scenario = load_scenario(args.scenario, args.overrides, days=args.days)  # before heavy imports
    from v2gsim.experiments.compare import run_compare
    from v2gsim.experiments.sweep import check_workers

    policies = args.policies.split(",")
    out = args.out or Path(f"runs/{scenario.name}-compare")
    workers = check_workers(args.workers)
    res = run_compare(scenario, policies, out, replications=args.replications, workers=workers,
                      force=args.force, progress=not args.quiet and not args.json,
                      figures=not args.no_figures)
    sw = res.sweep
    _print_leftovers(sw)
    status = 1 if sw.n_failed or sw.blocked else 0
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
    """Report a directory: a run directory gets ``report.html``; a sweep, or a folder of run
    directories, its aggregate (``report.csv``, figures) and then ``report.html``; a comparison its
    comparison tables, figures and ``report.html``.

    Exits 1 if tasks of the sweep or comparison failed or are missing (``incomplete: n of N tasks``).
    """
    from v2gsim.experiments.aggregate import report_notes, scan_sweep, sweep_notes, write_report
    from v2gsim.experiments.html import directory_kind, write_html_report

    try:
        kind: str | None = directory_kind(args.dir)
    except FileNotFoundError:
        kind = None  # not (yet) recognized: the aggregate says what it is, or claims the folder
    if kind == "run":
        print(f"html report: {write_html_report(args.dir)}")
        return 0
    if kind == "compare":
        from v2gsim.experiments.compare import write_comparison

        write_comparison(args.dir, figures=not args.no_figures)
        print(f"comparison: {args.dir / 'comparison.csv'}")
    else:
        rep, figs = write_report(args.dir, figures=not args.no_figures)
        print(f"report: {args.dir / 'report.csv'} ({rep['point'].nunique()} points, "
              f"{rep['metric'].nunique()} metrics, {len(figs)} figures)")
        if args.show:
            print(rep.to_string(index=False))
    if kind in (None, "runs"):  # a folder of run directories
        for note in report_notes(args.dir):
            print(f"note: {note}", file=sys.stderr)
        print(f"html report: {write_html_report(args.dir)}")
        return 0
    scan = scan_sweep(args.dir)
    for note in sweep_notes(scan):
        print(f"note: {note}", file=sys.stderr)
    print(f"html report: {write_html_report(args.dir)}")
    if len(scan.parts) < scan.n_tasks:
        print(f"incomplete: {len(scan.parts)} of {scan.n_tasks} tasks finished ({len(scan.failures)} "
              f"failed, {scan.missing} not run); the report covers the finished ones", file=sys.stderr)
    print(f"{len(scan.failures)} failed tasks")
    return 1 if len(scan.parts) < scan.n_tasks else 0

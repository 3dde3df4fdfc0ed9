"""Command-line interface: ``v2gsim run | sweep | compare | report | solve | game | calibrate | validate``.

Every command that takes a scenario also takes ``--set dotted.key=value`` overrides, validated like
the file. Scenario problems print as ``FILE: dotted.field: message`` and exit with status 2.

The package's own typed errors are caught here and printed as one line each: problems of the input
(scenario, data files, run directory, file system) exit with status 2, a computation that failed
(a solver that did not converge, a step past the horizon, memory) with status 1. ``--debug``
(before or after the command) lets them propagate with their traceback, for developers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from v2gsim import __version__
from v2gsim.cli.profitability import add_profitability
from v2gsim.config import DEFAULT_SCENARIO, ScenarioError, load_scenario, validate_file

__all__ = ["main"]


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help=f"scenario TOML file, or the name of a shipped scenario (default: the "
                        f"shipped {DEFAULT_SCENARIO.name})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field, e.g. --set drivers.count=500 (repeatable)")


def _cmd_run(args: argparse.Namespace) -> int:
    from v2gsim.experiments.promise import promise_lines
    from v2gsim.experiments.runner import run_to_dir

    scenario = load_scenario(args.scenario, args.overrides, days=args.days, seed=args.seed)
    if args.no_figures:
        scenario = scenario.model_copy(
            update={"output": scenario.output.model_copy(update={"figures": False})})
    result = run_to_dir(scenario, out=args.out, progress=not args.quiet and None, force=args.force)
    s = result.summary
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print(f"run directory: {result.path}")
        days = f"{s['days']} day{'' if s['days'] == 1 else 's'}"
        print(f"  {days}, {s['drivers']} EVs, policy {s['policy']}, "
              f"seed {s['seed']}, {s['runtime_s']:.1f} s")
        print(f"  {_score_line(s)}")
        for line in promise_lines(s):
            print(f"  {line}")
        print(f"  credits ${s['capability_credit']:.2f} capability + "
              f"${s['performance_credit']:.2f} performance; rebates ${s['rebates_paid']:.2f}; "
              f"profit ${s['profit']:.2f}")
    return 0


def _score_line(s: dict) -> str:
    """The headline score with the hours it averages over (it hides failed hours otherwise)."""
    if not s["bid_hours"]:
        return "performance score: no bid hours"
    return (f"mean performance score {s['mean_performance_score']:.3f} (bid-weighted over "
            f"{s['bid_hours']} bid hours; {s['share_bid_hours_below_target']:.1%} of them below "
            f"the target {s['score_target']:.2f}, {s['zero_score_bid_hours']} scored 0)")


def _cmd_validate(args: argparse.Namespace) -> int:
    problems = validate_file(args.file, args.overrides)
    if problems:
        for line in problems:
            print(line)
        return 2
    print("OK")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
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
    n_points = len(spec.points())
    print(f"sweep {scenario.name}: {n_points} points x {spec.replications} replications "
          f"-> {out} ({backend}, {workers} worker{'s' if workers != 1 else ''})")
    res = run_sweep(spec, out, workers=workers, backend=backend, scheduler=scheduler,
                    force=args.force, progress=not args.quiet)
    for f in res.failures:
        print(f"  failed {f['task']}: {f['error']}", file=sys.stderr)
    if res.repaired:
        print(f"  {len(res.repaired)} damaged part(s) found and run again: {', '.join(res.repaired)}",
              file=sys.stderr)
    rate = res.tasks_per_s
    print(f"{res.n_done} done, {res.n_skipped} skipped (already finished), {res.n_failed} failed "
          f"of {res.n_tasks} tasks in {res.wall_s:.1f} s ({rate:.2f} tasks/s)")
    if res.n_done + res.n_skipped > 0:
        _, figs = write_report(out, figures=not args.no_figures)
        print(f"report: {out / 'report.csv'} ({len(figs)} figures)")
    return 1 if res.n_failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from v2gsim.cli.compare import html_report
    from v2gsim.experiments.aggregate import failures, report_notes, write_report

    if html_report(args) is not None:  # a run or compare directory: report.html
        return 0
    rep, figs = write_report(args.dir, figures=not args.no_figures)
    for note in report_notes(args.dir):
        print(f"note: {note}", file=sys.stderr)
    failed = failures(args.dir)
    print(f"report: {args.dir / 'report.csv'} ({rep['point'].nunique()} points, "
          f"{rep['metric'].nunique()} metrics, {len(figs)} figures); {len(failed)} failed tasks")
    if args.show:
        print(rep.to_string(index=False))
    args._aggregated = True
    html_report(args)
    return 1 if failed else 0


def _cmd_solve(args: argparse.Namespace) -> int:
    from v2gsim.sim.model import V2GMarketModel
    from v2gsim.specs.build import build_policy

    scenario = load_scenario(args.scenario, args.overrides)
    policy = build_policy(scenario, "bilevel")
    model = V2GMarketModel(scenario, policy=policy)
    cap, perf = model.tso.price_forecast()
    obs = model.platform.observe(0, cap, perf)
    sol = policy.solve(obs)
    out = sol.to_dict()
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return 0
    if scenario.platform.bilevel.objective == "community":
        print(f"community (E2) {scenario.name}: status {sol.status}, {sol.solve_time_s:.2f} s")
        print(f"  W = ${sol.objective:.4f} per driver-day (surplus ${sol.surplus:.4f} + profit share"
              f"); profit ${sol.profit:.2f}/day; without rebates W = ${sol.objective_no_rebates:.4f};"
              f" upper bound ${sol.upper_bound:.4f}; gap {sol.gap:.2e}")
        print("  hour  rebate($)  bid(kW)")
        for t in range(len(sol.rebates)):
            print(f"  {t:4d}  {sol.rebates[t]:9.2f}  {sol.bids[t]:7.1f}")
        return 0
    print(f"bilevel {scenario.name}: {sol.method} ({sol.solver}), status {sol.status}, "
          f"{sol.solve_time_s:.2f} s")
    print(f"  objective ${sol.objective:.2f}/day (credits ${sol.credit:.2f} - rebates "
          f"${sol.rebate_cost:.2f}); without rebates ${sol.objective_no_rebates:.2f}; "
          f"upper bound ${sol.upper_bound:.2f}; gap {sol.gap:.2e}")
    print(f"  certificate max|y - y_follower| = {sol.certificate:.2e}")
    print("  hour  rebate($)  bid(kW)  plug-in fraction")
    for t in range(len(sol.rebates)):
        print(f"  {t:4d}  {sol.rebates[t]:9.2f}  {sol.bids[t]:7.1f}  {sol.plug_fraction[t]:.4f}")
    return 0


def _cmd_game(args: argparse.Namespace) -> int:
    from v2gsim.game.report import game_report, write_game_figures

    scenario = load_scenario(args.scenario, args.overrides)
    params = scenario.game.params()
    at = (args.at[0], args.at[1]) if args.at else None
    report = game_report(params, at=at)
    out = args.out or Path("runs") / f"{scenario.name}-game"
    figs = [] if args.no_figures else write_game_figures(params, out)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    pts = report["points"]
    print(f"game {scenario.name}: p_d = {params['p_d']} yuan/kWh, E_d = {params['E_d']} kWh")
    for k in ("E", "F", "G"):
        print(f"  point {k}: p_d = {pts[k][0]:.4f} yuan/kWh, E_d = {pts[k][1]:.4f} kWh")
    lo, hi = report["price_range"]
    print(f"  price range at E_d = E_max: {lo:.4f} < p_d < {hi:.4f} yuan/kWh (individual "
          "rationality, eq. 20)")
    for e in report["equilibria"]:
        ev = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in e["eigenvalues"])
        print(f"  {e['name']} ({e['x']:.4f}, {e['y']:.4f}): {e['label']} [eigenvalues {ev}]")
    for k, g in report["gains"].items():
        print(f"  {k} gains: EV {g['EV']:.4f}, PG {g['PG']:.4f}, difference {g['difference']:.4f}")
    print("  note: the seed's printed G (1.4632, 13.1622) does not lie on its own curves; "
          f"the intersection is G = ({pts['G'][0]:.4f}, {pts['G'][1]:.4f})")
    if figs:
        print(f"  figures: {', '.join(str(f) for f in figs)}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from v2gsim.studies.calibrate import calibrate_scenario, format_report

    network = args.network if args.network is not None else DEFAULT_SCENARIO
    problems = validate_file(network)
    if problems:
        raise ScenarioError(problems)
    report = calibrate_scenario(args.sessions, network, args.out, place=args.place,
                                source=args.source)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        print(format_report(report))
        print(f"wrote {args.out} (extends {network})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``v2gsim``."""
    parser = argparse.ArgumentParser(
        prog="v2gsim", description="Agent-based simulation of vehicle-to-grid markets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of a failure (for developers)")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of a failure (for developers)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[debug], **kwargs)

    run = command("run", help="simulate a scenario and write a run directory")
    _add_scenario_args(run)
    run.add_argument("--days", type=int, default=None, help="override the number of days")
    run.add_argument("--seed", type=int, default=None, help="override the root seed")
    run.add_argument("--out", type=Path, default=None,
                     help="run directory (default runs/<scenario>-<timestamp>)")
    run.add_argument("--force", action="store_true",
                     help="replace --out if it already holds a run (refused otherwise)")
    run.add_argument("--no-figures", action="store_true", help="skip figures/*.png")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=_cmd_run)

    sw = command("sweep", help="Monte Carlo sweep: grid of --set lists x replications")
    sw.add_argument("scenario", nargs="?", default=None, help="scenario TOML (default: default)")
    sw.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=V1,V2,...", help="swept values (repeatable; the grid is their "
                    "Cartesian product); merged over the scenario's [experiment.grid]")
    sw.add_argument("--replications", type=int, default=None, help="replications per point")
    sw.add_argument("--paired", action="store_true",
                    help="common random numbers: replication r of every point uses the same streams")
    sw.add_argument("--workers", type=int, default=None, help="worker processes")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://...)")
    sw.add_argument("--dask", action="store_true", help="use a Dask LocalCluster")
    sw.add_argument("--out", type=Path, default=None, help="sweep directory")
    sw.add_argument("--force", action="store_true", help="recompute finished tasks")
    sw.add_argument("--no-figures", action="store_true", help="skip report figures")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=_cmd_sweep)

    from v2gsim.cli.compare import add_compare_parser
    add_compare_parser(command("compare", help="the same scenario under several policies, paired (CRN)"))
    from v2gsim.cli.view import add_view_parser
    add_view_parser(command("view", help="live browser view (Mesa SolaraViz; extra [view])"))
    rp = command("report", help="aggregate a sweep (or run) directory: mean, std, 95%% CI; report.html")
    rp.add_argument("dir", type=Path,
                    help="a sweep directory (sweep.json, parts/) or a folder of run directories")
    rp.add_argument("--no-figures", action="store_true", help="skip figures/report_*.png")
    rp.add_argument("--show", action="store_true", help="print the table")
    rp.set_defaults(func=_cmd_report)

    sv = command("solve", help="solve one day's bilevel rebate-and-bid problem (seed 000)")
    _add_scenario_args(sv)
    sv.add_argument("--json", action="store_true", help="print the solution as JSON")
    sv.set_defaults(func=_cmd_solve)

    gm = command("game", help="seed 001 evolutionary game: points, equilibria, figures")
    _add_scenario_args(gm)
    gm.add_argument("--at", type=float, nargs=2, metavar=("P_D", "E_D"), default=None,
                    help="evaluate gains at this (p_d yuan/kWh, E_d kWh) instead of the scenario's")
    gm.add_argument("--out", type=Path, default=None, help="figure directory")
    gm.add_argument("--no-figures", action="store_true", help="skip the Fig. 1 / Fig. 2 figures")
    gm.add_argument("--json", action="store_true", help="print one JSON object")
    gm.set_defaults(func=_cmd_game)

    cal = command("calibrate", help="calibrate plug-in utilities from real charging sessions")
    cal.add_argument("sessions", type=Path, help="sessions file (EV WATTS or ACN-Data CSV)")
    cal.add_argument("--network", type=Path, default=None,
                     help="scenario whose network is calibrated (default: the default scenario)")
    cal.add_argument("--out", type=Path, required=True, help="calibrated scenario TOML to write")
    cal.add_argument("--place", default="home", help="place whose plug-in utilities are fitted")
    cal.add_argument("--source", default="auto", choices=["auto", "evwatts", "acn"],
                     help="file format (default: detected from the columns)")
    cal.add_argument("--json", action="store_true", help="print the report as JSON")
    cal.set_defaults(func=_cmd_calibrate)

    pf = command("profitability", help="seed 004: when up/down reserve pays, and the robust plan")
    _add_scenario_args(pf)
    add_profitability(pf)

    val = command("validate", help="check a scenario file; print OK or every problem")
    val.add_argument("file", type=Path, help="scenario TOML file (or the name of a shipped scenario)")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario field before validating (repeatable)")
    val.set_defaults(func=_cmd_validate)
    from v2gsim.cli.eva import add_eva_parser
    add_eva_parser(command, _add_scenario_args)
    from v2gsim.cli.v2a import add_parser as _add_v2a
    _add_v2a(command)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _loaded(module: str, name: str) -> type:
    """Class ``name`` of ``module`` if the module is loaded (an error of a module that was never
    imported cannot have been raised), else a class nothing is an instance of."""
    mod = sys.modules.get(module)
    return getattr(mod, name) if mod is not None else type(f"_Unloaded{name}", (), {})


def _failure(exc: BaseException) -> tuple[int, list[str]] | None:
    """Exit status and lines for one of the package's typed errors (None: not one of them)."""
    input_errors = (_loaded("v2gsim.market.sources", "DataFileError"),
                    _loaded("v2gsim.behavior.sessions", "SessionFileError"))
    if isinstance(exc, ScenarioError):
        return 2, list(exc.problems)
    if isinstance(exc, input_errors):
        return 2, [_one_line(exc)]
    if isinstance(exc, OSError):  # run directory exists, missing or unwritable files and folders
        return 2, [f"error: {_one_line(exc)}"]
    if isinstance(exc, _loaded("v2gsim.optimize.solvers.errors", "SolveError")):
        return 1, [f"error: solve failed: {_one_line(exc)}"]
    if isinstance(exc, _loaded("v2gsim.sim.model", "HorizonError")):
        return 1, [f"error: {_one_line(exc)}"]
    if isinstance(exc, MemoryError):
        return 1, ["error: out of memory; lower drivers.count or days (or set "
                   "V2GSIM_MEMORY_LIMIT to what this machine can give a run)"]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``v2gsim`` console script.

    Returns:
        0 on success, 2 for a problem of the input (one ``FILE: dotted.field: message`` line per
        scenario problem), 1 for a failed computation, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):
        return int(args.func(args))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            raise  # a programming error: keep its traceback
        code, lines = failure
        for line in lines:
            print(line, file=sys.stderr)
        return code


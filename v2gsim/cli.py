"""Command-line interface: ``v2gsim run | validate``.

Every command that takes a scenario also takes ``--set dotted.key=value`` overrides, validated like
the file. Scenario problems print as ``FILE: dotted.field: message`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from v2gsim.config import DEFAULT_SCENARIO, ScenarioError, load_scenario, validate_file

__all__ = ["main"]


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help=f"scenario TOML file (default: {DEFAULT_SCENARIO.name} of the package)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field, e.g. --set drivers.count=500 (repeatable)")


def _cmd_run(args: argparse.Namespace) -> int:
    from v2gsim.runner import run_to_dir

    scenario = load_scenario(args.scenario, args.overrides, days=args.days, seed=args.seed)
    if args.no_figures:
        scenario = scenario.model_copy(
            update={"output": scenario.output.model_copy(update={"figures": False})})
    result = run_to_dir(scenario, out=args.out, progress=not args.quiet and None)
    s = result.summary
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print(f"run directory: {result.path}")
        print(f"  {s['days']} days, {s['drivers']} EVs, policy {s['policy']}, "
              f"seed {s['seed']}, {s['runtime_s']:.1f} s")
        print(f"  mean performance score {s['mean_performance_score']:.3f}; "
              f"credits ${s['capability_credit']:.2f} capability + "
              f"${s['performance_credit']:.2f} performance; rebates ${s['rebates_paid']:.2f}; "
              f"profit ${s['profit']:.2f}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    problems = validate_file(args.file, args.overrides)
    if problems:
        for line in problems:
            print(line)
        return 2
    print("OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``v2gsim``."""
    parser = argparse.ArgumentParser(
        prog="v2gsim", description="Agent-based simulation of vehicle-to-grid markets.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate a scenario and write a run directory")
    _add_scenario_args(run)
    run.add_argument("--days", type=int, default=None, help="override the number of days")
    run.add_argument("--seed", type=int, default=None, help="override the root seed")
    run.add_argument("--out", type=Path, default=None,
                     help="run directory (default runs/<scenario>-<timestamp>)")
    run.add_argument("--no-figures", action="store_true", help="skip figures/*.png")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="check a scenario file; print OK or every problem")
    val.add_argument("file", type=Path)
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    val.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``v2gsim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

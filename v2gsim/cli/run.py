"""``v2gsim run`` (simulate a scenario into a run directory) and ``v2gsim validate`` (check a file).

The library is :func:`v2gsim.experiments.runner.run_to_dir`, :func:`v2gsim.config.load_scenario`
and :func:`v2gsim.specs.datacheck.data_file_problems` (the data files the scenario names, read with
the checks a run applies: ``validate`` reports their problems, ``run`` stops on them before it
creates a run directory).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

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
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.specs.datacheck import check_data_files, data_file_problems

__all__ = ["register", "summary_lines"]

#: Why a policy may bid no regulation capacity, after "performance score: no bid hours".
_NO_BIDS = {
    "robust": " (policy robust settles its site's reserve itself and bids nothing to the TSO)",
    "v2a": " (policy v2a bids platform.v2a.offer_fraction of its sites' planned V2G power; day 0 "
           "has no plan)",
}


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``run`` and ``validate``."""
    run = add_command(subparsers, parents, "run", _cmd_run,
                      help="simulate a scenario and write a run directory")
    add_scenario(run)
    add_overrides(run)
    add_days(run)
    run.add_argument("--seed", type=int, default=None, help="override the root seed")
    add_out(run, help="run directory (default runs/<scenario>-<timestamp>)")
    add_force(run, help="replace --out if it already holds a run (refused otherwise)")
    add_no_figures(run, help="skip figures/*.png")
    add_quiet(run)
    add_json(run, help="print the summary as JSON")

    val = add_command(subparsers, parents, "validate", _cmd_validate,
                      help="check a scenario file; print OK or every problem")
    add_scenario(val, "scenario TOML file (or the name of a shipped scenario)", dest="file",
                 required=True)
    add_overrides(val, help="override a scenario field before validating (repeatable)")


def _cmd_run(args: argparse.Namespace) -> int:
    """Run the scenario into a run directory; print where, and the headline numbers of its
    ``summary.json`` (:func:`summary_lines`)."""
    scenario = load_scenario(args.scenario, args.overrides, days=args.days, seed=args.seed)
    check_data_files(scenario)  # before the run directory is made
    from v2gsim.experiments.runner import run_to_dir  # heavy: after the scenario is checked
    if args.no_figures:
        scenario = scenario.model_copy(
            update={"output": scenario.output.model_copy(update={"figures": False})})
    result = run_to_dir(scenario, out=args.out, progress=not args.quiet and None, force=args.force)
    s = result.summary
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"run directory: {result.path}")
    for line in summary_lines(s):
        print(f"  {line}")
    return 0


def summary_lines(s: Mapping[str, Any]) -> list[str]:
    """The headline numbers of a run's ``summary.json``, one line each (what ``run`` prints).

    The score and the promise beside the outcome
    (:func:`~v2gsim.experiments.promise.promise_lines`), the regulation market's money with
    ``profit`` = credits - rebates (gross: before the energy and degradation costs), the profit net
    of each of those costs when the run has them, and a settling policy's own plan beside its
    outcome (:func:`~v2gsim.experiments.promise.plan_lines`: eva revenue, v2a site costs and unmet
    energy, robust day-ahead cost and reserve).
    """
    from v2gsim.experiments.promise import game_lines, plan_lines, promise_lines

    days = f"{s['days']} day{'' if s['days'] == 1 else 's'}"
    costs = [name for key, name in (("profit_net_energy", "energy"), ("profit_net_degradation",
                                                                      "degradation")) if key in s]
    before = f"; before the {' and '.join(costs)} cost{'s' if len(costs) > 1 else ''}" if costs else ""
    return [f"{days}, {s['drivers']} EVs, policy {s['policy']}, seed {s['seed']}, {s['runtime_s']:.1f} s",
            _score_line(s), *promise_lines(dict(s)),
            f"credits ${s['capability_credit']:.2f} capability + ${s['performance_credit']:.2f} "
            f"performance; rebates ${s['rebates_paid']:.2f}; profit ${s['profit']:.2f} (credits - "
            f"rebates{before})", *_net_profit_lines(s), *plan_lines(dict(s)), *game_lines(dict(s))]


def _net_profit_lines(s: Mapping[str, Any]) -> list[str]:
    """The profit net of the energy bill and of battery degradation, when the run has them."""
    lines = []
    if "profit_net_energy" in s:
        lines.append(f"energy cost ${s['energy_cost']:.2f} (net of sales); profit net of energy "
                     f"${s['profit_net_energy']:.2f}")
    if "profit_net_degradation" in s:
        lines.append(f"degradation cost ${s['degradation_cost']:.2f}; profit net of degradation "
                     f"${s['profit_net_degradation']:.2f}")
    return lines


def _score_line(s: Mapping[str, Any]) -> str:
    """The headline score with the hours it averages over (it hides failed hours otherwise)."""
    if not s["bid_hours"]:
        return "performance score: no bid hours" + _NO_BIDS.get(s["policy"], "")
    return (f"mean performance score {s['mean_performance_score']:.3f} (bid-weighted over "
            f"{s['bid_hours']} bid hours; {s['share_bid_hours_below_target']:.1%} of them below "
            f"the target {s['score_target']:.2f}, {s['zero_score_bid_hours']} scored 0)")


def _cmd_validate(args: argparse.Namespace) -> int:
    """Print ``OK`` (exit 0) or every problem of the file and of the data files it names, one a
    line (exit 2)."""
    try:
        problems = data_file_problems(load_scenario(args.file, args.overrides))
    except ScenarioError as exc:
        problems = list(exc.problems)
    if problems:
        for line in problems:
            print(line)
        return 2
    print("OK")
    return 0

"""``v2gsim solve``: one day's bilevel rebate-and-bid problem of seed 000 (or its community variant).

The library is :func:`v2gsim.studies.bilevel.solve_day` (the scenario's bilevel policy asked for
day 0 of a fresh model).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from v2gsim.cli.common import Subparsers, add_command, add_json, add_overrides, add_scenario
from v2gsim.config import load_scenario

if TYPE_CHECKING:  # the solver stack (cvxpy) loads only when the command runs
    from v2gsim.optimize.bilevel import BilevelSolution, CommunitySolution

__all__ = ["register"]


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``solve``."""
    p = add_command(subparsers, parents, "solve", _cmd_solve,
                    help="solve one day's bilevel rebate-and-bid problem (seed 000)")
    add_scenario(p)
    add_overrides(p)
    add_json(p, help="print the solution as JSON")


def _cmd_solve(args: argparse.Namespace) -> int:
    """Solve day 0 of the scenario with the bilevel policy and print the solution."""
    from v2gsim.studies.bilevel import solve_day

    scenario = load_scenario(args.scenario, args.overrides)
    sol = solve_day(scenario)
    if args.json:
        print(json.dumps(sol.to_dict(), indent=2, default=float))
    elif scenario.platform.bilevel.objective == "community":
        _print_community(scenario.name, sol)
    else:
        _print_bilevel(scenario.name, sol)
    return 0


def _print_community(name: str, sol: CommunitySolution) -> None:
    """The community (E2) solution: welfare, profit and the hourly rebates and bids."""
    print(f"community (E2) {name}: status {sol.status}, {sol.solve_time_s:.2f} s")
    print(f"  W = ${sol.objective:.4f} per driver-day (surplus ${sol.surplus:.4f} + profit share"
          f"); profit ${sol.profit:.2f}/day; without rebates W = ${sol.objective_no_rebates:.4f};"
          f" upper bound ${sol.upper_bound:.4f}; gap {sol.gap:.2e}")
    print("  hour  rebate($)  bid(kW)")
    for t in range(len(sol.rebates)):
        print(f"  {t:4d}  {sol.rebates[t]:9.2f}  {sol.bids[t]:7.1f}")


def _print_bilevel(name: str, sol: BilevelSolution) -> None:
    """The platform-profit solution: objective, certificate and the hourly plan."""
    print(f"bilevel {name}: {sol.method} ({sol.solver}), status {sol.status}, {sol.solve_time_s:.2f} s")
    print(f"  objective ${sol.objective:.2f}/day (credits ${sol.credit:.2f} - rebates "
          f"${sol.rebate_cost:.2f}); without rebates ${sol.objective_no_rebates:.2f}; "
          f"upper bound ${sol.upper_bound:.2f}; gap {sol.gap:.2e}")
    print(f"  certificate max|y - y_follower| = {sol.certificate:.2e}")
    print("  hour  rebate($)  bid(kW)  plug-in fraction")
    for t in range(len(sol.rebates)):
        print(f"  {t:4d}  {sol.rebates[t]:9.2f}  {sol.bids[t]:7.1f}  {sol.plug_fraction[t]:.4f}")

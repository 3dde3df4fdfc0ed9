"""``v2gsim eva SCENARIO [--json]``: the seed-003 aggregator's day-ahead plan and revenue breakdown.

The model is RECONSTRUCTED (models.md §4.2); the library is :mod:`v2gsim.studies.eva` (over
:mod:`v2gsim.optimize.eva`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from v2gsim.cli.common import Subparsers, add_command, add_json, add_overrides, add_scenario

__all__ = ["register"]


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``eva``."""
    p = add_command(subparsers, parents, "eva", _cmd_eva,
                    help="seed 003 aggregator: day-ahead incentives, bids and revenue breakdown")
    add_scenario(p)
    add_overrides(p)
    add_json(p, help="print the breakdown and plan as JSON")


def _cmd_eva(args: argparse.Namespace) -> int:
    """Plan the scenario's aggregator day and print the revenue breakdown and the plan."""
    from v2gsim.config import load_scenario
    from v2gsim.specs.build import eva_spec
    from v2gsim.studies.eva import eva_day, format_breakdown

    scenario = load_scenario(args.scenario, args.overrides)
    out = eva_day(eva_spec(scenario.platform.eva))
    if args.json:
        print(json.dumps({"scenario": scenario.name, **out}, indent=2))
        return 0
    print(f"eva {scenario.name}: mode {out['mode']}, {out['evs']} EVs (model RECONSTRUCTED, models.md 4.2)")
    print(format_breakdown({scenario.name: out["items"]}))
    print(f"{'no-incentive total':<28}{out['no_incentive_total']:>16.5f}")
    print(f"{'uplift over no incentive':<28}{out['uplift']:>16.5f}")
    p = out["plan"]
    print("  slot  discount  subsidy  r_up(kW)  r_down(kW)  bid(kW)")
    for t in range(len(p["bid_kw"])):
        print(f"  {t:4d}  {p['discount'][t]:8.2f}  {p['subsidy'][t]:7.2f}  {p['r_up_kw'][t]:8.1f}  "
              f"{p['r_down_kw'][t]:10.1f}  {p['bid_kw'][t]:7.1f}")
    return 0

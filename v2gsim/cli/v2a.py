"""``v2gsim v2a SCENARIO``: one seed-002 site-day, with and without discharging (issue #12).

The library is :mod:`v2gsim.studies.v2a` (over :mod:`v2gsim.optimize.v2a`) and
:func:`v2gsim.reporting.v2a.schedule_figure`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from v2gsim.cli.common import (
    Subparsers,
    add_command,
    add_json,
    add_no_figures,
    add_out,
    add_overrides,
    add_scenario,
)

__all__ = ["register"]

#: The letter of each mode code in the printed schedule (``.``: idle).
MODE_LETTERS = {1: "c", 2: "H", 3: "B", 4: "V", 5: "G"}


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``v2a``."""
    p = add_command(subparsers, parents, "v2a", _cmd_v2a,
                    help="seed 002 V2A site-day: schedule and costs with and without discharge")
    add_scenario(p, "scenario TOML with [platform.v2a] and [sessions] (e.g. mao2018_household)",
                 required=True)
    add_overrides(p, help="override a scenario field (repeatable)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the session draw (default platform.v2a.seed)")
    add_out(p, help="figure directory (default runs/<name>-v2a)")
    add_no_figures(p, help="skip the figure")
    add_json(p, help="print one JSON object")


def _cmd_v2a(args: argparse.Namespace) -> int:
    """Solve the site-day both ways, print (or dump) the comparison and draw the schedules."""
    from v2gsim.config import load_scenario
    from v2gsim.reporting.v2a import schedule_figure
    from v2gsim.studies.v2a import site_day, site_report

    seed = [] if args.seed is None else [f"platform.v2a.seed={args.seed}"]  # validated like the file
    scenario = load_scenario(args.scenario, [*args.overrides, *seed])
    day = site_day(scenario)
    inst, hours, w, wo = day["instance"], day["hours"], day["with"], day["without"]
    report: dict[str, Any] = site_report(scenario.name, day)
    if not args.no_figures:
        out = args.out or Path("runs") / f"{scenario.name}-v2a"
        fig = schedule_figure(inst, {"with discharge": w, "without discharge": wo}, hours, scenario.name,
                              out / f"{scenario.name}_schedule.png")
        report["figure"] = str(fig)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print_day(scenario.name, day, report)
    return 0


def _print_day(name: str, day: dict[str, Any], report: dict[str, Any]) -> None:
    """The text form: both objectives, the reductions and each EV's modes slot by slot."""
    inst, hours, w = day["instance"], day["hours"], day["with"]
    print(f"v2a {name}: {inst.n_ev} EV(s) at a {inst.place}, modes {', '.join(inst.modes)}")
    for label, s in (("with discharge", w), ("without discharge", day["without"])):
        c = s.costs
        print(f"  {label:18s} objective {c['objective']:9.3f} p.u. = energy {c['energy']:.3f} - V2G "
              f"{c['v2g_revenue']:.3f} + wish {c['wish_penalty']:.3f} + cycles {c['cycle_penalty']:.3f}")
    print(f"  objective reduction {report['objective_reduction_pct']} % (seed household: 4.37 %, "
          "101.09 vs 105.71 p.u.); energy-cost reduction " f"{report['cost_reduction_pct']} %")
    for i in range(inst.n_ev):
        row = "".join(MODE_LETTERS.get(int(m), ".") for m in w.modes[i])
        print(f"  EV {i}: {row}  (slots from {int(hours[0]):02d}:00)")
    if "figure" in report:
        print(f"  figure: {report['figure']}")

"""``v2gsim v2a SCENARIO``: one seed-002 site-day, with and without discharging (issue #12)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_parser", "cmd_v2a"]


def cmd_v2a(args: argparse.Namespace) -> int:
    """Handler of ``v2gsim v2a``."""
    from v2gsim.config import load_scenario
    from v2gsim.reporting.v2a import schedule_figure
    from v2gsim.studies.v2a import schedule_report, site_day

    scenario = load_scenario(args.scenario, args.overrides)
    day = site_day(scenario, seed=args.seed)
    inst, hours = day["instance"], day["hours"]
    w, wo = day["with"], day["without"]
    cost_w, cost_wo = w.costs["objective"], wo.costs["objective"]
    report = {
        "scenario": scenario.name, "place": inst.place, "evs": inst.n_ev,
        "with_discharge": schedule_report(inst, w, hours),
        "without_discharge": schedule_report(inst, wo, hours),
        "objective_reduction_pct": round(100 * (cost_wo - cost_w) / cost_wo, 4) if cost_wo else None,
        "cost_reduction_pct": (round(100 * (wo.costs["cost"] - w.costs["cost"]) / wo.costs["cost"], 4)
                               if wo.costs["cost"] else None),
    }
    if not args.no_figures:
        out = args.out or Path("runs") / f"{scenario.name}-v2a"
        fig = schedule_figure(inst, {"with discharge": w, "without discharge": wo}, hours, scenario.name,
                              out / f"{scenario.name}_schedule.png")
        report["figure"] = str(fig)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"v2a {scenario.name}: {inst.n_ev} EV(s) at a {inst.place}, modes {', '.join(inst.modes)}")
    for label, s in (("with discharge", w), ("without discharge", wo)):
        c = s.costs
        print(f"  {label:18s} objective {c['objective']:9.3f} p.u. = energy {c['energy']:.3f} - V2G "
              f"{c['v2g_revenue']:.3f} + wish {c['wish_penalty']:.3f} + cycles {c['cycle_penalty']:.3f}")
    print(f"  objective reduction {report['objective_reduction_pct']} % (seed household: 4.37 %, "
          "101.09 vs 105.71 p.u.); energy-cost reduction " f"{report['cost_reduction_pct']} %")
    labels = {1: "c", 2: "H", 3: "B", 4: "V", 5: "G"}
    for i in range(inst.n_ev):
        row = "".join(labels.get(int(m), ".") for m in w.modes[i])
        print(f"  EV {i}: {row}  (slots from {int(hours[0]):02d}:00)")
    if "figure" in report:
        print(f"  figure: {report['figure']}")
    return 0


def add_parser(command) -> None:
    """Register ``v2a`` with the CLI's ``command(name, **kwargs)`` factory."""
    p = command("v2a", help="seed 002 V2A site-day: schedule and costs with and without discharge")
    p.add_argument("scenario", help="scenario TOML with [platform.v2a] and [sessions] "
                                    "(e.g. mao2018_household)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field (repeatable)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the session draw (default platform.v2a.seed)")
    p.add_argument("--out", type=Path, default=None, help="figure directory (default runs/<name>-v2a)")
    p.add_argument("--no-figures", action="store_true", help="skip the figure")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_v2a)

"""``v2gsim profitability``: when the seed-004 reserve pays for a scenario's site (models.md §5).

Builds one day of the scenario's site (declared sessions of ``[sessions]``, prices of
``[market.energy]``, settings of ``[platform.robust]``), prints the reduced problem's regime at the
day-averaged prices (closed form and LP), solves the full robust plan of the day, and draws the
(gamma_down, gamma_up) plane with the working point.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_profitability"]


def _cmd_profitability(args: argparse.Namespace) -> int:
    from v2gsim.config import load_scenario
    from v2gsim.reporting.robust import plane_figure
    from v2gsim.studies.robust import scenario_day, site_report

    scenario = load_scenario(args.scenario, args.overrides)
    report = site_report(scenario_day(scenario, args.day))
    cf = report["closed_form"]
    if not args.no_figures:
        out = args.out or Path("runs") / f"profitability-{scenario.name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        fig = plane_figure([(scenario.name, cf["gamma_down"], cf["gamma_up"])],
                           title=f"{scenario.name}: {cf['business']}, regime {cf['regime']}")
        fig.savefig(out, dpi=120)
        report["figure"] = str(out)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
        return 0
    wp, fp = report["working_point"], report["full_plan"]
    cur = report["currency"]
    print(f"{scenario.name}: business {wp['business']}, day-averaged c+ {wp['c_plus']:.4f}, c_up "
          f"{wp['c_up']:.4f}, c_down {wp['c_down']:.4f} {cur}/kWh, pi_up {wp['pi_up']}, pi_down "
          f"{wp['pi_down']}, e_req {wp['e_req']:.2f} kWh, e_room {wp['e_room']:.2f} kWh")
    print(f"reduced problem: regime {cf['regime']} (LP: {report['lp']['regime']}), J* {cf['cost']:.4f} "
          f"{cur}, gamma_up {cf['gamma_up']:+.4f}, gamma_down {cf['gamma_down']:+.4f}"
          + ("" if cf["assumptions_ok"] else " [price assumptions (12a) violated]"))
    print(f"full robust plan ({fp['n_vehicles']} vehicles): expected cost {fp['cost']:.3f} {cur}, "
          f"day-ahead {fp['energy_dam_kwh']:.1f} kWh, reserve up {fp['reserve_up_kwh']:.1f} kWh, "
          f"down {fp['reserve_down_kwh']:.1f} kWh")
    if "figure" in report:
        print(f"wrote {report['figure']}")
    return 0


def add_profitability(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``v2gsim profitability`` (the caller adds the scenario and ``--set``)."""
    parser.add_argument("--day", type=int, default=0, help="day of the scenario (default 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="figure file (default runs/profitability-<scenario>.png)")
    parser.add_argument("--no-figures", action="store_true", help="skip the figure")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_cmd_profitability)

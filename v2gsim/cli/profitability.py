"""``v2gsim profitability``: when the seed-004 reserve pays for a scenario's site (models.md §5).

Builds one day of the scenario's site (declared sessions of ``[sessions]``, prices of
``[market.energy]``, settings of ``[platform.robust]``), prints the reduced problem's regime at the
day-averaged prices (closed form and LP), solves the full robust plan of the day, and draws the
(gamma_down, gamma_up) plane with the working point. The library is :mod:`v2gsim.studies.robust`
and :func:`v2gsim.reporting.robust.plane_figure`.

The scenario must declare the site's sessions (``[sessions]`` enabled with model ``preset`` or
``parametric``); without one the command plans the shipped ``bianchi2023_parking``, and a scenario
without such sessions is refused naming the field (exit 2) before any work.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
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

__all__ = ["DEFAULT_SITE", "register"]

#: The scenario planned when none is given: the shipped seed-004 company parking lot.
DEFAULT_SITE = "bianchi2023_parking"


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``profitability``."""
    p = add_command(subparsers, parents, "profitability", _cmd_profitability,
                    help="seed 004: when up/down reserve pays, and the robust plan")
    add_scenario(p, "scenario TOML file or shipped scenario name whose [sessions] declare the site's "
                 "sessions (enabled, model 'preset' or 'parametric'); prices from [market.energy], "
                 f"settings from [platform.robust] (default: the shipped {DEFAULT_SITE})")
    p.set_defaults(scenario=DEFAULT_SITE)
    add_overrides(p)
    p.add_argument("--day", type=int, default=0, help="day of the scenario (default 0)")
    add_out(p, help="figure file (default runs/profitability-<scenario>.png)")
    add_no_figures(p, help="skip the figure")
    add_json(p, help="print one JSON object")


def _cmd_profitability(args: argparse.Namespace) -> int:
    """Report the site-day (and draw its plane unless ``--no-figures``)."""
    from v2gsim.config import load_scenario
    from v2gsim.reporting.robust import plane_figure
    from v2gsim.studies.robust import scenario_day, site_report

    scenario = load_scenario(args.scenario, args.overrides)
    _check_site(args.scenario, scenario)
    report = site_report(scenario_day(scenario, args.day))
    cf = report["closed_form"]
    if not args.no_figures:
        out = args.out or Path("runs") / f"profitability-{scenario.name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        fig = plane_figure([(scenario.name, cf["gamma_down"], cf["gamma_up"])],
                           title=f"{scenario.name}: {cf['business']}, regime {cf['regime']}",
                           currency=report["currency"])
        fig.savefig(out, dpi=120)
        report["figure"] = str(out)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
        return 0
    _print_report(scenario.name, report)
    return 0


def _check_site(given: str, scenario: Any) -> None:
    """Refuse a scenario without declared site sessions, naming the field (exit 2).

    Raises:
        ScenarioError: ``[sessions]`` is off or not a ``preset``/``parametric`` model.
    """
    from v2gsim.config import ScenarioError

    s = scenario.sessions
    field = "sessions.enabled" if not s.enabled else "sessions.model"
    if s.enabled and s.model in ("preset", "parametric"):
        return
    got = "is off" if not s.enabled else f"is {s.model!r}"
    raise ScenarioError([f"{given}: {field}: `v2gsim profitability` plans a site's declared sessions: "
                         f"it needs [sessions] enabled with model = 'preset' or 'parametric' ({field} "
                         f"{got}); e.g. the shipped {DEFAULT_SITE}, the default"])


def _print_report(name: str, report: Mapping[str, Any]) -> None:
    """The text form of :func:`v2gsim.studies.robust.site_report`."""
    wp, cf, fp = report["working_point"], report["closed_form"], report["full_plan"]
    cur = report["currency"]
    print(f"{name}: business {wp['business']}, day-averaged c+ {wp['c_plus']:.4f}, c_up "
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

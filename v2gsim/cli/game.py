"""``v2gsim game``: the seed-001 evolutionary discharge-price game (points, equilibria, figures).

The library is :mod:`v2gsim.game.report` (:func:`~v2gsim.game.report.game_report`,
:func:`~v2gsim.game.report.write_game_figures`).
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
from v2gsim.config import load_scenario

__all__ = ["register"]


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``game``."""
    p = add_command(subparsers, parents, "game", _cmd_game,
                    help="seed 001 evolutionary game: points, equilibria, figures")
    add_scenario(p)
    add_overrides(p)
    p.add_argument("--at", type=float, nargs=2, metavar=("P_D", "E_D"), default=None,
                   help="evaluate gains and draw the figures at this (p_d yuan/kWh, E_d kWh) "
                   "instead of the scenario's")
    add_out(p, help="figure directory")
    add_no_figures(p, help="skip the Fig. 1 / Fig. 2 figures")
    add_json(p, help="print one JSON object")


def _cmd_game(args: argparse.Namespace) -> int:
    """Print the game's report (and write its figures unless ``--no-figures``)."""
    from v2gsim.game.report import game_report, write_game_figures

    scenario = load_scenario(args.scenario, args.overrides)
    params = scenario.game.params()
    if args.at:  # the operating point of the report and of the figures
        params = {**params, "p_d": float(args.at[0]), "E_d": float(args.at[1])}
    report = game_report(params)
    out = args.out or Path("runs") / f"{scenario.name}-game"
    figs = [] if args.no_figures else write_game_figures(params, out)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print_report(scenario.name, params, report)
    if figs:
        print(f"  figures: {', '.join(str(f) for f in figs)}")
    return 0


def _print_report(name: str, params: Mapping[str, Any], report: Mapping[str, Any]) -> None:
    """The text form of :func:`v2gsim.game.report.game_report`."""
    pts = report["points"]
    print(f"game {name}: p_d = {params['p_d']} yuan/kWh, E_d = {params['E_d']} kWh")
    for k in ("E", "F", "G"):
        print(f"  point {k}: p_d = {pts[k][0]:.4f} yuan/kWh, E_d = {pts[k][1]:.4f} kWh")
    lo, hi = report["price_range"]
    print(f"  price range at E_d = E_max: {lo:.4f} < p_d < {hi:.4f} yuan/kWh (individual "
          "rationality, eq. 20)")
    for e in report["equilibria"]:
        ev = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in e["eigenvalues"])
        print(f"  {e['name']} ({e['x']:.4f}, {e['y']:.4f}): {e['label']} [eigenvalues {ev}]")
    for k, g in report["gains"].items():
        label = {"bayesian_stand_in": "Bayesian stand-in"}.get(k, k)
        print(f"  {label} gains: EV {g['EV']:.4f}, PG {g['PG']:.4f}, difference "
              f"{g['difference']:.4f}")
    print(f"  note: the Bayesian comparison is {report['bayesian_stand_in']}")
    print("  note: the seed's printed G (1.4632, 13.1622) does not lie on its own curves; "
          f"the intersection is G = ({pts['G'][0]:.4f}, {pts['G'][1]:.4f})")

"""``v2gsim calibrate SESSIONS --out FILE``: plug-in utilities fitted to real charging sessions.

The library is :mod:`v2gsim.studies.calibrate`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from v2gsim.cli.common import Subparsers, add_command, add_json, add_out
from v2gsim.config import DEFAULT_SCENARIO, ScenarioError, validate_file

__all__ = ["register"]


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``calibrate``."""
    p = add_command(subparsers, parents, "calibrate", _cmd_calibrate,
                    help="calibrate plug-in utilities from real charging sessions")
    p.add_argument("sessions", type=Path, help="sessions file (EV WATTS or ACN-Data CSV)")
    p.add_argument("--network", type=Path, default=None,
                   help="scenario whose network is calibrated (default: the default scenario)")
    add_out(p, help="calibrated scenario TOML to write", required=True)
    p.add_argument("--place", default="home", help="place whose plug-in utilities are fitted")
    p.add_argument("--source", default="auto", choices=["auto", "evwatts", "acn"],
                   help="file format (default: detected from the columns)")
    add_json(p, help="print the report as JSON")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit, write the calibrated scenario and print the fit's report."""
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

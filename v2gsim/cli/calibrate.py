"""``v2gsim calibrate SESSIONS --out FILE``: plug-in utilities fitted to real charging sessions.

The library is :mod:`v2gsim.studies.calibrate`.
"""

from __future__ import annotations

import argparse
import json
import sys
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
    p.add_argument("--place", default=None,
                   help="place whose plug-in utilities are fitted (default: the sessions' own place: "
                        "home for EV WATTS, work for the ACN-Data workplace garage)")
    p.add_argument("--source", default="auto", choices=["auto", "evwatts", "acn"],
                   help="file format (default: detected from the columns)")
    p.add_argument("--tz", default=None, metavar="ZONE", type=_zone,
                   help="IANA time zone whose clock hours are counted, e.g. America/Los_Angeles "
                        "(default: the site's: America/Chicago for EV WATTS, America/Los_Angeles "
                        "for ACN-Data); the session times are converted to it before hourly binning")
    p.add_argument("--data-tz", default=None, metavar="ZONE", type=_zone,
                   help="IANA time zone the file's timestamps are written in (default: the source's: "
                        "UTC for EV WATTS, which does not state it, so this is an assumption; "
                        "America/Los_Angeles for ACN-Data)")
    add_json(p, help="print the report as JSON")


def _zone(name: str) -> str:
    """An IANA time-zone name, checked (an argparse ``type``: a bad name is a usage error)."""
    from v2gsim.behavior.sessions.readers import check_timezone

    try:
        return check_timezone(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit, write the calibrated scenario and print the fit's report."""
    from v2gsim.studies.calibrate import calibrate_scenario, format_report

    network = args.network if args.network is not None else DEFAULT_SCENARIO
    problems = validate_file(network)
    if problems:
        raise ScenarioError(problems)
    try:
        report = calibrate_scenario(args.sessions, network, args.out, place=args.place,
                                    source=args.source, tz=args.tz, data_tz=args.data_tz)
    except ValueError as exc:  # an unknown place, a file without sessions, ...: one line, exit 2
        text = str(exc)
        raise ScenarioError([text if text.startswith("/") else f"{args.sessions}: {text}"]) from None
    if args.json:
        print(json.dumps(report, indent=2, default=float))
        for warning in report["warnings"]:  # the text report shows them itself
            print(f"WARNING: {warning}", file=sys.stderr)
    else:
        print(format_report(report))
        print(f"wrote {args.out} (extends {network})")
    return 0

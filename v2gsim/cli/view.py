"""``v2gsim view [SCENARIO] [--port P]``: serve the live browser view (:mod:`v2gsim.view.page`)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

from v2gsim.config import ScenarioError, load_scenario

__all__ = ["add_view_parser", "cmd_view", "view_command"]


def add_view_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of ``v2gsim view``."""
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML or shipped name")
    p.add_argument("--port", type=int, default=8765, help="port on localhost")
    p.add_argument("--host", default="localhost", help="host to listen on")
    p.set_defaults(func=cmd_view)


def view_command(port: int, host: str = "localhost") -> list[str]:
    """The ``solara run`` command line serving :mod:`v2gsim.view.app`."""
    return [sys.executable, "-m", "solara", "run", "v2gsim.view.app", "--host", host, "--port", str(port),
            "--no-open", "--production"]


def cmd_view(args: argparse.Namespace) -> int:
    """Validate the scenario, then serve the view until interrupted."""
    if importlib.util.find_spec("solara") is None:
        raise ScenarioError(["v2gsim view: needs the optional extra: pip install 'v2gsim[view]'"])
    load_scenario(args.scenario)  # a bad scenario fails here, with its field, not in the browser
    env = {**os.environ, "V2GSIM_VIEW_SCENARIO": args.scenario or ""}
    print(f"v2gsim view: http://{args.host}:{args.port}/ (Ctrl-C stops)")
    try:
        return subprocess.call(view_command(args.port, args.host), env=env)
    except KeyboardInterrupt:
        return 0

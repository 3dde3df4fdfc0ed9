"""``v2gsim view [SCENARIO] [--port P]``: serve the live browser view (:mod:`v2gsim.view.page`).

The command line it starts is :func:`v2gsim.view.serve.view_command`, in a session of its own, run
by :func:`v2gsim.view.serve.serve_group`: Ctrl-C, SIGTERM or SIGHUP stop the server and everything
it started.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
from collections.abc import Sequence

from v2gsim.cli.common import Subparsers, add_command, add_scenario
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.view.serve import SCENARIO_VARIABLE, Server, serve_group, view_command

__all__ = ["register"]


def register(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``view``."""
    p = add_command(subparsers, parents, "view", _cmd_view,
                    help="live browser view (Mesa SolaraViz; extra [view])")
    add_scenario(p, "scenario TOML or shipped name")
    p.add_argument("--port", type=int, default=8765, help="port on localhost")
    p.add_argument("--host", default="localhost", help="host to listen on")


def _cmd_view(args: argparse.Namespace) -> int:
    """Validate the scenario, then serve the view until interrupted (exit status 0) or the server ends
    by itself (its exit status)."""
    if importlib.util.find_spec("solara") is None:
        raise ScenarioError(["v2gsim view: needs the optional extra: pip install 'v2gsim[view]'"])
    load_scenario(args.scenario)  # a bad scenario fails here, with its field, not in the browser
    env = {**os.environ, SCENARIO_VARIABLE: args.scenario or ""}
    print(f"v2gsim view: http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)

    def start() -> Server:
        return subprocess.Popen(view_command(args.port, args.host), env=env, start_new_session=True)

    return serve_group(start)

"""Command-line interface: ``v2gsim run | validate | sweep | compare | report | view | solve | game |
calibrate | profitability | eva | v2a``.

Argparse and printing only: every command calls the library (``v2gsim.experiments``,
``v2gsim.studies``, ``v2gsim.game.report``, ...) and formats what it returns. Nothing outside this
package imports from it except :func:`main` and :func:`build_parser`.

Layout: one module per command group, each with the same entry point
``register(subparsers, parents) -> None``, which adds its commands to ``subparsers`` with
:func:`v2gsim.cli.common.add_command` (passing ``parents`` on, the shared ``--debug``) and sets each
command's handler, ``handler(args) -> exit status``. The options several commands share (the
scenario, ``--set``, ``--json``, ``--out``, ``--no-figures``, ``--quiet``, ``--force``,
``--days``, ``--debug``) are defined once, in :mod:`v2gsim.cli.common`. Modules load at start-up,
so they import only the light schema layer at the top; a handler imports the heavy library it runs.

====================  ==============================================================
module                commands
====================  ==============================================================
``run``               ``run`` (simulate into a run directory), ``validate``
``experiments``       ``sweep``, ``compare``, ``report``
``view``              ``view`` (the live browser view)
``solve``             ``solve`` (seed 000 bilevel day)
``game``              ``game`` (seed 001)
``calibrate``         ``calibrate`` (plug-in utilities from real sessions)
``profitability``     ``profitability`` (seed 004)
``eva``               ``eva`` (seed 003)
``v2a``               ``v2a`` (seed 002)
====================  ==============================================================

Every command that takes a scenario (``view`` aside) also takes ``--set dotted.key=value`` overrides,
validated like the file. Scenario problems print as ``FILE: dotted.field: message`` and exit with status 2.

A scenario argument is a TOML file or the name of a shipped scenario
(:func:`v2gsim.config.catalog.resolve_scenario_path`); an unknown name is refused with the shipped
names and the closest one (``did you mean tang_mak2024?``). When a command compiles the numba
kernels (a cold cache: the first run after installing), one line on stderr says so
(:func:`v2gsim.core.jit.announce_compilation`; not with ``--quiet``); the library itself prints
nothing.

The package's own typed errors are caught here and printed as one line each: problems of the input
(scenario, data files, run directory, file system) exit with status 2, a computation that failed
(a solver that did not converge, a step past the horizon, memory) with status 1; Ctrl-C exits
with 130. ``--debug`` (before or after the command) lets them propagate with their traceback, for
developers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from v2gsim import __version__
from v2gsim.cli import calibrate, eva, experiments, game, profitability, run, solve, v2a, view
from v2gsim.cli.common import add_debug, debug_parent
from v2gsim.config import ScenarioError
from v2gsim.core.jit import announce_compilation

__all__ = ["build_parser", "main"]

#: The command groups, in the order ``v2gsim --help`` lists their commands.
GROUPS = (run, experiments, view, solve, game, calibrate, profitability, eva, v2a)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``v2gsim``: ``--version``, ``--debug`` and every group's commands."""
    parser = argparse.ArgumentParser(
        prog="v2gsim", description="Agent-based simulation of vehicle-to-grid markets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_debug(parser)
    subparsers = parser.add_subparsers(dest="command", required=True)
    parents = [debug_parent()]
    for group in GROUPS:
        group.register(subparsers, parents)
    return parser


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (its type name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _loaded(module: str, name: str) -> type:
    """Class ``name`` of ``module`` if the module is loaded (an error of a module that was never
    imported cannot have been raised), else a class nothing is an instance of."""
    mod = sys.modules.get(module)
    return getattr(mod, name) if mod is not None else type(f"_Unloaded{name}", (), {})


def _failure(exc: BaseException) -> tuple[int, list[str]] | None:
    """Exit status and lines for one of the package's typed errors (None: not one of them)."""
    input_errors = (_loaded("v2gsim.core.datafiles", "DataFileError"),)  # every reader's error
    if isinstance(exc, ScenarioError):
        return 2, list(exc.problems)
    if isinstance(exc, input_errors):
        return 2, [_one_line(exc)]
    if isinstance(exc, OSError):  # run directory exists, missing or unwritable files and folders
        return 2, [f"error: {_one_line(exc)}"]
    if isinstance(exc, _loaded("v2gsim.core.solvers.errors", "SolveError")):
        return 1, [f"error: solve failed: {_one_line(exc)}"]
    if isinstance(exc, _loaded("v2gsim.sim.model", "HorizonError")):
        return 1, [f"error: {_one_line(exc)}"]
    if isinstance(exc, MemoryError):
        return 1, ["error: out of memory; lower drivers.count or days (or set "
                   "V2GSIM_MEMORY_LIMIT to what this machine can give a run)"]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``v2gsim`` console script.

    Returns:
        0 on success, 2 for a problem of the input (one ``FILE: dotted.field: message`` line per
        scenario problem), 1 for a failed computation, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "quiet", False):
        announce_compilation()  # one line on stderr if a kernel compiles (a cold cache)
    if getattr(args, "debug", False):
        return int(args.func(args))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            raise  # a programming error: keep its traceback
        code, lines = failure
        for line in lines:
            print(line, file=sys.stderr)
        return code


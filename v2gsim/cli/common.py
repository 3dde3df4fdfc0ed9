"""The options several commands share, each defined once, and the one way a command is added.

Every ``add_*`` function adds one option to a command's parser; the commands differ only in the
help text (and, for the scenario, in whether it may be omitted). ``--debug`` is the only option of
both the top-level parser and every command (:func:`debug_parent`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from v2gsim.config import DEFAULT_SCENARIO

__all__ = [
    "Handler",
    "Subparsers",
    "add_command",
    "add_days",
    "add_debug",
    "add_force",
    "add_json",
    "add_no_figures",
    "add_out",
    "add_overrides",
    "add_quiet",
    "add_scenario",
    "debug_parent",
]

#: A command's handler: reads the parsed arguments, prints, returns the exit status.
Handler = Callable[[argparse.Namespace], int]
#: What ``ArgumentParser.add_subparsers`` returns.
Subparsers = argparse._SubParsersAction

DEFAULT_SCENARIO_HELP = (f"scenario TOML file, or the name of a shipped scenario (default: the "
                         f"shipped {DEFAULT_SCENARIO.name}; scenarios/NAME.toml is the shipped NAME "
                         f"where no such file exists)")


def add_debug(parser: argparse.ArgumentParser, default: object = False) -> None:
    """``--debug``: let the package's typed errors propagate with their traceback.

    Args:
        parser: the parser to extend.
        default: ``False`` on the top-level parser; ``argparse.SUPPRESS`` on a command, so that a
            ``--debug`` before the command is not reset by the command's default.
    """
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the traceback of a failure (for developers)")


def debug_parent() -> argparse.ArgumentParser:
    """The parent parser of every command: ``--debug`` also after the command's name."""
    parent = argparse.ArgumentParser(add_help=False)
    add_debug(parent, default=argparse.SUPPRESS)
    return parent


def add_command(subparsers: Subparsers, parents: Sequence[argparse.ArgumentParser], name: str,
                handler: Handler, help: str) -> argparse.ArgumentParser:
    """Add command ``name`` (run by ``handler``) and return its parser for its options.

    Args:
        subparsers: the top-level parser's subparsers.
        parents: the parent parsers every command shares (:func:`debug_parent`).
        name: the command's name.
        handler: the function ``main`` calls with the parsed arguments.
        help: one line for ``v2gsim --help``.
    """
    parser = subparsers.add_parser(name, parents=list(parents), help=help)
    parser.set_defaults(func=handler)
    return parser


def add_scenario(parser: argparse.ArgumentParser, help: str = DEFAULT_SCENARIO_HELP, *,
                 dest: str = "scenario", required: bool = False) -> None:
    """The scenario positional: a TOML file or the name of a shipped scenario.

    Args:
        parser: the command's parser.
        help: its help text.
        dest: the attribute it is stored in.
        required: whether it must be given (otherwise it defaults to ``None``, the shipped default).
    """
    if required:
        parser.add_argument(dest, help=help)
    else:
        parser.add_argument(dest, nargs="?", default=None, help=help)


def add_overrides(parser: argparse.ArgumentParser,
                  help: str = "override a scenario field, e.g. --set drivers.count=500 (repeatable)",
                  metavar: str = "KEY=VALUE") -> None:
    """``--set KEY=VALUE`` (repeatable), stored as the list ``overrides``.

    Args:
        parser: the command's parser.
        help: its help text.
        metavar: how the value is shown (``sweep`` takes lists of values).
    """
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar=metavar,
                        help=help)


def add_json(parser: argparse.ArgumentParser, help: str) -> None:
    """``--json``: print one JSON object (or list) instead of text."""
    parser.add_argument("--json", action="store_true", help=help)


def add_out(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:
    """``--out PATH``: where the command writes (a directory or a file, per the help)."""
    parser.add_argument("--out", type=Path, default=None, required=required, help=help)


def add_no_figures(parser: argparse.ArgumentParser, help: str) -> None:
    """``--no-figures``: skip writing figures."""
    parser.add_argument("--no-figures", action="store_true", help=help)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar, nor the note that the numba kernels are being compiled."""
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (nor the one-line note of a first run that compiles)")


def add_force(parser: argparse.ArgumentParser, help: str) -> None:
    """``--force``: replace or recompute what an earlier call wrote."""
    parser.add_argument("--force", action="store_true", help=help)


def add_days(parser: argparse.ArgumentParser) -> None:
    """``--days N``: override the scenario's number of days."""
    parser.add_argument("--days", type=int, default=None, help="override the number of days")

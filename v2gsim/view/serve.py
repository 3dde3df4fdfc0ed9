"""The command line that serves the live view (``python -m solara run v2gsim.view.app``), and how
``v2gsim view`` keeps it under control.

``v2gsim view`` starts it (with the scenario in ``$V2GSIM_VIEW_SCENARIO``, read by
:mod:`v2gsim.view.app`) in its own session, hence its own process group, and runs it with
:func:`serve_group`: SIGTERM, SIGINT (Ctrl-C) and SIGHUP to ``v2gsim`` stop the whole group, as does
``v2gsim`` itself ending for any other reason (an exception), so that no server outlives it; only
SIGKILL of ``v2gsim`` cannot be passed on. Tests start the server the same way. Imports only the
standard library.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["GRACE_S", "SCENARIO_VARIABLE", "STOP_SIGNALS", "Server", "end_group", "serve_group",
           "view_command"]

#: The environment variable :mod:`v2gsim.view.app` reads the scenario from (empty: the default).
SCENARIO_VARIABLE = "V2GSIM_VIEW_SCENARIO"
#: The signals that stop ``v2gsim view`` and its server.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: Seconds the server's process group has between SIGTERM and SIGKILL (a browser still connected can
#: keep the server from ending by itself).
GRACE_S = 5.0
#: Seconds between two looks at whether the server is still running.
POLL_S = 0.1


def view_command(port: int, host: str = "localhost") -> list[str]:
    """The ``solara run`` command line serving :mod:`v2gsim.view.app`, as an argument list (no shell).

    Args:
        port: port to listen on.
        host: host to listen on.
    """
    return [sys.executable, "-m", "solara", "run", "v2gsim.view.app", "--host", host, "--port", str(port),
            "--no-open", "--production"]


class Server(Protocol):
    """What :func:`serve_group` needs of a started server process (a ``Popen`` has it): the leader of
    its own process group."""

    pid: int

    def poll(self) -> int | None:
        """The exit status once the process has ended (reaping it), else ``None``."""


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; ``False`` when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def end_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """Stop what is left of process group ``pgid``: SIGTERM, then SIGKILL after ``grace_s`` seconds.

    Returns at once when the group is empty; otherwise when it is, or right after the SIGKILL.

    Args:
        pgid: the process group (the server's pid).
        grace_s: seconds between SIGTERM and SIGKILL.
    """
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        if not _signal_group(pgid, 0):
            return
    _signal_group(pgid, signal.SIGKILL)


def _wait(server: Server, stops: list[int], grace_s: float) -> int:
    """Wait for ``server`` to end; once a stop signal is in ``stops``, SIGKILL its group after
    ``grace_s`` seconds. Returns its exit status."""
    deadline: float | None = None
    while (code := server.poll()) is None:
        if stops and deadline is None:
            deadline = time.monotonic() + grace_s
        if deadline is not None and time.monotonic() > deadline:
            _signal_group(server.pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(POLL_S)
    return code


def serve_group(start: Callable[[], Server], grace_s: float = GRACE_S) -> int:
    """Run the server ``start()`` launches (as the leader of a new process group) until it ends.

    While it runs, SIGTERM, SIGINT and SIGHUP to this process send SIGTERM to the server's whole
    group (a second one: SIGKILL); the group is killed if it has not ended ``grace_s`` seconds later.
    A signal this process ignores (e.g. SIGHUP under ``nohup``) stays ignored.
    However this function ends, what is left of the group is stopped (:func:`end_group`) and the
    previous signal handlers are restored.

    Args:
        start: starts the server process, in a new session or process group (e.g. ``Popen(...,
            start_new_session=True)``), and returns it.
        grace_s: seconds between SIGTERM and SIGKILL.

    Returns:
        0 when a signal stopped it, else the server's exit status.
    """
    stops: list[int] = []
    group: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stops.append(signum)
        if group:
            _signal_group(group[0], signal.SIGTERM if len(stops) == 1 else signal.SIGKILL)

    # a signal ignored from the start stays ignored (``nohup v2gsim view`` outlives its terminal)
    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
    try:
        server = start()
        group.append(server.pid)
        if stops:  # a signal came while it was starting
            _signal_group(server.pid, signal.SIGTERM)
        code = _wait(server, stops, grace_s)
    finally:
        if group:
            end_group(group[0], grace_s)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if stops else code

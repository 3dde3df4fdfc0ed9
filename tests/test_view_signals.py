"""Stopping ``v2gsim view``: a signal to the ``v2gsim`` process stops its solara server and everything
in the server's process group, and the port stops answering (extra [view]; issue 31, item 6).

Also :func:`v2gsim.view.serve.serve_group` on a process group that ignores SIGTERM (killed after the
grace period, grandchildren included) and on a server that ends by itself.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from v2gsim.view.serve import GRACE_S, serve_group

#: Seconds ``v2gsim view tiny`` may take to answer HTTP on a loaded machine (it takes ~5-10 s).
START_S = 90.0
#: Seconds after the signal within which ``v2gsim`` and its server must be gone: the server's own
#: shutdown (~1.5 s without a browser) or, at worst, the grace period and SIGKILL, plus margin.
STOP_S = GRACE_S + 10.0


def _processes() -> list[tuple[int, int, int, str]]:
    """``(pid, ppid, pgid, state)`` of every process (from /proc, else from ``ps``)."""
    out = []
    if Path("/proc/self/stat").exists():
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:  # ended meanwhile
                    continue
                fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
                out.append((int(d.name), int(fields[1]), int(fields[2]), fields[0]))
        return out
    ps = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="], capture_output=True, text=True,
                        check=True)
    rows = (line.split()[:4] for line in ps.stdout.splitlines())
    return [(int(p), int(pp), int(g), s) for p, pp, g, s in rows]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    return any(p == pid and not s.startswith("Z") for p, _, _, s in _processes())


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    return [p for p, _, g, s in _processes() if g == pgid and not s.startswith("Z")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers_http(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _default_stop_signals() -> None:
    """In the child before exec: SIGTERM, SIGINT and SIGHUP back to their default handling."""
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.skipif(importlib.util.find_spec("solara") is None, reason="needs the [view] extra (solara)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_to_v2gsim_view_stops_its_server(sig: signal.Signals, tmp_path: Path) -> None:
    port = _free_port()
    log_path = tmp_path / "view.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = None
    with log_path.open("w") as log:
        # v2gsim in a session of its own, so that the clean-up below can reach all it started
        # with the default disposition of every stop signal, whatever the suite inherited (a suite
        # run under nohup ignores SIGHUP, and an ignored signal stays ignored by design)
        v2g = subprocess.Popen([sys.executable, "-m", "v2gsim.cli", "view", "tiny", "--port", str(port),
                                "--host", "127.0.0.1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=_default_stop_signals)
    try:
        deadline = time.monotonic() + START_S
        while not _answers_http(port):
            assert v2g.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"no answer after {START_S} s:\n{log_path.read_text()}"
            time.sleep(0.5)
        children = [p for p, pp, _, _ in _processes() if pp == v2g.pid]
        assert len(children) == 1, children  # the solara server
        server = children[0]
        assert os.getpgid(server) == server != os.getpgid(v2g.pid)  # leads its own process group
        assert _group(server)

        t0 = time.monotonic()
        os.kill(v2g.pid, sig)  # to v2gsim only, as a service manager or `kill` would send it
        assert v2g.wait(timeout=STOP_S) == 0, log_path.read_text()
        stopped_s = time.monotonic() - t0
        while _group(server) and time.monotonic() < t0 + STOP_S:
            time.sleep(0.1)
        assert _group(server) == [] and not _alive(server), _processes()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert not _answers_http(port)
        assert stopped_s < STOP_S
    finally:
        for pgid in (v2g.pid, server):
            if pgid is not None:
                _kill_group(pgid)
        v2g.wait(timeout=30)


#: A server that ignores SIGTERM and has a child that does too: prints "<pid> <child pid>", sleeps.
STUBBORN = """
import os, signal, subprocess, sys, time
IGNORE = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", IGNORE + "print('up', flush=True); time.sleep(600)"],
                         stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(os.getpid(), child.pid, flush=True)
time.sleep(600)
"""


def test_serve_group_kills_a_group_that_ignores_sigterm() -> None:
    grace = 1.0
    pids: list[int] = []
    sent: list[float] = []
    before = signal.getsignal(signal.SIGINT)

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True,
                                start_new_session=True)

        def ctrl_c_when_up() -> None:
            line = proc.stdout.readline()  # the stubborn group ends only by the SIGKILL this leads to
            if line:
                pids.extend(int(x) for x in line.split())
                sent.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C to this process, handled by serve_group

        threading.Thread(target=ctrl_c_when_up, daemon=True).start()
        return proc

    try:
        assert serve_group(start, grace_s=grace) == 0
        took = time.monotonic() - sent[0]
        server, child = pids
        assert grace <= took < grace + 10  # SIGTERM was ignored: SIGKILL after the grace period
        deadline = time.monotonic() + 10
        while (_alive(child) or _group(server)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server) and not _alive(child) and _group(server) == []
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_serve_group_returns_the_status_of_a_server_that_ends() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)

    assert serve_group(start) == 3
    assert {s: signal.getsignal(s) for s in before} == before

    def fails() -> subprocess.Popen:
        raise FileNotFoundError("no such program")

    with pytest.raises(FileNotFoundError):
        serve_group(fails)
    assert {s: signal.getsignal(s) for s in before} == before


def test_serve_group_leaves_ignored_signals_ignored() -> None:
    """Under ``nohup`` (SIGHUP ignored) closing the terminal does not stop the view."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    during: dict[int, object] = {}

    def start() -> subprocess.Popen:
        during.update({s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)})
        return subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)

    try:
        assert serve_group(start) == 0
        assert during[signal.SIGHUP] == signal.SIG_IGN and callable(during[signal.SIGTERM])
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)

"""Sweeps survive what happens to files and processes: damaged parts, two writers, read-only
folders, a real Dask cluster on localhost with a worker killed mid-sweep, and a worker that sends
back a crafted object instead of a task outcome (refused, never unpickled here)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from v2gsim.config import load_scenario
from v2gsim.experiments.aggregate import aggregate
from v2gsim.experiments.sweep import SchedulerError, SweepSpec, run_sweep
from v2gsim.experiments.sweep_dir import MANIFEST, SweepDirectoryError, SweepLock, intact

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def spec() -> SweepSpec:
    base = load_scenario(SCEN / "tiny.toml", days=1)
    return SweepSpec(base=base, grid={"drivers.count": [8, 12]}, replications=3)


def _summaries(out: Path) -> pd.DataFrame:
    files = sorted((out / "parts").glob("p*/summary.parquet"))
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return df.drop(columns=["runtime_s"]).sort_values(["point", "replication"]).reset_index(drop=True)


def test_damaged_parts_are_detected_and_run_again(spec, tmp_path):
    out = tmp_path / "s"
    run_sweep(spec, out, progress=False)
    ref = _summaries(out)
    parts = out / "parts"
    assert all(intact(p) for p in parts.iterdir())
    # truncate one table, change a byte of another, delete a third part's manifest
    hourly = parts / "p0000_r0001" / "hourly.parquet"
    hourly.write_bytes(hourly.read_bytes()[:100])
    daily = parts / "p0001_r0002" / "daily.parquet"
    data = bytearray(daily.read_bytes())
    data[len(data) // 2] ^= 0xFF
    daily.write_bytes(bytes(data))
    (parts / "p0001_r0000" / MANIFEST).unlink()
    res = run_sweep(spec, out, progress=False)
    assert sorted(res.repaired) == ["p0000_r0001", "p0001_r0000", "p0001_r0002"]
    assert res.n_done == 3 and res.n_skipped == 3
    pd.testing.assert_frame_equal(_summaries(out), ref)


def test_a_second_sweep_into_the_same_directory_is_refused(spec, tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    with SweepLock(out), pytest.raises(SweepDirectoryError, match=r"another sweep .*pid"):
        run_sweep(spec, out, progress=False)
    # the lock dies with its holder: a killed holder never blocks the next sweep
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from v2gsim.experiments.sweep_dir import SweepLock\n"
        f"l = SweepLock(Path({str(out)!r})); l.__enter__(); print('locked', flush=True); "
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(SweepDirectoryError):
        run_sweep(spec, out, progress=False)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert run_sweep(spec, out, progress=False).n_done == 6


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_is_refused_before_any_task(spec, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(SweepDirectoryError, match="not writable"):
            run_sweep(spec, ro / "s", progress=False)
    finally:
        ro.chmod(0o700)


def test_unwritable_output_is_refused_before_any_task(spec, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the sweep folder should be")
    with pytest.raises(SweepDirectoryError, match="not writable"):
        run_sweep(spec, blocker / "s", progress=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, **kw) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, **kw)


def _wait_for_workers(address: str, n: int, timeout: float = 60.0) -> None:
    from dask.distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)


def test_real_dask_cluster_with_a_worker_killed_mid_sweep(spec, tmp_path):
    serial = tmp_path / "serial"
    run_sweep(spec, serial, progress=False)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port),
                   "--no-dashboard", env=env)]
    try:
        workers = [_dask("worker", address, "--nworkers", "1", "--nthreads", "1",
                         "--no-dashboard", "--host", "127.0.0.1", env=env) for _ in range(2)]
        procs += workers
        _wait_for_workers(address, 2)
        out = tmp_path / "dask"
        killed = threading.Event()

        def kill_after_first(outcome: dict) -> None:
            if not killed.is_set():
                killed.set()
                os.killpg(workers[0].pid, signal.SIGKILL)

        res = run_sweep(spec, out, backend="dask", scheduler=address, progress=False,
                        on_result=kill_after_first)
        assert killed.is_set() and res.n_failed == 0 and res.n_done == 6
        pd.testing.assert_frame_equal(_summaries(out), _summaries(serial))
        pd.testing.assert_frame_equal(aggregate(out), aggregate(serial))
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


#: A worker preload that replaces the task with one returning an object whose unpickling writes the
#: unpickling process's pid into a file (the issue's reproducer).
EVIL_PRELOAD = """
import v2gsim.experiments.runner as runner

class Payload:
    def __reduce__(self):
        return (exec, ("import os; open({canary!r}, 'w').write(str(os.getpid()))",))

def run_task(*args, **kwargs):
    return Payload()

runner.run_task = run_task
"""


def test_a_worker_returning_a_crafted_object_runs_nothing_here(spec, tmp_path):
    canary = tmp_path / "PWNED"
    (tmp_path / "evil_preload.py").write_text(EVIL_PRELOAD.format(canary=str(canary)))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False", "PYTHONPATH": path}
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                   env=env)]
    try:
        procs.append(_dask("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                           "--host", "127.0.0.1", "--preload", "evil_preload", env=env))
        _wait_for_workers(address, 1)
        with pytest.raises(SchedulerError, match="its result is not plain data; refused"):
            run_sweep(spec, tmp_path / "s", backend="dask", scheduler=address, progress=False)
        assert not canary.exists()
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()

"""Monte Carlo experiments: a parameter grid x replications, run serially, in a local process pool or
on Dask distributed; resumable; every finished task written atomically as Parquet parts.

Layout of a sweep directory::

    sweep.json                       the sweep: base scenario, grid, replications
    parts/p0003_r0001/               one folder per finished task (renamed into place atomically)
        hourly.parquet daily.parquet summary.parquet
    failed/p0002_r0000.json          a task that raised: its error and traceback
    report.csv report.parquet        written by `v2gsim report DIR` (:mod:`v2gsim.experiments.aggregate`)
    figures/report_<metric>.png

Seeds: task (point p, replication r) runs with ``SeedSequence(entropy=seed, spawn_key=(p, r))``
(:func:`v2gsim.core.rng.run_seed_sequence`), so its tables do not depend on the backend, the number of
workers or the order in which tasks finish. A re-run skips tasks whose folder exists; tasks that
failed are retried. A sweep killed at any moment (even with SIGKILL) loses at most the tasks that
were running, and never leaves a half-written part: parts are written in a temporary folder and
renamed. The directory is v2gsim's (:func:`v2gsim.experiments.sweep_dir.claim`): a folder it did not
create is never written into, and ``force`` removes only what v2gsim wrote there.

Dask: the scheduler address is an argument (``--scheduler`` or ``V2GSIM_DASK_SCHEDULER``), never a
scenario field. Workers write their parts into the (shared) sweep directory and return only a dict of
str, int and float; the client takes msgpack only (``serializers=deserializers=["msgpack"]``), so a
result that is not plain data is refused, never unpickled. Dask itself still unpickles its control
messages (a task's exception): a scheduler and its workers are trusted like a shell on this machine.
At most ``MAX_TASKS`` tasks (checked before any list is built); never more processes than tasks.
"""

from __future__ import annotations

import copy
import json
import math
import multiprocessing as mp
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from v2gsim.config import Scenario, ScenarioError, parse_value, scenario_from_dict
from v2gsim.experiments.runner import Task, run_task
from v2gsim.experiments.sweep_dir import (
    MAX_TASKS,
    SweepDirectoryError,
    SweepLock,
    atomic_write,
    check_writable,
    claim,
    finished_parts,
    read_json,
    record,
    remove_outputs,
)

__all__ = [
    "MAX_WORKERS",
    "SCHEDULER_ENV",
    "SchedulerError",
    "SweepResult",
    "SweepSpec",
    "Task",
    "check_scheduler_address",
    "check_workers",
    "parse_grid",
    "run_sweep",
    "split_values",
]

#: The environment variable the CLI reads a Dask scheduler address from (after ``--scheduler``).
SCHEDULER_ENV = "V2GSIM_DASK_SCHEDULER"
#: At most this many local worker processes (the bound of ``experiment.workers``).
MAX_WORKERS = 1024
#: Dask address schemes a sweep connects to.
SCHEMES = ("tcp", "tls")
HOST = re.compile(r"[A-Za-z0-9._-]{1,253}|[0-9A-Fa-f:.]{2,45}")


class SchedulerError(ConnectionError):
    """The Dask scheduler cannot be reached, or a task's result is not a task outcome (plain data)."""


def check_scheduler_address(text: str, origin: str = "scheduler") -> str:
    """``text`` as a Dask scheduler address ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (a bare
    ``HOST:PORT`` means ``tcp://``); ScenarioError naming ``origin`` (``--scheduler``, ...) for
    anything else (``garbage``, ``tcp://``, ``inproc://x``, no port, a path)."""
    raw = text.strip()
    shown = raw if len(raw) <= 80 else raw[:77] + "..."
    bad = ScenarioError([f"{origin}: {shown!r} is not a Dask scheduler address; expected "
                         "tcp://HOST:PORT or tls://HOST:PORT (e.g. tcp://10.0.0.5:8786)"])
    try:
        parts = urlsplit(raw if "://" in raw else f"tcp://{raw}")
        port = parts.port
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if (parts.scheme not in SCHEMES or not HOST.fullmatch(host) or port is None
            or not 1 <= port <= 65535 or parts.path not in ("", "/") or parts.query
            or parts.fragment or parts.username is not None or parts.password is not None):
        raise bad
    return f"{parts.scheme}://{parts.netloc}"


def check_workers(workers: int, origin: str = "--workers") -> int:
    """``workers`` when it is 1 to :data:`MAX_WORKERS` (ScenarioError otherwise)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ScenarioError([f"{origin}: must be 1 to {MAX_WORKERS} worker processes, got {workers}"])
    return workers


def split_values(text: str) -> list[Any]:
    """Split ``v1,v2,...`` at top-level commas (not inside brackets or quotes); parse as TOML."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [parse_value(p) for p in parts if p != ""]


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["a.b=1,2", "c=x"]`` -> ``{"a.b": [1, 2], "c": ["x"]}``.

    Raises:
        ScenarioError: an item is not ``key=values``, or a value is malformed TOML (``[1,``).
    """
    grid: dict[str, list[Any]] = {}
    bad = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            bad.append(f"--set {item!r}: expected dotted.key=v1,v2,...")
            continue
        try:
            grid[key.strip()] = split_values(text)
        except ValueError as exc:  # a value that looks like TOML but does not parse
            bad.append(f"--set: {key.strip()}: value {exc}")
    if bad:
        raise ScenarioError(bad)
    return grid


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


@dataclass
class SweepSpec:
    """A sweep: base scenario, grid and replications.

    Attributes:
        base: the validated base scenario (its ``experiment`` table is not used by the tasks).
        grid: dotted key -> values; points are the Cartesian product in key order.
        replications: replications per point.
        paired: common random numbers: replication r of every point uses the same streams
            (``SeedSequence(seed, spawn_key=(r,))``), so differences between points are paired;
            otherwise task (p, r) uses ``spawn_key=(p, r)``.
    """

    base: Scenario
    grid: dict[str, list[Any]] = field(default_factory=dict)
    replications: int = 1
    paired: bool = False

    @property
    def n_points(self) -> int:
        """Number of parameter points (the product of the grid's lengths), without listing them."""
        return math.prod(len(v) for v in self.grid.values())

    @property
    def n_tasks(self) -> int:
        """Number of tasks (points x replications), without listing them."""
        return self.n_points * self.replications

    def check_size(self) -> None:
        """ScenarioError for ``replications < 1`` or more than ``MAX_TASKS`` tasks (nothing listed)."""
        origin = self.base.source or self.base.name
        if self.replications < 1:
            raise ScenarioError([f"{origin}: --replications: must be >= 1, got {self.replications}"])
        if self.n_tasks > MAX_TASKS:
            raise ScenarioError([
                f"{origin}: --replications: {self.n_points:,} points x {self.replications:,} "
                f"replications = {self.n_tasks:,} tasks; a sweep has at most {MAX_TASKS:,} tasks: "
                "lower --replications or the grid"])

    def points(self) -> list[dict[str, Any]]:
        """Parameter points, in a fixed order (the last key varies fastest)."""
        keys = list(self.grid)
        return [dict(zip(keys, combo, strict=True)) for combo in product(*self.grid.values())]

    def scenario_for(self, params: Mapping[str, Any]) -> Scenario:
        """The validated scenario of one point."""
        data = self.base.model_dump(mode="json")
        for k, v in params.items():
            _set_dotted(data, k, copy.deepcopy(v))
        where = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return scenario_from_dict(data, f"{self.base.source or self.base.name} [{where}]")

    def tasks(self) -> list[Task]:
        """All tasks, point-major."""
        return [
            Task(p, r, tuple(params.items()))
            for p, params in enumerate(self.points())
            for r in range(self.replications)
        ]

    def to_json(self) -> dict[str, Any]:
        """JSON description written to ``sweep.json`` (used to recognize the same sweep)."""
        base = self.base.model_dump(mode="json")
        base.pop("experiment", None)
        base.pop("output", None)
        out = {"base": base, "grid": self.grid, "replications": self.replications}
        if self.paired:
            out["paired"] = True
        return out


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    ``repaired`` names the finished parts found damaged (missing, truncated or changed files, see
    :mod:`v2gsim.experiments.sweep_dir`) that were removed and run again; ``foreign`` the entries of
    ``parts/`` and ``failed/`` that v2gsim did not write (left in place); ``blocked`` the tasks whose
    part folder holds such files (not run: move the folder away and run again).
    """

    out: Path
    n_tasks: int
    n_skipped: int
    n_done: int
    n_failed: int
    wall_s: float
    task_runtimes_s: list[float] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def tasks_per_s(self) -> float:
        """Throughput of the tasks run in this call."""
        ran = self.n_done + self.n_failed
        return ran / self.wall_s if self.wall_s > 0 else float("nan")


def _prepare_dir(out: Path, spec: SweepSpec, force: bool) -> list[str]:
    """Write ``sweep.json`` (``force``: after removing what v2gsim wrote); return the foreign
    entries ``force`` left in place.

    Raises:
        ScenarioError: ``out`` holds another sweep and ``force`` is false.
        ResultFileError: its ``sweep.json`` is damaged and ``force`` is false.
    """
    desc = spec.to_json()
    meta = out / "sweep.json"
    foreign: list[str] = []
    if force:
        foreign = [f for f in remove_outputs(out) if not f.startswith("parts/")]
    elif meta.exists():
        if read_json(meta) != json.loads(json.dumps(desc, default=str)):
            raise ScenarioError([
                f"{out}: holds a different sweep (scenario, grid or replications changed); "
                "use --force to recompute it or choose another --out"
            ])
    record(out, ["sweep.json"])
    (out / "parts").mkdir(exist_ok=True)
    atomic_write(meta, lambda p: p.write_text(json.dumps(desc, indent=2, default=str)))
    return foreign


#: The values a task outcome holds (:func:`run_task`): plain data only.
PLAIN = (str, int, float, type(None))


def _checked_outcome(value: Any, task: Task, where: str) -> dict[str, Any]:
    """``value`` if it is the outcome of ``task`` (a dict of plain values), else SchedulerError."""
    if not (isinstance(value, dict) and value.get("task") == task.name
            and value.get("status") in ("done", "failed", "exists")
            and all(isinstance(k, str) and isinstance(v, PLAIN) for k, v in value.items())):
        raise SchedulerError(f"{where}: task {task.name} returned something that is not a task "
                             "outcome; refused (is this cluster running v2gsim's code?)")
    return value


def _dask_outcomes(scheduler: str, workers: int, jobs: list[tuple[dict, Task]], out: Path,
                   paired: bool) -> Iterator[dict[str, Any]]:
    """Yield task outcomes from Dask (``scheduler``, or a LocalCluster of ``workers`` processes);
    the client accepts only msgpack: a result that is not plain data is refused, never unpickled."""
    from dask.distributed import Client, LocalCluster, as_completed

    data_only = {"serializers": ["msgpack"], "deserializers": ["msgpack"]}
    cluster = None
    where = scheduler or "the local Dask cluster"
    if scheduler:
        try:
            client = Client(scheduler, **data_only)
        except (OSError, ValueError) as exc:  # TimeoutError is an OSError
            raise SchedulerError(f"{scheduler}: cannot connect to the Dask scheduler "
                                 f"({type(exc).__name__}: {str(exc)[:200]})") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster, **data_only)
    try:
        futures = {client.submit(run_task, sj, t, str(out), paired, pure=False, key=t.name): t
                   for sj, t in jobs}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                value = fut.result()
            except Exception as exc:  # the task itself never raises (run_task records failures)
                what = ("its result is not plain data; refused" if isinstance(exc, TypeError)
                        else f"{type(exc).__name__}: {str(exc)[:200]}")
                raise SchedulerError(f"{where}: task {task.name} did not come back ({what})") from None
            yield _checked_outcome(value, task, where)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _executor_iter(
    backend: str, workers: int, scheduler: str, jobs: list[tuple[dict, Task]], out: Path,
    paired: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield task outcomes as they finish (never more worker processes than tasks)."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    if backend == "dask":
        yield from _dask_outcomes(scheduler, workers, jobs, out, paired)
        return
    if workers <= 1:
        for sj, t in jobs:
            yield run_task(sj, t, str(out), paired)
        return
    # fork shares the already imported modules (mesa, cvxpy, ...: ~2.5 s of imports per spawned
    # worker); platforms without fork spawn fresh interpreters instead
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: set[Future] = set()
        it = iter(jobs)
        # keep the queue short so that an interrupted sweep has not committed tasks it never ran
        for sj, t in it:
            pending.add(pool.submit(run_task, sj, t, str(out), paired))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(run_task, nxt[0], nxt[1], str(out), paired))


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    workers: int = 1,
    backend: str = "process",
    scheduler: str = "",
    force: bool = False,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    kind: str = "sweep",
) -> SweepResult:
    """Run every unfinished task of ``spec``, writing parts under ``out``.

    Args:
        spec: the sweep.
        out: sweep directory (created with v2gsim's marker; must be shared by all workers for
            Dask clusters).
        workers: local worker processes (``process``) or LocalCluster workers (``dask``); never
            more than the unfinished tasks.
        backend: ``process`` (serial when ``workers == 1``) or ``dask``.
        scheduler: Dask scheduler address (``tcp://HOST:PORT``); empty starts a LocalCluster.
        force: remove what v2gsim wrote into ``out`` (parts, failure records, reports, figures)
            and recompute everything; foreign files are left in place.
        progress: tqdm bar over tasks with the failure count.
        on_result: called with each task outcome as it arrives.
        kind: the kind of output directory (``sweep``; ``compare`` for a comparison).

    Raises:
        ScenarioError: a point's scenario is invalid, more than ``MAX_TASKS`` tasks, a malformed
            ``scheduler`` (nothing runs), or ``out`` holds another sweep and ``force`` is false.
        SweepDirectoryError: ``out`` is not a directory v2gsim may write into (a folder it did not
            create, the root, the home directory), is not writable, or another sweep writes to it.
        SchedulerError: the scheduler cannot be reached, or sent back something not plain data.
    """
    spec.check_size()
    scheduler = check_scheduler_address(scheduler) if scheduler else ""
    workers = check_workers(workers, "workers")
    tasks = spec.tasks()
    scen_json = {p: spec.scenario_for(dict(params)).model_dump(mode="json")
                 for p, params in enumerate(spec.points())}
    for sj in scen_json.values():
        sj["output"] = {**sj["output"], "progress": False, "figures": False}
    out = claim(out, kind, error=SweepDirectoryError)
    check_writable(out)
    with SweepLock(out):
        foreign = _prepare_dir(out, spec, force)
        parts = finished_parts(out / "parts")
        names = {t.name for t in tasks}
        blocked = sorted(names & set(parts.foreign))
        todo = [t for t in tasks if t.name not in parts.good and t.name not in blocked]
        res = SweepResult(out=out, n_tasks=len(tasks), n_skipped=len(tasks) - len(todo) - len(blocked),
                          n_done=0, n_failed=0, wall_s=0.0, repaired=parts.repaired,
                          foreign=[*foreign, *(f"parts/{n}" for n in parts.foreign)], blocked=blocked)
        _run_todo(res, spec, scen_json, todo, backend, workers, scheduler, progress, on_result)
    return res


def _run_todo(res: SweepResult, spec: SweepSpec, scen_json: dict[int, dict[str, Any]],
              todo: list[Task], backend: str, workers: int, scheduler: str, progress: bool,
              on_result: Callable[[dict[str, Any]], None] | None) -> None:
    """Run the unfinished tasks, counting outcomes into ``res`` (a progress bar over all tasks)."""
    out = res.out
    t0 = time.perf_counter()
    bar = tqdm(total=res.n_tasks, initial=res.n_skipped, desc="sweep", unit="task",
               disable=not progress)
    bar.set_postfix(failed=0)
    try:
        for outcome in _executor_iter(backend, workers, scheduler,
                                      [(scen_json[t.point], t) for t in todo], out, spec.paired):
            if outcome["status"] == "failed":
                res.n_failed += 1
                res.failures.append(outcome)
            else:
                res.n_done += 1
                res.task_runtimes_s.append(outcome["runtime_s"])
            bar.update(1)
            bar.set_postfix(failed=res.n_failed)
            if on_result is not None:
                on_result(outcome)
    finally:
        bar.close()
        res.wall_s = time.perf_counter() - t0


def spec_from_scenario(scenario: Scenario, grid_items: Sequence[str] = (),
                       replications: int | None = None, paired: bool | None = None) -> SweepSpec:
    """A sweep from a scenario's ``[experiment]`` table, with CLI ``--set`` lists merged over it.

    A ``--set key=value`` with a single value is a plain override of the base scenario (validated
    like the file); with several values, ``key`` becomes a grid dimension. The scenario's
    ``[experiment]`` table gives the grid, replications and pairing only: never a scheduler.

    Raises:
        ScenarioError: a malformed ``--set``, an invalid override, ``replications < 1`` or more
            than ``MAX_TASKS`` tasks.
    """
    grid = {k: list(v) for k, v in scenario.experiment.grid.items()}
    single = {}
    for k, v in parse_grid(grid_items).items():
        if len(v) == 1:
            single[k] = v[0]
            grid.pop(k, None)
        else:
            grid[k] = v
    if single:
        data = scenario.model_dump(mode="json")
        for k, v in single.items():
            _set_dotted(data, k, v)
        scenario = scenario_from_dict(data, scenario.source or scenario.name)
    reps = replications if replications is not None else scenario.experiment.replications
    pair = scenario.experiment.paired if paired is None else paired
    spec = SweepSpec(base=scenario, grid=grid, replications=reps, paired=bool(pair))
    spec.check_size()
    return spec

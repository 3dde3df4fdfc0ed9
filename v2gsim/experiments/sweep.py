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
renamed.
"""

from __future__ import annotations

import copy
import json
import multiprocessing as mp
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from v2gsim.config import Scenario, ScenarioError, parse_value, scenario_from_dict
from v2gsim.experiments.rundir import atomic_write
from v2gsim.experiments.runner import run_scenario
from v2gsim.experiments.sweep_dir import SweepLock, check_writable, finished_parts, write_part

__all__ = [
    "SweepResult",
    "SweepSpec",
    "Task",
    "parse_grid",
    "run_sweep",
    "split_values",
]


@dataclass(frozen=True)
class Task:
    """One (parameter point, replication) of a sweep."""

    point: int
    replication: int
    params: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        """Folder name of the task's part, ``p<point>_r<replication>``."""
        return f"p{self.point:04d}_r{self.replication:04d}"


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


def _run_task(scenario_json: dict[str, Any], task: Task, out_dir: str,
              paired: bool = False) -> dict[str, Any]:
    """Worker: run one task and write its part atomically (or its failure record).

    Returns:
        ``{"task": name, "status": "done"|"failed"|"exists", "runtime_s": ..., "error": ...}``.
    """
    out = Path(out_dir)
    final = out / "parts" / task.name
    t0 = time.perf_counter()
    try:
        scenario = Scenario.model_validate(scenario_json)
        res = run_scenario(scenario, replication=task.replication, point=task.point,
                           progress=False, common_random_numbers=paired)
        params = dict(task.params)
        summary = {k: v for k, v in res.summary.items() if k != "replication"}
        summary = {"point": task.point, "replication": task.replication, **params, **summary}
        tables = {"hourly": res.hourly, "daily": res.daily,
                  "summary": pd.DataFrame([summary])}
        tmp = out / "parts" / f".tmp-{task.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        prepared = {}
        for name, df in tables.items():
            df = df.copy()
            for k, v in params.items():
                if name != "summary":
                    df[k] = v if not isinstance(v, list | dict) else json.dumps(v)
            if name == "summary":
                for k, v in params.items():
                    if isinstance(v, list | dict):
                        df[k] = json.dumps(v)
            prepared[name] = df
        write_part(tmp, prepared)
        try:
            os.rename(tmp, final)
            status = "done"
        except OSError:  # another process finished the same task first: keep its part
            shutil.rmtree(tmp, ignore_errors=True)
            status = "exists"
        failed = out / "failed" / f"{task.name}.json"
        if failed.exists():
            failed.unlink()
        return {"task": task.name, "status": status, "runtime_s": time.perf_counter() - t0,
                "write_s": time.perf_counter() - t0 - res.summary["runtime_s"]}
    except Exception as exc:
        record = {"task": task.name, "point": task.point, "replication": task.replication,
                  "params": dict(task.params), "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
        atomic_write(out / "failed" / f"{task.name}.json",
                     lambda p: p.write_text(json.dumps(record, indent=2, default=str)))
        return {"task": task.name, "status": "failed", "error": record["error"],
                "runtime_s": time.perf_counter() - t0}


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    ``repaired`` names the finished parts found damaged (missing, truncated or changed files, see
    :mod:`v2gsim.experiments.sweep_dir`) that were removed and run again.
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

    @property
    def tasks_per_s(self) -> float:
        """Throughput of the tasks run in this call."""
        ran = self.n_done + self.n_failed
        return ran / self.wall_s if self.wall_s > 0 else float("nan")


def _prepare_dir(out: Path, spec: SweepSpec, force: bool) -> None:
    desc = spec.to_json()
    meta = out / "sweep.json"
    if force and out.exists():
        for sub in ("parts", "failed", "figures"):
            shutil.rmtree(out / sub, ignore_errors=True)
        for f in ("report.csv", "report.parquet"):
            (out / f).unlink(missing_ok=True)
    elif meta.exists():
        old = json.loads(meta.read_text())
        if old != json.loads(json.dumps(desc, default=str)):
            raise ScenarioError([
                f"{out}: holds a different sweep (scenario, grid or replications changed); "
                "use --force to recompute it or choose another --out"
            ])
    (out / "parts").mkdir(parents=True, exist_ok=True)
    for stale in (out / "parts").glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    atomic_write(meta, lambda p: p.write_text(json.dumps(desc, indent=2, default=str)))


def _executor_iter(
    backend: str, workers: int, scheduler: str, jobs: list[tuple[dict, Task]], out: Path,
    paired: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield task outcomes as they finish."""
    if not jobs:
        return
    if backend == "dask":
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = [client.submit(_run_task, sj, t, str(out), paired, pure=False, key=t.name)
                       for sj, t in jobs]
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    if workers <= 1:
        for sj, t in jobs:
            yield _run_task(sj, t, str(out), paired)
        return
    # fork shares the already imported modules (mesa, cvxpy, ...: ~2.5 s of imports per spawned
    # worker); platforms without fork spawn fresh interpreters instead
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: set[Future] = set()
        it = iter(jobs)
        # keep the queue short so that an interrupted sweep has not committed tasks it never ran
        for sj, t in it:
            pending.add(pool.submit(_run_task, sj, t, str(out), paired))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(_run_task, nxt[0], nxt[1], str(out), paired))


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
) -> SweepResult:
    """Run every unfinished task of ``spec``, writing parts under ``out``.

    Args:
        spec: the sweep.
        out: sweep directory (created; must be shared by all workers for Dask clusters).
        workers: local worker processes (``process``) or LocalCluster workers (``dask``).
        backend: ``process`` (serial when ``workers == 1``) or ``dask``.
        scheduler: Dask scheduler address; empty starts a LocalCluster.
        force: delete earlier results and recompute everything.
        progress: tqdm bar over tasks with the failure count.
        on_result: called with each task outcome as it arrives.

    Raises:
        ScenarioError: a point's scenario is invalid (nothing runs), or ``out`` holds another
            sweep and ``force`` is false.
        SweepDirectoryError: ``out`` is not writable, or another sweep is writing to it.
    """
    out = Path(out)
    tasks = spec.tasks()
    scen_json = {p: spec.scenario_for(dict(params)).model_dump(mode="json")
                 for p, params in enumerate(spec.points())}
    for sj in scen_json.values():
        sj["output"] = {**sj["output"], "progress": False, "figures": False}
    check_writable(out)
    with SweepLock(out):
        _prepare_dir(out, spec, force)
        done_names, repaired = finished_parts(out / "parts")
        todo = [t for t in tasks if t.name not in done_names]
        res = SweepResult(out=out, n_tasks=len(tasks), n_skipped=len(tasks) - len(todo),
                          n_done=0, n_failed=0, wall_s=0.0, repaired=repaired)
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
    like the file); with several values, ``key`` becomes a grid dimension.
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
    if reps < 1:
        raise ScenarioError([f"{scenario.source}: --replications: must be >= 1, got {reps}"])
    pair = scenario.experiment.paired if paired is None else paired
    return SweepSpec(base=scenario, grid=grid, replications=reps, paired=bool(pair))

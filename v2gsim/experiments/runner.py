"""Run one scenario (one replication) end to end and return or write its tables; run one sweep
task (:func:`run_task`) into its part folder."""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from v2gsim.config import Scenario, ScenarioError
from v2gsim.config.resources import memory_problems
from v2gsim.experiments.rundir import RunResult, default_run_dir, prepare_run_dir, summarize, write_run
from v2gsim.experiments.sweep_dir import MARKER, atomic_write, write_part
from v2gsim.market.sources import DataFileError
from v2gsim.sim.model import V2GMarketModel

__all__ = ["Task", "data_file_error", "run_scenario", "run_task", "run_to_dir"]


def data_file_error(scenario: Scenario, exc: DataFileError) -> ScenarioError:
    """``exc`` as a scenario problem naming the field that pointed to the file:
    ``FILE: market.price_file: /abs/path: missing column(s) ...``."""
    origin = scenario.source or scenario.name
    target = exc.path.resolve()
    field = next((f for f, text in scenario.data_files()
                  if scenario.resolve_path(text).resolve() == target), "(data)")
    return ScenarioError([f"{origin}: {field}: {exc}"])


def run_scenario(scenario: Scenario, replication: int = 0, progress: bool | None = False,
                 point: int | None = None, common_random_numbers: bool = False) -> RunResult:
    """Simulate ``scenario.days`` days and return the tables and summary (with ``soc``, the SOC
    sample of a heterogeneous fleet, and ``slots``, the plan beside its execution per slot of a
    policy that returns schedules; None otherwise).

    Prints nothing by default: a progress bar is for the command line (``v2gsim run`` shows one
    unless ``--quiet``) or an opt-in.

    Args:
        scenario: validated scenario.
        replication: replication index (changes every random stream, deterministically).
        point: parameter-point index when the run is a sweep task (see :mod:`v2gsim.core.rng`).
        common_random_numbers: use replication ``replication``'s streams whatever the point.
        progress: show a tqdm bar over days on stderr: ``False`` (default) none, ``True`` one,
            ``None`` as the scenario says (``output.progress``, what ``v2gsim run`` passes).

    Raises:
        ScenarioError: the run would not fit in memory (``drivers.count``, ``days``, ...), or a data
            file cannot be read (naming the file and its field, e.g. ``market.price_file``).
    """
    show = scenario.output.progress if progress is None else progress
    too_big = memory_problems(scenario)  # before anything is allocated
    if too_big:
        raise ScenarioError([f"{scenario.source or scenario.name}: {f}: {m}" for f, m in too_big])
    t0 = time.perf_counter()
    try:
        model = V2GMarketModel(scenario, replication=replication, point=point,
                               common_random_numbers=common_random_numbers)
        for _ in tqdm(range(scenario.days), desc=f"{scenario.name} r{replication}", unit="day",
                      disable=not show, leave=False):
            model.step()
    except DataFileError as exc:
        raise data_file_error(scenario, exc) from None
    runtime = time.perf_counter() - t0
    hourly, daily, fleet = model.hourly_table(), model.daily_table(), model.fleet_table()
    summary = summarize(scenario, hourly, daily, runtime, replication)
    summary["stream"] = f"SeedSequence({scenario.seed}, spawn_key={model.stream_key})"
    return RunResult(scenario.model_dump(mode="json"), hourly, daily, fleet, summary,
                     soc=model.soc_table(), slots=model.slots_table())


def run_to_dir(scenario: Scenario, out: str | Path | None = None, replication: int = 0,
               progress: bool | None = False, force: bool = False) -> RunResult:
    """Run and write a run directory.

    Args:
        scenario: validated scenario.
        out: run directory; default ``output.dir`` of the scenario, else a new unique
            ``runs/<scenario>-<timestamp>-<suffix>``.
        replication: replication index.
        progress: show a tqdm bar over days: ``False`` (default) none, ``True`` one, ``None`` as the
            scenario says (``output.progress``; what ``v2gsim run`` passes unless ``--quiet``).
        force: replace an existing, non-empty run directory.

    Raises:
        RunDirectoryExistsError: ``out`` holds files and ``force`` is False, or is not a directory
            v2gsim may write into (:func:`v2gsim.experiments.sweep_dir.claim`); checked before running.
    """
    target = out or scenario.output.dir
    created = not target or not os.path.exists(os.path.expanduser(target))
    path = prepare_run_dir(target, force) if target else default_run_dir(scenario)
    try:
        result = run_scenario(scenario, replication=replication, progress=progress)
    except BaseException:
        if created and [e.name for e in path.iterdir()] == [MARKER]:
            (path / MARKER).unlink()  # leave no empty run directory behind
            path.rmdir()
        raise
    write_run(path, scenario, result.hourly, result.daily, result.fleet, result.summary,
              figures=scenario.output.figures, soc=result.soc, slots=result.slots)
    result.path = path
    return result


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


def run_task(scenario_json: dict[str, Any], task: Task, out_dir: str,
              paired: bool = False) -> dict[str, Any]:
    """Worker of a sweep (:mod:`v2gsim.experiments.sweep`): run one task and write its part into
    ``out_dir/parts/`` atomically (or its failure record into ``out_dir/failed/``).

    Returns:
        Plain data only (what a Dask client accepting only msgpack takes): ``{"task": name,
        "status": "done"|"failed"|"exists", "runtime_s": float, "write_s"|"error": ...}``.
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
                "write_s": time.perf_counter() - t0 - float(res.summary["runtime_s"])}
    except Exception as exc:
        rec = {"task": task.name, "point": task.point, "replication": task.replication,
               "params": dict(task.params), "error": f"{type(exc).__name__}: {exc}",
               "traceback": traceback.format_exc()}
        atomic_write(out / "failed" / f"{task.name}.json",
                     lambda p: p.write_text(json.dumps(rec, indent=2, default=str)))
        return {"task": task.name, "status": "failed", "error": rec["error"],
                "runtime_s": time.perf_counter() - t0}

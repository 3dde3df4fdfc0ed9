"""Run one scenario (one replication) end to end and return or write its tables."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm.auto import tqdm

from v2gsim.config import Scenario, ScenarioError
from v2gsim.config.resources import memory_problems
from v2gsim.experiments.rundir import RunResult, default_run_dir, prepare_run_dir, summarize, write_run
from v2gsim.market.sources import DataFileError
from v2gsim.sim.model import V2GMarketModel

__all__ = ["data_file_error", "run_scenario", "run_to_dir"]


def data_file_error(scenario: Scenario, exc: DataFileError) -> ScenarioError:
    """``exc`` as a scenario problem naming the field that pointed to the file:
    ``FILE: market.price_file: /abs/path: missing column(s) ...``."""
    origin = scenario.source or scenario.name
    target = exc.path.resolve()
    field = next((f for f, text in scenario.data_files()
                  if scenario.resolve_path(text).resolve() == target), "(data)")
    return ScenarioError([f"{origin}: {field}: {exc}"])


def run_scenario(scenario: Scenario, replication: int = 0, progress: bool | None = None,
                 point: int | None = None, common_random_numbers: bool = False) -> RunResult:
    """Simulate ``scenario.days`` days and return the tables and summary.

    Args:
        scenario: validated scenario.
        replication: replication index (changes every random stream, deterministically).
        point: parameter-point index when the run is a sweep task (see :mod:`v2gsim.core.rng`).
        common_random_numbers: use replication ``replication``'s streams whatever the point.
        progress: show a tqdm bar over days (default: ``scenario.output.progress``).

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
                     soc=model.soc_table())


def run_to_dir(scenario: Scenario, out: str | Path | None = None, replication: int = 0,
               progress: bool | None = None, force: bool = False) -> RunResult:
    """Run and write a run directory.

    Args:
        scenario: validated scenario.
        out: run directory; default ``output.dir`` of the scenario, else a new unique
            ``runs/<scenario>-<timestamp>-<suffix>``.
        replication: replication index.
        progress: show a tqdm bar over days.
        force: replace an existing, non-empty run directory.

    Raises:
        RunDirectoryExistsError: ``out`` holds files and ``force`` is False (checked before running).
    """
    target = out or scenario.output.dir
    path = prepare_run_dir(target, force) if target else default_run_dir(scenario)
    try:
        result = run_scenario(scenario, replication=replication, progress=progress)
    except BaseException:
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()  # leave no empty run directory behind
        raise
    write_run(path, scenario, result.hourly, result.daily, result.fleet, result.summary,
              figures=scenario.output.figures, soc=result.soc)
    result.path = path
    return result

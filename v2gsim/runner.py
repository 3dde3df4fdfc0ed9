"""Run one scenario (one replication) end to end and return or write its tables."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm.auto import tqdm

from v2gsim.config import Scenario
from v2gsim.model import V2GMarketModel
from v2gsim.results import RunResult, default_run_dir, summarize, write_run

__all__ = ["run_scenario", "run_to_dir"]


def run_scenario(scenario: Scenario, replication: int = 0, progress: bool | None = None,
                 point: int | None = None) -> RunResult:
    """Simulate ``scenario.days`` days and return the tables and summary.

    Args:
        scenario: validated scenario.
        replication: replication index (changes every random stream, deterministically).
        point: parameter-point index when the run is a sweep task (see :mod:`v2gsim.rng`).
        progress: show a tqdm bar over days (default: ``scenario.output.progress``).
    """
    show = scenario.output.progress if progress is None else progress
    t0 = time.perf_counter()
    model = V2GMarketModel(scenario, replication=replication, point=point)
    for _ in tqdm(range(scenario.days), desc=f"{scenario.name} r{replication}", unit="day",
                  disable=not show, leave=False):
        model.step()
    runtime = time.perf_counter() - t0
    hourly, daily, fleet = model.hourly_table(), model.daily_table(), model.fleet_table()
    summary = summarize(scenario, hourly, daily, runtime, replication)
    return RunResult(scenario.model_dump(mode="json"), hourly, daily, fleet, summary,
                     soc=model.soc_table())


def run_to_dir(scenario: Scenario, out: str | Path | None = None, replication: int = 0,
               progress: bool | None = None) -> RunResult:
    """Run and write a run directory (default ``runs/<scenario>-<timestamp>``)."""
    path = Path(out) if out else (
        Path(scenario.output.dir) if scenario.output.dir else default_run_dir(scenario))
    result = run_scenario(scenario, replication=replication, progress=progress)
    write_run(path, scenario, result.hourly, result.daily, result.fleet, result.summary,
              figures=scenario.output.figures, soc=result.soc)
    result.path = path
    return result

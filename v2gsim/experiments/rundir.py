"""Run directories: the resolved scenario, tidy Parquet tables, a summary and figures.

Layout of a run directory::

    config.json       resolved scenario (after extends and --set), as validated
    hourly.parquet    one row per (day, hour): plug-ins, bids, mileage, score, prices, credits
    daily.parquet     one row per day: totals, mean score, SOC quantiles
    fleet.parquet     one row per EV: end-of-run battery state (model, degradation when on)
    soc.parquet       heterogeneous fleets only: hourly SOC of a seeded sample of up to 20 EVs
    slots.parquet     policies with base-point schedules only (v2a, robust): per day and slot the
                      day-ahead, planned and executed power (kW) and the reserve request
                      (:mod:`v2gsim.sim.schedule_records`)
    summary.json      headline figures of the run (see :func:`summarize`)
    figures/*.png     plots (see :mod:`v2gsim.reporting.figures`)

Tables are written atomically (temporary file, then rename), so an interrupted run never leaves a
half-written table behind; files get the permissions the process umask allows (like ``open``).
A new run directory gets a unique name (timestamp and a random suffix, created atomically), and an
existing run directory is never overwritten unless asked (``force``). Every run directory carries
v2gsim's output marker (:func:`v2gsim.experiments.sweep_dir.claim`): only a new, empty or marked
directory (or one of an earlier version) is written into, and ``force`` removes only what v2gsim wrote.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2gsim.config import Scenario
from v2gsim.experiments.promise import game_summary, promise_summary
from v2gsim.experiments.sweep_dir import (
    MARKER,
    RUN_FILES,
    OutputDirectoryError,
    atomic_write,
    claim,
    read_json,
    record,
    remove_outputs,
)

__all__ = [
    "RUN_ENTRIES",
    "RunDirectoryExistsError",
    "RunResult",
    "atomic_write",
    "default_run_dir",
    "prepare_run_dir",
    "read_run",
    "summarize",
    "write_run",
]


class RunDirectoryExistsError(OutputDirectoryError, FileExistsError):
    """The run directory asked for already holds files (pass ``force`` to replace them), or is not
    a directory v2gsim may write into."""


def default_run_dir(scenario: Scenario, root: str | Path = "runs") -> Path:
    """Create and return a new ``runs/<scenario>-<YYYYmmdd-HHMMSS>-<4 hex>`` directory.

    The directory is created here (``mkdir`` fails if it exists), so two runs started in the same
    second never share one.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if not Path(root).exists():
        claim(root, "runs")  # a folder of run directories that `v2gsim report` may write into
    while True:
        path = Path(root) / f"{scenario.name}-{stamp}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return claim(path, "run", error=RunDirectoryExistsError)


#: What a run directory holds (:func:`write_run`); ``--force`` replaces only such directories.
RUN_ENTRIES = RUN_FILES | {"figures"}


def prepare_run_dir(path: str | Path, force: bool = False) -> Path:
    """Use ``path`` as a run directory: created (with v2gsim's marker) if missing; refused if it
    holds files, unless ``force``, and then only what v2gsim wrote there is removed.

    ``force`` replaces only a run directory v2gsim wrote (marked, or an earlier version's
    ``config.json`` + ``summary.json`` with nothing but run files): a file, or a folder holding
    anything else (a home directory given by mistake, a scenario's ``output.dir`` pointing
    elsewhere) is never touched, and a file v2gsim did not write is never removed.

    Raises:
        RunDirectoryExistsError: ``path`` exists and is not empty, and ``force`` is False or
            ``path`` is not a run directory (or the filesystem root, the home directory).
    """
    path = Path(path)
    if path.is_dir() and not force and any(e.name != MARKER for e in path.iterdir()):
        raise RunDirectoryExistsError(
            f"{path}: exists and is not empty; choose another --out or pass --force to replace it")
    if path.exists() and not path.is_dir():
        raise RunDirectoryExistsError(f"{path}: is a file, not a run directory; --force replaces "
                                      "only run directories: choose another --out")
    path = claim(path, "run", error=RunDirectoryExistsError)
    if force:
        remove_outputs(path)
    return path


def _write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=_json_default)))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serializable: {type(o)}")


def summarize(scenario: Scenario, hourly: pd.DataFrame, daily: pd.DataFrame,
              runtime_s: float, replication: int = 0) -> dict[str, Any]:
    """Headline figures of one run.

    Money in $, over the whole run; ``mean_performance_score`` is the bid-weighted mean of the
    hourly scores of hours with a bid (NaN when the platform never bid). Beside it, so that a few
    failed hours are not hidden by the average: ``bid_hours``, ``score_target`` (1 - eta of
    ``[platform.chance]``), ``bid_hours_below_target`` and their share, ``zero_score_bid_hours``.
    With ``[market.energy]`` on: ``energy_source``, ``energy_bought_kwh``, ``energy_sold_kwh``,
    ``energy_cost`` (net, $) and ``profit_net_energy`` (profit minus the energy cost, $). With a
    degradation cost or EV models (the fleet records are on): ``degradation_cost`` ($) and
    ``profit_net_degradation`` (profit minus the degradation cost, $). ``profit`` itself is the
    regulation market's: capability and performance credits minus rebates; it includes neither
    the energy cost nor the degradation cost. The
    promise beside the outcome (``beliefs``, :func:`v2gsim.experiments.promise.promise_summary`): the
    share's confidence interval, ``guarantee_broken``, the plug-in forecast error, predicted vs
    realized profit.
    """
    bid = hourly["bid_kw"].to_numpy()
    score = hourly["score"].to_numpy()
    has = (bid > 0) & np.isfinite(score)
    target = 1.0 - scenario.platform.chance.eta
    below = int(np.count_nonzero(score[has] < target))
    cap = float(hourly["capability_credit"].sum())
    perf = float(hourly["performance_credit"].sum())
    reb = float(hourly["rebates_paid"].sum())
    m = scenario.drivers.count
    summary = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replication": replication,
        "days": int(daily.shape[0]),
        "drivers": m,
        "policy": scenario.platform.policy,
        "beliefs": scenario.platform.beliefs,
        "mean_performance_score": float(np.average(score[has], weights=bid[has]))
        if has.any() else float("nan"),
        "bid_hours": int(has.sum()),
        "score_target": target,
        "bid_hours_below_target": below,
        "share_bid_hours_below_target": below / int(has.sum()) if has.any() else float("nan"),
        "zero_score_bid_hours": int(np.count_nonzero(score[has] == 0.0)),
        "capability_credit": cap,
        "performance_credit": perf,
        "rebates_paid": reb,
        "profit": cap + perf - reb,
        "profit_per_ev_per_day": (cap + perf - reb) / m / max(int(daily.shape[0]), 1),
        "mean_plugged": float(hourly["plugged"].mean()),
        "mean_bid_kw": float(hourly["bid_kw"].mean()),
        "min_soc": float(daily["soc_min"].min()),
        "unmet_travel_kwh": float(daily["unmet_travel_kwh"].sum()),
        "runtime_s": float(runtime_s),
        **promise_summary(hourly, daily, scenario.platform.chance.eta),
        **game_summary(daily, scenario.game.params() if scenario.game.enabled else None),
    }
    if "energy_cost" in hourly:  # [market.energy] on: grid energy and profit net of it ($)
        energy = {k: float(hourly[k].sum())
                  for k in ("energy_bought_kwh", "energy_sold_kwh", "energy_cost")}
        summary.update(energy_source=scenario.market.energy.source, **energy,
                       profit_net_energy=cap + perf - reb - energy["energy_cost"])
    if "degradation_cost" in daily:  # fleet records on: battery wear and profit net of it ($)
        wear = float(daily["degradation_cost"].sum())
        summary.update(degradation_cost=wear, profit_net_degradation=cap + perf - reb - wear)
    return summary


class RunResult:
    """Tables and summary of a finished run (also what :func:`read_run` returns)."""

    def __init__(self, scenario: dict[str, Any], hourly: pd.DataFrame, daily: pd.DataFrame,
                 fleet: pd.DataFrame, summary: dict[str, Any], path: Path | None = None,
                 soc: pd.DataFrame | None = None, slots: pd.DataFrame | None = None):
        self.scenario = scenario
        self.hourly = hourly
        self.daily = daily
        self.fleet = fleet
        self.summary = summary
        self.path = path
        self.soc = soc
        self.slots = slots


def write_run(out: Path, scenario: Scenario, hourly: pd.DataFrame, daily: pd.DataFrame,
              fleet: pd.DataFrame, summary: dict[str, Any], figures: bool = True,
              soc: pd.DataFrame | None = None, slots: pd.DataFrame | None = None) -> Path:
    """Write a run directory (tables atomically; figures last); ``soc.parquet`` when ``soc`` is
    given (the SOC sample of a heterogeneous fleet), ``slots.parquet`` when ``slots`` is (the plan
    beside its execution of a policy that returns schedules, kW per slot; figure ``schedule.png``).
    ``out`` is claimed first (new, empty or a marked run directory,
    :func:`v2gsim.experiments.sweep_dir.claim`) and every file is recorded in its marker before it
    is written."""
    out = claim(out, "run", error=RunDirectoryExistsError)
    tables = [("hourly", hourly), ("daily", daily), ("fleet", fleet)]
    if soc is not None:
        tables.append(("soc", soc))
    if slots is not None:
        tables.append(("slots", slots))
    record(out, ["config.json", "summary.json", *(f"{name}.parquet" for name, _ in tables)])
    _write_json(out / "config.json", scenario.model_dump(mode="json"))
    for name, df in tables:
        atomic_write(out / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
    _write_json(out / "summary.json", summary)
    if figures:
        from v2gsim.reporting.figures import run_figures

        fig_dir = out / "figures"
        fig_dir.mkdir(exist_ok=True)
        figs = run_figures(hourly, daily, fleet, soc, slots)
        record(out, [f"figures/{fname}" for fname in figs])
        for fname, fig in figs.items():
            atomic_write(fig_dir / fname, lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"))
            import matplotlib.pyplot as plt

            plt.close(fig)
    return out


def read_run(path: str | Path) -> RunResult:
    """Read a run directory written by :func:`write_run` (``soc`` and ``slots`` are None when the
    run has no such table)."""
    path = Path(path)
    missing = [n for n in ("config.json", "hourly.parquet", "daily.parquet", "summary.json")
               if not (path / n).exists()]
    if missing:
        raise FileNotFoundError(f"{path}: not a complete run directory; missing {missing}")
    fleet = path / "fleet.parquet"
    soc, slots = path / "soc.parquet", path / "slots.parquet"
    return RunResult(
        scenario=read_json(path / "config.json"),
        hourly=pd.read_parquet(path / "hourly.parquet"),
        daily=pd.read_parquet(path / "daily.parquet"),
        fleet=pd.read_parquet(fleet) if fleet.exists() else pd.DataFrame(),
        summary=read_json(path / "summary.json"),
        path=path,
        soc=pd.read_parquet(soc) if soc.exists() else None,
        slots=pd.read_parquet(slots) if slots.exists() else None,
    )

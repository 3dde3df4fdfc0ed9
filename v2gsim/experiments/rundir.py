"""Run directories: the resolved scenario, tidy Parquet tables, a summary and figures.

Layout of a run directory::

    config.json       resolved scenario (after extends and --set), as validated
    hourly.parquet    one row per (day, hour): plug-ins, bids, mileage, score, prices, credits
    daily.parquet     one row per day: totals, mean score, SOC quantiles
    fleet.parquet     one row per EV: end-of-run battery state (model, degradation when on)
    soc.parquet       heterogeneous fleets only: hourly SOC of a seeded sample of up to 20 EVs
    summary.json      headline figures of the run (see :func:`summarize`)
    figures/*.png     plots (see :mod:`v2gsim.reporting.figures`)

Tables are written atomically (temporary file, then rename), so an interrupted run never leaves a
half-written table behind; files get the permissions the process umask allows (like ``open``).
A new run directory gets a unique name (timestamp and a random suffix, created atomically), and an
existing run directory is never overwritten unless asked (``force``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2gsim.config import Scenario
from v2gsim.experiments.promise import promise_summary

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


class RunDirectoryExistsError(FileExistsError):
    """The run directory asked for already holds files (pass ``force`` to replace them)."""


def _file_mode() -> int:
    """Permissions of a new file under the process umask (``0o666 & ~umask``)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def default_run_dir(scenario: Scenario, root: str | Path = "runs") -> Path:
    """Create and return a new ``runs/<scenario>-<YYYYmmdd-HHMMSS>-<4 hex>`` directory.

    The directory is created here (``mkdir`` fails if it exists), so two runs started in the same
    second never share one.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    Path(root).mkdir(parents=True, exist_ok=True)
    while True:
        path = Path(root) / f"{scenario.name}-{stamp}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


#: What a run directory holds (:func:`write_run`); ``--force`` replaces only such directories.
RUN_ENTRIES = frozenset({"config.json", "hourly.parquet", "daily.parquet", "fleet.parquet",
                         "summary.json", "figures", "report.html"})


def prepare_run_dir(path: str | Path, force: bool = False) -> Path:
    """Use ``path`` as a run directory: created if missing; refused if it holds files, unless
    ``force`` (then its contents are removed first).

    ``force`` replaces only an earlier run directory (``config.json`` and nothing but the entries
    of :data:`RUN_ENTRIES` and hidden temporary files): a file, or a folder holding anything else
    (a home directory given by mistake, a scenario's ``output.dir`` pointing elsewhere) is never
    removed.

    Raises:
        RunDirectoryExistsError: ``path`` exists and is not empty, and ``force`` is False or
            ``path`` is not a run directory.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        if not force:
            raise RunDirectoryExistsError(
                f"{path}: exists and is not empty; choose another --out or pass --force to replace it")
        if not path.is_dir():
            raise RunDirectoryExistsError(f"{path}: is a file, not a run directory; --force replaces "
                                          "only run directories: choose another --out")
        other = sorted(e.name for e in path.iterdir()
                       if e.name not in RUN_ENTRIES and not e.name.startswith("."))
        if other or not (path / "config.json").is_file():
            why = (f"it holds {', '.join(other[:5])}{' ...' if len(other) > 5 else ''}" if other
                   else "it has no config.json")
            raise RunDirectoryExistsError(
                f"{path}: is not a v2gsim run directory ({why}); --force replaces only run "
                "directories: choose another --out")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    The file ends with the permissions a plain ``open`` would give it (``0o666`` less the umask).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    ``energy_cost`` (net, $) and ``profit_net_energy`` (profit minus the energy cost, $). The
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
    }
    if "energy_cost" in hourly:  # [market.energy] on: grid energy and profit net of it ($)
        energy = {k: float(hourly[k].sum())
                  for k in ("energy_bought_kwh", "energy_sold_kwh", "energy_cost")}
        summary.update(energy_source=scenario.market.energy.source, **energy,
                       profit_net_energy=cap + perf - reb - energy["energy_cost"])
    return summary


class RunResult:
    """Tables and summary of a finished run (also what :func:`read_run` returns)."""

    def __init__(self, scenario: dict[str, Any], hourly: pd.DataFrame, daily: pd.DataFrame,
                 fleet: pd.DataFrame, summary: dict[str, Any], path: Path | None = None,
                 soc: pd.DataFrame | None = None):
        self.scenario = scenario
        self.hourly = hourly
        self.daily = daily
        self.fleet = fleet
        self.summary = summary
        self.path = path
        self.soc = soc


def write_run(out: Path, scenario: Scenario, hourly: pd.DataFrame, daily: pd.DataFrame,
              fleet: pd.DataFrame, summary: dict[str, Any], figures: bool = True,
              soc: pd.DataFrame | None = None) -> Path:
    """Write a run directory (tables atomically; figures last); ``soc.parquet`` when ``soc`` is
    given (the SOC sample of a heterogeneous fleet)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", scenario.model_dump(mode="json"))
    tables = [("hourly", hourly), ("daily", daily), ("fleet", fleet)]
    if soc is not None:
        tables.append(("soc", soc))
    for name, df in tables:
        atomic_write(out / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
    _write_json(out / "summary.json", summary)
    if figures:
        from v2gsim.reporting.figures import run_figures

        fig_dir = out / "figures"
        fig_dir.mkdir(exist_ok=True)
        for fname, fig in run_figures(hourly, daily, fleet, soc).items():
            atomic_write(fig_dir / fname, lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"))
            import matplotlib.pyplot as plt

            plt.close(fig)
    return out


def read_run(path: str | Path) -> RunResult:
    """Read a run directory written by :func:`write_run`."""
    path = Path(path)
    missing = [n for n in ("config.json", "hourly.parquet", "daily.parquet", "summary.json")
               if not (path / n).exists()]
    if missing:
        raise FileNotFoundError(f"{path}: not a complete run directory; missing {missing}")
    fleet = path / "fleet.parquet"
    soc = path / "soc.parquet"
    return RunResult(
        scenario=json.loads((path / "config.json").read_text()),
        hourly=pd.read_parquet(path / "hourly.parquet"),
        daily=pd.read_parquet(path / "daily.parquet"),
        fleet=pd.read_parquet(fleet) if fleet.exists() else pd.DataFrame(),
        summary=json.loads((path / "summary.json").read_text()),
        path=path,
        soc=pd.read_parquet(soc) if soc.exists() else None,
    )

"""Run directories: the resolved scenario, tidy Parquet tables, a summary and figures.

Layout of a run directory::

    config.json       resolved scenario (after extends and --set), as validated
    hourly.parquet    one row per (day, hour): plug-ins, bids, mileage, score, prices, credits
    daily.parquet     one row per day: totals, mean score, SOC quantiles
    fleet.parquet     one row per EV: end-of-run battery state
    summary.json      headline figures of the run (see :func:`summarize`)
    figures/*.png     plots (see :mod:`v2gsim.plots`)

Tables are written atomically (temporary file, then rename), so an interrupted run never leaves a
half-written table behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2gsim.config import Scenario

__all__ = ["RunResult", "atomic_write", "default_run_dir", "read_run", "summarize", "write_run"]


def default_run_dir(scenario: Scenario, root: str | Path = "runs") -> Path:
    """``runs/<scenario>-<YYYYmmdd-HHMMSS>`` (a numeric suffix avoids collisions)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{scenario.name}-{stamp}"
    path, k = base, 1
    while path.exists():
        path = Path(f"{base}-{k}")
        k += 1
    return path


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temporary file in ``path``'s folder, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
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
    hourly scores of hours with a bid (NaN when the platform never bid). With ``[market.energy]``
    on: ``energy_source``, ``energy_bought_kwh``, ``energy_sold_kwh``, ``energy_cost`` (net, $) and
    ``profit_net_energy`` (profit minus the energy cost, $).
    """
    bid = hourly["bid_kw"].to_numpy()
    score = hourly["score"].to_numpy()
    has = (bid > 0) & np.isfinite(score)
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
        "mean_performance_score": float(np.average(score[has], weights=bid[has]))
        if has.any() else float("nan"),
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
                 fleet: pd.DataFrame, summary: dict[str, Any], path: Path | None = None):
        self.scenario = scenario
        self.hourly = hourly
        self.daily = daily
        self.fleet = fleet
        self.summary = summary
        self.path = path


def write_run(out: Path, scenario: Scenario, hourly: pd.DataFrame, daily: pd.DataFrame,
              fleet: pd.DataFrame, summary: dict[str, Any], figures: bool = True) -> Path:
    """Write a run directory (tables atomically; figures last)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", scenario.model_dump(mode="json"))
    for name, df in (("hourly", hourly), ("daily", daily), ("fleet", fleet)):
        atomic_write(out / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
    _write_json(out / "summary.json", summary)
    if figures:
        from v2gsim.plots import run_figures

        fig_dir = out / "figures"
        fig_dir.mkdir(exist_ok=True)
        for fname, fig in run_figures(hourly, daily, fleet).items():
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
    return RunResult(
        scenario=json.loads((path / "config.json").read_text()),
        hourly=pd.read_parquet(path / "hourly.parquet"),
        daily=pd.read_parquet(path / "daily.parquet"),
        fleet=pd.read_parquet(fleet) if fleet.exists() else pd.DataFrame(),
        summary=json.loads((path / "summary.json").read_text()),
        path=path,
    )

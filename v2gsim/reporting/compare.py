"""Figures of a policy comparison (:mod:`v2gsim.experiments.compare`): tables in, PNG files out.

Each figure is a plain :class:`~matplotlib.figure.Figure` (not pyplot's), saved and dropped: none
stays open.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["write_compare_figures"]


def _profit_by_day(tables: dict[str, dict[str, pd.DataFrame]], path: Path) -> None:
    """Daily profit ($) per policy: mean over replications with the min-max band."""
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    for pol, t in tables.items():
        d = t["daily"].groupby("day")["profit"].agg(["mean", "min", "max"])
        ax.plot(d.index, d["mean"], marker=".", label=pol)
        ax.fill_between(d.index, d["min"], d["max"], alpha=0.15)
    ax.set_xlabel("day")
    ax.set_ylabel("profit ($/day)")
    ax.set_title("profit by day (mean over replications, band: min-max)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _predicted_vs_realized(tables: dict[str, dict[str, pd.DataFrame]], path: Path) -> None:
    """Plugged-in EVs by hour of day, predicted (dashed) vs realized (solid), one panel per policy."""
    n = len(tables)
    fig = Figure(figsize=(min(3.6 * n, 18.0), 3.4))  # at most 1,980 px wide at 110 dpi
    axes = fig.subplots(1, n, squeeze=False, sharey=True)
    for ax, (pol, t) in zip(axes[0], tables.items(), strict=True):
        h = t["hourly"].groupby("hour")[["plugged", "predicted_plugged"]].mean()
        ax.plot(h.index, h["plugged"], "-", label="realized")
        ax.plot(h.index, h["predicted_plugged"], "--", label="predicted")
        ax.set_title(pol)
        ax.set_xlabel("hour")
    axes[0][0].set_ylabel("plugged-in EVs (mean over days)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _score_distribution(tables: dict[str, dict[str, pd.DataFrame]], path: Path) -> None:
    """Histogram of the hourly performance score over the bid hours of every replication."""
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 41)
    for pol, t in tables.items():
        h = t["hourly"]
        s = h.loc[h["bid_kw"] > 0, "score"].dropna()
        if len(s):
            ax.hist(s, bins=bins, histtype="step", density=True, label=f"{pol} ({len(s)} h)")
    ax.set_xlim(0.0, 1.0)  # a score is in [0, 1]
    ax.set_xlabel("hourly performance score (bid hours)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_compare_figures(tables: dict[str, dict[str, pd.DataFrame]], folder: Path) -> list[Path]:
    """Write ``compare_profit_by_day.png``, ``compare_predicted_vs_realized.png`` and
    ``compare_score_distribution.png`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, fn in (("compare_profit_by_day.png", _profit_by_day),
                     ("compare_predicted_vs_realized.png", _predicted_vs_realized),
                     ("compare_score_distribution.png", _score_distribution)):
        fn(tables, folder / name)
        out.append(folder / name)
    return out

"""Figures from result tables: DataFrame in, ``matplotlib.figure.Figure`` out (never plt.show)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["energy_price_and_load", "plugged_and_bid_by_hour", "run_figures", "score_by_day",
           "soc_distribution"]


def plugged_and_bid_by_hour(hourly: pd.DataFrame) -> Figure:
    """Mean plugged-in EVs per hour of day (10-90 % band over days), the platform's prediction, and
    the mean bid."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    g = hourly.groupby("hour")
    mean, lo, hi = g["plugged"].mean(), g["plugged"].quantile(0.1), g["plugged"].quantile(0.9)
    ax.fill_between(mean.index, lo, hi, alpha=0.25, color="C0", label="plugged in, 10-90 %")
    ax.plot(mean.index, mean, "o-", color="C0", label="plugged in EVs (mean)")
    if "predicted_plugged" in hourly:
        ax.plot(mean.index, g["predicted_plugged"].mean(), "--", color="C2",
                label="predicted (persistency model)")
    ax.set_xlabel("hour of day")
    ax.set_ylabel("EVs plugged in")
    ax2 = ax.twinx()
    ax2.step(mean.index, g["bid_kw"].mean(), where="mid", color="C3", label="bid C_t (mean)")
    ax2.set_ylabel("regulation bid (kW)")
    ax2.set_ylim(bottom=0)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper center", fontsize=8)
    ax.set_title("Plugged-in EVs and regulation bid by hour")
    fig.tight_layout()
    return fig


def score_by_day(daily: pd.DataFrame) -> Figure:
    """Bid-weighted performance score per day, and the daily profit."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    ax1.plot(daily["day"], daily["mean_score"], "o-", color="C2")
    ax1.set_ylabel("performance score (-)")
    ax1.set_ylim(0, 1.05)
    ax1.set_title("Mileage performance score by day")
    ax2.bar(daily["day"], daily["profit"], color="C1")
    ax2.set_ylabel("profit ($/day)")
    ax2.set_xlabel("day")
    fig.tight_layout()
    return fig


def soc_distribution(daily: pd.DataFrame, fleet: pd.DataFrame) -> Figure:
    """End-of-day SOC quantiles over days, and the histogram of the final SOC."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.fill_between(daily["day"], daily["soc_min"], daily["soc_max"], alpha=0.15, color="C0",
                     label="min-max")
    ax1.fill_between(daily["day"], daily["soc_p10"], daily["soc_p90"], alpha=0.35, color="C0",
                     label="10-90 %")
    ax1.plot(daily["day"], daily["soc_p50"], color="C0", label="median")
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("day")
    ax1.set_ylabel("SOC at end of day (-)")
    ax1.legend(fontsize=8)
    if not fleet.empty:
        ax2.hist(fleet["soc"], bins=np.linspace(0, 1, 41), color="C0")
    ax2.set_xlabel("final SOC (-)")
    ax2.set_ylabel("EVs")
    fig.suptitle("State of charge distribution")
    fig.tight_layout()
    return fig


def energy_price_and_load(hourly: pd.DataFrame) -> Figure:
    """Energy buy and sell prices and the site's net grid load by slot of the day.

    Top: mean buy and sell price per slot ($/kWh) with the 10-90 % band of the buy price over
    days. Bottom: mean net grid load per slot, ``(energy_bought_kwh - energy_sold_kwh) / 1 h``
    (kW; negative = the site feeds the grid), with its 10-90 % band. Needs the energy columns
    of a run with ``[market.energy]`` on.
    """
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    g = hourly.groupby("hour")
    buy = g["energy_price"]
    ax1.fill_between(buy.mean().index, buy.quantile(0.1), buy.quantile(0.9), alpha=0.25,
                     color="C3", step="mid", label="buy price, 10-90 %")
    ax1.step(buy.mean().index, buy.mean(), where="mid", color="C3", label="buy price (mean)")
    ax1.step(buy.mean().index, g["energy_sell_price"].mean(), where="mid", color="C2",
             linestyle="--", label="sell price (mean)")
    ax1.set_ylabel("energy price ($/kWh)")
    ax1.set_ylim(bottom=0)
    ax1.legend(fontsize=8)
    ax1.set_title("Energy price and site load by slot")
    load = (hourly["energy_bought_kwh"] - hourly["energy_sold_kwh"]).groupby(hourly["hour"])
    mean = load.mean()
    ax2.fill_between(mean.index, load.quantile(0.1), load.quantile(0.9), alpha=0.25, color="C0",
                     label="net load, 10-90 %")
    ax2.plot(mean.index, mean, "o-", color="C0", label="net grid load (mean)")
    ax2.axhline(0.0, color="0.5", linewidth=0.8)
    ax2.set_xlabel("hour of day")
    ax2.set_ylabel("net grid load (kW)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run_figures(hourly: pd.DataFrame, daily: pd.DataFrame,
                fleet: pd.DataFrame) -> dict[str, Figure]:
    """All figures of a run directory, by file name (the energy figure when its columns exist)."""
    figs = {
        "plugged_and_bid_by_hour.png": plugged_and_bid_by_hour(hourly),
        "performance_score_by_day.png": score_by_day(daily),
        "soc_distribution.png": soc_distribution(daily, fleet),
    }
    if "energy_price" in hourly:
        figs["energy_price_and_load.png"] = energy_price_and_load(hourly)
    return figs


def report_figures(report: pd.DataFrame, params: list[str]) -> dict[str, Figure]:
    """One figure per metric: mean against each swept parameter, with 95 % confidence bands.

    With several parameters, the first numeric one is the x axis of each panel and the remaining
    combinations are separate lines. With no parameters, a bar per point.
    """
    figs: dict[str, Figure] = {}
    for metric, rows in report.groupby("metric", sort=True):
        if not params:
            fig, ax = plt.subplots(figsize=(6, 4))
            labels = rows["scenario"].astype(str) if "scenario" in rows else rows["point"]
            err = (rows["ci95_high"] - rows["mean"]).fillna(0).to_numpy()
            ax.bar(labels, rows["mean"], yerr=err, color="C0", capsize=4)
            ax.set_ylabel(metric)
            ax.set_title(f"{metric} (mean, 95 % CI)")
            fig.tight_layout()
            figs[f"report_{metric}.png"] = fig
            continue
        fig, axes = plt.subplots(1, len(params), figsize=(5.5 * len(params), 4), squeeze=False)
        for ax, x in zip(axes[0], params, strict=True):
            others = [p for p in params if p != x]
            groups = rows.groupby(others, sort=True) if others else [((), rows)]
            for key, sub in groups:
                sub = sub.sort_values(x)
                xs = sub[x].to_numpy()
                try:
                    xs = xs.astype(float)
                except (TypeError, ValueError):
                    xs = np.arange(len(xs))
                    ax.set_xticks(xs, sub[x].astype(str))
                label = ", ".join(f"{o}={v}" for o, v in zip(others, np.atleast_1d(key),
                                                               strict=False)) or None
                line = ax.plot(xs, sub["mean"], "o-", label=label)[0]
                ax.fill_between(xs, sub["ci95_low"], sub["ci95_high"], alpha=0.2,
                                color=line.get_color())
            ax.set_xlabel(x)
            ax.set_ylabel(metric)
            if others:
                ax.legend(fontsize=7)
        fig.suptitle(f"{metric}: mean and 95 % confidence band")
        fig.tight_layout()
        figs[f"report_{metric}.png"] = fig
    return figs

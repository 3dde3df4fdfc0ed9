"""Figures from result tables: DataFrame in, ``matplotlib.figure.Figure`` out (never plt.show)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "energy_price_and_load",
    "fleet_composition",
    "forecast_by_hour",
    "metric_label",
    "plugged_and_bid_by_hour",
    "report_figures",
    "run_figures",
    "score_by_day",
    "soc_distribution",
    "soc_trajectories",
]


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
    low = float(np.nanmin(daily["mean_score"])) if daily["mean_score"].notna().any() else 0.0
    ax1.set_ylim(max(0.0, low - 0.1 * (1.0 - low) - 0.005), 1.005)  # show the variation
    ax1.set_title("Performance score by day (bid-weighted)")
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


def soc_trajectories(soc: pd.DataFrame) -> Figure:
    """Hourly SOC of the sampled EVs over the run (one line per EV, coloured by EV model).

    Args:
        soc: the SOC sample table (columns day, hour, driver, model, soc; ``soc.parquet``).
    """
    fig, ax = plt.subplots(figsize=(10, 4.5))
    models = sorted(soc["model"].unique())
    colour = {m: f"C{k % 10}" for k, m in enumerate(models)}
    hours_per_day = int(soc["hour"].max()) + 1
    for (_driver, model), rows in soc.groupby(["driver", "model"], sort=True):
        t = (rows["day"] * hours_per_day + rows["hour"] + 1) / hours_per_day
        ax.plot(t, rows["soc"], color=colour[model], lw=0.9, alpha=0.8)
    for m in models:
        ax.plot([], [], color=colour[m], label=m)
    ax.set_ylim(0, 1)
    ax.set_xlabel("day (end of hour)")
    ax.set_ylabel("state of charge (-)")
    ax.legend(fontsize=8, title="EV model", loc="lower right")
    ax.set_title(f"SOC trajectories of {soc['driver'].nunique()} sampled EVs")
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


def fleet_composition(fleet: pd.DataFrame) -> Figure:
    """Per-model fleet composition: EVs per model and their usable battery capacity.

    Args:
        fleet: the fleet table with its ``model`` column (heterogeneous fleets).
    """
    g = fleet.groupby("model", sort=True)
    count, capacity = g.size(), g["capacity_kwh"].sum() / 1000.0
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    colours = [f"C{k % 10}" for k in range(len(count))]
    ax1.bar(count.index, count.to_numpy(), color=colours)
    ax1.set_ylabel("EVs")
    ax1.set_title("EVs per model")
    ax2.bar(capacity.index, capacity.to_numpy(), color=colours)
    ax2.set_ylabel("usable battery capacity (MWh)")
    ax2.set_title("Battery capacity per model")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(f"Fleet composition ({int(count.sum())} EVs)")
    fig.tight_layout()
    return fig


def forecast_by_hour(hourly: pd.DataFrame) -> Figure:
    """The platform's plug-in forecast against what the drivers did, hour by hour.

    Top: mean predicted and mean plugged-in EVs per hour of day. Bottom: mean absolute forecast
    error ``|predicted - plugged|`` per hour of day with its largest value over days (EVs).
    """
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    err = (hourly["predicted_plugged"] - hourly["plugged"]).abs().groupby(hourly["hour"])
    g = hourly.groupby("hour")
    ax1.plot(g["plugged"].mean().index, g["plugged"].mean(), "o-", color="C0",
             label="plugged in (sampled drivers)")
    ax1.plot(g["predicted_plugged"].mean().index, g["predicted_plugged"].mean(), "s--", color="C2",
             label="predicted (the platform's beliefs)")
    ax1.set_ylabel("EVs (mean over days)")
    ax1.legend(fontsize=8)
    ax1.set_title("Plug-in forecast vs what happened")
    ax2.bar(err.mean().index, err.mean(), color="C3", alpha=0.7, label="mean |error|")
    ax2.plot(err.max().index, err.max(), "v", color="C3", label="largest |error|")
    ax2.set_xlabel("hour of day")
    ax2.set_ylabel("|predicted - plugged| (EVs)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run_figures(hourly: pd.DataFrame, daily: pd.DataFrame, fleet: pd.DataFrame,
                soc: pd.DataFrame | None = None) -> dict[str, Figure]:
    """All figures of a run directory, by file name (the fleet figures only when their data is
    there: a SOC sample, a fleet table with EV models)."""
    figs = {
        "plugged_and_bid_by_hour.png": plugged_and_bid_by_hour(hourly),
        "performance_score_by_day.png": score_by_day(daily),
        "soc_distribution.png": soc_distribution(daily, fleet),
    }
    if hourly["predicted_plugged"].notna().any():
        figs["forecast_by_hour.png"] = forecast_by_hour(hourly)
    if "energy_price" in hourly:
        figs["energy_price_and_load.png"] = energy_price_and_load(hourly)
    if soc is not None and not soc.empty:
        figs["soc_trajectories.png"] = soc_trajectories(soc)
    if "model" in fleet.columns and not fleet.empty:
        figs["fleet_composition.png"] = fleet_composition(fleet)
    return figs


#: Units of the summary metrics in report figures (axis labels).
METRIC_UNITS = {
    "profit": "$", "capability_credit": "$", "performance_credit": "$", "rebates_paid": "$",
    "profit_per_ev_per_day": "$ per EV-day", "mean_performance_score": "-", "mean_plugged": "EVs",
    "mean_bid_kw": "kW", "min_soc": "-", "unmet_travel_kwh": "kWh", "bid_hours": "h",
    "bid_hours_below_target": "h", "share_bid_hours_below_target": "-",
    "zero_score_bid_hours": "h", "energy_cost": "$",
}
#: Metrics that describe the set-up rather than the outcome (no report figure).
NOT_PLOTTED = ("score_target",)


def metric_label(metric: str) -> str:
    """Axis label of a summary metric: its name and unit."""
    unit = METRIC_UNITS.get(metric)
    return f"{metric} ({unit})" if unit else metric


def _numeric(values: np.ndarray) -> np.ndarray | None:
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return None


def _report_panel(ax, rows: pd.DataFrame, x: str | None, others: list[str], metric: str) -> None:
    """One panel: mean and 95 % CI of ``metric`` against ``x`` (lines and bands for a numeric x,
    points with error bars for categories), one series per combination of ``others``."""
    groups = rows.groupby(others, sort=True) if others else [((), rows)]
    for key, sub in groups:
        sub = sub.sort_values(x) if x else sub
        sub = sub.assign(**{c: pd.to_numeric(sub[c], errors="coerce").astype(float)
                            for c in ("mean", "ci95_low", "ci95_high")})  # None (no value) -> NaN
        label = ", ".join(f"{o}={v}" for o, v in zip(others, np.atleast_1d(key), strict=False)) or None
        cats = (sub[x] if x else sub.get("scenario", sub["point"])).astype(str).to_numpy()
        xs = _numeric(sub[x].to_numpy()) if x else None
        lo = (sub["mean"] - sub["ci95_low"]).fillna(0).to_numpy()
        hi = (sub["ci95_high"] - sub["mean"]).fillna(0).to_numpy()
        if xs is None:
            pos = np.arange(len(cats))
            ax.errorbar(pos, sub["mean"], yerr=[lo, hi], fmt="o", capsize=4, label=label)
            ax.set_xticks(pos, cats, rotation=20 if len(cats) > 4 else 0)
        else:
            line = ax.plot(xs, sub["mean"], "o-", label=label)[0]
            ax.fill_between(xs, sub["ci95_low"], sub["ci95_high"], alpha=0.2, color=line.get_color())
    ax.set_xlabel(x or "point")
    ax.set_ylabel(metric_label(metric))
    if others:
        ax.legend(fontsize=7)


def report_figures(report: pd.DataFrame, params: list[str]) -> dict[str, Figure]:
    """One figure per metric: mean and 95 % confidence interval against each parameter.

    A numeric parameter is an axis with lines and confidence bands; a categorical one (e.g. a
    policy name) gets points with error bars. With several parameters each panel has one of them
    on its axis and one series per combination of the others. Metrics that are 0 or NaN at every
    point (e.g. rebates of a policy that pays none) get no figure.
    """
    figs: dict[str, Figure] = {}
    for metric, rows in report.groupby("metric", sort=True):
        means = rows["mean"].to_numpy(dtype=float)
        if metric in NOT_PLOTTED or not np.any(np.nan_to_num(means) != 0.0):
            continue
        axes_of = params or [None]
        fig, axes = plt.subplots(1, len(axes_of), figsize=(5.5 * len(axes_of), 4), squeeze=False)
        for ax, x in zip(axes[0], axes_of, strict=True):
            _report_panel(ax, rows, x, [p for p in params if p != x], metric)
        fig.suptitle(f"{metric_label(metric)}: mean and 95 % confidence interval")
        fig.tight_layout()
        figs[f"report_{metric}.png"] = fig
    return figs

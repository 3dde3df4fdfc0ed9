"""Figures from result tables: DataFrame in, ``matplotlib.figure.Figure`` out (never plt.show).

The figures are plain :class:`~matplotlib.figure.Figure` objects, not pyplot's: nothing keeps them
open, so a caller that saves one and drops it frees its memory (no ``plt.close`` needed, no "more
than 20 figures" warning), and drawing them needs no display.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

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
    "report_metrics",
    "run_figures",
    "schedule_by_slot",
    "score_by_day",
    "soc_distribution",
    "soc_quantiles",
    "soc_trajectories",
]


def _figure(figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, **kw) -> tuple[Figure, Any]:
    """A new figure of ``figsize`` (inches) and its axes (``Figure.subplots``)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def plugged_and_bid_by_hour(hourly: pd.DataFrame) -> Figure:
    """Mean plugged-in EVs per hour of day (10-90 % band over days), the platform's prediction, and
    the mean bid."""
    fig, ax = _figure((8, 4.5))
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
    fig, (ax1, ax2) = _figure((8, 5.5), 2, 1, sharex=True)
    ax1.plot(daily["day"], daily["mean_score"], "o-", color="C2", clip_on=False)
    ax1.set_ylabel("performance score (-)")
    low = float(np.nanmin(daily["mean_score"])) if daily["mean_score"].notna().any() else 0.0
    ax1.set_ylim(max(0.0, low - 0.1 * (1.0 - low) - 0.005), 1.0)  # the variation; a score is <= 1
    ax1.set_title("Performance score by day (bid-weighted)")
    ax2.bar(daily["day"], daily["profit"], color="C1")
    ax2.set_ylabel("profit ($/day)")
    ax2.set_xlabel("day")
    fig.tight_layout()
    return fig


def soc_distribution(daily: pd.DataFrame, fleet: pd.DataFrame) -> Figure:
    """End-of-day SOC quantiles over days, and the histogram of the final SOC."""
    fig, (ax1, ax2) = _figure((10, 4), 1, 2)
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


def soc_quantiles(soc: pd.DataFrame, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
    """Quantiles of the sampled EVs' SOC at every hour of the run, per EV model.

    Args:
        soc: the SOC sample table (columns day, hour, driver, model, soc; ``soc.parquet``).
        quantiles: the quantiles, in (0, 1).

    Returns:
        One row per (model, day, hour), sorted: ``model``, ``t`` (end of the hour, days),
        ``day``, ``hour``, ``n`` (sampled EVs) and one column ``q<100 q>`` per quantile
        (``q10``, ``q50``, ``q90``; SOC, -).
    """
    per_day = int(soc["hour"].max()) + 1
    g = soc.groupby(["model", "day", "hour"], sort=True)["soc"]
    out = g.quantile(list(quantiles)).unstack()
    out.columns = [f"q{round(100 * q)}" for q in quantiles]
    out = out.reset_index()
    out.insert(1, "t", (out["day"] * per_day + out["hour"] + 1) / per_day)
    out.insert(4, "n", g.size().to_numpy())
    return out


def soc_trajectories(soc: pd.DataFrame, samples: int = 3) -> Figure:
    """SOC of the sampled EVs over the run, per EV model: the 10-90 % band and the median over the
    model's sampled EVs at every hour (:func:`soc_quantiles`), and ``samples`` of its EVs' own
    trajectories as thin lines (the lowest driver ids, so the same EVs in every run).

    Args:
        soc: the SOC sample table (columns day, hour, driver, model, soc; ``soc.parquet``).
        samples: EVs drawn as lines per model.
    """
    fig, ax = _figure((11, 4.5))
    per_day = int(soc["hour"].max()) + 1
    bands = soc_quantiles(soc)
    for k, (model, rows) in enumerate(bands.groupby("model", sort=True)):
        colour = f"C{k % 10}"
        evs = soc[soc["model"] == model]
        n = evs["driver"].nunique()
        ax.fill_between(rows["t"], rows["q10"], rows["q90"], color=colour, alpha=0.25, lw=0,
                        label=f"{model}: 10-90 % of {n} EVs")
        ax.plot(rows["t"], rows["q50"], color=colour, lw=1.8, label=f"{model}: median")
        for driver in np.sort(evs["driver"].unique())[:samples]:
            one = evs[evs["driver"] == driver].sort_values(["day", "hour"])
            ax.plot((one["day"] * per_day + one["hour"] + 1) / per_day, one["soc"], color=colour,
                    lw=0.6, alpha=0.7)
    ax.plot([], [], color="0.4", lw=0.6, alpha=0.7, label=f"one EV ({samples} per model)")
    ax.set_ylim(0, 1)
    ax.set_xlabel("day (end of hour)")
    ax.set_ylabel("state of charge (-)")
    ax.legend(fontsize=8, title="EV model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"SOC of {soc['driver'].nunique()} sampled EVs: median, 10-90 % band, a few EVs")
    fig.tight_layout()
    return fig


def energy_price_and_load(hourly: pd.DataFrame) -> Figure:
    """Energy buy and sell prices and the site's net grid load by slot of the day.

    Top: mean buy and sell price per slot ($/kWh) with the 10-90 % band of the buy price over
    days. Bottom: mean net grid load per slot, ``(energy_bought_kwh - energy_sold_kwh) / 1 h``
    (kW; negative = the site feeds the grid), with its 10-90 % band. Needs the energy columns
    of a run with ``[market.energy]`` on.
    """
    fig, (ax1, ax2) = _figure((8, 6), 2, 1, sharex=True)
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
    fig, (ax1, ax2) = _figure((10, 4), 1, 2)
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
    fig, (ax1, ax2) = _figure((8, 6), 2, 1, sharex=True)
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


#: Colours of the slots where the TSO called reserve (request -1: up, +1: down) in ``schedule.png``.
RESERVE_COLOURS = {-1.0: ("C3", "up reserve called"), 1.0: ("C0", "down reserve called")}


def _schedule_lines(ax: Any, t: np.ndarray, rows: pd.DataFrame) -> None:
    """Day-ahead, planned and executed power (kW) of ``rows`` as steps over ``t``."""
    ax.step(t, rows["day_ahead_kw"], where="post", color="0.55", lw=2.6, label="day-ahead base point")
    ax.step(t, rows["planned_kw"], where="post", color="C1", lw=1.4, label="planned (reserve deployed)")
    ax.step(t, rows["executed_kw"], where="post", color="k", lw=0.9, ls="--", label="executed by the EVs")
    ax.axhline(0.0, color="0.7", lw=0.6)


def schedule_by_slot(slots: pd.DataFrame, days: int = 3) -> Figure:
    """Plan beside execution of a policy that returns base-point schedules (the ``slots`` table).

    Top: the first ``days`` days slot by slot: the day-ahead base point, the plan the EVs were asked
    to follow (the base point with the called reserve deployed) and what the batteries did, summed
    over the covered EVs (kW, grid side, + = charge), the slots with a reserve call shaded. Bottom:
    the same per slot of the day, mean over all days, and the days with a reserve call per slot.

    Args:
        slots: the slots table (``slots.parquet``; columns day, slot, slot_minutes, day_ahead_kw,
            planned_kw, executed_kw, request).
        days: days drawn slot by slot in the top panel.
    """
    fig, (ax1, ax2) = _figure((11, 6.5), 2, 1)
    slots = slots.sort_values(["day", "slot"])
    hours = slots["slot"].to_numpy(float) * slots["slot_minutes"].to_numpy(float) / 60.0
    first = np.sort(slots["day"].unique())[:days]
    top = slots["day"].isin(first).to_numpy()
    t = slots["day"].to_numpy(float)[top] + hours[top] / 24.0
    _schedule_lines(ax1, t, slots[top])
    width, req = float(slots["slot_minutes"].iloc[0]) / 1440.0, slots["request"].to_numpy(float)[top]
    for value, (colour, label) in RESERVE_COLOURS.items():
        for k, x in enumerate(t[req == value]):  # one span per called slot (days x slots at most)
            ax1.axvspan(x, x + width, color=colour, alpha=0.25, lw=0, label=None if k else label)
    ax1.set_xlabel("day (start of slot)")
    ax1.set_ylabel("power (kW)")
    ax1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax1.set_title(f"Plan and execution, slot by slot: first {len(first)} of "
                  f"{slots['day'].nunique()} days")
    g = slots.assign(_h=hours).groupby("_h", sort=True)
    mean = g[["day_ahead_kw", "planned_kw", "executed_kw"]].mean()
    _schedule_lines(ax2, mean.index.to_numpy(), mean)
    ax2.set_xlabel("hour of day (start of slot)")
    ax2.set_ylabel("power (kW, mean over days)")
    calls = ax2.twinx()
    for req, (colour, label) in RESERVE_COLOURS.items():
        n = g["request"].agg(lambda r, req=req: int((r == req).sum()))
        calls.step(n.index, n.to_numpy(), where="post", color=colour, alpha=0.6, lw=0.9,
                   label=f"days with {label}")
    calls.set_ylabel("days with a reserve call")
    calls.set_ylim(bottom=0)
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = calls.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.0))
    ax2.set_title("By slot of the day: mean over days")
    fig.tight_layout()
    return fig


def run_figures(hourly: pd.DataFrame, daily: pd.DataFrame, fleet: pd.DataFrame,
                soc: pd.DataFrame | None = None, slots: pd.DataFrame | None = None) -> dict[str, Figure]:
    """All figures of a run directory, by file name (the fleet figures only when their data is
    there: a SOC sample, a fleet table with EV models; ``schedule.png`` with a non-empty slots
    table, :func:`schedule_by_slot`)."""
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
    if slots is not None and not slots.empty:
        figs["schedule.png"] = schedule_by_slot(slots)
    return figs


#: Units of the summary metrics in report figures (axis labels).
METRIC_UNITS = {
    "profit": "$", "capability_credit": "$", "performance_credit": "$", "rebates_paid": "$",
    "profit_per_ev_per_day": "$ per EV-day", "mean_performance_score": "-, bid-weighted",
    "mean_plugged": "EVs", "mean_bid_kw": "kW", "min_soc": "-", "unmet_travel_kwh": "kWh",
    "bid_hours": "h", "bid_hours_below_target": "h", "share_bid_hours_below_target": "-",
    "zero_score_bid_hours": "h", "energy_cost": "$", "energy_bought_kwh": "kWh",
    "energy_sold_kwh": "kWh", "profit_net_energy": "$", "degradation_cost": "$",
    "profit_net_degradation": "$", "predicted_profit": "$", "realized_profit_predicted_days": "$",
    "forecast_mae_plugged": "EVs", "forecast_max_abs_error_plugged": "EVs",
    "predicted_ev_hours": "EV-h", "plugged_ev_hours": "EV-h", "guarantee_broken": "share of runs",
}
#: Metrics that describe the set-up rather than the outcome, or bound another metric (no figure).
NOT_PLOTTED = ("score_target", "guarantee_eta", "share_below_target_ci95_low",
               "share_below_target_ci95_high")
#: Report figures come in this order (profit first), then the other metrics alphabetically.
METRIC_ORDER = ("profit", "capability_credit", "performance_credit", "rebates_paid",
                "mean_performance_score", "share_bid_hours_below_target", "zero_score_bid_hours",
                "profit_per_ev_per_day", "mean_bid_kw", "mean_plugged", "predicted_profit",
                "realized_profit_predicted_days", "forecast_mae_plugged", "min_soc", "energy_cost",
                "profit_net_energy", "degradation_cost", "profit_net_degradation")
#: At most this many report figures (every metric is in the report table).
MAX_REPORT_FIGURES = 16
#: At most this many panels (x axes) in one report figure.
MAX_PANELS = 3
#: Width of one panel and the widest report figure (inches; figures are saved at 100 dpi).
PANEL_WIDTH_IN, MAX_WIDTH_IN = 5.5, 18.0
#: Legends of a panel with more series than this are left out (the series are too many to tell apart).
MAX_LEGEND = 12


def metric_label(metric: str) -> str:
    """Axis label of a summary metric: its name and unit."""
    unit = METRIC_UNITS.get(metric)
    return f"{metric} ({unit})" if unit else metric


def _varies(means: pd.Series) -> bool:
    """Whether the finite means of a metric take more than one value (to 12 significant digits)."""
    finite = means[np.isfinite(means)]
    return finite.map(lambda v: float(f"{v:.12g}")).nunique() > 1


def report_metrics(report: pd.DataFrame, limit: int = MAX_REPORT_FIGURES) -> list[str]:
    """The metrics of a report table that get a figure, in the order they are shown.

    A metric gets a figure unless it is a setting (:data:`NOT_PLOTTED`), it is 0 or NaN at every
    point (e.g. the rebates of a policy that pays none), or it takes the same value at every one of
    several points. The order is :data:`METRIC_ORDER` (profit first), then alphabetical; at most
    ``limit`` metrics.

    Args:
        report: the report table (columns ``point``, ``metric``, ``mean``, ...).
        limit: the most metrics returned.
    """
    keep = []
    for metric, rows in report.groupby("metric", sort=True):
        means = pd.to_numeric(rows["mean"], errors="coerce").astype(float)
        if metric in NOT_PLOTTED or not np.any(np.nan_to_num(means.to_numpy()) != 0.0):
            continue
        if rows["point"].nunique() > 1 and not _varies(means):
            continue
        keep.append(str(metric))
    rank = {m: k for k, m in enumerate(METRIC_ORDER)}
    return sorted(keep, key=lambda m: (rank.get(m, len(rank)), m))[:limit]


def _is_numeric(values: pd.Series) -> bool:
    """Whether ``values`` are numbers to put on a numeric axis (booleans and text are categories)."""
    if pd.api.types.is_bool_dtype(values) or any(isinstance(v, bool | np.bool_) for v in values):
        return False
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def _categories(rows: pd.DataFrame, x: str) -> list[str]:
    """The category labels of ``x`` in axis order: numbers by value, text alphabetically, the
    configuration labels of a folder of runs in the order of their points."""
    if x in ("label", "scenario", "point"):
        return list(dict.fromkeys(rows.sort_values("point")[x].astype(str)))
    values = list(dict.fromkeys(rows[x].astype(str)))
    num = pd.to_numeric(pd.Series(values), errors="coerce")
    return [v for _, v in sorted(zip(num.fillna(np.inf), values, strict=True))]


def _series(rows: pd.DataFrame, others: list[str]) -> list[tuple[str | None, pd.DataFrame]]:
    if not others:
        return [(None, rows)]
    out = []
    for key, sub in rows.groupby(others, sort=True, dropna=False):
        label = ", ".join(f"{o}={v}" for o, v in zip(others, np.atleast_1d(key), strict=False))
        out.append((label, sub))
    return out


def _report_panel(ax: Any, rows: pd.DataFrame, x: str, others: list[str], metric: str) -> None:
    """One panel: mean and 95 % CI of ``metric`` against ``x`` (lines and bands for a numeric x,
    points with error bars for categories), one series per combination of ``others``."""
    rows = rows.assign(**{c: pd.to_numeric(rows[c], errors="coerce").astype(float)
                          for c in ("mean", "ci95_low", "ci95_high")})  # None (no value) -> NaN
    numeric = x not in ("label", "scenario", "point") and _is_numeric(rows[x])
    cats = [] if numeric else _categories(rows, x)
    series = _series(rows, others)
    width = min(0.6 / len(series), 0.15)
    for k, (label, sub) in enumerate(series):
        lo = (sub["mean"] - sub["ci95_low"]).fillna(0).clip(lower=0).to_numpy()
        hi = (sub["ci95_high"] - sub["mean"]).fillna(0).clip(lower=0).to_numpy()
        if numeric:
            sub = sub.assign(_x=pd.to_numeric(sub[x]).astype(float)).sort_values("_x")
            line = ax.plot(sub["_x"], sub["mean"], "o-", label=label, clip_on=False)[0]
            ax.fill_between(sub["_x"], sub["ci95_low"], sub["ci95_high"], alpha=0.2,
                            color=line.get_color())
        else:
            pos = np.array([cats.index(str(v)) for v in sub[x]]) + (k - (len(series) - 1) / 2) * width
            ax.errorbar(pos, sub["mean"], yerr=[lo, hi], fmt="o", capsize=4, label=label, clip_on=False)
    if not numeric:
        long = len(cats) > 4 or max(map(len, cats), default=0) > 12
        ax.set_xticks(np.arange(len(cats)), cats, rotation=30 if long else 0,
                      ha="right" if long else "center", fontsize=8 if long else 10)
        ax.set_xlim(-0.5, len(cats) - 0.5)
    ax.set_xlabel("configuration" if x == "label" else x)
    ax.set_ylabel(metric_label(metric))
    if others and len(series) <= MAX_LEGEND:
        ax.legend(fontsize=7)


def _widths(report: pd.DataFrame, xs: list[str]) -> list[float]:
    """Panel widths (inches): wider for many categories; together at most :data:`MAX_WIDTH_IN`."""
    w = [PANEL_WIDTH_IN if x not in ("label", "scenario", "point") and _is_numeric(report[x])
         else float(np.clip(0.45 * report[x].nunique() + 1.5, PANEL_WIDTH_IN, 16.0)) for x in xs]
    return [v * min(1.0, MAX_WIDTH_IN / sum(w)) for v in w]


def _bounded(ax: Any, bound: tuple[float, float] | None) -> None:
    """Keep the y axis of a bounded quantity inside its bounds (a score axis ends at 1)."""
    if bound is None:
        return
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, bound[0]), min(hi, bound[1]))


def report_figures(report: pd.DataFrame, params: list[str],
                   bounds: dict[str, tuple[float, float]] | None = None) -> Iterator[tuple[str, Figure]]:
    """The report's figures, one per metric of :func:`report_metrics`: mean and 95 % confidence
    interval against each of ``params``, drawn one at a time (save each and let it go).

    A numeric parameter is an axis with lines and confidence bands; a categorical one (a policy
    name, the configuration label of a folder of runs) gets points with error bars. With several
    parameters each panel has one of them on its axis and one series per combination of the
    others; at most :data:`MAX_PANELS` panels, at most :data:`MAX_WIDTH_IN` inches wide (1,800
    px at 100 dpi). Without parameters the axis is the configuration label (``label``), else the
    scenario, else the point.

    Args:
        report: the report table (:func:`v2gsim.experiments.aggregate.aggregate`).
        params: the columns to put on the x axes (the parameters that vary).
        bounds: ``metric -> (low, high)`` of quantities that cannot leave an interval (a score's
            axis is kept within [0, 1]).

    Yields:
        ``(file name, figure)``: ``report_<metric>.png`` and its figure.
    """
    xs = params[:MAX_PANELS] or [next(c for c in ("label", "scenario", "point") if c in report.columns)]
    widths = _widths(report, xs)
    height = 4.0 + (0.8 if xs == ["label"] else 0.0)
    for metric in report_metrics(report):
        rows = report[report["metric"] == metric]
        fig, axes = _figure((sum(widths), height), 1, len(xs), squeeze=False,
                            gridspec_kw={"width_ratios": widths})
        for ax, x in zip(axes[0], xs, strict=True):
            _report_panel(ax, rows, x, [p for p in params if p != x], metric)
            _bounded(ax, (bounds or {}).get(metric))
        clipped = "ci95_clipped" in rows and bool(rows["ci95_clipped"].astype(bool).any())
        fig.suptitle(f"{metric_label(metric)}\nmean and 95 % confidence interval"
                     + (" (clipped at the quantity's bounds)" if clipped else ""), fontsize=10)
        fig.tight_layout()
        yield f"report_{metric}.png", fig

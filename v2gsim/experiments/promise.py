"""The promise beside what happened: the chance guarantee, the plug-in forecast, the expected profit.

A ``chance`` (or ``bilevel``) platform promises that each hour it bids into scores at least the
target ``q = 1 - eta`` with probability ``1 - eta`` (models.md §1.4, (R1)); it plans with a forecast
of the plugged-in EVs (its beliefs) and expects a profit. :func:`promise_summary` puts the three
promises of a run next to the outcomes of its sampled drivers and signals:

* the realized share of bid hours below the target, with an exact (Clopper-Pearson) 95 %
  confidence interval; the guarantee is *broken* when the whole interval lies above ``eta``
  (the share exceeds ``eta`` significantly, at the 2.5 % level one-sided);
* the hourly forecast error of the plugged-in EVs, ``|predicted - plugged|`` (mean and maximum);
* the predicted profit of the days the policy predicted one, beside the realized profit of the same
  days.

A policy without a guarantee (``naive``, ``eva``, ``v2a``, ``robust``: only ``chance`` and
``bilevel`` plan with the chance bound) is scored against the same target, so that policies compare
on one scale; a share significantly above ``eta`` gets a NOTE, not a WARNING.

The settling policies (``eva``, ``v2a``, ``robust``) promise more than a score: a plan of their own
(revenue, site costs, unmet energy, reserve), settled each day against what the drivers did
(their columns of the daily table). :func:`plan_summary` carries those columns over the run into
the summary and :func:`plan_lines` prints them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GUARANTEE_POLICIES", "PLAN_TOTALS", "clopper_pearson", "game_lines", "game_summary",
           "plan_lines", "plan_summary", "promise_lines", "promise_summary"]

#: Policies that plan with the chance bound, so promise the score target in 1 - eta of bid hours.
GUARANTEE_POLICIES = ("chance", "bilevel")

#: Daily columns of the settling policies and how the summary carries them over the run: ``"sum"``
#: (the run's total) or ``"mean"`` (the mean over days). Same names as the daily columns; units as
#: there: eva revenues in the currency of ``[platform.eva]``'s prices, eva shares (-) and EVs per
#: day; v2a costs in the p.u. of ``[platform.v2a]``'s prices, energies (kWh), session and SOC
#: violation counts; robust costs in the run's currency ($; negative: the site earns), energies
#: (kWh), counts of EVs off their plan and of sessions outside their box. ``v2a_solve_s`` (a
#: timing) is left out, as ``solve_time_s`` is.
PLAN_TOTALS: dict[str, str] = {
    "eva_planned_revenue": "sum", "eva_realized_revenue": "sum",
    "eva_planned_share": "mean", "eva_realized_share": "mean",
    "eva_planned_energy_revenue": "sum", "eva_realized_energy_revenue": "sum",
    "eva_realized_evs": "mean", "eva_disaggregation_gap_kwh": "sum",
    "v2a_planned_cost": "sum", "v2a_realized_cost": "sum",
    "v2a_planned_unmet_kwh": "sum", "v2a_realized_unmet_kwh": "sum",
    "v2a_planned_sessions": "sum", "v2a_realized_sessions": "sum",
    "v2a_soc_violations": "sum", "v2a_offer_kwh": "sum", "departure_shortfall_kwh": "sum",
    "planned_cost": "sum", "realized_cost": "sum",
    "reserve_requested_kwh": "sum", "reserve_delivered_kwh": "sum", "robust_plan_cost": "sum",
    "robust_reserve_up_kwh": "sum", "robust_reserve_down_kwh": "sum",
    "robust_planned_up_kwh": "sum", "robust_planned_down_kwh": "sum",
    "robust_violations": "sum", "robust_sessions_outside": "sum",
}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of a share ``k / n`` (NaN, NaN for ``n = 0``)."""
    from scipy.stats import beta

    if n == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1.0 - a, k + 1, n - k))
    return low, high


def promise_summary(hourly: pd.DataFrame, daily: pd.DataFrame, eta: float) -> dict[str, Any]:
    """The promise and the outcome of one run (keys added to ``summary.json``).

    Args:
        hourly: the run's hourly table.
        daily: the run's daily table.
        eta: the allowed violation probability of the guarantee (-).

    Returns:
        ``guarantee_eta``, ``share_below_target_ci95_low/high``, ``guarantee_broken``;
        ``forecast_mae_plugged`` and ``forecast_max_abs_error_plugged`` (EVs);
        ``predicted_profit`` and ``realized_profit_predicted_days`` ($, NaN when the policy
        predicts none; for ``eva`` the plan's operating revenue in its own currency); the
        settling policies' plan and outcome over the run (:func:`plan_summary`).
    """
    bid = hourly["bid_kw"].to_numpy()
    score = hourly["score"].to_numpy()
    has = (bid > 0) & np.isfinite(score)
    n, k = int(has.sum()), int(np.count_nonzero(score[has] < 1.0 - eta))
    low, high = clopper_pearson(k, n)
    err = np.abs(hourly["predicted_plugged"].to_numpy(float) - hourly["plugged"].to_numpy(float))
    ok = np.isfinite(err)
    pred = daily["predicted_profit"].to_numpy(float)
    days = np.isfinite(pred)
    out = {
        "guarantee_eta": float(eta),
        "share_below_target_ci95_low": low,
        "share_below_target_ci95_high": high,
        "guarantee_broken": bool(n > 0 and low > eta),
        "forecast_mae_plugged": float(err[ok].mean()) if ok.any() else float("nan"),
        "forecast_max_abs_error_plugged": float(err[ok].max()) if ok.any() else float("nan"),
        "predicted_profit": float(pred[days].sum()) if days.any() else float("nan"),
        "realized_profit_predicted_days": (float(daily["profit"].to_numpy(float)[days].sum())
                                           if days.any() else float("nan")),
        **plan_summary(daily),
    }
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def plan_summary(daily: pd.DataFrame) -> dict[str, float]:
    """The settling policy's columns of the daily table over the run (:data:`PLAN_TOTALS`).

    Args:
        daily: the run's daily table.

    Returns:
        one key per column of :data:`PLAN_TOTALS` the table has (its sum or mean over the days with
        a value, same name and unit; NaN when no day has one), and ``v2a_planned_days`` (days the
        v2a sites had a plan: day 0 has no sessions of yesterday to expect) with policy ``v2a``;
        empty for the other policies.
    """
    out: dict[str, float] = {}
    for col, how in PLAN_TOTALS.items():
        if col in daily:  # over the days with a value (a day without a plan has NaN)
            values = daily[col].to_numpy(float)
            values = values[~np.isnan(values)]
            out[col] = (float(values.sum() if how == "sum" else values.mean()) if values.size
                        else float("nan"))
    if "v2a_planned_sessions" in daily:
        out["v2a_planned_days"] = int(np.count_nonzero(daily["v2a_planned_sessions"].to_numpy(float) > 0))
    return out


def plan_lines(s: dict[str, Any]) -> list[str]:
    """Lines of the CLI: a settling policy's plan beside its outcome (:func:`plan_summary`); a total
    no day has a value for (a summary read back from JSON: None) prints as ``nan``."""
    s = {k: (math.nan if v is None else v) for k, v in s.items()}
    if s.get("policy") == "eva" and "eva_planned_revenue" in s:
        return [f"eva plan (currency of [platform.eva]'s prices): operating revenue planned "
                f"{s['eva_planned_revenue']:.2f}, realized {s['eva_realized_revenue']:.2f}; energy "
                f"revenue planned {s['eva_planned_energy_revenue']:.2f}, realized "
                f"{s['eva_realized_energy_revenue']:.2f}; response share planned "
                f"{s['eva_planned_share']:.3f}, realized {s['eva_realized_share']:.3f} (mean over days, "
                f"{s['eva_realized_evs']:.1f} EVs at home per day); executed by the fleet: cost planned "
                f"{s['planned_cost']:.2f}, realized {s['realized_cost']:.2f}; aggregate not split into "
                f"EV schedules {s['eva_disaggregation_gap_kwh']:.2f} kWh; departure shortfall "
                f"{s['departure_shortfall_kwh']:.2f} kWh"]
    if s.get("policy") == "v2a" and "v2a_planned_cost" in s:
        lines = [f"v2a sites (p.u. of [platform.v2a]'s prices): cost planned {s['v2a_planned_cost']:.2f}, "
                 f"realized {s['v2a_realized_cost']:.2f}; unmet energy planned "
                 f"{s['v2a_planned_unmet_kwh']:.2f} kWh, realized {s['v2a_realized_unmet_kwh']:.2f} kWh; "
                 f"sessions planned {s['v2a_planned_sessions']:.0f}, realized "
                 f"{s['v2a_realized_sessions']:.0f}; SOC violations {s['v2a_soc_violations']:.0f}; "
                 f"offered for regulation {s['v2a_offer_kwh']:.2f} kWh; the fleet's departure "
                 f"shortfall {s['departure_shortfall_kwh']:.2f} kWh"]
        if s["v2a_planned_days"] < s["days"]:
            lines.append(f"v2a plans from yesterday's sessions: a plan on {s['v2a_planned_days']} of "
                         f"{s['days']} days (day 0 has none to expect; the realized figures include "
                         "the days without a plan)" + ("; run 2 or more days (--days)"
                                                       if s["days"] == 1 else ""))
        return lines
    if s.get("policy") == "robust" and "robust_plan_cost" in s:
        return [f"robust site day-ahead plan, executed by the fleet ($; a negative cost is earned): "
                f"cost planned ${s['planned_cost']:.2f}, realized ${s['realized_cost']:.2f} (the LP "
                f"expected ${s['robust_plan_cost']:.2f}); reserve called {s['reserve_requested_kwh']:.2f} "
                f"kWh, delivered in all {s['reserve_delivered_kwh']:.2f} kWh; reserve up "
                f"planned {s['robust_planned_up_kwh']:.2f} kWh, delivered {s['robust_reserve_up_kwh']:.2f} "
                f"kWh; down planned {s['robust_planned_down_kwh']:.2f} kWh, delivered "
                f"{s['robust_reserve_down_kwh']:.2f} kWh; departure shortfall "
                f"{s['departure_shortfall_kwh']:.2f} kWh; EVs off their plan {s['robust_violations']:.0f}; "
                f"sessions outside the declared box {s['robust_sessions_outside']:.0f}"]
    return []


def promise_lines(s: dict[str, Any]) -> list[str]:
    """Lines of the CLI: the promise beside the outcome; a warning when a guarantee of
    :data:`GUARANTEE_POLICIES` is broken, a note when another policy scores as badly."""
    lines = []
    if s["bid_hours"]:
        lines.append(
            f"promise: score >= {s['score_target']:.2f} in {1 - s['guarantee_eta']:.0%} of bid hours; "
            f"outcome: {s['share_bid_hours_below_target']:.1%} of {s['bid_hours']} bid hours below "
            f"(95 % CI {s['share_below_target_ci95_low']:.1%}-{s['share_below_target_ci95_high']:.1%})")
    if s["forecast_mae_plugged"] is not None:
        lines.append(f"plug-in forecast: mean |predicted - plugged| {s['forecast_mae_plugged']:.2f} "
                     f"EVs per hour, largest {s['forecast_max_abs_error_plugged']:.1f}")
    if s["predicted_profit"] is not None and s.get("policy") != "eva":  # eva: its plan's line
        lines.append(f"profit: predicted ${s['predicted_profit']:.2f}, realized "
                     f"${s['realized_profit_predicted_days']:.2f} on the same days")
    if s["guarantee_broken"]:
        share = (f"{s['share_bid_hours_below_target']:.1%} of bid hours scored below "
                 f"{s['score_target']:.2f}, significantly more than eta = {s['guarantee_eta']:.0%}")
        policy = s.get("policy")
        if policy not in GUARANTEE_POLICIES:
            lines.append(f"NOTE: {policy} makes no guarantee; against the same target {share}")
        else:
            hint = ("beliefs = 'calibrated' learns it from the observed plug-ins"
                    if s.get("beliefs") == "scenario" else
                    "platform.chance.plug_source = 'history' plans with the observed plug-ins")
            lines.append(f"WARNING: the guarantee is broken: {share}; check the plug-in forecast "
                         f"above ({hint})")
    return lines


def game_summary(daily: pd.DataFrame, params: dict[str, float] | None) -> dict[str, float]:
    """The seed-001 game's end of run (issue 33 item 4): the last day's x, y, published price and
    mean of the price mixture, and the individual-rationality range [E, F] of (20) at ``E_max``
    (yuan/kWh); empty without the game."""
    if params is None or "price" not in daily or daily["price"].isna().all():
        return {}
    from v2gsim.game.price_range import price_range

    last = daily.iloc[-1]
    low, high = price_range(params)
    return {"game_x": float(last["x"]), "game_y": float(last["y"]), "game_price": float(last["price"]),
            "game_price_mean": float(last["price_mean"]), "game_price_range_low": low,
            "game_price_range_high": high, "game_ev_payoff_mean": float(last["ev_payoff_mean"])}


def game_lines(s: dict[str, Any]) -> list[str]:
    """The game's end of run beside E and F (:func:`game_summary`)."""
    if "game_price" not in s:
        return []
    low, high, mean = s["game_price_range_low"], s["game_price_range_high"], s["game_price_mean"]
    where = ("inside" if low <= mean <= high else "below" if mean < low else "above")
    return [f"game: x {s['game_x']:.3f}, y {s['game_y']:.3f}; learned price {mean:.4f} yuan/kWh (mixture "
            f"mean; published {s['game_price']:.2f}), {where} the individual-rationality range "
            f"[E, F] = [{low:.4f}, {high:.4f}]; mean EV payoff {s['game_ev_payoff_mean']:.3f} yuan"]

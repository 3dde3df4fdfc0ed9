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

A policy without a guarantee (``naive``) is scored against the same target, so that policies compare
on one scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["clopper_pearson", "promise_lines", "promise_summary"]


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
        predicts none).
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
    }
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def promise_lines(s: dict[str, Any]) -> list[str]:
    """Lines of the CLI: the promise beside the outcome, and a warning when it is broken."""
    lines = []
    if s["bid_hours"]:
        lines.append(
            f"promise: score >= {s['score_target']:.2f} in {1 - s['guarantee_eta']:.0%} of bid hours; "
            f"outcome: {s['share_bid_hours_below_target']:.1%} of {s['bid_hours']} bid hours below "
            f"(95 % CI {s['share_below_target_ci95_low']:.1%}-{s['share_below_target_ci95_high']:.1%})")
    if s["forecast_mae_plugged"] is not None:
        lines.append(f"plug-in forecast: mean |predicted - plugged| {s['forecast_mae_plugged']:.2f} "
                     f"EVs per hour, largest {s['forecast_max_abs_error_plugged']:.1f}")
    if s["predicted_profit"] is not None:
        lines.append(f"profit: predicted ${s['predicted_profit']:.2f}, realized "
                     f"${s['realized_profit_predicted_days']:.2f} on the same days")
    if s["guarantee_broken"]:
        share = (f"{s['share_bid_hours_below_target']:.1%} of bid hours scored below "
                 f"{s['score_target']:.2f}, significantly more than eta = {s['guarantee_eta']:.0%}")
        if s.get("policy") == "naive":
            lines.append(f"NOTE: naive makes no guarantee; against the same target {share}")
        else:
            hint = ("beliefs = 'calibrated' learns it from the observed plug-ins"
                    if s.get("beliefs") == "scenario" else
                    "platform.chance.plug_source = 'history' plans with the observed plug-ins")
            lines.append(f"WARNING: the guarantee is broken: {share}; check the plug-in forecast "
                         f"above ({hint})")
    return lines

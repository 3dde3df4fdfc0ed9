"""Bookkeeping of one simulated day: the hourly rows' running totals and the daily row.

:class:`DayLedger` accumulates what the hours of a day add up to (credits, rebates paid, unmet
travel energy, the scores of the hours with a bid); :func:`daily_row` turns it, with the day's
decision and the fleet state at the end of the day, into the row of the daily table.

:data:`DAILY_COLUMNS` names the daily table's built-in columns, once: :func:`daily_row` fills
exactly these (plus the energy market's when it is on, and :data:`SCHEDULE_COLUMNS` when the policy
returns base-point schedules) and the model's ``DataCollector`` reads
exactly the columns of the day (these, then the fleet records', the energy market's and a settling
policy's); :func:`check_row` makes a missing or an extra key an error instead of a silent NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from v2gsim.behavior.persistency import ClusterPersistency
    from v2gsim.policies.base import Decision
    from v2gsim.sim.agents.driver import DayChoice

__all__ = [
    "DAILY_COLUMNS",
    "GAME_COLUMNS",
    "SCHEDULE_COLUMNS",
    "DailyRowError",
    "DayLedger",
    "check_row",
    "daily_row",
    "forecast_error",
]

#: Daily columns of the seed-001 game (NaN when ``[game]`` is off): drivers' and grid company's
#: cooperation shares, discharge price and its mixture's mean and s.d. (yuan/kWh), mean payoffs (yuan).
GAME_COLUMNS = ("x", "y", "price", "price_mean", "price_std", "pg_payoff", "ev_payoff_mean")

#: The daily table's built-in columns, in table order (money in $, energy in kWh, SOC in [0, 1]).
DAILY_COLUMNS: tuple[str, ...] = (
    "day", "plugged_ev_hours", "predicted_ev_hours", "bid_kwh", "mean_score", "capability_credit",
    "performance_credit", "rebates_paid", "profit", "soc_mean", "soc_min", "soc_p10",
    "soc_p50", "soc_p90", "soc_max", "unmet_travel_kwh", "hours_bid", "belief_error",
    "policy_status", "fallback_reason", "solve_time_s", "gap", "predicted_profit",
    "forecast_mae", "forecast_max_abs_error", *GAME_COLUMNS,
)

CREDIT_KEYS = ("capability_credit", "performance_credit", "rebates_paid")
#: Hourly energy columns summed into the daily row when the energy market is on.
ENERGY_KEYS = ("energy_bought_kwh", "energy_sold_kwh", "energy_cost")
#: Columns of a run whose policy returns base-point schedules (``schedules = True``), in the hourly
#: table per hour and in the daily table summed over the day (kWh, grid side, + = charge): the
#: covered EVs' planned and executed net base energy and the sum over EVs and slots of
#: |planned - executed| energy (:class:`v2gsim.core.schedule.ScheduledHour`); 0 without a schedule.
SCHEDULE_COLUMNS = ("planned_base_kwh", "executed_base_kwh", "schedule_deviation_kwh")


@dataclass
class DayLedger:
    """Running totals of one day's hours.

    Attributes:
        day: the day (0-based).
        unmet_kwh: travel energy the batteries could not supply (kWh).
        totals: capability and performance credits and rebates paid so far ($).
        scores: performance scores of the hours with a bid (-).
        bids: their bids (kW), the weights of the day's mean score.
        energy: grid energy bought and sold (kWh) and its net cost ($) so far; empty when the
            energy market is off.
        forecast_errors: predicted minus plugged-in EVs of every hour (EVs; NaN without a
            prediction).
        rows: the day's hourly-table rows, in hour order.
        schedule: the :data:`SCHEDULE_COLUMNS` summed so far (kWh); empty when the policy
            returns no schedules.
    """

    day: int
    unmet_kwh: float = 0.0
    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CREDIT_KEYS, 0.0))
    scores: list[float] = field(default_factory=list)
    bids: list[float] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=dict)
    forecast_errors: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    schedule: dict[str, float] = field(default_factory=dict)

    def add(self, row: dict[str, Any], bid_kw: float, unmet_kwh: float) -> None:
        """Add one settled hour (its hourly-table row)."""
        self.rows.append(row)
        self.unmet_kwh += unmet_kwh
        self.forecast_errors.append(row["predicted_plugged"] - row["plugged"])
        for key in CREDIT_KEYS:
            self.totals[key] += row[key]
        if bid_kw > 0:
            self.scores.append(row["score"])
            self.bids.append(bid_kw)
        if "energy_cost" in row:
            for key in ENERGY_KEYS:
                self.energy[key] = self.energy.get(key, 0.0) + row[key]
        if "schedule_deviation_kwh" in row:
            for key in SCHEDULE_COLUMNS:
                self.schedule[key] = self.schedule.get(key, 0.0) + row[key]


def forecast_error(errors: list[float]) -> dict[str, float]:
    """The day's hourly plug-in forecast error: mean and largest |predicted - plugged| (EVs)."""
    e = np.abs(np.asarray(errors, dtype=float))
    if e.size == 0 or not np.isfinite(e).all():
        return {"forecast_mae": np.nan, "forecast_max_abs_error": np.nan}
    return {"forecast_mae": float(e.mean()), "forecast_max_abs_error": float(e.max())}


class DailyRowError(ValueError):
    """A daily row whose keys are not the day's columns (a missing or an extra key)."""


def check_row(row: Mapping[str, Any], columns: Sequence[str]) -> None:
    """Check that ``row`` has exactly the keys ``columns``.

    Raises:
        DailyRowError: naming the missing and the extra keys.
    """
    missing = [k for k in columns if k not in row]
    extra = sorted(set(row) - set(columns))
    if missing or extra:
        raise DailyRowError(f"daily row: missing {missing}, extra {extra} (the day's columns are "
                            f"sim.day.DAILY_COLUMNS and the model's added ones)")


def daily_row(ledger: DayLedger, decision: Decision, choice: DayChoice, prediction: ClusterPersistency,
              soc: np.ndarray, belief_error: float, game_state: Mapping[str, float], *,
              status: str, fallback_reason: str) -> dict[str, Any]:
    """The day's row of the daily table: :data:`DAILY_COLUMNS`, then the energy market's columns
    when it is on and the :data:`SCHEDULE_COLUMNS` when the hours carried them (money in $, energy
    in kWh, SOC quantiles of the fleet).

    Args:
        ledger: the day's running totals.
        decision: the policy's decision for the day.
        choice: the drivers' choices of the day.
        prediction: the platform's plug-in prediction for the day.
        soc: (M,) SOC of every EV at the end of the day (-).
        belief_error: the platform's belief error of the day.
        game_state: the :data:`GAME_COLUMNS` (NaN when the game is off).
        status: the day's ``policy_status``.
        fallback_reason: the day's ``fallback_reason`` (empty without a fallback).

    Raises:
        DailyRowError: ``game_state`` does not hold exactly the :data:`GAME_COLUMNS`.
    """
    check_row(game_state, GAME_COLUMNS)
    totals = ledger.totals
    q = np.quantile(soc, [0.1, 0.5, 0.9])
    profit = totals["capability_credit"] + totals["performance_credit"] - totals["rebates_paid"]
    energy = ({**ledger.energy, "profit_net_energy": profit - ledger.energy["energy_cost"]}
              if ledger.energy else {})
    return {
        "day": ledger.day,
        "plugged_ev_hours": float(choice.plugged.sum()),
        "predicted_ev_hours": float(prediction.expected.sum()),
        "bid_kwh": float(np.sum(decision.bid_kw)),
        "mean_score": (float(np.average(ledger.scores, weights=ledger.bids)) if ledger.bids
                       else np.nan),
        **totals,
        "profit": profit,
        "soc_mean": float(soc.mean()), "soc_min": float(soc.min()),
        "soc_p10": float(q[0]), "soc_p50": float(q[1]), "soc_p90": float(q[2]),
        "soc_max": float(soc.max()), "unmet_travel_kwh": ledger.unmet_kwh,
        "hours_bid": int(np.count_nonzero(decision.bid_kw)),
        "belief_error": belief_error,
        "policy_status": status,
        "fallback_reason": fallback_reason,
        "solve_time_s": float(decision.solve_time_s),
        "gap": float(decision.gap),
        "predicted_profit": float(decision.predicted_profit),
        **forecast_error(ledger.forecast_errors),
        **game_state,
        **energy,
        **ledger.schedule,
    }

"""Bookkeeping of one simulated day: the hourly rows' running totals and the daily row.

:class:`DayLedger` accumulates what the hours of a day add up to (credits, rebates paid, unmet
travel energy, the scores of the hours with a bid); :func:`daily_row` turns it, with the day's
decision and the fleet state at the end of the day, into the row of the daily table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from v2gsim.behavior.persistency import ClusterPersistency
    from v2gsim.policies.base import Decision
    from v2gsim.sim.agents.driver import DayChoice

__all__ = ["DayLedger", "daily_row", "forecast_error"]

CREDIT_KEYS = ("capability_credit", "performance_credit", "rebates_paid")
#: Hourly energy columns summed into the daily row when the energy market is on.
ENERGY_KEYS = ("energy_bought_kwh", "energy_sold_kwh", "energy_cost")


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
    """

    day: int
    unmet_kwh: float = 0.0
    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CREDIT_KEYS, 0.0))
    scores: list[float] = field(default_factory=list)
    bids: list[float] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=dict)
    forecast_errors: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

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


def forecast_error(errors: list[float]) -> dict[str, float]:
    """The day's hourly plug-in forecast error: mean and largest |predicted - plugged| (EVs)."""
    e = np.abs(np.asarray(errors, dtype=float))
    if e.size == 0 or not np.isfinite(e).all():
        return {"forecast_mae": np.nan, "forecast_max_abs_error": np.nan}
    return {"forecast_mae": float(e.mean()), "forecast_max_abs_error": float(e.max())}


def daily_row(ledger: DayLedger, decision: Decision, choice: DayChoice, prediction: ClusterPersistency,
              soc: np.ndarray, belief_error: float, game_state: dict[str, float]) -> dict[str, Any]:
    """The day's row of the daily table (money in $, energy in kWh, SOC quantiles of the fleet)."""
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
        "policy_status": str(decision.status),
        "solve_time_s": float(decision.solve_time_s),
        "gap": float(decision.gap),
        "predicted_profit": float(decision.predicted_profit),
        **forecast_error(ledger.forecast_errors),
        **game_state,
        **energy,
    }

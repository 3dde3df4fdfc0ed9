"""TSOAgent: emits the day's AGC signal, scores the platform's mileage performance and pays credits.

Thin: it is given its signal source and price table when it is created
(:mod:`v2gsim.market.sources`); the credit rule lives in :mod:`v2gsim.market.settlement`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import mesa
import numpy as np
import pandas as pd

from v2gsim.market.agc import hourly_mileage
from v2gsim.market.settlement import settle, settlement_mileage
from v2gsim.market.sources import DT_S, SignalSource

if TYPE_CHECKING:
    from v2gsim.market.agc import FollowResult

__all__ = ["TSOAgent"]


class TSOAgent(mesa.Agent):
    """Transmission system operator.

    Args:
        model: the model.
        signals: the day-by-day AGC signal.
        prices: hourly prices of every simulated day (columns day, hour, capability_price
            $/MW-h, performance_price $/ΔMW).
        hours: hours of a day T.
        mileage_basis: settlement mileage, ``"signal"`` or ``"ratio"``.
        rega_mileage: RegA benchmark mileage of the ratio basis (ΔMW/MW).
    """

    def __init__(self, model: mesa.Model, signals: SignalSource, prices: pd.DataFrame, hours: int,
                 mileage_basis: Literal["signal", "ratio"] = "signal", rega_mileage: float = 6.58):
        super().__init__(model)
        self.signals = signals
        self.prices = prices
        self.hours = int(hours)
        self.mileage_basis = mileage_basis
        self.rega_mileage = float(rega_mileage)

    # ------------------------------------------------------------------ prices
    def price_forecast(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected hourly prices by hour of day over the whole price table (a climatology)."""
        g = self.prices.groupby("hour")[["capability_price", "performance_price"]].mean()
        return g["capability_price"].to_numpy(), g["performance_price"].to_numpy()

    def day_prices(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Capability ($/MW-h) and performance ($/ΔMW) prices of each hour of ``day``."""
        rows = self.prices.iloc[day * self.hours : (day + 1) * self.hours]
        return rows["capability_price"].to_numpy(), rows["performance_price"].to_numpy()

    # ------------------------------------------------------------------ AGC
    def emit_signal(self, day: int) -> np.ndarray:
        """Phase 4: the AGC signal of ``day`` at 2-s resolution, shaped (T, 3600/2)."""
        return self.signals.day_signal(day)

    # ------------------------------------------------------------------ settlement
    def settle_hour(self, day: int, hour: int, bid_kw: float, follow: FollowResult,
                    signal_hour: np.ndarray) -> dict[str, float]:
        """Score one hour and compute its credits (PJM-style, see :func:`settle`)."""
        cap_p, perf_p = self.day_prices(day)
        mileage = float(hourly_mileage(signal_hour, dt_s=DT_S)[0])
        smil = float(np.asarray(settlement_mileage(
            np.array([mileage]), self.mileage_basis, rega_mileage=self.rega_mileage))[0])
        score = float(follow.score[0])
        credits = settle(np.array([bid_kw]), np.array([score]), np.array([cap_p[hour]]),
                         np.array([perf_p[hour]]), np.array([smil]))
        return {
            "signal_mileage": mileage,
            "settlement_mileage": smil,
            "score": score,
            "capability_price": float(cap_p[hour]),
            "performance_price": float(perf_p[hour]),
            "capability_credit": float(np.asarray(credits.capability_credit)[0]),
            "performance_credit": float(np.asarray(credits.performance_credit)[0]),
        }

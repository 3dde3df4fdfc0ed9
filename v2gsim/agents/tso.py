"""TSOAgent: emits the day's AGC signal, scores the platform's mileage performance and pays credits.

Thin: the signal generators and readers live in :mod:`v2gsim.market.agc`, prices in
:mod:`v2gsim.market.prices` and the credit rule in :mod:`v2gsim.market.settlement`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from v2gsim.market.agc import hourly_mileage, read_pjm_regd, synthetic_regd
from v2gsim.market.prices import read_pjm_regulation_prices, synthetic_regulation_prices
from v2gsim.market.settlement import settle, settlement_mileage

if TYPE_CHECKING:
    from v2gsim.config import Scenario
    from v2gsim.market.agc import FollowResult

__all__ = ["TSOAgent"]

DT_S = 2.0


class TSOAgent(mesa.Agent):
    """Transmission system operator.

    Attributes:
        prices: hourly price table for every simulated day (columns day, hour, capability_price
            $/MW-h, performance_price $/ΔMW).
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, rng_agc: np.random.Generator,
                 rng_prices: np.random.Generator):
        super().__init__(model)
        self.scenario = scenario
        self._rng_agc = rng_agc
        mcfg = scenario.market
        self.hours = scenario.network.hours
        self._files = [scenario.resolve_path(p) for p in mcfg.agc_files]
        self.prices = self._price_table(scenario, rng_prices)

    # ------------------------------------------------------------------ prices
    def _price_table(self, scenario: Scenario, rng: np.random.Generator) -> pd.DataFrame:
        mcfg, days, hours = scenario.market, scenario.days, scenario.network.hours
        if mcfg.prices == "pjm":
            raw = read_pjm_regulation_prices(scenario.resolve_path(mcfg.price_file))
            raw = raw.dropna(subset=["capability_price", "performance_price"])
            n = len(raw) // hours * hours
            if n == 0:
                raise ValueError(f"{mcfg.price_file}: fewer than {hours} hourly prices")
            cap = raw["capability_price"].to_numpy()[:n]
            perf = raw["performance_price"].to_numpy()[:n]
            idx = np.arange(days * hours) % n
            return pd.DataFrame({
                "day": np.repeat(np.arange(days), hours),
                "hour": np.tile(np.arange(hours), days),
                "capability_price": cap[idx],
                "performance_price": perf[idx],
            })
        table = synthetic_regulation_prices(
            rng, days, mean_capability=mcfg.capability_price,
            mean_performance=mcfg.performance_price,
        )
        return table[["day", "hour", "capability_price", "performance_price"]].reset_index(
            drop=True)

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
        """The AGC signal of ``day`` at 2-s resolution, shaped (T, 3600/2)."""
        mcfg = self.scenario.market
        if mcfg.agc == "pjm_regd":
            sig = read_pjm_regd(self._files[day % len(self._files)])
        else:
            sig = synthetic_regd(self._rng_agc, days=1, dt_s=DT_S,
                                 mean_hourly_mileage=mcfg.mean_hourly_mileage)
        per_hour = int(3600 / DT_S)
        need = self.hours * per_hour
        if sig.size < need:
            raise ValueError(f"AGC signal of day {day} has {sig.size} samples, need {need}")
        return sig[:need].reshape(self.hours, per_hour)

    # ------------------------------------------------------------------ settlement
    def settle_hour(self, day: int, hour: int, bid_kw: float, follow: FollowResult,
                    signal_hour: np.ndarray) -> dict[str, float]:
        """Score one hour and compute its credits (PJM-style, see :func:`settle`)."""
        cap_p, perf_p = self.day_prices(day)
        mileage = float(hourly_mileage(signal_hour, dt_s=DT_S)[0])
        mcfg = self.scenario.market
        smil = float(np.asarray(settlement_mileage(
            np.array([mileage]), mcfg.mileage_basis, rega_mileage=mcfg.rega_mileage))[0])
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

"""TSOAgent: emits the day's AGC signal, scores the platform's performance and pays credits.

Thin: it is given its signal source and price table when it is created
(:mod:`v2gsim.market.sources`); the credit rule lives in :mod:`v2gsim.market.settlement`, the
scores in :mod:`v2gsim.market.agc.dispatch` (mileage ratio) and
:mod:`v2gsim.market.agc.performance` (PJM's composite).

Days of other than 24 hours (``network.hours``, 2-48). Hour t of simulated day d is clock hour t
from the start of calendar day d, as for the energy prices
(:func:`v2gsim.market.energy_sources.energy_price_table`): a shorter day is the first T hours of
its calendar day, a longer one runs into the next calendar day (which the next simulated day
starts again). :func:`slot_prices` lays a calendar table of regulation prices out that way and
:class:`CalendarSignals` does the same for the AGC signal (calendar days drawn once, in order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import mesa
import numpy as np
import pandas as pd

from v2gsim.market.agc import hourly_mileage
from v2gsim.market.agc.performance import (
    COMPONENTS,
    composite_score,
    forfeit_below,
    per_unit_response,
)
from v2gsim.market.settlement import settle, settlement_mileage
from v2gsim.market.sources import CLOCK_HOURS, DT_S, SignalSource

if TYPE_CHECKING:
    from v2gsim.market.agc import FollowResult

__all__ = ["CLOCK_HOURS", "CalendarSignals", "TSOAgent", "calendar_days", "slot_prices"]



def calendar_days(days: int, hours: int) -> int:
    """Calendar days that ``days`` simulated days of ``hours`` hours touch (module docstring)."""
    return int(days) + (int(hours) - 1) // CLOCK_HOURS


def slot_prices(table: pd.DataFrame, days: int, hours: int) -> pd.DataFrame:
    """The price table of the simulated days from a calendar table (24 rows per calendar day).

    Args:
        table: ``capability_price`` ($/MW-h) and ``performance_price`` ($/ΔMW) of every hour of
            :func:`calendar_days` calendar days, in time order (24 rows each).
        days: simulated days.
        hours: hours T of a simulated day.

    Returns:
        Columns ``day``, ``hour`` (slot t of the simulated day), ``capability_price``,
        ``performance_price``; ``days * hours`` rows, row (d, t) = calendar hour ``24 d + t``.

    Raises:
        ValueError: the table is shorter than the calendar days need.
    """
    need = calendar_days(days, hours) * CLOCK_HOURS
    if len(table) < need:
        raise ValueError(f"the price table has {len(table)} hours, the run needs {need}")
    flat = (np.arange(int(days))[:, None] * CLOCK_HOURS + np.arange(int(hours))[None, :]).ravel()
    return pd.DataFrame({
        "day": np.repeat(np.arange(int(days)), int(hours)),
        "hour": np.tile(np.arange(int(hours)), int(days)),
        "capability_price": table["capability_price"].to_numpy()[flat],
        "performance_price": table["performance_price"].to_numpy()[flat],
    })


class CalendarSignals:
    """The AGC signal of simulated days longer than 24 h, from a source of calendar days.

    Day d is calendar days d, d + 1, ... (module docstring): calendar day k is asked of ``source``
    once, in increasing k (a synthetic source draws its days in that order), and kept while a
    later simulated day still covers it.

    Args:
        source: signal of calendar days, ``day_signal(k) -> (24, 3600/2)``.
        hours: hours T of a simulated day (> 24).
    """

    def __init__(self, source: SignalSource, hours: int):
        self.source = source
        self.hours = int(hours)
        self._days: dict[int, np.ndarray] = {}
        self._next = 0

    def day_signal(self, day: int) -> np.ndarray:
        """The signal of simulated day ``day``, shaped (T, 3600/2).

        Raises:
            ValueError: ``day`` is earlier than a day already asked for (its first calendar day is
                no longer kept).
        """
        last = calendar_days(day + 1, self.hours) - 1
        if day < self._next and day not in self._days:
            raise ValueError(f"day {day} was already passed; days are asked for in order")
        while self._next <= last:
            self._days[self._next] = np.asarray(self.source.day_signal(self._next))
            self._next += 1
        for k in [k for k in self._days if k < day]:
            del self._days[k]
        return np.vstack([self._days[k] for k in range(day, last + 1)])[: self.hours]


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
        score: hourly performance score, ``"mileage_ratio"`` (:class:`FollowResult` ``.score``) or
            ``"pjm_composite"`` (:func:`~v2gsim.market.agc.performance.composite_score`).
        score_threshold: score (-) below which an hour earns no credit (0 = never forfeited).

    Raises:
        ValueError: on an unknown score or a threshold outside [0, 1].
    """

    def __init__(self, model: mesa.Model, signals: SignalSource, prices: pd.DataFrame, hours: int,
                 mileage_basis: Literal["signal", "ratio"] = "signal", rega_mileage: float = 6.58,
                 score: Literal["mileage_ratio", "pjm_composite"] = "mileage_ratio",
                 score_threshold: float = 0.0):
        super().__init__(model)
        if score not in ("mileage_ratio", "pjm_composite"):
            raise ValueError(f"score must be 'mileage_ratio' or 'pjm_composite', got {score!r}")
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must lie in [0, 1], got {score_threshold!r}")
        self.signals = signals
        self.prices = prices
        self.hours = int(hours)
        self.mileage_basis = mileage_basis
        self.rega_mileage = float(rega_mileage)
        self.score = score
        self.score_threshold = float(score_threshold)

    @property
    def score_columns(self) -> tuple[str, ...]:
        """Hourly columns the score adds: the composite's components, none for the mileage ratio."""
        return COMPONENTS if self.score == "pjm_composite" else ()

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
        """Score one hour and compute its credits (PJM-style, see :func:`settle`).

        The score is the mileage ratio or the composite (then with its three components in the
        row); an hour whose score is below ``score_threshold`` is paid at score 0
        (:func:`~v2gsim.market.agc.performance.forfeit_below`).
        """
        cap_p, perf_p = self.day_prices(day)
        mileage = float(hourly_mileage(signal_hour, dt_s=DT_S)[0])
        smil = float(np.asarray(settlement_mileage(
            np.array([mileage]), self.mileage_basis, rega_mileage=self.rega_mileage))[0])
        score, parts = self._score(bid_kw, follow, signal_hour)
        paid = np.array([score])
        if self.score_threshold > 0:
            paid = forfeit_below(paid, self.score_threshold)
        credits = settle(np.array([bid_kw]), paid, np.array([cap_p[hour]]),
                         np.array([perf_p[hour]]), np.array([smil]))
        return {
            "signal_mileage": mileage,
            "settlement_mileage": smil,
            "score": score,
            "capability_price": float(cap_p[hour]),
            "performance_price": float(perf_p[hour]),
            "capability_credit": float(np.asarray(credits.capability_credit)[0]),
            "performance_credit": float(np.asarray(credits.performance_credit)[0]),
            **parts,
        }

    def _score(self, bid_kw: float, follow: FollowResult,
               signal_hour: np.ndarray) -> tuple[float, dict[str, float]]:
        """The hour's score and, for the composite, its components (NaN without a bid)."""
        if self.score == "mileage_ratio":
            return float(follow.score[0]), {}
        response = per_unit_response(follow.delivered_kw, bid_kw)
        cs = composite_score(signal_hour[None, :], response, dt_s=DT_S)
        return float(cs.composite[0]), cs.components(0)

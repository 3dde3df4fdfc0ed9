"""Day-ahead energy prices per time slot (:class:`EnergyPrices`), unit conversion and sell rules.

An :class:`EnergyPrices` holds, for ``D`` days of ``S`` slots each (slots of 15, 30 or 60 min), the
price of energy **bought** from the grid and **sold** to it, and optionally the **upward** and
**downward** balancing prices (seed 004's ``c^+``, ``c^-``, ``c^↑``, ``c^↓``, models.md §5.1 (7),
(9); seed 003's ``R_DA``, ``R_up``, ``R_down``, §4.2 (O)). Prices are per kWh in the series'
``currency`` (an ISO 4217 code kept as data: ``"USD"``, ``"EUR"``); wholesale files quote per MWh and
their readers divide by 1000 explicitly (:func:`per_mwh_to_per_kwh`). A currency changes only through
:meth:`EnergyPrices.converted` with a rate given by the caller: nothing here converts silently.

The readers (:mod:`~v2gsim.market.prices.gme`, :mod:`~v2gsim.market.prices.lmp`,
:mod:`~v2gsim.market.prices.tou`) raise :class:`EnergyPriceFileError` naming the file for anything
they cannot read. Pure numpy/pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from v2gsim.core.datafiles import DataFileError

__all__ = [
    "SLOT_MINUTES",
    "EnergyPriceFileError",
    "EnergyPrices",
    "apply_sell_rule",
    "per_mwh_to_per_kwh",
    "wall_clock_hours",
]

#: Slot lengths an energy price series may have (min).
SLOT_MINUTES = (15, 30, 60)

SellRule = Literal["fraction", "spot"]


class EnergyPriceFileError(DataFileError):
    """An energy price or tariff file cannot be used: ``str(error)`` is ``PATH: reason``
    (:class:`~v2gsim.core.datafiles.DataFileError`, whose attributes ``path`` and ``reason`` it has)."""


def per_mwh_to_per_kwh(price: ArrayLike) -> NDArray[np.float64]:
    """Currency/MWh -> currency/kWh (divide by 1000; the currency is unchanged)."""
    return np.asarray(price, dtype=np.float64) / 1000.0


def _day_array(name: str, value: ArrayLike | None, shape: tuple[int, int] | None,
               allow_nan: bool) -> NDArray[np.float64] | None:
    """``value`` as a read-only (D, S) float array, checked against ``shape`` and for finiteness."""
    if value is None:
        return None
    a = np.array(value, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a (days, slots) array, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, buy has {shape}")
    bad = ~np.isfinite(a) if not allow_nan else np.isinf(a)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} non-finite value(s)")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class EnergyPrices:
    """Energy prices of ``days`` days, one row per day and one column per slot.

    Attributes:
        buy: (D, S) price of energy bought from the grid, ``currency``/kWh.
        sell: (D, S) price of energy sold to the grid, ``currency``/kWh.
        slot_minutes: slot length, 15, 30 or 60 min; ``S = 1440 / slot_minutes``. Slot ``s``
            starts at clock time ``s * slot_minutes`` min of its day (local wall clock).
        currency: ISO 4217 code of every price (``"USD"``, ``"EUR"``).
        up: (D, S) upward balancing price (energy sold to the system operator on an upward request),
            ``currency``/kWh, or None; NaN where there is no price.
        down: (D, S) downward balancing price (energy bought from it on a downward request), or None.
        spot: (D, S) wholesale day-ahead price the series was made from (``currency``/kWh), or None
            for a retail tariff; the ``"spot"`` sell rule sells at it.
        dates: ISO dates (``YYYY-MM-DD``) of the D days, or () when the days are not calendar days.
        source: where the prices come from (file name or generator), for tables and reports.
    """

    buy: NDArray[np.float64]
    sell: NDArray[np.float64]
    slot_minutes: int
    currency: str
    up: NDArray[np.float64] | None = None
    down: NDArray[np.float64] | None = None
    spot: NDArray[np.float64] | None = None
    dates: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if self.slot_minutes not in SLOT_MINUTES:
            raise ValueError(f"slot_minutes must be one of {SLOT_MINUTES}, got {self.slot_minutes!r}")
        buy = _day_array("buy", self.buy, None, allow_nan=False)
        assert buy is not None
        if buy.shape[0] < 1 or buy.shape[1] != 1440 // self.slot_minutes:
            raise ValueError(f"buy has shape {buy.shape}; need (days >= 1, "
                             f"{1440 // self.slot_minutes}) for {self.slot_minutes}-min slots")
        object.__setattr__(self, "buy", buy)
        object.__setattr__(self, "sell", _day_array("sell", self.sell, buy.shape, allow_nan=False))
        for name in ("up", "down"):
            object.__setattr__(self, name, _day_array(name, getattr(self, name), buy.shape, True))
        object.__setattr__(self, "spot", _day_array("spot", self.spot, buy.shape, False))
        if not (isinstance(self.currency, str) and len(self.currency) == 3
                and self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code such as 'USD' or 'EUR', "
                             f"got {self.currency!r}")
        if self.dates and len(self.dates) != buy.shape[0]:
            raise ValueError(f"{len(self.dates)} dates for {buy.shape[0]} days")
        object.__setattr__(self, "dates", tuple(self.dates))

    # ------------------------------------------------------------------ shape
    @property
    def days(self) -> int:
        """Number of days D."""
        return int(self.buy.shape[0])

    @property
    def slots_per_day(self) -> int:
        """Slots per day S."""
        return int(self.buy.shape[1])

    def _arrays(self) -> dict[str, NDArray[np.float64] | None]:
        return {k: getattr(self, k) for k in ("buy", "sell", "up", "down", "spot")}

    # ------------------------------------------------------------------ transformations
    def to_slots(self, slot_minutes: int) -> EnergyPrices:
        """The same prices on slots of ``slot_minutes``.

        Finer slots repeat each price; coarser slots take the mean of the slots they cover, which is
        the exact price per kWh of energy spread evenly over the coarse slot.
        """
        if slot_minutes not in SLOT_MINUTES:
            raise ValueError(f"slot_minutes must be one of {SLOT_MINUTES}, got {slot_minutes!r}")
        if slot_minutes == self.slot_minutes:
            return self
        out: dict[str, NDArray[np.float64] | None] = {}
        for k, a in self._arrays().items():
            if a is None:
                out[k] = None
            elif slot_minutes < self.slot_minutes:
                out[k] = np.repeat(a, self.slot_minutes // slot_minutes, axis=1)
            else:
                k_ = slot_minutes // self.slot_minutes
                out[k] = a.reshape(a.shape[0], -1, k_).mean(axis=2)
        return replace(self, slot_minutes=slot_minutes, **out)

    def hourly(self) -> EnergyPrices:
        """The series on 60-min slots (:meth:`to_slots`)."""
        return self.to_slots(60)

    def cycled(self, days: int, start: int = 0) -> EnergyPrices:
        """``days`` days replayed from day ``start``, wrapping around to day 0 after the last."""
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        idx = (int(start) + np.arange(int(days))) % self.days
        out = {k: (None if a is None else a[idx]) for k, a in self._arrays().items()}
        dates = tuple(self.dates[i] for i in idx) if self.dates else ()
        return replace(self, dates=dates, **out)

    def converted(self, rate: float, currency: str) -> EnergyPrices:
        """Every price times ``rate`` (units of ``currency`` per unit of this series' currency).

        The only way a series changes currency; e.g. ``prices.converted(1.10, "USD")`` for EUR
        prices at 1.10 USD/EUR.
        """
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"exchange rate must be positive and finite, got {rate!r}")
        if currency == self.currency and rate != 1.0:
            raise ValueError(f"prices are already in {currency}; a rate of {rate} would rescale them")
        out = {k: (None if a is None else a * rate) for k, a in self._arrays().items()}
        return replace(self, currency=currency, **out)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per day and slot.

        Columns ``day`` (0-based), ``date`` (ISO, or empty), ``slot``, ``start_h`` (slot start, h),
        ``buy_price``, ``sell_price`` and, when present, ``up_price``, ``down_price``,
        ``spot_price`` (all ``currency``/kWh), ``currency``.
        """
        d, s = self.days, self.slots_per_day
        frame: dict[str, object] = {
            "day": np.repeat(np.arange(d), s),
            "date": np.repeat(np.array(self.dates if self.dates else [""] * d, dtype=object), s),
            "slot": np.tile(np.arange(s), d),
            "start_h": np.tile(np.arange(s) * self.slot_minutes / 60.0, d),
        }
        for k, a in self._arrays().items():
            if a is not None:
                frame[f"{k}_price"] = a.ravel()
        frame["currency"] = self.currency
        return pd.DataFrame(frame)


def apply_sell_rule(prices: EnergyPrices, rule: SellRule, fraction: float = 1.0) -> EnergyPrices:
    """Set the sell price by a rule.

    * ``"fraction"``: ``sell = fraction * buy`` (``fraction = 1`` is net metering at the buy
      price; ``0`` gives exports away).
    * ``"spot"``: ``sell = spot``, the wholesale day-ahead price (the PUN, the LMP, or the
      synthetic spot), e.g. a site that buys at spot plus a network adder and sells at spot.

    Raises:
        ValueError: unknown rule, a negative or non-finite fraction, or ``"spot"`` for a series
            without a spot price (a retail tariff).
    """
    if rule == "fraction":
        if not (math.isfinite(fraction) and fraction >= 0):
            raise ValueError(f"sell fraction must be finite and >= 0, got {fraction!r}")
        return replace(prices, sell=prices.buy * float(fraction))
    if rule == "spot":
        if prices.spot is None:
            raise ValueError(f"sell rule 'spot' needs a wholesale price; {prices.source or 'this'} "
                             "series (a retail tariff) has none: use sell rule 'fraction'")
        return replace(prices, sell=prices.spot)
    raise ValueError(f"unknown sell rule {rule!r}; allowed: 'fraction', 'spot'")


def wall_clock_hours(dates: pd.Series, hours: pd.Series, values: pd.DataFrame, path: str | Path
                     ) -> tuple[tuple[str, ...], dict[str, NDArray[np.float64]]]:
    """Arrange hourly values as 24 local wall-clock hours per day.

    ``hours`` gives each row's wall-clock start hour (0-23) on its ``dates`` day. On the autumn
    daylight-saving day one wall-clock hour appears twice: its value is the mean of the two (the
    price per kWh of energy spread evenly over the two hours). On the spring day one is missing:
    it gets the mean of the hours before and after it. Any other gap or repetition is an error.

    Args:
        dates: ISO date of each row.
        hours: wall-clock start hour of each row (0-23).
        values: the value columns, one row per input row.
        path: the file the rows come from (for messages).

    Returns:
        The sorted ISO dates and, per value column, a (days, 24) array.

    Raises:
        EnergyPriceFileError: a day with more than one missing or repeated hour.
    """
    frame = values.assign(_date=dates.to_numpy(), _hour=hours.to_numpy())
    counts = frame.groupby(["_date", "_hour"]).size()
    missing: dict[str, int] = {}
    for day, c in counts.groupby(level=0):
        hrs = c.index.get_level_values(1)
        ok_24 = len(c) == 24 and (c.max() == 1 or (c.sum() == 25 and c.max() == 2))
        gap = sorted(set(range(24)) - set(hrs))
        ok_23 = len(c) == 23 and c.max() == 1 and 0 < gap[0] < 23
        if not (ok_24 or ok_23):
            raise EnergyPriceFileError(path, f"day {day} does not have 24 wall-clock hours (23 or "
                                       "25 on a daylight-saving day are accepted): missing or "
                                       "repeated hours")
        if ok_23:
            missing[day] = gap[0]
    mean = frame.groupby(["_date", "_hour"]).mean()
    out_dates = tuple(sorted(frame["_date"].unique()))
    full = mean.reindex(pd.MultiIndex.from_product([out_dates, range(24)]))
    arrays = {}
    for col in values.columns:
        a = full[col].to_numpy(dtype=np.float64, copy=True).reshape(len(out_dates), 24)
        for day, h in missing.items():
            i = out_dates.index(day)
            a[i, h] = 0.5 * (a[i, h - 1] + a[i, h + 1])
        arrays[col] = a
    return out_dates, arrays

"""Where the market's exogenous series come from: AGC signals day by day, regulation prices, history.

A :class:`MarketSpec` (plain data; :func:`v2gsim.specs.build.market_spec` makes one from a scenario)
names the sources; the functions here turn it into what the TSO agent and the policies consume:

* :class:`SignalSource` - anything with ``day_signal(day) -> (T, 3600/dt)`` array (per-unit AGC at
  2-s resolution, hour by hour). :class:`FileSignals` replays PJM RegD files cycled day by day,
  :class:`SyntheticSignals` draws one RegD-like day at a time from its generator. A model accepts
  any object with that method (``V2GMarketModel(..., signals=...)``), e.g. a study's own signals.
* :func:`regulation_price_table` - capability ($/MW-h) and performance ($/ΔMW) prices for every
  simulated hour: a PJM file replayed (cycled when shorter than the run) or synthetic prices.
* :func:`agc_history` - the AGC days the platform knows before the run (PJM files, or synthetic
  days from the history stream of :func:`v2gsim.core.rng.history_rng`): the requirement statistics and
  net-discharge statistics of the policies are estimated on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from v2gsim.core.datafiles import DataFileError
from v2gsim.market.agc import read_pjm_regd, synthetic_regd
from v2gsim.market.agc.mileage import SECONDS_PER_DAY, hour_rows, samples_per, samples_per_hour
from v2gsim.market.energy_sources import EnergySpec
from v2gsim.market.prices import read_pjm_regulation_prices, synthetic_regulation_prices

__all__ = [
    "CLOCK_HOURS",
    "DT_S",
    "DataFileError",
    "FileSignals",
    "MarketSpec",
    "SignalSource",
    "SyntheticSignals",
    "agc_history",
    "read_data_file",
    "regulation_price_table",
    "signal_source",
]

CLOCK_HOURS = 24
"""Hours of a calendar day (h): the sources serve calendar days of this many hours."""

DT_S = 2.0
"""Resolution of the AGC signals the model runs on (s)."""

_T = TypeVar("_T")


def read_data_file(path: Path | str, reader: Callable[[Path], _T]) -> _T:
    """``reader(path)``, with every way a file can be unreadable turned into one :class:`DataFileError`.

    :class:`DataFileError` (:mod:`v2gsim.core.datafiles`, re-exported here) is the one error of a
    data file: the package's readers open files through that module and raise it (or a subclass)
    themselves; this wrapper turns what any other ``reader`` raises into one. OS errors (missing
    file, a directory, permissions), decoding errors and the reader's ``ValueError`` (pandas'
    ``ParserError`` and ``EmptyDataError`` are ValueErrors) become a :class:`DataFileError` whose
    reason is the original message without a repeated path prefix.
    """
    path = Path(path)
    try:
        return reader(path)
    except DataFileError:
        raise
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, IsADirectoryError) or path.is_dir():
            reason = "is a directory, not a file"
    except ValueError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
    for prefix in (f"{path}: ", f"{path.resolve()}: "):
        reason = reason.removeprefix(prefix)
    raise DataFileError(path, reason) from None


@dataclass(frozen=True)
class MarketSpec:
    """The market of a run (plain data).

    Attributes:
        agc: ``"synthetic"`` (RegD-like generator) or ``"pjm_regd"`` (files ``agc_paths``).
        agc_paths: PJM 2-s RegD CSV files, cycled day by day.
        mean_hourly_mileage: synthetic AGC: mean hourly mileage (ΔMW/MW).
        prices: ``"synthetic"`` or ``"pjm"`` (file ``price_path``).
        price_path: PJM regulation-market CSV, or None.
        capability_price: synthetic mean capability price RMCCP ($/MW-h).
        performance_price: synthetic mean performance price RMPCP ($/ΔMW).
        mileage_basis: settlement mileage: ``"signal"`` or ``"ratio"`` (RegD/RegA).
        rega_mileage: RegA benchmark hourly mileage of the ratio basis (ΔMW/MW).
        score: hourly performance score: ``"mileage_ratio"`` (fulfilled / requested mileage) or
            ``"pjm_composite"`` (:mod:`v2gsim.market.agc.performance`).
        score_threshold: score (-, 0-1) below which an hour's credits are forfeited (0 = never).
        energy: the energy prices and settlement (:mod:`v2gsim.market.energy_sources`), or None
            when the grid energy is not priced.
    """

    agc: Literal["synthetic", "pjm_regd"] = "synthetic"
    agc_paths: tuple[Path, ...] = ()
    mean_hourly_mileage: float = 25.0
    prices: Literal["synthetic", "pjm"] = "synthetic"
    price_path: Path | None = None
    capability_price: float = 13.94
    performance_price: float = 1.56
    mileage_basis: Literal["signal", "ratio"] = "signal"
    rega_mileage: float = 6.58
    score: Literal["mileage_ratio", "pjm_composite"] = "mileage_ratio"
    score_threshold: float = 0.0
    energy: EnergySpec | None = None


class SignalSource(Protocol):
    """A day-by-day AGC signal (per-unit, 2-s samples)."""

    def day_signal(self, day: int) -> NDArray[np.float64]:
        """The signal of ``day`` shaped (T, 3600/2)."""
        ...


def _per_hour(sig: NDArray[np.float64], hours: int, day: int) -> NDArray[np.float64]:
    """The first ``hours`` hours of a day's signal, one row per hour."""
    per_hour = samples_per_hour(DT_S)
    need = hours * per_hour
    if sig.size < need:
        raise ValueError(f"AGC signal of day {day} has {sig.size} samples, need {need}")
    return hour_rows(sig[:need], per_hour)


@dataclass
class FileSignals:
    """PJM RegD files replayed day by day (day d uses file d mod n); each file is read once.

    Attributes:
        paths: the CSV files.
        hours: hours T of a simulated day.
    """

    paths: tuple[Path, ...]
    hours: int

    def __post_init__(self) -> None:
        if not self.paths:
            raise ValueError("FileSignals needs at least one RegD file")
        self._cache: dict[int, NDArray[np.float64]] = {}

    def day_signal(self, day: int) -> NDArray[np.float64]:
        """The signal of ``day`` shaped (T, 1800)."""
        k = day % len(self.paths)
        if k not in self._cache:
            self._cache[k] = read_data_file(self.paths[k], read_pjm_regd)
        need = self.hours * samples_per_hour(DT_S)
        if self._cache[k].size < need:
            raise DataFileError(self.paths[k], f"holds {self._cache[k].size} samples; a simulated "
                                f"day needs {need} ({self.hours} h of 2-s samples)")
        return _per_hour(self._cache[k], self.hours, day)


@dataclass
class SyntheticSignals:
    """One synthetic RegD-like day per call (:func:`v2gsim.market.agc.synthetic_regd`).

    Days are drawn in the order they are asked for, from one generator.

    Attributes:
        rng: the generator (the run's ``agc`` stream).
        mean_hourly_mileage: mean hourly mileage (ΔMW/MW).
        hours: hours T of a simulated day.
    """

    rng: np.random.Generator
    mean_hourly_mileage: float
    hours: int

    def day_signal(self, day: int) -> NDArray[np.float64]:
        """The next synthetic day shaped (T, 1800)."""
        sig = synthetic_regd(self.rng, days=1, dt_s=DT_S, mean_hourly_mileage=self.mean_hourly_mileage)
        return _per_hour(sig, self.hours, day)


def signal_source(spec: MarketSpec, rng: np.random.Generator, hours: int) -> SignalSource:
    """The signal source ``spec`` names (files, or synthetic days drawn from ``rng``)."""
    if spec.agc == "pjm_regd":
        return FileSignals(tuple(spec.agc_paths), hours)
    return SyntheticSignals(rng, spec.mean_hourly_mileage, hours)


def regulation_price_table(spec: MarketSpec, rng: np.random.Generator, days: int,
                           hours: int) -> pd.DataFrame:
    """Hourly regulation prices for every simulated day.

    Args:
        spec: the market.
        rng: generator of synthetic prices (the run's ``prices`` stream; unused for a PJM file).
        days: simulated days.
        hours: hours per day T.

    Returns:
        Columns ``day``, ``hour``, ``capability_price`` ($/MW-h), ``performance_price`` ($/ΔMW),
        ``days * hours`` rows. A PJM file is replayed from its first complete hour and cycled.

    Raises:
        DataFileError: the file cannot be read, or holds fewer than ``hours`` hourly prices.
    """
    if spec.prices == "pjm":
        raw = read_data_file(spec.price_path, read_pjm_regulation_prices)
        raw = raw.dropna(subset=["capability_price", "performance_price"])
        n = len(raw) // hours * hours
        if n == 0:
            raise DataFileError(spec.price_path, f"holds {len(raw)} hour(s) with both a capability "
                                f"and a performance price; {hours}-hour days need at least "
                                f"{hours} (a reg_market_results file needs the "
                                "reg_zone_prelim_bill file of its prices beside it)")
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
        rng, days, mean_capability=spec.capability_price, mean_performance=spec.performance_price,
    )
    return table[["day", "hour", "capability_price", "performance_price"]].reset_index(drop=True)


def agc_history(spec: MarketSpec, rng: np.random.Generator, days: int) -> list[NDArray[np.float64]]:
    """The AGC days known before the run, one 2-s array per day.

    Args:
        spec: the market: with ``agc = "pjm_regd"`` every file of ``agc_paths`` (in-sample: the
            days the TSO replays), else ``days`` synthetic days.
        rng: generator of the synthetic days (:func:`v2gsim.core.rng.history_rng`).
        days: number of synthetic days.

    Returns:
        One array per day (per-unit signal at 2-s resolution).
    """
    if spec.agc == "pjm_regd":
        return [read_data_file(p, read_pjm_regd) for p in spec.agc_paths]
    sig = synthetic_regd(rng, days=int(days), dt_s=DT_S, mean_hourly_mileage=spec.mean_hourly_mileage)
    per_day = samples_per(SECONDS_PER_DAY, DT_S, "one day")
    return [sig[i * per_day : (i + 1) * per_day] for i in range(int(days))]

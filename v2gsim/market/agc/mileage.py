"""Clock hours of a sampled signal and its mileage.

*Mileage* is PJM's measure of how much a signal moves: the sum of absolute changes between
consecutive samples, ``sum |s[k] - s[k-1]|``, in per-unit of the assigned regulation capacity (ΔMW
per MW). It is counted per clock hour over the consecutive samples that both lie in that hour (1799
differences per hour at 2 s), which is how the hourly values in ``pjm_regd_2s_2020-07/SOURCE.md``
were computed.

This module owns the per-hour arithmetic every other market module uses: how many samples of
``dt_s`` make an hour, the reshaping of a 1-D signal of whole hours into one row per hour, and the
within-hour mileage of those rows. Pure numpy, vectorized over samples.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SECONDS_PER_DAY",
    "SECONDS_PER_HOUR",
    "abs_steps",
    "hour_rows",
    "hourly_mileage",
    "mean_mileage_per_hour",
    "row_mileage",
    "samples_per",
    "samples_per_hour",
]

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


def samples_per(period_s: float, dt_s: float, what: str) -> int:
    """Return ``period_s / dt_s`` as an int, or raise ``ValueError`` if it is not a whole number."""
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a positive finite number of seconds, got {dt_s!r}")
    ratio = period_s / dt_s
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise ValueError(f"{what} ({period_s} s) is not a whole number of samples of dt_s={dt_s} s")
    return int(n)


def samples_per_hour(dt_s: float) -> int:
    """Samples of ``dt_s`` seconds in one clock hour (1800 at 2 s); ``ValueError`` if not whole."""
    return samples_per(SECONDS_PER_HOUR, dt_s, "one hour")


def hour_rows(signal: NDArray[np.float64], per_hour: int) -> NDArray[np.float64]:
    """Reshape a 1-D signal of whole hours to ``(H, per_hour)``, one clock hour per row.

    Raises:
        ValueError: If the signal is empty or its length is not a multiple of ``per_hour``.
    """
    if signal.size == 0 or signal.size % per_hour:
        raise ValueError(
            f"signal length {signal.size} is not a whole number of hours "
            f"({per_hour} samples per hour)"
        )
    return signal.reshape(-1, per_hour)


def abs_steps(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """``|x[:, k] - x[:, k-1]|`` within each row, shape ``(H, n - 1)``."""
    return np.abs(np.diff(rows, axis=1))


def row_mileage(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mileage ``Σ_k |x[:, k] - x[:, k-1]|`` of each row (one hour per row), shape ``(H,)``."""
    return abs_steps(rows).sum(axis=1)


def mean_mileage_per_hour(signal: NDArray[np.float64], per_hour: int) -> float:
    """Mean over hours of the within-hour mileage of a 1-D signal whose length is whole hours."""
    return float(row_mileage(signal.reshape(-1, per_hour)).mean())


def hourly_mileage(signal: ArrayLike, dt_s: float = 2.0) -> NDArray[np.float64]:
    """Mileage of a signal per clock hour.

    For each hour, ``Σ |s[k] - s[k-1]|`` over consecutive samples that both lie in that hour
    (``3600/dt_s - 1`` differences; the step across an hour boundary counts in neither hour).

    Args:
        signal: 1-D signal starting at the top of an hour, whose length is a whole number of hours.
            Per-unit for a normalized AGC signal (result in ΔMW/MW), or kW for a power series
            (result in kW of movement).
        dt_s: Sample period in seconds.

    Returns:
        Array of shape ``(n_hours,)`` with the mileage of each hour, in the unit of ``signal``.

    Raises:
        ValueError: If ``signal`` is not 1-D or its length is not a whole number of hours.
    """
    s = np.asarray(signal, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"signal must be 1-D, got shape {s.shape}")
    return row_mileage(hour_rows(s, samples_per_hour(dt_s)))

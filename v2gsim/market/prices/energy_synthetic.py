"""Synthetic day-ahead energy prices (:func:`synthetic_energy_prices`), calibrated to PJM 2016.

Hour-of-day shape times log-normal noise with a day-to-day and a within-day component; defaults
are the PJM-RTO 2016 day-ahead LMP statistics :data:`~v2gsim.market.prices.lmp.PJM2016_DA_LMP`
(mean 30.007 $/MWh, std 11.578 $/MWh, evening peak at 17 h EPT 1.34 x the daily mean, night low at
3 h 0.65 x). Pure numpy/scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from v2gsim.market.prices.energy import SLOT_MINUTES, EnergyPrices
from v2gsim.market.prices.lmp import PJM2016_DA_LMP

__all__ = ["PJM2016_MEAN_PER_KWH", "log_sigma", "synthetic_energy_prices"]

#: Mean PJM-RTO 2016 day-ahead LMP in $/kWh (30.007 $/MWh).
PJM2016_MEAN_PER_KWH = PJM2016_DA_LMP.mean / 1000.0


def log_sigma(cv: float, shape: NDArray[np.float64]) -> float:
    """σ of the total log-noise that gives the coefficient of variation ``cv`` with ``shape``.

    Model ``p = m · shape_h · exp(σZ - σ²/2)``, ``Z ~ N(0, 1)``, ``mean_h shape_h = 1``:
    ``E[p] = m`` and ``E[p²] = m² · mean_h(shape_h²) · exp(σ²)``, so
    ``exp(σ²) = (1 + cv²) / mean_h(shape_h²)``.

    Raises:
        ValueError: ``cv`` is smaller than the shape alone gives.
    """
    ratio = (1.0 + cv**2) / float(np.mean(shape**2))
    if ratio < 1.0:
        raise ValueError(f"coefficient of variation {cv:.4f} is smaller than the hour shape alone "
                         f"gives ({math.sqrt(float(np.mean(shape**2)) - 1.0):.4f})")
    return math.sqrt(math.log(ratio))


def _ar1(rng: np.random.Generator, n: int, rho: float) -> NDArray[np.float64]:
    """A stationary AR(1) series with N(0, 1) marginals and lag-1 correlation ``rho``."""
    z = rng.standard_normal(n)
    if rho > 0 and n > 1:
        z[1:] *= math.sqrt(1.0 - rho**2)
        z = lfilter([1.0], [1.0, -rho], z)
    return z


_HOURS = np.arange(24, dtype=np.float64)
_DEMEAN = np.eye(24) - 1.0 / 24.0


def _within_day_correlation(length_h: float) -> NDArray[np.float64]:
    """Correlation matrix of the within-day deviation: a squared-exponential kernel of length
    ``length_h`` (h) with its daily mean removed, rescaled to unit variance in every hour."""
    k = np.exp(-((_HOURS[:, None] - _HOURS[None, :]) ** 2) / (2.0 * length_h**2))
    e = _DEMEAN @ k @ _DEMEAN
    d = np.sqrt(np.diag(e))
    return e / np.outer(d, d)


def _estimated_hour_lag1(c: NDArray[np.float64]) -> float:
    """What :func:`~v2gsim.market.prices.lmp.energy_price_statistics` estimates as the hour
    autocorrelation for a within-day correlation ``c`` (residuals demeaned per day, pooled pairs of
    consecutive hours of a day)."""
    e = _DEMEAN @ c @ _DEMEAN
    d = np.diag(e)
    return float(np.diag(e, 1).mean() / math.sqrt(d[:-1].mean() * d[1:].mean()))


@lru_cache(maxsize=16)
def _model_parameters(share: float, day_ac: float, hour_ac: float
                      ) -> tuple[float, float, NDArray[np.float64]]:
    """Model parameters that reproduce the estimated statistics (method of moments).

    With ``log p = ... + σ_D D_d + σ_H G_{d,h}`` (``G_d ~ N(0, C)``, independent across days):
    the estimated day effect is ``b_d = σ_D D_d + σ_H mean_h G_{d,h}``, so with ``c̄ = mean(C)``
    the day share is ``s_D + (1 - s_D) c̄`` (``s_D = σ_D²/σ²``), the day autocorrelation
    ``s_D ρ_D / share`` and the hour autocorrelation a function of the kernel length alone
    (:func:`_estimated_hour_lag1`, solved by bisection).

    Returns:
        ``s_D``, ``ρ_D`` and a (24, 24) factor ``L`` with ``L Lᵀ = C``.

    Raises:
        ValueError: statistics the model cannot reproduce.
    """
    lo, hi = 0.05, 24.0
    if not _estimated_hour_lag1(_within_day_correlation(lo)) <= hour_ac \
            <= _estimated_hour_lag1(_within_day_correlation(hi)):
        raise ValueError(f"hour_autocorrelation {hour_ac} is outside what the model reproduces")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _estimated_hour_lag1(_within_day_correlation(mid)) < hour_ac \
            else (lo, mid)
    c = _within_day_correlation(0.5 * (lo + hi))
    cbar = float(c.mean())
    s_d = (share - cbar) / (1.0 - cbar)
    if s_d < 0:
        raise ValueError(f"day_log_share {share} is below what the within-day noise alone gives "
                         f"({cbar:.4f})")
    rho_d = day_ac * share / s_d if s_d > 0 else 0.0
    if not 0.0 <= rho_d < 1.0:
        raise ValueError(f"day_autocorrelation {day_ac} with day_log_share {share} needs a day "
                         f"component correlation {rho_d:.3f} outside [0, 1)")
    w, v = np.linalg.eigh(c)
    factor = v * np.sqrt(np.clip(w, 0.0, None))
    factor.setflags(write=False)
    return s_d, rho_d, factor


def _check(mean: float, std: float, shape: NDArray[np.float64], share: float,
           correlations: dict[str, float]) -> None:
    if not (math.isfinite(mean) and math.isfinite(std) and mean > 0 and std > 0):
        raise ValueError(f"mean and std must be positive and finite, got {mean!r}, {std!r}")
    if shape.shape != (24,) or not np.all(np.isfinite(shape)) or (shape <= 0).any():
        raise ValueError("hour_shape must be 24 positive finite numbers")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"day_log_share must lie in [0, 1], got {share!r}")
    for name, v in correlations.items():
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {v!r}")


def synthetic_energy_prices(
    rng: np.random.Generator,
    days: int,
    *,
    slot_minutes: int = 60,
    mean: float = PJM2016_MEAN_PER_KWH,
    std: float | None = None,
    hour_shape: Sequence[float] = PJM2016_DA_LMP.hour_shape,
    day_log_share: float = PJM2016_DA_LMP.day_log_share,
    day_autocorrelation: float = PJM2016_DA_LMP.day_autocorrelation,
    hour_autocorrelation: float = PJM2016_DA_LMP.hour_autocorrelation,
    currency: str = "USD",
) -> EnergyPrices:
    """Synthetic day-ahead energy prices: hour-of-day shape times day and within-day log-normal noise.

    ``p[d, h] = mean · shape_h · exp(σ_D D_d + σ_H G_{d,h} - σ²/2)``: ``shape`` rescaled to
    average 1; ``D`` a stationary N(0, 1) AR(1) over days (the day's level); ``G_d ~ N(0, C)``
    independent across days (the day's deviation from the hour shape: a smooth squared-exponential
    kernel with its daily mean removed, unit variance in every hour). ``σ² = σ_D² + σ_H²`` from
    :func:`log_sigma`, so the population mean and standard deviation are ``mean`` and ``std``.
    ``σ_D² / σ²``, the AR(1) coefficient and the kernel length are solved (method of moments,
    :func:`_model_parameters`) so that :func:`~v2gsim.market.prices.lmp.energy_price_statistics`
    of a long draw returns ``day_log_share``, ``day_autocorrelation`` and
    ``hour_autocorrelation``. Prices are positive (PJM-RTO 2016 had no negative day-ahead LMP;
    minimum 3.43 $/MWh). Slots shorter than an hour repeat the hour's price (the calibration
    market clears hourly). buy = sell = spot = ``p``; apply a sell rule with
    :func:`~v2gsim.market.prices.energy.apply_sell_rule`.

    Defaults: PJM-RTO 2016 day-ahead LMPs (:data:`~v2gsim.market.prices.lmp.PJM2016_DA_LMP`):
    mean 0.030007 $/kWh, std = the 2016 coefficient of variation 0.3858 times ``mean``, the 2016
    EPT hour shape, day share 0.49 of the log variance, day autocorrelation 0.71, hour
    autocorrelation 0.87.

    Args:
        rng: source of all randomness (the run's ``energy_prices`` stream).
        days: number of days (>= 1).
        slot_minutes: 15, 30 or 60.
        mean: population mean price, ``currency``/kWh.
        std: population standard deviation, ``currency``/kWh; None keeps the 2016 coefficient of
            variation (``std = 0.3858 · mean``).
        hour_shape: 24 positive hour-of-day factors (wall-clock hour 0..23).
        day_log_share: estimated share of the day-to-day component in the log variance, [0, 1].
        day_autocorrelation: estimated lag-1 correlation of the day effects, in [0, 1).
        hour_autocorrelation: estimated lag-1 correlation of the within-day residuals, in [0, 1).
        currency: ISO 4217 code of ``mean`` and ``std``.

    Returns:
        The prices, ``days`` days (no calendar dates).

    Raises:
        ValueError: on invalid arguments or statistics the model cannot reproduce.
    """
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    if slot_minutes not in SLOT_MINUTES:
        raise ValueError(f"slot_minutes must be one of {SLOT_MINUTES}, got {slot_minutes!r}")
    cv = PJM2016_DA_LMP.std / PJM2016_DA_LMP.mean
    std = cv * mean if std is None else std
    shape = np.asarray(hour_shape, dtype=np.float64)
    _check(mean, std, shape, day_log_share, {"day_autocorrelation": day_autocorrelation,
                                             "hour_autocorrelation": hour_autocorrelation})
    shape = shape / shape.mean()
    sigma = log_sigma(std / mean, shape)
    s_d, rho_d, factor = _model_parameters(float(day_log_share), float(day_autocorrelation),
                                           float(hour_autocorrelation))
    sd, sh = sigma * math.sqrt(s_d), sigma * math.sqrt(1.0 - s_d)
    n = int(days)
    d = _ar1(rng, n, rho_d)
    g = rng.standard_normal((n, 24)) @ factor.T
    p = mean * shape[None, :] * np.exp(sd * d[:, None] + sh * g - 0.5 * sigma**2)
    prices = EnergyPrices(buy=p, sell=p, spot=p, slot_minutes=60, currency=currency,
                          source="synthetic (PJM-RTO 2016 day-ahead LMP calibration)")
    return prices.to_slots(slot_minutes)

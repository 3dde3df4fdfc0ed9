"""Synthetic hourly regulation prices (:func:`synthetic_regulation_prices`), calibrated to PJM 2016.

Hour-of-day shape times zero-inflated lognormal noise (optionally AR(1) across hours); units $/MW-h
(capability) and $/ΔMW (performance). Pure numpy/scipy/pandas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import lfilter

from v2gsim.market.prices.profiles import PJM2016_CAPABILITY, PJM2016_PERFORMANCE

__all__ = ["synthetic_regulation_prices"]


def _lognormal_sigma(
    mean: float, std: float, zero_fraction: float, shape: NDArray[np.float64]
) -> float:
    """σ of the log-noise such that the zero-inflated shaped lognormal model has the given std.

    Model: ``p = mean · shape_h · B · exp(σZ - σ²/2) / (1 - π)`` with ``B ~ Bernoulli(1 - π)`` and
    ``Z ~ N(0, 1)``. Then ``E[p] = mean`` (the shape averages to 1 over the hours) and
    ``E[p²] = mean² · mean_h(shape_h²) · exp(σ²) / (1 - π)``, so
    ``exp(σ²) = (1 + cv²)(1 - π) / mean_h(shape_h²)`` with ``cv = std / mean``.
    """
    cv = std / mean
    ratio = (1.0 + cv**2) * (1.0 - zero_fraction) / float(np.mean(shape**2))
    if ratio < 1.0:
        raise ValueError(
            f"std={std} is too small for mean={mean}, zero_fraction={zero_fraction} and the hour "
            f"shape: the shape and the zeros alone give a larger standard deviation"
        )
    return math.sqrt(math.log(ratio))


def _unit_noise(
    rng: np.random.Generator, n: int, sigma: float, zero_fraction: float, rho: float
) -> NDArray[np.float64]:
    """``B · exp(σZ - σ²/2) / (1 - π)`` with mean 1; ``Z`` a stationary AR(1) N(0,1) series."""
    z = rng.standard_normal(n)
    if rho > 0:
        # z_t = ρ z_{t-1} + √(1-ρ²) ε_t with z_0 = ε_0 ~ N(0,1): stationary N(0,1) marginals.
        z[1:] *= math.sqrt(1.0 - rho**2)
        z = lfilter([1.0], [1.0, -rho], z)
    noise = np.exp(sigma * z - 0.5 * sigma**2)
    if zero_fraction > 0:
        noise *= (rng.random(n) >= zero_fraction) / (1.0 - zero_fraction)
    return noise


def _match_moments(
    base: NDArray[np.float64], noise_z: NDArray[np.float64], mean: float, std: float
) -> NDArray[np.float64]:
    """Rescale so that the sample mean and std are exactly ``mean`` and ``std``.

    ``p = c · base · noise^k``: the sample coefficient of variation grows with the exponent ``k``,
    so ``k`` is found by bisection on ``log`` scale and ``c`` then fixes the mean.
    """
    target_cv = std / mean
    positive = noise_z > 0
    log_noise = np.zeros_like(noise_z)
    log_noise[positive] = np.log(noise_z[positive])

    def cv(k: float) -> float:
        p = base * np.where(positive, np.exp(k * log_noise), 0.0)
        return float(p.std(ddof=1) / p.mean())

    lo, hi = 0.0, 1.0
    while cv(hi) < target_cv:
        hi *= 2.0
        if hi > 64:
            raise ValueError("cannot match the requested standard deviation")
    if cv(lo) > target_cv:
        raise ValueError("cannot match the requested standard deviation (shape alone too large)")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cv(mid) < target_cv else (lo, mid)
    k = 0.5 * (lo + hi)
    p = base * np.where(positive, np.exp(k * log_noise), 0.0)
    return p * (mean / p.mean())


def _hour_shape(
    name: str, mean: float, std: float, zero_fraction: float, shape_in: Sequence[float]
) -> NDArray[np.float64]:
    """Validate one price's parameters; return its 24 hour-of-day factors rescaled to mean 1."""
    shape = np.asarray(shape_in, dtype=np.float64)
    if shape.shape != (24,) or not np.all(np.isfinite(shape)) or (shape < 0).any():
        raise ValueError(f"{name}: the hour shape must be 24 non-negative finite numbers")
    if shape.mean() <= 0:
        raise ValueError(f"{name}: the hour shape must not be all zero")
    if not (mean > 0 and std > 0 and math.isfinite(mean) and math.isfinite(std)):
        raise ValueError(f"{name}: mean and std must be positive, got {mean}, {std}")
    if not 0.0 <= zero_fraction < 1.0:
        raise ValueError(f"{name}: zero fraction must lie in [0, 1), got {zero_fraction}")
    return shape / shape.mean()


def _price_series(
    rng: np.random.Generator,
    name: str,
    mean: float,
    std: float,
    zero_fraction: float,
    shape_in: Sequence[float],
    days: int,
    rho: float,
    match_moments: bool,
) -> NDArray[np.float64]:
    """``days * 24`` hourly prices ``mean · shape_h · noise`` of one kind (see the public function).

    Draws the noise of :func:`_unit_noise` from ``rng``; with ``match_moments`` the realized sample
    is rescaled by :func:`_match_moments`.
    """
    shape = _hour_shape(name, mean, std, zero_fraction, shape_in)
    sigma = _lognormal_sigma(mean, std, zero_fraction, shape)
    noise = _unit_noise(rng, days * 24, sigma, zero_fraction, rho)
    base = mean * np.tile(shape, days)
    return _match_moments(base, noise, mean, std) if match_moments else base * noise


def synthetic_regulation_prices(
    rng: np.random.Generator,
    days: int,
    *,
    mean_capability: float = 13.94,
    mean_performance: float = 1.56,
    std_capability: float = PJM2016_CAPABILITY.std,
    std_performance: float = PJM2016_PERFORMANCE.std,
    zero_fraction_capability: float = PJM2016_CAPABILITY.zero_fraction,
    zero_fraction_performance: float = PJM2016_PERFORMANCE.zero_fraction,
    capability_shape: Sequence[float] = PJM2016_CAPABILITY.hour_shape,
    performance_shape: Sequence[float] = PJM2016_PERFORMANCE.hour_shape,
    log_autocorrelation: float = 0.5,
    match_moments: bool = False,
) -> pd.DataFrame:
    """Hourly synthetic regulation prices: hour-of-day shape times zero-inflated lognormal noise.

    For each price, ``p[d, h] = mean · shape_h · B · exp(σZ - σ²/2) / (1 - π)``: ``shape_h`` is the
    hour-of-day profile (normalized to average 1), ``B ~ Bernoulli(1 - π)`` puts a fraction ``π`` of
    hours at exactly 0 (2016: 25 % of RMPCP hours are 0), and ``Z ~ N(0, 1)``, optionally an AR(1)
    series across consecutive hours with lag-1 correlation ``log_autocorrelation`` (marginals
    unchanged; the default 0.5 gives a lag-1 autocorrelation of the capability price of about 0.38,
    2016: 0.39). ``σ`` is the closed-form solution of ``E[p] = mean`` and ``std[p] = std`` for the
    model (see :func:`_lognormal_sigma`), so the *population* mean and standard deviation match the
    targets; a single simulated year scatters around them (one standard deviation: 2 % for the
    means, 6 % / 5 % for the RMCCP / RMPCP standard deviations, whose distributions are
    heavy-tailed; 20 years: about 1 %). With ``match_moments=True`` the noise exponent and scale are
    adjusted on the realized sample so that its mean and std match the targets exactly.
    Capability and performance noise are independent (2016 correlation of the two: 0.10).

    Defaults reproduce PJM 2016 (:data:`~v2gsim.market.prices.profiles.PJM2016_CAPABILITY`,
    :data:`~v2gsim.market.prices.profiles.PJM2016_PERFORMANCE`; published means 13.94 $/MW-h and
    1.56 $/ΔMW).

    Args:
        rng: Source of all randomness.
        days: Number of days (≥ 1).
        mean_capability: Mean capability price, $/MW-h.
        mean_performance: Mean performance price, $/ΔMW.
        std_capability: Standard deviation of the capability price over all hours, $/MW-h.
        std_performance: Standard deviation of the performance price, $/ΔMW.
        zero_fraction_capability: Fraction of hours with a zero capability price, in ``[0, 1)``.
        zero_fraction_performance: Fraction of hours with a zero performance price, in ``[0, 1)``.
        capability_shape: 24 non-negative hour-of-day factors (EPT hour 0..23), rescaled to mean 1.
        performance_shape: Same for the performance price.
        log_autocorrelation: Lag-1 correlation of the log-noise across consecutive hours, in
            ``[0, 1)``.
        match_moments: Force the realized sample mean and std to the targets exactly.

    Returns:
        DataFrame with ``days * 24`` rows and columns ``day`` (0-based), ``hour`` (0–23),
        ``capability_price`` ($/MW-h), ``performance_price`` ($/ΔMW).

    Raises:
        ValueError: On invalid arguments (non-positive days, means or stds, bad shapes or fractions,
            or a std too small for the shape and zero fraction).
    """
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    if not 0.0 <= log_autocorrelation < 1.0:
        raise ValueError(f"log_autocorrelation must lie in [0, 1), got {log_autocorrelation!r}")
    out = {"day": np.repeat(np.arange(int(days)), 24), "hour": np.tile(np.arange(24), int(days))}
    specs = (
        ("capability_price", mean_capability, std_capability, zero_fraction_capability,
         capability_shape),
        ("performance_price", mean_performance, std_performance, zero_fraction_performance,
         performance_shape),
    )  # fmt: skip
    for name, mean, std, zero_fraction, shape_in in specs:
        out[name] = _price_series(
            rng, name, mean, std, zero_fraction, shape_in, int(days), log_autocorrelation,
            match_moments,
        )  # fmt: skip
    return pd.DataFrame(out)

"""Bounded distributions of the session samplers: truncated Gaussian and uniform, exact and vectorized.

Both are sampled by the inverse CDF from one uniform draw per value, so a draw can be conditioned on
a per-value lower bound (``x >= lower``) with the same single uniform: ``x = F⁻¹(F(lower) + u (1 −
F(lower)))``, the exact distribution truncated further to ``[max(low, lower), high]``. The samplers of
:mod:`v2gsim.behavior.mobility.parametric` use this to keep a departure after its arrival.

Truncated Gaussian on [l, h] with location μ and scale σ (α = (l − μ)/σ, β = (h − μ)/σ, Z = Φ(β) −
Φ(α)): density φ((x − μ)/σ) / (σ Z) on [l, h], mean μ + σ (φ(α) − φ(β))/Z, variance σ² [1 + (α φ(α)
− β φ(β))/Z − ((φ(α) − φ(β))/Z)²]. The inverse CDF uses ``scipy.special.ndtr``/``ndtri`` and
reflects intervals in the upper tail (α > 0) to the lower tail, where Φ keeps its relative accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

__all__ = ["Distribution", "TruncNormal", "Uniform", "truncnorm_moments", "truncnorm_ppf"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _phi(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def truncnorm_ppf(u: ArrayLike, mean: ArrayLike, std: ArrayLike, low: ArrayLike,
                  high: ArrayLike) -> NDArray[np.float64]:
    """Inverse CDF of the Gaussian (``mean``, ``std``) truncated to [``low``, ``high``] (broadcast).

    Args:
        u: probabilities in [0, 1].
        mean, std: location and scale of the parent Gaussian (``std > 0``).
        low, high: truncation bounds (``low < high``; may be ±inf).

    Returns:
        Quantiles, in [low, high].
    """
    u, mean, std, low, high = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in
                                                    (u, mean, std, low, high)))
    a = (low - mean) / std
    b = (high - mean) / std
    # reflect intervals lying in the upper tail: x = mean - std * ppf over [-b, -a] at 1 - u
    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    q = np.where(flip, 1.0 - u, u)
    pa, pb = ndtr(lo), ndtr(hi)
    z = ndtri(pa + q * (pb - pa))
    z = np.clip(z, lo, hi)  # ndtri(0) = -inf and round-off at the ends
    x = mean + std * np.where(flip, -z, z)
    return np.clip(x, low, high)


def truncnorm_moments(mean: float, std: float, low: float, high: float) -> tuple[float, float]:
    """Closed-form mean and variance of the truncated Gaussian (module docstring).

    Returns:
        ``(mean, variance)`` in the units of the arguments (variance in units²).
    """
    a, b = (low - mean) / std, (high - mean) / std
    if a > 0:  # upper tail: the moments of the reflection -X on [-b, -a], where Φ is accurate
        m, v = truncnorm_moments(0.0, 1.0, -b, -a)
        return mean - std * m, std * std * v
    z = float(ndtr(b) - ndtr(a))
    if not z > 0:
        raise ValueError(f"truncation [{low}, {high}] of N({mean}, {std}²) has no probability mass "
                         "in double precision (more than ~37 std from the mean)")
    pa = float(_phi(np.asarray(a))) if np.isfinite(a) else 0.0
    pb = float(_phi(np.asarray(b))) if np.isfinite(b) else 0.0
    apa = a * pa if np.isfinite(a) else 0.0
    bpb = b * pb if np.isfinite(b) else 0.0
    d = (pa - pb) / z
    return mean + std * d, std * std * (1.0 + (apa - bpb) / z - d * d)


@dataclass(frozen=True)
class TruncNormal:
    """Gaussian of location ``mean`` and scale ``std`` truncated to [``low``, ``high``].

    ``mean`` and ``std`` are the parent Gaussian's parameters, not the moments of the truncated
    law (see :meth:`moments`). Units are the caller's (clock hours, SOC, kWh).
    """

    low: float
    high: float
    mean: float
    std: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"TruncNormal needs finite low < high, got [{self.low}, {self.high}]")
        if not (np.isfinite(self.mean) and np.isfinite(self.std) and self.std > 0):
            raise ValueError(f"TruncNormal needs a finite mean and std > 0, got {self.mean}, {self.std}")
        self.moments()  # raises when the interval holds no mass in double precision

    def ppf(self, u: ArrayLike, lower: ArrayLike | None = None) -> NDArray[np.float64]:
        """Inverse CDF; with ``lower``, of the law truncated further to [max(low, lower), high]."""
        lo = self.low if lower is None else np.maximum(self.low, lower)
        return truncnorm_ppf(u, self.mean, self.std, lo, self.high)

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        """``size`` exact draws (inverse CDF of ``rng.random(size)``)."""
        return self.ppf(rng.random(size))

    def moments(self) -> tuple[float, float]:
        """Closed-form (mean, variance) of the truncated law."""
        return truncnorm_moments(self.mean, self.std, self.low, self.high)


@dataclass(frozen=True)
class Uniform:
    """Uniform on [``low``, ``high``] (``low == high`` is the fixed value ``low``)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"Uniform needs finite low <= high, got [{self.low}, {self.high}]")

    def ppf(self, u: ArrayLike, lower: ArrayLike | None = None) -> NDArray[np.float64]:
        """Inverse CDF; with ``lower``, of the law truncated further to [max(low, lower), high]."""
        lo = self.low if lower is None else np.maximum(self.low, lower)
        return np.minimum(lo + np.asarray(u, dtype=float) * (self.high - lo), self.high)

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        """``size`` draws (inverse CDF of ``rng.random(size)``)."""
        return self.ppf(rng.random(size))

    def moments(self) -> tuple[float, float]:
        """Closed-form (mean, variance) = ((l + h)/2, (h − l)²/12)."""
        return 0.5 * (self.low + self.high), (self.high - self.low) ** 2 / 12.0


#: A bounded distribution of the session samplers.
Distribution = TruncNormal | Uniform

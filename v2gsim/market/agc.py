"""AGC regulation signals: a synthetic RegD-like generator, a reader for PJM files, mileage, and
signal following by a power- and energy-limited fleet.

Sign convention (whole package): the normalized AGC signal ``s`` lies in ``[-1, 1]``; ``+1`` is full
regulation UP (the fleet injects power / reduces its load, i.e. discharges relative to its base
point), ``-1`` is full regulation DOWN (the fleet absorbs / charges). A bid of ``C`` kW asks the
fleet for ``r = C * s`` kW at every sample.

*Mileage* is PJM's measure of how much a signal moves: the sum of absolute changes between
consecutive samples, ``sum |s[k] - s[k-1]|``, in per-unit of the assigned regulation capacity (ΔMW
per MW). It is counted per clock hour over the consecutive samples that both lie in that hour (1799
differences per hour at 2 s), which is how the hourly values in ``pjm_regd_2s_2020-07/SOURCE.md``
were computed.

This module is pure (numpy/scipy/pandas only, no Mesa) and vectorized over samples; the only Python
loops are over calibration iterations, hours, or bound-switching episodes, never over 2-s samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import solve_banded
from scipy.signal import lfilter
from scipy.special import ndtri

__all__ = [
    "FollowResult",
    "follow_signal",
    "hourly_mileage",
    "read_pjm_regd",
    "synthetic_regd",
]

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0

#: Ratio T_s / L of the smoothing time constant to the correlation time of the latent process used
#: by :func:`synthetic_regd`. With L ≈ 220 s and T_s ≈ 15 s the autocorrelation of the latent
#: process, ``(L e^{-h/L} - T_s e^{-h/T_s}) / (L - T_s)``, is quadratic at short lags (a smooth
#: signal, lag-1 ≈ 0.9994 at 2 s) and close to exponential at lags of 1–5 min, like the real PJM
#: RegD signal of 2020-07-16/17 (autocorrelation 0.77 / 0.60 / 0.45 / 0.22 at
#: 60 / 120 / 180 / 300 s).
DEFAULT_SMOOTHING_RATIO = 15.0 / 220.0


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _samples_per(period_s: float, dt_s: float, what: str) -> int:
    """Return ``period_s / dt_s`` as an int, or raise ``ValueError`` if it is not a whole number."""
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a positive finite number of seconds, got {dt_s!r}")
    ratio = period_s / dt_s
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise ValueError(f"{what} ({period_s} s) is not a whole number of samples of dt_s={dt_s} s")
    return int(n)


class _BlockTrend:
    """Smooth trend with prescribed block means (mean-preserving piecewise-linear interpolation).

    The trend is the piecewise-linear interpolant through knot values ``m_i`` placed at the centres
    of consecutive blocks of ``block`` samples, held flat before the first and after the last centre
    (``numpy.interp`` semantics). Its mean over block ``i`` is
    ``(1 - 2w) m_i + w (m_{i-1} + m_{i+1})`` in the interior and ``(1 - w) m_0 + w m_1`` (mirror
    at the end), where ``w`` is the mean hat weight of a neighbouring knot over one block
    (``w = 1/8`` for an even block length). Given the desired block means ``b``, the knot values
    solve the diagonally dominant tridiagonal system ``A m = b``. Subtracting the trend therefore
    makes every block mean exactly zero while staying continuous.
    """

    def __init__(self, n_blocks: int, block: int) -> None:
        self.n_blocks = n_blocks
        self.block = block
        u = np.arange(block, dtype=np.float64) - (block - 1) / 2.0
        w_left = np.maximum(-u, 0.0) / block  # weight of the previous knot within a block
        w_right = np.maximum(u, 0.0) / block  # weight of the next knot within a block
        # trend block i = m_i + (m_{i-1} - m_i) w_left + (m_{i+1} - m_i) w_right = K_i @ basis
        self._basis = np.stack((np.ones(block), w_left, w_right))
        w = float(w_left.mean())
        ab = np.zeros((3, n_blocks))
        if n_blocks == 1:
            ab[1, 0] = 1.0
        else:
            ab[0, 1:] = w  # super-diagonal
            ab[1, :] = 1.0 - 2.0 * w
            ab[1, 0] = ab[1, -1] = 1.0 - w
            ab[2, :-1] = w  # sub-diagonal
        self._ab = ab

    def coefficients(self, block_means: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-block coefficients ``K`` (``(n_blocks, 3)``) of the trend ``K @ basis``."""
        if self.n_blocks == 1:
            return np.array([[float(block_means[0]), 0.0, 0.0]])
        m = solve_banded((1, 1), self._ab, block_means)
        coef = np.empty((self.n_blocks, 3))
        coef[:, 0] = m
        coef[0, 1] = 0.0
        coef[1:, 1] = m[:-1] - m[1:]
        coef[:-1, 2] = m[1:] - m[:-1]
        coef[-1, 2] = 0.0
        return coef

    def trend(self, block_means: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the trend, shape ``(n_blocks, block)``, with block means ``block_means``."""
        return self.coefficients(block_means) @ self._basis

    def subtract_sparse(
        self, blocks: NDArray[np.float64], block_means: NDArray[np.float64], tiny: float
    ) -> NDArray[np.intp]:
        """Subtract the trend in place from the rows of ``blocks`` where it exceeds ``tiny``.

        The knot values of a sparse right-hand side decay geometrically (factor ≈ 0.17 per block)
        away from its non-zeros, so only a few rows change. Returns the indices of the changed rows.
        """
        coef = self.coefficients(block_means)
        rows = np.flatnonzero(np.abs(coef).max(axis=1) > tiny)
        if rows.size > self.n_blocks // 2:  # dense update: avoid fancy-index copies
            blocks -= coef @ self._basis
            return np.arange(self.n_blocks)
        blocks[rows] -= coef[rows] @ self._basis
        return rows


def _mean_hourly_mileage(signal: NDArray[np.float64], per_hour: int) -> float:
    """Mean over hours of the within-hour mileage of a 1-D signal whose length is whole hours."""
    return float(np.abs(np.diff(signal.reshape(-1, per_hour), axis=1)).sum(axis=1).mean())


# --------------------------------------------------------------------------------------------------
# synthetic signal
# --------------------------------------------------------------------------------------------------


def synthetic_regd(
    rng: np.random.Generator,
    *,
    days: int = 1,
    dt_s: float = 2.0,
    mean_hourly_mileage: float = 25.0,
    neutral_window_s: float | None = 900.0,
    saturation_fraction: float = 0.13,
    smoothing_ratio: float = DEFAULT_SMOOTHING_RATIO,
    neutral_tol: float = 0.01,
    mileage_rtol: float = 0.005,
    max_iter: int = 25,
) -> NDArray[np.float64]:
    """Generate a synthetic RegD-like normalized AGC signal.

    Construction (every step is a vectorized numpy/scipy operation over all samples):

    1. **Latent smooth process.** One vector of standard normal innovations is drawn from ``rng``
       (plus a burn-in) and passed through the AR(2) filter
       ``1 / ((1 - φ_L z⁻¹)(1 - φ_s z⁻¹))`` with ``φ_L = exp(-dt/L)``, ``φ_s = exp(-dt/T_s)``,
       ``T_s = smoothing_ratio · L`` (``scipy.signal.lfilter``). This is an Ornstein–Uhlenbeck
       process of correlation time ``L`` smoothed by a first-order low-pass of time constant
       ``T_s``: differentiable paths (lag-1 autocorrelation ≈ 0.999 at 2 s) and a near-exponential
       autocorrelation at minutes.
    2. **Energy neutrality (linear projection).** If ``neutral_window_s`` is given, the smooth
       mean-preserving trend of the block means (piecewise-linear through the block centres, see
       :class:`_BlockTrend`) is subtracted, so every ``neutral_window_s`` block has mean exactly 0
       and the path stays continuous.
    3. **Amplitude and saturation.** The projected process is scaled so that the
       ``1 - saturation_fraction`` quantile of its magnitude is 1 and clipped to ``[-1, 1]``; the
       ``saturation_fraction`` of samples beyond ±1 become saturated at exactly ±1 (real RegD:
       12–15 %).
    4. **Neutrality after clipping.** Clipping shifts block means; the trend of the clipped signal's
       block means is subtracted from the pre-clip signal and the signal re-clipped, repeated until
       every block mean is below ``neutral_tol`` (a contraction: each pass removes the residual on
       the unsaturated samples, typically 3–8 passes).
    5. **Mileage calibration.** Mileage decreases monotonically with ``L`` (stretching time by a
       factor divides every increment by it: mileage ∝ 1/L without neutrality; the 15-min
       projection adds a part that does not scale, so about ∝ L^-0.6 with it). Steps 1–4 are
       repeated with the *same* innovations and ``L`` updated by a safeguarded secant step on
       ``log(mileage)`` vs ``log(L)`` (step at most a factor 4, slope kept in [-3, -0.3]): first on
       the first day only (cheap, 3–4 passes), then on the whole signal (1–2 passes) until its mean
       hourly mileage is within ``mileage_rtol`` of ``mean_hourly_mileage``. The starting ``L``
       comes from the Gaussian closed form ``E|Δs| ≈ A √(2/π) √(2(1-ρ₁)) (1-p_sat)`` with
       ``1-ρ₁ ≈ dt² / (2 L T_s)`` and ``A`` the amplitude that saturates ``p_sat`` of a normal.

    The mean over the *whole* signal is calibrated; with ``days > 1`` the mean of a single day
    scatters around the target (s.d. ≈ 2 %). The hour-to-hour spread of this stationary
    construction (s.d. ≈ 8 % of the mean) is about half that of the real signal (2020-07-16: hours
    from 17.3 to 32.3 around 25.3, s.d. 16 %). Note that the real PJM RegD of 2020 is **not**
    neutral over 15 minutes (its 15-min block means reach ±1; PJM replaced strict 15-min neutrality
    by "conditional neutrality" in 2017): pass ``neutral_window_s=None`` for that behaviour. With
    the 15-min neutrality and 13 % saturation, mileages below about 10–11 per hour cannot be reached
    (the signal has to swing through its range every 15 min); a ``ValueError`` says so.

    Args:
        rng: Source of all randomness (``numpy.random.Generator``); the same generator state gives
            the same signal.
        days: Number of whole days to generate (≥ 1).
        dt_s: Sample period in seconds (2 s for PJM, 4 s for ISO-NE); 3600 must be a multiple of it.
        mean_hourly_mileage: Target mean hourly mileage, per-unit (Σ|Δs| per clock hour). The
            2020-07-16 PJM RegD signal has 25.28; PJM's published 2023 hourly RegD mileage averages
            ≈ 33.
        neutral_window_s: Length in seconds of the blocks over which the signal is energy neutral
            (mean within ``neutral_tol`` of 0), or ``None`` for no neutrality constraint. A day must
            be a whole number of blocks and a block a whole number of samples.
        saturation_fraction: Target fraction of samples at exactly ±1, in ``[0, 0.5)``.
        smoothing_ratio: ``T_s / L`` of the latent process (see
            :data:`DEFAULT_SMOOTHING_RATIO`); smaller is rougher.
        neutral_tol: Largest allowed ``|mean|`` of a neutrality block, per-unit.
        mileage_rtol: Relative tolerance on the mean hourly mileage.
        max_iter: Maximum number of mileage-calibration passes.

    Returns:
        Array of shape ``(days * 86400 / dt_s,)``, float64 in ``[-1, 1]``, starting at 00:00 of
        day 1.

    Raises:
        ValueError: On invalid arguments, or when the mileage target cannot be reached (e.g. far
            above what a signal bounded in ``[-1, 1]`` at this ``dt_s`` can move).
    """
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    per_hour = _samples_per(SECONDS_PER_HOUR, dt_s, "one hour")
    n = int(days) * 24 * per_hour
    if not (math.isfinite(mean_hourly_mileage) and mean_hourly_mileage > 0):
        raise ValueError(f"mean_hourly_mileage must be positive, got {mean_hourly_mileage!r}")
    if not 0.0 <= saturation_fraction < 0.5:
        raise ValueError(f"saturation_fraction must lie in [0, 0.5), got {saturation_fraction!r}")
    if not smoothing_ratio > 0:
        raise ValueError(f"smoothing_ratio must be positive, got {smoothing_ratio!r}")
    if not neutral_tol > 0 or not mileage_rtol > 0 or max_iter < 1:
        raise ValueError("neutral_tol and mileage_rtol must be positive and max_iter >= 1")

    block = 0
    if neutral_window_s is not None:
        block = _samples_per(neutral_window_s, dt_s, "neutral_window_s")
        if (24 * per_hour) % block:
            raise ValueError(
                f"neutral_window_s={neutral_window_s} s must divide one day (86400 s) exactly"
            )

    # Starting correlation time L from the Gaussian closed form (see docstring, step 5).
    amp = 1.0 / ndtri(1.0 - saturation_fraction / 2.0) if saturation_fraction > 0 else 1.0 / 3.0
    mean_step = mean_hourly_mileage / (
        (per_hour - 1) * amp * math.sqrt(2.0 / math.pi) * (1.0 - saturation_fraction)
    )
    one_minus_rho = min(mean_step**2 / 2.0, 0.5)
    corr_time = dt_s / math.sqrt(2.0 * smoothing_ratio * one_minus_rho)

    # Burn-in of about 10 correlation times (capped at two days) so the AR(2) filter starts in its
    # stationary regime; the innovations are drawn once and reused by every calibration pass.
    burn = int(min(max(10.0 * corr_time / dt_s, per_hour), 2 * 24 * per_hour))
    innovations = rng.standard_normal(n + burn)

    trends: dict[int, _BlockTrend] = {}

    def build(corr_time_s: float, n_use: int) -> NDArray[np.float64]:
        """Steps 1-4 for the first ``n_use`` samples (a prefix of the whole construction)."""
        phi_l = math.exp(-dt_s / corr_time_s)
        phi_s = math.exp(-dt_s / (smoothing_ratio * corr_time_s))
        a_coef = [1.0, -(phi_l + phi_s), phi_l * phi_s]
        y = lfilter([1.0], a_coef, innovations[: burn + n_use])[burn:]
        trend = None
        if block:
            if n_use not in trends:
                trends[n_use] = _BlockTrend(n_use // block, block)
            trend = trends[n_use]
            yb = y.reshape(trend.n_blocks, trend.block)
            yb -= trend.trend(yb.mean(axis=1))
        # Quantile of |y| from an evenly strided subsample (>= 200 000 values, exact for short
        # signals).
        mags = np.abs(y[:: max(1, n_use // 200_000)])
        if saturation_fraction > 0:
            k = min(int((1.0 - saturation_fraction) * mags.size), mags.size - 1)
            scale_ref = float(np.partition(mags, k)[k])
        else:
            scale_ref = float(mags.max())
        y *= 1.0 / scale_ref if scale_ref > 0 else 1.0
        s = np.clip(y, -1.0, 1.0)
        if trend is not None:
            yb = y.reshape(trend.n_blocks, trend.block)
            sb = s.reshape(trend.n_blocks, trend.block)
            bm = sb.mean(axis=1)
            for _ in range(200):
                if float(np.abs(bm).max()) < neutral_tol:
                    break
                # Newton step: a shift of the pre-clip signal moves a block mean by the block's
                # unsaturated fraction times the shift (gain capped at 4 for nearly saturated
                # blocks). Blocks already well inside the tolerance get a zero target, which keeps
                # the update sparse: only rows near offending blocks are touched and re-clipped.
                hot = np.flatnonzero(np.abs(bm) >= 0.5 * neutral_tol)
                free = np.count_nonzero(np.abs(sb[hot]) < 1.0, axis=1) / trend.block
                target = np.zeros_like(bm)
                target[hot] = bm[hot] / np.maximum(free, 0.25)
                rows = trend.subtract_sparse(yb, target, 1e-6 * neutral_tol)
                if rows.size == trend.n_blocks:
                    np.clip(y, -1.0, 1.0, out=s)
                    bm = sb.mean(axis=1)
                else:
                    sb[rows] = np.clip(yb[rows], -1.0, 1.0)
                    bm[rows] = sb[rows].mean(axis=1)
            else:  # pragma: no cover - the contraction converges far earlier in practice
                raise ValueError("energy-neutrality correction did not converge")
        return s

    # Calibration runs in phases with the same innovations: (0) on the first day (cheap), then
    # (1) on the whole signal, whose mean mileage differs from the first day's by about 2 %, so
    # phase 1 needs 1-2 passes. The secant slope carries over from phase 0.
    log_target = math.log(mean_hourly_mileage)
    phases = sorted({min(n, 24 * per_hour), n})
    phase = 0
    history: list[tuple[float, float]] = []
    slope = -1.0  # d log(mileage) / d log(L); mileage ∝ 1/L to first order
    for _ in range(max_iter):
        s = build(corr_time, phases[phase])
        mileage = _mean_hourly_mileage(s, per_hour)
        if abs(mileage / mean_hourly_mileage - 1.0) <= mileage_rtol:
            if phase == len(phases) - 1:
                return s
            phase += 1
            history.clear()
            continue
        if mileage <= 0:
            raise ValueError("synthetic signal has zero mileage; check the arguments")
        history.append((math.log(corr_time), math.log(mileage)))
        if len(history) >= 2:
            (x0, f0), (x1, f1) = history[-2], history[-1]
            if abs(x1 - x0) > 1e-12:
                slope = min(max((f1 - f0) / (x1 - x0), -3.0), -0.3)
        step = (log_target - history[-1][1]) / slope
        step = min(max(step, -math.log(4.0)), math.log(4.0))
        corr_time = math.exp(history[-1][0] + step)
        if corr_time < 0.05 * dt_s:
            break
    reached = math.exp(history[-1][1]) if history else float("nan")
    hint = (
        "; a signal neutral over every neutral_window_s must swing through its range in each "
        "window, so low mileages need a longer window or neutral_window_s=None"
        if block and reached > mean_hourly_mileage
        else ""
    )
    raise ValueError(
        f"could not reach mean_hourly_mileage={mean_hourly_mileage} per hour at dt_s={dt_s} s with "
        f"saturation_fraction={saturation_fraction} (last pass gave {reached:.3f}){hint}"
    )


# --------------------------------------------------------------------------------------------------
# real PJM signal and mileage
# --------------------------------------------------------------------------------------------------


def read_pjm_regd(path: str | Path) -> NDArray[np.float64]:
    """Read a PJM RegD 2-s signal CSV (``pjm_regd_2s_2020-07/regd_2s_*.csv``).

    The file must have the columns ``time_ept`` (``YYYY-MM-DD HH:MM:SS``, start of each sample) and
    ``regd`` (normalized signal, per-unit). The timestamps must be equally spaced, start at the top
    of an hour and cover a whole number of hours, so that :func:`hourly_mileage` sees clock hours.

    Args:
        path: Path to the CSV file.

    Returns:
        The ``regd`` column as float64, shape ``(n,)`` with ``n`` a multiple of the samples per hour
        (1800 at 2 s).

    Raises:
        ValueError: Naming the file, when columns are missing, values are missing, non-numeric or
            outside ``[-1, 1]``, the timestamps are not equally spaced from the top of an hour, or
            the length is not a whole number of hours.
    """
    path = Path(path)
    df = pd.read_csv(path)
    missing = [c for c in ("time_ept", "regd") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; expected 'time_ept' and 'regd', "
            f"found {list(df.columns)}"
        )
    if len(df) < 2:
        raise ValueError(f"{path}: needs at least two samples, found {len(df)}")
    values = pd.to_numeric(df["regd"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} missing or non-numeric 'regd' value(s)")
    if values.min() < -1.0 or values.max() > 1.0:
        raise ValueError(
            f"{path}: 'regd' values outside [-1, 1] "
            f"(min {values.min():.6g}, max {values.max():.6g})"
        )
    times = pd.to_datetime(df["time_ept"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if times.isna().any():
        raise ValueError(f"{path}: unparseable 'time_ept' values (expected YYYY-MM-DD HH:MM:SS)")
    steps = np.diff(times.to_numpy().astype("datetime64[ms]").astype(np.int64)) / 1000.0
    dt_s = float(steps[0])
    if dt_s <= 0 or not np.all(steps == dt_s):
        raise ValueError(f"{path}: 'time_ept' is not equally spaced (steps {np.unique(steps)} s)")
    first = times.iloc[0]
    if first.minute != 0 or first.second != 0:
        raise ValueError(f"{path}: the first sample ({first}) is not at the top of an hour")
    per_hour = _samples_per(SECONDS_PER_HOUR, dt_s, f"{path}: one hour")
    if len(values) % per_hour:
        raise ValueError(
            f"{path}: {len(values)} samples of {dt_s:g} s is not a whole number of hours "
            f"({per_hour} samples per hour)"
        )
    return values


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
    per_hour = _samples_per(SECONDS_PER_HOUR, dt_s, "one hour")
    if s.size == 0 or s.size % per_hour:
        raise ValueError(
            f"signal length {s.size} is not a whole number of hours ({per_hour} samples per hour)"
        )
    return np.abs(np.diff(s.reshape(-1, per_hour), axis=1)).sum(axis=1)


# --------------------------------------------------------------------------------------------------
# signal following
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FollowResult:
    """Outcome of following an AGC signal, one row per hour.

    Attributes:
        delivered_kw: Delivered regulation power ``d``, kW, shape ``(H, n)``; positive = discharge /
            load reduction (regulation up).
        requested_mileage_kw: ``Σ |Δr|`` of the requested power ``r = bid · s`` within each hour,
            kW, shape ``(H,)``.
        delivered_mileage_kw: ``Σ min(|Δd|, |Δr|)`` within each hour, kW, shape ``(H,)``.
        score: ``delivered_mileage_kw / requested_mileage_kw`` in ``[0, 1]``, NaN where the
            requested mileage is 0 (e.g. a bid of 0), shape ``(H,)``.
        net_energy_kwh: Net energy delivered to the grid in each hour, kWh (discharged positive),
            shape ``(H,)``.
        energy_limited: ``True`` for the hours whose unconstrained path left the energy band and
            were computed by the exact saturating integrator, shape ``(H,)``.
    """

    delivered_kw: NDArray[np.float64]
    requested_mileage_kw: NDArray[np.float64]
    delivered_mileage_kw: NDArray[np.float64]
    score: NDArray[np.float64]
    net_energy_kwh: NDArray[np.float64]
    energy_limited: NDArray[np.bool_]


def _per_hour(x: ArrayLike, n_hours: int, name: str) -> NDArray[np.float64]:
    """Broadcast a scalar or ``(H,)`` argument to ``(H,)`` float64, rejecting NaN and negatives."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != n_hours):
        raise ValueError(f"{name} must be a scalar or have shape ({n_hours},), got {a.shape}")
    a = np.broadcast_to(a, (n_hours,))
    if np.isnan(a).any() or (a < 0).any():
        raise ValueError(f"{name} must be non-negative (inf allowed), got {a}")
    return a


def _saturating_integrator(
    increments: NDArray[np.float64], lower: float, upper: float
) -> NDArray[np.float64]:
    """Exact cumulative sum of ``increments`` kept in ``[lower, upper]`` (``lower <= 0 <= upper``).

    Equivalent to the per-sample recursion ``E[k] = clip(E[k-1] + inc[k], lower, upper)``,
    ``E[-1] = 0``, computed with vectorized alternating one-sided (Skorokhod) reflections: while the
    upper bound is the active one, ``E = X - max(0, cummax(X - upper))`` with ``X`` the free
    cumulative sum from the start of the episode; that formula is exact until the path crosses the
    *lower* bound, where ``E`` is set to ``lower`` and an episode with the mirror formula starts at
    the next sample, and so on. The Python loop runs once per switch between the bounds (a full
    swing of ``upper - lower`` kWh, a handful per hour at most), never once per sample.
    """
    n = increments.shape[0]
    out = np.empty(n)
    start, level, active_upper = 0, 0.0, True
    while start < n:
        x = level + np.cumsum(increments[start:])
        if active_upper:
            e = x - np.maximum(np.maximum.accumulate(x - upper), 0.0)
            crossed = np.flatnonzero(e < lower)
            bound = lower
        else:
            e = x + np.maximum(np.maximum.accumulate(lower - x), 0.0)
            crossed = np.flatnonzero(e > upper)
            bound = upper
        if crossed.size == 0:
            out[start:] = e
            break
        k = int(crossed[0])
        out[start : start + k] = e[:k]
        out[start + k] = bound
        start, level, active_upper = start + k + 1, bound, not active_upper
    # Guard against round-off of the cumulative sums.
    np.clip(out, lower, upper, out=out)
    return out


def follow_signal(
    signal: ArrayLike,
    bid_kw: ArrayLike,
    p_up_kw: ArrayLike,
    p_down_kw: ArrayLike,
    e_up_kwh: ArrayLike,
    e_down_kwh: ArrayLike,
    dt_s: float = 2.0,
) -> FollowResult:
    """Follow a regulation signal with a power- and energy-limited fleet, vectorized over hours.

    The requested power is ``r = bid · s`` (kW). The fleet first delivers ``d⁰ = clip(r, -p_down,
    p_up)``. In addition the energy it has discharged since the start of the hour,
    ``E[k] = Σ_{j≤k} d[j] · dt / 3600`` (kWh), must stay within ``[-e_down, e_up]``: ``e_up`` is the
    energy the plugged fleet can discharge before it hits its SOC floor, ``e_down`` the energy it
    can absorb before its ceiling. A sample that would cross a bound delivers only what keeps ``E``
    at the bound (a saturating integrator). Each hour starts with ``E = 0``: the caller carries the
    state of charge from hour to hour by updating ``e_up``/``e_down``.

    Vectorization: the unconstrained cumulative energy ``cumsum(d⁰)`` is computed for all hours at
    once; hours that stay in the band keep ``d = d⁰``. Only the hours whose unconstrained path would
    leave the band go through the exact fallback :func:`_saturating_integrator` (identical to the
    per-sample recursion, but vectorized within each bound episode).

    Performance follows the mileage ratio used in models.md §1.4 (fulfilled / total mileage):
    ``score = Σ min(|Δd|, |Δr|) / Σ |Δr|`` over consecutive samples within the hour.

    Args:
        signal: Normalized AGC signal, shape ``(H, n)``: one row per hour, ``n`` samples of
            ``dt_s``.
        bid_kw: Regulation capacity bid per hour, kW, scalar or ``(H,)``.
        p_up_kw: Largest regulation-up (discharge) power of the plugged fleet, kW, scalar or
            ``(H,)``.
        p_down_kw: Largest regulation-down (charge) power, kW, scalar or ``(H,)``.
        e_up_kwh: Energy that can be discharged within the hour, kWh, scalar or ``(H,)`` (``inf`` =
            no limit).
        e_down_kwh: Energy that can be absorbed within the hour, kWh, scalar or ``(H,)``.
        dt_s: Sample period, seconds.

    Returns:
        A :class:`FollowResult`.

    Raises:
        ValueError: If ``signal`` is not a finite 2-D array or an argument is negative, NaN or of
            the wrong shape.
    """
    s = np.asarray(signal, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"signal must have shape (H, n) with n >= 1, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("signal contains NaN or inf")
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be positive, got {dt_s!r}")
    n_hours = s.shape[0]
    bid = _per_hour(bid_kw, n_hours, "bid_kw")
    if not np.isfinite(bid).all():
        raise ValueError("bid_kw must be finite")
    p_up = _per_hour(p_up_kw, n_hours, "p_up_kw")
    p_down = _per_hour(p_down_kw, n_hours, "p_down_kw")
    e_up = _per_hour(e_up_kwh, n_hours, "e_up_kwh")
    e_down = _per_hour(e_down_kwh, n_hours, "e_down_kwh")

    h = dt_s / SECONDS_PER_HOUR  # hours per sample
    requested = bid[:, None] * s
    delivered = np.clip(requested, -p_down[:, None], p_up[:, None])
    energy = np.cumsum(delivered, axis=1) * h
    limited = (energy.max(axis=1) > e_up) | (energy.min(axis=1) < -e_down)
    for i in np.flatnonzero(limited):
        wanted = delivered[i]
        e_path = _saturating_integrator(wanted * h, -float(e_down[i]), float(e_up[i]))
        got = np.diff(e_path, prepend=0.0) / h
        # Round-off of the cumulative sums can leave ±1e-15 kW where the exact answer is 0 (sitting
        # on a bound): never deliver more than, or opposite to, the power-clipped request.
        delivered[i] = np.where(wanted >= 0, np.clip(got, 0.0, wanted), np.clip(got, wanted, 0.0))
        energy[i] = np.cumsum(delivered[i]) * h

    d_req = np.abs(np.diff(requested, axis=1))
    d_del = np.abs(np.diff(delivered, axis=1))
    req_mileage = d_req.sum(axis=1)
    del_mileage = np.minimum(d_del, d_req).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(req_mileage > 0, del_mileage / req_mileage, np.nan)
    return FollowResult(
        delivered_kw=delivered,
        requested_mileage_kw=req_mileage,
        delivered_mileage_kw=del_mileage,
        score=score,
        net_energy_kwh=energy[:, -1].copy(),
        energy_limited=limited,
    )

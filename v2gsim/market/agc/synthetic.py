"""A synthetic RegD-like normalized AGC signal (:func:`synthetic_regd`).

Construction (every step is a vectorized numpy/scipy operation over all samples):

1. **Latent smooth process** (:func:`latent_process`). One vector of standard normal innovations is
   drawn from ``rng`` (plus a burn-in) and passed through the AR(2) filter
   ``1 / ((1 - φ_L z⁻¹)(1 - φ_s z⁻¹))`` with ``φ_L = exp(-dt/L)``, ``φ_s = exp(-dt/T_s)``,
   ``T_s = smoothing_ratio · L`` (``scipy.signal.lfilter``). This is an Ornstein–Uhlenbeck
   process of correlation time ``L`` smoothed by a first-order low-pass of time constant
   ``T_s``: differentiable paths (lag-1 autocorrelation ≈ 0.999 at 2 s) and a near-exponential
   autocorrelation at minutes.
2. **Energy neutrality (linear projection).** If ``neutral_window_s`` is given, the smooth
   mean-preserving trend of the block means (piecewise-linear through the block centres, see
   :class:`~v2gsim.market.agc.neutrality.BlockTrend`) is subtracted, so every ``neutral_window_s``
   block has mean exactly 0 and the path stays continuous
   (:func:`~v2gsim.market.agc.neutrality.project_block_means`).
3. **Amplitude and saturation** (:func:`scale_and_clip`). The projected process is scaled so that
   the ``1 - saturation_fraction`` quantile of its magnitude is 1 and clipped to ``[-1, 1]``; the
   ``saturation_fraction`` of samples beyond ±1 become saturated at exactly ±1 (real RegD:
   12–15 %).
4. **Neutrality after clipping** (:func:`~v2gsim.market.agc.neutrality.neutralize_clipped`).
   Clipping shifts block means; the trend of the clipped signal's block means is subtracted from
   the pre-clip signal and the signal re-clipped, repeated until every block mean is below
   ``neutral_tol`` (a contraction: each pass removes the residual on the unsaturated samples,
   typically 3–8 passes).
5. **Mileage calibration** (:func:`_calibrate`). Mileage decreases monotonically with ``L``
   (stretching time by a factor divides every increment by it: mileage ∝ 1/L without neutrality;
   the 15-min projection adds a part that does not scale, so about ∝ L^-0.6 with it). Steps 1–4
   are repeated with the *same* innovations and ``L`` updated by a safeguarded secant step on
   ``log(mileage)`` vs ``log(L)`` (step at most a factor 4, slope kept in [-3, -0.3]): first on
   the first day only (cheap, 3–4 passes), then on the whole signal (1–2 passes) until its mean
   hourly mileage is within ``mileage_rtol`` of ``mean_hourly_mileage``. The starting ``L``
   comes from the Gaussian closed form ``E|Δs| ≈ A √(2/π) √(2(1-ρ₁)) (1-p_sat)`` with
   ``1-ρ₁ ≈ dt² / (2 L T_s)`` and ``A`` the amplitude that saturates ``p_sat`` of a normal
   (:func:`initial_corr_time`).

Sign convention and mileage: see :mod:`v2gsim.market.agc`. Pure numpy/scipy; the only Python loops
are over calibration passes and neutrality corrections, never over 2-s samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter
from scipy.special import ndtri

from v2gsim.market.agc.mileage import mean_mileage_per_hour, samples_per, samples_per_hour
from v2gsim.market.agc.neutrality import BlockTrend, neutralize_clipped, project_block_means

__all__ = [
    "DEFAULT_SMOOTHING_RATIO",
    "REACHABLE_MILEAGE",
    "initial_corr_time",
    "latent_process",
    "scale_and_clip",
    "synthetic_regd",
]

#: Ratio T_s / L of the smoothing time constant to the correlation time of the latent process used
#: by :func:`synthetic_regd`. With L ≈ 220 s and T_s ≈ 15 s the autocorrelation of the latent
#: process, ``(L e^{-h/L} - T_s e^{-h/T_s}) / (L - T_s)``, is quadratic at short lags (a smooth
#: signal, lag-1 ≈ 0.9994 at 2 s) and close to exponential at lags of 1–5 min, like the real PJM
#: RegD signal of 2020-07-16/17 (autocorrelation 0.77 / 0.60 / 0.45 / 0.22 at
#: 60 / 120 / 180 / 300 s).
DEFAULT_SMOOTHING_RATIO = 15.0 / 220.0

#: Mean hourly mileages (per-unit/h) :func:`synthetic_regd` reaches with its default settings
#: (``dt_s`` = 2 s, ``neutral_window_s`` = 900 s, ``saturation_fraction`` = 0.13, the settings of a
#: run: :class:`v2gsim.market.sources.SyntheticSignals`) for every seed. From the construction:
#: the roughest signal it can make is the white-noise limit of step 1 (``L`` -> 0), whose clipped
#: steps have mean ``E|clip(X) - clip(Y)|`` = 0.672 for ``X, Y ~ N(0, a²)``, ``a = 1/z_{0.935}`` =
#: 0.660: 1210 per hour of 1799 steps (1216-1224 reached after the neutrality projection). The
#: smoothest is bounded by the 15-min energy neutrality: each block must swing through its range,
#: and the calibration gives up between 8.9 and 10.9 per hour depending on the innovations (60
#: seeds). The range keeps a margin on both sides; 12 and 1200 were reached for 300 seeds with
#: ``days = 1`` and 30 with ``days = 14`` (``tests/test_hardening.py`` checks 10). The scenario
#: schema (``market.mean_hourly_mileage``) allows exactly this range.
REACHABLE_MILEAGE = (12.0, 1200.0)


# --------------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------------


def initial_corr_time(
    dt_s: float,
    per_hour: int,
    mean_hourly_mileage: float,
    saturation_fraction: float,
    smoothing_ratio: float,
) -> float:
    """Starting correlation time ``L`` (s) of the calibration, from the Gaussian closed form.

    ``E|Δs| ≈ A √(2/π) √(2(1-ρ₁)) (1-p_sat)`` with ``1-ρ₁ ≈ dt² / (2 L T_s)``, ``T_s =
    smoothing_ratio · L`` and ``A`` the amplitude that saturates ``p_sat`` of a normal (step 5 of
    the module docstring); ``1 - ρ₁`` is capped at 1/2.
    """
    amp = 1.0 / ndtri(1.0 - saturation_fraction / 2.0) if saturation_fraction > 0 else 1.0 / 3.0
    mean_step = mean_hourly_mileage / (
        (per_hour - 1) * amp * math.sqrt(2.0 / math.pi) * (1.0 - saturation_fraction)
    )
    one_minus_rho = min(mean_step**2 / 2.0, 0.5)
    return dt_s / math.sqrt(2.0 * smoothing_ratio * one_minus_rho)


def latent_process(
    innovations: NDArray[np.float64],
    burn: int,
    n_use: int,
    dt_s: float,
    corr_time_s: float,
    smoothing_ratio: float,
) -> NDArray[np.float64]:
    """Step 1: the first ``n_use`` samples of the smoothed Ornstein–Uhlenbeck process.

    The AR(2) filter ``1 / ((1 - φ_L z⁻¹)(1 - φ_s z⁻¹))``, ``φ_L = exp(-dt/L)``,
    ``φ_s = exp(-dt/(smoothing_ratio · L))``, is run over ``burn + n_use`` innovations and the
    first ``burn`` outputs are dropped (the filter then starts in its stationary regime).
    """
    phi_l = math.exp(-dt_s / corr_time_s)
    phi_s = math.exp(-dt_s / (smoothing_ratio * corr_time_s))
    a_coef = [1.0, -(phi_l + phi_s), phi_l * phi_s]
    return lfilter([1.0], a_coef, innovations[: burn + n_use])[burn:]


def scale_and_clip(y: NDArray[np.float64], saturation_fraction: float) -> NDArray[np.float64]:
    """Step 3: scale ``y`` in place so that a ``saturation_fraction`` of it lies beyond ±1; clip.

    The ``1 - saturation_fraction`` quantile of ``|y|`` (the maximum if the fraction is 0) becomes
    1. The quantile is taken from an evenly strided subsample of at least 200 000 values (exact
    for short signals). Returns ``clip(y, -1, 1)`` as a new array.
    """
    mags = np.abs(y[:: max(1, y.size // 200_000)])
    if saturation_fraction > 0:
        k = min(int((1.0 - saturation_fraction) * mags.size), mags.size - 1)
        scale_ref = float(np.partition(mags, k)[k])
    else:
        scale_ref = float(mags.max())
    y *= 1.0 / scale_ref if scale_ref > 0 else 1.0
    return np.clip(y, -1.0, 1.0)


@dataclass(eq=False)
class _Construction:
    """Steps 1–4 on fixed innovations, for any correlation time and signal prefix.

    Attributes:
        innovations: standard normal innovations, ``burn + n`` of them, drawn once.
        burn: burn-in samples dropped at the start of the filter output.
        dt_s: sample period, s.
        smoothing_ratio: ``T_s / L``.
        saturation_fraction: target fraction of samples at exactly ±1.
        block: samples per neutrality block, 0 for no neutrality.
        neutral_tol: largest allowed ``|mean|`` of a block, per-unit.
    """

    innovations: NDArray[np.float64]
    burn: int
    dt_s: float
    smoothing_ratio: float
    saturation_fraction: float
    block: int
    neutral_tol: float
    _trends: dict[int, BlockTrend] = field(default_factory=dict)

    def build(self, corr_time_s: float, n_use: int) -> NDArray[np.float64]:
        """Steps 1-4 for the first ``n_use`` samples (a prefix of the whole construction)."""
        y = latent_process(
            self.innovations, self.burn, n_use, self.dt_s, corr_time_s, self.smoothing_ratio
        )
        trend = None
        if self.block:
            if n_use not in self._trends:
                self._trends[n_use] = BlockTrend(n_use // self.block, self.block)
            trend = self._trends[n_use]
            project_block_means(y, trend)
        s = scale_and_clip(y, self.saturation_fraction)
        if trend is not None:
            neutralize_clipped(y, s, trend, self.neutral_tol)
        return s


# --------------------------------------------------------------------------------------------------
# mileage calibration
# --------------------------------------------------------------------------------------------------


def _secant_corr_time(
    history: list[tuple[float, float]], slope: float, log_target: float
) -> tuple[float, float]:
    """Next correlation time and slope of the safeguarded secant step on log(mileage) vs log(L).

    ``history`` holds ``(log L, log mileage)`` of the passes of the current phase. The slope
    ``d log(mileage) / d log(L)`` is re-estimated from the last two passes and kept in
    ``[-3, -0.3]``; the step is at most a factor 4 in ``L``.
    """
    if len(history) >= 2:
        (x0, f0), (x1, f1) = history[-2], history[-1]
        if abs(x1 - x0) > 1e-12:
            slope = min(max((f1 - f0) / (x1 - x0), -3.0), -0.3)
    step = (log_target - history[-1][1]) / slope
    step = min(max(step, -math.log(4.0)), math.log(4.0))
    return math.exp(history[-1][0] + step), slope


def _unreachable(
    history: list[tuple[float, float]], con: _Construction, target: float
) -> ValueError:
    """The error raised when the calibration cannot reach the target mileage."""
    reached = math.exp(history[-1][1]) if history else float("nan")
    hint = (
        "; a signal neutral over every neutral_window_s must swing through its range in each "
        "window, so low mileages need a longer window or neutral_window_s=None"
        if con.block and reached > target
        else ""
    )
    return ValueError(
        f"could not reach mean_hourly_mileage={target} per hour at dt_s={con.dt_s} s with "
        f"saturation_fraction={con.saturation_fraction} (last pass gave {reached:.3f}){hint}"
    )


def _calibrate(
    con: _Construction,
    corr_time: float,
    *,
    target: float,
    per_hour: int,
    n: int,
    mileage_rtol: float,
    max_iter: int,
) -> NDArray[np.float64]:
    """Step 5: repeat steps 1-4 with updated ``L`` until the mean hourly mileage hits ``target``.

    Calibration runs in phases with the same innovations: (0) on the first day (cheap), then
    (1) on the whole signal, whose mean mileage differs from the first day's by about 2 %, so
    phase 1 needs 1-2 passes. The secant slope carries over from phase 0.

    Raises:
        ValueError: If the signal has zero mileage or ``max_iter`` passes do not reach the target.
    """
    log_target = math.log(target)
    phases = sorted({min(n, 24 * per_hour), n})
    phase = 0
    history: list[tuple[float, float]] = []
    slope = -1.0  # d log(mileage) / d log(L); mileage ∝ 1/L to first order
    for _ in range(max_iter):
        s = con.build(corr_time, phases[phase])
        mileage = mean_mileage_per_hour(s, per_hour)
        if abs(mileage / target - 1.0) <= mileage_rtol:
            if phase == len(phases) - 1:
                return s
            phase += 1
            history.clear()
            continue
        if mileage <= 0:
            raise ValueError("synthetic signal has zero mileage; check the arguments")
        history.append((math.log(corr_time), math.log(mileage)))
        corr_time, slope = _secant_corr_time(history, slope, log_target)
        if corr_time < 0.05 * con.dt_s:
            break
    raise _unreachable(history, con, target)


# --------------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------------


def _check_arguments(
    days: int,
    dt_s: float,
    mean_hourly_mileage: float,
    neutral_window_s: float | None,
    saturation_fraction: float,
    smoothing_ratio: float,
    neutral_tol: float,
    mileage_rtol: float,
    max_iter: int,
) -> tuple[int, int]:
    """Validate the arguments of :func:`synthetic_regd`; return ``(per_hour, block)`` samples."""
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    per_hour = samples_per_hour(dt_s)
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
        block = samples_per(neutral_window_s, dt_s, "neutral_window_s")
        if (24 * per_hour) % block:
            raise ValueError(
                f"neutral_window_s={neutral_window_s} s must divide one day (86400 s) exactly"
            )
    return per_hour, block


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
    """Generate a synthetic RegD-like normalized AGC signal (construction: module docstring).

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
    per_hour, block = _check_arguments(
        days, dt_s, mean_hourly_mileage, neutral_window_s, saturation_fraction, smoothing_ratio,
        neutral_tol, mileage_rtol, max_iter,
    )  # fmt: skip
    n = int(days) * 24 * per_hour
    corr_time = initial_corr_time(
        dt_s, per_hour, mean_hourly_mileage, saturation_fraction, smoothing_ratio
    )
    # Burn-in of about 10 correlation times (capped at two days) so the AR(2) filter starts in its
    # stationary regime; the innovations are drawn once and reused by every calibration pass.
    burn = int(min(max(10.0 * corr_time / dt_s, per_hour), 2 * 24 * per_hour))
    con = _Construction(
        innovations=rng.standard_normal(n + burn),
        burn=burn,
        dt_s=dt_s,
        smoothing_ratio=smoothing_ratio,
        saturation_fraction=saturation_fraction,
        block=block,
        neutral_tol=neutral_tol,
    )
    return _calibrate(
        con, corr_time, target=mean_hourly_mileage, per_hour=per_hour, n=n,
        mileage_rtol=mileage_rtol, max_iter=max_iter,
    )  # fmt: skip

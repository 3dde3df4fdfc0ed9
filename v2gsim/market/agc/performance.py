"""PJM's composite performance score of a regulation resource following a normalized AGC signal.

What PJM's manuals say (PJM Manual 12 "Balancing Operations", section 4.5 "Regulation", subsection
"Performance Score"; PJM Manual 11 "Energy & Ancillary Services Market Operations", section 3.2
"Regulation Market", on qualification and the performance score threshold; section numbers as
remembered, without access to the manuals here):

* The performance score of a regulation resource is the equally weighted mean of three
  components, each between 0 and 1: ``score = (accuracy + delay + precision) / 3``.
* **Accuracy** (the "correlation score") is the largest correlation coefficient between the
  regulation signal and the resource's response, the response being shifted by a delay ``δ``
  between 0 and 5 minutes in 10-second steps.
* **Delay**: ``|(δ* - 5 min) / 5 min|`` with ``δ*`` the delay at which that correlation is
  largest: a response without delay scores 1, one delayed by 5 minutes 0.
* **Precision**: 1 minus the mean absolute difference between the response and the signal,
  relative to the average (absolute) regulation signal.
* Signal and response are both per-unit of the resource's regulation assignment; the response is
  the resource's output relative to its base point.
* Manual 12 asks a new resource to score at least 0.75 in its qualification tests; Manual 11
  disqualifies a resource whose historic (rolling, about 100 hours) performance score falls below
  0.40, the *performance score threshold*, until it requalifies. Manual 28 (see
  :mod:`v2gsim.market.settlement`) multiplies both regulation credits by the hourly score.

Our reading, i.e. what the manuals do not fix or what v2gsim chooses (issue #11):

* **Response** ``ρ = d / C``: the delivered regulation power ``d`` (kW, positive = regulation up,
  :class:`~v2gsim.market.agc.dispatch.FollowResult.delivered_kw`) divided by the hour's bid ``C``
  (kW), compared with the per-unit signal ``s`` (:func:`per_unit_response`). A zero bid has no
  response: its score is NaN, like the mileage ratio.
* **Windows**: the hour is cut into non-overlapping 5-minute windows (12 at 2 s: 150 samples
  each); each component is computed per window and the hour's component is the mean over its
  windows (the issue's rule; as we remember Manual 12, its precision divides by the hour's average
  absolute signal rather than the window's).
* **Delay search and the window boundary**: for window ``w`` and delay ``δ`` the pairs are
  ``(s[k], ρ[k + δ])`` for the samples ``k`` of the window; the response is read beyond the
  window's end (it is the same hour's response), but never beyond the end of the hour, which is all
  the scorer sees. In the last window(s) the shifted response runs out: the pairs are truncated to
  those inside the hour, and a delay is tried only when at least ``min_overlap_s`` (default half a
  window, 150 s) of pairs remain. So the last window of an hour can find delays up to 2.5 minutes
  only; every other window up to 5 minutes.
* **Undefined correlation**: a window whose signal (or shifted response) is constant (standard
  deviation below ``1e-9`` per-unit) has no correlation coefficient. We use 1 when both are
  constant (a constant response to a constant request follows it exactly in shape; precision
  judges the level) and 0 when only one is. A negative best correlation counts 0 (scores lie in
  ``[0, 1]``), and when no delay has a positive correlation (accuracy 0) the delay score is 0 too:
  there is no delay at which the response follows the signal. Ties between delays go to the
  shortest delay.
* **Precision** per window is ``1 - mean|ρ - s| / mean|s|``, clipped to ``[0, 1]``; a window whose
  signal is 0 throughout (``mean|s|`` below ``1e-9``) scores 1 when the response is 0 too, else 0.
* **Forfeiture** (:func:`forfeit_below`): an hour whose score is below the threshold earns no
  capability and no performance credit. The manuals apply the 0.40 threshold to the *historic*
  score (qualification); applying it hour by hour is the issue's rule, a simplification of ours.

Pure numpy, vectorized over hours, windows, delays and samples (no Python loop over samples or
windows): one hour of 2-s samples is a (12 windows x 31 delays x 150 samples) block, about 0.4 MB
per temporary array; a day of 24 hours scores in about 16 ms
(``analysis/benchmarks/bench_score.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.market.agc.mileage import samples_per

__all__ = [
    "COMPONENTS",
    "CompositeScore",
    "composite_score",
    "forfeit_below",
    "per_unit_response",
]

COMPONENTS = ("accuracy", "delay", "precision")
"""Names of the three components, in the order of the composite's mean."""

CONSTANT_STD = 1e-9
"""Standard deviation (per-unit) below which a window's signal or response counts as constant."""

ZERO_LEVEL = 1e-9
"""Mean absolute value (per-unit) below which a window's signal counts as zero (precision)."""


@dataclass(frozen=True, eq=False)
class CompositeScore:
    """PJM composite performance score, one row per hour.

    Attributes:
        accuracy: Hourly accuracy (mean over the windows of the best correlation), ``(H,)``.
        delay: Hourly delay score (mean over the windows of ``(5 min - δ*) / 5 min``), ``(H,)``.
        precision: Hourly precision (mean over the windows), ``(H,)``.
        composite: ``(accuracy + delay + precision) / 3``, ``(H,)``; NaN for an hour without a
            response (zero bid).
        window_accuracy: Best correlation per window, ``(H, W)``.
        window_delay_s: Delay ``δ*`` of the best correlation per window, seconds, ``(H, W)``.
        window_precision: Precision per window, ``(H, W)``.
    """

    accuracy: NDArray[np.float64]
    delay: NDArray[np.float64]
    precision: NDArray[np.float64]
    composite: NDArray[np.float64]
    window_accuracy: NDArray[np.float64]
    window_delay_s: NDArray[np.float64]
    window_precision: NDArray[np.float64]

    def components(self, hour: int) -> dict[str, float]:
        """``{"accuracy": ..., "delay": ..., "precision": ...}`` of one hour (floats)."""
        return {name: float(getattr(self, name)[hour]) for name in COMPONENTS}


def per_unit_response(delivered_kw: ArrayLike, bid_kw: ArrayLike) -> NDArray[np.float64]:
    """The response ``ρ = d / C`` per-unit of the bid, NaN rows where the bid is 0.

    Args:
        delivered_kw: Delivered regulation power, kW, ``(H, n)`` (positive = regulation up).
        bid_kw: Bid per hour, kW, scalar or ``(H,)``, non-negative.

    Returns:
        ``(H, n)`` per-unit response.

    Raises:
        ValueError: On a negative or non-finite bid, or a bid of the wrong shape.
    """
    d = np.asarray(delivered_kw, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"delivered_kw must have shape (H, n), got {d.shape}")
    bid = np.asarray(bid_kw, dtype=np.float64)
    if bid.ndim > 1 or (bid.ndim == 1 and bid.shape[0] != d.shape[0]):
        raise ValueError(f"bid_kw must be a scalar or have shape ({d.shape[0]},), got {bid.shape}")
    bid = np.broadcast_to(bid, (d.shape[0],))
    if not np.isfinite(bid).all() or (bid < 0).any():
        raise ValueError(f"bid_kw must be finite and non-negative, got {bid}")
    safe = np.where(bid > 0, bid, 1.0)
    return np.where((bid > 0)[:, None], d / safe[:, None], np.nan)


def _check(signal: ArrayLike, response: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    """The ``(H, n)`` signal and response, and the ``(H,)`` mask of hours without a response."""
    s = np.asarray(signal, dtype=np.float64)
    r = np.asarray(response, dtype=np.float64)
    if s.ndim != 2 or s.shape != r.shape:
        raise ValueError(f"signal and response must have the same shape (H, n), got {s.shape} "
                         f"and {r.shape}")
    if not np.isfinite(s).all():
        raise ValueError("signal contains NaN or inf")
    missing = np.isnan(r).all(axis=1)
    if not np.isfinite(r[~missing]).all():
        raise ValueError("response contains NaN or inf in an hour that has a response (only "
                         "whole hours may be NaN, e.g. hours without a bid)")
    return s, np.where(missing[:, None], 0.0, r), missing


def _flat_or_corr(cov: NDArray[np.float64], var_s: NDArray[np.float64], var_r: NDArray[np.float64],
                  count: NDArray[np.float64] | int) -> NDArray[np.float64]:
    """``cov / sqrt(var_s var_r)`` in ``[-1, 1]``; 1 when both sides are constant, 0 when one is."""
    floor = count * CONSTANT_STD**2
    flat_s, flat_r = var_s <= floor, var_r <= floor
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.clip(cov / np.sqrt(var_s * var_r), -1.0, 1.0)
    return np.where(flat_s | flat_r, np.where(flat_s & flat_r, 1.0, 0.0), corr)


def _correlations(s: NDArray[np.float64], r: NDArray[np.float64], window: int, lags: NDArray[np.intp],
                  min_overlap: int) -> NDArray[np.float64]:
    """Correlation of each window's signal with the response delayed by each lag, ``(H, W, D)``.

    Windows whose every delayed response lies inside the hour are computed without a mask (centred
    sums, ``einsum``); the last windows, where a delayed response runs past the end of the hour,
    drop those pairs (a mask), and a lag that leaves fewer than ``min_overlap`` pairs gets ``-inf``
    (never the best).
    """
    n_hours, n = s.shape
    n_win = n // window
    sig = s.reshape(n_hours, n_win, window)
    start = (np.arange(n_win) * window)[:, None] + lags[None, :]  # (W, D) first response sample
    idx = start[:, :, None] + np.arange(window)  # (W, D, L)
    n_full = int(np.count_nonzero(idx[:, -1, -1] < n))  # windows 0 .. n_full - 1 need no mask
    corr = np.empty((n_hours, n_win, lags.size))
    ds = sig[:, :n_full] - sig[:, :n_full].mean(axis=2, keepdims=True)
    resp = r[:, idx[:n_full]]  # (H, Wf, D, L)
    dr = resp - resp.mean(axis=3, keepdims=True)
    corr[:, :n_full] = _flat_or_corr(
        np.einsum("hwl,hwdl->hwd", ds, dr), np.einsum("hwl,hwl->hw", ds, ds)[..., None],
        np.einsum("hwdl,hwdl->hwd", dr, dr), window)
    if n_full == n_win:
        return corr
    idx = idx[n_full:]
    mask = idx < n
    count = mask.sum(axis=2)  # (Wt, D)
    m = mask.astype(np.float64)
    resp = r[:, np.minimum(idx, n - 1)] * m  # (H, Wt, D, L); pairs past the hour are masked
    tail = np.broadcast_to(sig[:, n_full:, None, :], resp.shape) * m
    safe = np.maximum(count, 1)
    ds = (tail - (tail.sum(axis=3) / safe)[..., None]) * m
    dr = (resp - (resp.sum(axis=3) / safe)[..., None]) * m
    c = _flat_or_corr((ds * dr).sum(axis=3), (ds * ds).sum(axis=3), (dr * dr).sum(axis=3), count)
    corr[:, n_full:] = np.where(count >= min_overlap, c, -np.inf)
    return corr


def _precision(s: NDArray[np.float64], r: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Precision ``1 - mean|ρ - s| / mean|s|`` of each window, clipped to ``[0, 1]``, ``(H, W)``."""
    n_hours, n = s.shape
    sw = s.reshape(n_hours, n // window, window)
    rw = r.reshape(n_hours, n // window, window)
    err = np.abs(rw - sw).mean(axis=2)
    level = np.abs(sw).mean(axis=2)
    zero = level <= ZERO_LEVEL
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 1.0 - err / np.where(zero, 1.0, level)
    p = np.where(zero, np.where(err <= ZERO_LEVEL, 1.0, 0.0), p)
    return np.clip(p, 0.0, 1.0)


def composite_score(
    signal: ArrayLike,
    response: ArrayLike,
    dt_s: float = 2.0,
    *,
    window_s: float = 300.0,
    max_delay_s: float = 300.0,
    delay_step_s: float = 10.0,
    min_overlap_s: float = 150.0,
) -> CompositeScore:
    """PJM's composite performance score of each hour (PJM Manual 12; see the module docstring).

    Per 5-minute window ``w`` (``L`` samples) and delay ``δ`` in ``0, 10 s, ..., 5 min``:
    ``c_w(δ) = corr(s[k], ρ[k + δ])`` over the window's samples ``k`` (pairs beyond the hour
    dropped); ``accuracy_w = max(0, max_δ c_w(δ))``, ``delay_w = (5 min - δ*_w) / 5 min`` at the
    first maximizing ``δ*_w`` (0 when ``accuracy_w = 0``), ``precision_w = clip(1 - mean_k|ρ - s| /
    mean_k|s|, 0, 1)``. Hourly components are the means over the windows; ``composite =
    (accuracy + delay + precision) / 3``.

    Args:
        signal: Normalized AGC signal, per-unit, ``(H, n)``, one row per clock hour.
        response: Per-unit response ``ρ`` (:func:`per_unit_response`), ``(H, n)``; a row of NaN is
            an hour without a response (all its scores NaN).
        dt_s: Sample period, s (2 s: 1800 samples per hour).
        window_s: Scoring window, s (PJM: 5 minutes); ``n`` must hold a whole number of windows.
        max_delay_s: Longest delay tried, s (PJM: 5 minutes; positive); also the delay scoring 0.
        delay_step_s: Step of the delay search, s (PJM: 10 s); a whole number of samples.
        min_overlap_s: Fewest seconds of (signal, delayed response) pairs a delay needs in a window
            truncated by the end of the hour (our choice; default half a window).

    Returns:
        A :class:`CompositeScore`.

    Raises:
        ValueError: On shapes that differ or are not 2-D, a non-finite signal, a partly NaN
            response row, or periods that are not whole numbers of samples (windows of the hour,
            delays of the window).
    """
    s, r, missing = _check(signal, response)
    window = samples_per(window_s, dt_s, "the scoring window")
    step = samples_per(delay_step_s, dt_s, "the delay step")
    max_lag = samples_per(max_delay_s, dt_s, "the longest delay")
    if s.shape[1] % window:
        raise ValueError(f"{s.shape[1]} samples per row are not a whole number of scoring windows "
                         f"of {window} samples")
    if max_lag % step:
        raise ValueError(f"the longest delay ({max_delay_s} s) is not a whole number of delay "
                         f"steps ({delay_step_s} s)")
    min_overlap = max(2, min(window, round(min_overlap_s / dt_s)))
    lags = np.arange(0, max_lag + 1, step)
    corr = _correlations(s, r, window, lags, min_overlap)
    best = corr.argmax(axis=2)  # first (shortest) maximizing delay
    acc_w = np.clip(np.take_along_axis(corr, best[..., None], axis=2)[..., 0], 0.0, 1.0)
    delay_w = lags[best] * dt_s
    delay_score_w = np.where(acc_w > 0, 1.0 - delay_w / max_delay_s, 0.0)
    prec_w = _precision(s, r, window)
    nan_rows = missing[:, None]
    acc_w, delay_score_w, prec_w = (np.where(nan_rows, np.nan, x)
                                    for x in (acc_w, delay_score_w, prec_w))
    accuracy, delay, precision = (x.mean(axis=1) for x in (acc_w, delay_score_w, prec_w))
    return CompositeScore(
        accuracy=accuracy, delay=delay, precision=precision,
        composite=(accuracy + delay + precision) / 3.0,
        window_accuracy=acc_w, window_delay_s=np.where(nan_rows, np.nan, delay_w),
        window_precision=prec_w,
    )


def forfeit_below(score: ArrayLike, threshold: float) -> NDArray[np.float64]:
    """The score an hour is paid at: 0 below ``threshold`` (credits forfeited), else the score.

    ``settle(bid, forfeit_below(score, θ), ...)`` pays neither the capability nor the performance
    credit of an hour whose score is below ``θ`` (PJM's threshold is 0.40, Manual 11, applied there
    to the historic score; see the module docstring). NaN scores (no bid) stay NaN.

    Raises:
        ValueError: If ``threshold`` is outside ``[0, 1]``.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold!r}")
    sc = np.asarray(score, dtype=np.float64)
    return np.where(sc < threshold, 0.0, sc)

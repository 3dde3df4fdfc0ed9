"""Per-unit regulation requirement r̃_t of an hour and its statistics (models.md §1.4, (R1), (3), (4)).

RECONSTRUCTED (models.md §6 item 6): the seed does not define r̃_t; the definition below is ours.

Definition used throughout the package
--------------------------------------
The chance constraint (R1) ``P(ψ K̃_t - r̃_t C_t >= 0) >= 1 - η`` compares the plugged fleet's power
``ψ K̃_t`` (kW) with ``r̃_t C_t``, a bid of ``C_t`` kW times a per-unit requirement ``r̃_t`` (kW per kW of
bid). For the guarantee to mean something for the *performance score* the TSO pays on, ``r̃_t`` is
defined through that score. A fleet with symmetric power limit ``P`` (kW) that follows ``C s`` delivers
``d = clip(C s, -P, P)`` (energy limits aside, :func:`v2gsim.market.agc.follow_signal`), so its hourly
score (delivered / requested mileage) is a function of ``u = P / C`` alone:

    score_t(u) = F_t(u) / F_t(∞),   F_t(u) = Σ_k |clip(s_k, -u, u) - clip(s_{k-1}, -u, u)|,

the mileage of the signal clipped at ±u. ``F_t`` is continuous and non-decreasing, with
``F_t(u) = ∫_{-u}^{u} N_t(x) dx`` where ``N_t(x)`` counts the steps of hour t that cross level x. The
**requirement at score target q** is the smallest per-unit capability that earns score q:

    r_t(q) = min{ u >= 0 : F_t(u) >= q F_t(∞) }                                   (RQ)

so that, for a symmetric power window and no energy limit,

    ψ K_t >= r_t(q) C_t   <=>   score_t >= q.

Hence with r̃ = r(q) the chance constraint (R1) reads ``P(score_t >= q) >= 1 - η``, and the SOCP
bounds (3)/(4) built on its mean and forward/backward deviations guarantee it.

* ``q = 1`` gives the **peak** requirement ``max_k |s_k|`` (full score), the "natural" choice. It is
  degenerate on RegD: the signal saturates at ±1 in about 12-15 % of samples, and ``max |s| = 1`` in
  47 of the 48 hours of the real PJM RegD days 2020-07-16/17 (0.929 in the other) and in more than
  99 % of synthetic hours (:func:`v2gsim.market.agc.synthetic_regd`). Its deviations are then
  ~0, and (R1) only covers the randomness of the plug-ins; any clipping at all counts as a failure.
* ``q = 1 - η`` (what the ``chance`` policy uses, :mod:`v2gsim.policies.chance`) makes η
  play both roles models.md §1.4 gives it, "allowed violation probability; performance index
  (fulfilled mileage / total mileage) >= 1 - η": the bid must earn a score of at least ``1 - η`` in
  at least a fraction ``1 - η`` of the hours. It is a genuine random variable. Real RegD 2020-07-16/17
  at q = 0.95: r from 0.71 to 0.95, mean 0.88, s.d. 0.05; synthetic (25 ΔMW/MW per hour): mean 0.88,
  s.d. 0.045, range 0.75-0.95. At q = 0.9 the mean is about 0.80, at q = 0.8 about 0.66.

Why not the alternatives. A direction-aware version (``max s⁺`` against the up-capability and
``max s⁻`` against the down-capability) needs two capabilities, while the bounds (3)/(4) have one
(``ψ K̃``); in :mod:`v2gsim.core.fleet` they differ by the baseline charging ``B`` (up ``ψK + B``, down
``ψK - B``), which the platform does not know a day ahead. :func:`score_at_capability` evaluates
the exact score for asymmetric limits, so studies can measure that gap. A plain quantile of
``|s_k|`` is not tied to the score (a signal can spend 5 % of its samples above u and still lose
much more than 5 % of its mileage, or much less), whereas (RQ) is exactly the clip level of the
score. Energy limits (state of charge) are outside (R1) by construction.

Statistics per hour of day
--------------------------
:class:`RequirementStats` holds, per hour of day, ``r̄_t``, ``σ^f_t``, ``σ^b_t`` (forward/backward
deviations, eq. (R3), :func:`v2gsim.market.deviations.forward_backward`) of the per-hour samples
across days, and the mean hourly signal mileage (for the expected performance price). With few days
per hour (the default 14 synthetic days, or the 2 real PJM days) a per-hour estimate rests on 14
(or 2) numbers: the deviations, which are suprema of a log-MGF, are then dominated by one or two
observations (and undefined for 2). In that case (``pool="auto"`` with fewer than
``min_days_per_hour`` days) the statistics are **pooled across the hours of the day**: one r̄ and one
(σ^f, σ^b) from all D x H samples, broadcast to every hour. This treats the requirement as
stationary over the day, which is exactly true for the synthetic generator (a stationary process)
and an assumption for the real signal, whose hour-of-day structure two days cannot resolve. The
mean mileage is always kept per hour (it is an expectation, not a tail).

The core algorithm is vectorised over hours (no loop over 2-s samples): the clipped mileage is
``F(u) = Σ_j (min(u, b_j) - min(u, a_j))`` over the half-intervals ``[a_j, b_j] ⊂ [0, ∞)`` that the
steps cover above and (mirrored) below zero, a piecewise-linear function whose values at all
breakpoints follow from one sort and two cumulative sums per hour; (RQ) is then a linear
interpolation between the two breakpoints that bracket ``q F(∞)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.market.agc.io import read_pjm_regd
from v2gsim.market.agc.mileage import hour_rows, row_mileage, samples_per_hour
from v2gsim.market.agc.synthetic import synthetic_regd
from v2gsim.market.deviations import forward_backward

__all__ = [
    "Pooling",
    "RequirementStats",
    "requirement_per_hour",
    "score_at_capability",
]

Pooling = Literal["auto", "hour", "pooled"]
"""How per-hour statistics are formed: per hour, pooled over hours, or pooled when data are few."""

_CHUNK_HOURS = 128
"""Hours processed at once by :func:`requirement_per_hour` (bounds memory to ~60 MB at 2 s)."""


def _hours_matrix(signal: ArrayLike, dt_s: float) -> NDArray[np.float64]:
    """Reshape a 1-D signal of whole hours (or an ``(H, n)`` array) to ``(H, n)``."""
    s = np.asarray(signal, dtype=np.float64)
    n = samples_per_hour(dt_s)
    if n < 2:
        raise ValueError(f"one hour must hold at least 2 samples of dt_s={dt_s} s")
    if s.ndim == 2:
        if s.shape[1] != n:
            raise ValueError(f"signal rows must hold one hour ({n} samples), got {s.shape}")
        out = s
    elif s.ndim == 1:
        out = hour_rows(s, n)
    else:
        raise ValueError(f"signal must be 1-D or (H, n), got shape {s.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError("signal contains NaN or inf")
    return out


def _half_intervals(s: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Endpoints ``(a, b)`` (each ``(H, 2(n-1))``) of the half-intervals covered by the steps.

    A step from ``s[k-1]`` to ``s[k]`` covers ``[lo, hi]``; its part above zero is
    ``[max(lo, 0), max(hi, 0)]`` and its part below zero, mirrored, ``[max(-hi, 0), max(-lo, 0)]``.
    The mileage of the signal clipped at ±u is ``Σ_j (min(u, b_j) - min(u, a_j))``.
    """
    lo = np.minimum(s[:, :-1], s[:, 1:])
    hi = np.maximum(s[:, :-1], s[:, 1:])
    a = np.concatenate([np.maximum(lo, 0.0), np.maximum(-hi, 0.0)], axis=1)
    b = np.concatenate([np.maximum(hi, 0.0), np.maximum(-lo, 0.0)], axis=1)
    return a, b


def _requirement_chunk(s: NDArray[np.float64], q: float) -> NDArray[np.float64]:
    """(RQ) for the rows of ``s`` (one hour each); see :func:`requirement_per_hour`."""
    mileage = row_mileage(s)
    if q == 1.0:
        return np.where(mileage > 0.0, np.abs(s).max(axis=1), 0.0)
    a, b = _half_intervals(s)
    e = np.concatenate([b, a], axis=1)
    m = b.shape[1]
    order = np.argsort(e, axis=1, kind="stable")
    es = np.take_along_axis(e, order, axis=1)
    sign = np.where(order < m, 1.0, -1.0)  # +1 for b endpoints, -1 for a endpoints
    # F(es_i) = Σ_{m<=i} sign_m es_m + es_i Σ_{m>i} sign_m, and Σ sign = 0.
    f = np.cumsum(sign * es, axis=1) - es * np.cumsum(sign, axis=1)
    zero = np.zeros((s.shape[0], 1))
    es = np.concatenate([zero, es], axis=1)  # F(0) = 0 (every endpoint is >= 0)
    f = np.concatenate([zero, f], axis=1)
    target = q * mileage
    i = np.argmax(f >= (target - 1e-12 * mileage)[:, None], axis=1)
    i = np.maximum(i, 1)
    rows = np.arange(s.shape[0])
    x0, x1 = es[rows, i - 1], es[rows, i]
    f0, f1 = f[rows, i - 1], f[rows, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(f1 > f0, x0 + (target - f0) * (x1 - x0) / (f1 - f0), x1)
    return np.where(mileage > 0.0, np.clip(u, x0, x1), 0.0)


def requirement_per_hour(
    signal_2s: ArrayLike, dt_s: float = 2.0, score_target: float = 1.0
) -> NDArray[np.float64]:
    """Per-unit requirement r_t(q) of every clock hour of a normalized AGC signal (eq. RQ).

    ``r_t(q)`` is the smallest per-unit power limit u (kW of capability per kW of bid) such that a
    fleet that follows ``C s`` clipped to ``[-u C, u C]`` earns an hourly performance score
    (delivered / requested mileage, :func:`v2gsim.market.agc.follow_signal`) of at least ``q``. With
    ``q = 1`` it is the peak ``max_k |s_k|`` of the hour. Hours with zero mileage (a constant signal,
    which the TSO does not score) have requirement 0. See the module docstring for the relation to
    the chance constraint (R1) and bounds (3)/(4) of models.md §1.4.

    Args:
        signal_2s: normalized signal (per-unit, in [-1, 1]), 1-D with a whole number of hours
            starting at the top of an hour, or an ``(H, 3600/dt_s)`` array of hours.
        dt_s: sample period (s).
        score_target: performance score q in (0, 1] the capability must secure (-).

    Returns:
        ``(H,)`` requirements, kW per kW of bid (per-unit), each in ``[0, max |s|]``.

    Raises:
        ValueError: on a malformed signal or ``score_target`` outside (0, 1].
    """
    q = float(score_target)
    if not 0.0 < q <= 1.0:
        raise ValueError(f"score_target must lie in (0, 1], got {score_target!r}")
    s = _hours_matrix(signal_2s, dt_s)
    out = np.empty(s.shape[0])
    for i in range(0, s.shape[0], _CHUNK_HOURS):
        out[i : i + _CHUNK_HOURS] = _requirement_chunk(s[i : i + _CHUNK_HOURS], q)
    return out


def score_at_capability(
    signal_2s: ArrayLike,
    u_up: ArrayLike,
    u_down: ArrayLike | None = None,
    dt_s: float = 2.0,
) -> NDArray[np.float64]:
    """Exact hourly score of a follower limited to ``[-u_down, u_up]`` per unit of bid.

    ``score = F(u_up, u_down) / F(∞)``, with ``F`` the mileage of the signal clipped to
    ``[-u_down, u_up]``: the score :func:`v2gsim.market.agc.follow_signal` returns for a bid C and
    power limits ``p_up = u_up C``, ``p_down = u_down C`` and no energy limit (the delivered power is
    the clipped request, so ``min(|Δd|, |Δr|) = |Δd|``).

    Args:
        signal_2s: normalized signal, as in :func:`requirement_per_hour`.
        u_up: up-capability per kW of bid (kW/kW), scalar or ``(H,)``, >= 0.
        u_down: down-capability per kW of bid (kW/kW); default ``u_up`` (symmetric).
        dt_s: sample period (s).

    Returns:
        ``(H,)`` scores in [0, 1], NaN for hours with zero mileage.

    Raises:
        ValueError: on a malformed signal or negative limits.
    """
    s = _hours_matrix(signal_2s, dt_s)
    up = np.broadcast_to(np.asarray(u_up, dtype=np.float64), (s.shape[0],))
    down = up if u_down is None else np.broadcast_to(np.asarray(u_down, dtype=np.float64), up.shape)
    if np.any(up < 0) or np.any(down < 0) or np.isnan(up).any() or np.isnan(down).any():
        raise ValueError("u_up and u_down must be >= 0")
    clipped = np.clip(s, -down[:, None], up[:, None])
    total = row_mileage(s)
    got = row_mileage(clipped)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, got / total, np.nan)


@dataclass(frozen=True, eq=False)
class RequirementStats:
    """Requirement statistics per hour of day (models.md §1.4: r̄_t, σ^f_t, σ^b_t) and mileage.

    Attributes:
        r_bar: ``(H,)`` mean requirement r̄_t (kW per kW of bid).
        sigma_f: ``(H,)`` forward deviation σ^f_t of r̃_t (R3), used by bound (3) (kW/kW).
        sigma_b: ``(H,)`` backward deviation σ^b_t of r̃_t (R3), used by bound (4) (kW/kW).
        std: ``(H,)`` standard deviation of r̃_t (kW/kW), a lower bound of both deviations.
        mean_mileage: ``(H,)`` mean hourly signal mileage Σ|Δs| per hour of day (ΔMW/MW), always
            per hour (never pooled).
        samples: ``(D, H)`` requirement of every sampled day and hour (kW/kW).
        mileage: ``(D, H)`` signal mileage of every sampled day and hour (ΔMW/MW).
        score_target: score q the requirement secures (eq. RQ).
        pooled: whether r̄, σ^f, σ^b were pooled across the hours of the day.
    """

    r_bar: NDArray[np.float64]
    sigma_f: NDArray[np.float64]
    sigma_b: NDArray[np.float64]
    std: NDArray[np.float64]
    mean_mileage: NDArray[np.float64]
    samples: NDArray[np.float64]
    mileage: NDArray[np.float64]
    score_target: float
    pooled: bool

    @property
    def hours(self) -> int:
        """Number of hours of day H."""
        return int(self.r_bar.shape[0])

    @property
    def days(self) -> int:
        """Number of sampled days D."""
        return int(self.samples.shape[0])

    def at_hours(self, hours: int) -> RequirementStats:
        """The statistics of a day of ``hours`` slots T: slot t gets those of hour ``t mod H``.

        A simulated day (``network.hours``, 2-48) starts at clock hour 0, so slot t is clock hour
        ``t mod 24``: statistics of the H = min(T, 24) first hours of a clock day cover every slot
        (``T <= H`` keeps the first T; itself when equal). Raises ValueError for T < 1.

        Returns:
            Statistics with ``(T,)`` arrays and ``(D, T)`` samples and mileages.
        """
        T = int(hours)
        if T < 1:
            raise ValueError(f"hours must be >= 1, got {hours}")
        if T == self.hours:
            return self
        idx = np.arange(T) % self.hours
        hourly = {k: getattr(self, k)[idx] for k in ("r_bar", "sigma_f", "sigma_b", "std", "mean_mileage")}
        return replace(self, **hourly, samples=self.samples[:, idx], mileage=self.mileage[:, idx])

    def sigma(self, bound: int) -> NDArray[np.float64]:
        """The deviation bound (3) uses (σ^f) or bound (4) uses (σ^b), ``(H,)`` kW/kW."""
        if bound == 3:
            return self.sigma_f
        if bound == 4:
            return self.sigma_b
        raise ValueError(f"bound must be 3 or 4, got {bound!r}")

    # -------------------------------------------------------------- constructors
    @classmethod
    def from_samples(
        cls,
        samples: ArrayLike,
        mileage: ArrayLike,
        *,
        score_target: float = 1.0,
        pool: Pooling = "auto",
        min_days_per_hour: int = 30,
    ) -> RequirementStats:
        """Statistics from ``(D, H)`` per-day, per-hour requirements and mileages.

        Args:
            samples: ``(D, H)`` requirements r_t(q) (kW/kW).
            mileage: ``(D, H)`` hourly signal mileages (ΔMW/MW).
            score_target: the q the samples were computed with (kept for reference).
            pool: ``"hour"`` per-hour estimates (needs D >= 2), ``"pooled"`` one estimate from all
                D·H samples broadcast to every hour, ``"auto"`` pooled iff D < ``min_days_per_hour``
                (see the module docstring).
            min_days_per_hour: threshold of ``"auto"`` (days).

        Returns:
            The statistics.

        Raises:
            ValueError: on shape mismatch, too few samples, or an unknown ``pool``.
        """
        r = np.asarray(samples, dtype=np.float64)
        mil = np.asarray(mileage, dtype=np.float64)
        if r.ndim != 2 or r.shape != mil.shape or r.shape[1] < 1:
            raise ValueError(f"samples and mileage must be equal (D, H) arrays, got {r.shape}, {mil.shape}")
        if pool not in ("auto", "hour", "pooled"):
            raise ValueError(f"pool must be 'auto', 'hour' or 'pooled', got {pool!r}")
        d, h = r.shape
        pooled = pool == "pooled" or (pool == "auto" and d < min_days_per_hour)
        if pooled:
            if r.size < 2:
                raise ValueError("need at least 2 day-hours of requirement samples")
            dev = forward_backward(r.ravel())
            r_bar = np.full(h, dev.mean)
            sf, sb, sd = (np.full(h, x) for x in (dev.sigma_f, dev.sigma_b, dev.std))
        else:
            if d < 2:
                raise ValueError(f"per-hour statistics need at least 2 days, got {d}")
            devs = [forward_backward(r[:, t]) for t in range(h)]
            r_bar = np.array([x.mean for x in devs])
            sf = np.array([x.sigma_f for x in devs])
            sb = np.array([x.sigma_b for x in devs])
            sd = np.array([x.std for x in devs])
        return cls(
            r_bar=r_bar,
            sigma_f=sf,
            sigma_b=sb,
            std=sd,
            mean_mileage=mil.mean(axis=0),
            samples=r,
            mileage=mil,
            score_target=float(score_target),
            pooled=bool(pooled),
        )

    @classmethod
    def from_signals(
        cls,
        signals: Sequence[ArrayLike],
        *,
        dt_s: float = 2.0,
        score_target: float = 1.0,
        hours: int | None = None,
        pool: Pooling = "auto",
        min_days_per_hour: int = 30,
    ) -> RequirementStats:
        """Statistics from a list of day signals (each 1-D, whole hours from 00:00).

        Args:
            signals: one normalized signal per day (per-unit).
            dt_s: sample period (s).
            score_target: score q of the requirement (eq. RQ).
            hours: hours of day to keep (the first ``hours``); default: the shortest day.
            pool: see :meth:`from_samples`.
            min_days_per_hour: see :meth:`from_samples`.

        Returns:
            The statistics over ``len(signals)`` days.

        Raises:
            ValueError: with no signals, a malformed one, or a day shorter than ``hours``.
        """
        if len(signals) == 0:
            raise ValueError("need at least one day signal")
        days = [_hours_matrix(s, dt_s) for s in signals]
        h = min(x.shape[0] for x in days) if hours is None else int(hours)
        if h < 1 or any(x.shape[0] < h for x in days):
            raise ValueError(f"every day needs at least {h} >= 1 hours")
        stacked = np.concatenate([x[:h] for x in days], axis=0)
        r = requirement_per_hour(stacked, dt_s=dt_s, score_target=score_target).reshape(len(days), h)
        mil = row_mileage(stacked).reshape(len(days), h)
        return cls.from_samples(
            r, mil, score_target=score_target, pool=pool, min_days_per_hour=min_days_per_hour
        )

    @classmethod
    def from_synthetic(
        cls,
        rng: np.random.Generator,
        days: int,
        mean_hourly_mileage: float,
        *,
        dt_s: float = 2.0,
        score_target: float = 1.0,
        hours: int = 24,
        pool: Pooling = "auto",
        min_days_per_hour: int = 30,
    ) -> RequirementStats:
        """Statistics of ``days`` days of :func:`v2gsim.market.agc.synthetic_regd`.

        The generator runs with its defaults (15-min neutrality, 13 % saturation) as the TSO does,
        over ``days`` consecutive days from one ``rng``.

        Args:
            rng: the only source of randomness (seeded by the caller).
            days: number of synthetic days (>= 1).
            mean_hourly_mileage: target mean hourly mileage of the generator (ΔMW/MW).
            dt_s: sample period (s).
            score_target: score q of the requirement (eq. RQ).
            hours: hours of day kept (<= 24).
            pool: see :meth:`from_samples`.
            min_days_per_hour: see :meth:`from_samples`.

        Returns:
            The statistics.
        """
        sig = synthetic_regd(rng, days=int(days), dt_s=dt_s, mean_hourly_mileage=mean_hourly_mileage)
        per_day = 24 * samples_per_hour(dt_s)
        day_signals = [sig[i * per_day : (i + 1) * per_day] for i in range(int(days))]
        return cls.from_signals(
            day_signals, dt_s=dt_s, score_target=score_target, hours=hours, pool=pool,
            min_days_per_hour=min_days_per_hour,
        )

    @classmethod
    def from_pjm_files(
        cls,
        paths: Sequence[str | Path],
        *,
        score_target: float = 1.0,
        hours: int | None = None,
        pool: Pooling = "auto",
        min_days_per_hour: int = 30,
    ) -> RequirementStats:
        """Statistics of PJM RegD 2-s CSV files, one day each (:func:`v2gsim.market.agc.read_pjm_regd`).

        Args:
            paths: CSV files (``pjm_regd_2s_2020-07/regd_2s_*.csv``).
            score_target: score q of the requirement (eq. RQ).
            hours: hours of day kept; default: the shortest file.
            pool: see :meth:`from_samples` (2 files give 2 days: pooled under ``"auto"``).
            min_days_per_hour: see :meth:`from_samples`.

        Returns:
            The statistics.
        """
        signals = [read_pjm_regd(p) for p in paths]
        return cls.from_signals(
            signals, dt_s=2.0, score_target=score_target, hours=hours, pool=pool,
            min_days_per_hour=min_days_per_hour,
        )


def net_discharge_stats(
    day_signals: Sequence[ArrayLike], *, hours: int = 24, dt_s: float = 2.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Net discharge per kW of bid over each hour, for the state-of-charge guarantee (models.md E3).

    Following the signal ``s`` with a bid of 1 kW discharges ``γ = Σ_k s_k dt / 3600`` kWh in the
    hour (the hour's mean of ``s`` times 1 h; discharge positive, as in :mod:`v2gsim.market.agc`).
    The mean γ̄_t is taken per hour of day; the forward deviation of ``γ − γ̄_t`` is pooled over all
    hours and days (a day gives one sample per hour, too few for per-hour deviations).

    Args:
        day_signals: one 2-s signal per day.
        hours: hours of day (h).
        dt_s: sample period (s).

    Returns:
        ``(gamma_bar, sigma_f)``, each (hours,), in kWh per kW of bid.
    """
    per_hour = samples_per_hour(dt_s)
    rows = []
    for sig in day_signals:
        s = np.asarray(sig, dtype=np.float64)[: hours * per_hour]
        if s.size < hours * per_hour:
            raise ValueError(f"a day signal has {s.size} samples, need {hours * per_hour}")
        rows.append(s.reshape(hours, per_hour).mean(axis=1))
    g = np.vstack(rows)  # (days, hours), kWh per kW
    gamma_bar = g.mean(axis=0)
    resid = (g - gamma_bar).ravel()
    sigma_f = forward_backward(resid).sigma_f if resid.size > 1 else 0.0
    return gamma_bar, np.full(hours, float(sigma_f))

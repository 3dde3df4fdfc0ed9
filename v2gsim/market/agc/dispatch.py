"""Signal following: a power- and energy-limited fleet delivering ``bid · s`` (:func:`follow_signal`).

Sign convention: see :mod:`v2gsim.market.agc` (``+1`` = regulation up = discharge). The hourly
performance score is the mileage ratio of models.md §1.4 (fulfilled / total mileage). Pure numpy,
vectorized over hours and samples; the only Python loops are over energy-limited hours and
bound-switching episodes of the saturating integrator, never over 2-s samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.market.agc.mileage import SECONDS_PER_HOUR, abs_steps

__all__ = ["FollowResult", "follow_signal"]


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


def _check_inputs(
    signal: ArrayLike,
    bid_kw: ArrayLike,
    p_up_kw: ArrayLike,
    p_down_kw: ArrayLike,
    e_up_kwh: ArrayLike,
    e_down_kwh: ArrayLike,
    dt_s: float,
) -> tuple[NDArray[np.float64], ...]:
    """Validate the arguments of :func:`follow_signal`; return the signal and the ``(H,)`` limits.

    Returns:
        ``(signal, bid, p_up, p_down, e_up, e_down)``: the ``(H, n)`` signal and five ``(H,)``
        arrays.
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
    return s, bid, p_up, p_down, e_up, e_down


def _limit_energy(
    delivered: NDArray[np.float64],
    e_up: NDArray[np.float64],
    e_down: NDArray[np.float64],
    h: float,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Keep the hourly cumulative energy of ``delivered`` (kW, ``(H, n)``) in ``[-e_down, e_up]``.

    The unconstrained cumulative energy is computed for all hours at once; only the hours whose path
    leaves the band are recomputed, in place, by :func:`_saturating_integrator`. ``h`` is the
    sample period in hours.

    Returns:
        ``(energy, limited)``: the cumulative energy discharged since the start of the hour, kWh,
        ``(H, n)``, and the ``(H,)`` mask of the recomputed hours.
    """
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
    return energy, limited


def _result(
    requested: NDArray[np.float64],
    delivered: NDArray[np.float64],
    energy: NDArray[np.float64],
    limited: NDArray[np.bool_],
) -> FollowResult:
    """Mileages and score ``Σ min(|Δd|, |Δr|) / Σ |Δr|`` per hour, as a :class:`FollowResult`."""
    d_req = abs_steps(requested)
    d_del = abs_steps(delivered)
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
    s, bid, p_up, p_down, e_up, e_down = _check_inputs(
        signal, bid_kw, p_up_kw, p_down_kw, e_up_kwh, e_down_kwh, dt_s
    )
    h = dt_s / SECONDS_PER_HOUR  # hours per sample
    requested = bid[:, None] * s
    delivered = np.clip(requested, -p_down[:, None], p_up[:, None])
    energy, limited = _limit_energy(delivered, e_up, e_down, h)
    return _result(requested, delivered, energy, limited)

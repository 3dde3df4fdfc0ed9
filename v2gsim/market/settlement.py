"""Regulation market settlement: capability and performance credits per hour.

Follows the PJM regulation-credit rules of PJM Manual 28 "Operating Agreement Accounting" (section
on Regulation accounting), for a resource with a cleared regulation assignment of ``C_t`` MW in hour
``t`` and an actual performance score ``score_t`` (0–1):

* Regulation Market **Capability** Credit = ``C_t`` [MW] × RMCCP [$/MW-h] × performance score
  (× 1 h);
* Regulation Market **Performance** Credit = ``C_t`` [MW] × mileage [ΔMW/MW] × RMPCP [$/ΔMW] ×
  performance score, where PJM uses the *mileage ratio* for RegD resources (RegD mileage / RegA
  mileage of the hour; 1 for RegA resources).

The ``mileage`` argument of :func:`settle` is therefore a modelling choice, made explicit by
:func:`settlement_mileage`: either the hour's per-unit signal mileage (``Σ|Δs|`` of the normalized
signal the fleet followed; the "performance price × mileage" form of models.md §1.4 and of the 000
seed) or PJM's mileage ratio ``regd / rega``. The model works in kW; bids are converted to MW here
(``/1000``). Credits are in dollars per hour of settlement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["Settlement", "settle", "settlement_mileage"]

KW_PER_MW = 1000.0


@dataclass(frozen=True, eq=False)
class Settlement:
    """Hourly regulation credits.

    Attributes:
        bid_mw: Regulation capacity ``C_t``, MW, shape ``(H,)``.
        score: Performance score used (NaN = no bid / nothing requested), shape ``(H,)``.
        capability_credit: Capability credit, $, shape ``(H,)``.
        performance_credit: Performance credit, $, shape ``(H,)``.
    """

    bid_mw: NDArray[np.float64]
    score: NDArray[np.float64]
    capability_credit: NDArray[np.float64]
    performance_credit: NDArray[np.float64]

    @property
    def total_credit(self) -> NDArray[np.float64]:
        """Capability plus performance credit, $, shape ``(H,)``."""
        return self.capability_credit + self.performance_credit

    def to_frame(self) -> pd.DataFrame:
        """One row per hour: ``bid_mw``, ``score``, ``capability_credit``, ``performance_credit``,
        ``total_credit`` (MW, –, $, $, $)."""
        return pd.DataFrame(
            {
                "bid_mw": self.bid_mw,
                "score": self.score,
                "capability_credit": self.capability_credit,
                "performance_credit": self.performance_credit,
                "total_credit": self.total_credit,
            }
        )


def settle(
    bid_kw: ArrayLike,
    score: ArrayLike,
    capability_price: ArrayLike,
    performance_price: ArrayLike,
    mileage: ArrayLike,
) -> Settlement:
    """Hourly PJM-style regulation credits (PJM Manual 28; see the module docstring).

    ``capability_credit = C[MW] · capability_price · score`` and
    ``performance_credit = C[MW] · mileage · performance_price · score``, with
    ``C = bid_kw / 1000``. An hour with a NaN score (no bid, or nothing requested) pays 0. NaN
    prices or mileage (missing market data) propagate as NaN credits rather than being silently
    treated as 0.

    Args:
        bid_kw: Regulation capacity bid per hour, kW (≥ 0), shape ``(H,)`` or scalar.
        score: Performance score per hour in ``[0, 1]`` or NaN, e.g. ``FollowResult.score``.
        capability_price: RMCCP per hour, $/MW-h.
        performance_price: RMPCP per hour, $/ΔMW.
        mileage: Mileage per hour used for the performance credit, ΔMW/MW: the hour's per-unit
            signal mileage or PJM's RegD/RegA mileage ratio (see :func:`settlement_mileage`).

    Returns:
        A :class:`Settlement` with arrays of the broadcast shape ``(H,)``.

    Raises:
        ValueError: If a bid is negative or not finite, a score lies outside ``[0, 1]``, a mileage
            is negative, or the shapes do not broadcast to one dimension.
    """
    arrays = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in
          (bid_kw, score, capability_price, performance_price, mileage))
    )  # fmt: skip
    bid, sc, cap_price, perf_price, mil = (np.array(a, dtype=np.float64) for a in arrays)
    if bid.ndim != 1:
        raise ValueError(f"arguments must broadcast to shape (H,), got {bid.shape}")
    if not np.isfinite(bid).all() or (bid < 0).any():
        raise ValueError("bid_kw must be finite and non-negative")
    if ((sc < 0) | (sc > 1)).any():
        raise ValueError("score must lie in [0, 1] (or be NaN for hours without a bid)")
    if (mil < 0).any():
        raise ValueError("mileage must be non-negative")
    bid_mw = bid / KW_PER_MW
    paid = ~np.isnan(sc)
    sc_used = np.where(paid, sc, 0.0)
    capability = np.where(paid, bid_mw * cap_price * sc_used, 0.0)
    performance = np.where(paid, bid_mw * mil * perf_price * sc_used, 0.0)
    return Settlement(
        bid_mw=bid_mw, score=sc, capability_credit=capability, performance_credit=performance
    )


def settlement_mileage(
    hourly_signal_mileage: ArrayLike,
    basis: Literal["signal", "ratio"],
    rega_mileage: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """The per-hour mileage factor used by :func:`settle` for the performance credit.

    Args:
        hourly_signal_mileage: Per-unit mileage of the followed (RegD) signal per hour, ΔMW/MW, e.g.
            from :func:`v2gsim.market.agc.hourly_mileage` or PJM's ``regd_hourly``.
        basis: ``"signal"`` returns the signal mileage itself (performance credit = C × RMPCP ×
            Σ|Δs| × score). ``"ratio"`` returns PJM's mileage ratio ``regd / rega`` for RegD
            resources.
        rega_mileage: RegA mileage per hour, ΔMW/MW (PJM's ``rega_hourly``); required for
            ``"ratio"``.

    Returns:
        Mileage factor per hour, ΔMW/MW (dimensionless for ``"ratio"``). For ``"ratio"`` an hour
        with zero RegA mileage has an undefined ratio and gets NaN (2016 has such hours); the caller
        decides how to fill it (e.g. ``np.nan_to_num(x, nan=1.0)`` to pay as RegA).

    Raises:
        ValueError: On an unknown basis, a missing or mis-shaped ``rega_mileage``, or negative
            mileage.
    """
    regd = np.asarray(hourly_signal_mileage, dtype=np.float64)
    if (regd < 0).any():
        raise ValueError("hourly_signal_mileage must be non-negative")
    if basis == "signal":
        return regd.copy()
    if basis != "ratio":
        raise ValueError(f"basis must be 'signal' or 'ratio', got {basis!r}")
    if rega_mileage is None:
        raise ValueError("basis='ratio' needs rega_mileage")
    rega = np.asarray(rega_mileage, dtype=np.float64)
    if rega.shape != regd.shape and rega.ndim != 0:
        raise ValueError(f"rega_mileage shape {rega.shape} differs from {regd.shape}")
    if (rega < 0).any():
        raise ValueError("rega_mileage must be non-negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rega > 0, regd / np.where(rega > 0, rega, 1.0), np.nan)

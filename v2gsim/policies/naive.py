"""Policy ``naive``: no rebates; bid a fixed fraction of the plugged-in capacity seen recently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.policies.base import Decision, Observation, PolicyInputs

__all__ = ["NaivePolicy", "NaiveSpec", "make_naive"]


@dataclass(frozen=True)
class NaiveSpec:
    """Settings of ``naive`` (``[platform.naive]``; defaults in :class:`v2gsim.config.platform.NaiveConfig`).

    Attributes:
        bid_fraction: bid C_t as this fraction of the plugged-in charger capacity (-).
        lookback_days: days of observed plug-ins averaged per hour (days).
    """

    bid_fraction: float
    lookback_days: int
    name: str = "naive"


@dataclass
class NaivePolicy:
    """Baseline: no rebates; bid a fixed fraction of the plugged-in capacity seen in recent days.

    ``C_t = bid_fraction * psi * mean_{last lookback_days}(K_t)`` (kW), where K_t is the realized
    number of EVs plugged in during hour t. With no history yet (day 0) it bids nothing. With
    ``bid_fraction <= 1`` the bid never exceeds the capability of the EVs it expects (its
    prediction is the mean of the observed plug-ins), nor the fleet's ``psi M``.

    Raises:
        ValueError: ``bid_fraction`` outside [0, 1] or ``lookback_days < 1``.
    """

    bid_fraction: float
    lookback_days: int
    name: str = "naive"

    def __post_init__(self) -> None:
        if not 0.0 <= self.bid_fraction <= 1.0:
            raise ValueError(f"bid_fraction must lie in [0, 1] (a bid beyond the plugged EVs' "
                             f"capability cannot be delivered), got {self.bid_fraction}")
        if self.lookback_days < 1:
            raise ValueError(f"lookback_days must be >= 1, got {self.lookback_days}")

    def decide(self, obs: Observation) -> Decision:
        """Bid the fraction of the average plugged-in capacity per hour; no rebates."""
        hist = obs.plugged_history[-self.lookback_days :]
        if hist.shape[0] == 0:
            bid = np.zeros(obs.hours)
        else:
            bid = self.bid_fraction * obs.charger_kw * hist.mean(axis=0)
        return Decision(rebate=np.zeros(obs.hours), bid_kw=bid, info={"history_days": hist.shape[0]})


def make_naive(spec: NaiveSpec, inputs: PolicyInputs) -> NaivePolicy:
    """Build ``naive`` (it needs no inputs)."""
    return NaivePolicy(bid_fraction=spec.bid_fraction, lookback_days=spec.lookback_days)

"""Response probability of EV users to a charging discount or discharging subsidy (seed 003, models.md (W)).

RECONSTRUCTED (models.md §4.2 (W)): the seed's §3.3 ("utility functions and response probabilities")
is a heading only. Two replaceable forms, each a frozen dataclass with ``prob(delta)``:

* piecewise linear: ``π(δ) = 0`` for ``δ <= δ_0`` (dead zone), ``π_max (δ - δ_0)/(δ_s - δ_0)`` between,
  ``π_max`` for ``δ >= δ_s`` (saturation);
* logit: ``π(δ) = π_max / (1 + exp(-(β_0 + β_1 δ - β_2 · inconvenience)))``.

``δ`` is an incentive in currency per kWh (a discount off the charging price or a subsidy per kWh
discharged). :class:`ClusterWillingness` holds one form per EV model or driver cluster and evaluates
a whole fleet by its cluster labels. Responding EVs: ``N^resp = π(δ) N^avail``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["ClusterWillingness", "Logit", "PiecewiseLinear", "Willingness", "sample_responses"]


class Willingness(Protocol):
    """Anything with ``prob(delta) -> array`` of response probabilities in [0, 1]."""

    def prob(self, delta: np.ndarray | float) -> np.ndarray:
        """Response probability at incentive ``delta`` (currency/kWh)."""
        ...


@dataclass(frozen=True)
class PiecewiseLinear:
    """Dead zone ``dead`` (δ_0), saturation ``saturation`` (δ_s > δ_0), maximum share ``pi_max``."""

    dead: float
    saturation: float
    pi_max: float

    def __post_init__(self) -> None:
        if not self.saturation > self.dead:
            raise ValueError(f"PiecewiseLinear.saturation: must exceed dead ({self.dead}), "
                             f"got {self.saturation}")
        if not 0.0 <= self.pi_max <= 1.0:
            raise ValueError(f"PiecewiseLinear.pi_max: must lie in [0, 1], got {self.pi_max}")

    def prob(self, delta: np.ndarray | float) -> np.ndarray:
        """(W) piecewise linear π(δ)."""
        frac = (np.asarray(delta, dtype=float) - self.dead) / (self.saturation - self.dead)
        return self.pi_max * np.clip(frac, 0.0, 1.0)


@dataclass(frozen=True)
class Logit:
    """``π = π_max / (1 + exp(-(β_0 + β_1 δ - β_2 · inconvenience)))``; β_1 >= 0 per currency/kWh."""

    beta0: float
    beta1: float
    beta2: float
    inconvenience: float
    pi_max: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.pi_max <= 1.0:
            raise ValueError(f"Logit.pi_max: must lie in [0, 1], got {self.pi_max}")
        if self.beta1 < 0:
            raise ValueError(f"Logit.beta1: must be >= 0 (a larger incentive never repels), got {self.beta1}")

    def prob(self, delta: np.ndarray | float) -> np.ndarray:
        """(W) logit π(δ)."""
        z = self.beta0 + self.beta1 * np.asarray(delta, dtype=float) - self.beta2 * self.inconvenience
        return self.pi_max / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class ClusterWillingness:
    """One willingness form per EV model or driver cluster (label -> form)."""

    forms: Mapping[str, Willingness]

    def prob(self, delta: float, labels: np.ndarray) -> np.ndarray:
        """Per-EV response probability (M,) at one incentive for EVs with cluster ``labels`` (M,)."""
        labels = np.asarray(labels)
        missing = set(np.unique(labels).tolist()) - set(self.forms)
        if missing:
            raise ValueError(f"ClusterWillingness: no willingness form for cluster(s) {sorted(missing)}; "
                             f"known: {sorted(self.forms)}")
        out = np.empty(labels.shape, dtype=float)
        for name, form in self.forms.items():
            mask = labels == name
            out[mask] = form.prob(delta)
        return out

    def share(self, delta: float, labels: np.ndarray) -> float:
        """Expected responding share of a fleet with these labels."""
        return float(self.prob(delta, labels).mean()) if np.size(labels) else 0.0


def sample_responses(prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli draw: which EVs respond, given their probabilities (any shape)."""
    return rng.random(np.shape(prob)) < prob

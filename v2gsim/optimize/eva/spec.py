"""Plain settings of the seed-003 aggregator model and the policy ``eva`` (built from ``[platform.eva]``).

:class:`EvaSpec` is the plain form of the table (built by :func:`v2gsim.specs.build.eva_spec`); its
fields have no defaults: the scenario's are the schema's (:class:`v2gsim.config.eva.EvaConfig`).

RECONSTRUCTED (models.md §4.2): every number a scenario puts here is ours unless its file says it is
the seed's; the seed's extraction holds no parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from v2gsim.optimize.eva.instance import MarketDay, RevenueInputs, build_inputs
from v2gsim.optimize.eva.population import PopulationSpec, sample_sessions
from v2gsim.optimize.eva.regions import EVSessions
from v2gsim.optimize.eva.willingness import ClusterWillingness, Willingness

__all__ = ["EvaSpec", "FleetShare", "instance_from_spec"]


@dataclass(frozen=True)
class FleetShare:
    """Fleet-average response share ``π(δ) = mean_i π_{cluster(i)}(δ)`` (a :class:`Willingness`)."""

    clusters: ClusterWillingness
    labels: np.ndarray

    def prob(self, delta: np.ndarray | float) -> np.ndarray:
        """Expected share of the fleet responding at each incentive in ``delta``."""
        d = np.atleast_1d(np.asarray(delta, dtype=float))
        out = np.array([self.clusters.share(float(v), self.labels) for v in d])
        return out if np.ndim(delta) else out[0]


@dataclass(frozen=True)
class EvaSpec:
    """Settings of one aggregator day (and of the ``eva`` policy).

    Attributes:
        mode: ``cbdr`` (discounts only), ``dbdr`` (subsidies only) or ``hybrid`` (both).
        evs: EVs sampled for the plan; population: their distributions.
        day: prices, TSO windows and requests.
        discount_levels, subsidy_levels: discrete incentive levels (currency/kWh), first 0.
        discount_forms, subsidy_forms: willingness form per cluster.
        cluster_weights: share of the fleet per cluster (sums to 1).
        discount_in_purchase: net charging discounts into the purchase cost (seed's Table 1 layout).
        seed: seed of the plan's sampled fleet.
        drivers_see: ``"none"`` or ``"rebate"``: how policy ``eva``'s incentives reach the drivers'
            plug-in choice (:mod:`v2gsim.policies.eva`).
        exchange_rate: $ per unit of the prices' currency (the rebates are in $).
    """

    mode: str
    evs: int
    population: PopulationSpec
    day: MarketDay
    discount_levels: tuple[float, ...]
    subsidy_levels: tuple[float, ...]
    discount_forms: Mapping[str, Willingness]
    subsidy_forms: Mapping[str, Willingness]
    cluster_weights: Mapping[str, float]
    discount_in_purchase: bool
    seed: int
    drivers_see: str
    exchange_rate: float
    name: str = "eva"

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Discount and subsidy levels in use by the mode (an instrument off has the single level 0)."""
        disc = np.asarray(self.discount_levels if self.mode in ("cbdr", "hybrid") else (0.0,), float)
        sub = np.asarray(self.subsidy_levels if self.mode in ("dbdr", "hybrid") else (0.0,), float)
        return disc, sub

    def labels(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Cluster label of each of n EVs, drawn by ``cluster_weights``."""
        names = sorted(self.cluster_weights)
        w = np.array([self.cluster_weights[k] for k in names], float)
        return np.asarray(names)[rng.choice(len(names), size=n, p=w / w.sum())]


def instance_from_spec(spec: EvaSpec, ev: EVSessions | None = None, labels: np.ndarray | None = None
                       ) -> tuple[RevenueInputs, EVSessions, np.ndarray]:
    """The revenue instance (O) of a spec: sampled fleet (or ``ev``), cluster labels, willingness."""
    rng = np.random.default_rng(spec.seed)
    if ev is None:
        ev = sample_sessions(spec.population, spec.evs, rng)
    if labels is None:
        labels = spec.labels(ev.M, rng)
    disc, sub = spec.levels()
    on = {"cbdr": (True, False), "dbdr": (False, True), "hybrid": (True, True)}[spec.mode]
    d_form = FleetShare(ClusterWillingness(spec.discount_forms), labels)
    s_form = FleetShare(ClusterWillingness(spec.subsidy_forms), labels)
    x = build_inputs(ev, spec.day, disc, d_form, sub, s_form, discount_in_purchase=spec.discount_in_purchase)
    if not on[0]:
        x = replace(x, pi_disc=np.zeros(1))
    if not on[1]:
        x = replace(x, pi_sub=np.zeros(1))
    return x, ev, labels

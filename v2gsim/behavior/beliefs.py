"""The platform's beliefs about drivers: one persistency model per driver cluster (models.md D5, E1).

Predicts the hourly plug-in persistency ``y_ct`` of every cluster c for given hourly rebates and the
expected number of EVs plugged in, ``E[K_t] = sum_c M_c y_ct``. The persistency model is built once
per cluster network and re-solved (Newton on the dual D4, falling back to the primal SOCP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from v2gsim.behavior.persistency import PersistencyModel, PersistencyResult
from v2gsim.network import PLUG, ActivityNetwork

__all__ = ["ClusterBeliefs", "PlugPrediction"]


@dataclass(frozen=True)
class PlugPrediction:
    """Predicted plug-ins for one day.

    Attributes:
        y: (K, T) persistency of plug-in arcs per cluster and hour (fraction of the cluster, -).
        expected: (T,) expected number of EVs plugged in, sum_c M_c y_ct.
        results: per-cluster persistency solutions (arc level).
    """

    y: np.ndarray
    expected: np.ndarray
    results: list[PersistencyResult] = field(default_factory=list)


class ClusterBeliefs:
    """Persistency models of the driver clusters the platform believes in.

    Args:
        networks: one activity network per cluster, carrying the believed ``mu`` and ``sigma`` ($).
        sizes: number of drivers M_c of each cluster.
        method: persistency solution method (``newton``, ``primal`` or ``dual``).
    """

    def __init__(self, networks: Sequence[ActivityNetwork], sizes: Sequence[int],
                 method: str = "newton"):
        self.networks = list(networks)
        self.sizes = np.asarray(sizes, dtype=float)
        self.models = [PersistencyModel(n.incidence, n.supply, n.sigma, method=method)
                       for n in self.networks]
        self.hours = self.networks[0].hours

    def arc_rebate(self, k: int, rebate: np.ndarray) -> np.ndarray:
        """Rebate of every arc of cluster ``k``'s network for hourly rebates (zero off plug arcs)."""
        net = self.networks[k]
        return np.where(net.kind == PLUG, np.asarray(rebate, dtype=float)[net.hour], 0.0)

    def predict(self, rebate: np.ndarray | None = None) -> PlugPrediction:
        """Persistency of every cluster under hourly ``rebate`` ($ per plugged EV-hour)."""
        rebate = np.zeros(self.hours) if rebate is None else np.asarray(rebate, dtype=float)
        ys, results = [], []
        for k, (net, model) in enumerate(zip(self.networks, self.models, strict=True)):
            res = model.solve(net.mu, net.sigma, rebate=self.arc_rebate(k, rebate))
            results.append(res)
            ys.append(net.plug_hours.astype(float) @ res.y)
        y = np.vstack(ys)
        return PlugPrediction(y=y, expected=self.sizes @ y, results=results)

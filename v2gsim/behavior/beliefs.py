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
from v2gsim.behavior.scenario_calibration import calibrate_place
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

    def charger_places(self, k: int) -> list[str]:
        """Places of cluster ``k``'s network that have plug-in arcs."""
        net = self.networks[k]
        return [net.place_names[p] for p in np.unique(net.place[net.kind == PLUG])]

    def recalibrate(self, observed: dict[tuple[int, str], np.ndarray],
                    rebate: np.ndarray | None = None) -> dict[tuple[int, str], float]:
        """Re-fit the plug-in utilities to observed plug-in frequencies (models.md C1-C4).

        Each cluster's hourly plug-in means at each charger place are calibrated with
        :func:`~v2gsim.behavior.scenario_calibration.calibrate_place` (other utilities and all
        standard deviations stay as believed), starting from the current beliefs. The
        observations were made under rebates, so the fit is done on ``mu + rebate`` and the
        rebate is taken off again afterwards.

        Args:
            observed: (cluster index, place) -> (T,) mean fraction of the cluster plugged in at
                the place in each hour over the observation window (-).
            rebate: (T,) mean rebate paid in each hour over the window ($/EV-h).

        Returns:
            (cluster, place) -> max |model y - target| after calibration (-).
        """
        rebate = np.zeros(self.hours) if rebate is None else np.asarray(rebate, dtype=float)
        errors = {}
        for k, net in enumerate(self.networks):
            shift = self.arc_rebate(k, rebate)
            work = net.with_utilities(net.mu + shift)
            for place in self.charger_places(k):
                if (k, place) not in observed:
                    continue
                cal = calibrate_place(work, observed[(k, place)], place)
                work = work.with_utilities(cal.mu)
                ok = np.setdiff1d(cal.hours, list(cal.clipped))
                errors[(k, place)] = float(np.max(np.abs(cal.model_y - cal.target)[ok], initial=0.0))
            self.networks[k] = work.with_utilities(work.mu - shift)
        return errors

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

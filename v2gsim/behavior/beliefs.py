"""The platform's beliefs about drivers: one persistency model per driver cluster (models.md D5, E1).

Predicts the hourly plug-in persistency ``y_ct`` of every cluster c for given hourly rebates and the
expected number of EVs plugged in, ``E[K_t] = sum_c M_c y_ct``. The persistency model is built once
per cluster network and re-solved (Newton on the dual D4, falling back to the primal SOCP).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2gsim.behavior.persistency.clusters import (
    ClusterPersistency,
    DriverCluster,
    plug_rebate,
    solve_clusters,
)
from v2gsim.behavior.persistency.socp import PersistencyModel
from v2gsim.behavior.place_calibration import calibrate_place
from v2gsim.core.network import PLUG, ActivityNetwork

__all__ = ["ClusterBeliefs"]


class ClusterBeliefs:
    """Persistency models of the driver clusters the platform believes in.

    Args:
        networks: one activity network per cluster, carrying the believed ``mu`` and ``sigma`` ($);
            plug-in arcs span one hour.
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

    @property
    def clusters(self) -> tuple[DriverCluster, ...]:
        """The believed clusters (``cluster0``, ``cluster1``, ...) with their current utilities."""
        return tuple(self.cluster(k) for k in range(len(self.networks)))

    def cluster(self, k: int) -> DriverCluster:
        """Cluster ``k`` (named ``cluster<k>``) with its current believed utilities."""
        return DriverCluster.from_network(self.networks[k], name=f"cluster{k}")

    def charger_places(self, k: int) -> list[str]:
        """Places of cluster ``k``'s network that have plug-in arcs."""
        net = self.networks[k]
        return [net.place_names[p] for p in np.unique(net.place[net.kind == PLUG])]

    def recalibrate(self, observed: dict[tuple[int, str], np.ndarray],
                    rebate: np.ndarray | None = None) -> dict[tuple[int, str], float]:
        """Re-fit the plug-in utilities to observed plug-in frequencies (models.md C1-C4).

        Each cluster's hourly plug-in means at each charger place are calibrated with
        :func:`~v2gsim.behavior.place_calibration.calibrate_place` (other utilities and all
        standard deviations stay as believed), starting from the current beliefs. The
        observations were made under rebates, so the fit is done on ``mu + rebate`` and the
        rebate is taken off again afterwards.

        Args:
            observed: (cluster index, place) -> (T,) mean fraction of the cluster plugged in at
                the place in each hour over the observation window (-).
            rebate: (T,) mean rebate paid in each hour over the window ($/EV-h).

        Returns:
            (cluster, place) -> max |model y - target| after calibration (-).

        Raises:
            SolveError: a calibration solve failed (e.g. ``PersistencySolveError``); the beliefs
                are then unchanged, in every cluster (the new networks are kept only when all
                clusters succeed).
        """
        rebate = np.zeros(self.hours) if rebate is None else np.asarray(rebate, dtype=float)
        errors = {}
        new = list(self.networks)
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
            new[k] = work.with_utilities(work.mu - shift)
        self.networks = new
        return errors

    def arc_rebate(self, k: int, rebate: np.ndarray) -> np.ndarray:
        """Rebate of every arc of cluster ``k``'s network for hourly rebates (zero off plug arcs)."""
        return plug_rebate(self.cluster(k), rebate)

    def predict(self, rebate: np.ndarray | None = None) -> ClusterPersistency:
        """Persistency of every cluster under hourly ``rebate`` ($ per plugged EV-hour).

        Returns:
            The per-cluster solutions with the cluster sizes as weights: ``y`` (K, T) plug-in
            persistency per cluster and hour, ``expected`` (T,) expected EVs plugged in.
        """
        rebate = np.zeros(self.hours) if rebate is None else np.asarray(rebate, dtype=float)
        clusters = self.clusters
        rebates = [plug_rebate(c, rebate) for c in clusters]
        return solve_clusters(clusters, self.sizes, rebates, hours=self.hours, models=self.models)

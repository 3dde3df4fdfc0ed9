"""Driver clusters on the persistency side: the cluster type and the multi-cluster solve (E1).

A fleet of several driver clusters c (each its own activity network and arc utilities) is predicted
cluster by cluster: the persistency model (D5) gives every cluster's arc persistencies ``y_c`` under
its rebates, and the fleet's plug-in persistency per hour is the weighted mixture
``Σ_c w_c A_c y_c`` (``A_c`` sums the plug-in arcs of each hour; weights are population shares π_c
or cluster sizes M_c, models.md E1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.result import PersistencyResult
from v2gsim.behavior.persistency.socp import Method, PersistencyModel, cached_model
from v2gsim.core.graph import as_dense
from v2gsim.core.network import PLUG, ActivityNetwork

__all__ = [
    "ClusterPersistency",
    "DriverCluster",
    "arc_rebates",
    "hour_map",
    "plug_rebate",
    "solve_clusters",
    "solve_persistency_clusters",
]


@dataclass(frozen=True, eq=False)
class DriverCluster:
    """One driver cluster: its activity network and arc utilities (models.md §1.1–1.2).

    Attributes:
        name: label.
        B: (n_nodes, n_arcs) node-arc incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        mu: (n_arcs,) mean arc utilities ($).
        sigma: (n_arcs,) standard deviations of the arc utilities ($, ≥ 0).
        plug_hour: (n_arcs,) hour t of each charging (plug-in) arc, −1 for other arcs; the rebate
            s_t is added to the utility of every plug-in arc of hour t (D5).
    """

    name: str
    B: NDArray[np.float64]
    f: NDArray[np.float64]
    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]
    plug_hour: NDArray[np.int64]

    def __post_init__(self) -> None:
        B = as_dense(self.B)
        object.__setattr__(self, "B", B)
        for name in ("f", "mu", "sigma"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float).ravel())
        object.__setattr__(self, "plug_hour", np.asarray(self.plug_hour, dtype=np.int64).ravel())
        n, m = B.shape
        if self.f.shape != (n,):
            raise ValueError(f"cluster {self.name!r}: f must have shape ({n},)")
        for name in ("mu", "sigma", "plug_hour"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"cluster {self.name!r}: {name} must have shape ({m},)")
        if np.any(self.sigma < 0):
            raise ValueError(f"cluster {self.name!r}: sigma must be >= 0")

    @classmethod
    def from_network(
        cls,
        net: ActivityNetwork,
        name: str = "cluster",
        mu: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> DriverCluster:
        """Cluster from an :class:`~v2gsim.core.network.ActivityNetwork` (plug arcs: ``kind == 1``).

        Args:
            net: the network.
            name: label.
            mu: mean utilities ($), default ``net.mu``.
            sigma: standard deviations ($), default ``net.sigma``.

        Raises:
            ValueError: if a plug-in arc spans more than one hour.
        """
        plug = net.kind == PLUG
        if np.any(net.duration[plug] != 1):
            raise ValueError("plug-in arcs must span exactly one hour")
        return cls(
            name=name,
            B=net.incidence,
            f=net.supply,
            mu=net.mu if mu is None else np.asarray(mu, float),
            sigma=net.sigma if sigma is None else np.asarray(sigma, float),
            plug_hour=np.where(plug, net.hour, -1),
        )

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return int(self.B.shape[1])


def hour_map(cluster: DriverCluster, hours: int) -> NDArray[np.float64]:
    """(hours, n_arcs) 0/1 matrix ``A`` summing the plug-in arcs of each hour: ``y_t = (A y)_t``."""
    plug = np.flatnonzero(cluster.plug_hour >= 0)
    A = np.zeros((hours, cluster.n_arcs))
    A[cluster.plug_hour[plug], plug] = 1.0
    return A


def arc_rebates(plug_hour: NDArray[np.int64], S: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rebate of every arc ($) for hourly rebates S (..., T): s_t on the plug-in arcs of hour t (D5).

    Args:
        plug_hour: (n_arcs,) hour of each plug-in arc, −1 for other arcs.
        S: (T,) or (K, T) hourly rebates ($ per plugged EV-hour).

    Returns:
        (..., n_arcs) arc rebates, 0 on arcs that are not plug-in arcs.
    """
    return np.where(plug_hour >= 0, S[..., np.maximum(plug_hour, 0)], 0.0)


def plug_rebate(cluster: DriverCluster, rebate: ArrayLike) -> NDArray[np.float64]:
    """Rebate of every arc for hourly rebates ``s_t`` ($): ``s_t`` on the plug-in arcs of hour t, else 0."""
    return arc_rebates(cluster.plug_hour, np.asarray(rebate, dtype=float))


@dataclass(frozen=True)
class ClusterPersistency:
    """Persistency solutions of several driver clusters, their weights and hourly plug-ins (E1).

    Attributes:
        results: one :class:`PersistencyResult` (arc level) per cluster.
        weights: (n_clusters,) population shares π_c (sum to 1) or cluster sizes M_c.
        y: (n_clusters, T) plug-in persistency per cluster and hour (sum over the cluster's plug-in
            arcs of the hour; fraction of the cluster, -); T = 0 without plug-in arcs.
    """

    results: tuple[PersistencyResult, ...]
    weights: NDArray[np.float64]
    y: NDArray[np.float64]

    @cached_property
    def expected(self) -> NDArray[np.float64]:
        """(T,) weighted plug-in persistency ``Σ_c w_c y_ct``: the expected number of EVs plugged in
        for cluster sizes, the fraction of the fleet for shares."""
        return self.weights @ self.y

    def aggregate(self, maps: Sequence[ArrayLike] | None = None) -> NDArray[np.float64]:
        """Weighted aggregate ``Σ_c w_c · A_c y_c``.

        Args:
            maps: one (k, n_arcs_c) matrix per cluster mapping that cluster's arc persistencies to a
                common k-vector (e.g. an hour × charging-arc indicator matrix giving the fraction of
                the fleet plugged in per hour, E1). ``None`` requires all clusters to share one arc
                set and returns the weighted arc persistency.

        Returns:
            (k,) aggregate (fraction of the whole fleet for shares).
        """
        if maps is None:
            if len({len(r.y) for r in self.results}) != 1:
                raise ValueError("clusters have different arc sets; pass maps")
            rows = [r.y for r in self.results]
        else:
            if len(maps) != len(self.results):
                raise ValueError("need one map per cluster")
            rows = [as_dense(A) @ r.y for A, r in zip(maps, self.results, strict=True)]
        return self.weights @ np.vstack(rows)


def solve_clusters(
    clusters: Sequence[DriverCluster],
    weights: ArrayLike,
    rebates: Sequence[ArrayLike | None] | None = None,
    *,
    hours: int | None = None,
    models: Sequence[PersistencyModel] | None = None,
    method: Method = "primal",
    solver: str | None = None,
) -> ClusterPersistency:
    """Solve the persistency model (D5) of every cluster and collect the hourly plug-ins (E1).

    Args:
        clusters: the driver clusters.
        weights: (n_clusters,) shares or sizes.
        rebates: optional per-cluster (n_arcs_c,) arc rebates ($; ``None`` entries mean none), e.g.
            :func:`plug_rebate` of hourly rebates.
        hours: number of hours T of ``ClusterPersistency.y`` (default: the last plug-in hour + 1).
        models: one prebuilt :class:`PersistencyModel` per cluster (re-solved); default the cached
            model of each cluster's network for ``method`` and ``solver``.
        method: see :func:`~v2gsim.behavior.persistency.socp.solve_persistency`.
        solver: cvxpy solver (default Clarabel).

    Returns:
        The :class:`ClusterPersistency`.
    """
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != len(clusters):
        raise ValueError(f"{len(clusters)} clusters but {len(w)} weights")
    rebs = list(rebates) if rebates is not None else [None] * len(clusters)
    if len(rebs) != len(clusters):
        raise ValueError("rebates must have one entry per cluster")
    if hours is None:
        hours = max((int(c.plug_hour.max(initial=-1)) + 1 for c in clusters), default=0)
    results, ys = [], []
    for k, (c, reb) in enumerate(zip(clusters, rebs, strict=True)):
        model = models[k] if models is not None else cached_model(c.B, c.f, method, solver)
        res = model.solve(c.mu, c.sigma, rebate=reb)
        results.append(res)
        ys.append(hour_map(c, hours) @ res.y)
    return ClusterPersistency(results=tuple(results), weights=w, y=np.vstack(ys))


def solve_persistency_clusters(
    networks: Sequence[DriverCluster | tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]],
    shares: ArrayLike,
    rebate_by_cluster: Sequence[ArrayLike | None] | None = None,
    *,
    method: Method = "primal",
    solver: str | None = None,
) -> ClusterPersistency:
    """Solve the persistency model for several driver clusters with population shares (E1).

    Each cluster has its own network and parameters ``(B, f, mu, sigma)``; the persistency of the
    fleet is the share-weighted mixture, see :meth:`ClusterPersistency.aggregate`.

    Args:
        networks: one :class:`DriverCluster` or ``(B, f, mu, sigma)`` tuple per cluster ($ for mu,
            sigma; a tuple has no plug-in arcs).
        shares: (n_clusters,) non-negative population shares summing to 1.
        rebate_by_cluster: optional per-cluster rebate vectors ($; ``None`` entries mean none).
        method: see :func:`~v2gsim.behavior.persistency.socp.solve_persistency`.
        solver: cvxpy solver (default Clarabel).

    Returns:
        :class:`ClusterPersistency` with the per-cluster results and the shares as weights.
    """
    sh = np.asarray(shares, float).ravel()
    if len(sh) != len(networks):
        raise ValueError(f"{len(networks)} networks but {len(sh)} shares")
    if np.any(sh < 0) or not np.isclose(sh.sum(), 1.0, atol=1e-9):
        raise ValueError("shares must be non-negative and sum to 1")
    clusters = [
        c if isinstance(c, DriverCluster)
        else DriverCluster(f"cluster{k}", c[0], c[1], c[2], c[3], np.full(np.shape(c[2]), -1))
        for k, c in enumerate(networks)
    ]
    return solve_clusters(clusters, sh, rebate_by_cluster, method=method, solver=solver)

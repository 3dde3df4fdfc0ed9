"""Monte Carlo drivers: sampled arc utilities and the fleet's longest paths (models.md eq. D1).

Every driver i draws a utility ``v[a, i]`` for every arc a (mean ``mu_a`` plus the platform's rebate on
plug-in arcs, standard deviation ``sigma_a``) and follows a longest source-sink path. The whole fleet
is solved by one dynamic programme over the topological order on an (nodes x drivers) array: per node,
the best incoming arc is an ``argmax`` over (in-degree x drivers); there is no loop over drivers.

Arrays are laid out arc-major, ``(A, M)``, so each arc's utilities for all drivers are contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from v2gsim.core.network import PLUG, TRAVEL, ActivityNetwork

__all__ = ["Distribution", "PathChoice", "longest_paths", "sample_utilities"]

Distribution = Literal["normal", "uniform", "two_point"]

_SQRT3 = np.sqrt(3.0)


def sample_utilities(
    rng: np.random.Generator,
    net: ActivityNetwork,
    n_drivers: int,
    distribution: Distribution = "normal",
    rebate: np.ndarray | None = None,
    dtype: type = np.float32,
) -> np.ndarray:
    """Draw arc utilities for a fleet.

    Args:
        rng: the drivers' random generator.
        net: activity network with ``mu`` and ``sigma`` ($).
        n_drivers: fleet size M.
        distribution: ``normal`` (mu + sigma z), ``uniform`` (on mu +- sqrt(3) sigma) or
            ``two_point`` (mu +- sigma with probability 1/2 each). All have mean mu_a and standard
            deviation sigma_a, independently across arcs and drivers.
        rebate: optional (A,) rebate ($) added to the mean of each arc (zero off plug-in arcs, D5).
        dtype: floating type of the result (float32 halves memory for large fleets).

    Returns:
        (A, M) utilities ($).
    """
    mean = net.mu if rebate is None else net.mu + np.asarray(rebate, dtype=float)
    shape = (net.n_arcs, int(n_drivers))
    if distribution == "normal":
        z = rng.standard_normal(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    elif distribution == "uniform":
        z = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
        z = (2.0 * z - 1.0) * _SQRT3
    elif distribution == "two_point":
        z = np.where(rng.random(shape, dtype=np.float32) < 0.5, -1.0, 1.0)
    else:
        raise ValueError(
            f"unknown distribution {distribution!r}; allowed: normal, uniform, two_point"
        )
    z = z.astype(dtype, copy=False)
    z *= net.sigma.astype(dtype)[:, None]
    z += mean.astype(dtype)[:, None]
    return z


@dataclass(frozen=True)
class PathChoice:
    """The fleet's chosen paths.

    Attributes:
        value: (M,) utility of each driver's longest path ($).
        arc_at_hour: (M, T) index of the arc each driver occupies in each hour.
    """

    value: np.ndarray
    arc_at_hour: np.ndarray

    def arc_counts(self, net: ActivityNetwork) -> np.ndarray:
        """(A,) number of drivers whose path uses each arc."""
        used = np.zeros((self.arc_at_hour.shape[0], net.n_arcs), dtype=bool)
        rows = np.arange(self.arc_at_hour.shape[0])[:, None]
        used[rows, self.arc_at_hour] = True
        return used.sum(axis=0)

    def plugged(self, net: ActivityNetwork) -> np.ndarray:
        """(M, T) boolean: driver plugged in during hour t."""
        return net.kind[self.arc_at_hour] == PLUG

    def traveling(self, net: ActivityNetwork) -> np.ndarray:
        """(M, T) boolean: driver on a travel arc during hour t."""
        return net.kind[self.arc_at_hour] == TRAVEL

    def place(self, net: ActivityNetwork) -> np.ndarray:
        """(M, T) place index of each driver in each hour (the origin while traveling)."""
        return net.place[self.arc_at_hour]


def longest_paths(net: ActivityNetwork, utilities: np.ndarray) -> PathChoice:
    """Longest source-sink path for every driver (eq. D1), one vectorized DP.

    Args:
        net: the activity network.
        utilities: (A, M) arc utilities ($), e.g. from :func:`sample_utilities`.

    Returns:
        The chosen paths. Ties are broken towards the arc listed first among a node's incoming arcs.
    """
    v = np.asarray(utilities)
    n_arcs, m = v.shape
    if n_arcs != net.n_arcs:
        raise ValueError(f"utilities has {n_arcs} rows, the network has {net.n_arcs} arcs")
    dist = np.empty((net.n_nodes, m), dtype=v.dtype)
    pred = np.empty((net.n_nodes, m), dtype=np.int32)
    src, tail = net.source, net.tail
    dist[src] = 0.0
    cand = np.empty(m, dtype=v.dtype)
    better = np.empty(m, dtype=bool)
    for node in net.topological_order:
        if node == src:
            continue
        ins = net.in_arcs[node]
        best, arg = dist[node], pred[node]
        np.add(dist[tail[ins[0]]], v[ins[0]], out=best)
        arg.fill(ins[0])
        for a in ins[1:]:  # a node's in-degree is small: a few in-place passes over the fleet
            np.add(dist[tail[a]], v[a], out=cand)
            np.greater(cand, best, out=better)  # strict: ties stay with the earlier arc
            np.maximum(best, cand, out=best)
            np.copyto(arg, a, where=better)
    return PathChoice(value=dist[net.sink].astype(float), arc_at_hour=_backtrack(net, pred))


def _backtrack(net: ActivityNetwork, pred: np.ndarray) -> np.ndarray:
    """(M, T) arc occupied in each hour, following the predecessor arcs ``pred`` (N, M) from the sink.

    Every arc spans >= 1 hour, so there are at most T steps. When every arc spans exactly one hour
    (the hourly networks), every driver is at hour ``T - 1 - k`` at step k and the steps fill whole
    rows of a (T, M) array; otherwise the still-active drivers are tracked explicitly.
    """
    m, hours = pred.shape[1], net.hours
    pflat = pred.ravel()
    cols = np.arange(m, dtype=np.int64)
    ntail = net.tail.astype(np.int64)
    node = np.full(m, net.sink, dtype=np.int64)
    max_dur = int(net.duration.max())
    if _hourly_layers(net):
        by_hour = np.empty((hours, m), dtype=np.int32)
        for h in range(hours - 1, -1, -1):
            a = pflat[node * m + cols]
            by_hour[h] = a
            node = ntail[a]
        return np.ascontiguousarray(by_hour.T)
    arc_at_hour = np.empty((m, hours), dtype=np.int32)
    idx = cols
    src = net.source
    while idx.size:
        a = pflat[node[idx] * m + idx]
        start, dur = net.hour[a], net.duration[a]
        for d in range(max_dur):
            sel = d < dur
            arc_at_hour[idx[sel], start[sel] + d] = a[sel]
        node[idx] = ntail[a]
        idx = idx[node[idx] != src]
    return arc_at_hour


def _hourly_layers(net: ActivityNetwork) -> bool:
    """True when every source-sink path takes exactly one arc per hour 0..T-1, in order.

    That holds when every arc spans one hour, the arcs leaving a node all start at the same hour,
    an arc's head is left one hour after the arc started, the source is left at hour 0 and the
    sink is entered from hour T - 1.
    """
    if np.any(net.duration != 1):
        return False
    left_at = np.full(net.n_nodes, -1, dtype=np.int64)
    left_at[net.tail] = net.hour
    if np.any(left_at[net.tail] != net.hour) or left_at[net.source] != 0:
        return False
    inner = net.head != net.sink
    if np.any(left_at[net.head[inner]] != net.hour[inner] + 1):
        return False
    return bool(np.all(net.hour[~inner] == net.hours - 1))

"""Extremal (worst-case) joint distribution of the persistency model (seed 000, models.md D2-D4).

The persistency bound (D2) is tight: some joint distribution of arc utilities with the given means
``mu`` and standard deviations ``sigma`` attains it, and under it arc ``a`` is on the longest path
with probability ``y_a``. This module constructs and samples that distribution, so that Monte Carlo
drivers behave exactly as the persistency model predicts (a *path-correlated* population, not one
with independent utilities).

Construction (given the persistency solution ``y`` and node potentials ``rho`` of (D4)):

1. Decompose the flow ``y`` into source-sink paths ``P_k`` with weights ``w_k`` (standard flow
   decomposition on a DAG: at most ``n_arcs`` paths, ``Σ_k w_k [a ∈ P_k] = y_a``).
2. Each driver draws one path ``P_k`` with probability ``w_k``.
3. With ``π_a = ρ_tail(a) − ρ_head(a)`` (potential difference), ``λ_a = μ_a − π_a`` (reduced
   utility) and ``h_a = √(λ_a² + σ_a²)``, every arc on the drawn path takes its *high* value
   ``π_a + h_a`` and every arc off it its *low* value ``π_a − h_a``.

Moments: ``E[ṽ_a] = π_a + (2y_a − 1) h_a = π_a + λ_a = μ_a`` because ``2y_a − 1 = λ_a/h_a`` at the
optimum (D3), and ``Var[ṽ_a] = 4 y_a(1−y_a) h_a² = σ_a²``. Equivalently ``high = μ + σ√((1−y)/y)``
and ``low = μ − σ√(y/(1−y))``: each arc is a two-point variable, the arcs are coupled only through
the common path draw.

Optimality: every path's ``Σ π_a`` telescopes to ``ρ_source − ρ_sink``, so the drawn path ``P`` has
total utility ``ρ_s − ρ_t + Σ_{a∈P} h_a`` and any other path ``Q`` has
``ρ_s − ρ_t + Σ_{a∈P∩Q} h_a − Σ_{a∈Q∖P} h_a``: the drawn path is a longest path, with margin
``Σ_{a∈P△Q} h_a``. Then ``E[max path utility] = Σ_a μ_a y_a + σ_a √(y_a(1−y_a))``, the bound (D2).

When it is exact:

* If ``σ_a > 0`` on every free arc, every ``h_a ≥ σ_a > 0``, the drawn path is the *unique* longest
  path and the longest-path arc frequencies equal ``y`` exactly (up to sampling error).
* Arcs with ``σ_a = 0`` and ``λ_a = 0`` have ``h_a = 0`` (a constant utility ``μ_a``). Paths that
  differ from the drawn one only on such arcs tie with it; the moments are still exact, but a
  longest-path solver may break the tie differently, so frequencies on those arcs can differ from
  ``y`` (any split among them is optimal in (D2) too). Ties have probability zero otherwise.
* Arcs with ``σ_a = 0`` and ``y_a ∈ {0, 1}`` (``λ_a`` of the matching sign) are constants
  ``μ_a = π_a ± |λ_a|``; nothing changes.
* Arcs with ``y`` fixed by the network — forced (cut) arcs on every path and arcs on no path —
  cannot carry the two-point coupling (``y_a(1−y_a) = 0`` while ``σ_a > 0``). They do not affect the
  choice, so they are drawn *independently* as ``μ_a ± σ_a`` with probability ½ each.
* The moments are exact to the accuracy of the KKT relation ``y = ½(1 + λ/h)`` of the supplied
  solution (machine precision for the Newton method, ~1e-6 for interior-point solutions); see
  :func:`extremal_moments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from v2gsim.behavior.persistency.arrays import NetworkArrays, as_network
from v2gsim.behavior.persistency.result import PersistencyResult
from v2gsim.core.graph import arcs_by_node

__all__ = [
    "ExtremalDistribution",
    "PathDecomposition",
    "extremal_distribution",
    "extremal_moments",
    "path_decomposition",
    "sample_extremal",
    "sample_extremal_paths",
]


@dataclass(frozen=True)
class PathDecomposition:
    """Decomposition of a unit source-sink flow into weighted paths.

    Attributes:
        paths: (n_paths, n_arcs) boolean arc-path incidence.
        weights: (n_paths,) path weights (probabilities), normalised to sum to 1.
        residual: largest flow left on an arc after the decomposition (before normalisation);
            of the order of the flow-conservation error of ``y``.
    """

    paths: NDArray[np.bool_]
    weights: NDArray[np.float64]
    residual: float

    def arc_flow(self) -> NDArray[np.float64]:
        """Arc flow ``Σ_k w_k [a ∈ P_k]`` reproduced by the decomposition."""
        return self.weights @ self.paths


def path_decomposition(
    B: ArrayLike | NetworkArrays, f: ArrayLike | None, y: ArrayLike, tol: float = 1e-9
) -> PathDecomposition:
    """Decompose a unit source-sink flow on a DAG into source-sink paths.

    Repeatedly walks from the source to the sink along the out-arc with the largest remaining flow
    and removes the bottleneck flow of that path; each round empties at least one arc, so there are
    at most ``n_arcs`` paths. Flows at or below ``tol`` count as zero.

    Args:
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head), or a :class:`NetworkArrays`.
        f: (n_nodes,) supply (+1 source, −1 sink); ignored for a :class:`NetworkArrays`.
        y: (n_arcs,) feasible flow (``B y = f``, ``0 ≤ y ≤ 1``), e.g. persistencies.
        tol: flow threshold.

    Returns:
        The :class:`PathDecomposition`.

    Raises:
        ValueError: if no source-sink path carries flow above ``tol``.
    """
    net = as_network(B, f)
    rem = np.clip(np.asarray(y, dtype=float).copy(), 0.0, None)
    if rem.shape != (net.n_arcs,):
        raise ValueError(f"y must have shape ({net.n_arcs},), got {rem.shape}")
    rem[rem <= tol] = 0.0
    out_arcs = arcs_by_node(net.tail, net.n_nodes)
    paths: list[NDArray[np.intp]] = []
    weights: list[float] = []
    for _ in range(net.n_arcs + 1):
        node = net.source
        arcs: list[int] = []
        ok = True
        while node != net.sink:
            outs = out_arcs[node]
            if len(outs) == 0:
                ok = False
                break
            a = int(outs[np.argmax(rem[outs])])
            if rem[a] <= tol:
                ok = False
                break
            arcs.append(a)
            node = int(net.head[a])
        if not ok:
            break
        idx = np.asarray(arcs, dtype=np.intp)
        wgt = float(rem[idx].min())
        rem[idx] -= wgt
        rem[rem <= tol] = 0.0
        paths.append(idx)
        weights.append(wgt)
    if not paths:
        raise ValueError("the flow carries no source-sink path (all flows below tol?)")
    P = np.zeros((len(paths), net.n_arcs), dtype=bool)
    for k, idx in enumerate(paths):
        P[k, idx] = True
    w = np.asarray(weights)
    return PathDecomposition(paths=P, weights=w / w.sum(), residual=float(rem.max(initial=0.0)))


@dataclass(frozen=True)
class ExtremalDistribution:
    """The extremal joint distribution of arc utilities (see the module docstring).

    Attributes:
        paths: (n_paths, n_arcs) boolean path-arc incidence of the flow decomposition.
        weights: (n_paths,) path probabilities.
        high: (n_arcs,) utility of an arc on the drawn path, ``π + h`` ($).
        low: (n_arcs,) utility of an arc off the drawn path, ``π − h`` ($).
        independent: (n_arcs,) True for arcs drawn independently as ``mu ± sigma`` (forced arcs
            and arcs on no source-sink path).
        mu: (n_arcs,) arc means ($), rebates included.
        sigma: (n_arcs,) arc standard deviations ($).
    """

    paths: NDArray[np.bool_]
    weights: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    independent: NDArray[np.bool_]
    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return self.paths.shape[1]


def extremal_distribution(
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    mu: ArrayLike,
    sigma: ArrayLike,
    result: PersistencyResult,
    *,
    rebate: ArrayLike | None = None,
    tol: float = 1e-9,
) -> ExtremalDistribution:
    """Build the extremal distribution from a persistency solution.

    Args:
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head), or a :class:`NetworkArrays`.
        f: (n_nodes,) supply; ignored for a :class:`NetworkArrays`.
        mu: (n_arcs,) mean utilities ($) used in the solve.
        sigma: (n_arcs,) standard deviations ($) used in the solve.
        result: the persistency solution (``y``, ``rho``) for ``(mu + rebate, sigma)``.
        rebate: (n_arcs,) rebates ($) used in the solve; they are part of the sampled utilities.
        tol: flow threshold of the path decomposition.

    Returns:
        The :class:`ExtremalDistribution`.
    """
    net = as_network(B, f)
    m = net.n_arcs
    util = np.asarray(mu, dtype=float).ravel()
    if rebate is not None:
        util = util + np.asarray(rebate, dtype=float).ravel()
    sig = np.asarray(sigma, dtype=float).ravel()
    if util.shape != (m,) or sig.shape != (m,):
        raise ValueError(f"mu, sigma and rebate must have shape ({m},)")
    rho = np.asarray(result.rho, dtype=float)
    pi = rho[net.tail] - rho[net.head]
    lam = util - pi
    h = np.hypot(lam, sig)
    dec = path_decomposition(net, None, result.y, tol)
    return ExtremalDistribution(
        paths=dec.paths,
        weights=dec.weights,
        high=pi + h,
        low=pi - h,
        independent=~net.free,
        mu=util,
        sigma=sig,
    )


def extremal_moments(dist: ExtremalDistribution) -> tuple[NDArray, NDArray, NDArray]:
    """Exact arc means, standard deviations and persistencies of an extremal distribution.

    Args:
        dist: the distribution.

    Returns:
        ``(mean, std, y)``, each (n_arcs,): mean ($) and standard deviation ($) of each arc utility,
        and the probability that the arc is on the drawn path. Compare with ``mu``, ``sigma`` and
        the persistency ``y``.
    """
    y = dist.weights @ dist.paths
    gap = dist.high - dist.low
    mean = dist.low + y * gap
    std = np.sqrt(np.clip(y * (1.0 - y), 0.0, None)) * np.abs(gap)
    mean = np.where(dist.independent, dist.mu, mean)
    std = np.where(dist.independent, dist.sigma, std)
    return mean, std, y


def sample_extremal_paths(
    rng: np.random.Generator, n_drivers: int, dist: ExtremalDistribution
) -> NDArray[np.intp]:
    """Draw the path index (row of ``dist.paths``) of each driver.

    Args:
        rng: numpy random generator (the only source of randomness).
        n_drivers: number of drivers.
        dist: the extremal distribution.

    Returns:
        (n_drivers,) path indices.
    """
    return rng.choice(len(dist.weights), size=n_drivers, p=dist.weights)


def sample_extremal(
    rng: np.random.Generator,
    n_drivers: int,
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    mu: ArrayLike,
    sigma: ArrayLike,
    result: PersistencyResult,
    *,
    rebate: ArrayLike | None = None,
    tol: float = 1e-9,
    dtype: DTypeLike = np.float64,
    dist: ExtremalDistribution | None = None,
) -> NDArray:
    """Sample arc utilities of drivers from the extremal distribution of the persistency model.

    Each driver draws a path of the flow decomposition of ``result.y`` with probability equal to its
    weight; arcs on it get ``π + h``, arcs off it ``π − h`` (module docstring). Forced arcs and arcs
    on no path are drawn independently as ``mu ± sigma``. The drawn path is a longest path for the
    sampled utilities, so the longest-path arc frequencies reproduce ``result.y``.

    Args:
        rng: numpy random generator (the only source of randomness).
        n_drivers: number of drivers.
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head), or a :class:`NetworkArrays`.
        f: (n_nodes,) supply; ignored for a :class:`NetworkArrays`.
        mu: (n_arcs,) mean utilities ($), as passed to the solve.
        sigma: (n_arcs,) standard deviations ($), as passed to the solve.
        result: the persistency solution for ``(mu + rebate, sigma)``.
        rebate: (n_arcs,) rebates ($) used in the solve; sampled utilities include them.
        tol: flow threshold of the path decomposition.
        dtype: floating dtype of the output (float32 halves the memory).
        dist: a precomputed :func:`extremal_distribution` (skips the decomposition).

    Returns:
        (n_drivers, n_arcs) sampled arc utilities ($), with mean ``mu + rebate`` and standard
        deviation ``sigma`` per arc.
    """
    if dist is None:
        dist = extremal_distribution(B, f, mu, sigma, result, rebate=rebate, tol=tol)
    k = sample_extremal_paths(rng, n_drivers, dist)
    # utilities per decomposition path (n_paths × n_arcs), then one row gather per driver
    rows = np.where(dist.paths, dist.high, dist.low).astype(dtype)
    V = np.take(rows, k, axis=0)
    ind = np.flatnonzero(dist.independent)
    if len(ind):
        sign = rng.integers(0, 2, size=(n_drivers, len(ind))) * 2 - 1
        V[:, ind] = (dist.mu[ind] + sign * dist.sigma[ind]).astype(dtype)
    return V

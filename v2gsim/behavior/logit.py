"""Recursive logit path choice on an activity DAG (Fosgerau, Frejinger & Karlström 2013).

A contrast to the persistency model (:mod:`v2gsim.behavior.persistency`): arc utilities carry
*independent* Gumbel noise and choices are made sequentially. A driver at node ``n`` sees, for every
arc ``a`` out of ``n``, the utility of continuing via ``a``,

    μ_a + V(head a) + ε_a,    ε_a i.i.d. Gumbel with scale β and mean 0,

picks the best and moves on. ``V`` is the expected maximum utility from a node to the sink, given by
the backward log-sum-exp recursion over a topological order

    V(sink) = 0,   V(n) = β log Σ_{a out of n} exp((μ_a + V(head a)) / β),

so that arc ``a`` is chosen at its tail with probability ``exp((μ_a + V(head) − V(tail)) / β)`` and
the unconditional arc probabilities follow from a forward pass from the source. The probability of
a whole path ``P`` is then ``exp(Σ_{a∈P} μ_a / β) / Σ_Q exp(Σ_{a∈Q} μ_a / β)``: a multinomial logit
over paths, i.e. the random-utility model with one i.i.d. Gumbel term *per path*.

**Which random-utility model this is.** It is *not* "draw independent Gumbel utilities for all arcs
and take the longest path". In a DAG the maximum over paths of sums of i.i.d. Gumbels is not Gumbel
(a sum of Gumbels is not Gumbel, and paths sharing arcs are correlated), so the longest-path arc
frequencies of independently drawn arc utilities differ from recursive logit except when every path
is a single arc (parallel arcs). Recursive logit is reproduced exactly by the *sequential* sampler
:func:`sample_logit_paths`, in which a driver draws fresh Gumbels only for the out-arcs of the node
it is at and compares them with the deterministic ``V(head)``. :func:`sample_gumbel` draws the
independent arc utilities of the other model, for comparison with a longest-path solver.

Units: ``mu`` and ``V`` in $ (utility), ``beta`` in $. The Gumbel standard deviation is
``β π / √6``; pass ``sigma`` instead of ``beta`` to convert. By default ``mu`` is the *mean* arc
utility (the same meaning as in the persistency model, so the two models can be compared on the
same ``(mu, sigma)``); with ``mu_is_location=True`` it is the Gumbel location (mean ``μ + γβ``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.arrays import NetworkArrays, as_network
from v2gsim.core.graph import arcs_by_node

__all__ = [
    "EULER_GAMMA",
    "RecursiveLogitResult",
    "gumbel_scale_from_std",
    "gumbel_std_from_scale",
    "recursive_logit",
    "sample_gumbel",
    "sample_logit_paths",
]

#: Euler-Mascheroni constant γ: the mean of a standard Gumbel variable.
EULER_GAMMA: float = float(np.euler_gamma)


def gumbel_scale_from_std(sigma: ArrayLike) -> NDArray[np.float64]:
    """Gumbel scale β ($) with standard deviation ``sigma`` ($): ``β = σ √6 / π``."""
    return np.asarray(sigma, dtype=float) * np.sqrt(6.0) / np.pi


def gumbel_std_from_scale(beta: ArrayLike) -> NDArray[np.float64]:
    """Standard deviation ($) of a Gumbel variable with scale ``beta`` ($): ``β π / √6``."""
    return np.asarray(beta, dtype=float) * np.pi / np.sqrt(6.0)


def _resolve_beta(beta: float | None, sigma: ArrayLike | None) -> float:
    if (beta is None) == (sigma is None):
        raise ValueError("give exactly one of beta (Gumbel scale) and sigma (standard deviation)")
    if beta is None:
        s = np.asarray(sigma, dtype=float).ravel()
        if s.size == 0 or not np.allclose(s, s[0], rtol=1e-12, atol=0.0):
            raise ValueError(
                "recursive logit needs one common scale: sigma must be a scalar or constant vector"
            )
        beta = float(gumbel_scale_from_std(s[0]))
    beta = float(beta)
    if not beta > 0 or not np.isfinite(beta):
        raise ValueError(f"the Gumbel scale must be positive and finite, got {beta}")
    return beta


def _mean_utility(mu: ArrayLike, n_arcs: int, beta: float, mu_is_location: bool) -> NDArray:
    m = np.asarray(mu, dtype=float).ravel()
    if m.shape != (n_arcs,):
        raise ValueError(f"mu must have shape ({n_arcs},), got {m.shape}")
    return m + EULER_GAMMA * beta if mu_is_location else m


@dataclass(frozen=True)
class RecursiveLogitResult:
    """Exact recursive-logit quantities.

    Attributes:
        V: (n_nodes,) expected maximum utility from each node to the sink ($); ``V[sink] = 0``,
            ``−inf`` where the sink is unreachable. ``V[source]`` is the expected total utility of
            a (sequential) logit driver.
        p: (n_arcs,) probability of choosing the arc when at its tail.
        x: (n_arcs,) unconditional probability that a driver uses the arc (expected arc flow).
        node_prob: (n_nodes,) probability that a driver visits each node.
        beta: Gumbel scale ($).
        mu: (n_arcs,) mean arc utilities used ($).
        source: the source node.
    """

    V: NDArray[np.float64]
    p: NDArray[np.float64]
    x: NDArray[np.float64]
    node_prob: NDArray[np.float64]
    beta: float
    mu: NDArray[np.float64]
    source: int

    @property
    def expected_utility(self) -> float:
        """Expected total utility of a driver ($): ``V`` at the source."""
        return float(self.V[self.source])


def recursive_logit(
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    mu: ArrayLike,
    beta: float | None = None,
    *,
    sigma: ArrayLike | None = None,
    mu_is_location: bool = False,
) -> RecursiveLogitResult:
    """Exact recursive-logit arc probabilities by backward log-sum-exp and forward flow passes.

    Args:
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head), or a :class:`NetworkArrays`.
        f: (n_nodes,) supply (+1 source, −1 sink); ignored for a :class:`NetworkArrays`.
        mu: (n_arcs,) mean arc utilities ($), or Gumbel locations if ``mu_is_location``.
        beta: Gumbel scale β ($), common to all arcs.
        sigma: alternatively the common standard deviation of the noise ($), ``β = σ√6/π``.
        mu_is_location: interpret ``mu`` as Gumbel locations (mean ``μ + γβ``).

    Returns:
        The :class:`RecursiveLogitResult`.
    """
    net = as_network(B, f)
    b = _resolve_beta(beta, sigma)
    util = _mean_utility(mu, net.n_arcs, b, mu_is_location)
    outs = arcs_by_node(net.tail, net.n_nodes)
    V = np.full(net.n_nodes, -np.inf)
    V[net.sink] = 0.0
    for n in net.order[::-1]:
        arcs = outs[n]
        if n == net.sink or len(arcs) == 0:
            continue
        z = (util[arcs] + V[net.head[arcs]]) / b
        zmax = np.max(z)
        if np.isfinite(zmax):
            V[n] = b * (zmax + np.log(np.sum(np.exp(z - zmax))))
    with np.errstate(invalid="ignore"):
        p = np.exp((util + V[net.head] - V[net.tail]) / b)
    p = np.where(np.isfinite(V[net.head]) & np.isfinite(V[net.tail]), p, 0.0)
    node_prob = np.zeros(net.n_nodes)
    node_prob[net.source] = 1.0
    x = np.zeros(net.n_arcs)
    for n in net.order:
        arcs = outs[n]
        if n == net.sink or len(arcs) == 0 or node_prob[n] == 0.0:
            continue
        x[arcs] = node_prob[n] * p[arcs]
        np.add.at(node_prob, net.head[arcs], x[arcs])
    return RecursiveLogitResult(V=V, p=p, x=x, node_prob=node_prob, beta=b, mu=util, source=net.source)


def sample_gumbel(
    rng: np.random.Generator,
    n: int,
    mu: ArrayLike,
    beta: float | ArrayLike,
    *,
    mu_is_location: bool = False,
) -> NDArray[np.float64]:
    """Independent Gumbel arc utilities for ``n`` drivers (the *non*-recursive-logit model).

    Args:
        rng: numpy random generator (the only source of randomness).
        n: number of drivers.
        mu: (n_arcs,) mean utilities ($), or Gumbel locations if ``mu_is_location``.
        beta: Gumbel scale ($), scalar or (n_arcs,).
        mu_is_location: interpret ``mu`` as locations.

    Returns:
        (n, n_arcs) utilities ($), independent across arcs and drivers, with mean ``mu`` (or
        ``mu + γβ`` for locations) and standard deviation ``β π/√6``.
    """
    m = np.asarray(mu, dtype=float).ravel()
    b = np.broadcast_to(np.asarray(beta, dtype=float), m.shape)
    if np.any(b <= 0):
        raise ValueError("beta must be positive")
    loc = m if mu_is_location else m - EULER_GAMMA * b
    return loc + b * rng.gumbel(size=(n, m.size))


def sample_logit_paths(
    rng: np.random.Generator,
    n: int,
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    mu: ArrayLike,
    beta: float | None = None,
    *,
    sigma: ArrayLike | None = None,
    mu_is_location: bool = False,
    result: RecursiveLogitResult | None = None,
    return_utility: bool = False,
) -> NDArray[np.bool_] | tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Sample path choices of ``n`` recursive-logit drivers exactly (sequential Gumbel choice).

    Every driver starts at the source; at its current node it draws i.i.d. mean-zero Gumbel noise
    ``ε_a`` (scale β) for the node's out-arcs only, takes ``argmax_a μ_a + V(head a) + ε_a`` and
    moves to that arc's head, until the sink. The loop runs over nodes in topological order and is
    vectorised over the drivers at each node. The arc frequencies converge to
    :func:`recursive_logit`'s ``x`` (see the module docstring for why the longest path of
    independently drawn arc utilities does not).

    Args:
        rng: numpy random generator (the only source of randomness).
        n: number of drivers.
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head), or a :class:`NetworkArrays`.
        f: (n_nodes,) supply; ignored for a :class:`NetworkArrays`.
        mu: (n_arcs,) mean arc utilities ($), or Gumbel locations if ``mu_is_location``.
        beta: Gumbel scale ($).
        sigma: alternatively the common noise standard deviation ($).
        mu_is_location: interpret ``mu`` as Gumbel locations.
        result: a precomputed :func:`recursive_logit` for the same inputs (skips the recursion).
        return_utility: also return each driver's realised total utility ``Σ (μ_a + ε_a)``.

    Returns:
        (n, n_arcs) boolean chosen-arc indicators; with ``return_utility`` also (n,) realised
        utilities ($), whose mean is ``V[source]``.
    """
    net = as_network(B, f)
    if result is None:
        result = recursive_logit(net, None, mu, beta, sigma=sigma, mu_is_location=mu_is_location)
    b = result.beta
    util = result.mu
    if not np.isfinite(result.V[net.source]):
        raise ValueError("the sink is not reachable from the source")
    outs = arcs_by_node(net.tail, net.n_nodes)
    cont = util + result.V[net.head]  # value of continuing via each arc (−inf if dead end)
    X = np.zeros((n, net.n_arcs), dtype=bool)
    total = np.zeros(n)
    pos = np.full(n, net.source, dtype=np.intp)
    for node in net.order:
        if node == net.sink:
            continue
        idx = np.flatnonzero(pos == node)
        if len(idx) == 0:
            continue
        arcs = outs[node]
        eps = b * (rng.gumbel(size=(len(idx), len(arcs))) - EULER_GAMMA)
        choice = np.argmax(cont[arcs] + eps, axis=1)
        chosen = arcs[choice]
        X[idx, chosen] = True
        total[idx] += util[chosen] + eps[np.arange(len(idx)), choice]
        pos[idx] = net.head[chosen]
    if return_utility:
        return X, total
    return X

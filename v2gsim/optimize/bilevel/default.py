"""Default instance of seed 000's bilevel problem: two driver clusters on one network template.

Pure: the caller gives the network template and the market's mean prices;
:func:`v2gsim.specs.build.default_instance` takes them from a scenario (the shipped default).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike

from v2gsim.core.network import NetworkTemplate, build_network
from v2gsim.market.prices import PJM2016_CAPABILITY, PJM2016_PERFORMANCE
from v2gsim.market.settlement import KW_PER_MW
from v2gsim.optimize.bilevel.instance import BilevelInstance, DriverCluster
from v2gsim.optimize.chance.bounds import Bound

__all__ = ["DEFAULT_REQUIREMENT", "flexible_template", "two_cluster_instance"]

#: Requirement statistics of the default instance at score target 0.95 (pooled over hours): the
#: values :meth:`v2gsim.market.requirement.RequirementStats.from_synthetic` gives for 14 synthetic
#: RegD days at 25 ΔMW/MW per hour with the default scenario's seed (r̄, σ^f, σ^b; kW/kW).
DEFAULT_REQUIREMENT = (0.88, 0.045, 0.064)


def flexible_template(template: NetworkTemplate, shift: int = 2) -> NetworkTemplate:
    """Second cluster of the default instance: late, rebate-responsive drivers.

    The home (start place) and work utility profiles shifted ``shift`` hours later (work window
    too), home more predictable (σ = 0.3 $) and plug-in utilities at home more rebate-sensitive
    (plug σ = 0.2 $).
    """
    T = template.hours
    places = []
    for p in template.places:
        if p.name == template.start_place:
            p = replace(p, utility=tuple(float(u) for u in np.roll(np.asarray(p.utility), shift)),
                        sigma=(0.3,) * T, plug_sigma=(0.2,) * T)
        elif p.name == "work":
            lo, hi = p.window
            p = replace(p, utility=tuple(float(u) for u in np.roll(np.asarray(p.utility), shift)),
                        window=(min(lo + shift, T - 1), min(hi + shift, T)))
        places.append(p)
    return replace(template, places=tuple(places))


def two_cluster_instance(
    template: NetworkTemplate,
    shares: ArrayLike = (0.5, 0.5),
    *,
    capability_price: float = 13.94,
    performance_price: float = 1.56,
    mileage: float = 25.0,
    fleet_size: float = 200.0,
    psi: float = 10.0,
    levels: ArrayLike = (0.0, 0.1, 0.2, 0.3, 0.4),
    eta: float = 0.05,
    bound: Bound = 3,
    price_scale: ArrayLike = 1.0,
) -> BilevelInstance:
    """The default instance on ``template``: clusters ``commuters`` (the template as is) and
    ``flexible`` (:func:`flexible_template`), PJM 2016 hour-of-day price shapes.

    * Prices: p̄_t = (capability_t + performance_t × mileage) / 1000 $ per kW-h with the mean prices
      (13.94 $/MW-h, 1.56 $/ΔMW by default) times the PJM 2016 hour-of-day shapes
      (:data:`v2gsim.market.prices.PJM2016_CAPABILITY`), times ``price_scale``.
    * Requirement: :data:`DEFAULT_REQUIREMENT` (r̄ = 0.88, σ^f = 0.045, σ^b = 0.064 kW/kW).

    Args:
        template: network template of the ``commuters`` cluster.
        shares: population shares of (commuters, flexible), >= 0; a cluster of share 0 is dropped
            (an empty cluster, as the model drops one).
        capability_price: mean capability price ($/MW-h).
        performance_price: mean performance price ($/ΔMW).
        mileage: mean hourly mileage (ΔMW/MW).
        fleet_size: M (EVs).
        psi: ψ (kW).
        levels: rebate levels ($ per plugged EV-hour).
        eta: η.
        bound: 3 or 4.
        price_scale: factor(s) on p̄_t (scalar or (T,)), e.g. for perturbed-price benchmarks.

    Returns:
        The :class:`BilevelInstance`.
    """
    net1 = build_network(template)
    net2 = build_network(flexible_template(template))
    T = template.hours
    cap_shape = np.asarray(PJM2016_CAPABILITY.hour_shape, float)
    perf_shape = np.asarray(PJM2016_PERFORMANCE.hour_shape, float)
    cap_shape = np.resize(cap_shape / cap_shape.mean(), T)
    perf_shape = np.resize(perf_shape / perf_shape.mean(), T)
    price = capability_price * cap_shape + performance_price * perf_shape * float(mileage)
    price = price / KW_PER_MW * np.broadcast_to(np.asarray(price_scale, float), (T,))
    r_bar, sig_f, sig_b = DEFAULT_REQUIREMENT
    sh = np.asarray(shares, float).ravel()
    clusters = (DriverCluster.from_network(net1, "commuters"), DriverCluster.from_network(net2, "flexible"))
    if sh.shape == (2,) and np.all(sh >= 0) and np.any(sh > 0):
        clusters, sh = tuple(c for c, s in zip(clusters, sh, strict=True) if s > 0), sh[sh > 0]
    return BilevelInstance(
        clusters=clusters,
        shares=sh,
        fleet_size=float(fleet_size),
        psi=float(psi),
        levels=np.asarray(levels, float),
        price=price,
        r_bar=np.full(T, r_bar),
        sigma_dev=np.full(T, sig_f if bound == 3 else sig_b),
        eta=float(eta),
        bound=bound,
    )

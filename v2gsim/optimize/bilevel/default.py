"""Default instance of seed 000's bilevel problem: two driver clusters on the default scenario's network.

Builds its networks from a scenario (:mod:`v2gsim.config`, imported lazily inside the functions): the one
module of :mod:`v2gsim.optimize` that reads the schema, for now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from v2gsim.market.chance import Bound
from v2gsim.market.prices import PJM2016_CAPABILITY, PJM2016_PERFORMANCE
from v2gsim.market.settlement import KW_PER_MW
from v2gsim.network import build_network
from v2gsim.optimize.bilevel.instance import BilevelInstance, DriverCluster

__all__ = ["DEFAULT_REQUIREMENT", "default_instance"]

#: Requirement statistics of the default instance at score target 0.95 (pooled over hours): the
#: values :meth:`v2gsim.market.requirement.RequirementStats.from_synthetic` gives for 14 synthetic
#: RegD days at 25 ΔMW/MW per hour with the default scenario's seed (r̄, σ^f, σ^b; kW/kW).
DEFAULT_REQUIREMENT = (0.88, 0.045, 0.064)


def _flexible_cluster(net_cfg: Any, shift: int = 2) -> Any:
    """Second cluster of :func:`default_instance`: late, rebate-responsive drivers."""
    from v2gsim.config import NetworkConfig

    d = net_cfg.model_dump()
    T = d["hours"]
    for p in d["places"]:
        if p["name"] == d["start_place"]:
            p["utility"] = list(np.roll(np.asarray(_hourly_list(p["utility"], T)), shift))
            p["sigma"] = 0.3
            p["plug_sigma"] = 0.2
        elif p["name"] == "work":
            p["utility"] = list(np.roll(np.asarray(_hourly_list(p["utility"], T)), shift))
            lo, hi = p["window"]
            p["window"] = (min(lo + shift, T - 1), min(hi + shift, T))
    return NetworkConfig.model_validate(d)


def _hourly_list(v: Any, T: int) -> list[float]:
    return [float(x) for x in v] if isinstance(v, list) else [float(v)] * T


def default_instance(
    shares: ArrayLike = (0.5, 0.5),
    *,
    fleet_size: float = 200.0,
    psi: float = 10.0,
    levels: ArrayLike = (0.0, 0.1, 0.2, 0.3, 0.4),
    eta: float = 0.05,
    bound: Bound = 3,
    scenario: str | Path | None = None,
    price_scale: ArrayLike = 1.0,
) -> BilevelInstance:
    """The default instance: 24 h, two clusters on the default scenario's network, 5 levels, 200 EVs.

    * Cluster ``commuters``: ``build_network(load_scenario(scenario).network)`` as is (home
      charger, work 6–20 h, other 7–23 h).
    * Cluster ``flexible``: the same template with the home and work utility profiles shifted two
      hours later (work window +2 h), home stays more predictable (σ = 0.3 $ instead of 0.6) and
      plug-in utilities more rebate-sensitive (plug σ = 0.2 $ instead of 0.6).
    * Prices: p̄_t = (capability_t + performance_t × 25 ΔMW/MW) / 1000 $ per kW-h with the
      scenario's mean prices (13.94 $/MW-h, 1.56 $/ΔMW) times the PJM 2016 hour-of-day shapes
      (:data:`v2gsim.market.prices.PJM2016_CAPABILITY`), times ``price_scale``.
    * Requirement: :data:`DEFAULT_REQUIREMENT` (r̄ = 0.88, σ^f = 0.045, σ^b = 0.064 kW/kW).
    * ψ = 10 kW, η = 0.05, bound (3), levels 0–0.4 $ per plugged EV-hour.

    Args:
        shares: population shares of (commuters, flexible).
        fleet_size: M (EVs).
        psi: ψ (kW).
        levels: rebate levels ($ per plugged EV-hour).
        eta: η.
        bound: 3 or 4.
        scenario: scenario file (default ``scenarios/default.toml``).
        price_scale: factor(s) on p̄_t (scalar or (24,)), e.g. for perturbed-price benchmarks.

    Returns:
        The :class:`BilevelInstance`.
    """
    from v2gsim.config import load_scenario

    sc = load_scenario(scenario)
    net1 = build_network(sc.network)
    net2 = build_network(_flexible_cluster(sc.network))
    T = sc.network.hours
    cap_shape = np.asarray(PJM2016_CAPABILITY.hour_shape, float)
    perf_shape = np.asarray(PJM2016_PERFORMANCE.hour_shape, float)
    cap_shape = np.resize(cap_shape / cap_shape.mean(), T)
    perf_shape = np.resize(perf_shape / perf_shape.mean(), T)
    mileage = float(sc.market.mean_hourly_mileage)
    price = (sc.market.capability_price * cap_shape + sc.market.performance_price * perf_shape * mileage)
    price = price / KW_PER_MW * np.broadcast_to(np.asarray(price_scale, float), (T,))
    r_bar, sig_f, sig_b = DEFAULT_REQUIREMENT
    return BilevelInstance(
        clusters=(
            DriverCluster.from_network(net1, "commuters"),
            DriverCluster.from_network(net2, "flexible"),
        ),
        shares=np.asarray(shares, float),
        fleet_size=float(fleet_size),
        psi=float(psi),
        levels=np.asarray(levels, float),
        price=price,
        r_bar=np.full(T, r_bar),
        sigma_dev=np.full(T, sig_f if bound == 3 else sig_b),
        eta=float(eta),
        bound=bound,
    )

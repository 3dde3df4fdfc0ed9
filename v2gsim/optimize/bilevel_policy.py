"""Policy ``bilevel``: daily plug-in rebates and regulation bids from the bilevel model (seed 000).

Every simulated day the platform re-solves models.md §1.5 (B1) with its current beliefs: one
persistency follower per driver cluster (the scenario's utilities, or re-calibrated ones with
``[platform] beliefs = "calibrated"``), the expected prices of the day, and the requirement
statistics and chance bound of ``[platform.chance]``. The problem object
(:class:`~v2gsim.optimize.bilevel.BilevelProblem`) is built once and re-parameterized; each solve is
warm-started from yesterday's rebates and limited to ``time_limit_s``. A solve that fails falls back
to yesterday's decision (or, on the first day, to no rebates with the closed-form ``chance`` bids)
and the daily table says so (``policy_status``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from v2gsim.market.agc import read_pjm_regd, synthetic_regd
from v2gsim.market.requirement import net_discharge_stats
from v2gsim.optimize.bilevel import (
    BilevelInstance,
    BilevelProblem,
    BilevelSolution,
    CommunitySolution,
    DriverCluster,
    SOCBound,
    solve_community,
)
from v2gsim.optimize.chance_policy import (
    REQUIREMENT_SEED_TAG,
    ChancePolicy,
    expected_price_per_kw,
    policy_from_scenario,
)
from v2gsim.policies import Decision, Observation, Policy, register_policy

if TYPE_CHECKING:
    from v2gsim.config import Scenario

__all__ = ["BilevelPolicy", "bilevel_instance", "soc_bound_for"]


def soc_bound_for(scenario: Scenario) -> SOCBound:
    """The state-of-charge guarantee (E3) of ``scenario``: omega = ``drivers.baseline_charge_kw``,
    net-discharge statistics from the same AGC history as the requirement statistics (PJM files, or
    ``platform.chance.requirement_days`` synthetic days), kappa-hat = sqrt(-2 ln soc_eta)."""
    hours = scenario.network.hours
    if scenario.market.agc == "pjm_regd":
        days = [read_pjm_regd(scenario.resolve_path(p)) for p in scenario.market.agc_files]
    else:
        rng = np.random.default_rng([scenario.seed, REQUIREMENT_SEED_TAG])
        n = scenario.platform.chance.requirement_days
        sig = synthetic_regd(rng, days=n, mean_hourly_mileage=scenario.market.mean_hourly_mileage)
        days = np.split(sig, n)
    gamma_bar, sigma_f = net_discharge_stats(days, hours=hours)
    eta_hat = scenario.platform.bilevel.soc_eta
    return SOCBound(omega=scenario.drivers.baseline_charge_kw, gamma_bar=gamma_bar,
                    sigma_gamma=sigma_f, kappa=float(np.sqrt(-2.0 * np.log(eta_hat))))


def bilevel_instance(obs: Observation, chance: ChancePolicy, levels: np.ndarray,
                     soc: SOCBound | None = None) -> BilevelInstance:
    """The day's bilevel instance from the platform's observation (beliefs, prices) and bound.

    Args:
        obs: observation with ``extra["beliefs"]`` (:class:`~v2gsim.behavior.beliefs.ClusterBeliefs`).
        chance: the chance policy whose bound, requirement statistics and capability are used.
        levels: rebate levels ($ per plugged EV-hour).
        soc: optional state-of-charge guarantee (models.md E3).
    """
    beliefs = obs.extra["beliefs"]
    clusters = tuple(DriverCluster.from_network(net, name=f"cluster{k}")
                     for k, net in enumerate(beliefs.networks))
    sizes = np.asarray(beliefs.sizes, dtype=float)
    price = expected_price_per_kw(obs.capability_price, obs.performance_price,
                                  chance.stats.mean_mileage, mileage_basis=chance.mileage_basis,
                                  rega_mileage=chance.rega_mileage)
    return BilevelInstance(
        clusters=clusters, shares=sizes / sizes.sum(), fleet_size=float(sizes.sum()),
        psi=float(obs.charger_kw) - chance.reserve_kw, levels=np.asarray(levels, dtype=float),
        price=price, r_bar=chance.stats.r_bar, sigma_dev=chance.stats.sigma(chance.bound),
        eta=chance.eta, bound=chance.bound, soc=soc,
    )


@dataclass
class BilevelPolicy:
    """Rebates and bids from the bilevel model, re-solved daily (see the module docstring)."""

    chance: ChancePolicy
    levels: np.ndarray
    method: str = "bnb"
    time_limit_s: float = 2.0
    rel_gap: float = 1e-4
    valid_inequalities: bool = False
    soc: SOCBound | None = None
    objective: str = "platform"
    community_k: float = 1.0
    name: str = "bilevel"
    problem: BilevelProblem | None = None
    last: Decision | None = None
    history: list[BilevelSolution | CommunitySolution] = field(default_factory=list)

    def solve(self, obs: Observation) -> BilevelSolution | CommunitySolution:
        """Solve the day's bilevel problem (builds the problem on first use)."""
        inst = bilevel_instance(obs, self.chance, self.levels, self.soc)
        if self.problem is None:
            self.problem = BilevelProblem(inst)
        else:
            self.problem.update(inst)
        warm = None if self.last is None else self.last.rebate
        if self.objective == "community":
            return solve_community(self.problem, k=self.community_k, time_limit=self.time_limit_s,
                                   rel_gap=self.rel_gap, warm_start=warm)
        return self.problem.solve(self.method, time_limit=self.time_limit_s, rel_gap=self.rel_gap,
                                  warm_start=warm, valid_inequalities=self.valid_inequalities)

    def decide(self, obs: Observation) -> Decision:
        """Today's rebates and bids; falls back to yesterday's decision when the solve fails."""
        t0 = time.perf_counter()
        try:
            sol = self.solve(obs)
        except Exception as exc:  # keep the simulation going; the table records the failure
            if self.last is not None:
                fallback = self.last
            else:
                base = self.chance.decide(obs)
                fallback = Decision(rebate=np.zeros(obs.hours), bid_kw=base.bid_kw)
            info: dict[str, Any] = {"policy_status": f"fallback: {type(exc).__name__}: {exc}",
                                    "solve_time_s": time.perf_counter() - t0}
            self.last = Decision(fallback.rebate, fallback.bid_kw, info)
            return self.last
        self.history.append(sol)
        if isinstance(sol, CommunitySolution):
            info = {"policy_status": sol.status, "solve_time_s": sol.solve_time_s, "gap": sol.gap,
                    "predicted_profit": sol.profit, "community_objective": sol.objective,
                    "method": "community-coordinate"}
        else:
            info = {"policy_status": sol.status, "solve_time_s": sol.solve_time_s, "gap": sol.gap,
                    "predicted_profit": sol.objective, "predicted_profit_no_rebates":
                    sol.objective_no_rebates, "certificate": sol.certificate, "method": sol.method}
        self.last = Decision(rebate=np.asarray(sol.rebates, dtype=float),
                             bid_kw=np.asarray(sol.bids, dtype=float), info=info)
        return self.last


def policy_for(scenario: Scenario) -> BilevelPolicy:
    """The ``bilevel`` policy of ``scenario`` (``[platform.bilevel]`` and ``[platform.chance]``)."""
    cfg = scenario.platform.bilevel
    return BilevelPolicy(chance=policy_from_scenario(scenario), levels=np.asarray(cfg.levels),
                         method=cfg.method, time_limit_s=cfg.time_limit_s, rel_gap=cfg.rel_gap,
                         valid_inequalities=cfg.valid_inequalities,
                         soc=soc_bound_for(scenario) if cfg.soc_guarantee else None,
                         objective=cfg.objective, community_k=cfg.community_k)


@register_policy("bilevel")
def _make_bilevel(scenario: Scenario) -> Policy:
    """Factory for ``[platform] policy = "bilevel"``."""
    return policy_for(scenario)

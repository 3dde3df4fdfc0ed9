"""Policy ``bilevel``: daily plug-in rebates and regulation bids from the bilevel model (seed 000).

Every simulated day the platform re-solves models.md §1.5 (B1) with its current beliefs: one
persistency follower per driver cluster (the networks of :class:`~v2gsim.policies.base.PlugBeliefs`:
the scenario's utilities, or re-calibrated ones with ``[platform] beliefs = "calibrated"``), the
expected prices of the day, and the requirement statistics and chance bound of its ``chance``
settings. The problem object (:class:`~v2gsim.optimize.bilevel.BilevelProblem`) is built once and
re-parameterized; each solve is warm-started from yesterday's rebates (and the Newton solves of
its root from yesterday's root potentials) and limited to ``time_limit_s``; when the day's instance
equals yesterday's and yesterday's solution was proven, it is reused without a search; the root
bound is tried first and often proves the warm start alone.
A solve that fails with a typed solver error falls back to yesterday's decision
(or, on the first day, to no rebates with the ``chance`` bids) and the daily table says so
(``policy_status``); any other exception is a programming error and propagates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from v2gsim.behavior.persistency import PersistencySolveError
from v2gsim.core.solvers import SolveError
from v2gsim.optimize.bilevel import (
    BilevelInstance,
    BilevelProblem,
    BilevelSolution,
    CommunitySolution,
    DriverCluster,
    SOCBound,
    solve_community,
)
from v2gsim.optimize.chance.bids import expected_price_per_kw
from v2gsim.policies.base import Decision, NetDischargeStats, Observation, PolicyInputs
from v2gsim.policies.chance import ChancePolicy, ChanceSpec, make_chance

__all__ = ["BilevelPolicy", "BilevelSpec", "bilevel_instance", "make_bilevel", "soc_bound"]

#: Failures of a daily solve that the policy survives with a fallback decision.
SOLVE_FAILURES = (SolveError, PersistencySolveError)


class BeliefsUnavailable(Exception):
    """The observation carries no beliefs (the platform's persistency prediction failed)."""


@dataclass(frozen=True)
class BilevelSpec:
    """Settings of ``bilevel`` (``[platform.bilevel]``; the chance bound of ``[platform.chance]``).

    Built by :func:`v2gsim.specs.build.policy_spec`; the defaults are the schema's
    (:class:`v2gsim.config.platform.BilevelConfig`).

    Attributes:
        chance: settings of the chance bound (and of the first day's fallback).
        levels: discrete rebate levels s_h, increasing from 0 ($ per plugged EV-hour).
        method: ``"bnb"``, ``"coordinate"`` or ``"misocp"``.
        time_limit_s: time limit of the daily solve (s).
        rel_gap: relative optimality gap (-).
        valid_inequalities: add the (B3) bounds to the MISOCP.
        objective: ``"platform"`` (B1) or ``"community"`` (E2).
        community_k: profit-sharing scale K of the community objective (-).
        soc_guarantee: state-of-charge guarantee (E3).
        soc_eta: its violation probability eta-hat (-).
        omega: guaranteed baseline charging rate per plugged EV of the guarantee (kW).
    """

    chance: ChanceSpec
    levels: tuple[float, ...]
    method: str
    time_limit_s: float
    rel_gap: float
    valid_inequalities: bool
    objective: str
    community_k: float
    soc_guarantee: bool
    soc_eta: float
    omega: float
    name: str = "bilevel"


def soc_bound(spec: BilevelSpec, stats: NetDischargeStats | None) -> SOCBound | None:
    """The state-of-charge guarantee (E3) of ``spec``, or None when it is off.

    omega from the spec, the net-discharge statistics of the run's AGC history, and
    kappa-hat = sqrt(-2 ln soc_eta).

    Raises:
        ValueError: the guarantee is on but no net-discharge statistics were given.
    """
    if not spec.soc_guarantee:
        return None
    if stats is None:
        raise ValueError("the SOC guarantee needs net-discharge statistics (PolicyInputs.net_discharge)")
    return SOCBound(omega=spec.omega, gamma_bar=stats.gamma_bar, sigma_gamma=stats.sigma,
                    kappa=float(np.sqrt(-2.0 * np.log(spec.soc_eta))))


def bilevel_instance(obs: Observation, chance: ChancePolicy, levels: np.ndarray,
                     soc: SOCBound | None = None) -> BilevelInstance:
    """The day's bilevel instance from the platform's observation (beliefs, prices) and bound.

    Args:
        obs: observation with beliefs (the believed network of every driver cluster).
        chance: the chance policy whose bound, requirement statistics and capability are used.
        levels: rebate levels ($ per plugged EV-hour).
        soc: optional state-of-charge guarantee (models.md E3).

    Raises:
        ValueError: the observation carries no beliefs.
    """
    if obs.beliefs is None:
        raise ValueError("policy 'bilevel' needs the platform's beliefs in the observation")
    clusters = tuple(DriverCluster.from_network(net, name=f"cluster{k}")
                     for k, net in enumerate(obs.beliefs.networks))
    sizes = np.asarray(obs.beliefs.sizes, dtype=float)
    stats = chance.stats.at_hours(obs.hours)
    price = expected_price_per_kw(obs.capability_price, obs.performance_price,
                                  stats.mean_mileage, mileage_basis=chance.mileage_basis,
                                  rega_mileage=chance.rega_mileage)
    return BilevelInstance(
        clusters=clusters, shares=sizes / sizes.sum(), fleet_size=float(sizes.sum()),
        psi=float(obs.charger_kw) - chance.reserve_kw, levels=np.asarray(levels, dtype=float),
        price=price, r_bar=stats.r_bar, sigma_dev=stats.sigma(chance.bound),
        eta=chance.eta, bound=chance.bound, soc=soc,
    )


@dataclass
class BilevelPolicy:
    """Rebates and bids from the bilevel model, re-solved daily (see the module docstring).

    Built by :func:`make_bilevel` from a :class:`BilevelSpec` (whose attributes these are; ``soc``
    is the guarantee :func:`soc_bound` makes of it, None when off).
    """

    chance: ChancePolicy
    levels: np.ndarray
    method: str
    time_limit_s: float
    rel_gap: float
    valid_inequalities: bool
    soc: SOCBound | None
    objective: str
    community_k: float
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
            if obs.beliefs is None:  # the platform's own belief solve failed (agents/platform.py)
                raise BeliefsUnavailable("the platform has no persistency prediction today")
            sol = self.solve(obs)
        except (*SOLVE_FAILURES, BeliefsUnavailable) as exc:  # keep going; the table records the failure
            fallback = self.last if self.last is not None else self._first_day_fallback(obs)
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.last = Decision(fallback.rebate, fallback.bid_kw, status=f"fallback: {reason}",
                                 solve_time_s=time.perf_counter() - t0, fallback_reason=reason)
            return self.last
        self.history.append(sol)
        if isinstance(sol, CommunitySolution):
            profit = sol.profit
            info = {"community_objective": sol.objective, "method": "community-coordinate"}
        else:
            profit = sol.objective
            info = {"predicted_profit_no_rebates": sol.objective_no_rebates,
                    "certificate": sol.certificate, "method": sol.method}
        self.last = Decision(rebate=np.asarray(sol.rebates, dtype=float),
                             bid_kw=np.asarray(sol.bids, dtype=float), status=sol.status,
                             solve_time_s=sol.solve_time_s, gap=sol.gap, predicted_profit=profit,
                             info=info)
        return self.last

    def _first_day_fallback(self, obs: Observation) -> Decision:
        """No rebates with the ``chance`` bids."""
        return Decision(rebate=np.zeros(obs.hours), bid_kw=self.chance.decide(obs).bid_kw)


def make_bilevel(spec: BilevelSpec, inputs: PolicyInputs) -> BilevelPolicy:
    """Build ``bilevel`` from its settings and the run's requirement (and net-discharge) statistics."""
    return BilevelPolicy(chance=make_chance(spec.chance, inputs), levels=np.asarray(spec.levels),
                         method=spec.method, time_limit_s=spec.time_limit_s, rel_gap=spec.rel_gap,
                         valid_inequalities=spec.valid_inequalities,
                         soc=soc_bound(spec, inputs.net_discharge), objective=spec.objective,
                         community_k=spec.community_k)

"""Seed 000's bilevel rebate-and-bid problem (models.md §1.5, B1–B3, S1–S6, E1–E3), solved fast.

The platform (leader) chooses hourly plug-in rebates ``s_t`` from discrete levels ŝ_h ($ per plugged
EV-hour) and regulation bids ``C_t`` (kW) to maximise expected credits minus rebates paid,

    max_{s, C}  Σ_t ( p̄_t C_t − s_t Σ_c M_c y_ct )                                              (B1)

subject to the chance bound (3) or (4) on C_t for every hour (with the no-bid switch for quiet
hours), knowing that every driver cluster c (share π_c, M_c = π_c M EVs) answers with the
persistencies y_c(s) of the persistency model with rebates (D5). Several clusters enter the bound as a
mixture (E1): mean Σ_c M_c y_ct, spread Σ_c M_c y_ct(1 − y_ct). The persistencies y are those of the
persistency model's extremal (worst-case, path-correlated) distribution of utilities, the
prediction the platform plans with (models.md D2), not plug-in frequencies of independent drivers.

Two formulations are offered:

* **Exact-follower search** (:mod:`~v2gsim.optimize.bilevel.search`): for fixed s the best bids are
  the closed form of the bound (:mod:`~v2gsim.optimize.bilevel.bids`), so the leader's value V(s) is
  an explicit function of the follower's response (:mod:`~v2gsim.optimize.bilevel.leader`). A
  coordinate search (heuristic) and a branch-and-bound over level domains (exact, with bounds from
  the follower's monotone response, models.md B3, :mod:`~v2gsim.optimize.bilevel.bounds`) re-solve
  the follower exactly with a batched Newton method
  (:class:`~v2gsim.optimize.bilevel.follower.BatchFollower`).
* **Single-level MISOCP** (:class:`~v2gsim.optimize.bilevel.misocp.BilevelMISOCP`, S1–S6 + S4 +
  no-bid switch, optional valid inequalities B3), built once with cvxpy Parameters and solved with
  SCIP.

:class:`~v2gsim.optimize.bilevel.problem.BilevelProblem` is built once per network set and
re-parameterised daily; every solution it returns is re-evaluated exactly
(:class:`~v2gsim.optimize.bilevel.solution.BilevelSolution`). The community objective (E2) is in
:mod:`~v2gsim.optimize.bilevel.community`, the state-of-charge guarantee (E3) in
:class:`~v2gsim.optimize.bilevel.bids.SOCBound`.

Modules: ``instance`` (data), ``solution``, ``bids`` (closed-form bids, E3), ``follower`` (batched
D5), ``substitution`` (B3 complementarity check), ``leader`` (V(s)), ``bounds`` (B3 bounds),
``search`` (coordinate search, branch-and-bound, enumeration), ``misocp`` (S1–S6), ``problem``,
``community`` (E2), ``default`` (the default instance).
"""

from v2gsim.behavior.persistency.clusters import DriverCluster
from v2gsim.optimize.bilevel.bids import SOCBound, cstar
from v2gsim.optimize.bilevel.community import (
    CommunitySolution,
    brute_force_community,
    community_values,
    solve_community,
)
from v2gsim.optimize.bilevel.default import DEFAULT_REQUIREMENT, flexible_template, two_cluster_instance
from v2gsim.optimize.bilevel.follower import BatchFollower, FollowerBatch
from v2gsim.optimize.bilevel.instance import BilevelInstance
from v2gsim.optimize.bilevel.misocp import BilevelMISOCP
from v2gsim.optimize.bilevel.problem import BilevelProblem, Method, brute_force, solve_bilevel
from v2gsim.optimize.bilevel.solution import BilevelSolution
from v2gsim.optimize.bilevel.substitution import SubstitutionReport, substitution_report

__all__ = [
    "DEFAULT_REQUIREMENT",
    "BatchFollower",
    "BilevelInstance",
    "BilevelMISOCP",
    "BilevelProblem",
    "BilevelSolution",
    "CommunitySolution",
    "DriverCluster",
    "FollowerBatch",
    "Method",
    "SOCBound",
    "SubstitutionReport",
    "brute_force",
    "brute_force_community",
    "community_values",
    "cstar",
    "flexible_template",
    "solve_bilevel",
    "solve_community",
    "substitution_report",
    "two_cluster_instance",
]

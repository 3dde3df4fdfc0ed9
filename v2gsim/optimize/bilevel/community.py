"""Community (driver-owned platform) objective of seed 000, models.md (E2).

The platform is owned by its drivers: it chooses rebates to maximise the drivers' expected surplus
plus their share of the platform's profit,

    W(s) = Σ_c π_c V_c(s) + (1/(𝕂 M)) Π(s)      s.t.  Π(s) >= 0                          (E2)

where V_c(s) is the persistency value (D5) of a driver of cluster c at hourly rebates s ($ per day,
rebates received included), Π(s) = Σ_t (p̄_t C*_t − s_t Σ_c M_c y_ct) the platform's profit with the
closed-form chance-constrained bids (B1), and 𝕂 the profit-sharing scale of the slides, whose
meaning is not recoverable (models.md §1.5): with 𝕂 = 1 the profit is shared equally among the M
owners.

Method: a coordinate search over the discrete rebate levels with the exact follower (one batched
Newton solve per sweep over every single-hour change), started from no rebates (always feasible:
Π(0) >= 0). The search is a heuristic; its solutions carry a certified upper bound that uses two
monotone facts: V_c is non-decreasing in every s_t (a rebate only raises plug-in arc utilities), so
V_c(s) <= V_c(s_max) with every free hour at the top level, and Π(s) <= U, the certified upper bound
of the leader's own problem (B1) from
:meth:`~v2gsim.optimize.bilevel.problem.BilevelProblem.solve`. So W(s) <= Σ_c π_c V_c(s_max) +
max(U, 0)/(𝕂M) for every feasible s. :func:`brute_force_community` enumerates tiny instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.clusters import arc_rebates
from v2gsim.optimize.bilevel.instance import top_rebates
from v2gsim.optimize.bilevel.leader import single_hour_changes
from v2gsim.optimize.bilevel.problem import BilevelProblem
from v2gsim.optimize.bilevel.search import check_enumeration, level_vectors
from v2gsim.optimize.bilevel.solution import relative_gap

__all__ = ["CommunitySolution", "brute_force_community", "community_values", "solve_community"]


@dataclass
class CommunitySolution:
    """A solution of the community problem (E2), re-evaluated exactly.

    Attributes:
        rebates: (T,) rebates ($ per plugged EV-hour).
        bids: (T,) closed-form bids (kW).
        y: (T, n_clusters) hourly plug-in persistencies.
        objective: W(s) ($ per driver and day).
        surplus: Σ_c π_c V_c(s) ($ per driver and day).
        profit: Π(s) ($ per day), >= 0.
        objective_no_rebates: W(0) ($ per driver and day).
        upper_bound: certified upper bound on W over feasible rebates.
        gap: (upper_bound − objective)/|objective|.
        solve_time_s: wall time (s).
        status: ``optimal`` (gap within ``rel_gap``) or ``feasible``.
        sweeps: coordinate-search sweeps.
    """

    rebates: NDArray[np.float64]
    bids: NDArray[np.float64]
    y: NDArray[np.float64]
    objective: float
    surplus: float
    profit: float
    objective_no_rebates: float
    upper_bound: float
    gap: float
    solve_time_s: float
    status: str
    sweeps: int

    def to_dict(self) -> dict:
        """JSON-ready dictionary (lists for arrays)."""
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self.__dict__.items()}


def community_values(
    problem: BilevelProblem, S: ArrayLike, k: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(W, surplus, profit)`` of a batch of rebate vectors S (K, T), exactly (batched follower).

    Args:
        problem: the bilevel problem (networks, prices, bound).
        S: (K, T) rebates ($ per plugged EV-hour).
        k: profit-sharing scale 𝕂 (> 0).
    """
    inst = problem.instance
    S = np.atleast_2d(np.asarray(S, dtype=float))
    surplus = np.zeros(S.shape[0])
    yh = np.zeros((S.shape[0], inst.hours, inst.n_clusters))
    for c, (cl, fol) in enumerate(zip(inst.clusters, problem.followers, strict=True)):
        res = fol.solve(S)
        reb = arc_rebates(cl.plug_hour, S)
        y = np.clip(res.y, 0.0, 1.0)
        v = (cl.mu + reb) * y + cl.sigma * np.sqrt(y * (1.0 - y))  # D5 objective per arc
        surplus += inst.shares[c] * v.sum(axis=1)
        yh[:, :, c] = res.y_hours
    profit = np.array([np.subtract(*problem.value(s, y)[:2]) for s, y in zip(S, yh, strict=True)])
    return surplus + profit / (k * inst.fleet_size), surplus, profit


def _package(problem: BilevelProblem, s: NDArray, k: float, ub: float, t0: float, sweeps: int,
             rel_gap: float) -> CommunitySolution:
    w, sur, prof = community_values(problem, s[None, :], k)
    w0 = community_values(problem, np.zeros((1, s.size)), k)[0][0]
    yh = problem.hourly(problem.follower(s))
    bids = problem.value(s, yh)[2]
    gap = relative_gap(ub, w[0])
    return CommunitySolution(
        rebates=s, bids=bids, y=yh, objective=float(w[0]), surplus=float(sur[0]),
        profit=float(prof[0]), objective_no_rebates=float(w0), upper_bound=float(ub), gap=float(gap),
        solve_time_s=time.perf_counter() - t0, status="optimal" if gap <= rel_gap else "feasible",
        sweeps=sweeps,
    )


def solve_community(
    problem: BilevelProblem, *, k: float = 1.0, time_limit: float = 10.0, rel_gap: float = 1e-4,
    warm_start: ArrayLike | None = None, max_sweeps: int = 50,
) -> CommunitySolution:
    """Coordinate search for (E2) with a certified upper bound (see the module docstring).

    Args:
        problem: the bilevel problem.
        k: profit-sharing scale 𝕂 (> 0).
        time_limit: wall-time limit of the search (s).
        rel_gap: gap below which the solution is reported ``optimal``.
        warm_start: rebates to start from (used only if feasible, i.e. profit >= 0).
        max_sweeps: sweep limit.
    """
    if not k > 0:
        raise ValueError(f"the profit-sharing scale k must be > 0, got {k}")
    t0 = time.perf_counter()
    inst = problem.instance
    T, levels = inst.hours, inst.levels
    s = np.zeros(T)
    w_best = community_values(problem, s[None, :], k)[0][0]
    if warm_start is not None:
        ws = levels[inst.level_index(warm_start)]
        w, _, p = community_values(problem, ws[None, :], k)
        if p[0] >= 0 and w[0] > w_best:
            s, w_best = ws, w[0]
    hours = np.flatnonzero(inst.free)
    sweeps = 0
    while sweeps < max_sweeps and time.perf_counter() - t0 < time_limit:
        sweeps += 1
        cand = single_hour_changes(s, np.repeat(hours, levels.size), np.tile(levels, hours.size))
        w, _, p = community_values(problem, cand, k)
        w = np.where(p >= 0, w, -np.inf)
        i = int(np.argmax(w))
        if w[i] <= w_best + 1e-12 * max(1.0, abs(w_best)):
            break
        s, w_best = cand[i].copy(), w[i]
    s_max = top_rebates(levels, inst.free)
    v_max = community_values(problem, s_max[None, :], k)[1][0]
    remaining = max(time_limit - (time.perf_counter() - t0), 0.5)
    u_profit = problem.solve("bnb", time_limit=remaining, rel_gap=rel_gap).upper_bound
    ub = v_max + max(u_profit, 0.0) / (k * inst.fleet_size)
    return _package(problem, s, k, ub, t0, sweeps, rel_gap)


def brute_force_community(problem: BilevelProblem, *, k: float = 1.0,
                          max_vectors: int = 50_000) -> CommunitySolution:
    """Enumerate every level vector on the free hours (tiny instances; for tests).

    Raises:
        ValueError: if more than ``max_vectors`` vectors would be enumerated.
    """
    t0 = time.perf_counter()
    inst = problem.instance
    n = check_enumeration(inst.levels.size, int(inst.free.sum()), max_vectors)
    S = inst.levels[np.concatenate(list(level_vectors(inst.hours, inst.levels.size, inst.free, n)))]
    w, _, p = community_values(problem, S, k)
    w = np.where(p >= 0, w, -np.inf)
    best = S[int(np.argmax(w))]
    return _package(problem, best, k, float(w.max()), t0, 0, 0.0)

"""Seed 000's bilevel problem object (models.md §1.5, B1–B3): built once, re-parameterised daily.

:class:`BilevelProblem` holds the followers of one set of driver-cluster networks (batched Newton
for the search, :class:`~v2gsim.behavior.persistency.PersistencyModel` for the exact re-evaluation)
and the MISOCP once built. :meth:`BilevelProblem.update` re-parameterises it (prices, requirement
statistics, utilities) and :meth:`BilevelProblem.solve` takes yesterday's rebates as ``warm_start``
and a ``time_limit``; when the exact phase runs out of time the best solution found is returned with
its certified upper bound (status ``"time_limit"``), and when it fails the best known solution (warm
start, coordinate search or no rebates) is returned with status ``"fallback"``. The objective is
never below the no-rebate (``chance``) objective, which is always evaluated as a candidate.

Every returned solution is re-evaluated exactly: the follower is re-solved at the chosen rebates by
:class:`v2gsim.behavior.persistency.PersistencyModel` (Newton on D4), the bids are the closed form
(:func:`v2gsim.optimize.chance.bounds.max_bid`) at those persistencies and the reported objective is V(s) at
that point. The certificate is ``max |y − y_follower|`` over all arcs and clusters between the
persistencies the method worked with and the follower's (``certificate``), and against an
independent conic solve of the follower (Clarabel, ``certificate_primal``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency import PersistencyModel
from v2gsim.behavior.persistency.clusters import arc_rebates
from v2gsim.core.solvers import SolveError
from v2gsim.optimize.bilevel.bids import leader_bids, mixture_terms
from v2gsim.optimize.bilevel.bounds import level_bounds
from v2gsim.optimize.bilevel.follower import BatchFollower
from v2gsim.optimize.bilevel.instance import BilevelInstance
from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult
from v2gsim.optimize.bilevel.misocp import BilevelMISOCP
from v2gsim.optimize.bilevel.search import (
    branch_and_bound,
    brute_force_search,
    check_enumeration,
    coordinate_search,
)
from v2gsim.optimize.bilevel.solution import BilevelSolution, relative_gap
from v2gsim.optimize.bilevel.substitution import SubstitutionReport, sample_rebates, substitution_report
from v2gsim.optimize.chance.bounds import max_bid

__all__ = ["BilevelProblem", "Method", "brute_force", "solve_bilevel"]

Method = Literal["bnb", "coordinate", "misocp", "brute_force"]
"""Solution methods: exact branch-and-bound, coordinate search, SCIP on the MISOCP, enumeration."""


def _same_market(a: BilevelInstance, b: BilevelInstance) -> bool:
    """Whether two instances on the same networks have the same prices, requirement and bounds."""
    return (
        np.array_equal(a.price, b.price) and np.array_equal(a.r_bar, b.r_bar)
        and np.array_equal(a.sigma_dev, b.sigma_dev) and a.soc == b.soc
    )


def _max_deviation(ys: list[NDArray], ref: list[NDArray]) -> float:
    """``max |y − y_ref|`` over all arcs and clusters (per-cluster arc persistencies)."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ys, ref, strict=True))


class BilevelProblem:
    """The bilevel problem of one set of networks, built once and re-solved.

    Args:
        instance: the instance.
        substitution_samples: rebate vectors at which the complementarity of the charging arcs is
            checked (the two extreme vectors plus random level vectors).
        safety: multiplier of the sampled substitution effects in the branch-and-bound margins and
            the (B3) rows.
        seed: seed of the random sample vectors.
    """

    def __init__(
        self,
        instance: BilevelInstance,
        *,
        substitution_samples: int = 32,
        safety: float = 2.0,
        seed: int = 0,
    ) -> None:
        self.substitution_samples = int(substitution_samples)
        self.safety = float(safety)
        self.seed = int(seed)
        T = instance.hours
        self._followers = [
            BatchFollower(cl.B, cl.f, cl.mu, cl.sigma, cl.plug_hour, T) for cl in instance.clusters
        ]
        self._reference = [PersistencyModel(cl.B, cl.f, method="newton") for cl in instance.clusters]
        self._primal = [PersistencyModel(cl.B, cl.f, method="primal") for cl in instance.clusters]
        self._misocp: dict[bool, BilevelMISOCP] = {}
        self._subst: list[SubstitutionReport] | None = None
        self._memo: tuple[tuple, BilevelSolution] | None = None
        self._root_rho: tuple[list[NDArray], list[NDArray]] | None = None
        self.instance = instance
        self._ld = self._leader_data(instance)

    @property
    def followers(self) -> list[BatchFollower]:
        """The batched follower of every cluster (current utilities)."""
        return self._followers

    def _leader_data(self, inst: BilevelInstance) -> LeaderData:
        return LeaderData(
            followers=self._followers, M=inst.cluster_sizes, psi=float(inst.psi), kappa=inst.kappa,
            price=inst.price, r_bar=inst.r_bar, sigma_dev=inst.sigma_dev, levels=inst.levels,
            soc=inst.soc,
            free=inst.free, safety=self.safety,
        )

    # -- parameters ---------------------------------------------------------------------------------

    def update(self, instance: BilevelInstance | None = None, **changes: Any) -> None:
        """Re-parameterise for a new day: a new instance on the same networks, or changed fields.

        Args:
            instance: the new instance (same cluster networks: incidence and plug-in arcs).
            **changes: fields of the current instance to replace (``price``, ``r_bar``,
                ``sigma_dev``, ``shares``, ``fleet_size``, ``clusters`` with new utilities, ...).

        Raises:
            ValueError: if the networks changed (build a new problem then).
        """
        new = instance if instance is not None else self.instance.replace(**changes)
        old = self.instance
        if new.n_clusters != old.n_clusters or any(
            a.B.shape != b.B.shape
            or not np.array_equal(a.B, b.B)
            or not np.array_equal(a.plug_hour, b.plug_hour)
            for a, b in zip(new.clusters, old.clusters, strict=True)
        ):
            raise ValueError("the cluster networks changed: build a new BilevelProblem")
        if new.hours != old.hours:
            raise ValueError("the number of hours changed: build a new BilevelProblem")
        utilities_changed = False
        for fol, a, b in zip(self._followers, new.clusters, old.clusters, strict=True):
            if not (np.array_equal(a.mu, b.mu) and np.array_equal(a.sigma, b.sigma)):
                fol.set_utilities(a.mu, a.sigma)
                utilities_changed = True
        if utilities_changed:
            self._subst = None
        structural = (
            not np.array_equal(new.shares, old.shares) or new.fleet_size != old.fleet_size
            or new.psi != old.psi or new.eta != old.eta or new.bound != old.bound
            or not np.array_equal(new.levels, old.levels)
            or not np.array_equal(new.free, old.free)
        )
        if structural:
            self._misocp.clear()
        if utilities_changed or structural or not _same_market(new, old):
            self._memo = None
        self.instance = new
        old_ld = self._ld
        self._ld = self._leader_data(new)
        if not utilities_changed:  # follower responses depend on the utilities only
            self._ld._cache = old_ld._cache

    def substitution(self) -> list[SubstitutionReport]:
        """Complementarity check of every cluster's charging arcs (cached until utilities change)."""
        if self._subst is None:
            inst = self.instance
            rng = np.random.default_rng(self.seed)
            S = sample_rebates(inst.levels, inst.free, self.substitution_samples, rng)
            self._subst = [substitution_report(f, S) for f in self._followers]
        return self._subst

    def _nu(self) -> NDArray[np.float64]:
        return np.stack([r.pairwise for r in self.substitution()])

    # -- exact evaluation -----------------------------------------------------------------------

    def follower(
        self, rebates: ArrayLike, *, method: Literal["newton", "primal"] = "newton"
    ) -> list[NDArray]:
        """Arc persistencies of every cluster at hourly rebates ``rebates`` ($), solved exactly."""
        s = np.asarray(rebates, dtype=float).ravel()
        models = self._reference if method == "newton" else self._primal
        out = []
        for cl, mdl in zip(self.instance.clusters, models, strict=True):
            out.append(mdl.solve(cl.mu, cl.sigma, arc_rebates(cl.plug_hour, s)).y)
        return out

    def hourly(self, y_arcs: list[NDArray]) -> NDArray[np.float64]:
        """(T, n_clusters) hourly plug-in persistencies from per-cluster arc persistencies."""
        T = self.instance.hours
        cols = []
        for cl, y in zip(self.instance.clusters, y_arcs, strict=True):
            plug = cl.plug_hour >= 0
            cols.append(np.bincount(cl.plug_hour[plug], weights=y[plug], minlength=T))
        return np.stack(cols, axis=1)

    def value(self, rebates: ArrayLike, y_hours: NDArray[np.float64]) -> tuple[float, float, NDArray]:
        """``(credit, rebate_cost, bids)`` of rebates and hourly persistencies (B1, closed-form bids)."""
        inst = self.instance
        s = np.asarray(rebates, dtype=float).ravel()
        yc = np.clip(y_hours, 0, 1)
        chance = np.asarray(
            max_bid(yc, inst.cluster_sizes, inst.psi, inst.r_bar, inst.sigma_dev, inst.eta,
                    bound=inst.bound),
            dtype=float,
        )
        b, a = mixture_terms(yc, inst.cluster_sizes, inst.psi)
        bids = leader_bids(chance, b, a, inst.psi, inst.price, inst.soc)
        credit = float(inst.price @ bids)
        paid = float(np.einsum("t,tc,c->", s, y_hours, inst.cluster_sizes))
        return credit, paid, bids

    def objective(self, rebates: ArrayLike) -> float:
        """Exact V(s) ($): follower re-solved (Newton), closed-form bids."""
        yh = self.hourly(self.follower(rebates))
        credit, paid, _ = self.value(rebates, yh)
        return credit - paid

    def _finish(
        self, idx: NDArray[np.int64], y_method: list[NDArray] | None, *, t0: float, method: str,
        solver: str, status: str, upper_bound: float, nodes: int = 0, evaluations: int = 0,
        message: str = "",
    ) -> BilevelSolution:
        """Re-evaluate the level choice ``idx`` exactly (reference follower) and package it."""
        inst = self.instance
        s = inst.levels[idx]
        y_ref = self.follower(s)
        y_pri = self.follower(s, method="primal")
        if y_method is None:
            y_method = [f.solve(s[None, :]).y[0] for f in self._followers]
        cert, cert_p = _max_deviation(y_method, y_ref), _max_deviation(y_method, y_pri)
        yh = self.hourly(y_ref)
        credit, paid, bids = self.value(s, yh)
        obj = credit - paid
        v0 = self.objective(np.zeros(inst.hours))
        if obj < v0 and np.any(idx != 0):  # never below the no-rebate (chance) objective
            message = (message + "; " if message else "") + "no rebates are better: returned s = 0"
            return self._finish(
                np.zeros(inst.hours, dtype=np.int64), None, t0=t0, method=method, solver=solver,
                status=status, upper_bound=upper_bound, nodes=nodes, evaluations=evaluations,
                message=message,
            )
        ub = max(float(upper_bound), obj)
        subst = max(r.nu for r in self._subst) if self._subst is not None else float("nan")
        return BilevelSolution(
            rebates=s, level_index=idx, bids=bids, y=yh, plug_fraction=yh @ inst.shares,
            objective=obj, credit=credit,
            rebate_cost=paid, objective_no_rebates=v0, upper_bound=ub, gap=relative_gap(ub, obj),
            solve_time_s=time.perf_counter() - t0, method=method, solver=solver, status=status,
            certificate=cert, certificate_primal=cert_p, nodes=nodes, evaluations=evaluations,
            substitution=subst, message=message,
        )

    # -- solving ----------------------------------------------------------------------------------

    def solve(
        self,
        method: Method = "bnb",
        *,
        time_limit: float = 10.0,
        rel_gap: float = 1e-4,
        warm_start: ArrayLike | None = None,
        valid_inequalities: bool = False,
        max_vectors: int = 200_000,
    ) -> BilevelSolution:
        """Solve the bilevel problem.

        Args:
            method: ``"bnb"`` (coordinate search, then exact branch-and-bound), ``"coordinate"``
                (coordinate search, then one bounding round for a certified upper bound),
                ``"misocp"`` (SCIP on :class:`~v2gsim.optimize.bilevel.misocp.BilevelMISOCP`),
                ``"brute_force"`` (enumeration of the free hours, tiny instances only).
            time_limit: wall-clock limit (s) of the whole solve.
            rel_gap: relative gap at which the exact methods stop.
            warm_start: (T,) rebates ($) of a known solution, e.g. yesterday's; it starts the
                coordinate search and is always a candidate.
            valid_inequalities: add the (B3) rows to the MISOCP (bounds from the follower,
                widened by the sampled substitution effects).
            max_vectors: enumeration limit of ``"brute_force"``.

        Returns:
            The :class:`~v2gsim.optimize.bilevel.solution.BilevelSolution` (objective exactly
            re-evaluated).
        """
        t0 = time.perf_counter()
        deadline = t0 + float(time_limit)
        ev0 = self._ld.evaluations
        key = (method, float(rel_gap), bool(valid_inequalities))
        if self._memo is not None and self._memo[0] == key and method in ("bnb", "brute_force"):
            memo = self._memo[1]
            if warm_start is None or self._ld.point(self.instance.level_index(warm_start))[0] <= (
                memo.objective
            ):
                return replace(memo, solve_time_s=time.perf_counter() - t0, nodes=0, evaluations=0,
                               message="instance unchanged: the proven solution of the last solve")
        sol = self._solve(method, key, t0=t0, deadline=deadline, ev0=ev0, warm_start=warm_start,
                          max_vectors=max_vectors)
        self._memo = (key, sol) if sol.status == "optimal" else None
        return sol

    def _solve(
        self, method: str, key: tuple, *, t0: float, deadline: float, ev0: int,
        warm_start: ArrayLike | None, max_vectors: int,
    ) -> BilevelSolution:
        _, rel_gap, valid_inequalities = key
        time_limit = deadline - t0
        best = self._known_solution(warm_start)
        if method == "brute_force":
            return self._solve_brute_force(t0=t0, ev0=ev0, max_vectors=max_vectors)
        if method == "misocp":
            return self._solve_misocp(best, t0=t0, time_limit=time_limit, rel_gap=rel_gap,
                                      valid_inequalities=valid_inequalities)
        if method not in ("bnb", "coordinate"):
            raise ValueError(f"unknown method {method!r}")
        return self._solve_search(method, best, t0=t0, deadline=deadline, rel_gap=rel_gap, ev0=ev0)

    def _known_solution(self, warm_start: ArrayLike | None) -> SearchResult:
        """The better of no rebates and the warm start, exactly evaluated (batched follower)."""
        ld = self._ld
        zero = np.zeros(self.instance.hours, dtype=np.int64)
        best = SearchResult(levels_idx=zero, value=ld.point(zero)[0], upper_bound=np.inf)
        if warm_start is not None:
            ws = self.instance.level_index(warm_start)
            vw = ld.point(ws)[0]
            if vw > best.value:
                best = SearchResult(levels_idx=ws, value=vw, upper_bound=np.inf)
        return best

    def _solve_brute_force(self, *, t0: float, ev0: int, max_vectors: int) -> BilevelSolution:
        inst, ld = self.instance, self._ld
        check_enumeration(inst.levels.size, int(inst.free.sum()), max_vectors)
        res = brute_force_search(ld)
        # enumeration proves optimality: the bound is the (exactly re-evaluated) optimum itself
        return self._finish(res.levels_idx, None, t0=t0, method="brute_force",
                            solver="batched-newton", status="optimal", upper_bound=-np.inf,
                            evaluations=ld.evaluations - ev0)

    def _solve_search(
        self, method: str, best: SearchResult, *, t0: float, deadline: float, rel_gap: float,
        ev0: int,
    ) -> BilevelSolution:
        """Coordinate search, then branch-and-bound (``bnb``) or its root bound (``coordinate``)."""
        ld = self._ld
        message = ""
        status = "feasible"
        ub = np.inf
        root_ub = np.inf  # the root bound stays valid when the later search stops without one
        nodes = 0
        try:
            ld.nu = self._nu()
            if method == "bnb":  # fast path: the root bound may already prove the known solution
                root = branch_and_bound(ld, best, rel_gap=rel_gap, deadline=deadline, max_nodes=1,
                                        root_rho=self._root_rho, chain=False, groups=0)
                self._root_rho = root.root_rho
                root_ub = root.upper_bound
                if root.value > best.value:  # the root's candidates start the coordinate search
                    best = root
                if root.status == "optimal":
                    return self._finish(
                        np.asarray(root.levels_idx, dtype=np.int64), None, t0=t0, method=method,
                        solver="batched-newton", status="optimal", upper_bound=root.upper_bound,
                        nodes=root.nodes, evaluations=ld.evaluations - ev0,
                        message="proven at the root node",
                    )
            cs = coordinate_search(ld, best.levels_idx, deadline=deadline)
            if cs.value > best.value:
                best = cs
            if method == "coordinate":
                root = branch_and_bound(ld, best, rel_gap=rel_gap, deadline=np.inf, max_nodes=1)
                ub = root.upper_bound
                best = root if root.value > best.value else best
                status = "optimal" if root.status == "optimal" else "feasible"
                nodes = root.nodes
            else:
                res = branch_and_bound(ld, best, rel_gap=rel_gap, deadline=deadline,
                                       root_rho=self._root_rho)
                ub, nodes = min(res.upper_bound, root_ub), res.nodes
                if res.value >= best.value:
                    best = res
                status = "optimal" if res.status == "optimal" else "time_limit"
                if res.status != "optimal":
                    message = f"branch-and-bound stopped ({res.status}) after {res.nodes} nodes"
        except (RuntimeError, np.linalg.LinAlgError, ValueError) as exc:
            status = "fallback"
            message = f"exact phase failed ({type(exc).__name__}: {exc}); best known solution returned"
        return self._finish(
            np.asarray(best.levels_idx, dtype=np.int64), None, t0=t0, method=method,
            solver="batched-newton", status=status, upper_bound=ub, nodes=nodes,
            evaluations=ld.evaluations - ev0, message=message,
        )

    def valid_inequality_bounds(self) -> tuple[list[NDArray], list[NDArray]]:
        """Level-specific (B3) bounds of the hourly persistencies, per cluster (T, H) arrays.

        See :func:`v2gsim.optimize.bilevel.bounds.level_bounds` (with this problem's followers,
        sampled substitution effects and safety factor).

        Returns:
            ``(lower, upper)``, lists of (T, H) arrays.
        """
        inst = self.instance
        return level_bounds(self._followers, inst.levels, inst.free, self._nu(), self.safety)

    def misocp(self, valid_inequalities: bool = False) -> BilevelMISOCP:
        """The MISOCP (built on first use; parameters refreshed from the current instance)."""
        if self.instance.soc is not None:
            raise ValueError("the state-of-charge guarantee (E3) is supported by the search methods "
                             "(bnb, coordinate, brute_force), not by the MISOCP")
        mdl = self._misocp.get(valid_inequalities)
        if mdl is None:
            mdl = BilevelMISOCP(self.instance, valid_inequalities=valid_inequalities)
            self._misocp[valid_inequalities] = mdl
        else:
            mdl.set_parameters(self.instance)
        if valid_inequalities:
            mdl.set_valid_inequalities(*self.valid_inequality_bounds())
        return mdl

    def _solve_misocp(
        self, best: SearchResult, *, t0: float, time_limit: float, rel_gap: float,
        valid_inequalities: bool,
    ) -> BilevelSolution:
        mdl = self.misocp(valid_inequalities)
        remaining = max(time_limit - (time.perf_counter() - t0), 0.1)
        try:
            idx, ys, db, rep = mdl.solve(time_limit=remaining, rel_gap=rel_gap)
        except SolveError as exc:
            bound = getattr(exc, "dual_bound", None)
            return self._finish(
                np.asarray(best.levels_idx, dtype=np.int64), None, t0=t0, method="misocp",
                solver="SCIP", status="fallback", upper_bound=np.inf if bound is None else bound,
                message=f"SCIP returned no solution ({exc.status}); best known solution returned",
            )
        v = self.objective(self.instance.levels[idx])
        message = f"SCIP status {rep.solver_status}, SCIP gap {rep.gap}"
        if v < best.value:  # keep the better of SCIP's choice and the known solution
            idx, ys = np.asarray(best.levels_idx, dtype=np.int64), None
            message += "; the warm start (or no rebates) beats SCIP's rebates and is returned"
        status = "optimal" if not rep.limit_reached else "time_limit"
        ub = np.inf if db is None else db
        return self._finish(
            idx, ys, t0=t0, method="misocp", solver="SCIP", status=status, upper_bound=ub,
            nodes=rep.nodes or 0, message=message,
        )


def solve_bilevel(
    instance: BilevelInstance,
    method: Method = "bnb",
    *,
    time_limit: float = 10.0,
    rel_gap: float = 1e-4,
    warm_start: ArrayLike | None = None,
    valid_inequalities: bool = False,
) -> BilevelSolution:
    """Solve one bilevel instance (builds a :class:`BilevelProblem`; reuse one for daily re-solves).

    Args:
        instance: the instance.
        method: see :meth:`BilevelProblem.solve`.
        time_limit: wall-clock limit (s).
        rel_gap: relative gap tolerance of the exact methods.
        warm_start: (T,) rebates ($) of a known solution.
        valid_inequalities: (B3) rows in the MISOCP.

    Returns:
        The :class:`~v2gsim.optimize.bilevel.solution.BilevelSolution`.
    """
    return BilevelProblem(instance).solve(
        method, time_limit=time_limit, rel_gap=rel_gap, warm_start=warm_start,
        valid_inequalities=valid_inequalities,
    )


def brute_force(instance: BilevelInstance, *, max_vectors: int = 200_000) -> BilevelSolution:
    """Enumerate every rebate vector over ``instance.free_hours`` (others 0), solving the follower.

    Meant for tiny instances (e.g. 5 free hours × 3 levels = 243 vectors), to cross-check the
    other methods.

    Raises:
        ValueError: if more than ``max_vectors`` vectors would be enumerated.
    """
    return BilevelProblem(instance).solve("brute_force", time_limit=np.inf, max_vectors=max_vectors)

"""Solver choice, status checks and typed errors for every cvxpy problem of v2gsim.

Open-source solvers only (architecture.md, principle 5): SCIP (pyscipopt) for mixed-integer conic
problems, Clarabel for continuous conic problems, HiGHS for (mixed-integer) linear problems.

* :func:`installed_solvers` and :func:`choose_solver` pick a solver by problem class
  (:func:`problem_class`: ``"LP"``, ``"MILP"``, ``"QP"``, ``"MIQP"``, ``"SOCP"``, ``"MISOCP"``,
  ``"CONIC"``, ``"MICONIC"``) in the order of :data:`PREFERRED`.
* :func:`solver_options` translates a time limit, a relative MIP gap and a feasibility tolerance into
  each solver's own keyword arguments (SCIP takes them through ``scip_params``).
* :func:`solve_checked` solves, checks the status and raises a typed error that says what was asked
  (problem name, size and class), the solver and the status: :class:`InfeasibleError`,
  :class:`UnboundedError`, :class:`InfeasibleOrUnboundedError` or :class:`SolverError`. When the
  constraints are registered by family (a mapping ``name -> constraints``), an infeasible problem is
  re-solved with one family left out at a time and the error names the families whose removal
  restores feasibility. A solve stopped by a limit (time, nodes, gap) with a solution, and
  cvxpy's ``optimal_inaccurate``, are *not* errors: they return a :class:`SolveReport` with
  ``limit_reached=True`` and issue an :class:`InaccurateSolutionWarning` that gives the gap.

Gaps and bounds. For mixed-integer problems the report carries the solver's primal and dual bounds
converted to the user's objective (sign of ``Maximize`` and cvxpy's constant offset included), and the
relative gap ``|dual − primal| / max(|primal|, 1e-9)``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
from cvxpy import settings as cps
from cvxpy.constraints import PSD, SOC, ExpCone, PowCone3D

__all__ = [
    "PREFERRED",
    "InaccurateSolutionWarning",
    "InfeasibleError",
    "InfeasibleOrUnboundedError",
    "SolveError",
    "SolveReport",
    "SolverError",
    "UnboundedError",
    "choose_solver",
    "installed_solvers",
    "problem_class",
    "solve_checked",
    "solver_options",
]

#: Solvers in order of preference per problem class (only installed ones are used).
PREFERRED: dict[str, tuple[str, ...]] = {
    "LP": ("HIGHS", "CLARABEL", "SCIPY", "SCIP"),
    "MILP": ("HIGHS", "SCIP", "SCIPY"),
    "QP": ("CLARABEL", "HIGHS", "OSQP", "SCS"),
    "MIQP": ("SCIP",),
    "SOCP": ("CLARABEL", "SCS", "SCIP"),
    "MISOCP": ("SCIP",),
    "CONIC": ("CLARABEL", "SCS"),
    "MICONIC": ("SCIP",),
}


#: Atoms whose canonicalization needs exponential, power or semidefinite cones.
_NON_SOC_ATOMS = frozenset({
    "exp", "log", "log1p", "entr", "rel_entr", "kl_div", "log_sum_exp", "logistic", "xexp",
    "log_det", "lambda_max", "lambda_min", "lambda_sum_largest", "lambda_sum_smallest", "normNuc",
    "sigma_max", "matrix_frac", "tr_inv", "von_neumann_entr", "quantum_rel_entr",
})


_SOLVER_INF = 1e19
"""Bounds at or beyond this magnitude are the solver's infinity (no bound)."""


class SolveError(RuntimeError):
    """A cvxpy problem was not solved; the message says what was asked.

    Attributes:
        name: the problem's name (what was asked).
        solver: the solver used.
        status: the cvxpy status (or ``"exception"``).
        summary: size and class of the problem.
    """

    def __init__(self, message: str, *, name: str, solver: str, status: str, summary: str) -> None:
        super().__init__(message)
        self.name = name
        self.solver = solver
        self.status = status
        self.summary = summary


class InfeasibleError(SolveError):
    """The problem is infeasible.

    Attributes:
        culprits: constraint families whose removal (alone) makes the problem feasible, when the
            constraints were registered by family; empty if none or not diagnosed.
        diagnosed: whether the family diagnosis ran.
    """

    def __init__(self, message: str, *, culprits: Sequence[str] = (), diagnosed: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.culprits = list(culprits)
        self.diagnosed = diagnosed


class UnboundedError(SolveError):
    """The problem is unbounded (the objective can be improved without limit)."""


class InfeasibleOrUnboundedError(InfeasibleError, UnboundedError):
    """The solver proved the problem infeasible or unbounded without telling which."""


class SolverError(SolveError):
    """The solver failed or stopped without a solution (numerical trouble, limit, crash).

    Attributes:
        dual_bound: the solver's proven bound on the optimum (user's sense) when it stopped at a
            limit without a solution (SCIP, HiGHS), else None.
    """

    dual_bound: float | None = None


class InaccurateSolutionWarning(UserWarning):
    """A solution was returned at a limit (time, nodes) or marked ``optimal_inaccurate``."""


@dataclass
class SolveReport:
    """What a checked solve returned.

    Attributes:
        status: cvxpy status (``optimal``, ``optimal_inaccurate`` or ``user_limit``).
        value: objective value at the returned point (user's sense).
        solver: solver used.
        solve_time_s: wall-clock time of ``Problem.solve`` (s).
        problem_class: class from :func:`problem_class`.
        limit_reached: the solver stopped at a limit (other than the requested gap) or reported
            an inaccurate solution.
        solver_status: the solver's own status string when available (e.g. SCIP ``timelimit``).
        primal_bound: best objective found (user's sense), mixed-integer problems only.
        dual_bound: proven bound on the optimum (user's sense: an upper bound for ``Maximize``).
        gap: relative gap between the two bounds, or None.
        nodes: branch-and-bound nodes, when known.
        extra: other solver statistics.
    """

    status: str
    value: float
    solver: str
    solve_time_s: float
    problem_class: str
    limit_reached: bool = False
    solver_status: str | None = None
    primal_bound: float | None = None
    dual_bound: float | None = None
    gap: float | None = None
    nodes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def installed_solvers() -> list[str]:
    """Names of the cvxpy solvers installed here (e.g. ``["CLARABEL", "HIGHS", "SCIP", ...]``)."""
    return list(cp.installed_solvers())


def problem_class(problem: cp.Problem) -> str:
    """Class of a cvxpy problem: LP, MILP, QP, MIQP, SOCP, MISOCP, CONIC or MICONIC.

    Args:
        problem: the problem.

    Returns:
        The class name (a key of :data:`PREFERRED`).
    """
    integer = problem.is_mixed_integer()
    atoms = {a.__name__ for a in problem.objective.expr.atoms()}
    for c in problem.constraints:
        for arg in c.args:
            atoms |= {a.__name__ for a in arg.atoms()}
    if atoms & _NON_SOC_ATOMS or any(isinstance(c, (ExpCone, PSD, PowCone3D)) for c in problem.constraints):
        return "MICONIC" if integer else "CONIC"
    if not any(isinstance(c, SOC) for c in problem.constraints):
        if problem.is_lp():
            return "MILP" if integer else "LP"
        if problem.is_qp():
            return "MIQP" if integer else "QP"
    # explicit cones, or atoms (norms, quad_over_lin, ...) that canonicalize to second-order cones
    return "MISOCP" if integer else "SOCP"


def choose_solver(problem: cp.Problem | str, prefer: Sequence[str] | None = None) -> str:
    """The first installed solver for the problem's class (or a given class name).

    Args:
        problem: a problem or a class name (see :func:`problem_class`).
        prefer: solvers to try first, in order; skipped when not installed or not listed for the
            class in :data:`PREFERRED` (pass ``solver=`` to :func:`solve_checked` to force one).

    Returns:
        The solver name.

    Raises:
        SolverError: if no installed solver handles the class.
    """
    cls = problem if isinstance(problem, str) else problem_class(problem)
    if cls not in PREFERRED:
        raise ValueError(f"unknown problem class {cls!r}; known: {sorted(PREFERRED)}")
    installed = set(installed_solvers())
    order = list(prefer or ()) + [s for s in PREFERRED[cls] if s not in (prefer or ())]
    for name in order:
        if name in installed and name in PREFERRED[cls]:
            return name
    raise SolverError(
        f"no installed solver for a {cls} problem (wanted one of {PREFERRED[cls]}, installed: "
        f"{sorted(installed)})",
        name=problem if isinstance(problem, str) else "problem", solver="none", status="no_solver",
        summary=cls,
    )


def solver_options(
    solver: str,
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    feastol: float | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of ``Problem.solve`` for common limits, in each solver's own terms.

    Args:
        solver: solver name.
        time_limit: wall-clock limit (s).
        rel_gap: relative MIP gap at which to stop (mixed-integer solvers).
        feastol: primal feasibility tolerance (SCIP ``numerics/feastol``; Clarabel ``tol_feas``;
            HiGHS ``primal_feasibility_tolerance``).
        verbose: solver output.

    Returns:
        The keyword arguments (``solver`` not included).
    """
    opts: dict[str, Any] = {}
    if verbose:
        opts["verbose"] = True
    if solver == "SCIP":
        params: dict[str, Any] = {}
        if time_limit is not None:
            params["limits/time"] = float(time_limit)
        if rel_gap is not None:
            params["limits/gap"] = float(rel_gap)
        if feastol is not None:
            params["numerics/feastol"] = float(feastol)
        if params:
            opts["scip_params"] = params
    elif solver == "HIGHS":
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
        if rel_gap is not None:
            opts["mip_rel_gap"] = float(rel_gap)
        if feastol is not None:
            opts["primal_feasibility_tolerance"] = float(feastol)
    elif solver == "CLARABEL":
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
        if feastol is not None:
            opts["tol_feas"] = float(feastol)
    elif solver == "SCS":
        if time_limit is not None:
            opts["time_limit_secs"] = float(time_limit)
    elif solver == "OSQP":
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
    return opts


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if k in ("scip_params", "highs_options") and k in out:
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _summary(problem: cp.Problem, cls: str) -> str:
    n_var = sum(int(v.size) for v in problem.variables())
    n_int = sum(int(v.size) for v in problem.variables() if v.attributes.get("boolean")
                or v.attributes.get("integer"))
    n_con = len(problem.constraints)
    sense = "maximize" if isinstance(problem.objective, cp.Maximize) else "minimize"
    return f"{cls}, {sense}, {n_var} variables ({n_int} integer), {n_con} constraint objects"


@dataclass
class _Raw:
    """What one solve left behind besides the problem's own state."""

    solution: Any = None  # the solver interface's raw result (SCIP: dict with the model)
    offset: float | None = None  # constant of the minimised objective cvxpy strips (min sense)


def _run(problem: cp.Problem, solver: str, opts: dict[str, Any]) -> tuple[str, float, _Raw]:
    """``Problem.solve`` through its public steps, keeping the solver's raw result.

    ``get_problem_data`` (cached re-parameterisation, as in ``solve``), ``solve_via_data`` and
    ``unpack_results``; the raw result lets a failed solve still report SCIP's dual bound.
    """
    opts = dict(opts)
    verbose = bool(opts.pop("verbose", False))
    raw = _Raw()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        data, chain, inverse = problem.get_problem_data(solver, verbose=verbose, solver_opts=opts)
        try:
            raw.offset = float(inverse[-1].inverse_data[cps.OFFSET])
        except (AttributeError, KeyError, TypeError, IndexError):
            raw.offset = None
        raw.solution = chain.solve_via_data(problem, data, False, verbose, opts)
        try:
            problem.unpack_results(raw.solution, chain, inverse)
        except cp.error.SolverError as exc:
            exc.raw = raw  # type: ignore[attr-defined]
            raise
    return str(problem.status), time.perf_counter() - t0, raw


def _bounds(
    problem: cp.Problem, solver: str, raw: _Raw, has_solution: bool = True
) -> tuple[str | None, float | None, float | None, int | None]:
    """Solver status, primal and dual bound (user's sense) and node count of a MIP solve.

    The solver works on ``min c'x`` (cvxpy flips a ``Maximize`` and strips a constant ``offset``),
    so a bound ``b`` of the solver is ``sign · (b + offset)`` in the user's sense.
    """
    sign = -1.0 if isinstance(problem.objective, cp.Maximize) else 1.0
    sol = raw.solution
    status, pb, db, nodes = None, None, None, None
    if solver == "SCIP" and isinstance(sol, dict) and "model" in sol:
        model = sol["model"]
        status = str(sol.get("scip_status"))
        try:
            db = float(model.getDualbound())
            pb = float(model.getPrimalbound()) if has_solution else None
            nodes = int(model.getNNodes())
        except Exception:  # pragma: no cover - model freed or not solved
            return status, None, None, None
    elif solver == "HIGHS" and isinstance(sol, dict) and hasattr(sol.get("info"), "mip_dual_bound"):
        info = sol["info"]
        status = str(sol.get("model_status"))
        db = float(info.mip_dual_bound)
        pb = float(info.objective_function_value) if has_solution else None
        nodes = int(getattr(info, "mip_node_count", -1))
        if not problem.is_mixed_integer():
            return status, None, None, nodes
    else:
        return None, None, None, None
    offset = raw.offset
    if offset is None and pb is not None:  # recover it from the returned point
        try:
            offset = sign * float(problem.objective.value) - pb
        except (TypeError, ValueError):
            offset = None
    if offset is None:
        return status, None, None, nodes
    def to_user(b: float | None) -> float | None:  # SCIP's and HiGHS's "infinity" is ~1e20
        return None if b is None or not abs(b) < _SOLVER_INF else sign * (b + offset)

    return status, to_user(pb), to_user(db), nodes


def _diagnose(
    problem: cp.Problem, families: Mapping[str, Sequence[cp.Constraint]], solver: str,
    opts: dict[str, Any],
) -> list[str]:
    """Families whose removal alone makes the problem feasible (each checked by one re-solve)."""
    culprits = []
    all_ids = {id(c) for cons in families.values() for c in cons}
    unregistered = [c for c in problem.constraints if id(c) not in all_ids]
    for name, cons in families.items():
        drop = {id(c) for c in cons}
        kept = unregistered + [c for fam, cs in families.items() if fam != name for c in cs
                               if id(c) not in drop]
        trial = cp.Problem(problem.objective, kept)
        try:
            status, _, _ = _run(trial, solver, dict(opts))
        except cp.error.SolverError:
            continue
        if status in cps.SOLUTION_PRESENT or status in (cps.UNBOUNDED, cps.UNBOUNDED_INACCURATE):
            culprits.append(name)
    return culprits


def solve_checked(
    problem: cp.Problem,
    solver: str | None = None,
    *,
    name: str = "problem",
    time_limit: float | None = None,
    rel_gap: float | None = None,
    feastol: float | None = None,
    families: Mapping[str, Sequence[cp.Constraint]] | None = None,
    diagnose: bool = True,
    warn: bool = True,
    **opts: Any,
) -> SolveReport:
    """Solve ``problem``, check the status and raise a typed error on failure.

    Args:
        problem: the cvxpy problem.
        solver: solver name; default :func:`choose_solver` for the problem's class.
        name: what is being solved, for messages (e.g. ``"bilevel MISOCP day 12"``).
        time_limit: wall-clock limit (s), see :func:`solver_options`.
        rel_gap: relative MIP gap at which the solver may stop.
        feastol: primal feasibility tolerance.
        families: constraints registered by family name; used to explain infeasibility.
        diagnose: re-solve with one family left out at a time when the problem is infeasible.
        warn: issue an :class:`InaccurateSolutionWarning` when a limit was reached.
        **opts: further solver keyword arguments (merged over the generated ones;
            ``scip_params`` dictionaries are merged key by key).

    Returns:
        The :class:`SolveReport`; variable values are set on the problem as usual.

    Raises:
        InfeasibleError: infeasible (``culprits`` lists the families that explain it).
        UnboundedError: unbounded.
        InfeasibleOrUnboundedError: the solver could not tell which.
        SolverError: the solver failed or stopped at a limit without a solution.
    """
    cls = problem_class(problem)
    solver = solver or choose_solver(cls)
    summary = _summary(problem, cls)
    kw = _merge(solver_options(solver, time_limit=time_limit, rel_gap=rel_gap, feastol=feastol), opts)
    asked = f"{name!r} ({summary}) with {solver}"
    try:
        status, dt, raw = _run(problem, solver, dict(kw))
    except cp.error.SolverError as exc:
        raw_fail = getattr(exc, "raw", None)
        solver_status, dual = None, None
        if raw_fail is not None:
            solver_status, _, dual, _ = _bounds(problem, solver, raw_fail, has_solution=False)
        why = f" (solver status {solver_status})" if solver_status else ""
        bound = f"; proven bound {dual:.6g}" if dual is not None else ""
        err = SolverError(
            f"no solution from {asked}{why}{bound}: {exc}", name=name, solver=solver,
            status=solver_status or "exception", summary=summary,
        )
        err.dual_bound = dual
        raise err from exc
    except (cp.error.DCPError, cp.error.DGPError, cp.error.DPPError):
        raise  # a modelling error, not a solver failure
    except Exception as exc:  # solver-specific errors (bad parameter names, licences, ...)
        raise SolverError(
            f"error while solving {asked}: {type(exc).__name__}: {exc}", name=name, solver=solver,
            status="exception", summary=summary,
        ) from exc
    common = {"name": name, "solver": solver, "status": status, "summary": summary}
    if status in (cps.INFEASIBLE, cps.INFEASIBLE_INACCURATE):
        culprits: list[str] = []
        if families and diagnose:
            culprits = _diagnose(problem, families, solver, kw)
        why = (
            f"; removing any one of {culprits} makes it feasible" if culprits
            else ("; no single constraint family explains it" if families and diagnose else "")
        )
        raise InfeasibleError(
            f"{asked} is infeasible (status {status}){why}", culprits=culprits,
            diagnosed=bool(families and diagnose), **common,
        )
    if status in (cps.UNBOUNDED, cps.UNBOUNDED_INACCURATE):
        raise UnboundedError(f"{asked} is unbounded (status {status})", **common)
    if status == cps.INFEASIBLE_OR_UNBOUNDED:
        raise InfeasibleOrUnboundedError(f"{asked} is infeasible or unbounded", **common)
    if status not in cps.SOLUTION_PRESENT or problem.value is None:
        raise SolverError(f"{asked} returned no solution (status {status})", **common)
    solver_status, pb, db, nodes = _bounds(problem, solver, raw)
    value = float(problem.objective.value) if problem.objective.value is not None else float("nan")
    gap = None
    if pb is not None and db is not None:
        gap = abs(db - pb) / max(abs(pb), 1e-9)
    # cvxpy maps SCIP's time/node/gap limits to optimal_inaccurate and HiGHS's to user_limit; a
    # stop at the requested gap (SCIP "gaplimit") is a success
    limit = status != cps.OPTIMAL and solver_status != "gaplimit"
    report = SolveReport(
        status=status, value=value, solver=solver, solve_time_s=dt, problem_class=cls,
        limit_reached=limit, solver_status=solver_status, primal_bound=pb, dual_bound=db, gap=gap,
        nodes=nodes,
    )
    if limit and warn:
        gap_txt = f"gap {gap:.3%}" if gap is not None else "gap unknown"
        warnings.warn(
            f"{asked}: returned a solution at a limit or inaccurate (status {status}"
            f"{', ' + solver_status if solver_status else ''}; {gap_txt}; {dt:.2f} s)",
            InaccurateSolutionWarning, stacklevel=2,
        )
    return report

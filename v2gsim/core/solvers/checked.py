"""Checked solve of a cvxpy problem: status classification, solver bounds, infeasibility diagnosis.

:func:`solve_checked` solves, checks the status and raises a typed error
(:mod:`v2gsim.core.solvers.errors`) that says what was asked. When the constraints are
registered by family (a mapping ``name -> constraints``), an infeasible problem is re-solved with one
family left out at a time and the error names the families whose removal restores feasibility. For
mixed-integer problems the report carries the solver's primal and dual bounds converted to the
user's objective (sign of ``Maximize`` and cvxpy's constant offset included).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
from cvxpy import settings as cps

from v2gsim.core.solvers.choice import choose_solver, problem_class, solver_options
from v2gsim.core.solvers.errors import (
    InaccurateSolutionWarning,
    InfeasibleError,
    InfeasibleOrUnboundedError,
    SolveReport,
    SolverError,
    UnboundedError,
)

__all__ = ["solve_checked"]

_SOLVER_INF = 1e19
"""Bounds at or beyond this magnitude are the solver's infinity (no bound)."""


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
    ``opts["ignore_dpp"]`` (as in ``Problem.solve``) skips the DPP canonicalisation of a problem
    without Parameters that is solved once.
    """
    opts = dict(opts)
    verbose = bool(opts.pop("verbose", False))
    ignore_dpp = bool(opts.pop("ignore_dpp", False))
    raw = _Raw()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        data, chain, inverse = problem.get_problem_data(solver, verbose=verbose, solver_opts=opts,
                                                        ignore_dpp=ignore_dpp)
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


def _run_or_raise(
    problem: cp.Problem, solver: str, kw: dict[str, Any], *, name: str, summary: str, asked: str
) -> tuple[str, float, _Raw]:
    """:func:`_run`, with solver failures turned into a :class:`SolverError` that says what was asked.

    Raises:
        SolverError: the solver raised (with SCIP's or HiGHS's proven bound when it stopped).
    """
    try:
        return _run(problem, solver, dict(kw))
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


def _raise_for_status(
    problem: cp.Problem, status: str, asked: str, common: dict[str, str], *,
    families: Mapping[str, Sequence[cp.Constraint]] | None, diagnose: bool, opts: dict[str, Any],
) -> None:
    """Status classification: raise the typed error of a solve that returned no solution.

    Args:
        problem: the solved problem.
        status: its cvxpy status.
        asked: what was asked (problem name, summary and solver), for messages.
        common: keyword arguments of every :class:`SolveError` (name, solver, status, summary).
        families: constraints registered by family name, or None.
        diagnose: re-solve with one family left out at a time when the problem is infeasible.
        opts: the solver keyword arguments (for the diagnostic re-solves).

    Raises:
        InfeasibleError: infeasible (``culprits`` lists the families that explain it).
        UnboundedError: unbounded.
        InfeasibleOrUnboundedError: the solver could not tell which.
        SolverError: no solution for another reason.
    """
    if status in (cps.INFEASIBLE, cps.INFEASIBLE_INACCURATE):
        culprits: list[str] = []
        if families and diagnose:
            culprits = _diagnose(problem, families, common["solver"], opts)
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


def _report(
    problem: cp.Problem, solver: str, cls: str, status: str, dt: float, raw: _Raw
) -> SolveReport:
    """The :class:`SolveReport` of a solve with a solution: value, bounds, gap, limit flag."""
    solver_status, pb, db, nodes = _bounds(problem, solver, raw)
    value = float(problem.objective.value) if problem.objective.value is not None else float("nan")
    gap = None
    if pb is not None and db is not None:
        gap = abs(db - pb) / max(abs(pb), 1e-9)
    # cvxpy maps SCIP's time/node/gap limits to optimal_inaccurate and HiGHS's to user_limit; a
    # stop at the requested gap (SCIP "gaplimit") is a success
    limit = status != cps.OPTIMAL and solver_status != "gaplimit"
    return SolveReport(
        status=status, value=value, solver=solver, solve_time_s=dt, problem_class=cls,
        limit_reached=limit, solver_status=solver_status, primal_bound=pb, dual_bound=db, gap=gap,
        nodes=nodes,
    )


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
    status, dt, raw = _run_or_raise(problem, solver, kw, name=name, summary=summary, asked=asked)
    common = {"name": name, "solver": solver, "status": status, "summary": summary}
    _raise_for_status(problem, status, asked, common, families=families, diagnose=diagnose, opts=kw)
    report = _report(problem, solver, cls, status, dt, raw)
    if report.limit_reached and warn:
        gap_txt = f"gap {report.gap:.3%}" if report.gap is not None else "gap unknown"
        solver_status = report.solver_status
        warnings.warn(
            f"{asked}: returned a solution at a limit or inaccurate (status {status}"
            f"{', ' + solver_status if solver_status else ''}; {gap_txt}; {dt:.2f} s)",
            InaccurateSolutionWarning, stacklevel=2,
        )
    return report

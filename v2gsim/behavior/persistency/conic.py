"""Conic solves of the persistency family: Clarabel defaults, one checked solve, one error type.

Every cvxpy problem of :mod:`v2gsim.behavior` (the primal and dual SOCPs of
:class:`~v2gsim.behavior.persistency.socp.PersistencyModel` and the calibration SOCP of
:mod:`v2gsim.behavior.calibration`) is solved by :func:`solve_conic`, which goes through
:func:`v2gsim.core.solvers.solve_checked` and accepts ``optimal`` and ``optimal_inaccurate``
(an inaccurate solution is reported through the status, without a warning). Failures raise
:class:`PersistencySolveError`, a :class:`~v2gsim.core.solvers.SolveError`.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp

from v2gsim.core.solvers import SolveError, SolveReport, solve_checked

__all__ = ["CLARABEL_DEFAULTS", "PersistencySolveError", "solve_conic", "solver_settings"]

#: Default Clarabel tolerances: tighter than Clarabel's own 1e-8 so that primal and dual values
#: agree to ~1e-9 and ``y`` recovered from the dual via (D3) to ~1e-5.
CLARABEL_DEFAULTS: dict[str, Any] = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "tol_ktratio": 1e-8,
}


class PersistencySolveError(SolveError):
    """Raised when a persistency (or calibration) problem is not solved to optimality.

    The message names the problem and the status; the attributes are those of
    :class:`~v2gsim.core.solvers.SolveError` (``name``, ``solver``, ``status``, ``summary``).
    """


def solver_settings(solver: str | None, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """Solver name (default Clarabel) and its options (:data:`CLARABEL_DEFAULTS` under ``options``).

    Args:
        solver: cvxpy solver name, or None for Clarabel.
        options: extra keyword arguments of the solve (override the defaults).

    Returns:
        ``(solver, options)``.
    """
    name = solver or cp.CLARABEL
    opts = dict(CLARABEL_DEFAULTS) if name == cp.CLARABEL else {}
    opts.update(options or {})
    return name, opts


def solve_conic(problem: cp.Problem, solver: str, options: dict[str, Any], what: str) -> SolveReport:
    """Solve with :func:`~v2gsim.core.solvers.solve_checked`; accept optimal or inaccurate.

    Args:
        problem: the cvxpy problem (variable values are set on it).
        solver: solver name.
        options: solver keyword arguments.
        what: the problem, for messages (e.g. ``"persistency primal SOCP (12 nodes, 30 arcs)"``).

    Returns:
        The solve report (``status`` is ``"optimal"`` or ``"optimal_inaccurate"``).

    Raises:
        PersistencySolveError: the solver failed, or the status is neither of the two.
    """
    try:
        report = solve_checked(problem, solver, name=what, warn=False, **options)
    except SolveError as exc:
        raise PersistencySolveError(
            f"{what} not solved: {exc}", name=what, solver=exc.solver, status=exc.status,
            summary=exc.summary,
        ) from exc
    if report.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise PersistencySolveError(
            f"{what} not solved: status {report.status!r} with solver {solver}", name=what,
            solver=solver, status=report.status, summary=report.problem_class,
        )
    return report

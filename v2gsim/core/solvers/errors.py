"""Typed errors and the report of a checked cvxpy solve (:func:`v2gsim.core.solvers.solve_checked`).

Every error says what was asked (problem name, size and class), the solver and the status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "InaccurateSolutionWarning",
    "InfeasibleError",
    "InfeasibleOrUnboundedError",
    "SolveError",
    "SolveReport",
    "SolverError",
    "UnboundedError",
]


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

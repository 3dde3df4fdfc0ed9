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

Modules: ``choice`` (classes, preferences, options), ``errors`` (typed errors, report), ``checked``
(:func:`solve_checked`); this package re-exports their public names.
"""

from v2gsim.core.solvers.checked import solve_checked
from v2gsim.core.solvers.choice import (
    PREFERRED,
    choose_solver,
    installed_solvers,
    problem_class,
    solver_options,
)
from v2gsim.core.solvers.errors import (
    InaccurateSolutionWarning,
    InfeasibleError,
    InfeasibleOrUnboundedError,
    SolveError,
    SolveReport,
    SolverError,
    UnboundedError,
)

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

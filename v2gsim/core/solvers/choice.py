"""Solver choice by problem class and each solver's own names for common limits.

Open-source solvers only (architecture.md, principle 5): SCIP (pyscipopt) for mixed-integer conic
problems, Clarabel for continuous conic problems, HiGHS for (mixed-integer) linear problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cvxpy as cp
from cvxpy.constraints import PSD, SOC, ExpCone, PowCone3D

from v2gsim.core.solvers.errors import SolverError

__all__ = ["PREFERRED", "choose_solver", "installed_solvers", "problem_class", "solver_options"]

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

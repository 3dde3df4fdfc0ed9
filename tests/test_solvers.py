"""Tests of solver choice, status checks and typed errors (v2gsim.core.solvers)."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest

from v2gsim.core.solvers import (
    PREFERRED,
    InaccurateSolutionWarning,
    InfeasibleError,
    InfeasibleOrUnboundedError,
    SolverError,
    UnboundedError,
    choose_solver,
    installed_solvers,
    problem_class,
    solve_checked,
    solver_options,
)


def knapsack(n: int = 40, seed: int = 0, offset: float = 0.0) -> tuple[cp.Problem, cp.Variable]:
    """A 0-1 knapsack that SCIP does not close at the root node (values close to the weights)."""
    rng = np.random.default_rng(seed)
    w = rng.integers(50, 300, n)
    v = w + rng.integers(-20, 20, n)
    x = cp.Variable(n, boolean=True)
    return cp.Problem(cp.Maximize(v @ x + offset), [w @ x <= 0.35 * w.sum() + 0.5]), x


def test_installed_and_preferred_solvers() -> None:
    inst = installed_solvers()
    for name in ("CLARABEL", "HIGHS", "SCIP"):
        assert name in inst
    assert choose_solver("MISOCP") == "SCIP"
    assert choose_solver("SOCP") == "CLARABEL"
    assert choose_solver("LP") == "HIGHS" and choose_solver("MILP") == "HIGHS"
    assert choose_solver("LP", prefer=["CLARABEL"]) == "CLARABEL"
    assert choose_solver("MISOCP", prefer=["CLARABEL"]) == "SCIP"  # Clarabel has no integers
    assert set(PREFERRED) >= {"LP", "MILP", "QP", "SOCP", "MISOCP", "CONIC"}
    with pytest.raises(ValueError, match="unknown problem class"):
        choose_solver("NLP")


def test_problem_class() -> None:
    x = cp.Variable(3)
    b = cp.Variable(boolean=True)
    cases = {
        "LP": cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1]),
        "MILP": cp.Problem(cp.Minimize(cp.sum(x)), [x >= b]),
        "QP": cp.Problem(cp.Minimize(cp.sum_squares(x)), [x >= 1]),
        "SOCP": cp.Problem(cp.Minimize(cp.norm(x, 2)), [x >= 1]),
        "MISOCP": cp.Problem(cp.Minimize(cp.sum(x)), [cp.SOC(cp.sum(x), x), x >= b]),
        "CONIC": cp.Problem(cp.Minimize(cp.sum(x)), [cp.exp(x) <= 3, x >= -5]),
    }
    for cls, prob in cases.items():
        assert problem_class(prob) == cls, cls


def test_solver_options_translation() -> None:
    assert solver_options("SCIP", time_limit=5, rel_gap=1e-4, feastol=1e-8) == {
        "scip_params": {"limits/time": 5.0, "limits/gap": 1e-4, "numerics/feastol": 1e-8}
    }
    assert solver_options("HIGHS", time_limit=2, rel_gap=0.01) == {"time_limit": 2.0, "mip_rel_gap": 0.01}
    assert solver_options("CLARABEL", time_limit=1) == {"time_limit": 1.0}
    assert solver_options("CLARABEL") == {}


def test_optimal_lp_and_socp_reports() -> None:
    x = cp.Variable(2)
    lp = cp.Problem(cp.Maximize(x[0] + 2 * x[1]), [x >= 0, cp.sum(x) <= 3])
    rep = solve_checked(lp, name="toy LP")
    assert rep.status == "optimal" and rep.solver == "HIGHS" and rep.problem_class == "LP"
    assert rep.value == pytest.approx(6.0) and not rep.limit_reached
    soc = cp.Problem(cp.Minimize(cp.norm(x - np.array([3.0, 4.0]))), [x <= 0])
    rep = solve_checked(soc)
    assert rep.solver == "CLARABEL" and rep.value == pytest.approx(5.0, rel=1e-7)


@pytest.mark.parametrize("solver", ["SCIP", "HIGHS"])
def test_mip_bounds_are_in_the_users_sense(solver: str) -> None:
    prob, _ = knapsack(offset=3.0)
    rep = solve_checked(prob, solver, rel_gap=0.0)
    assert rep.status == "optimal"
    assert rep.primal_bound == pytest.approx(rep.value)
    assert rep.dual_bound == pytest.approx(rep.value, rel=1e-9)  # maximize: offset and sign handled
    assert rep.gap == pytest.approx(0.0, abs=1e-9)


def test_infeasible_error_names_the_family() -> None:
    x = cp.Variable(3, nonneg=True)
    fam = {
        "demand": [cp.sum(x) >= 10],
        "capacity": [x <= 2],
        "budget": [np.array([1.0, 2.0, 3.0]) @ x <= 100],
    }
    prob = cp.Problem(cp.Minimize(cp.sum(x)), [c for cs in fam.values() for c in cs])
    with pytest.raises(InfeasibleError) as err:
        solve_checked(prob, name="toy plan", families=fam)
    e = err.value
    assert sorted(e.culprits) == ["capacity", "demand"] and e.diagnosed
    assert e.name == "toy plan" and e.solver == "HIGHS" and e.status == "infeasible"
    assert "toy plan" in str(e) and "HIGHS" in str(e) and "capacity" in str(e)
    with pytest.raises(InfeasibleError) as err:
        solve_checked(prob, families=fam, diagnose=False)
    assert err.value.culprits == [] and not err.value.diagnosed


def test_unbounded_error() -> None:
    x = cp.Variable()
    with pytest.raises(UnboundedError) as err:
        solve_checked(cp.Problem(cp.Maximize(x), [x >= 0]), "CLARABEL", name="runaway")
    assert "unbounded" in str(err.value) and err.value.solver == "CLARABEL"


def test_infeasible_or_unbounded_is_both() -> None:
    assert issubclass(InfeasibleOrUnboundedError, InfeasibleError)
    assert issubclass(InfeasibleOrUnboundedError, UnboundedError)


def test_limit_reached_warns_with_the_gap() -> None:
    prob, x = knapsack(n=60, seed=3)
    params = {"limits/nodes": 1, "presolving/maxrounds": 0, "separating/maxroundsroot": 0}
    with pytest.warns(InaccurateSolutionWarning, match="gap"):
        rep = solve_checked(prob, "SCIP", scip_params=params)
    assert rep.limit_reached and rep.solver_status == "nodelimit"
    assert rep.dual_bound >= rep.value - 1e-9  # maximize: the dual bound is an upper bound
    # the reported gap is the relative distance of the two bounds, and positive: not proved optimal
    assert rep.gap == pytest.approx((rep.dual_bound - rep.primal_bound) / abs(rep.primal_bound), rel=1e-9)
    assert rep.gap > 0
    # the returned point is a feasible 0-1 packing worth the reported value
    assert np.all(np.isin(np.round(x.value, 6), [0.0, 1.0]))
    assert prob.constraints[0].violation() <= 1e-6
    assert prob.objective.value == pytest.approx(rep.value, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = solve_checked(prob, "SCIP", warn=False, scip_params=params)
    assert rep.limit_reached


def test_solver_error_says_what_was_asked() -> None:
    prob, _ = knapsack(n=5)
    with pytest.raises(SolverError) as err:
        solve_checked(prob, "SCIP", name="bad params", scip_params={"no/such/param": 1})
    assert "bad params" in str(err.value) and err.value.status == "exception"


def test_no_solution_at_a_time_limit_is_a_solver_error() -> None:
    prob, _ = knapsack(n=60)
    with pytest.raises(SolverError) as err:
        solve_checked(prob, "SCIP", name="hurried", scip_params={"limits/time": 0.0})
    assert err.value.status == "timelimit" and "hurried" in str(err.value)
    assert err.value.dual_bound is None  # SCIP proved nothing yet (its bound is "infinity")


def test_quiet_highs_prints_no_banner():
    import subprocess
    import sys

    code = ("from v2gsim.core.solvers.highs import quiet_highs\n"
            "h = quiet_highs(); g = quiet_highs()\n"
            "print('after', h.getOptionValue('output_flag')[1], g.getOptionValue('output_flag')[1])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HiGHS" not in out.stdout and "HiGHS" not in out.stderr
    assert out.stdout.strip() == "after False False"

"""Tests of the bilevel rebate-and-bid problem (models.md §1.5: B1–B3, S1–S6, E1).

Reference results: brute-force enumeration of every rebate vector with the follower re-solved, the
persistency model of :mod:`v2gsim.behavior.persistency`, the chance-bound closed form
:func:`v2gsim.optimize.chance.bounds.max_bid`, and finite differences.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from v2gsim.behavior.persistency import PersistencyModel
from v2gsim.config import NetworkConfig
from v2gsim.core.network import build_network
from v2gsim.optimize.bilevel import (
    BatchFollower,
    BilevelInstance,
    BilevelMISOCP,
    BilevelProblem,
    DriverCluster,
    brute_force,
    cstar,
    solve_bilevel,
    substitution_report,
)
from v2gsim.optimize.chance.bounds import max_bid
from v2gsim.specs.build import default_instance, network_template


@pytest.fixture(scope="module")
def default() -> BilevelInstance:
    return default_instance()


@pytest.fixture(scope="module")
def default_problem(default: BilevelInstance) -> BilevelProblem:
    return BilevelProblem(default)


@pytest.fixture(scope="module")
def default_solution(default_problem: BilevelProblem):
    return default_problem.solve("bnb", time_limit=60.0, rel_gap=1e-4)


def tiny_instance(seed: int, n_free: int = 5, n_clusters: int = 2) -> BilevelInstance:
    """Random small instance: home (charger), work and other places, 5–10 hours, 3 levels.

    ``n_free`` random hours may carry rebates (the others are fixed at 0), so brute force
    enumerates at most 3^5 = 243 rebate vectors.
    """
    rng = np.random.default_rng(seed)
    T = int(rng.integers(5, 11))
    clusters = []
    for c in range(n_clusters):
        w0 = int(rng.integers(1, 3))
        w1 = int(rng.integers(w0 + 2, T))
        o0 = int(rng.integers(1, T - 2))
        o1 = int(rng.integers(o0 + 1, T))
        places = [
            dict(name="home", window=(0, T), charger=True, utility=list(rng.uniform(0, 2, T)),
                 sigma=float(rng.uniform(0.2, 0.8)), plug_utility=float(rng.uniform(-1, 0)),
                 plug_sigma=float(rng.uniform(0.1, 0.6))),
            dict(name="work", window=(w0, w1), utility=list(rng.uniform(0, 3, T)),
                 sigma=float(rng.uniform(0.2, 0.8))),
            dict(name="other", window=(o0, o1), utility=list(rng.uniform(0, 2, T)),
                 sigma=float(rng.uniform(0.2, 0.8))),
        ]
        cfg = NetworkConfig(
            hours=T, places=places, travel=dict(utility=float(rng.uniform(-1.5, -0.2)), sigma=0.5)
        )
        clusters.append(DriverCluster.from_network(build_network(network_template(cfg)), f"c{c}"))
    free = np.zeros(T, dtype=bool)
    free[rng.choice(T, min(n_free, T), replace=False)] = True
    step = rng.uniform(0.1, 0.5)
    sh = rng.uniform(0.2, 0.8)
    shares = np.array([sh, 1.0 - sh]) if n_clusters == 2 else np.ones(1)
    return BilevelInstance(
        clusters=tuple(clusters), shares=shares, fleet_size=float(rng.integers(50, 400)),
        psi=float(rng.uniform(5, 20)), levels=np.array([0.0, step, 2 * step]),
        price=rng.uniform(0.02, 0.1, T), r_bar=rng.uniform(0.8, 0.95, T),
        sigma_dev=rng.uniform(0.03, 0.1, T), eta=float(rng.uniform(0.02, 0.2)),
        bound=int(rng.choice([3, 4])), free_hours=free,
    )


# ------------------------------------------------------------------------------------------------
# follower
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [3, 40])  # dense LAPACK path and banded Cholesky path
def test_batch_follower_matches_persistency_model(default: BilevelInstance, batch: int) -> None:
    cl = default.clusters[1]
    fol = BatchFollower(cl.B, cl.f, cl.mu, cl.sigma, cl.plug_hour, default.hours)
    rng = np.random.default_rng(1)
    S = default.levels[rng.integers(0, 5, size=(batch, default.hours))]
    res = fol.solve(S)
    ref = PersistencyModel(cl.B, cl.f, method="newton")
    pri = PersistencyModel(cl.B, cl.f, method="primal")
    for k in (0, batch - 1):
        reb = np.where(cl.plug_hour >= 0, S[k][np.maximum(cl.plug_hour, 0)], 0.0)
        assert np.max(np.abs(res.y[k] - ref.solve(cl.mu, cl.sigma, reb).y)) < 1e-8
        assert np.max(np.abs(res.y[k] - pri.solve(cl.mu, cl.sigma, reb).y)) < 1e-4
    # hourly persistency = plug-in arc persistency of that hour
    plug = np.flatnonzero(cl.plug_hour >= 0)
    np.testing.assert_allclose(res.y_hours[:, cl.plug_hour[plug]], res.y[:, plug])


def test_jacobian_matches_finite_differences(default: BilevelInstance) -> None:
    cl = default.clusters[0]
    fol = BatchFollower(cl.B, cl.f, cl.mu, cl.sigma, cl.plug_hour, default.hours)
    s = np.random.default_rng(2).choice(default.levels, default.hours)
    J = fol.jacobian(s)[0]
    h = 1e-6
    E = np.eye(default.hours)
    fd = (fol.solve(s + h * E).y_hours - fol.solve(s - h * E).y_hours).T / (2 * h)
    np.testing.assert_allclose(J, fd, atol=1e-7)
    assert np.all(np.diag(J) >= 0)  # own-hour monotonicity (the follower value is convex in s)


def test_substitution_report_complements_and_substitutes(default: BilevelInstance) -> None:
    # one place: every hour is a stay/plug pair between cut nodes -> no cross effects at all
    cfg = NetworkConfig(hours=6, places=[dict(name="home", window=(0, 6), charger=True, utility=1.0)])
    solo = DriverCluster.from_network(build_network(network_template(cfg)))
    fol = BatchFollower(solo.B, solo.f, solo.mu, solo.sigma, solo.plug_hour, 6)
    rep = substitution_report(fol, np.random.default_rng(0).uniform(0, 0.4, (5, 6)))
    assert rep.complements and rep.pair is None
    # default network: routes compete (home in the morning vs home in the evening)
    cl = default.clusters[0]
    fol = BatchFollower(cl.B, cl.f, cl.mu, cl.sigma, cl.plug_hour, default.hours)
    rep = substitution_report(fol, np.vstack([np.zeros(24), np.full(24, 0.4)]))
    assert not rep.complements
    assert rep.pair is not None and rep.pairwise[rep.pair] == pytest.approx(rep.nu)
    assert 0 < rep.nu < 1e-3 * rep.max_complement * 10  # small next to the complement effects


# ------------------------------------------------------------------------------------------------
# leader value and closed forms
# ------------------------------------------------------------------------------------------------


def test_cstar_matches_max_bid() -> None:
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 1, (50, 2))
    Mc = np.array([80.0, 120.0])
    psi, r, sg, eta = 10.0, 0.88, 0.05, 0.05
    from v2gsim.optimize.chance.bounds import kappa

    b = psi * (y @ Mc)
    a = psi**2 * ((y * (1 - y)) @ Mc)
    np.testing.assert_allclose(
        cstar(b, a, r, sg, float(kappa(eta, 3))), max_bid(y, Mc, psi, r, sg, eta, 3), rtol=1e-12
    )


def test_objective_without_rebates_is_the_chance_closed_form(default_problem: BilevelProblem) -> None:
    inst = default_problem.instance
    y = default_problem.hourly(default_problem.follower(np.zeros(inst.hours)))
    bids = max_bid(y, inst.cluster_sizes, inst.psi, inst.r_bar, inst.sigma_dev, inst.eta, inst.bound)
    assert default_problem.objective(np.zeros(inst.hours)) == pytest.approx(inst.price @ bids, rel=1e-12)
    # one cluster: the chance policy's own closed form
    from v2gsim.optimize.chance.bids import closed_form_bids

    one = inst.replace(clusters=inst.clusters[:1], shares=np.ones(1))
    prob = BilevelProblem(one)
    y1 = prob.hourly(prob.follower(np.zeros(one.hours)))[:, 0]
    c = closed_form_bids(y1, one.fleet_size, one.psi, one.r_bar, one.sigma_dev, one.price, one.eta)
    assert prob.objective(np.zeros(one.hours)) == pytest.approx(one.price @ c, rel=1e-12)


def test_default_instance_is_solved_to_proven_optimality(default_solution) -> None:
    sol = default_solution
    assert sol.status == "optimal"
    assert 0 <= sol.gap <= 1e-4
    assert sol.upper_bound >= sol.objective
    assert sol.certificate <= 1e-4 and sol.certificate_primal <= 1e-4
    assert sol.objective == pytest.approx(sol.credit - sol.rebate_cost, rel=1e-12)
    assert sol.objective > sol.objective_no_rebates  # rebates pay on the default instance
    assert set(np.round(sol.rebates, 12)) <= set(default_instance().levels)
    assert sol.substitution > 0  # the default network's charging hours are not pure complements


def test_solution_fields_are_consistent(default_problem: BilevelProblem, default_solution) -> None:
    sol = default_solution
    inst = default_problem.instance
    y = default_problem.hourly(default_problem.follower(sol.rebates))
    np.testing.assert_allclose(sol.y, y, atol=1e-12)
    bids = max_bid(y, inst.cluster_sizes, inst.psi, inst.r_bar, inst.sigma_dev, inst.eta, inst.bound)
    np.testing.assert_allclose(sol.bids, bids)
    assert sol.rebate_cost == pytest.approx(float(np.einsum("t,tc,c->", sol.rebates, y, inst.cluster_sizes)))
    d = json.loads(json.dumps(sol.to_dict()))  # JSON-ready: plain lists and numbers
    assert d["status"] == "optimal" and d["objective"] == sol.objective and d["gap"] == sol.gap
    assert d["rebates"] == sol.rebates.tolist() and d["y"] == sol.y.tolist() and len(d["y"]) == inst.hours
    assert d["improvement"] == pytest.approx(sol.objective / sol.objective_no_rebates - 1, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# brute force
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_branch_and_bound_matches_brute_force(seed: int) -> None:
    inst = tiny_instance(seed)
    prob = BilevelProblem(inst)
    bf = prob.solve("brute_force")
    bb = prob.solve("bnb", rel_gap=1e-9, time_limit=60.0)
    co = BilevelProblem(inst).solve("coordinate")
    scale = max(abs(bf.objective), 1.0)
    assert bb.status == "optimal"
    assert abs(bb.objective - bf.objective) <= 1e-6 * scale
    assert bb.upper_bound >= bf.objective - 1e-9 * scale  # the bound is valid
    assert co.upper_bound >= bf.objective - 1e-9 * scale
    assert co.objective <= bf.objective + 1e-9 * scale
    assert bf.objective >= bf.objective_no_rebates - 1e-12
    assert np.all(bf.rebates[~inst.free] == 0)


def test_brute_force_function_and_limit() -> None:
    inst = tiny_instance(3)
    sol = brute_force(inst)
    assert sol.method == "brute_force" and sol.gap == 0
    with pytest.raises(ValueError, match="enumerate"):
        brute_force(inst, max_vectors=10)


def test_misocp_matches_brute_force_on_a_tiny_instance() -> None:
    inst = tiny_instance(27)
    free = inst.free.copy()
    free[np.flatnonzero(free)[3:]] = False
    inst = inst.replace(free_hours=free)
    prob = BilevelProblem(inst)
    bf = prob.solve("brute_force")
    ms = prob.solve("misocp", time_limit=60.0, rel_gap=1e-7, valid_inequalities=True)
    assert ms.solver == "SCIP" and ms.status == "optimal"
    assert ms.objective == pytest.approx(bf.objective, rel=1e-6)
    assert ms.upper_bound >= bf.objective - 1e-6
    assert ms.certificate < 5e-3  # SCIP's y within its feasibility tolerance of the follower's


# ------------------------------------------------------------------------------------------------
# bilevel >= chance, daily re-solves, limits
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["coordinate", "bnb"])
def test_never_below_chance_even_at_a_time_limit(default: BilevelInstance, method: str) -> None:
    for limit in (0.0, 0.3):
        sol = solve_bilevel(default, method, time_limit=limit)
        assert sol.objective >= sol.objective_no_rebates
    sol = solve_bilevel(default, "bnb", time_limit=0.0)
    assert sol.status == "time_limit" and "stopped" in sol.message


def test_daily_update_with_warm_start(default: BilevelInstance, default_solution) -> None:
    prob = BilevelProblem(default)
    price = default.price * np.linspace(0.9, 1.2, default.hours)
    prob.update(price=price)
    warm = prob.solve("bnb", warm_start=default_solution.rebates, time_limit=60.0)
    fresh = solve_bilevel(default.replace(price=price), "bnb", time_limit=60.0)
    assert warm.status == fresh.status == "optimal"
    assert warm.objective == pytest.approx(fresh.objective, rel=1e-4)
    # new utilities on the same networks
    cl = default.clusters[1]
    new_cl = DriverCluster(cl.name, cl.B, cl.f, cl.mu + 0.1 * (cl.plug_hour >= 0), cl.sigma, cl.plug_hour)
    prob.update(clusters=(default.clusters[0], new_cl))
    assert prob.objective(np.zeros(24)) > fresh.objective_no_rebates  # plugging became more attractive
    with pytest.raises(ValueError, match="networks changed"):
        prob.update(clusters=(default.clusters[0], default.clusters[0]))


def test_coordinate_search_certified_bound(default_solution, default: BilevelInstance) -> None:
    sol = solve_bilevel(default, "coordinate")
    assert sol.objective == pytest.approx(default_solution.objective, rel=1e-9)  # finds the optimum
    assert default_solution.objective <= sol.upper_bound < np.inf
    assert sol.gap < 0.05


# ------------------------------------------------------------------------------------------------
# MISOCP structure and valid inequalities
# ------------------------------------------------------------------------------------------------


def test_misocp_is_dpp_with_named_families(default: BilevelInstance) -> None:
    mdl = BilevelMISOCP(default, valid_inequalities=True)
    assert mdl.problem.is_dcp(dpp=True) and mdl.problem.is_mixed_integer()
    for fam in ("flow", "disk", "dual", "dual_cone", "strong_duality", "disaggregation", "chance",
                "valid_inequalities", "levels"):
        assert mdl.families[fam], fam
    with pytest.raises(ValueError, match="without valid inequalities"):
        BilevelMISOCP(default).set_valid_inequalities([], [])


def test_misocp_rejects_several_plug_arcs_per_hour(default: BilevelInstance) -> None:
    cl = default.clusters[0]
    stay = np.flatnonzero((cl.plug_hour < 0) & (cl.B[:, :].any(axis=0)))
    ph = cl.plug_hour.copy()
    plug = np.flatnonzero(ph >= 0)
    # declare the stay arc parallel to the plug arc of hour 3 a second plug-in arc of hour 3
    tail = np.argmax(cl.B[:, plug[3]] == 1)
    head = np.argmax(cl.B[:, plug[3]] == -1)
    twin = next(a for a in stay if cl.B[tail, a] == 1 and cl.B[head, a] == -1)
    ph[twin] = 3
    two = DriverCluster("two", cl.B, cl.f, cl.mu, cl.sigma, ph)
    inst = default.replace(clusters=(two,), shares=np.ones(1))
    with pytest.raises(ValueError, match="at most one plug-in arc per hour"):
        BilevelMISOCP(inst)
    # the search methods handle it (E1: y_t sums the plug-in arcs of the hour)
    sol = BilevelProblem(inst).solve("coordinate")
    assert sol.objective >= sol.objective_no_rebates


def test_valid_inequality_bounds_contain_the_follower(default_problem: BilevelProblem) -> None:
    inst = default_problem.instance
    lo, hi = default_problem.valid_inequality_bounds()
    rng = np.random.default_rng(4)
    for _ in range(5):
        idx = rng.integers(0, inst.levels.size, inst.hours)
        y = default_problem.hourly(default_problem.follower(inst.levels[idx]))
        t = np.arange(inst.hours)
        for c in range(inst.n_clusters):
            assert np.all(lo[c][t, idx] <= y[:, c] + 1e-12)
            assert np.all(y[:, c] <= hi[c][t, idx] + 1e-12)


def test_instance_validation(default: BilevelInstance) -> None:
    with pytest.raises(ValueError, match="shares"):
        default.replace(shares=np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="levels"):
        default.replace(levels=np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="r_bar"):
        default.replace(r_bar=np.zeros(24))
    with pytest.raises(ValueError, match="bound"):
        default.replace(bound=5)
    with pytest.raises(ValueError, match="unknown method"):
        BilevelProblem(default).solve("simplex")  # type: ignore[arg-type]


def _soc_instance(seed: int) -> BilevelInstance:
    """A tiny instance with a binding state-of-charge guarantee (E3)."""
    from v2gsim.optimize.bilevel import SOCBound

    inst = tiny_instance(seed)
    T = inst.hours
    rng = np.random.default_rng(1000 + seed)
    soc = SOCBound(omega=float(rng.uniform(1.0, 3.0)), gamma_bar=rng.uniform(0.05, 0.3, T),
                   sigma_gamma=rng.uniform(0.02, 0.1, T), kappa=float(np.sqrt(-2 * np.log(0.05))))
    return inst.replace(soc=soc)


@pytest.mark.parametrize("seed", range(8))
def test_soc_guarantee_branch_and_bound_matches_brute_force(seed: int) -> None:
    inst = _soc_instance(seed)
    ref = brute_force(inst)
    sol = solve_bilevel(inst, method="bnb", time_limit=30.0, rel_gap=1e-9)
    assert sol.status == "optimal", sol.message
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-9)
    assert sol.upper_bound >= ref.objective * (1 - 1e-9) - 1e-9
    # the bids satisfy the guarantee hour by hour (models.md E3, SOCP form), evaluated directly
    soc, M = inst.soc, inst.cluster_sizes
    y = sol.y
    lhs = (soc.gamma_bar * sol.bids - soc.omega * (y @ M)
           + soc.kappa * np.sqrt(soc.omega**2 * ((y * (1 - y)) @ M) + (soc.sigma_gamma * sol.bids) ** 2))
    assert np.all(lhs[sol.bids > 0] <= 1e-6 * (1 + sol.bids[sol.bids > 0]))


def test_soc_guarantee_binds_and_lowers_the_bids() -> None:
    inst = _soc_instance(3)
    free = solve_bilevel(inst.replace(soc=None), method="bnb", time_limit=30.0)
    with_soc = solve_bilevel(inst, method="bnb", time_limit=30.0)
    assert with_soc.objective <= free.objective + 1e-9
    assert np.any(with_soc.bids < free.bids - 1e-6)
    with pytest.raises(ValueError, match="E3"):
        BilevelProblem(inst).solve("misocp", time_limit=1.0)


@pytest.mark.parametrize("seed", range(6))
def test_community_objective_search_and_bound_bracket_brute_force(seed: int) -> None:
    from v2gsim.optimize.bilevel import brute_force_community, solve_community

    inst = tiny_instance(seed, n_free=4)
    prob = BilevelProblem(inst)
    ref = brute_force_community(prob, k=2.0)
    sol = solve_community(prob, k=2.0, time_limit=20.0)
    tol = 1e-9 * max(1.0, abs(ref.objective))
    assert sol.profit >= 0 and ref.profit >= 0  # the community never runs the platform at a loss
    assert sol.objective <= ref.objective + tol  # a heuristic cannot beat enumeration
    assert sol.upper_bound >= ref.objective - tol  # the certified bound is valid
    assert ref.objective >= ref.objective_no_rebates - tol


def test_community_surplus_is_the_persistency_value() -> None:
    from v2gsim.optimize.bilevel import community_values

    inst = tiny_instance(3, n_clusters=1)
    prob = BilevelProblem(inst)
    s = inst.levels[np.arange(inst.hours) % inst.levels.size] * inst.free
    w, surplus, profit = community_values(prob, s[None, :], k=1.0)
    cl = inst.clusters[0]
    reb = np.where(cl.plug_hour >= 0, s[np.maximum(cl.plug_hour, 0)], 0.0)
    ref = PersistencyModel(cl.B, cl.f, method="primal").solve(cl.mu, cl.sigma, reb)
    assert surplus[0] == pytest.approx(ref.value, rel=1e-6)
    assert w[0] == pytest.approx(surplus[0] + profit[0] / inst.fleet_size)

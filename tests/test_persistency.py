"""Tests of the persistency model (models.md D2-D5): closed forms, primal = dual, special arcs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from dags import incidence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from v2gsim.behavior.persistency import (
    PersistencyModel,
    dual_objective,
    inner_closed_form,
    network_arrays,
    persistency_objective,
    solve_persistency,
    solve_persistency_clusters,
)
from v2gsim.core.graph import arc_endpoints, topological_order


def all_paths(B: np.ndarray, f: np.ndarray) -> list[list[int]]:
    """Brute-force enumeration of source-sink paths (arc index lists)."""
    net = network_arrays(B, f)

    def rec(n: int) -> list[list[int]]:
        if n == net.sink:
            return [[]]
        return [[a, *p] for a in np.flatnonzero(net.tail == n) for p in rec(int(net.head[a]))]

    return rec(net.source)


@st.composite
def dags(draw, max_nodes: int = 8, max_extra: int = 8, sigma_min: float = 0.1):
    """Random DAG on nodes 0..n-1 (topologically ordered) where every arc is on a 0->n-1 path.

    Every inner node gets an arc from an earlier node and one to a later node, so it is reachable
    from the source and reaches the sink; parallel arcs are allowed.
    """
    n = draw(st.integers(2, max_nodes))
    arcs: list[tuple[int, int]] = []
    for i in range(1, n - 1):
        arcs.append((draw(st.integers(0, i - 1)), i))
        arcs.append((i, draw(st.integers(i + 1, n - 1))))
    if n == 2:
        arcs.append((0, 1))
    for _ in range(draw(st.integers(0, max_extra))):
        u = draw(st.integers(0, n - 2))
        arcs.append((u, draw(st.integers(u + 1, n - 1))))
    m = len(arcs)
    floats = st.floats(-5.0, 5.0, allow_nan=False)
    mu = np.array(draw(st.lists(floats, min_size=m, max_size=m)))
    sig = np.array(draw(st.lists(st.floats(sigma_min, 3.0, allow_nan=False), min_size=m, max_size=m)))
    B, f = incidence(arcs, n)
    return B, f, mu, sig


# --------------------------------------------------------------------------------------------
# helpers and closed forms
# --------------------------------------------------------------------------------------------


def test_arc_endpoints_and_topological_order():
    B, _ = incidence([(0, 2), (2, 1), (1, 3), (0, 3)], 4)
    tail, head = arc_endpoints(B)
    assert tail.tolist() == [0, 2, 1, 0] and head.tolist() == [2, 1, 3, 3]
    order = topological_order(tail, head, 4).tolist()
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[u] < pos[v] for u, v in zip(tail, head, strict=True))
    with pytest.raises(ValueError, match="cycle"):
        topological_order(np.array([0, 1]), np.array([1, 0]), 2)
    with pytest.raises(ValueError, match="not arcs"):
        arc_endpoints(np.array([[1.0], [1.0]]))
    with pytest.raises(ValueError, match="source"):
        network_arrays(B, np.array([1.0, 0, 0, 0]))


@pytest.mark.parametrize(
    ("lam", "sigma"),
    [(0.0, 1.0), (1.3, 0.7), (-2.0, 0.5), (-40.0, 3.0), (25.0, 0.1), (0.2, 4.0), (-0.01, 2.0)],
)
def test_inner_closed_form_matches_numerical_maximisation(lam, sigma):
    """(D3) against scipy's bounded scalar minimisation of -(λ y + σ √(y(1−y)))."""
    res = minimize_scalar(
        lambda y: -(lam * y + sigma * np.sqrt(max(y * (1 - y), 0.0))),
        bounds=(0.0, 1.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    value, y = inner_closed_form(lam, sigma)
    assert value == pytest.approx(-res.fun, abs=1e-9)
    assert y == pytest.approx(res.x, abs=1e-5)


def test_inner_closed_form_limits_and_no_cancellation():
    value, y = inner_closed_form(np.array([2.0, -2.0, 0.0]), 0.0)
    assert value.tolist() == [2.0, 0.0, 0.0]
    assert y[0] == 1.0 and y[1] == 0.0 and np.isnan(y[2])
    # λ ≪ 0: y ≈ σ²/(4λ²), value ≈ σ²/(4|λ|) computed without cancellation
    value, y = inner_closed_form(-1e8, 1.0)
    assert y == pytest.approx(0.25e-16, rel=1e-6)
    assert value == pytest.approx(0.25e-8, rel=1e-6)


@pytest.mark.parametrize("method", ["primal", "dual", "newton"])
def test_two_parallel_arcs_analytic(method):
    """y1 = ½(1 + Δ/√(Δ²+s²)), value = μ2 + ½(Δ + √(Δ²+s²)) with Δ = μ1−μ2, s = σ1+σ2."""
    B, f = incidence([(0, 1), (0, 1)], 2)
    mu = np.array([3.0, 1.8])
    sigma = np.array([0.9, 1.6])
    d, s = mu[0] - mu[1], sigma.sum()
    r = solve_persistency(B, f, mu, sigma, method=method)
    tol_y = 1e-12 if method == "newton" else 2e-5  # interior-point accuracy of y
    assert r.y[0] == pytest.approx(0.5 * (1 + d / np.hypot(d, s)), abs=tol_y)
    assert r.y.sum() == pytest.approx(1.0, abs=tol_y)  # dual: y from (D3), feasible to ~1e-5
    assert r.value == pytest.approx(mu[1] + 0.5 * (d + np.hypot(d, s)), abs=1e-7)
    assert r.rho[1] == 0.0


# --------------------------------------------------------------------------------------------
# primal = dual on random DAGs
# --------------------------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(dags())
def test_primal_equals_dual_random_dags(case):
    B, f, mu, sigma = case
    rp = solve_persistency(B, f, mu, sigma, method="primal")
    rd = solve_persistency(B, f, mu, sigma, method="dual")
    rn = solve_persistency(B, f, mu, sigma, method="newton")
    assert rn.method == "newton"
    # values: primal max = dual min (D2 = D4), three independent methods
    assert rp.value == pytest.approx(rd.value, abs=1e-6)
    assert rp.value == pytest.approx(rn.value, abs=1e-6)
    # the Newton solution is primal feasible, and its value is the primal objective at its y
    assert np.abs(B @ rn.y - f).max() < 1e-9
    assert persistency_objective(rn.y, mu, sigma) == pytest.approx(rn.value, abs=1e-8)
    # persistencies agree (σ > 0: the primal optimum is unique)
    assert np.abs(rp.y - rn.y).max() < 1e-4
    assert np.abs(rd.y - rn.y).max() < 1e-4
    # reduced utilities and normalisation
    for r in (rp, rd, rn):
        assert r.rho[-1] == 0.0
        np.testing.assert_allclose(r.lam, mu - B.T @ r.rho, atol=1e-9)
        assert dual_objective(B, f, r.rho, mu, sigma) == pytest.approx(rn.value, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(dags(max_nodes=6, max_extra=5), st.integers(0, 2**32 - 1))
def test_weak_duality_any_potential_any_flow(case, seed):
    """Every ρ bounds every feasible flow (D4 ≥ D2), here random path mixtures and potentials."""
    B, f, mu, sigma = case
    rng = np.random.default_rng(seed)
    paths = all_paths(B, f)
    w = rng.dirichlet(np.ones(len(paths)))
    y = np.zeros(B.shape[1])
    for p, wi in zip(paths, w, strict=True):
        y[p] += wi
    rho = rng.normal(0, 3, B.shape[0])
    rho[-1] = 0
    # sqrt(y(1 - y)) turns the rounding of a path weight sum (1e-16) into 1e-8 at y = 1
    assert dual_objective(B, f, rho, mu, sigma) >= persistency_objective(y, mu, sigma) - 1e-6


def test_bound_dominates_independent_normal_utilities():
    """(D2) is a sup over distributions: it bounds E[max path] of independent normals."""
    B, f = incidence([(0, 1), (0, 1), (1, 2), (0, 2), (1, 3), (2, 3), (2, 3)], 4)
    rng = np.random.default_rng(0)
    mu = np.array([1.0, 0.5, 0.2, 1.0, 1.5, 0.3, 0.8])
    sigma = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 0.7, 1.2])
    r = solve_persistency(B, f, mu, sigma)
    P = np.zeros((len(all_paths(B, f)), B.shape[1]))
    for k, p in enumerate(all_paths(B, f)):
        P[k, p] = 1
    v = mu + sigma * rng.standard_normal((50_000, len(mu)))
    best = (v @ P.T).max(axis=1)
    assert best.mean() + 3 * best.std() / np.sqrt(len(best)) < r.value
    # and the bound is at least the deterministic longest path
    assert r.value >= (P @ mu).max()


# --------------------------------------------------------------------------------------------
# degenerate arcs: σ = 0, forced (cut) arcs, arcs on no path
# --------------------------------------------------------------------------------------------


def test_sigma_zero_ties_and_limits():
    B, f = incidence([(0, 1), (0, 1), (0, 1)], 2)
    # two tied deterministic arcs beat a third: any split between them is optimal
    mu = np.array([2.0, 2.0, 1.0])
    sigma = np.zeros(3)
    for method in ("primal", "dual", "newton"):
        r = solve_persistency(B, f, mu, sigma, method=method)
        assert r.value == pytest.approx(2.0, abs=1e-7)
        assert r.y[:2].sum() == pytest.approx(1.0, abs=1e-6)
        assert r.y[2] == pytest.approx(0.0, abs=1e-6)
    assert solve_persistency(B, f, mu, sigma, method="newton").method == "primal"  # fallback
    # a unique best deterministic arc: y is its indicator, recovered from the dual by λ's sign
    mu = np.array([3.0, 2.0, 1.0])
    rd = solve_persistency(B, f, mu, sigma, method="dual")
    np.testing.assert_allclose(rd.y, [1.0, 0.0, 0.0], atol=1e-9)
    # a mix of σ = 0 and σ > 0
    sigma = np.array([0.0, 1.5, 0.0])
    rp = solve_persistency(B, f, mu, sigma)
    rd = solve_persistency(B, f, mu, sigma, method="dual")
    assert rp.value == pytest.approx(rd.value, abs=1e-7)
    np.testing.assert_allclose(rp.y, rd.y, atol=1e-4)
    # analytic: arc 2 has Δ = −1 vs arc 0, s = 1.5
    assert rp.y[1] == pytest.approx(0.5 * (1 - 1 / np.hypot(1, 1.5)), abs=1e-5)


def test_forced_arcs():
    """Arcs on every path have y = 1 (normalised λ = 0); all methods agree."""
    B, f = incidence([(0, 1), (1, 2), (1, 2), (2, 3)], 4)
    mu = np.array([1.0, 2.0, 1.0, -0.5])
    sigma = np.array([1.0, 0.5, 0.8, 2.0])
    net = network_arrays(B, f)
    assert net.forced.tolist() == [True, False, False, True]
    d, s = 1.0, 1.3
    expected = mu[0] + mu[3] + mu[2] + 0.5 * (d + np.hypot(d, s))
    for method in ("primal", "dual", "newton"):
        r = solve_persistency(B, f, mu, sigma, method=method)
        assert r.value == pytest.approx(expected, abs=1e-7)
        assert r.y[0] == 1.0 and r.y[3] == 1.0
        assert r.lam[[0, 3]] == pytest.approx([0.0, 0.0], abs=1e-7)
        assert r.y[1] == pytest.approx(0.5 * (1 + d / np.hypot(d, s)), abs=1e-5)
    # a single-arc network
    B1, f1 = incidence([(0, 1)], 2)
    r = solve_persistency(B1, f1, [4.0], [2.0], method="newton")
    assert r.value == 4.0 and r.y[0] == 1.0


def test_arcs_on_no_path():
    # arc 2 goes into a dead end (node 2 has no way to the sink 3)
    B, f = incidence([(0, 1), (0, 3), (1, 2), (1, 3)], 4)
    mu = np.array([1.0, 1.0, 5.0, 1.0])
    sigma = np.ones(4)
    r = solve_persistency(B, f, mu, sigma)
    assert r.y[2] == 0.0
    r2 = solve_persistency(np.delete(B, 2, axis=1), f, np.delete(mu, 2), np.delete(sigma, 2))
    assert r.value == pytest.approx(r2.value, abs=1e-7)
    with pytest.raises(ValueError, match="no source-sink path"):
        solve_persistency(B, f, mu, sigma, method="dual")


# --------------------------------------------------------------------------------------------
# rebates, re-parameterisation, clusters
# --------------------------------------------------------------------------------------------


def test_rebate_is_added_to_mu_and_raises_plug_in():
    B, f = incidence([(0, 1), (0, 1), (1, 2), (1, 2)], 3)  # arcs 1 and 3: plug-in
    mu = np.array([1.0, 0.7, 2.0, 1.5])
    sigma = np.array([1.0, 1.0, 0.5, 0.5])
    rebate = np.array([0.0, 0.4, 0.0, 0.3])
    for method in ("primal", "newton"):
        with_reb = solve_persistency(B, f, mu, sigma, rebate, method=method)
        shifted = solve_persistency(B, f, mu + rebate, sigma, method=method)
        base = solve_persistency(B, f, mu, sigma, method=method)
        assert with_reb.value == pytest.approx(shifted.value, abs=1e-8)
        np.testing.assert_allclose(with_reb.y, shifted.y, atol=1e-6)
        assert np.all(with_reb.y[[1, 3]] > base.y[[1, 3]])


def test_model_is_built_once_and_reparameterised():
    B, f = incidence([(0, 1), (0, 1), (1, 2), (0, 2), (1, 2)], 3)
    rng = np.random.default_rng(1)
    for method in ("primal", "dual"):
        model = PersistencyModel(B, f, sigma=np.ones(5), method=method)
        first = model.solve(rng.normal(size=5))
        prob = (model._primal or model._dual)[0]
        assert prob.is_dpp()
        for _ in range(3):
            mu, sig = rng.normal(size=5), rng.uniform(0.2, 2, 5)
            r = model.solve(mu, sig)
            assert (model._primal or model._dual)[0] is prob  # not rebuilt
            ref = solve_persistency(B, f, mu, sig, method="newton")
            assert r.value == pytest.approx(ref.value, abs=1e-7)
        assert first.solve_time_s > 0
    with pytest.raises(ValueError, match="sigma"):
        PersistencyModel(B, f).solve(np.zeros(5))
    with pytest.raises(ValueError, match=">= 0"):
        PersistencyModel(B, f).solve(np.zeros(5), -np.ones(5))


def test_clusters_share_weighted_aggregate():
    B1, f1 = incidence([(0, 1), (0, 1)], 2)
    B2, f2 = incidence([(0, 1), (0, 1), (1, 2), (1, 2)], 3)
    nets = [(B1, f1, [1.0, 0.0], [1.0, 1.0]), (B2, f2, [0.0, 0.5, 1.0, 0.0], [1.0] * 4)]
    res = solve_persistency_clusters(nets, [0.3, 0.7], [None, [0.0, 0.2, 0.0, 0.0]])
    assert len(res.results) == 2
    r2 = solve_persistency(B2, f2, [0.0, 0.7, 1.0, 0.0], [1.0] * 4)
    np.testing.assert_allclose(res.results[1].y, r2.y, atol=1e-6)
    # map: "plugged in" = arc 1 of cluster 1; arcs 1 and 3 of cluster 2
    maps = [np.array([[0.0, 1.0]]), np.array([[0.0, 1.0, 0.0, 1.0]])]
    expected = 0.3 * res.results[0].y[1] + 0.7 * (r2.y[1] + r2.y[3])
    assert res.aggregate(maps)[0] == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="different arc sets"):
        res.aggregate()
    same = solve_persistency_clusters([nets[0], nets[0]], [0.5, 0.5])
    np.testing.assert_allclose(same.aggregate(), same.results[0].y)
    with pytest.raises(ValueError, match="sum to 1"):
        solve_persistency_clusters(nets, [0.5, 0.6])


def test_brute_force_small_network_value():
    """Small bridge network: the SOCP value equals a dense grid search over path mixtures."""
    B, f = incidence([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)], 4)
    mu = np.array([1.0, 0.4, -0.2, 0.3, 1.1])
    sigma = np.array([0.6, 1.0, 0.4, 0.9, 0.5])
    paths = all_paths(B, f)
    P = np.zeros((len(paths), 5))
    for k, p in enumerate(paths):
        P[k, p] = 1
    best = -np.inf
    grid = np.linspace(0, 1, 161)
    for a, b in itertools.product(grid, grid):
        if a + b <= 1:
            y = np.array([a, b, 1 - a - b]) @ P
            best = max(best, persistency_objective(y, mu, sigma))
    r = solve_persistency(B, f, mu, sigma)
    assert best <= r.value + 1e-9
    assert r.value - best < 1e-3

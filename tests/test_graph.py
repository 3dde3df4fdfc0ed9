"""DAG helpers (v2gsim.core.graph), the batched Newton driver and the persistency-side cluster types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sps
from dags import incidence

from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.persistency.arrays import network_arrays
from v2gsim.behavior.persistency.clusters import DriverCluster, hour_map, plug_rebate, solve_clusters
from v2gsim.behavior.persistency.conic import PersistencySolveError
from v2gsim.behavior.persistency.newton import DualNewtonProblem, damped_newton, newton_dual
from v2gsim.behavior.persistency.socp import PersistencyModel
from v2gsim.config import load_scenario
from v2gsim.core.graph import (
    CycleError,
    arc_endpoints,
    arcs_by_node,
    as_dense,
    longest_path_to_sink,
    topological_order,
)
from v2gsim.core.network import ActivityNetwork, NetworkError, build_network
from v2gsim.core.solvers import SolveError
from v2gsim.specs.build import network_template

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def random_dag(rng: np.random.Generator, n: int, extra: int) -> list[tuple[int, int]]:
    """Arcs on nodes 0..n-1 (topologically numbered), every node on a 0 -> n-1 path."""
    arcs = [(int(rng.integers(0, i)), i) for i in range(1, n)]
    arcs += [(i, int(rng.integers(i + 1, n))) for i in range(1, n - 1)]
    for _ in range(extra):
        u = int(rng.integers(0, n - 1))
        arcs.append((u, int(rng.integers(u + 1, n))))
    return arcs


@pytest.fixture(scope="module")
def default_net() -> ActivityNetwork:
    return build_network(network_template(load_scenario(SCEN / "default.toml").network))


def test_topological_order_and_cycles():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 12))
        arcs = random_dag(rng, n, int(rng.integers(0, 10)))
        perm = rng.permutation(n)  # relabel so that the numbering is not already topological
        tail = perm[[u for u, _ in arcs]]
        head = perm[[v for _, v in arcs]]
        order = topological_order(tail, head, n)
        pos = np.empty(n, dtype=int)
        pos[order] = np.arange(n)
        assert sorted(order.tolist()) == list(range(n))
        assert np.all(pos[tail] < pos[head])
        # the activity network and the persistency arrays see the same order
        net = ActivityNetwork.from_arcs(tail, head, n)
        np.testing.assert_array_equal(net.topological_order, order)
    with pytest.raises(CycleError, match="cycle"):
        topological_order(np.array([0, 1, 2]), np.array([1, 2, 1]), 3)
    assert issubclass(CycleError, ValueError)
    with pytest.raises(NetworkError, match="cycle"):
        ActivityNetwork.from_arcs([0, 1, 2], [1, 2, 1], 3)


def test_arcs_by_node_endpoints_and_dense():
    tail = np.array([2, 0, 2, 1, 0])
    out = arcs_by_node(tail, 4)
    assert [o.tolist() for o in out] == [[1, 4], [3], [0, 2], []]
    B, _ = incidence([(0, 2), (2, 1), (1, 3)], 4)
    t, h = arc_endpoints(B)
    assert t.tolist() == [0, 2, 1] and h.tolist() == [2, 1, 3]
    np.testing.assert_array_equal(as_dense(sps.csr_matrix(B)), B)
    assert as_dense(B) is B


def _best_to_sink(node: int, sink: int, tail: np.ndarray, head: np.ndarray, w: np.ndarray) -> float:
    """Brute-force longest path value from ``node`` to ``sink``."""
    if node == sink:
        return 0.0
    return max(w[a] + _best_to_sink(int(head[a]), sink, tail, head, w) for a in np.flatnonzero(tail == node))


def test_longest_path_to_sink_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(2, 8))
        arcs = random_dag(rng, n, 4)
        tail = np.array([u for u, _ in arcs])
        head = np.array([v for _, v in arcs])
        w = rng.normal(size=len(arcs))
        L = longest_path_to_sink(tail, head, w, topological_order(tail, head, n), n - 1)
        np.testing.assert_allclose(L, [_best_to_sink(v, n - 1, tail, head, w) for v in range(n)])


def test_damped_newton_batch_rows_equal_single_solves():
    """K problems in one batch give the same potentials as K separate K = 1 solves."""
    rng = np.random.default_rng(11)
    arcs = random_dag(rng, 9, 10)
    B, f = incidence(arcs, 9)
    net = network_arrays(B, f)
    sigma = rng.uniform(0.2, 2.0, net.n_arcs)
    util = rng.normal(0.0, 2.0, (6, net.n_arcs))
    prob = DualNewtonProblem(net, util, sigma)
    x0 = np.zeros((6, len(net.keep)))
    batch = damped_newton(x0, prob.parts, prob.direction, tol=1e-11, max_iter=200)
    assert batch.converged.all() and batch.iterations > 0
    for k in range(6):
        one = DualNewtonProblem(net, util[k : k + 1], sigma)
        single = damped_newton(x0[k : k + 1], one.parts, one.direction, tol=1e-11, max_iter=200)
        np.testing.assert_array_equal(single.x[0], batch.x[k])
    # the persistency model's Newton is this driver with K = 1
    rho, it, ok = newton_dual(net, util[0], sigma)
    res = PersistencyModel(B, f, method="newton").solve(util[0], sigma)
    assert ok and it == res.iterations
    np.testing.assert_array_equal(rho, res.rho)
    # the iteration limit is honoured and reported
    short = damped_newton(x0, prob.parts, prob.direction, tol=0.0, max_iter=2)
    assert short.iterations == 2 and not short.converged.any()


def test_persistency_solve_error_is_a_solve_error():
    assert issubclass(PersistencySolveError, SolveError)


def test_driver_cluster_maps_and_cluster_solve(default_net):
    net = default_net
    c = DriverCluster.from_network(net, name="c")
    A = hour_map(c, net.hours)
    np.testing.assert_array_equal(A, net.plug_hours.astype(float))
    s = np.linspace(0.0, 2.3, net.hours)
    np.testing.assert_array_equal(plug_rebate(c, s), np.where(net.kind == 1, s[net.hour], 0.0))
    res = solve_clusters([c, c], [3.0, 5.0], [plug_rebate(c, s)] * 2, hours=net.hours, method="newton")
    assert res.y.shape == (2, net.hours)
    np.testing.assert_array_equal(res.y[0], A @ res.results[0].y)
    np.testing.assert_allclose(res.expected, 8.0 * res.y[0])
    np.testing.assert_allclose(res.aggregate([A, A]), res.expected)
    with pytest.raises(ValueError, match="sigma"):
        DriverCluster("bad", c.B, c.f, c.mu, -c.sigma, c.plug_hour)


def test_cluster_beliefs_predict(default_net):
    beliefs = ClusterBeliefs([default_net, default_net], [10, 30])
    s = np.full(default_net.hours, 0.5)
    pred = beliefs.predict(s)
    assert [cl.name for cl in beliefs.clusters] == ["cluster0", "cluster1"]
    np.testing.assert_array_equal(pred.expected, beliefs.sizes @ pred.y)
    ref = PersistencyModel(default_net.incidence, default_net.supply, method="newton").solve(
        default_net.mu, default_net.sigma, rebate=beliefs.arc_rebate(0, s))
    np.testing.assert_array_equal(pred.results[1].y, ref.y)
    np.testing.assert_array_equal(pred.y[0], pred.y[1])  # same network, same beliefs

"""Activity network structure and the fleet's longest paths (DP vs brute force)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.behavior.sampling import longest_paths, sample_utilities
from v2gsim.config import load_scenario
from v2gsim.core.network import PLUG, TRAVEL, ActivityNetwork, NetworkError, build_network
from v2gsim.specs.build import network_template

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def net() -> ActivityNetwork:
    return build_network(network_template(load_scenario(SCEN / "default.toml").network))


def test_default_network_structure(net):
    b = net.incidence
    assert b.shape == (net.n_nodes, net.n_arcs)
    assert np.all(b.sum(axis=0) == 0)  # each column: one +1, one -1
    assert np.all(np.abs(b).sum(axis=0) == 2)
    order = net.topological_order
    pos = np.empty(net.n_nodes, dtype=int)
    pos[order] = np.arange(net.n_nodes)
    assert np.all(pos[net.tail] < pos[net.head])
    assert net.supply[net.source] == 1 and net.supply[net.sink] == -1
    assert net.node_hour[net.source] == 0 and net.node_hour[net.sink] == 24
    # home has a charger: one plug arc per hour, parallel to the stay arc; no plug arcs elsewhere
    for t in range(24):
        arcs = net.plug_arcs(t)
        assert arcs.size == 1 and net.place_names[net.place[arcs[0]]] == "home"
        stay = np.flatnonzero((net.kind == 0) & (net.tail == net.tail[arcs[0]])
                              & (net.head == net.head[arcs[0]]))
        assert stay.size == 1
    # travel arcs consume energy, others don't
    assert np.all(net.energy_kwh[net.kind == TRAVEL] == 4.0)
    assert np.all(net.energy_kwh[net.kind != TRAVEL] == 0.0)
    # work only between 6 and 20 h
    work = net.place_names.index("work")
    hours_at_work = net.node_hour[net.node_place == work]
    assert hours_at_work.min() >= 6 and hours_at_work.max() <= 20


def test_checks_reject_bad_networks():
    with pytest.raises(NetworkError, match="cycle"):
        ActivityNetwork.from_arcs([0, 1, 2], [1, 2, 1], 3)
    with pytest.raises(NetworkError, match="one source"):
        ActivityNetwork.from_arcs([0, 1], [2, 2], 3)
    with pytest.raises(NetworkError, match="one sink"):
        ActivityNetwork.from_arcs([0, 0], [1, 2], 3)


def _random_dag(widths: list[int], bits: list[bool]) -> tuple[np.ndarray, np.ndarray, int]:
    """Layered DAG source -> layers -> sink; every node has an in- and an out-arc, and the
    bits add further (sometimes parallel) arcs between consecutive layers."""
    layers, n = [[0]], 1
    for w in widths:
        layers.append(list(range(n, n + w)))
        n += w
    layers.append([n])
    n += 1
    tails, heads, k = [], [], 0
    for prev, nxt in pairwise(layers):
        for j, v in enumerate(nxt):  # every node of nxt gets an in-arc
            tails.append(prev[j % len(prev)])
            heads.append(v)
        for i, u in enumerate(prev):  # every node of prev gets an out-arc
            tails.append(u)
            heads.append(nxt[i % len(nxt)])
        for u in prev:
            for v in nxt:
                if bits[k % len(bits)]:
                    tails.append(u)
                    heads.append(v)
                k += 1
    return np.array(tails), np.array(heads), n


def _all_paths(net: ActivityNetwork) -> list[list[int]]:
    out_arcs = {n: np.flatnonzero(net.tail == n) for n in range(net.n_nodes)}
    paths, stack = [], [(net.source, [])]
    while stack:
        node, p = stack.pop()
        if node == net.sink:
            paths.append(p)
            continue
        for a in out_arcs[node]:
            stack.append((int(net.head[a]), [*p, int(a)]))
    return paths


@settings(max_examples=40, deadline=None)
@given(
    layers=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    bits=st.lists(st.booleans(), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_longest_path_equals_brute_force(layers, bits, seed):
    tail, head, n = _random_dag(layers, bits)
    net = ActivityNetwork.from_arcs(tail, head, n)
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(net.n_arcs, 25))
    choice = longest_paths(net, v)
    paths = _all_paths(net)
    values = np.array([[v[p, i].sum() for p in paths] for i in range(v.shape[1])])
    np.testing.assert_allclose(choice.value, values.max(axis=1), rtol=0, atol=1e-12)
    # the recovered path's arcs sum to the value
    for i in range(v.shape[1]):
        arcs = np.unique(choice.arc_at_hour[i])
        assert v[arcs, i].sum() == pytest.approx(choice.value[i], abs=1e-12)


def test_fleet_dp_matches_known_choice(net):
    # make plugging at home overwhelmingly attractive: every driver plugs in at hour 2
    rng = np.random.default_rng(1)
    rebate = np.where((net.kind == PLUG) & (net.hour == 2), 100.0, 0.0)
    v = sample_utilities(rng, net, 500, "normal", rebate=rebate)
    choice = longest_paths(net, v)
    assert choice.plugged(net)[:, 2].all()
    # a path occupies exactly one arc per hour and consecutive arcs connect
    a = choice.arc_at_hour
    nxt = a[:, 1:]
    prev = a[:, :-1]
    same = nxt == prev
    assert np.all(same | (net.head[prev] == net.tail[nxt]))


@pytest.mark.parametrize("dist", ["normal", "uniform", "two_point"])
def test_sampled_utilities_have_configured_moments(net, dist):
    rng = np.random.default_rng(7)
    v = sample_utilities(rng, net, 40_000, dist, dtype=np.float64)
    m, s = v.mean(axis=1), v.std(axis=1)
    se = net.sigma / np.sqrt(v.shape[1])
    assert np.all(np.abs(m - net.mu) < 5 * se + 1e-12)
    np.testing.assert_allclose(s, net.sigma, rtol=0.03)

"""Tests of the extremal distribution sampler: path decomposition, moments, longest paths = y."""

from __future__ import annotations

import numpy as np
import pytest
from dags import incidence

from v2gsim.behavior.extremal import (
    extremal_distribution,
    extremal_moments,
    path_decomposition,
    sample_extremal,
)
from v2gsim.behavior.persistency import network_arrays, solve_persistency


def longest_paths(B: np.ndarray, f: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Independent longest-path DP over drivers (rows of V); returns chosen-arc indicators.

    Nodes are processed in index order (the test networks are numbered topologically); for each
    node the best incoming arc is kept, then paths are traced back from the sink.
    """
    n_drivers, n_arcs = V.shape
    tails = np.argmax(B == 1, axis=0)
    heads = np.argmax(B == -1, axis=0)
    source, sink = int(np.argmax(f == 1)), int(np.argmax(f == -1))
    best = np.full((B.shape[0], n_drivers), -np.inf)
    best[source] = 0.0
    pred = np.full((B.shape[0], n_drivers), -1)
    for node in range(B.shape[0]):
        ins = np.flatnonzero(heads == node)
        if node == source or len(ins) == 0:
            continue
        cand = best[tails[ins]] + V[:, ins].T  # (in-degree, drivers)
        k = np.argmax(cand, axis=0)
        best[node] = cand[k, np.arange(n_drivers)]
        pred[node] = ins[k]
    X = np.zeros((n_drivers, n_arcs), dtype=bool)
    node = np.full(n_drivers, sink)
    rows = np.arange(n_drivers)
    active = node != source
    while active.any():
        a = pred[node[active], rows[active]]
        X[rows[active], a] = True
        node[active] = tails[a]
        active = node != source
    return X


BRIDGE = incidence([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (0, 3), (1, 3)], 4)
MU = np.array([1.0, 0.4, -0.2, 0.3, 1.1, 0.9, -0.4])
SIGMA = np.array([0.6, 1.0, 0.4, 0.9, 0.5, 1.3, 0.8])


def test_path_decomposition_reproduces_flow():
    B, f = BRIDGE
    r = solve_persistency(B, f, MU, SIGMA, method="newton")
    dec = path_decomposition(B, f, r.y)
    assert dec.weights.sum() == pytest.approx(1.0)
    assert np.all(dec.weights > 0)
    assert len(dec.weights) <= B.shape[1]
    np.testing.assert_allclose(dec.arc_flow(), r.y, atol=1e-9)
    # every row is a source-sink path: unit flow conservation
    for p in dec.paths:
        np.testing.assert_allclose(B @ p.astype(float), f)
    with pytest.raises(ValueError, match="no source-sink path"):
        path_decomposition(B, f, np.zeros(B.shape[1]))


@pytest.mark.parametrize("method", ["newton", "primal"])
def test_exact_moments(method):
    """Every arc of the two-point construction keeps mean μ and standard deviation σ."""
    B, f = BRIDGE
    r = solve_persistency(B, f, MU, SIGMA, method=method)
    dist = extremal_distribution(B, f, MU, SIGMA, r)
    mean, std, y = extremal_moments(dist)
    tol = 1e-9 if method == "newton" else 2e-4  # KKT accuracy of the supplied solution
    np.testing.assert_allclose(mean, MU, atol=tol)
    np.testing.assert_allclose(std, SIGMA, atol=tol)
    np.testing.assert_allclose(y, r.y, atol=1e-8)
    # equivalent moment-matched form: high = μ + σ√((1−y)/y), low = μ − σ√(y/(1−y))
    np.testing.assert_allclose(dist.high, MU + SIGMA * np.sqrt((1 - y) / y), atol=tol * 10)
    np.testing.assert_allclose(dist.low, MU - SIGMA * np.sqrt(y / (1 - y)), atol=tol * 10)


def test_sampled_longest_paths_reproduce_persistency():
    """Longest paths of extremal drivers reproduce y within 3 standard errors on every arc."""
    B, f = BRIDGE
    rebate = np.array([0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0])
    r = solve_persistency(B, f, MU, SIGMA, rebate, method="newton")
    rng = np.random.default_rng(2024)
    n = 40_000
    V = sample_extremal(rng, n, B, f, MU, SIGMA, r, rebate=rebate)
    X = longest_paths(B, f, V)
    freq = X.mean(axis=0)
    se = np.sqrt(r.y * (1 - r.y) / n)
    assert np.all(np.abs(freq - r.y) <= 3 * se)
    # the chosen path is the drawn one: its utility equals the maximum path utility, and every
    # path's utility is at most that
    dist = extremal_distribution(B, f, MU, SIGMA, r, rebate=rebate)
    path_util = V @ dist.paths.T.astype(float)
    np.testing.assert_allclose((V * X).sum(axis=1), path_util.max(axis=1), atol=1e-9)
    # arc moments: mean μ + rebate and std σ within 3 standard errors
    mean, std = V.mean(axis=0), V.std(axis=0)
    mu_eff = MU + rebate
    assert np.all(np.abs(mean - mu_eff) <= 3 * SIGMA / np.sqrt(n))
    m4 = r.y * (dist.high - mu_eff) ** 4 + (1 - r.y) * (dist.low - mu_eff) ** 4
    se_var = np.sqrt((m4 - SIGMA**4) / n)
    assert np.all(np.abs(std**2 - SIGMA**2) <= 3 * se_var + 1e-12)


def test_drawn_path_is_unique_longest_path():
    """With σ > 0 on all arcs the drawn path wins by at least the smallest h on the difference."""
    B, f = BRIDGE
    r = solve_persistency(B, f, MU, SIGMA, method="newton")
    dist = extremal_distribution(B, f, MU, SIGMA, r)
    rows = np.where(dist.paths, dist.high, dist.low)  # utilities given each drawn path
    util = rows @ dist.paths.T.astype(float)  # (drawn, evaluated path)
    for k in range(len(dist.weights)):
        others = np.delete(util[k], k)
        assert np.all(util[k, k] - others >= SIGMA.min() - 1e-9)


def test_forced_arcs_and_sigma_zero_ties():
    """Forced arcs are drawn independently; σ = 0, λ = 0 arcs are constants (ties allowed)."""
    # arc 0 forced; arcs 1, 2 parallel with σ = 0 and equal μ (indifferent); arcs 3, 4 random
    B, f = incidence([(0, 1), (1, 2), (1, 2), (2, 3), (2, 3)], 4)
    mu = np.array([2.0, 1.0, 1.0, 0.5, 0.2])
    sigma = np.array([1.5, 0.0, 0.0, 0.7, 1.1])
    r = solve_persistency(B, f, mu, sigma)
    net = network_arrays(B, f)
    assert net.forced.tolist() == [True, False, False, False, False]
    dist = extremal_distribution(B, f, mu, sigma, r)
    mean, std, _ = extremal_moments(dist)
    np.testing.assert_allclose(mean, mu, atol=2e-4)
    np.testing.assert_allclose(std, sigma, atol=2e-4)
    rng = np.random.default_rng(5)
    n = 40_000
    V = sample_extremal(rng, n, B, f, mu, sigma, r)
    assert abs(V[:, 0].mean() - mu[0]) <= 3 * sigma[0] / np.sqrt(n)
    assert V[:, 0].std() == pytest.approx(sigma[0], rel=0.02)
    np.testing.assert_allclose(V[:, 1:3], 1.0, atol=1e-4)  # constants μ = π on the tied arcs
    X = longest_paths(B, f, V)
    freq = X.mean(axis=0)
    se = np.sqrt(r.y * (1 - r.y) / n)
    # arcs with σ > 0 follow y; the tied pair only sums to 1 (tie broken by the DP)
    assert np.all(np.abs(freq[3:] - r.y[3:]) <= 3 * se[3:])
    assert freq[1] + freq[2] == pytest.approx(1.0)


def test_sampling_is_reproducible_and_float32():
    B, f = BRIDGE
    r = solve_persistency(B, f, MU, SIGMA, method="newton")
    a = sample_extremal(np.random.default_rng(7), 100, B, f, MU, SIGMA, r)
    b = sample_extremal(np.random.default_rng(7), 100, B, f, MU, SIGMA, r)
    np.testing.assert_array_equal(a, b)
    c = sample_extremal(np.random.default_rng(7), 100, B, f, MU, SIGMA, r, dtype=np.float32)
    assert c.dtype == np.float32
    np.testing.assert_allclose(c, a, rtol=1e-6)

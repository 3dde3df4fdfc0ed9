"""Tests of recursive logit: exact probabilities vs path enumeration, exact sequential sampling."""

from __future__ import annotations

import numpy as np
import pytest
from dags import incidence
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.behavior.logit import (
    EULER_GAMMA,
    gumbel_scale_from_std,
    gumbel_std_from_scale,
    recursive_logit,
    sample_gumbel,
    sample_logit_paths,
)


def path_matrix(B: np.ndarray) -> np.ndarray:
    """Brute-force (n_paths, n_arcs) incidence of all 0 -> n-1 paths."""
    tails = np.argmax(B == 1, axis=0)
    heads = np.argmax(B == -1, axis=0)
    sink = B.shape[0] - 1

    def rec(n: int) -> list[list[int]]:
        if n == sink:
            return [[]]
        return [[a, *p] for a in np.flatnonzero(tails == n) for p in rec(int(heads[a]))]

    paths = rec(0)
    P = np.zeros((len(paths), B.shape[1]))
    for k, p in enumerate(paths):
        P[k, p] = 1.0
    return P


def longest_path_choices(P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Arc indicators of the best enumerated path for each row of utilities V."""
    return P[np.argmax(V @ P.T, axis=1)]


@st.composite
def small_dags(draw):
    n = draw(st.integers(2, 7))
    arcs = []
    for i in range(1, n - 1):
        arcs.append((draw(st.integers(0, i - 1)), i))
        arcs.append((i, draw(st.integers(i + 1, n - 1))))
    if n == 2:
        arcs.append((0, 1))
    for _ in range(draw(st.integers(0, 6))):
        u = draw(st.integers(0, n - 2))
        arcs.append((u, draw(st.integers(u + 1, n - 1))))
    mu = draw(st.lists(st.floats(-4, 4), min_size=len(arcs), max_size=len(arcs)))
    beta = draw(st.floats(0.2, 3.0))
    B, f = incidence(arcs, n)
    return B, f, np.array(mu), beta


@settings(max_examples=40, deadline=None)
@given(small_dags())
def test_recursive_logit_equals_path_multinomial_logit(case):
    """Arc probabilities = Σ over paths of the path-level MNL; V(source) = path log-sum."""
    B, f, mu, beta = case
    r = recursive_logit(B, f, mu, beta)
    P = path_matrix(B)
    U = P @ mu
    w = np.exp((U - U.max()) / beta)
    w /= w.sum()
    np.testing.assert_allclose(r.x, w @ P, atol=1e-12)
    logsum = U.max() + beta * np.log(np.sum(np.exp((U - U.max()) / beta)))
    assert r.V[0] == pytest.approx(logsum, abs=1e-10)
    assert r.expected_utility == pytest.approx(logsum, abs=1e-10)
    np.testing.assert_allclose(B @ r.x, f, atol=1e-12)  # a unit flow
    # conditional choice probabilities sum to one at every node with out-arcs (not the sink)
    tails = np.argmax(B == 1, axis=0)
    sums = np.bincount(tails, r.p, minlength=B.shape[0])
    np.testing.assert_allclose(sums[:-1], 1.0, atol=1e-12)


def test_parallel_arcs_softmax_and_scale_conversion():
    B, f = incidence([(0, 1)] * 3, 2)
    mu = np.array([1.0, 0.0, -0.5])
    sigma = 1.7
    beta = float(gumbel_scale_from_std(sigma))
    assert gumbel_std_from_scale(beta) == pytest.approx(sigma)
    r = recursive_logit(B, f, mu, sigma=sigma)
    assert r.beta == pytest.approx(beta)
    e = np.exp(mu / beta)
    np.testing.assert_allclose(r.p, e / e.sum(), atol=1e-14)
    # locations: location μ is mean μ + γβ, which shifts all parallel arcs equally
    rl = recursive_logit(B, f, mu, beta, mu_is_location=True)
    np.testing.assert_allclose(rl.x, r.x, atol=1e-14)
    assert rl.V[0] == pytest.approx(r.V[0] + EULER_GAMMA * beta)
    with pytest.raises(ValueError, match="exactly one"):
        recursive_logit(B, f, mu)
    with pytest.raises(ValueError, match="common scale"):
        recursive_logit(B, f, mu, sigma=[1.0, 2.0, 1.0])


def test_sample_gumbel_moments():
    rng = np.random.default_rng(0)
    mu = np.array([0.0, 2.0, -1.0])
    beta = 0.8
    G = sample_gumbel(rng, 200_000, mu, beta)
    sd = float(gumbel_std_from_scale(beta))
    n = G.shape[0]
    assert np.all(np.abs(G.mean(axis=0) - mu) <= 3 * sd / np.sqrt(n))
    np.testing.assert_allclose(G.std(axis=0), sd, rtol=0.01)
    Gl = sample_gumbel(np.random.default_rng(0), 10, mu, beta, mu_is_location=True)
    np.testing.assert_allclose(Gl - G[:10], EULER_GAMMA * beta)


NET = incidence([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (1, 4), (0, 3), (3, 4)], 5)
NET_MU = np.array([0.5, 0.2, -0.3, 0.4, 0.1, 0.9, 0.3, -0.2, 0.6, 0.0])


def test_sequential_sampler_reproduces_recursive_logit():
    """Sequential Gumbel drivers: arc frequencies within 3 SE of x; mean utility = V(source)."""
    B, f = NET
    beta = 0.7
    r = recursive_logit(B, f, NET_MU, beta)
    n = 60_000
    X, total = sample_logit_paths(np.random.default_rng(11), n, B, f, NET_MU, beta, return_utility=True)
    np.testing.assert_allclose(X.astype(float) @ B.T, np.tile(f, (n, 1)))  # each row is a path
    freq = X.mean(axis=0)
    se = np.sqrt(r.x * (1 - r.x) / n)
    assert np.all(np.abs(freq - r.x) <= 3 * se)
    assert abs(total.mean() - r.V[0]) <= 3 * total.std() / np.sqrt(n)
    # the realised utility is the sum of the chosen arcs' utilities: chosen-path consistency
    Xr = sample_logit_paths(np.random.default_rng(11), n, B, f, NET_MU, beta, result=r)
    np.testing.assert_array_equal(Xr, X)


def test_independent_arc_gumbel_longest_path_is_not_recursive_logit():
    """i.i.d. arc Gumbels + longest path differ from recursive logit when paths share arcs.

    Three layers of two parallel arcs (8 overlapping paths) plus one direct arc, all means 0:
    recursive logit is the path MNL and gives the direct arc 1/9; with i.i.d. arc utilities the
    8 layered paths are strongly correlated and the direct arc wins about twice as often.
    """
    B, f = incidence([(0, 1), (0, 1), (1, 2), (1, 2), (2, 3), (2, 3), (0, 3)], 4)
    mu = np.zeros(7)
    beta = 1.0
    r = recursive_logit(B, f, mu, beta)
    assert r.x[6] == pytest.approx(1 / 9)
    n = 40_000
    V = sample_gumbel(np.random.default_rng(3), n, mu, beta)
    X = longest_path_choices(path_matrix(B), V)
    se = np.sqrt(r.x[6] * (1 - r.x[6]) / n)
    assert X[:, 6].mean() > 1 / 9 + 30 * se  # ≈ 0.20: far from recursive logit
    # the exact sequential sampler on the same network does reproduce 1/9
    Xs = sample_logit_paths(np.random.default_rng(3), n, B, f, mu, beta)
    assert abs(Xs[:, 6].mean() - 1 / 9) <= 3 * se
    # on parallel arcs (paths of one arc) the two models coincide
    Bp, fp = incidence([(0, 1)] * 3, 2)
    mup = np.array([0.3, 0.0, -0.4])
    rp = recursive_logit(Bp, fp, mup, beta)
    Xp = longest_path_choices(np.eye(3), sample_gumbel(np.random.default_rng(4), n, mup, beta))
    assert np.all(np.abs(Xp.mean(axis=0) - rp.x) <= 3 * np.sqrt(rp.x * (1 - rp.x) / n))

"""Tests of the inverse-optimisation calibration (models.md C1-C4): round trips and ε."""

from __future__ import annotations

import numpy as np
import pytest
from dags import incidence

from v2gsim.behavior.calibration import calibrate, duality_gap, identification, tie_map
from v2gsim.behavior.persistency import network_arrays, solve_persistency


def random_dag(rng: np.random.Generator, n: int, extra: int) -> tuple[np.ndarray, np.ndarray]:
    """Random DAG on topologically numbered nodes in which every arc is on a 0 -> n-1 path."""
    arcs = []
    for i in range(1, n - 1):
        arcs.append((int(rng.integers(0, i)), i))
        arcs.append((i, int(rng.integers(i + 1, n))))
    for _ in range(extra):
        u = int(rng.integers(0, n - 1))
        arcs.append((u, int(rng.integers(u + 1, n))))
    return incidence(arcs, n)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def test_round_trip_parallel_arcs_sigma_known_reference_200():
    """σ known, μ free, μ of the baseline arc fixed at μ̄ = 200: (μ, σ) identified."""
    B, f = incidence([(0, 1)] * 4, 2)
    mu = np.array([200.0, 195.0, 210.0, 188.0])
    sigma = np.array([10.0, 5.0, 8.0, 12.0])
    y_hat = solve_persistency(B, f, mu, sigma, method="newton").y
    ident = identification(B, f, y_hat, reference_arc=0, sigma=sigma)
    assert ident.identified and ident.consistent
    for polish in (True, False):
        c = calibrate(B, f, y_hat, reference_arc=0, reference_value=200.0, sigma=sigma, polish=polish)
        assert rel_err(c.mu, mu) < 1e-3
        assert c.epsilon < 1e-6
        assert c.polished is polish
    np.testing.assert_allclose(c.sigma, sigma)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_sigma_known_mu_fixed_on_spanning_tree(seed):
    """σ known and μ known on a spanning tree (removes the node-potential gauge)."""
    rng = np.random.default_rng(seed)
    B, f = random_dag(rng, 7, 7)
    net = network_arrays(B, f)
    m = B.shape[1]
    mu = rng.uniform(-5, 5, m)
    sigma = rng.uniform(0.5, 3.0, m)
    y_hat = solve_persistency(B, f, mu, sigma, method="newton").y
    tree = [int(np.flatnonzero(net.head == n)[0]) for n in range(B.shape[0]) if n != net.source]
    free = [a for a in range(m) if a not in tree]
    mu_map = np.eye(m)[:, free]
    mu_offset = np.where(np.isin(np.arange(m), tree), mu, 0.0)
    kw = {"mu_map": mu_map, "mu_offset": mu_offset, "sigma": sigma}
    assert identification(B, f, y_hat, **kw).identified
    c = calibrate(B, f, y_hat, **kw)
    assert rel_err(c.mu, mu) < 1e-3 and c.epsilon < 1e-6
    raw = calibrate(B, f, y_hat, polish=False, **kw)  # the SOCP alone
    assert rel_err(raw.mu, mu) < 1e-3 and raw.epsilon < 1e-6
    # the reported ε is the (C2) slack at the returned point
    assert c.epsilon == pytest.approx(max(duality_gap(B, f, y_hat, c.mu, c.sigma, c.rho), 0.0), abs=1e-12)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_round_trip_sigma_and_mu_estimated_with_ties(seed):
    """σ tied to two groups and μ on a low-dimensional map (d + 1 parameters), one reference arc."""
    rng = np.random.default_rng(seed)
    B, f = random_dag(rng, 6, 6)
    m, n = B.shape[1], B.shape[0]
    d = m - n + 1  # dimension of the flow polytope: what ŷ can identify
    sigma_map = tie_map(np.arange(m) % 2)
    mu_map = rng.normal(size=(m, d + 1 - sigma_map.shape[1]))
    mu_offset = np.full(m, 200.0)
    mu = mu_offset + mu_map @ rng.uniform(-10, 10, mu_map.shape[1])
    sigma = sigma_map @ rng.uniform(5.0, 20.0, 2)
    y_hat = solve_persistency(B, f, mu, sigma, method="newton").y
    ref = 0
    kw = {
        "mu_map": mu_map,
        "mu_offset": mu_offset,
        "sigma_map": sigma_map,
        "reference_arc": ref,
        "reference_value": mu[ref],
    }
    assert identification(B, f, y_hat, **kw).identified
    c = calibrate(B, f, y_hat, **kw)
    assert rel_err(c.mu, mu) < 1e-3 and rel_err(c.sigma, sigma) < 1e-3
    assert c.epsilon < 1e-6
    raw = calibrate(B, f, y_hat, polish=False, **kw)
    assert rel_err(raw.mu, mu) < 1e-3 and rel_err(raw.sigma, sigma) < 1e-3
    assert raw.epsilon < 1e-6
    assert np.all(c.sigma >= 0)


def test_epsilon_positive_when_no_parameters_reproduce_y_hat():
    """Arcs 0 and 1 share μ and σ, so the model forces ŷ0 = ŷ1; ŷ = (0.5, 0.2, 0.3) is not
    reproducible and ε > 0. ε is at most the duality gap of any admissible (μ, σ)."""
    B, f = incidence([(0, 1)] * 3, 2)
    y_hat = np.array([0.5, 0.2, 0.3])
    mu_map = tie_map([0, 0, 1])
    sigma = np.array([1.0, 1.0, 1.0])
    c = calibrate(B, f, y_hat, mu_map=mu_map, sigma=sigma, reference_arc=0, reference_value=2.0)
    assert not c.polished
    assert c.epsilon > 1e-3
    assert c.epsilon == pytest.approx(c.epsilon_socp, abs=1e-6)
    assert not identification(B, f, y_hat, mu_map=mu_map, sigma=sigma, reference_arc=0).consistent
    # independent check: scan the free parameter (μ of arc 2); gap = dual min - primal at ŷ
    gaps = []
    for mu2 in np.linspace(0.0, 4.0, 81):
        mu = np.array([2.0, 2.0, mu2])
        r = solve_persistency(B, f, mu, sigma, method="newton")
        gaps.append(duality_gap(B, f, y_hat, mu, sigma, r.rho))
    assert c.epsilon <= min(gaps) + 1e-7
    assert c.epsilon >= min(gaps) - 1e-3  # the grid is fine enough to be close to the optimum
    # the same ŷ is reproducible once the tie is removed
    free = calibrate(B, f, y_hat, sigma=sigma, reference_arc=0, reference_value=2.0)
    assert free.epsilon < 1e-6


def test_unidentified_default_still_gives_zero_epsilon():
    """σ and μ free per arc: every feasible ŷ is reproduced (ε = 0) but (μ, σ) is a set."""
    B, f = incidence([(0, 1), (0, 1), (1, 2), (1, 2), (0, 2)], 3)
    y_hat = np.array([0.3, 0.4, 0.5, 0.2, 0.3])
    ident = identification(B, f, y_hat, reference_arc=0)
    assert not ident.identified and ident.param_null_dim > 0
    c = calibrate(B, f, y_hat, reference_arc=0, reference_value=200.0)
    assert c.epsilon < 1e-6
    assert c.mu[0] == pytest.approx(200.0)
    # the returned (μ, σ) does reproduce ŷ through the forward model
    r = solve_persistency(B, f, c.mu, c.sigma)
    np.testing.assert_allclose(r.y, y_hat, atol=1e-3)


def test_input_validation():
    B, f = incidence([(0, 1), (0, 1)], 2)
    with pytest.raises(ValueError, match="feasible flow"):
        calibrate(B, f, [0.5, 0.6], reference_arc=0)
    with pytest.raises(ValueError, match="normalisation"):
        calibrate(B, f, [0.5, 0.5])
    with pytest.raises(ValueError, match="either"):
        calibrate(B, f, [0.5, 0.5], sigma=[1.0, 1.0], sigma_map=np.eye(2))
    np.testing.assert_array_equal(tie_map([3, 1, 3]), [[0, 1], [1, 0], [0, 1]])


@pytest.mark.parametrize("seed", [0, 6])
def test_reused_program_equals_fresh_problems(seed):
    """The cached, re-parameterized stages (program.py) give the fresh problems' answer, for
    several observations solved one after the other on the same program (data refilled)."""
    from v2gsim.behavior.calibration.program import calibration_program

    rng = np.random.default_rng(seed)
    B, f = random_dag(rng, 7, 6)
    m = B.shape[1]
    sigma = rng.uniform(0.5, 3.0, m)
    free = np.arange(0, m, 2)
    mu_map = np.eye(m)[:, free]
    for k in range(3):  # same structure, new data each time
        mu = rng.uniform(-4, 4, m)
        y_hat = solve_persistency(B, f, mu, sigma, method="newton").y
        offset = np.where(np.isin(np.arange(m), free), 0.0, mu + 0.3 * k)
        kw = {"mu_map": mu_map, "mu_offset": offset, "sigma": sigma, "polish": False}
        fast = calibrate(B, f, y_hat, reuse=True, **kw)
        ref = calibrate(B, f, y_hat, reuse=False, **kw)
        assert fast.epsilon_socp == pytest.approx(ref.epsilon_socp, abs=1e-6)
        np.testing.assert_allclose(fast.mu, ref.mu, atol=1e-5)
        np.testing.assert_allclose(fast.epsilon, ref.epsilon, atol=1e-6)
    # with a reference arc and the min-norm selection (not identified: every arc free)
    y_hat = solve_persistency(B, f, mu, sigma, method="newton").y
    kw = {"sigma": sigma, "reference_arc": 0, "reference_value": 2.0, "polish": False}
    fast, ref = calibrate(B, f, y_hat, reuse=True, **kw), calibrate(B, f, y_hat, reuse=False, **kw)
    assert fast.mu[0] == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(fast.mu, ref.mu, atol=1e-4)
    net = network_arrays(B, f)
    assert calibration_program(net, mu_map, None) is calibration_program(net, mu_map, None)

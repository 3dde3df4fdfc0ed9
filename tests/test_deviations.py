"""Tests for v2gsim.market.deviations (models.md §1.4, eq. R3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import minimize_scalar

from v2gsim.market.deviations import (
    Deviations,
    bernoulli_deviations,
    binomial_deviations,
    forward_backward,
    normal_deviations,
)


def _sup_exact(log_mgf, var: float, theta_hi: float = 60.0) -> float:
    """Sup over θ > 0 of sqrt(2 Λ(θ))/θ from an exact log-MGF: dense grid + bounded refinement.

    ``var`` is the variance, whose square root is the θ -> 0 limit of the ratio.
    """
    grid = np.geomspace(1e-3, theta_hi, 20001)
    vals = np.sqrt(2.0 * np.maximum(log_mgf(grid), 0.0)) / grid
    k = int(np.argmax(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(
        lambda t: -np.sqrt(2.0 * max(float(log_mgf(np.array([t]))[0]), 0.0)) / t,
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return max(float(vals[k]), float(-res.fun), float(np.sqrt(var)))


def _bernoulli_log_mgf(p: float, sign: float):
    """Λ(θ) of sign·(X - p), X ~ Bernoulli(p)."""
    return lambda t: np.log1p(p * np.expm1(sign * t)) - sign * t * p


# ------------------------------------------------------------------ sample estimates


def test_normal_sample_matches_sigma():
    rng = np.random.default_rng(20240501)
    sigma = 3.0
    x = 5.0 + sigma * rng.standard_normal(100_000)
    d = forward_backward(x)
    assert d.mean == pytest.approx(x.mean(), rel=1e-12)  # the sample's own mean
    assert d.sigma_f == pytest.approx(sigma, rel=0.02)
    assert d.sigma_b == pytest.approx(sigma, rel=0.02)
    assert d.std == pytest.approx(sigma, rel=0.01)
    assert d.mean == pytest.approx(5.0, abs=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_normal_sample_several_seeds(seed):
    rng = np.random.default_rng(seed)
    d = forward_backward(rng.normal(0.0, 0.5, 100_000))
    assert d.sigma_f == pytest.approx(0.5, rel=0.02)
    assert d.sigma_b == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize(
    ("y", "sf_exact", "sb_exact"), [(0.7, 0.4583, 0.4858), (0.9, 0.3000, 0.4267)]
)
def test_bernoulli_sample_matches_analytic(y, sf_exact, sb_exact):
    rng = np.random.default_rng(7)
    x = (rng.random(100_000) < y).astype(float)
    d = forward_backward(x)
    sf, sb = bernoulli_deviations(y)
    assert d.sigma_b == pytest.approx(sb, rel=0.01)
    assert d.sigma_b == pytest.approx(sb_exact, rel=0.01)
    assert d.sigma_f == pytest.approx(sf, rel=0.01)
    assert d.sigma_f == pytest.approx(sf_exact, rel=0.01)
    # the empirical distribution of a 0/1 sample is exactly Bernoulli(p_hat)
    sf_hat, sb_hat = bernoulli_deviations(x.mean())
    assert d.sigma_b == pytest.approx(sb_hat, rel=1e-6)
    assert d.sigma_f == pytest.approx(sf_hat, rel=1e-6)


def test_beta_sample_matches_exact_mgf():
    """Beta(2, 5) (the requirement model of models.md §1.7): sample vs quadrature of the MGF."""
    a, b = 2.0, 5.0
    mu = a / (a + b)

    # Gauss-Legendre on [0, 1]: the integrand exp(±θ(x - mu)) x (1-x)^4 is entire, so 200 nodes
    # are exact to rounding for the θ range used here.
    nodes, weights = np.polynomial.legendre.leggauss(200)
    x = 0.5 * (nodes + 1.0)
    wpdf = 0.5 * weights * stats.beta.pdf(x, a, b)

    def log_mgf(sign):
        return lambda thetas: np.log(np.exp(sign * np.outer(thetas, x - mu)) @ wpdf)

    assert float(np.sum(wpdf)) == pytest.approx(1.0, rel=1e-12)
    grid = np.geomspace(0.5, 40.0, 2000)
    exact_f = max(float(np.max(np.sqrt(2 * log_mgf(1.0)(grid)) / grid)), stats.beta.std(a, b))
    exact_b = max(float(np.max(np.sqrt(2 * log_mgf(-1.0)(grid)) / grid)), stats.beta.std(a, b))
    rng = np.random.default_rng(11)
    d = forward_backward(rng.beta(a, b, 100_000))
    assert exact_f > 1.05 * stats.beta.std(a, b)  # right-skewed: forward > std
    assert d.sigma_f == pytest.approx(exact_f, rel=0.015)
    assert d.sigma_b == pytest.approx(exact_b, rel=0.015)


def test_deviations_at_least_std():
    rng = np.random.default_rng(3)
    samples = [
        rng.exponential(2.0, 5_000),
        -rng.exponential(2.0, 5_000),
        rng.uniform(-1.0, 4.0, 5_000),
        rng.beta(0.5, 3.0, 5_000),
        rng.standard_normal(50),
        (rng.random(2_000) < 0.05).astype(float),
        rng.standard_t(5, 5_000),
    ]
    for x in samples:
        d = forward_backward(x)
        assert d.sigma_f >= d.std
        assert d.sigma_b >= d.std
        assert d.std == pytest.approx(np.std(x))


def test_skewness_direction():
    """An exponential sample has a long right tail: sigma_f > std, sigma_b = std (sup at θ -> 0)."""
    rng = np.random.default_rng(5)
    d = forward_backward(rng.exponential(1.0, 100_000))
    assert d.sigma_f > 1.2 * d.std
    assert d.sigma_b == pytest.approx(d.std, rel=1e-9)
    # the tail bound P(z > θ σ_f) <= exp(-θ²/2) holds on a fresh sample
    z = rng.exponential(1.0, 200_000) - 1.0
    for theta in (1.0, 2.0, 3.0):
        assert np.mean(z > theta * d.sigma_f) <= np.exp(-(theta**2) / 2)


def test_affine_equivariance():
    rng = np.random.default_rng(9)
    x = rng.gamma(2.0, 1.0, 20_000)
    d = forward_backward(x)
    d2 = forward_backward(4.0 * x + 7.0)
    assert d2.sigma_f == pytest.approx(4.0 * d.sigma_f, rel=1e-6)
    assert d2.sigma_b == pytest.approx(4.0 * d.sigma_b, rel=1e-6)
    d3 = forward_backward(-x)
    assert d3.sigma_f == pytest.approx(d.sigma_b, rel=1e-6)
    assert d3.sigma_b == pytest.approx(d.sigma_f, rel=1e-6)


def test_theta_max_override():
    rng = np.random.default_rng(4)
    x = rng.exponential(1.0, 20_000)
    small = forward_backward(x, theta_max=1e-3)
    assert small.sigma_f == pytest.approx(small.std, rel=1e-3)
    default = forward_backward(x)
    assert default.sigma_f > small.sigma_f


def test_constant_and_invalid_samples():
    assert forward_backward(np.full(10, 2.5)) == Deviations(0.0, 0.0, 0.0, 2.5)
    with pytest.raises(ValueError):
        forward_backward(np.ones((3, 3)))
    with pytest.raises(ValueError):
        forward_backward([1.0])
    with pytest.raises(ValueError):
        forward_backward([1.0, np.nan, 2.0])
    with pytest.raises(ValueError):
        forward_backward([1.0, 2.0], theta_max=0.0)


# ------------------------------------------------------------------ analytic forms


def test_bernoulli_reference_values():
    sf, sb = bernoulli_deviations(0.7)
    assert round(sb, 4) == 0.4858
    assert round(sf, 4) == round(np.sqrt(0.21), 4) == 0.4583
    sf, sb = bernoulli_deviations(0.9)
    assert round(sb, 4) == 0.4267
    assert round(sf, 4) == 0.3000


def test_bernoulli_backward_is_std_below_half():
    y = np.linspace(0.0, 0.5, 51)
    _, sb = bernoulli_deviations(y)
    np.testing.assert_allclose(sb, np.sqrt(y * (1 - y)), rtol=1e-12, atol=1e-15)
    y = np.linspace(0.51, 0.99, 49)
    _, sb = bernoulli_deviations(y)
    assert np.all(sb > np.sqrt(y * (1 - y)))


@pytest.mark.parametrize("p", [0.001, 0.01, 0.1, 0.3, 0.45, 0.499, 0.5, 0.6, 0.9, 0.999])
def test_bernoulli_closed_form_vs_numeric_sup(p):
    sf, sb = bernoulli_deviations(p)
    assert sf == pytest.approx(_sup_exact(_bernoulli_log_mgf(p, 1.0), p * (1 - p)), rel=1e-6)
    assert sb == pytest.approx(_sup_exact(_bernoulli_log_mgf(p, -1.0), p * (1 - p)), rel=1e-6)


def test_bernoulli_symmetry_and_vectorisation():
    p = np.linspace(0.0, 1.0, 101)
    sf, sb = bernoulli_deviations(p)
    sf_m, sb_m = bernoulli_deviations(1.0 - p)
    np.testing.assert_allclose(sf, sb_m, rtol=1e-12)
    np.testing.assert_allclose(sb, sf_m, rtol=1e-12)
    assert sf.shape == p.shape
    assert np.all(sf >= np.sqrt(p * (1 - p)) - 1e-15)
    sf2, _ = bernoulli_deviations(p.reshape(101, 1))
    assert sf2.shape == (101, 1)
    assert bernoulli_deviations(0.0) == (0.0, 0.0)
    assert bernoulli_deviations(0.5) == (0.5, 0.5)
    with pytest.raises(ValueError):
        bernoulli_deviations(1.2)


def test_binomial_is_sqrt_m_times_bernoulli_and_exact():
    M, p = 20, 0.2
    sf, sb = binomial_deviations(M, p)
    bf, bb = bernoulli_deviations(p)
    assert sf == pytest.approx(np.sqrt(M) * bf)
    assert sb == pytest.approx(np.sqrt(M) * bb)
    k = np.arange(M + 1)
    pmf = stats.binom.pmf(k, M, p)

    def log_mgf(sign):
        return lambda t: np.log1p(np.expm1(sign * np.outer(t, k - M * p)) @ pmf)

    assert sf == pytest.approx(_sup_exact(log_mgf(1.0), M * p * (1 - p), theta_hi=10.0), rel=1e-6)
    assert sb == pytest.approx(_sup_exact(log_mgf(-1.0), M * p * (1 - p), theta_hi=10.0), rel=1e-6)
    sfv, sbv = binomial_deviations(np.array([100, 200]), np.array([0.3, 0.7]))
    np.testing.assert_allclose(
        sfv, np.sqrt([100, 200]) * np.array(bernoulli_deviations([0.3, 0.7])[0])
    )
    np.testing.assert_allclose(
        sbv, np.sqrt([100, 200]) * np.array(bernoulli_deviations([0.3, 0.7])[1])
    )
    with pytest.raises(ValueError):
        binomial_deviations(-1, 0.5)


def test_normal_deviations():
    assert normal_deviations(1.5) == (1.5, 1.5)
    sf, sb = normal_deviations(np.array([0.0, 2.0]))
    np.testing.assert_array_equal(sf, [0.0, 2.0])
    np.testing.assert_array_equal(sb, [0.0, 2.0])
    with pytest.raises(ValueError):
        normal_deviations(-1.0)

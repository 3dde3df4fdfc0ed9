"""Tests for v2gsim.optimize.chance.bounds: bounds (3) and (4) of models.md §1.4 and their cvxpy forms."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import brentq

from v2gsim.market.deviations import bernoulli_deviations, forward_backward
from v2gsim.optimize.chance.bounds import (
    bound3_lhs,
    bound4_lhs,
    bound_lhs,
    kappa,
    kappa_backward,
    kappa_forward,
    max_bid,
    no_bid_threshold,
    plugin_moments,
)
from v2gsim.optimize.chance.cones import bound3_constraint, bound4_constraint

M, PSI = 200, 10.0  # models.md §1.6/§1.7 toy: 200 EVs, 10 kW chargers


@pytest.fixture(scope="module")
def requirement():
    """r̃ ~ Beta(2, 5) (models.md §1.7) and its deviations estimated from a sample."""
    rng = np.random.default_rng(2024)
    return forward_backward(rng.beta(2.0, 5.0, 100_000))


def _empirical_cvar(loss: np.ndarray, eta: float) -> float:
    """Rockafellar-Uryasev CVaR_{1-η} of a sampled loss (models.md R2)."""
    a = float(np.quantile(loss, 1.0 - eta))
    return a + float(np.mean(np.maximum(loss - a, 0.0))) / eta


# ------------------------------------------------------------------ multipliers


def test_kappa_reference_values():
    assert kappa_forward(0.05) == pytest.approx(2.448, abs=5e-4)
    assert kappa_backward(0.05) == pytest.approx(6.086, abs=5e-4)
    assert kappa_forward(0.25) == pytest.approx(1.665, abs=5e-4)
    assert kappa_backward(0.25) == pytest.approx(2.276, abs=5e-4)
    assert kappa_forward(0.5) == pytest.approx(kappa_backward(0.5), rel=1e-12)
    assert kappa(0.05, 3) == kappa_forward(0.05)
    assert kappa(0.05, 4) == kappa_backward(0.05)


def test_kappa_ordering_and_errors():
    eta = np.linspace(0.01, 0.49, 49)
    assert np.all(kappa_forward(eta) < kappa_backward(eta))
    eta = np.linspace(0.51, 0.99, 49)
    assert np.all(kappa_forward(eta) > kappa_backward(eta))
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError):
            kappa_forward(bad)
    with pytest.raises(ValueError):
        kappa(0.1, 5)


# ------------------------------------------------------------------ left sides and closed-form bid


def test_bound_lhs_formula():
    C, y, rb, sf, sb, eta = 500.0, 0.35, 0.3, 0.18, 0.16, 0.1
    k3, k4 = kappa_forward(eta), kappa_backward(eta)
    expect3 = rb * C - PSI * M * y + k3 * np.sqrt(PSI**2 * M * y * (1 - y) + (sf * C) ** 2)
    expect4 = rb * C - PSI * M * y + k4 * np.sqrt(PSI**2 * M * y * (1 - y) + (sb * C) ** 2)
    assert bound3_lhs(C, y, M, PSI, rb, sf, eta) == pytest.approx(expect3, rel=1e-12)
    assert bound4_lhs(C, y, M, PSI, rb, sb, eta) == pytest.approx(expect4, rel=1e-12)
    assert bound_lhs(C, y, M, PSI, rb, sf, eta, bound=3) == bound3_lhs(C, y, M, PSI, rb, sf, eta)


def test_bernoulli_k_dev_switch():
    """(3) uses σ_b(y)², (4) uses σ_f(y)²: equal to y(1-y) on the side where each is rigorous."""
    low, high = np.array([0.1, 0.3, 0.5]), np.array([0.6, 0.8, 0.95])
    args = (400.0, M, PSI, 0.3, 0.2, 0.05)

    def lhs3(y, kd):
        return bound3_lhs(args[0], y, *args[1:], k_dev=kd)

    def lhs4(y, kd):
        return bound4_lhs(args[0], y, *args[1:], k_dev=kd)

    np.testing.assert_allclose(lhs3(low, "bernoulli"), lhs3(low, None), rtol=1e-12)
    assert np.all(lhs3(high, "bernoulli") > lhs3(high, None))
    np.testing.assert_allclose(lhs4(high, "bernoulli"), lhs4(high, None), rtol=1e-12)
    assert np.all(lhs4(low[:2], "bernoulli") > lhs4(low[:2], None))
    _, dev_sq = plugin_moments(0.8, M, bound=3, k_dev="bernoulli")
    assert dev_sq == pytest.approx(M * bernoulli_deviations(0.8)[1] ** 2)
    with pytest.raises(ValueError):
        plugin_moments(0.5, M, k_dev="exact")


def test_max_bid_is_the_boundary_vectorised():
    rng = np.random.default_rng(1)
    T = 24
    y = rng.uniform(0.3, 0.98, T)  # above every no-bid threshold used here
    rb = rng.uniform(0.0, 0.5, T)
    sg = rng.uniform(0.0, 0.3, T)
    rb[0], sg[1] = 0.0, 0.0  # r̄ = 0 and σ = 0 are both finite cases
    for bound in (3, 4):
        for kd in (None, "bernoulli"):
            c = max_bid(y, M, PSI, rb, sg, 0.05, bound=bound, k_dev=kd)
            assert c.shape == (T,)
            assert np.all(np.isfinite(c)) and np.all(c > 0)
            lhs = bound_lhs(c, y, M, PSI, rb, sg, 0.05, bound=bound, k_dev=kd)
            np.testing.assert_allclose(lhs, 0.0, atol=1e-9 * PSI * M)
            assert np.all(
                bound_lhs(c * (1 + 1e-6), y, M, PSI, rb, sg, 0.05, bound=bound, k_dev=kd) > 0
            )
            for t in range(0, T, 5):
                root = brentq(
                    lambda C, t=t, bound=bound, kd=kd: bound_lhs(
                        C, y[t], M, PSI, rb[t], sg[t], 0.05, bound=bound, k_dev=kd
                    ),
                    0.0,
                    1e7,
                    xtol=1e-10,
                )
                assert c[t] == pytest.approx(root, rel=1e-8)


def test_max_bid_bound4_smaller_below_half(requirement):
    d = requirement
    y = np.linspace(0.1, 0.95, 18)
    for eta in (0.01, 0.05, 0.1, 0.25, 0.4):
        c3 = max_bid(y, M, PSI, d.mean, d.sigma_f, eta, bound=3)
        c4 = max_bid(y, M, PSI, d.mean, d.sigma_b, eta, bound=4)
        pos = c3 > 0
        assert np.all(c4[pos] < c3[pos])


def test_no_bid_rule():
    eta = 0.05
    k2 = kappa_forward(eta) ** 2
    thr = no_bid_threshold(M, eta)
    assert thr == pytest.approx(k2 / (M + k2))
    assert thr == pytest.approx(0.02909, abs=1e-5)
    y = np.array([0.0, 0.5 * thr, 0.99 * thr, 1.01 * thr, 0.2])
    c = max_bid(y, M, PSI, 0.3, 0.2, eta)
    np.testing.assert_array_equal(c[:3], 0.0)
    assert np.all(c[3:] > 0)
    # at the threshold C = 0 is exactly on the bound; below it C = 0 already violates it
    assert bound3_lhs(0.0, thr, M, PSI, 0.3, 0.2, eta) == pytest.approx(0.0, abs=1e-9)
    assert np.all(bound3_lhs(0.0, y[1:3], M, PSI, 0.3, 0.2, eta) > 0)
    # bound (4) has a larger multiplier, hence a larger threshold
    assert no_bid_threshold(M, eta, bound=4) > thr
    # a requirement with no mean and no spread admits any bid
    assert max_bid(0.5, M, PSI, 0.0, 0.0, eta) == np.inf
    assert max_bid(0.001, M, PSI, 0.0, 0.0, eta) == 0.0


def test_mixture_of_clusters():
    rb, sg, eta = 0.3, 0.2, 0.05
    same = max_bid(np.array([0.4, 0.4]), np.array([120, 80]), PSI, rb, sg, eta)
    assert same == pytest.approx(max_bid(0.4, M, PSI, rb, sg, eta), rel=1e-12)
    y = np.array([[0.2, 0.9], [0.6, 0.3], [0.01, 0.02]])  # hours x clusters
    Mc = np.array([150.0, 50.0])
    mean, dev_sq = plugin_moments(y, Mc)
    np.testing.assert_allclose(mean, y @ Mc)
    np.testing.assert_allclose(dev_sq, (y * (1 - y)) @ Mc)
    c = max_bid(y, Mc, PSI, rb, sg, eta)
    assert c.shape == (3,) and c[2] == 0.0
    for t in range(2):
        lhs = bound3_lhs(c[t], y[t], Mc, PSI, rb, sg, eta)
        assert lhs == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError):
        plugin_moments(np.array([0.2, 0.3, 0.4]), Mc)


# ------------------------------------------------------------------ Monte Carlo acceptance


@pytest.mark.parametrize("eta", [0.05, 0.1])
@pytest.mark.parametrize("y", [0.3, 0.5, 0.8])
def test_monte_carlo_guarantee(requirement, y, eta):
    d = requirement
    c3 = max_bid(y, M, PSI, d.mean, d.sigma_f, eta, bound=3)
    c4 = max_bid(y, M, PSI, d.mean, d.sigma_b, eta, bound=4)
    c3x = max_bid(y, M, PSI, d.mean, d.sigma_f, eta, bound=3, k_dev="bernoulli")
    c4x = max_bid(y, M, PSI, d.mean, d.sigma_b, eta, bound=4, k_dev="bernoulli")
    assert 0 < c4 < c3
    assert c3x <= c3 and c4x <= c4
    rng = np.random.default_rng([int(100 * y), int(100 * eta)])
    n = 200_000
    K = rng.binomial(M, y, n)
    r = rng.beta(2.0, 5.0, n)
    for c in (c3, c4, c3x, c4x):
        covered = np.mean(PSI * K >= r * c)
        assert covered >= 1 - eta
    # the bounds come from CVaR bounds (R4): the sampled CVaR of the loss is <= 0 as well
    for c in (c3, c4, c3x, c4x):
        assert _empirical_cvar(r * c - PSI * K, eta) <= 0.0
    # bids are not vacuous: doubling the (3) bid breaks the guarantee
    assert np.mean(PSI * K >= r * 2 * c3) < 1 - eta


# ------------------------------------------------------------------ cvxpy builders


def _hours():
    y = np.array([0.01, 0.15, 0.3, 0.55, 0.8, 0.95])
    rb = np.array([0.30, 0.25, 0.28, 0.31, 0.20, 0.27])
    sg = np.array([0.18, 0.15, 0.20, 0.17, 0.10, 0.22])
    p = np.array([30.0, 25.0, 40.0, 55.0, 35.0, 20.0])  # $/kW/h
    return y, rb, sg, p


@pytest.mark.parametrize(
    ("bound", "k_dev"), [(3, None), (4, None), (3, "bernoulli"), (4, "bernoulli")]
)
def test_cvxpy_constant_y_matches_closed_form(bound, k_dev):
    y, rb, sg, p = _hours()
    T = y.size
    C = cp.Variable(T)
    r_par = cp.Parameter(T, nonneg=True, value=rb)
    s_par = cp.Parameter(T, nonneg=True, value=sg)
    build = bound3_constraint if bound == 3 else bound4_constraint
    key = "sigma_f" if bound == 3 else "sigma_b"
    cb = build(C, y, M=M, psi=PSI, r_bar=r_par, eta=0.05, k_dev=k_dev, no_bid=True, **{key: s_par})
    prob = cp.Problem(cp.Maximize(p @ C), cb.constraints)
    assert prob.is_dpp()
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == cp.OPTIMAL
    c_star = max_bid(y, M, PSI, rb, sg, 0.05, bound=bound, k_dev=k_dev)
    assert c_star[0] == 0.0  # the quiet hour
    assert prob.value == pytest.approx(p @ c_star, rel=1e-6)
    np.testing.assert_allclose(C.value, c_star, rtol=1e-5, atol=1e-4)
    # re-parameterise (DPP): new persistencies and requirement statistics, same problem object
    y2, rb2, sg2 = np.roll(y, 2), 1.1 * rb, 0.9 * sg
    cb.set_y(y2)
    r_par.value, s_par.value = rb2, sg2
    prob.solve(solver=cp.CLARABEL)
    c2 = max_bid(y2, M, PSI, rb2, sg2, 0.05, bound=bound, k_dev=k_dev)
    assert prob.value == pytest.approx(p @ c2, rel=1e-6)


def test_cvxpy_constant_y_clusters_and_parameter_y():
    Mc = np.array([120.0, 80.0])
    y = np.array([[0.2, 0.6], [0.7, 0.4], [0.01, 0.01]])
    rb, sg = np.array([0.3, 0.25, 0.3]), np.array([0.2, 0.15, 0.2])
    p = np.array([1.0, 2.0, 3.0])
    y_par = cp.Parameter(y.shape, nonneg=True, value=y)
    C = cp.Variable(3)
    cb = bound3_constraint(C, y_par, M=Mc, psi=PSI, r_bar=rb, sigma_f=sg, eta=0.1, no_bid=True)
    prob = cp.Problem(cp.Maximize(p @ C), cb.constraints)
    assert prob.is_dpp()
    prob.solve(solver=cp.CLARABEL)
    c_star = max_bid(y, Mc, PSI, rb, sg, 0.1)
    assert c_star[2] == 0.0
    assert prob.value == pytest.approx(p @ c_star, rel=1e-6)
    cb.set_y(y[::-1])
    prob.solve(solver=cp.CLARABEL)
    assert prob.value == pytest.approx(p @ max_bid(y[::-1], Mc, PSI, rb, sg, 0.1), rel=1e-6)
    np.testing.assert_array_equal(y_par.value, y[::-1])


def test_quiet_hour_needs_the_no_bid_switch():
    """y below κ²/(M+κ²): max_bid is 0, and only the switched models stay feasible (C = 0)."""
    eta = 0.05
    y_q = 0.5 * no_bid_threshold(M, eta)
    y = np.array([y_q, 0.4])
    rb, sg = np.array([0.3, 0.3]), np.array([0.2, 0.2])
    c_star = max_bid(y, M, PSI, rb, sg, eta)
    assert c_star[0] == 0.0 and c_star[1] > 0
    p = np.array([10.0, 10.0])

    # constant y: without the switch even C = 0 violates the bound; with it the SOCP is feasible
    C = cp.Variable(2)
    plain = bound3_constraint(C, y, M=M, psi=PSI, r_bar=rb, sigma_f=sg, eta=eta)
    prob = cp.Problem(cp.Maximize(p @ C), plain.constraints)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
    switched = bound3_constraint(C, y, M=M, psi=PSI, r_bar=rb, sigma_f=sg, eta=eta, no_bid=True)
    prob = cp.Problem(cp.Maximize(p @ C), switched.constraints)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == cp.OPTIMAL
    np.testing.assert_allclose(C.value, c_star, atol=1e-4)

    # variable y (pinned as the follower model would, w = sqrt(y(1-y)) as (S1) enforces)
    Cv, yv, wv = cp.Variable(2), cp.Variable(2), cp.Variable(2)
    pin = [yv == y, wv == np.sqrt(y * (1 - y))]
    plain = bound3_constraint(Cv, yv, M=M, psi=PSI, r_bar=rb, sigma_f=sg, eta=eta, w=wv)
    prob = cp.Problem(cp.Maximize(p @ Cv), plain.constraints + pin)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
    sw = bound3_constraint(Cv, yv, M=M, psi=PSI, r_bar=rb, sigma_f=sg, eta=eta, w=wv, no_bid=True)
    prob = cp.Problem(cp.Maximize(p @ Cv), sw.constraints + pin)
    prob.solve(solver=cp.SCIP)
    assert prob.status == cp.OPTIMAL
    np.testing.assert_allclose(Cv.value, c_star, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sw.b.value, [0.0, 1.0], atol=1e-6)


def test_cvxpy_variable_y_clusters_no_bid_matches_closed_form():
    eta = 0.1
    Mc = np.array([150.0, 50.0])
    y = np.array([[0.005, 0.01], [0.3, 0.7], [0.9, 0.2]])
    rb, sg = np.array([0.3, 0.25, 0.2]), np.array([0.2, 0.15, 0.25])
    p = np.array([5.0, 3.0, 4.0])
    C, yv, wv = cp.Variable(3), cp.Variable((3, 2)), cp.Variable((3, 2))
    cb = bound4_constraint(C, yv, M=Mc, psi=PSI, r_bar=rb, sigma_b=sg, eta=eta, w=wv, no_bid=True)
    pin = [yv == y, wv == np.sqrt(y * (1 - y))]
    prob = cp.Problem(cp.Maximize(p @ C), cb.constraints + pin)
    prob.solve(solver=cp.SCIP)
    c_star = max_bid(y, Mc, PSI, rb, sg, eta, bound=4)
    assert c_star[0] == 0.0
    assert prob.status == cp.OPTIMAL
    assert prob.value == pytest.approx(p @ c_star, rel=1e-5)


def test_variable_y_with_free_w_is_only_a_relaxation():
    """Documented caveat: the bound is increasing in w, so an unpinned w drops and bids grow."""
    y0, rb, sg, eta = 0.4, 0.3, 0.2, 0.05
    C, yv, wv = cp.Variable(), cp.Variable(), cp.Variable()
    cb = bound3_constraint(C, yv, M=M, psi=PSI, r_bar=rb, sigma_f=sg, eta=eta, w=wv)
    prob = cp.Problem(cp.Maximize(C), [*cb.constraints, yv == y0])
    prob.solve(solver=cp.CLARABEL)
    assert C.value > 1.01 * max_bid(y0, M, PSI, rb, sg, eta)
    prob = cp.Problem(cp.Maximize(C), [*cb.constraints, yv == y0, wv == np.sqrt(y0 * (1 - y0))])
    prob.solve(solver=cp.CLARABEL)
    assert C.value == pytest.approx(max_bid(y0, M, PSI, rb, sg, eta), rel=1e-6)


def test_builder_errors():
    C, yv = cp.Variable(3), cp.Variable(3)
    kw = {"M": M, "psi": PSI, "r_bar": 0.3, "sigma_f": 0.2, "eta": 0.05}
    with pytest.raises(ValueError, match="deviation variable"):
        bound3_constraint(C, yv, **kw)
    with pytest.raises(ValueError, match="constant y"):
        bound3_constraint(C, yv, w=cp.Variable(3), k_dev="bernoulli", **kw)
    with pytest.raises(ValueError):
        bound3_constraint(C, np.array([0.2, 0.3]), **kw)
    cb = bound3_constraint(C, yv, w=cp.Variable(3), **kw)
    with pytest.raises(ValueError, match="constant y"):
        cb.set_y([0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        max_bid(0.5, M, PSI, -0.1, 0.2, 0.05)

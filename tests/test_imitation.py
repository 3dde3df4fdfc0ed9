"""Tests of v2gsim.game.imitation (driver strategy revision, seed 001, models.md §2).

References: hand-computed payoffs (4), (5); the exact expected one-step change obtained by an
independent enumeration over (driver, partner) pairs; Monte Carlo of the vectorised step; the
closed form rate/D * M/(M-1) * xdot of (7); evolutionary.replicator_step and trajectory().
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2gsim.game.imitation import (
    fermi_imitation,
    fermi_switch_probability,
    imitation_step,
    initial_strategies,
    proportional_imitation,
    proportional_switch_probability,
)
from v2gsim.game.mean_field import (
    expected_share_change,
    mean_field_map,
    mean_field_trajectory,
    replicator_dt_per_day,
)
from v2gsim.game.params import GameParams
from v2gsim.game.payoffs import payoff_ev_coop, payoff_ev_noncoop
from v2gsim.game.realized_payoffs import payoff_gap_bound, realized_ev_payoffs, sample_pg_actions
from v2gsim.game.replicator import replicator_step, trajectory, xdot
from v2gsim.game.simulation import simulate_imitation_game

P = GameParams.lin2020()  # p_d = 1.3, L_EV = L_PG = 1
S_EV2 = 0.5374 - 20 * 0.2856 - 20 * 0.41  # (5) = -13.3746
S_EV1_Y1 = 0.5374 + 20 * 1.3 - 20 * 0.2856 - 40 * 0.41  # (4) at y = 1 = 4.4254
S_EV1_Y0 = S_EV2 - 1.0  # (4) at y = 0 = -14.3746


# ------------------------------------------------------------------------------ payoffs


def test_realized_payoffs_hand_values() -> None:
    s = np.array([True, True, False, False])
    assert np.allclose(realized_ev_payoffs(s, True, P), [S_EV1_Y1, S_EV1_Y1, S_EV2, S_EV2])
    assert np.allclose(realized_ev_payoffs(s, False, P), [S_EV1_Y0, S_EV1_Y0, S_EV2, S_EV2])
    # matched: one PG action per driver; consistent with (4) at y in {0, 1} and (5)
    pg = np.array([True, False, True, False])
    out = realized_ev_payoffs(s, pg, P)
    assert np.allclose(out, [payoff_ev_coop(1.0, P), payoff_ev_coop(0.0, P),
                             payoff_ev_noncoop(1.0, P), payoff_ev_noncoop(0.0, P)])
    assert math.isclose(S_EV1_Y1, 4.4254, abs_tol=1e-12)
    # price override (one price per replication, broadcast)
    out2 = realized_ev_payoffs(np.ones((2, 3), bool), True, P, p_d=np.array([[1.0], [1.5]]))
    assert np.allclose(out2[:, 0], [S_EV2 + 20 * (1.0 - 0.41), S_EV2 + 20 * (1.5 - 0.41)])


def test_realized_payoffs_noise() -> None:
    rng = np.random.default_rng(0)
    s = np.zeros(200_000, bool)
    out = realized_ev_payoffs(s, True, P, rng, noise_sd=2.0)
    assert abs(out.mean() - S_EV2) < 4 * 2.0 / math.sqrt(s.size)
    assert abs(out.std() - 2.0) < 0.02
    with pytest.raises(ValueError, match="rng"):
        realized_ev_payoffs(s, True, P, noise_sd=1.0)


def test_payoff_gap_bound() -> None:
    assert math.isclose(payoff_gap_bound(P), 20 * (1.3 - 0.41))
    assert math.isclose(payoff_gap_bound(P, [1.0, 1.6]), 20 * (1.6 - 0.41))
    assert math.isclose(payoff_gap_bound(P.replace(L_EV=30.0)), 30.0)
    assert math.isclose(payoff_gap_bound(P, [0.2]), 20 * 0.21)  # |E_d (p - L_B)| below L_B
    with pytest.raises(ValueError):
        payoff_gap_bound(P.replace(L_EV=0.0, p_d=0.41))


def test_sample_pg_actions_frequency() -> None:
    rng = np.random.default_rng(1)
    a = sample_pg_actions(0.3, rng, size=100_000)
    assert a.dtype == bool and abs(a.mean() - 0.3) < 4 * math.sqrt(0.21 / 1e5)
    assert sample_pg_actions(np.array([0.0, 1.0]), rng).tolist() == [False, True]


# ------------------------------------------------------------------------------ rules


def test_switch_probabilities() -> None:
    d = np.array([-5.0, 0.0, 2.0, 20.0])
    assert np.allclose(proportional_switch_probability(d, 10.0), [0.0, 0.0, 0.2, 1.0])
    f = fermi_switch_probability(d, 0.5)
    assert np.allclose(f, 1.0 / (1.0 + np.exp(-0.5 * d)))
    assert math.isclose(float(fermi_switch_probability(0.0, 3.0)), 0.5)
    assert np.allclose(f + fermi_switch_probability(-d, 0.5), 1.0)
    assert np.all(np.isfinite(fermi_switch_probability(np.array([-1e6, 1e6]), 10.0)))
    with pytest.raises(ValueError):
        proportional_switch_probability(d, 0.0)


def _enumerated(s: np.ndarray, pi: np.ndarray, rate: float, prob) -> np.ndarray:
    """Independent reference: per-driver probability of switching, by explicit enumeration."""
    m = s.size
    out = np.zeros(m)
    for i in range(m):
        for j in range(m):
            if j != i and s[j] != s[i]:
                out[i] += rate / (m - 1) * float(prob(pi[j] - pi[i]))
    return out


@pytest.mark.parametrize("rule", ["proportional", "fermi"])
def test_one_step_expectation_enumeration_vs_monte_carlo(rule: str) -> None:
    rng = np.random.default_rng(2)
    s = np.array([True, False, True, False, False])
    pi = np.array([3.0, -1.0, 0.5, 2.0, -4.0])  # heterogeneous realized payoffs (yuan)
    rate, d_max, beta = 0.7, 8.0, 0.4
    prob = ((lambda z: proportional_switch_probability(z, d_max)) if rule == "proportional"
            else (lambda z: fermi_switch_probability(z, beta)))
    p_switch = _enumerated(s, pi, rate, prob)
    r = 400_000
    new = imitation_step(np.broadcast_to(s, (r, 5)), np.broadcast_to(pi, (r, 5)), rule, rate, rng,
                         delta_max=d_max, beta=beta)
    freq = (new != s).mean(axis=0)
    se = np.sqrt(p_switch * (1 - p_switch) / r) + 1e-12
    assert np.all(np.abs(freq - p_switch) < 5 * se)
    # expected change of the number of cooperators
    exp_dn = float(np.sum(np.where(s, -p_switch, p_switch)))
    dn = new.sum(axis=1) - s.sum()
    assert abs(dn.mean() - exp_dn) < 5 * dn.std() / math.sqrt(r)


@pytest.mark.parametrize("rule", ["proportional", "fermi"])
def test_homogeneous_closed_form(rule: str) -> None:
    """Equal payoffs within each strategy: E[dN_C] = rate N_C N_D/(M-1) g(pi_C - pi_D)."""
    s = np.array([True, True, False, False, False, False])
    pi = np.where(s, S_EV1_Y1, S_EV2)
    rate, d_max, beta = 0.3, payoff_gap_bound(P), 0.05
    prob = ((lambda z: proportional_switch_probability(z, d_max)) if rule == "proportional"
            else (lambda z: fermi_switch_probability(z, beta)))
    p_switch = _enumerated(s, pi, rate, prob)
    exp_dn = float(np.sum(np.where(s, -p_switch, p_switch)))
    z = S_EV1_Y1 - S_EV2
    g = z / d_max if rule == "proportional" else math.tanh(beta * z / 2)
    assert math.isclose(exp_dn, rate * 2 * 4 / 5 * g, rel_tol=1e-12)
    # and expected_share_change with y = 1 (PG cooperates) gives the same per-capita change
    dx = expected_share_change(2 / 6, 1.0, P, rule, rate, delta_max=d_max, beta=beta, m=6)
    assert math.isclose(float(dx), exp_dn / 6, rel_tol=1e-12)


def test_proportional_drift_is_replicator_step() -> None:
    d_max = payoff_gap_bound(P)
    x, y = np.linspace(0.05, 0.95, 7), np.linspace(0.0, 1.0, 7)
    dx = expected_share_change(x, y, P, "proportional", 0.4, delta_max=d_max, m=50)
    assert np.allclose(dx, 0.4 / d_max * 50 / 49 * xdot(x, y, P), rtol=1e-12, atol=1e-15)
    assert math.isclose(replicator_dt_per_day("proportional", 0.4, delta_max=d_max), 0.4 / 17.8)


def test_fermi_drift_closed_form_and_small_beta_limit() -> None:
    x, y, rate = 0.3, 0.6, 0.5
    a = P.E_d * (P.p_d - P.L_B) + P.L_EV
    for beta in (1.0, 0.1):
        got = float(expected_share_change(x, y, P, "fermi", rate, beta=beta))
        ref = rate * x * (1 - x) * (y * math.tanh(beta * (a - 1) / 2) - (1 - y) * math.tanh(beta / 2))
        assert math.isclose(got, ref, rel_tol=1e-12)
    # beta -> 0: drift / (rate beta / 2) -> xdot of (7); error ~ beta^2 Z^2 / 12
    errs = []
    for beta in (1e-2, 1e-3):
        dt = replicator_dt_per_day("fermi", rate, beta=beta)
        errs.append(abs(float(expected_share_change(x, y, P, "fermi", rate, beta=beta)) / dt
                        - float(xdot(x, y, P))))
    assert errs[1] < errs[0] / 50 and errs[1] < 1e-3


def test_noise_drift_closed_form_monte_carlo() -> None:
    """Expected change with idiosyncratic noise (clipped proportional, Fermi by quadrature) vs MC
    of the whole stochastic day: matched PG draws, noisy payoffs, revision."""
    rng = np.random.default_rng(3)
    m, r, y, rate, noise = 8, 300_000, 0.4, 0.8, 6.0
    s0 = np.zeros((r, m), bool)
    s0[:, :3] = True
    d_max = payoff_gap_bound(P)
    for rule, kw in (("proportional", {"delta_max": d_max}), ("fermi", {"beta": 0.1})):
        pg = sample_pg_actions(y, rng, size=s0.shape)
        pi = realized_ev_payoffs(s0, pg, P, rng, noise_sd=noise)
        dx = imitation_step(s0, pi, rule, rate, rng, **kw).mean(axis=1) - 3 / m
        ref = float(expected_share_change(3 / m, y, P, rule, rate, m=m, noise_sd=noise, **kw))
        assert abs(dx.mean() - ref) < 5 * dx.std() / math.sqrt(r)
        no_noise = float(expected_share_change(3 / m, y, P, rule, rate, m=m, **kw))
        assert abs(ref - no_noise) > 10 * dx.std() / math.sqrt(r)  # the noise matters here


def test_noise_leaves_linear_drift_unchanged_within_bound() -> None:
    """z+ - (-z)+ = z: symmetric noise does not change the proportional drift while |Z| <= D."""
    big_d = 1000.0
    a = expected_share_change(0.3, 0.7, P, "proportional", 1.0, delta_max=big_d, noise_sd=5.0)
    b = expected_share_change(0.3, 0.7, P, "proportional", 1.0, delta_max=big_d)
    assert math.isclose(float(a), float(b), rel_tol=1e-12)


def test_common_pg_draw_has_same_expectation() -> None:
    rng = np.random.default_rng(4)
    m, r, y, rate = 6, 300_000, 0.3, 1.0
    s0 = np.zeros((r, m), bool)
    s0[:, :2] = True
    d_max = payoff_gap_bound(P)
    pg = sample_pg_actions(y, rng, size=(r, 1))  # one action per population and day
    dx = proportional_imitation(s0, realized_ev_payoffs(s0, pg, P), rate, d_max, rng).mean(1) - 2 / 6
    ref = float(expected_share_change(2 / 6, y, P, "proportional", rate, delta_max=d_max, m=m))
    assert abs(dx.mean() - ref) < 5 * dx.std() / math.sqrt(r)


# ------------------------------------------------------------------------------ helpers


def test_initial_strategies() -> None:
    rng = np.random.default_rng(5)
    s = initial_strategies(100, 0.37, rng, batch=(4,))
    assert s.shape == (4, 100) and np.all(s.sum(axis=1) == 37)
    assert not np.all(s[0] == s[1])  # shuffled independently
    b = initial_strategies(100_000, 0.2, rng, exact=False)
    assert abs(b.mean() - 0.2) < 0.006


def test_validation_errors() -> None:
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="same shape"):
        proportional_imitation(np.ones(3, bool), np.ones(4), 0.5, 1.0, rng)
    with pytest.raises(ValueError, match="rate"):
        fermi_imitation(np.ones(3, bool), np.ones(3), 1.5, 1.0, rng)
    with pytest.raises(ValueError, match="unknown"):
        imitation_step(np.ones(3, bool), np.ones(3), "moran", 0.5, rng)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delta_max"):
        imitation_step(np.ones(3, bool), np.ones(3), "proportional", 0.5, rng)


def test_no_revision_when_rate_zero_or_monomorphic() -> None:
    rng = np.random.default_rng(7)
    s = np.array([True, False, True, False])
    pi = np.array([10.0, -10.0, 10.0, -10.0])
    assert np.array_equal(fermi_imitation(s, pi, 0.0, 1.0, rng), s)
    allc = np.ones(50, bool)
    assert np.array_equal(proportional_imitation(allc, -np.arange(50.0), 1.0, 100.0, rng), allc)


# ------------------------------------------------------------------------------ mean field


def test_mean_field_map_equals_replicator_step() -> None:
    d_max, rate = payoff_gap_bound(P), 0.5
    xs, ys = mean_field_map(P, 0.3, 0.2, 50, "proportional", rate, delta_max=d_max)
    x, y = 0.3, 0.2
    for n in range(50):
        x, y = replicator_step(x, y, P, rate / d_max)
        assert math.isclose(xs[n + 1], float(x), abs_tol=1e-13)
        assert math.isclose(ys[n + 1], float(y), abs_tol=1e-13)


def test_mean_field_trajectory_equals_trajectory() -> None:
    d_max, rate = payoff_gap_bound(P), 0.25
    days = np.arange(0, 201, 10)
    xm, ym = mean_field_trajectory(P, 0.3, 0.2, days, "proportional", rate, delta_max=d_max)
    xo, yo = trajectory(P, 0.3, 0.2, days * rate / d_max)
    assert np.allclose(xm, xo, atol=1e-7) and np.allclose(ym, yo, atol=1e-7)


def test_agent_share_tracks_trajectory_large_m() -> None:
    """Proportional imitation with matched PG draws follows (7), (11) for large M."""
    rate, days = 0.25, 200
    run = simulate_imitation_game(P, 20_000, days, "proportional", rate, np.random.default_rng(8),
                                  x0=0.5, y0=0.5, replications=3)
    xo, yo = trajectory(P, 0.5, 0.5, np.arange(days + 1) * run.dt)
    assert math.isclose(run.dt, rate / 17.8)
    assert np.max(np.abs(run.x - xo)) < 0.025
    assert np.max(np.abs(run.y - yo)) < 0.025
    assert run.x[:, -1].min() > 0.99  # reaches C(1, 1) like the ODE


def test_fermi_tracks_its_mean_field_and_small_beta_replicator() -> None:
    rate, beta, days = 0.5, 0.05, 200
    run = simulate_imitation_game(P, 20_000, days, "fermi", rate, np.random.default_rng(9),
                                  x0=0.5, y0=0.5, beta=beta, replications=2)
    t = np.arange(days + 1)
    xf, _ = mean_field_trajectory(P, 0.5, 0.5, t, "fermi", rate, beta=beta)
    xo, _ = trajectory(P, 0.5, 0.5, t * run.dt)
    assert np.max(np.abs(run.x - xf)) < 0.025
    assert np.max(np.abs(xf - xo)) < 0.1  # tanh(beta Z / 2) vs beta Z / 2 at beta Z/2 <= 0.45
    assert run.x[:, -1].min() > 0.99


def test_simulation_reproducible() -> None:
    a = simulate_imitation_game(P, 50, 20, "proportional", 0.5, np.random.default_rng(10),
                                pg_draw="common")
    b = simulate_imitation_game(P, 50, 20, "proportional", 0.5, np.random.default_rng(10),
                                pg_draw="common")
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)

"""Tests of v2gsim.game.bayesian: hand-solved instances and independent best-response checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v2gsim.game.bayesian import (
    BayesianGame,
    bayesian_gains,
    default_priors,
    is_bne,
    select_bne,
    solve_bne,
    v2g_bayesian_game,
)
from v2gsim.game.params import GameParams
from v2gsim.game.price_range import tab3_gains
from v2gsim.game.stability import saddle_point

SEED = GameParams.lin2020()


def interim_values(game, sigma, tau):
    """Independent loop implementation: expected payoff of each action for each type."""
    n, m = len(game.ev_prior), len(game.pg_prior)
    ev = np.zeros((n, 2))
    pg = np.zeros((m, 2))
    for i, a in itertools.product(range(n), range(2)):
        for j, b in itertools.product(range(m), range(2)):
            pb = tau[j] if b == 1 else 1 - tau[j]
            ev[i, a] += game.pg_prior[j] * pb * game.ev_payoff[i, j, a, b]
    for j, b in itertools.product(range(m), range(2)):
        for i, a in itertools.product(range(n), range(2)):
            pa = sigma[i] if a == 1 else 1 - sigma[i]
            pg[j, b] += game.ev_prior[i] * pa * game.pg_payoff[i, j, a, b]
    return ev, pg


def no_profitable_deviation(game, sigma, tau, tol=1e-7):
    ev, pg = interim_values(game, sigma, tau)
    for i, s in enumerate(sigma):
        played = (1 - s) * ev[i, 0] + s * ev[i, 1]
        if game.ev_prior[i] > 0 and max(ev[i]) > played + tol:
            return False
    for j, t in enumerate(tau):
        played = (1 - t) * pg[j, 0] + t * pg[j, 1]
        if game.pg_prior[j] > 0 and max(pg[j]) > played + tol:
            return False
    return True


def hand_game():
    """EV type H (1/2): cooperate pays 2 if PG cooperates, -1 if not; type L: cooperating costs 1.

    PG (one type): cooperating pays 3 with a cooperating EV, -1 otherwise. Not cooperating pays 0.
    BNE by hand: (H->1, L->0; PG 1), everyone 0, and the mixed one where H is indifferent
    (2 tau - (1 - tau) = 0, tau = 1/3) and PG is indifferent (3 X - (1 - X) = 0, X = 1/4 with
    X = sigma_H / 2, so sigma_H = 1/2).
    """
    ue = np.zeros((2, 1, 2, 2))
    up = np.zeros((2, 1, 2, 2))
    ue[0, 0, 1, 1], ue[0, 0, 1, 0] = 2.0, -1.0
    ue[1, 0, 1, :] = -1.0
    up[:, 0, 1, 1], up[:, 0, 0, 1] = 3.0, -1.0
    return BayesianGame(ue, up, [0.5, 0.5], [1.0])


def test_hand_solved_instance():
    g = hand_game()
    eqs = solve_bne(g)
    got = sorted((e.sigma, e.tau) for e in eqs)
    expected = sorted([((1.0, 0.0), (1.0,)), ((0.0, 0.0), (0.0,)), ((0.5, 0.0), (1 / 3,))])
    assert len(got) == 3
    for (s, t), (se, te) in zip(got, expected, strict=True):
        assert s == pytest.approx(se, abs=1e-12) and t == pytest.approx(te, abs=1e-12)
    gains = {(e.sigma, e.tau): (e.ev_gain, e.pg_gain) for e in eqs}
    assert gains[((1.0, 0.0), (1.0,))] == pytest.approx((1.0, 1.0))  # 0.5*2 ; 0.5*3 - 0.5*1
    mixed = next(e for e in eqs if not e.pure)
    assert (mixed.ev_gain, mixed.pg_gain) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert select_bne(eqs).sigma == (1.0, 0.0)
    for e in eqs:
        assert no_profitable_deviation(g, e.sigma, e.tau)
    # Not an equilibrium: H defects while PG cooperates.
    assert not is_bne(g, [0.0, 0.0], [1.0])
    assert not no_profitable_deviation(g, [0.0, 0.0], [1.0])


def test_complete_information_mixed_equilibrium_is_saddle_D():
    # One type each: the static 2x2 game; its mixed NE is the replicator saddle D, (14)-(15).
    g = v2g_bayesian_game(SEED, [(SEED.L_B, 1.0)], [(SEED.E_G, 1.0)])
    eqs = solve_bne(g)
    assert len(eqs) == 3
    mixed = next(e for e in eqs if not e.pure)
    assert (mixed.sigma[0], mixed.tau[0]) == pytest.approx(saddle_point(SEED), rel=1e-10)
    coop = next(e for e in eqs if e.sigma == (1.0,) and e.tau == (1.0,))
    t3 = tab3_gains(SEED)
    assert (coop.ev_gain, coop.pg_gain) == pytest.approx((t3["EV"], t3["PG"]), rel=1e-12)
    assert any(e.sigma == (0.0,) and e.tau == (0.0,) for e in eqs)


def test_v2g_payoff_table_matches_equations():
    g = v2g_bayesian_game(SEED, [(0.41, 0.5), (0.5, 0.5)], [(1.5, 1.0)])
    # EV type L_B = 0.5, PG type E_G = 1.5 (p_d = 1.3, E_d = 20, E_c = 20).
    ue, up = g.ev_payoff[1, 0], g.pg_payoff[1, 0]
    assert ue[1, 1] == pytest.approx(0.5374 + 26 - 5.712 - 40 * 0.5)  # (4), y = 1
    assert ue[1, 0] == pytest.approx(0.5374 - 5.712 - 20 * 0.5 - 1)  # (4), y = 0
    assert ue[0, 0] == ue[0, 1] == pytest.approx(0.5374 - 5.712 - 10)  # (5)
    assert up[1, 1] == pytest.approx(0.4985 + 30 - 26 - 40 * 0.0355)  # (8), x = 1
    assert up[0, 1] == pytest.approx(0.4985 - 0.71 - 1)  # (8), x = 0
    assert up[0, 0] == up[1, 0] == 0.4985  # (9)


def test_one_sided_v2g_mixed_equilibrium_hand_solved():
    # EV types: L_B = 0.41 (prob 0.6) and L_B = 1.5 > p_d (never cooperates); PG one type.
    # Mixed BNE: the low type is indifferent at Y = L_EV / (E_d (p_d - 0.41) + L_EV) (15), and
    # the PG at X = 0.6 sigma = (E_c P_PG + L_PG) / (E_d (E_G - p_d - P_PG) + L_PG) (14).
    g = v2g_bayesian_game(SEED, [(0.41, 0.6), (1.5, 0.4)], [(SEED.E_G, 1.0)])
    eqs = solve_bne(g)
    mixed = [e for e in eqs if not e.pure]
    assert len(mixed) == 1
    b = 20 * (SEED.E_G - 1.3 - 0.0355) + 1
    x_star = 1.71 / b
    y_star = 1.0 / (20 * (1.3 - 0.41) + 1)
    assert mixed[0].sigma == pytest.approx((x_star / 0.6, 0.0), rel=1e-10)
    assert mixed[0].tau == pytest.approx((y_star,), rel=1e-10)
    # Pure: (low cooperates, high not; PG cooperates) iff PG gains at X = 0.6: 0.6 b - 1.71 > 0.
    assert (0.6 * b - 1.71 > 0) == any(e.sigma == (1.0, 0.0) and e.tau == (1.0,) for e in eqs)


payoffs = st.floats(-5, 5, allow_nan=False)


@st.composite
def random_games(draw):
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 3))
    ue = np.array(draw(st.lists(payoffs, min_size=4 * n * m, max_size=4 * n * m))).reshape(
        n, m, 2, 2
    )
    up = np.array(draw(st.lists(payoffs, min_size=4 * n * m, max_size=4 * n * m))).reshape(
        n, m, 2, 2
    )
    pe = np.array(draw(st.lists(st.floats(0.05, 1), min_size=n, max_size=n)))
    pp = np.array(draw(st.lists(st.floats(0.05, 1), min_size=m, max_size=m)))
    return BayesianGame(ue, up, pe / pe.sum(), pp / pp.sum())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=random_games())
def test_random_games_equilibria_verified_independently(g):
    eqs = solve_bne(g)
    for e in eqs:
        assert no_profitable_deviation(g, e.sigma, e.tau)
    # Pure BNE = Nash equilibria of the induced normal form over type-contingent strategies
    # (full-support priors), found by brute force on ex-ante payoffs.
    n, m = len(g.ev_prior), len(g.pg_prior)
    strat_e = list(itertools.product((0, 1), repeat=n))
    strat_p = list(itertools.product((0, 1), repeat=m))

    def exante(s, t):
        ue = sum(
            g.ev_prior[i] * g.pg_prior[j] * g.ev_payoff[i, j, s[i], t[j]]
            for i in range(n)
            for j in range(m)
        )
        up = sum(
            g.ev_prior[i] * g.pg_prior[j] * g.pg_payoff[i, j, s[i], t[j]]
            for i in range(n)
            for j in range(m)
        )
        return ue, up

    brute = set()
    for s in strat_e:
        for t in strat_p:
            ue, up = exante(s, t)
            if all(exante(s2, t)[0] <= ue + 1e-9 for s2 in strat_e) and all(
                exante(s, t2)[1] <= up + 1e-9 for t2 in strat_p
            ):
                brute.add((s, t))
    found = {(tuple(int(v) for v in e.sigma), tuple(int(v) for v in e.tau)) for e in eqs if e.pure}
    assert found == brute
    # Generic games (no tied payoffs) always have an equilibrium and support enumeration finds it.
    if np.unique(g.ev_payoff).size == g.ev_payoff.size and (
        np.unique(g.pg_payoff).size == g.pg_payoff.size
    ):
        assert eqs


def test_bayesian_gains_default_and_selection():
    ev, pg = default_priors(SEED)
    assert [q for _, q in ev] == [0.25, 0.5, 0.25]
    assert [v for v, _ in pg] == pytest.approx([0.9 * SEED.E_G, SEED.E_G, 1.1 * SEED.E_G])
    out = bayesian_gains(SEED)
    # At p_d = 1.3, E_d = 20 every type cooperates in the selected BNE; payoffs are linear in
    # L_B and E_G and the priors are symmetric, so the expected gains equal Tab. 3's.
    assert out["equilibrium"]["sigma"] == [1.0, 1.0, 1.0]
    assert out["equilibrium"]["tau"] == [1.0, 1.0, 1.0]
    t3 = tab3_gains(SEED)
    assert (out["EV"], out["PG"]) == pytest.approx((t3["EV"], t3["PG"]), rel=1e-12)
    assert out["difference"] == pytest.approx(out["PG"] - out["EV"])
    # Non-cooperation is always a BNE here; the max-min rule still prefers cooperation.
    low = bayesian_gains(SEED, selection="max_min")
    assert low["EV"] == pytest.approx(out["EV"])
    with pytest.raises(ValueError):
        bayesian_gains(SEED, selection="nope")


def test_input_validation():
    with pytest.raises(ValueError, match="sum to 1"):
        BayesianGame(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), [0.5], [1.0])
    with pytest.raises(ValueError, match="shape"):
        BayesianGame(np.zeros((2, 1, 2, 2)), np.zeros((1, 1, 2, 2)), [0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="differ"):
        v2g_bayesian_game(SEED, ev_field="L_B", pg_field="L_B")
    with pytest.raises(ValueError, match="unknown"):
        v2g_bayesian_game(SEED, ev_field="nope")

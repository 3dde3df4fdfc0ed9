"""Tests of v2gsim.game.price_dynamics and the GridCompanyAgent (seed 001, models.md §2).

References: hand-computed moments and payoffs (8), (10); the closed-form solution of exponential
weights with constant fitness; the replicator step of game.replicator; the stability labels of
game.stability.equilibria for the fixed-point price; and closed-loop simulations.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import mesa
import numpy as np
import pytest

from v2gsim.config import load_scenario
from v2gsim.game.params import GameParams
from v2gsim.game.payoffs import (
    payoff_ev_coop,
    payoff_ev_noncoop,
    payoff_pg_coop,
    payoff_pg_noncoop,
)
from v2gsim.game.price_dynamics import (
    GridCompanyState,
    anticipated_ev_share,
    ev_incentive,
    exponential_weights,
    fixed_point_price,
    pg_advantage,
    price_fitness,
    price_grid,
    price_moments,
    publish_price,
    threshold_price,
    update_pg_share,
)
from v2gsim.game.price_range import point_E
from v2gsim.game.replicator import replicator_step
from v2gsim.game.simulation import simulate_price_game
from v2gsim.game.stability import equilibria
from v2gsim.sim.agents.grid_company import GridCompanyAgent
from v2gsim.specs.build import game_spec
from v2gsim.specs.run import GameSpec

P = GameParams.lin2020()
REPO = Path(__file__).resolve().parents[1]


def test_price_grid() -> None:
    g = price_grid(1.0, 1.6, 0.05)
    assert g.size == 13 and math.isclose(g[0], 1.0) and math.isclose(g[-1], 1.6)
    assert np.allclose(price_grid(0.0, 1.0, 0.3), [0.0, 0.3, 0.6, 0.9])
    assert np.allclose(price_grid(0.5, 0.5, 0.1), [0.5])
    with pytest.raises(ValueError):
        price_grid(1.0, 0.5, 0.1)
    with pytest.raises(ValueError):
        price_grid(0.0, 1.0, 0.0)


def test_price_moments_hand() -> None:
    m, s = price_moments([1.0, 2.0, 3.0], [0.2, 0.3, 0.5])
    assert math.isclose(float(m), 2.3) and math.isclose(float(s), math.sqrt(5.9 - 2.3**2))
    m2, s2 = price_moments([1.0, 2.0], np.array([[1.0, 0.0], [0.5, 0.5]]))
    assert np.allclose(m2, [1.0, 1.5]) and np.allclose(s2, [0.0, 0.5])


def test_publish_price_sampling_and_mean() -> None:
    rng = np.random.default_rng(0)
    pr = np.array([1.0, 1.1, 1.2, 1.3])
    q = np.array([0.1, 0.0, 0.6, 0.3])
    draws = publish_price(pr, np.broadcast_to(q, (200_000, 4)), rng)
    freq = np.array([(draws == p).mean() for p in pr])
    assert np.all(np.abs(freq - q) < 5 * np.sqrt(q * (1 - q) / 200_000) + 1e-12)
    assert math.isclose(float(publish_price(pr, q, mode="mean")), 0.1 + 0.72 + 0.39)
    assert float(publish_price(pr, np.array([0, 0, 0, 1.0]), rng)) == 1.3
    with pytest.raises(ValueError, match="rng"):
        publish_price(pr, q)


def test_incentive_and_threshold() -> None:
    pr = price_grid(0.2, 1.6, 0.1)
    for y in (0.2, 0.7, 1.0):
        # replicator incentive = S_EV1(y) - S_EV2 at each price, eqs. (4) - (5)
        ref = [float(payoff_ev_coop(y, P.replace(p_d=p)) - payoff_ev_noncoop(y, P)) for p in pr]
        assert np.allclose(ev_incentive(pr, y, P), ref)
        ph = threshold_price(y, P)
        assert abs(float(ev_incentive([ph], y, P)[0])) < 1e-12
        # participation: S_EV1(y) - U_EV, condition (16)
        refp = [float(payoff_ev_coop(y, P.replace(p_d=p))) - P.U_EV for p in pr]
        assert np.allclose(ev_incentive(pr, y, P, "participation"), refp)
        assert abs(float(ev_incentive([threshold_price(y, P, "participation")], y, P,
                                      "participation")[0])) < 1e-12
    assert math.isclose(threshold_price(1.0, P), P.L_B)
    assert math.isclose(threshold_price(1.0, P, "participation"), point_E(P)[0])  # 1.1056
    assert threshold_price(0.0, P) == math.inf
    x_inf = anticipated_ev_share([0.3, P.L_B, 0.5], 0.4, 1.0, P)
    assert np.allclose(x_inf, [0.0, 0.4, 1.0])


def test_pg_advantage_and_share_update_match_evolutionary() -> None:
    x = np.linspace(0, 1, 5)
    for p in (1.0, 1.3, 1.5):
        q = P.replace(p_d=p)
        assert np.allclose(pg_advantage(x, p, P), payoff_pg_coop(x, q) - payoff_pg_noncoop(x, q))
        for y in (0.1, 0.6):
            _, y_ref = replicator_step(x, y, q, 0.03)
            assert np.allclose(update_pg_share(y, x, p, P, 0.03), y_ref, atol=1e-15)


def test_price_fitness_hand_values() -> None:
    pr = np.array([0.3, 1.0, 1.3])
    f = price_fitness(pr, 1.0, 1.0, P)
    s_pg1 = [float(payoff_pg_coop(1.0, P.replace(p_d=p))) for p in (1.0, 1.3)]
    assert np.allclose(f, [P.U_PG - P.E_c * P.P_PG - P.L_PG, *s_pg1])  # 0.3 < L_B loses the EVs
    assert math.isclose(s_pg1[1], 0.4985 + 20 * 1.5520833333333333 - 26 - 40 * 0.0355)
    # mean payoff (10) at y = 0.5; y = 0: every price gives U_PG (nothing learnt)
    f_half = price_fitness(pr, 0.2, 0.5, P)
    assert math.isclose(float(f_half[1]), 0.5 * s_pg1[0] + 0.5 * P.U_PG)
    assert np.allclose(price_fitness(pr, 0.7, 0.0, P), P.U_PG)
    assert price_fitness(pr, np.array([0.2, 0.3]), np.array([0.5, 0.9]), P).shape == (2, 3)


def test_exponential_weights_closed_form_and_fixed_points() -> None:
    q0 = np.array([0.1, 0.2, 0.3, 0.4])
    f = np.array([1.0, -2.0, 0.5, 3.0])
    q = q0.copy()
    for _ in range(7):
        q = exponential_weights(q, f, 0.2)
    ref = q0 * np.exp(7 * 0.2 * f)
    assert np.allclose(q, ref / ref.sum(), rtol=1e-12)
    # fixed points: f constant on the support
    qs = np.array([0.0, 0.5, 0.0, 0.5])
    assert np.allclose(exponential_weights(qs, np.array([9.0, 2.0, 7.0, 2.0]), 1.0), qs)
    assert np.allclose(exponential_weights(q0, np.full(4, 5.0), 3.0), q0)
    big = exponential_weights(q0, np.array([1e4, 0.0, 0.0, 0.0]), 1.0)  # no overflow
    assert np.allclose(big, [1, 0, 0, 0])


@pytest.mark.parametrize(
    ("grid", "response", "expected"),
    [
        ((1.0, 1.6, 0.05), "replicator", 1.0),  # grid inside the ESS range: its lowest price
        ((0.2, 1.6, 0.1), "replicator", 0.5),  # lowest grid price above L_B = 0.41
        ((0.2, 1.6, 0.1), "participation", 1.2),  # lowest grid price above p_E = 1.1056
    ],
)
def test_q_concentrates_at_full_cooperation(grid, response, expected) -> None:
    pr = price_grid(*grid)
    assert math.isclose(fixed_point_price(pr, P, response), expected)
    q = np.full(pr.size, 1.0 / pr.size)
    f = price_fitness(pr, 1.0, 1.0, P, response)
    for _ in range(400):
        q = exponential_weights(q, f, 0.05)
    k = int(np.argmax(q))
    assert math.isclose(pr[k], expected) and q[k] > 0.999
    # the limit price keeps C(1, 1) stable; in the replicator case the next lower one does not
    label = {e["name"]: e["label"] for e in equilibria(P.replace(p_d=expected))}
    assert label["C"] == "stable"
    if response == "replicator" and k > 0:
        below = {e["name"]: e["label"] for e in equilibria(P.replace(p_d=pr[k - 1]))}
        assert below["C"] != "stable"


def test_fixed_point_price_none_available() -> None:
    assert math.isnan(fixed_point_price([0.1, 0.2, 0.3], P))


def test_grid_company_state_day() -> None:
    pr = price_grid(1.0, 1.6, 0.05)
    st = GridCompanyState.uniform(pr, 0.5, P, dt=0.04)
    assert st.eta == 0.04
    with pytest.raises(RuntimeError):
        st.update(0.5)
    price = st.publish(np.random.default_rng(1))
    assert price in pr
    q0 = st.q.copy()
    st.update(0.8)
    assert math.isclose(st.y, float(update_pg_share(0.5, 0.8, price, P, 0.04)))
    ref = exponential_weights(q0, price_fitness(pr, 0.8, 0.5, P), 0.04)
    assert np.allclose(st.q, ref)
    assert st.moments()[0] < 1.3  # cheaper prices gained weight
    zero = GridCompanyState.uniform(pr, 0.0, P, dt=0.04, mode="mean")
    zero.publish()
    zero.update(1.0)
    assert np.allclose(zero.q, 1.0 / pr.size) and zero.y == 0.0  # y = 0: continuum of rest points
    with pytest.raises(ValueError):
        GridCompanyState(prices=pr, q=np.ones(pr.size), y=0.5, params=P, dt=0.1)


@pytest.mark.parametrize(("grid", "response", "expected"),
                         [((1.0, 1.6, 0.05), "replicator", 1.0),
                          ((0.2, 1.6, 0.1), "participation", 1.2)])
def test_closed_loop_converges(grid, response, expected) -> None:
    pr = price_grid(*grid)
    run = simulate_price_game(P, pr, 1000, 250, "proportional", 1.0, np.random.default_rng(2),
                              replications=2, response=response)
    assert np.all(run.x[:, -1] == 1.0) and np.all(run.y[:, -1] > 0.999)
    assert np.allclose(run.price_mean[:, -1], expected, atol=1e-3)
    assert np.all(run.price_std[:, -1] < 0.01)
    assert run.price_mean[0, 0] == pytest.approx(pr.mean())


def test_closed_loop_mean_mode_deterministic_price() -> None:
    pr = price_grid(1.0, 1.6, 0.1)
    run = simulate_price_game(P, pr, 200, 20, "fermi", 0.5, np.random.default_rng(3), beta=0.05,
                              mode="mean", pg_draw="common")
    assert np.allclose(run.price, run.price_mean)
    assert np.all(np.diff(run.price_mean[0]) <= 1e-12)  # price falls while all prices keep EVs


def _agent(cfg: GameSpec) -> GridCompanyAgent:
    return GridCompanyAgent(mesa.Model(), cfg, np.random.default_rng(4))


def test_grid_company_agent() -> None:
    cfg = game_spec(load_scenario(REPO / "scenarios" / "lin2020.toml"))
    agent = _agent(cfg)
    assert np.allclose(agent.prices, price_grid(1.0, 1.6, 0.05))
    assert math.isclose(agent.delta_max, 20 * (1.6 - 0.41))
    assert math.isclose(agent.dt, cfg.imitation_rate / agent.delta_max)
    assert agent.y == cfg.y0 and np.allclose(agent.q, 1 / 13)
    with pytest.raises(RuntimeError):
        agent.update(0.5)
    p = agent.publish_price()
    assert p in agent.prices and agent.day_params().p_d == p
    assert isinstance(agent.realized_pg_cooperates(), bool)
    acts = agent.realized_pg_cooperates(size=1000)
    assert acts.shape == (1000,) and 0.4 < acts.mean() < 0.6
    agent.update(0.7, ev_payoff_mean=-3.0)
    st = agent.state()
    # the price in force, and the moments of the price mixture the update left
    assert st["price"] == p
    assert (st["price_mean"], st["price_std"]) == pytest.approx(price_moments(agent.prices, agent.q))
    assert not np.allclose(agent.q, 1 / 13)  # the update moved the mixture
    q = P.replace(p_d=p)
    assert math.isclose(st["pg_payoff"], 0.5 * float(payoff_pg_coop(0.7, q)) + 0.5 * P.U_PG)
    assert math.isclose(st["y"], float(update_pg_share(0.5, 0.7, p, P, agent.dt)))
    assert st["x"] == 0.7 and st["ev_payoff_mean"] == -3.0
    fermi = _agent(replace(cfg, imitation="fermi"))
    assert math.isclose(fermi.dt, cfg.imitation_rate * cfg.fermi_beta / 2)

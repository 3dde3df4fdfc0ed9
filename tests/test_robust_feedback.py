"""Disturbance-feedback (intraday re-trading) extension of seed 004 §3.4 (models.md §5.1)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import step_model

from v2gsim.optimize.robust.check import check_plan, retrade_power, sample_realizations
from v2gsim.optimize.robust.feedback_lp import FeedbackSpec, solve_feedback
from v2gsim.optimize.robust.full_lp import RobustPlanner
from v2gsim.optimize.robust.spec import DayPrices, FleetDay

K = 16


def _fleet(**kw) -> FleetDay:
    base = dict(delta=1.0, n_slots=K, a_lo=[1, 2, 1], a_hi=[3, 3, 2], d_lo=[11, 12, 10], d_hi=[14, 13, 12],
                e0_lo=[10, 12, 8], e0_hi=[16, 18, 14], e_min=5.0, e_max=50.0, e_dep=[35, 30, 32],
                p_max=7.4, eta_c=0.95, eta_d=0.9, alpha=0.998, p_plant=16.0)
    return FleetDay.build(**(base | kw))


def _prices(**kw) -> DayPrices:
    base = dict(c_plus=0.08 + 0.04 * np.sin(np.arange(K) / K * np.pi) ** 2, c_minus=0.06, c_up=0.5,
                c_down=0.02, pi_up=0.3, pi_down=0.2)
    return DayPrices.build(K, **(base | kw))


def _two_slot():
    """One vehicle, two 1-h slots, sure connection, e0 = 0, e_dep = 10, e_max = 20, lossless."""
    fleet = FleetDay.build(delta=1.0, n_slots=2, a_lo=[0], a_hi=[0], d_lo=[1], d_hi=[1], e0_lo=[0.0],
                           e0_hi=[0.0], e_min=0.0, e_max=20.0, e_dep=10.0, p_max=100.0)
    prices = DayPrices.build(2, c_plus=0.1, c_minus=0.08, c_up=0.5, c_down=0.0, pi_up=0.4, pi_down=0.4)
    return fleet, prices


def test_two_slot_hand_case():
    # Open loop: S = E0 + E1 <= 20 (upper path), R = ru0 + ru1 <= S - 10 (lower path), cost
    # 0.1 S - 0.2 R >= 2 - 0.1 S >= 0 -> J = 0 (the reduced closed form
    # c+ e_req - (room - req)(pi c_up - c+)).
    # Feedback G[1, 0] = -10 with ru0 = rd0 = 10, E0 = 10: slot 0 moves e by 10 w0, slot 1 re-trades
    # -10 w0 back, so ru1 = 10 more upward reserve fits: J = 2 - 0.2 * 20 = -2 (+ u * 0.8 * 10 unbalance).
    # Bound: ru0 + rd0 <= 20 (slot-0 rows) and ru1 <= S - 10 + (rd0 - ru0)/2 give revenue <= 2.
    fleet, prices = _two_slot()
    open_loop = RobustPlanner(fleet, "FC").solve(fleet, prices)
    assert open_loop.cost == pytest.approx(0.0, abs=1e-9)
    fb = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, unbalance_cost=0.0))
    assert fb.cost == pytest.approx(-2.0, abs=1e-7)
    assert fb.gains[0, 1, 0] == pytest.approx(-10.0, abs=1e-6)
    assert fb.gains[0, 0, 0] == 0.0 and fb.gains[0, 0, 1] == 0.0
    assert fb.r_up[0].sum() == pytest.approx(20.0, abs=1e-6)
    # unbalance 0.2 EUR/kWh: -2 + 0.8 * 0.2 * 10 = -0.4; prohibitive 1 EUR/kWh: back to open loop
    cheap = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, unbalance_cost=0.2))
    assert cheap.cost == pytest.approx(-0.4, abs=1e-7)
    assert cheap.j_retrade == pytest.approx(1.6, abs=1e-7)
    dear = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, unbalance_cost=1.0))
    assert dear.cost == pytest.approx(0.0, abs=1e-7)
    assert np.abs(dear.gains).max() < 1e-7


def test_feedback_plan_robust_on_1000_realizations():
    fleet = _fleet()
    fb = solve_feedback(fleet, _prices(), FeedbackSpec(enabled=True, unbalance_cost=0.0, max_lag=4))
    assert np.abs(fb.gains).max() > 1e-3  # the policy does re-trade
    assert np.all(np.triu(fb.gains[0]) == 0.0)  # lower triangular
    real = sample_realizations(fleet, 1000, np.random.default_rng(3))
    counts = check_plan(fb, fleet, real)  # applies the plan's own re-trades
    assert counts["any"] == 0, counts
    # the extreme signals (the worst cases of the box) too
    ext = sample_realizations(fleet, 1000, np.random.default_rng(4))
    ext = type(ext)(ext.a, ext.d, ext.e0, np.sign(ext.w))
    assert check_plan(fb, fleet, ext)["any"] == 0
    # without its re-trades the same day-ahead plan is not robust: the gains matter
    zero = np.zeros((ext.size, fleet.n, K))
    assert check_plan(fb, fleet, ext, retrade=zero)["any"] > 0
    # the re-trades by hand: g_ik = sum_j G_ikj w_j
    s0 = 7
    g = np.array([[fb.gains[i, k, :k] @ ext.w[s0, :k] for k in range(K)] for i in range(fleet.n)])
    assert np.allclose(retrade_power(fb, ext.w)[s0], g)


def test_feedback_never_worse_and_equal_when_forbidden():
    fleet, prices = _fleet(), _prices()
    open_loop = RobustPlanner(fleet, "FC").solve(fleet, prices)
    free = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, unbalance_cost=0.0, max_lag=3))
    assert free.cost <= open_loop.cost + 1e-7
    assert free.cost < open_loop.cost - 1e-3  # strictly helps on this day
    none = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, max_lag=0))
    assert none.cost == pytest.approx(open_loop.cost, rel=1e-7, abs=1e-7)
    assert not none.gains.any()
    dear = solve_feedback(fleet, prices, FeedbackSpec(enabled=True, unbalance_cost=100.0, max_lag=3))
    assert dear.cost == pytest.approx(open_loop.cost, rel=1e-6, abs=1e-6)


def test_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="unbalance_cost"):
        FeedbackSpec(enabled=True, unbalance_cost=-1.0)
    with pytest.raises(ValueError, match="max_lag"):
        FeedbackSpec(enabled=True, max_lag=-1)


def test_planner_switch():
    fleet, prices = _fleet(), _prices()
    base = RobustPlanner(fleet, "FC").solve(fleet, prices)
    off = RobustPlanner(fleet, "FC", feedback=FeedbackSpec(enabled=False, max_lag=3)).solve(fleet, prices)
    assert off.gains is None and off.cost == base.cost and np.array_equal(off.p_dam, base.p_dam)
    spec = FeedbackSpec(enabled=True, unbalance_cost=0.01, max_lag=3)
    on = RobustPlanner(fleet, "FC", feedback=spec).solve(fleet, prices)
    assert on.gains is not None and on.cost == pytest.approx(solve_feedback(fleet, prices, spec).cost)
    assert on.cost <= base.cost + 1e-7
    with pytest.raises(ValueError, match="business 'FC'"):
        RobustPlanner(fleet, "PC", feedback=spec)


FB = ['platform.robust.business="FC"', "drivers.count=3", "platform.robust.pi_up=0.3",
      "platform.robust.up_factor=4.0", "platform.robust.feedback_max_lag=2"]


def test_schema_rejects_feedback_with_pc():
    from v2gsim import load_scenario
    from v2gsim.config.base import ScenarioError

    with pytest.raises(ScenarioError, match=r"platform\.robust.*feedback = true needs business = 'FC'"):
        load_scenario("bianchi2023_parking", ["platform.robust.feedback=true"])
    with pytest.raises(ScenarioError, match=r"platform\.robust\.unbalance_cost"):
        load_scenario("bianchi2023_parking", ["platform.robust.unbalance_cost=-1"])


def test_the_loop_refuses_feedback_and_runs_the_open_loop_plan():
    """The loop executes the open-loop base point and reserve (issue 32); the re-trading plan is
    offline only (``v2gsim profitability``), and the loop says so at validation."""
    from v2gsim.config.base import ScenarioError
    from v2gsim.config.loading import load_scenario

    with pytest.raises(ScenarioError, match=r"platform\.robust\.feedback: the loop executes"):
        load_scenario("bianchi2023_parking", [*FB, "platform.robust.feedback=true"])
    open_loop = step_model("bianchi2023_parking", FB, days=1).daily_table()
    assert (open_loop["robust_violations"] == 0).all() and (open_loop["departure_shortfall_kwh"] == 0).all()

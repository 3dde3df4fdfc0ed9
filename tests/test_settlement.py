"""Tests of v2gsim.market.settlement (PJM-style capability and performance credits)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2gsim.market.agc import follow_signal, hourly_mileage
from v2gsim.market.settlement import settle, settlement_mileage


def test_settle_by_hand():
    # Hour 1: C = 2 MW, score 0.9: capability 2 * 10 * 0.9 = 18; performance 2 * 25 * 2 * 0.9 = 90.
    # Hour 2: C = 0.5 MW, score 1: capability 0.5 * 20 = 10; performance 0.5 * 10 * 1 = 5.
    # Hour 3: no bid (score NaN): 0 and 0.
    res = settle(
        bid_kw=[2000.0, 500.0, 0.0],
        score=[0.9, 1.0, np.nan],
        capability_price=[10.0, 20.0, 30.0],
        performance_price=[2.0, 1.0, 5.0],
        mileage=[25.0, 10.0, 30.0],
    )
    np.testing.assert_allclose(res.bid_mw, [2.0, 0.5, 0.0])
    np.testing.assert_allclose(res.capability_credit, [18.0, 10.0, 0.0])
    np.testing.assert_allclose(res.performance_credit, [90.0, 5.0, 0.0])
    np.testing.assert_allclose(res.total_credit, [108.0, 15.0, 0.0])
    frame = res.to_frame()
    assert list(frame.columns) == [
        "bid_mw",
        "score",
        "capability_credit",
        "performance_credit",
        "total_credit",
    ]
    assert frame["total_credit"].sum() == pytest.approx(123.0)


def test_settle_tiny_signal_end_to_end():
    # dt = 1200 s -> 3 samples per hour. Hour 1: s = 0, 1, 0 -> mileage 2; hour 2: 0.5, 0.5, -0.5
    # -> mileage 1. A 1000 kW bid with loose limits follows perfectly (score 1).
    signal = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, -0.5]])
    mileage = hourly_mileage(signal.ravel(), dt_s=1200.0)
    np.testing.assert_allclose(mileage, [2.0, 1.0])
    follow = follow_signal(signal, 1000.0, np.inf, np.inf, np.inf, np.inf, dt_s=1200.0)
    np.testing.assert_allclose(follow.score, [1.0, 1.0])
    res = settle(1000.0, follow.score, [10.0, 10.0], [1.0, 2.0], mileage)
    # Hour 1: 1 MW * 10 + 1 MW * 2 * 1 = 12. Hour 2: 10 + 1 * 1 * 2 = 12.
    np.testing.assert_allclose(res.capability_credit, [10.0, 10.0])
    np.testing.assert_allclose(res.performance_credit, [2.0, 2.0])


def test_settle_with_limited_fleet():
    # Same as the 'upper bound' hand case of test_agc: score 17/35 on a 10 kW bid.
    signal = np.array([[0.5, 1.0, 1.0, -1.0, 0.0]])
    follow = follow_signal(signal, 10.0, 8.0, 6.0, 1.5, 10.0, dt_s=360.0)
    res = settle(10.0, follow.score, 40.0, 3.0, 20.0)
    # C = 0.01 MW: capability 0.01 * 40 * 17/35 = 0.194286; performance 0.01 * 20 * 3 * 17/35.
    assert res.capability_credit[0] == pytest.approx(0.4 * 17 / 35)
    assert res.performance_credit[0] == pytest.approx(0.6 * 17 / 35)


def test_settle_ratio_basis_and_nan_handling():
    ratio = settlement_mileage([12.0, 8.0, 6.0], "ratio", rega_mileage=[4.0, 0.0, 2.0])
    np.testing.assert_allclose(ratio[[0, 2]], [3.0, 3.0])
    assert math.isnan(ratio[1])  # zero RegA mileage: undefined ratio
    res = settle([1000.0, 1000.0, 1000.0], [1.0, 1.0, np.nan], 10.0, 2.0, ratio)
    # Hour 1: 1 * 10 + 1 * 3 * 2 = 16. Hour 2: performance NaN (missing factor propagates).
    # Hour 3: no score -> nothing paid even though the mileage is defined.
    assert res.total_credit[0] == pytest.approx(16.0)
    assert res.capability_credit[1] == pytest.approx(10.0)
    assert math.isnan(res.performance_credit[1])
    assert res.total_credit[2] == 0.0


def test_settlement_mileage_signal_basis_is_identity():
    m = np.array([25.3, 17.2])
    out = settlement_mileage(m, "signal")
    np.testing.assert_array_equal(out, m)
    assert out is not m


def test_credits_scale_linearly_with_bid_and_score():
    rng = np.random.default_rng(0)
    n = 48
    bid = rng.uniform(0, 5000, n)
    score = rng.uniform(0, 1, n)
    cap, perf, mil = rng.uniform(0, 50, n), rng.uniform(0, 5, n), rng.uniform(5, 40, n)
    one = settle(bid, score, cap, perf, mil)
    two = settle(2 * bid, score, cap, perf, mil)
    np.testing.assert_allclose(two.total_credit, 2 * one.total_credit)
    full = settle(bid, np.ones(n), cap, perf, mil)
    np.testing.assert_allclose(one.total_credit, score * full.total_credit)
    np.testing.assert_allclose(full.total_credit, bid / 1000 * (cap + perf * mil))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bid_kw": -1.0},
        {"bid_kw": np.inf},
        {"score": 1.2},
        {"score": -0.1},
        {"mileage": -3.0},
        {"bid_kw": np.ones((2, 2))},
    ],
)
def test_settle_rejects_bad_input(kwargs):
    args = {
        "bid_kw": 1000.0,
        "score": 0.9,
        "capability_price": 10.0,
        "performance_price": 1.0,
        "mileage": 20.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        settle(**args)


def test_settlement_mileage_rejects_bad_input():
    with pytest.raises(ValueError, match="basis"):
        settlement_mileage([1.0], "mileage")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rega_mileage"):
        settlement_mileage([1.0], "ratio")
    with pytest.raises(ValueError):
        settlement_mileage([-1.0], "signal")
    with pytest.raises(ValueError, match="shape"):
        settlement_mileage([1.0, 2.0], "ratio", rega_mileage=[1.0, 2.0, 3.0])

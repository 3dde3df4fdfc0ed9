"""PJM's composite performance score (v2gsim.market.agc.performance) and its use by the TSO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v2gsim.config import ScenarioError, load_scenario
from v2gsim.experiments.runner import run_scenario
from v2gsim.market.agc import synthetic_regd
from v2gsim.market.agc.performance import composite_score, forfeit_below, per_unit_response
from v2gsim.market.settlement import settle
from v2gsim.sim.model import HOURLY_COLUMNS
from v2gsim.specs.build import market_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
N = 1800  # 2-s samples per hour
L = 150  # samples per 5-minute window


def walk(hours: int = 2, seed: int = 0) -> np.ndarray:
    """A smooth, aperiodic hand-made signal in [-1, 1]: a scaled random walk, (hours, 1800)."""
    x = np.cumsum(np.random.default_rng(seed).normal(size=(hours, N)), axis=1)
    x -= x.mean(axis=1, keepdims=True)
    return x / np.abs(x).max(axis=1, keepdims=True)


def delayed(s: np.ndarray, lag: int) -> np.ndarray:
    """``s`` delayed by ``lag`` samples within each hour (the first value held before)."""
    out = np.empty_like(s)
    out[:, lag:] = s[:, :-lag]
    out[:, :lag] = s[:, :1]
    return out


def reference(s: np.ndarray, r: np.ndarray, min_overlap: int = 75):
    """Per-window loops with np.corrcoef: (accuracy, delay s, precision) per window of one hour."""
    acc, dly, prec = [], [], []
    for w in range(N // L):
        k = np.arange(w * L, (w + 1) * L)
        best, best_lag = -np.inf, 0
        for lag in range(0, L + 1, 5):
            ok = k + lag < N
            if ok.sum() < min_overlap:
                continue
            c = np.corrcoef(s[k[ok]], r[k[ok] + lag])[0, 1]
            if c > best + 1e-12:
                best, best_lag = c, lag
        acc.append(max(best, 0.0))
        dly.append(2.0 * best_lag)
        prec.append(min(max(1 - np.mean(np.abs(r[k] - s[k])) / np.mean(np.abs(s[k])), 0), 1))
    return np.array(acc), np.array(dly), np.array(prec)


# ------------------------------------------------------------------ hand-made followers
def test_perfect_follower_scores_one():
    s = walk()
    cs = composite_score(s, s.copy())
    for x in (cs.accuracy, cs.delay, cs.precision, cs.composite):
        np.testing.assert_allclose(x, 1.0, atol=1e-12)
    assert (cs.window_delay_s == 0).all()


def test_follower_delayed_two_minutes():
    s = walk(3)
    cs = composite_score(s, delayed(s, 60))  # 60 samples of 2 s = 2 min
    np.testing.assert_allclose(cs.accuracy, 1.0, atol=1e-12)
    np.testing.assert_allclose(cs.delay, 0.6, atol=1e-12)  # (5 - 2) / 5
    assert (cs.window_delay_s == 120.0).all()  # also in the last window (90 pairs in the hour)
    assert (cs.precision < 0.9).all()


def test_follower_at_half_amplitude():
    s = walk()
    cs = composite_score(s, 0.5 * s)
    np.testing.assert_allclose(cs.precision, 0.5, atol=1e-12)
    np.testing.assert_allclose(cs.accuracy, 1.0, atol=1e-12)
    np.testing.assert_allclose(cs.delay, 1.0, atol=1e-12)
    np.testing.assert_allclose(cs.composite, 2.5 / 3, atol=1e-12)


def test_offset_response_precision_by_hand():
    s = np.tile(np.repeat([1.0, -1.0], 25), (1, N // 50))  # +-1 square wave, |s| = 1
    cs = composite_score(s, s + 0.2)
    np.testing.assert_allclose(cs.precision, 0.8, atol=1e-12)  # 1 - 0.2 / 1
    np.testing.assert_allclose(cs.accuracy, 1.0, atol=1e-12)  # correlation ignores the offset


def test_random_noise_follower_has_low_accuracy():
    s = synthetic_regd(np.random.default_rng(3), days=1).reshape(24, N)
    noise = np.random.default_rng(4).uniform(-1, 1, size=s.shape)
    cs = composite_score(s, noise)
    assert cs.accuracy.max() < 0.35  # best of 31 delays of 150 independent pairs
    assert cs.composite.max() < 0.6
    perfect = composite_score(s, s)
    assert perfect.accuracy.min() > 1 - 1e-12


def test_matches_per_window_loops():
    s = synthetic_regd(np.random.default_rng(5), days=1).reshape(24, N)[:3]
    rng = np.random.default_rng(6)
    r = np.clip(0.8 * delayed(s, 35) + 0.1 * rng.normal(size=s.shape), -0.7, 0.9)
    cs = composite_score(s, r)
    for h in range(3):
        acc, dly, prec = reference(s[h], r[h])
        np.testing.assert_allclose(cs.window_accuracy[h], acc, atol=1e-10)
        np.testing.assert_allclose(cs.window_delay_s[h], dly)
        np.testing.assert_allclose(cs.window_precision[h], prec, atol=1e-12)
        np.testing.assert_allclose(cs.delay[h], np.mean(1 - dly / 300.0), atol=1e-12)


def test_the_end_of_the_hour_limits_the_last_windows_delay():
    s = walk()
    cs = composite_score(s, delayed(s, 120))  # 4 min: only 30 pairs left in the last window
    assert (cs.window_delay_s[:, :-1] == 240.0).all()
    np.testing.assert_allclose(cs.window_accuracy[:, :-1], 1.0, atol=1e-12)
    assert (cs.window_delay_s[:, -1] <= 150.0).all()  # at least 75 pairs (150 s) in the hour
    assert (cs.window_accuracy[:, -1] < 1 - 1e-6).all()


# ------------------------------------------------------------------ edge cases
def test_constant_signal_windows():
    s = np.full((1, N), 0.3)
    same = composite_score(s, np.full((1, N), 0.3))
    assert same.accuracy[0] == 1 and same.delay[0] == 1 and same.precision[0] == 1
    level = composite_score(s, np.full((1, N), 0.15))  # constant, half the level
    assert level.accuracy[0] == 1 and level.precision[0] == pytest.approx(0.5, abs=1e-12)
    moving = composite_score(s, walk(1))  # correlation undefined: 0, and no delay follows
    assert moving.accuracy[0] == 0 and moving.delay[0] == 0


def test_zero_signal_and_zero_response():
    zero = np.zeros((1, N))
    assert composite_score(zero, zero).composite[0] == 1.0
    s = walk(1)
    idle = composite_score(s, np.zeros((1, N)))  # nothing delivered
    assert idle.accuracy[0] == 0 and idle.delay[0] == 0 and idle.precision[0] == 0
    assert idle.composite[0] == 0


def test_zero_bid_scores_nan_and_other_hours_are_kept():
    s = walk(2)
    resp = per_unit_response(5.0 * s, np.array([0.0, 5.0]))
    assert np.isnan(resp[0]).all() and np.allclose(resp[1], s[1])
    cs = composite_score(s, resp)
    assert np.isnan(cs.composite[0]) and np.isnan(cs.window_delay_s[0]).all()
    assert cs.composite[1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("signal", "response", "kwargs", "match"), [
    (np.zeros((1, N)), np.zeros((1, N - 1)), {}, "same shape"),
    (np.zeros(N), np.zeros(N), {}, "same shape"),
    (np.full((1, N), np.nan), np.zeros((1, N)), {}, "signal contains NaN"),
    (np.zeros((1, N)), np.r_[np.nan, np.zeros(N - 1)][None], {}, "only whole hours"),
    (np.zeros((1, 1700)), np.zeros((1, 1700)), {}, "whole number of scoring windows"),
    (np.zeros((1, N)), np.zeros((1, N)), {"delay_step_s": 3.0}, "delay step"),
    (np.zeros((1, N)), np.zeros((1, N)), {"max_delay_s": 24.0}, "delay steps"),
])
def test_bad_input_is_rejected(signal, response, kwargs, match):
    with pytest.raises(ValueError, match=match):
        composite_score(signal, response, **kwargs)


def test_bad_bid_is_rejected():
    with pytest.raises(ValueError, match="bid_kw"):
        per_unit_response(np.zeros((2, N)), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="threshold"):
        forfeit_below(0.5, 1.5)


# ------------------------------------------------------------------ forfeiture
def test_forfeiture_zeroes_credits_below_the_threshold_only():
    score = np.array([0.39, 0.40, 0.41, np.nan])
    paid = forfeit_below(score, 0.40)
    np.testing.assert_array_equal(paid, [0.0, 0.40, 0.41, np.nan])
    credits = settle(np.full(4, 2000.0), paid, 10.0, 2.0, 20.0)  # 2 MW, $10/MW-h, $2/dMW, 20
    np.testing.assert_allclose(credits.capability_credit, [0.0, 8.0, 8.2, 0.0])
    np.testing.assert_allclose(credits.performance_credit, [0.0, 32.0, 32.8, 0.0])


# ------------------------------------------------------------------ the option in a run
@pytest.fixture(scope="module")
def composite_run():
    sc = load_scenario(SCEN / "tiny.toml", ['market.score="pjm_composite"', "days=2"])
    return sc, run_scenario(sc)


def test_composite_run_end_to_end(composite_run):
    sc, r = composite_run
    assert market_spec(sc).score_threshold == 0.40  # PJM's threshold when left unset
    h = r.hourly
    at = list(h.columns).index("score")
    assert list(h.columns)[at : at + 4] == ["score", "accuracy", "delay", "precision"]
    bid = h["bid_kw"].to_numpy() > 0
    assert bid.any()
    parts = h.loc[bid, ["accuracy", "delay", "precision"]].to_numpy()
    np.testing.assert_allclose(h.loc[bid, "score"], parts.mean(axis=1), rtol=0, atol=1e-15)
    # (each part is clipped to [0, 1] by construction) the fleet's response against the AGC signal:
    # an hour followed exactly scores 1 in every part, an hour with nothing delivered 0 in every
    # part, and an hour followed in part less than 1
    req, got = h["requested_mileage_kw"].to_numpy(), h["delivered_mileage_kw"].to_numpy()
    full = bid & np.isclose(got, req, rtol=1e-12, atol=0)
    idle = bid & (got == 0)
    partial = bid & ~full & ~idle
    assert full.any() and idle.any() and partial.any()
    cols = ["accuracy", "delay", "precision", "score"]
    np.testing.assert_allclose(h.loc[full, cols], 1.0, rtol=0, atol=1e-12)
    assert (h.loc[idle, cols] == 0).all().all()
    assert (h.loc[partial, "score"] < 1).all()
    assert h.loc[~bid, ["score", "accuracy", "delay", "precision"]].isna().all().all()
    paid = bid & (h["score"] >= 0.40).to_numpy()
    expected = h["bid_kw"] / 1000 * h["capability_price"] * h["score"]
    np.testing.assert_allclose(h.loc[paid, "capability_credit"], expected[paid], rtol=1e-12)
    assert (h.loc[bid & ~paid, ["capability_credit", "performance_credit"]] == 0).all().all()


def test_threshold_forfeits_hours_in_a_run(composite_run):
    _, base = composite_run
    strict = run_scenario(load_scenario(
        SCEN / "tiny.toml", ['market.score="pjm_composite"', "market.score_threshold=0.97",
                             "days=2"]))
    a, b = base.hourly, strict.hourly
    np.testing.assert_array_equal(a["score"], b["score"])  # same run, only the payment differs
    low = (a["bid_kw"] > 0) & (a["score"] < 0.97)
    high = (a["bid_kw"] > 0) & (a["score"] >= 0.97)
    assert low.any() and high.any()
    assert (b.loc[low, ["capability_credit", "performance_credit"]] == 0).all().all()
    assert (a.loc[low & (a["score"] >= 0.40), "capability_credit"] > 0).all()
    np.testing.assert_array_equal(b.loc[high, "capability_credit"], a.loc[high, "capability_credit"])


def test_default_score_keeps_the_table_and_ratio_threshold_applies():
    tiny = load_scenario(SCEN / "tiny.toml", ["days=2"])
    assert market_spec(tiny).score == "mileage_ratio" and market_spec(tiny).score_threshold == 0
    plain = run_scenario(tiny).hourly
    assert [c for c in plain.columns if c in HOURLY_COLUMNS] == HOURLY_COLUMNS
    assert not {"accuracy", "delay", "precision"} & set(plain.columns)
    ratio = (plain["delivered_mileage_kw"] / plain["requested_mileage_kw"]).to_numpy()
    np.testing.assert_allclose(plain["score"], ratio, rtol=1e-12)  # the mileage ratio
    strict = run_scenario(load_scenario(SCEN / "tiny.toml",
                                        ["days=2", "market.score_threshold=0.999"])).hourly
    low = (plain["bid_kw"] > 0) & (plain["score"] < 0.999)
    assert low.any()
    assert (strict.loc[low, "capability_credit"] == 0).all()
    assert (strict.loc[~low, "capability_credit"] == plain.loc[~low, "capability_credit"]).all()


def test_schema_of_the_score_options():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(SCEN / "tiny.toml", ['market.score="pjm"'])
    assert any("market.score" in p and "mileage_ratio" in p for p in exc.value.problems)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(SCEN / "tiny.toml", ["market.score_threshold=1.5"])
    assert any("market.score_threshold" in p for p in exc.value.problems)
    sc = load_scenario(SCEN / "tiny.toml", ['market.score="pjm_composite"',
                                            "market.score_threshold=0"])
    assert market_spec(sc).score_threshold == 0.0

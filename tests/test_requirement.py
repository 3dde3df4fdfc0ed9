"""Tests for v2gsim.market.requirement: the per-unit requirement r_t(q) (eq. RQ) and its statistics."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared
from scipy.optimize import brentq

from v2gsim.market.agc import follow_signal, hourly_mileage, read_pjm_regd, synthetic_regd
from v2gsim.market.deviations import forward_backward
from v2gsim.market.requirement import RequirementStats, requirement_per_hour, score_at_capability

REGD = "pjm_regd_2s_2020-07/regd_2s_2020-07-{}.csv"


@pytest.fixture(scope="module")
def synthetic_day() -> np.ndarray:
    """One synthetic RegD-like day (24 h at 2 s), fixed seed."""
    return synthetic_regd(np.random.default_rng(11), days=1)


# ------------------------------------------------------------------ hand computations


def test_hand_computed_requirement():
    # dt = 1200 s: 3 samples per hour. Hour 1: 0 -> 1 -> 0.5, steps cover [0, 1] and [0.5, 1], so
    # F(u) = min(u, 1) + max(0, min(u, 1) - 0.5), total 1.5. q = 0.5: F = 0.75 -> 2u - 0.5 = 0.75,
    # u = 0.625; q = 0.2: F = 0.3 -> u = 0.3. Hour 2: 0 -> 1 -> -1 covers [0, 1] and [-1, 1],
    # F(u) = 3u, so r(q) = q. Hour 3 is constant (no mileage): requirement 0.
    s = np.array([0.0, 1.0, 0.5, 0.0, 1.0, -1.0, 0.3, 0.3, 0.3])
    assert requirement_per_hour(s, dt_s=1200, score_target=0.5) == pytest.approx([0.625, 0.5, 0.0])
    assert requirement_per_hour(s, dt_s=1200, score_target=0.2) == pytest.approx([0.3, 0.2, 0.0])
    assert requirement_per_hour(s, dt_s=1200, score_target=1.0) == pytest.approx([1.0, 1.0, 0.0])
    # and the exact score at those capabilities is the target
    assert score_at_capability(s, 0.625, dt_s=1200)[0] == pytest.approx(0.5)
    assert np.isnan(score_at_capability(s, 0.625, dt_s=1200)[2])
    # asymmetric limits, hour 2: up-part [0, 1] twice clipped at 0.5, down-part [0, 1] clipped at 0.2
    assert score_at_capability(s, [1, 0.5, 1], [1, 0.2, 1], dt_s=1200)[1] == pytest.approx(1.2 / 3)


def test_peak_requirement_is_max_abs(synthetic_day):
    r = requirement_per_hour(synthetic_day, score_target=1.0)
    assert r == pytest.approx(np.abs(synthetic_day.reshape(24, -1)).max(axis=1))
    assert np.all(score_at_capability(synthetic_day, r) == 1.0)


# ------------------------------------------------------------------ relation to the score


@pytest.mark.parametrize("q", [0.8, 0.9, 0.95, 0.99])
def test_requirement_is_the_clip_level_of_the_score(synthetic_day, q):
    """follow_signal with symmetric limits r_t C and no energy limit earns exactly q; less earns < q."""
    hours = synthetic_day.reshape(24, -1)
    r = requirement_per_hour(synthetic_day, score_target=q)
    bid = 250.0
    at = follow_signal(hours, bid, r * bid, r * bid, np.inf, np.inf).score
    below = follow_signal(hours, bid, r * bid * (1 - 1e-4), r * bid * (1 - 1e-4), np.inf, np.inf).score
    assert at == pytest.approx(np.full(24, q), abs=1e-12)
    assert np.all(below < q)


def test_requirement_matches_root_finding(synthetic_day):
    """Independent method: bisection (brentq) on the exact clipped-score function."""
    hours = synthetic_day.reshape(24, -1)[:6]
    for q in (0.7, 0.93):
        r = requirement_per_hour(hours, score_target=q)
        for t in range(hours.shape[0]):
            root = brentq(lambda u, t=t, q=q: score_at_capability(hours[t : t + 1], u)[0] - q, 0.0, 1.0,
                          xtol=1e-13)
            assert r[t] == pytest.approx(root, abs=1e-10)


def test_requirement_monotone_in_target(synthetic_day):
    qs = [0.5, 0.8, 0.9, 0.95, 0.99, 1.0]
    rs = np.array([requirement_per_hour(synthetic_day, score_target=q) for q in qs])
    assert np.all(np.diff(rs, axis=0) >= -1e-12)


def test_score_at_capability_matches_follow_signal_asymmetric(synthetic_day):
    hours = synthetic_day.reshape(24, -1)
    rng = np.random.default_rng(5)
    up, down = rng.uniform(0.3, 1.1, 24), rng.uniform(0.3, 1.1, 24)
    bid = 40.0
    ref = follow_signal(hours, bid, up * bid, down * bid, np.inf, np.inf).score
    assert score_at_capability(synthetic_day, up, down) == pytest.approx(ref, abs=1e-12)


def test_requirement_input_errors():
    with pytest.raises(ValueError, match="score_target"):
        requirement_per_hour(np.zeros(1800), score_target=0.0)
    with pytest.raises(ValueError, match="score_target"):
        requirement_per_hour(np.zeros(1800), score_target=1.5)
    with pytest.raises(ValueError, match="whole number of hours"):
        requirement_per_hour(np.zeros(1000))
    with pytest.raises(ValueError, match="NaN"):
        requirement_per_hour(np.full(1800, np.nan))
    with pytest.raises(ValueError, match=">= 0"):
        score_at_capability(np.zeros(1800), -1.0)


# ------------------------------------------------------------------ statistics


def test_stats_pooled_and_per_hour():
    rng = np.random.default_rng(3)
    r = rng.beta(8.0, 1.5, size=(40, 24))
    mil = rng.uniform(20, 30, size=(40, 24))
    hour = RequirementStats.from_samples(r, mil, score_target=0.9, pool="hour")
    assert not hour.pooled
    for t in (0, 7, 23):
        dev = forward_backward(r[:, t])
        assert hour.r_bar[t] == pytest.approx(dev.mean)
        assert hour.sigma_f[t] == pytest.approx(dev.sigma_f)
        assert hour.sigma_b[t] == pytest.approx(dev.sigma_b)
    pooled = RequirementStats.from_samples(r, mil, pool="pooled")
    dev = forward_backward(r.ravel())
    assert pooled.pooled
    assert pooled.r_bar == pytest.approx(np.full(24, r.mean()))
    assert pooled.sigma(3) == pytest.approx(np.full(24, dev.sigma_f))
    assert pooled.sigma(4) == pytest.approx(np.full(24, dev.sigma_b))
    assert pooled.mean_mileage == pytest.approx(mil.mean(axis=0))  # never pooled
    assert np.all(pooled.sigma_f >= pooled.std - 1e-12) and np.all(pooled.sigma_b >= pooled.std - 1e-12)
    # auto: pooled below min_days_per_hour, per hour at or above it
    assert RequirementStats.from_samples(r, mil, min_days_per_hour=41).pooled
    assert not RequirementStats.from_samples(r, mil, min_days_per_hour=40).pooled
    assert (hour.days, hour.hours) == (40, 24)
    with pytest.raises(ValueError, match="at least 2 days"):
        RequirementStats.from_samples(r[:1], mil[:1], pool="hour")
    with pytest.raises(ValueError, match="pool"):
        RequirementStats.from_samples(r, mil, pool="weekly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bound"):
        pooled.sigma(5)


def test_stats_from_synthetic_reproducible_and_consistent():
    a = RequirementStats.from_synthetic(np.random.default_rng(9), 3, 25.0, score_target=0.95)
    b = RequirementStats.from_synthetic(np.random.default_rng(9), 3, 25.0, score_target=0.95)
    assert a.pooled and a.days == 3 and a.hours == 24
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.r_bar, b.r_bar)
    # the samples are the requirement of the generator's days (same generator state)
    sig = synthetic_regd(np.random.default_rng(9), days=3)
    assert a.samples.ravel() == pytest.approx(requirement_per_hour(sig, score_target=0.95))
    assert a.mileage.ravel() == pytest.approx(hourly_mileage(sig))
    assert 0.8 < a.r_bar[0] < 0.95 and 0.0 < a.std[0] < 0.1
    assert a.mean_mileage.mean() == pytest.approx(25.0, rel=0.01)
    short = RequirementStats.from_signals([sig[: 12 * 1800], sig[: 20 * 1800]])
    assert short.hours == 12


def test_stats_from_pjm_files():
    paths = [require_shared(REGD.format(d)) for d in (16, 17)]
    st = RequirementStats.from_pjm_files(paths, score_target=0.95)
    assert st.pooled and st.days == 2 and st.hours == 24
    sigs = [read_pjm_regd(p) for p in paths]
    assert st.samples[1] == pytest.approx(requirement_per_hour(sigs[1], score_target=0.95))
    assert st.mean_mileage == pytest.approx((hourly_mileage(sigs[0]) + hourly_mileage(sigs[1])) / 2)
    # real RegD at q = 0.95: r from about 0.71 to 0.95, mean about 0.88 (module docstring)
    assert 0.86 < st.r_bar[0] < 0.90 and 0.70 < st.samples.min() < 0.72 and st.samples.max() < 0.96
    assert st.sigma_b[0] > st.sigma_f[0] >= st.std[0] - 1e-12  # long lower tail
    # the peak requirement is degenerate on real RegD: 47 of 48 hours reach |s| = 1
    peak = RequirementStats.from_pjm_files(paths, score_target=1.0)
    assert np.count_nonzero(peak.samples == 1.0) == 47


def test_net_discharge_stats_by_hand():
    from v2gsim.market.requirement import net_discharge_stats

    per_day = 24 * 1800
    up = np.full(per_day, 0.5)
    down = np.full(per_day, -0.5)
    ramp = np.repeat(np.linspace(-1, 1, 24), 1800)  # hour t has mean ramp[t]
    gamma_bar, sigma_f = net_discharge_stats([up, down])
    np.testing.assert_allclose(gamma_bar, 0.0, atol=1e-12)
    # residuals are +-0.5 with probability 1/2: forward deviation = std = 0.5
    np.testing.assert_allclose(sigma_f, 0.5, rtol=1e-3)
    g, s = net_discharge_stats([ramp, ramp])
    np.testing.assert_allclose(g, np.linspace(-1, 1, 24), atol=1e-12)
    np.testing.assert_allclose(s, 0.0, atol=1e-12)

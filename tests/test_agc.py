"""Tests of v2gsim.market.agc: synthetic RegD, PJM reader, hourly mileage, signal following."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from v2gsim.market.agc import (
    FollowResult,
    follow_signal,
    hourly_mileage,
    read_pjm_regd,
    synthetic_regd,
)
from v2gsim.market.agc.dispatch import _saturating_integrator

REGD_DIR = "pjm_regd_2s_2020-07"


def reference_follow(signal, bid, p_up, p_down, e_up, e_down, dt_s):
    """Per-sample reference implementation of the saturating integrator (one hour)."""
    h = dt_s / 3600.0
    energy = 0.0
    delivered = np.empty(len(signal))
    for k, s in enumerate(signal):
        want = min(max(bid * s, -p_down), p_up)
        new = min(max(energy + want * h, -e_down), e_up)
        delivered[k] = (new - energy) / h
        energy = new
    return delivered


def mileage_score(delivered, requested):
    """Hourly requested mileage, delivered mileage and score from per-sample powers (rows = hours):
    requested = sum |dr|, delivered = sum min(|dd|, |dr|), score = delivered / requested."""
    dr = np.abs(np.diff(requested, axis=1))
    dd = np.abs(np.diff(delivered, axis=1))
    req, got = dr.sum(axis=1), np.minimum(dd, dr).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return req, got, np.where(req > 0, got / req, np.nan)


# --------------------------------------------------------------------------------------------------
# hourly_mileage
# --------------------------------------------------------------------------------------------------


def test_hourly_mileage_by_hand():
    # dt = 1200 s -> 3 samples per hour. Hour 1: |0.5-0| + |-0.5-0.5| = 1.5.
    # Hour 2: |1-1| + |0-1| = 1. The step -0.5 -> 1 across the boundary counts in neither hour.
    s = np.array([0.0, 0.5, -0.5, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(hourly_mileage(s, dt_s=1200.0), [1.5, 1.0])


def test_hourly_mileage_constant_signal_is_zero():
    assert np.all(hourly_mileage(np.full(3600, 0.3)) == 0.0)


@pytest.mark.parametrize("bad", [np.zeros(1801), np.zeros((2, 1800)), np.zeros(0)])
def test_hourly_mileage_rejects_partial_hours(bad):
    with pytest.raises(ValueError):
        hourly_mileage(bad)


def test_hourly_mileage_rejects_dt_not_dividing_hour():
    with pytest.raises(ValueError, match="whole number"):
        hourly_mileage(np.zeros(10), dt_s=7.0)


# --------------------------------------------------------------------------------------------------
# read_pjm_regd (real data and malformed files)
# --------------------------------------------------------------------------------------------------


@pytest.mark.data
def test_real_regd_mileage_2020_07_16(shared_data):
    s = read_pjm_regd(shared_data(f"{REGD_DIR}/regd_2s_2020-07-16.csv"))
    assert s.shape == (43200,) and s.dtype == np.float64
    mileage = hourly_mileage(s)
    assert mileage.shape == (24,)
    # Acceptance value from SOURCE.md: mean hourly mileage 25.28 (min 17.26, max 32.25).
    assert abs(mileage.mean() - 25.28) <= 0.01
    assert abs(mileage.min() - 17.26) <= 0.01 and abs(mileage.max() - 32.25) <= 0.01
    assert abs(np.abs(np.diff(s)).sum() - 606.8) < 0.1  # daily Σ|Δ| (including hour boundaries)
    assert abs(np.mean(np.abs(s) == 1.0) - 0.118) < 0.001


@pytest.mark.data
def test_real_regd_2020_07_17(shared_data):
    s = read_pjm_regd(shared_data(f"{REGD_DIR}/regd_2s_2020-07-17.csv"))
    assert abs(hourly_mileage(s).mean() - 23.58) <= 0.01
    assert abs(s.std() - 0.654) < 0.001


def _write(path, text):
    path.write_text(text)
    return path


def _csv(values, start="2020-07-16 00:00:00", step_s=2):
    t0 = np.datetime64(start.replace(" ", "T"))
    times = t0 + np.arange(len(values)) * np.timedelta64(step_s, "s")
    rows = [f"{str(t).replace('T', ' ')},{v}" for t, v in zip(times, values, strict=True)]
    return "time_ept,regd\n" + "\n".join(rows) + "\n"


def test_read_pjm_regd_roundtrip(tmp_path):
    values = np.sin(np.arange(3600) / 100.0)
    path = _write(tmp_path / "ok.csv", _csv(values))
    np.testing.assert_allclose(read_pjm_regd(path), values, atol=1e-12)


def test_read_pjm_regd_missing_column(tmp_path):
    path = _write(tmp_path / "nocol.csv", "time_ept,value\n2020-07-16 00:00:00,0.1\n")
    with pytest.raises(ValueError, match=r"nocol\.csv.*missing column.*regd"):
        read_pjm_regd(path)


def test_read_pjm_regd_out_of_range(tmp_path):
    values = np.zeros(1800)
    values[7] = 1.2
    path = _write(tmp_path / "range.csv", _csv(values))
    with pytest.raises(ValueError, match=r"range\.csv.*outside \[-1, 1\]"):
        read_pjm_regd(path)


def test_read_pjm_regd_partial_hour(tmp_path):
    path = _write(tmp_path / "short.csv", _csv(np.zeros(1799)))
    with pytest.raises(ValueError, match=r"short\.csv.*whole number of hours"):
        read_pjm_regd(path)


def test_read_pjm_regd_not_top_of_hour(tmp_path):
    path = _write(tmp_path / "late.csv", _csv(np.zeros(1800), start="2020-07-16 00:00:02"))
    with pytest.raises(ValueError, match=r"late\.csv.*top of an hour"):
        read_pjm_regd(path)


def test_read_pjm_regd_missing_value(tmp_path):
    text = _csv(np.zeros(1800)).replace(",0.0\n", ",\n", 1)
    path = _write(tmp_path / "nan.csv", text)
    with pytest.raises(ValueError, match=r"nan\.csv: line 2: column 'regd' is missing"):
        read_pjm_regd(path)


# --------------------------------------------------------------------------------------------------
# synthetic_regd
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth_3days():
    return synthetic_regd(np.random.default_rng(2024), days=3)


def test_synthetic_shape_range_and_mileage(synth_3days):
    s = synth_3days
    assert s.shape == (3 * 43200,)
    # (clipped to [-1, 1] by construction) it saturates at both ends, about equally often
    up, down = np.mean(s == 1.0), np.mean(s == -1.0)
    assert up > 0.03 and down > 0.03 and abs(up - down) < 0.01
    mileage = hourly_mileage(s)
    assert abs(mileage.mean() / 25.0 - 1.0) <= 0.005
    # each day's own mean is within a few per cent of the target
    assert np.all(np.abs(mileage.reshape(3, 24).mean(axis=1) / 25.0 - 1.0) < 0.05)


def test_synthetic_energy_neutral_over_15_min(synth_3days):
    block_means = synth_3days.reshape(-1, 450).mean(axis=1)
    assert np.abs(block_means).max() < 0.01  # default neutral_tol (brief asks < 0.05)


def test_synthetic_smooth_saturated_like_real(synth_3days):
    s = synth_3days
    lag1 = np.corrcoef(s[:-1], s[1:])[0, 1]
    assert lag1 > 0.998  # real 2020-07-16/17: 0.9994 / 0.9995
    saturated = np.mean(np.abs(s) == 1.0)
    assert 0.10 <= saturated <= 0.16  # real: 11.8 % / 14.7 %
    assert 0.5 <= s.std() <= 0.7  # real: 0.603 / 0.654


def test_synthetic_is_reproducible_and_seed_dependent():
    a = synthetic_regd(np.random.default_rng(7), days=1)
    b = synthetic_regd(np.random.default_rng(7), days=1)
    c = synthetic_regd(np.random.default_rng(8), days=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("target", [15.0, 40.0, 80.0])
def test_synthetic_mileage_calibration_is_robust(target):
    s = synthetic_regd(np.random.default_rng(int(target)), days=1, mean_hourly_mileage=target)
    assert abs(hourly_mileage(s).mean() / target - 1.0) <= 0.005
    assert np.abs(s.reshape(-1, 450).mean(axis=1)).max() < 0.01


def test_synthetic_without_neutrality_and_at_4s():
    s = synthetic_regd(
        np.random.default_rng(3), days=2, dt_s=4.0, neutral_window_s=None, mean_hourly_mileage=20.0
    )
    assert s.shape == (2 * 21600,)
    assert abs(hourly_mileage(s, dt_s=4.0).mean() / 20.0 - 1.0) <= 0.005


def test_synthetic_low_mileage_needs_no_neutrality():
    # Without the 15-min constraint slow signals are possible ...
    s = synthetic_regd(np.random.default_rng(4), neutral_window_s=None, mean_hourly_mileage=5.0)
    assert abs(hourly_mileage(s).mean() / 5.0 - 1.0) <= 0.005
    # ... with it, a signal that saturates 13 % of the time must swing every 15 min: clear error.
    with pytest.raises(ValueError, match="could not reach"):
        synthetic_regd(np.random.default_rng(4), mean_hourly_mileage=5.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"days": 1.5},
        {"dt_s": 7.0},
        {"mean_hourly_mileage": 0.0},
        {"mean_hourly_mileage": 5000.0},  # above what a smooth signal in [-1, 1] can move
        {"saturation_fraction": 0.6},
        {"neutral_window_s": 7.0},
        {"neutral_window_s": 1000.0},
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        synthetic_regd(np.random.default_rng(0), **kwargs)


# --------------------------------------------------------------------------------------------------
# follow_signal
# --------------------------------------------------------------------------------------------------

# dt = 360 s = 0.1 h per sample, so energy steps are d/10 kWh.
HAND_SIGNAL = np.array(
    [
        [0.5, 1.0, 1.0, -1.0, 0.0],  # upper energy bound binds
        [0.5, 1.0, 1.0, -1.0, 0.0],  # loose limits
        [0.5, 1.0, 1.0, -1.0, 0.0],  # bid 0
        [-1.0, -1.0, -1.0, 1.0, 0.0],  # lower energy bound binds
    ]
)


def _hand_result() -> FollowResult:
    return follow_signal(
        HAND_SIGNAL,
        bid_kw=[10.0, 10.0, 0.0, 10.0],
        p_up_kw=[8.0, np.inf, 8.0, 10.0],
        p_down_kw=[6.0, np.inf, 6.0, 10.0],
        e_up_kwh=[1.5, np.inf, 1.5, 10.0],
        e_down_kwh=[10.0, np.inf, 10.0, 2.5],
        dt_s=360.0,
    )


def test_follow_signal_by_hand():
    res = _hand_result()
    # Row 0: r = [5, 10, 10, -10, 0]; power clip -> [5, 8, 8, -6, 0]; E = 0.5, 1.3, then 2.1 > 1.5
    # so the third sample delivers only (1.5 - 1.3) / 0.1 = 2 kW; then E = 0.9, 0.9.
    # Row 1: loose, d = r. Row 2: bid 0. Row 3: r = [-10, -10, -10, 10, 0], E = -1, -2, then
    # -3 < -2.5 so the third sample gives -5 kW; then E = -1.5, -1.5.
    expected = np.array(
        [
            [5.0, 8.0, 2.0, -6.0, 0.0],
            [5.0, 10.0, 10.0, -10.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [-10.0, -10.0, -5.0, 10.0, 0.0],
        ]
    )
    np.testing.assert_allclose(res.delivered_kw, expected, atol=1e-12)
    # Requested mileage: row 0 |Δr| = 5 + 0 + 20 + 10 = 35; row 3: 0 + 0 + 20 + 10 = 30.
    np.testing.assert_allclose(res.requested_mileage_kw, [35.0, 35.0, 0.0, 30.0])
    # Delivered: row 0 |Δd| = [3, 6, 8, 6], min with |Δr| = [3, 0, 8, 6] -> 17;
    # row 3 |Δd| = [0, 5, 15, 10], min with |Δr| = [0, 0, 15, 10] -> 25.
    np.testing.assert_allclose(res.delivered_mileage_kw, [17.0, 35.0, 0.0, 25.0], atol=1e-12)
    np.testing.assert_allclose(res.score[[0, 1, 3]], [17 / 35, 1.0, 25 / 30])
    assert math.isnan(res.score[2])
    np.testing.assert_allclose(res.net_energy_kwh, [0.9, 1.5, 0.0, -1.5], atol=1e-12)
    np.testing.assert_array_equal(res.energy_limited, [True, False, False, True])


def test_follow_signal_scalar_broadcast_matches_arrays():
    s = synthetic_regd(np.random.default_rng(11), days=1).reshape(24, 1800)
    a = follow_signal(s, 500.0, 400.0, 450.0, 20.0, 25.0)
    b = follow_signal(s, np.full(24, 500.0), np.full(24, 400.0), [450.0] * 24, [20.0] * 24, 25.0)
    np.testing.assert_array_equal(a.delivered_kw, b.delivered_kw)
    np.testing.assert_array_equal(a.score, b.score)


def test_follow_signal_loose_limits_score_one():
    s = synthetic_regd(np.random.default_rng(12), days=1).reshape(24, 1800)
    bid = np.linspace(100.0, 2400.0, 24)
    res = follow_signal(s, bid, np.inf, np.inf, np.inf, np.inf)
    np.testing.assert_array_equal(res.delivered_kw, bid[:, None] * s)
    np.testing.assert_array_equal(res.score, np.ones(24))
    np.testing.assert_allclose(res.requested_mileage_kw, bid * hourly_mileage(s.ravel()))
    np.testing.assert_allclose(res.net_energy_kwh, bid * s.sum(axis=1) * 2.0 / 3600.0)
    assert not res.energy_limited.any()


def test_follow_signal_matches_per_sample_reference_on_realistic_day():
    s = synthetic_regd(np.random.default_rng(13), days=1, neutral_window_s=None).reshape(24, 1800)
    rng = np.random.default_rng(14)
    bid = rng.uniform(200.0, 1000.0, 24)
    p_up, p_down = rng.uniform(150.0, 900.0, 24), rng.uniform(150.0, 900.0, 24)
    e_up, e_down = rng.uniform(0.0, 40.0, 24), rng.uniform(0.0, 40.0, 24)
    res = follow_signal(s, bid, p_up, p_down, e_up, e_down)
    assert res.energy_limited.sum() >= 12  # the fallback is exercised
    for i in range(24):
        ref = reference_follow(s[i], bid[i], p_up[i], p_down[i], e_up[i], e_down[i], 2.0)
        np.testing.assert_allclose(res.delivered_kw[i], ref, atol=1e-7)
    # the mileages and the score by their definitions, from the delivered powers
    req, got, score = mileage_score(res.delivered_kw, bid[:, None] * s)
    np.testing.assert_allclose(res.requested_mileage_kw, req, rtol=1e-12)
    np.testing.assert_allclose(res.delivered_mileage_kw, got, rtol=1e-9)
    np.testing.assert_allclose(res.score, score, rtol=1e-9)


def test_saturating_integrator_many_switches():
    # Alternating increments in a band narrower than one step switch bounds at every sample.
    inc = np.tile([1.0, -1.0], 500)
    out = _saturating_integrator(inc, -0.25, 0.25)
    np.testing.assert_allclose(out, np.tile([0.25, -0.25], 500))


@pytest.mark.parametrize(
    ("signal", "kwargs"),
    [
        (np.zeros(10), {}),  # not 2-D
        (np.full((2, 3), np.nan), {}),
        (np.zeros((2, 3)), {"bid_kw": -1.0}),
        (np.zeros((2, 3)), {"e_up_kwh": [1.0, 2.0, 3.0]}),
        (np.zeros((2, 3)), {"p_down_kw": np.nan}),
    ],
)
def test_follow_signal_rejects_bad_input(signal, kwargs):
    args = {"bid_kw": 1.0, "p_up_kw": 1.0, "p_down_kw": 1.0, "e_up_kwh": 1.0, "e_down_kwh": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError):
        follow_signal(signal, **args)


limits = st.one_of(st.floats(0.0, 50.0), st.just(np.inf))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signal=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 40)),
                  elements=st.floats(-1.0, 1.0)),
    bid=st.floats(0.0, 100.0),
    p_up=limits,
    p_down=limits,
    e_up=st.floats(0.0, 5.0),
    e_down=st.floats(0.0, 5.0),
    dt_s=st.sampled_from([2.0, 4.0, 60.0, 360.0]),
)  # fmt: skip
def test_follow_signal_properties(signal, bid, p_up, p_down, e_up, e_down, dt_s):
    res = follow_signal(signal, bid, p_up, p_down, e_up, e_down, dt_s=dt_s)
    d = res.delivered_kw
    r = bid * signal
    h = dt_s / 3600.0
    tol = 1e-9 * (1.0 + bid)
    energy = np.cumsum(d, axis=1) * h
    # energy band and power limits never violated
    assert np.all(energy <= e_up + tol) and np.all(energy >= -e_down - tol)
    assert np.all(d <= p_up + tol) and np.all(d >= -p_down - tol)
    # never more than requested, never in the opposite direction
    assert np.all(np.abs(d) <= np.abs(r) + tol)
    assert np.all(d * r >= 0.0)
    # score in [0, 1], NaN exactly where nothing was requested
    req = res.requested_mileage_kw
    assert np.all(np.isnan(res.score) == (req == 0))
    ok = ~np.isnan(res.score)
    want_req, want_got, want_score = mileage_score(d, r)
    np.testing.assert_allclose(req, want_req, rtol=1e-12, atol=tol)
    np.testing.assert_allclose(res.delivered_mileage_kw, want_got, rtol=1e-9, atol=tol)
    assert np.all(np.abs(res.score[ok] - want_score[ok]) * want_req[ok] <= 1e-9 * want_req[ok] + tol)
    np.testing.assert_allclose(res.net_energy_kwh, energy[:, -1], atol=tol)
    for i in range(signal.shape[0]):
        ref = reference_follow(signal[i], bid, p_up, p_down, e_up, e_down, dt_s)
        np.testing.assert_allclose(d[i], ref, atol=1e-7 * (1.0 + bid) / h)

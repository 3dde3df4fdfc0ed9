"""Battery degradation cost: throughput and charge/discharge switches (models.md 3.2 (6))."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.core.degradation import (
    DegradationMeter,
    DegradationSpec,
    battery_throughput_kwh,
    degradation_cost,
    planned_degradation_cost,
    switch_count,
    throughput_cost_rates,
)

SPEC = DegradationSpec(throughput_cost=0.02, cycle_cost=0.15)


def test_tiny_case_by_hand():
    # one EV, 7 slots: charge 2, 2, idle, discharge 1, 1, idle, charge 3 (grid kWh)
    g = np.array([[2.0, 2.0, 0.0, -1.0, -1.0, 0.0, 3.0]])
    # throughput: 0.9 * (2 + 2 + 3) + (1 + 1) / 0.8 = 6.3 + 2.5 = 8.8 kWh
    np.testing.assert_allclose(battery_throughput_kwh(g, 0.9, 0.8).sum(), 8.8)
    # u^c = 1100001: on at 0, off at 2, on at 6 -> 3; u^d = 0001100: on at 3, off at 5 -> 2
    assert switch_count(g).tolist() == [5]
    out = degradation_cost(g, SPEC, eta_c=[0.9], eta_d=[0.8])
    assert out.throughput_kwh[0] == pytest.approx(8.8)
    assert out.cost[0] == pytest.approx(0.02 * 8.8 + 0.15 * 5)  # 0.926 $
    # plugged in only during slots 0-4: charge on at 0, off at 2, discharge on at 3 count; the
    # discharge ending with the unplugging at slot 5 and the charge at 6 are outside T_i
    conn = np.array([[1, 1, 1, 1, 1, 0, 0]], dtype=bool)
    assert switch_count(np.where(conn, g, 0.0), conn).tolist() == [3]
    # 15-min slots: 8 kW for one slot is 2 kWh
    p = g / 0.25
    assert planned_degradation_cost(p, 0.25, SPEC, 0.9, 0.8)[0] == pytest.approx(0.926)


def test_no_switch_without_status_change_and_idle_tolerance():
    g = np.array([[1.0, 1.0, 1.0], [0.0, 1e-12, -1e-12], [-1.0, 1.0, -1.0]])
    # a block from the first slot is one switch; near-zero energies are idle; -1, 1, -1:
    # u^c = 010 (on, off: 2), u^d = 101 (on, off, on: 3)
    assert switch_count(g).tolist() == [1, 0, 2 + 3]


def test_linear_rates_reproduce_the_throughput_cost():
    rate_buy, rate_sell = throughput_cost_rates(SPEC, 0.9, 0.8)
    assert (rate_buy, rate_sell) == (pytest.approx(0.018), pytest.approx(0.025))
    g = np.array([3.0, -2.0])
    via_rates = rate_buy * 3.0 + rate_sell * 2.0
    assert via_rates == pytest.approx(0.02 * battery_throughput_kwh(g, 0.9, 0.8).sum())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 8), k=st.integers(1, 30))
def test_hourly_meter_equals_the_whole_day_function(seed, m, k):
    rng = np.random.default_rng(seed)
    conn = rng.random((m, k)) < 0.7
    g = np.where(conn, rng.choice([-1.0, 0.0, 2.0], size=(m, k)), 0.0)
    eta_c, eta_d = rng.uniform(0.8, 1.0, m), rng.uniform(0.8, 1.0, m)
    meter = DegradationMeter(SPEC, eta_c, eta_d)
    for t in range(k):
        meter.add_hour(g[:, t], conn[:, t])
    whole = degradation_cost(g, SPEC, eta_c, eta_d, conn)
    np.testing.assert_array_equal(meter.day_switches, whole.switches)
    np.testing.assert_allclose(meter.day_throughput_kwh, whole.throughput_kwh)
    day = meter.day_totals()
    assert day["degradation_cost"] == pytest.approx(whole.cost.sum())
    # at most two switches (one per status) per plugged-in slot
    assert np.all(whole.switches <= 2 * conn.sum(axis=1))
    meter.start_day()
    assert meter.day_totals() == {"throughput_kwh": 0.0, "switches": 0, "degradation_cost": 0.0}
    np.testing.assert_array_equal(meter.total_switches, whole.switches)

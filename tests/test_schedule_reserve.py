"""Reserve on base-point schedules and per-slot plug-in masks (issue #32; v2gsim.core.schedule).

Expected values come from the closed forms of models.md §5.1 (8) and (1)-(4), computed here
independently of the code under test, or by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.core.fleet import EVModelSpec, Fleet, FleetSpec
from v2gsim.core.schedule import (
    BaseSchedule,
    ExecutedSchedule,
    HourPlan,
    ScheduleError,
    delivered_reserve,
    execute_base,
    regrid_mask,
    sample_requests,
)

TOL = 1e-9


def _f(g: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray) -> np.ndarray:
    """Stored energy of a grid energy g: eta_c g on charge, g / eta_d on discharge (the test's own)."""
    return np.where(g > 0, eta_c * g, g / eta_d)


# ------------------------------------------------------------------ deployed reserve
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("slot", [15, 30, 60])
def test_deployed_is_the_closed_form(seed, slot):
    rng = np.random.default_rng(seed)
    n, s = 4, 24 * 60 // slot
    p = rng.uniform(-7, 7, (n, s))
    up, down = rng.uniform(0, 3, (n, s)), rng.uniform(0, 3, (n, s))
    sched = BaseSchedule(np.array([5, 1, 0, 3]), p, slot_minutes=slot, reserve_up_kw=up, reserve_down_kw=down)
    assert sched.has_reserve
    for w in (rng.choice([-1.0, 0.0, 1.0], s), rng.uniform(-1, 1, s)):
        out = sched.deployed(w)
        want = p.copy()
        for i in range(n):
            for j in range(s):
                if w[j] > 0:
                    want[i, j] += down[i, j] * w[j]
                elif w[j] < 0:
                    want[i, j] -= up[i, j] * (-w[j])
        np.testing.assert_allclose(out.power_kw, want, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(out.ev, sched.ev)
        assert out.slot_minutes == slot and not out.has_reserve
    # no request: the base point; the schedule itself is unchanged
    np.testing.assert_array_equal(sched.deployed(np.zeros(s)).power_kw, p)
    np.testing.assert_array_equal(sched.power_kw, p)


def test_deployed_with_one_direction_only():
    p = np.array([[1.0, 2.0, 3.0]])
    only_up = BaseSchedule(np.array([0]), p, reserve_up_kw=np.full((1, 3), 2.0), slot_minutes=60)
    np.testing.assert_allclose(only_up.deployed(np.array([-1.0, 1.0, 0.0])).power_kw, [[-1.0, 2.0, 3.0]])
    only_down = BaseSchedule(np.array([0]), p, reserve_down_kw=np.full((1, 3), 2.0), slot_minutes=60)
    np.testing.assert_allclose(only_down.deployed(np.array([-1.0, 1.0, 0.5])).power_kw, [[1.0, 4.0, 4.0]])
    plain = BaseSchedule(np.array([0]), p)
    assert not plain.has_reserve
    np.testing.assert_array_equal(plain.deployed(np.array([-1.0, 1.0, 1.0])).power_kw, p)


def test_reserve_and_request_shapes_are_checked():
    p = np.zeros((2, 24))
    with pytest.raises(ScheduleError, match="reserve_up_kw"):
        BaseSchedule(np.array([0, 1]), p, reserve_up_kw=np.full((2, 24), -0.1))
    with pytest.raises(ScheduleError, match="reserve_down_kw"):
        BaseSchedule(np.array([0, 1]), p, reserve_down_kw=np.zeros((2, 23)))
    with pytest.raises(ScheduleError, match="reserve_down_kw"):
        BaseSchedule(np.array([0, 1]), p, reserve_down_kw=np.full((2, 24), np.inf))
    sched = BaseSchedule(np.array([0, 1]), p, reserve_up_kw=np.ones((2, 24)))
    for bad in (np.zeros(23), np.zeros(25), np.zeros((1, 24)), np.zeros((2, 24))):
        with pytest.raises(ScheduleError, match="one value per slot"):
            sched.deployed(bad)


# ------------------------------------------------------------------ delivered reserve
def test_delivered_reserve_by_hand():
    """Two EVs, three 15-min slots. Requested changes q = deployed - base:
    EV 0: +3 (down), 0, -2 (up); EV 1: 0, -4 (up), +3 (down).
    Executed moves (executed - base): EV 0: +2 (partial, 2 of 3), 0, +1 (wrong way: 0);
    EV 1: 0, -6 (over-delivered: capped to 4), -1 (wrong way: 0).
    Requested per slot (3, 4, 5) x 0.25 kWh; delivered (2, 4, 0) x 0.25 kWh."""
    base = np.array([[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    deployed = np.array([[5.0, 2.0, 0.0], [0.0, -4.0, 3.0]])
    executed = np.array([[4.0, 2.0, 3.0], [0.0, -6.0, -1.0]])
    req, got = delivered_reserve(base, deployed, executed, 0.25)
    np.testing.assert_allclose(req, [0.75, 1.0, 1.25])
    np.testing.assert_allclose(got, [0.5, 1.0, 0.0])
    # full delivery everywhere: delivered = requested
    req, got = delivered_reserve(base, deployed, deployed, 0.25)
    np.testing.assert_allclose(got, req)
    # nothing moved: nothing delivered
    _, got = delivered_reserve(base, deployed, base, 0.25)
    np.testing.assert_array_equal(got, 0.0)


# ------------------------------------------------------------------ TSO requests
@pytest.mark.parametrize(("pi_up", "pi_down"), [(0.05, 0.05), (0.1, 0.3), (0.0, 0.5), (0.5, 0.5)])
def test_request_frequencies_are_the_probabilities(pi_up, pi_down):
    n = 200_000
    w = sample_requests(np.random.default_rng(42), n, pi_up, pi_down)
    assert w.shape == (n,) and set(np.unique(w)) <= {-1.0, 0.0, 1.0}
    for value, pi in ((-1.0, pi_up), (1.0, pi_down), (0.0, 1.0 - pi_up - pi_down)):
        freq = float(np.mean(w == value))
        sd = np.sqrt(max(pi * (1 - pi), 1e-12) / n)
        assert abs(freq - pi) <= 5 * sd, (value, freq, pi)
    np.testing.assert_array_equal(w, sample_requests(np.random.default_rng(42), n, pi_up, pi_down))
    if pi_up + pi_down > 0:
        assert not np.array_equal(w, sample_requests(np.random.default_rng(43), n, pi_up, pi_down))


# ------------------------------------------------------------------ masks on other grids
def test_regrid_mask_coarse_fine_and_refused():
    fine = np.array([[1, 1, 1, 1], [1, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(regrid_mask(fine, 4), fine)
    np.testing.assert_array_equal(regrid_mask(fine, 2), [[1, 1], [1, 0], [0, 0], [0, 1]])
    np.testing.assert_array_equal(regrid_mask(fine, 1), [[1], [0], [0], [0]])
    coarse = np.array([[1, 0], [0, 1]], dtype=bool)
    np.testing.assert_array_equal(regrid_mask(coarse, 4), [[1, 1, 0, 0], [0, 0, 1, 1]])
    np.testing.assert_array_equal(regrid_mask(coarse[:, :1], 4), [[1, 1, 1, 1], [0, 0, 0, 0]])
    for mask, slots in ((fine, 3), (np.ones((2, 3), bool), 2), (np.ones((2, 3), bool), 4)):
        with pytest.raises(ScheduleError, match="divide"):
            regrid_mask(mask, slots)


def test_hour_takes_the_covered_evs_rows_of_the_fleets_mask():
    """A 30-min schedule of EVs (2, 0) and a fleet mask of 15-min slots: each 30-min slot is plugged
    when both of its quarters are; without a mask the hour's state holds (plugged None)."""
    sched = BaseSchedule(np.array([2, 0]), np.arange(2 * 48, dtype=float).reshape(2, 48), slot_minutes=30)
    fleet_mask = np.array([[1, 1, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    plan = sched.hour(3, fleet_mask)
    assert isinstance(plan, HourPlan) and plan.slot_h == 0.5
    np.testing.assert_array_equal(plan.plugged, [[False, True], [True, False]])
    np.testing.assert_array_equal(plan.power_kw, sched.power_kw[:, 6:8])
    assert sched.hour(3).plugged is None
    # an hourly mask repeats over the hour's slots
    np.testing.assert_array_equal(sched.hour(0, fleet_mask[:, :1]).plugged, [[False, False], [True, True]])


# ------------------------------------------------------------------ per-slot execution (property)
models_st = st.lists(
    st.builds(dict, battery_kwh=st.floats(10, 120), max_charge_kw=st.floats(1, 22),
              max_discharge_kw=st.floats(0.5, 22), v2g=st.booleans(),
              charge_efficiency=st.floats(0.5, 1.0), discharge_efficiency=st.floats(0.5, 1.0),
              soc_min=st.floats(0.0, 0.4), soc_max=st.floats(0.85, 1.0)),
    min_size=1, max_size=3,
)
HOURS = 5


def _fleet(models: list[dict], seed: int, m: int) -> Fleet:
    k = len(models)
    specs = tuple(EVModelSpec(name=f"m{i}", share=1.0 / k,
                              **{**d, "max_discharge_kw": d["max_discharge_kw"] if d["v2g"] else 0.0})
                  for i, d in enumerate(models))
    spec = FleetSpec(count=m, battery_kwh=40.0, charger_kw=11.0, baseline_charge_kw=7.0, soc_min=0.2,
                     soc_max=0.9, soc_target=0.8, soc_init=(0.3, 0.8), models=specs)
    return Fleet.from_spec(spec, np.random.default_rng(seed))


def _feasible(lim, e0: np.ndarray, s: int, dt_s: float, rng) -> np.ndarray:
    """Powers within each EV's limits whose total charge and total discharge each fit in 95 % of
    the EV's room in its window, so that the plan restricted to any subset of slots is feasible."""
    n = e0.size
    u = rng.uniform(-1, 1, (n, s)) * (rng.random((n, s)) < 0.7)
    p = np.where(u > 0, u * lim.charge_kw[:, None], u * lim.discharge_kw[:, None])
    up_room = 0.95 * np.maximum(lim.e_max - e0, 0.0)
    down_room = 0.95 * np.maximum(e0 - lim.e_min, 0.0)
    charge = lim.eta_c * np.maximum(p, 0).sum(axis=1) * dt_s
    drain = np.maximum(-p, 0).sum(axis=1) * dt_s / lim.eta_d
    sc = np.minimum(1.0, up_room / np.maximum(charge, 1e-12))
    sd = np.minimum(1.0, down_room / np.maximum(drain, 1e-12))
    return np.where(p > 0, p * sc[:, None], p * sd[:, None])


def _late_mask(n: int, s: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(n, s) plugged from a random slot on (not on an hour boundary in general); the first EV is
    always late by at least one slot, some EVs leave early too."""
    arrive = rng.integers(0, s // 2, n)
    arrive[0] = max(arrive[0], 1)
    leave = np.where(rng.random(n) < 0.3, rng.integers(s // 2 + 1, s + 1, n), s)
    j = np.arange(s)[None, :]
    return (j >= arrive[:, None]) & (j < leave[:, None]), arrive


@settings(max_examples=60, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), slot=st.sampled_from([15, 30, 60]))
def test_a_late_arrival_in_the_slot_mask_misses_exactly_its_slots(models, seed, slot):
    """Issue #32 acceptance: a feasible plan executed hour by hour with a per-slot plug-in mask
    executes exactly the plugged slots' planned power; the reduction is the missed slots' planned
    energy; stored energy follows eta_c x grid on charge and grid / eta_d on discharge and stays in
    the window after every slot (or, starting outside it, never goes further out)."""
    rng = np.random.default_rng(seed)
    f = _fleet(models, seed, m=6)
    ev = np.arange(f.size)
    lim = f.limits(ev)
    k = 60 // slot
    s, dt_s = HOURS * k, slot / 60.0
    e0 = f.energy_kwh[ev].copy()
    floor, ceiling = np.minimum(lim.e_min, e0), np.maximum(lim.e_max, e0)  # never further out
    power = _feasible(lim, e0, s, dt_s, rng)
    mask, _ = _late_mask(ev.size, s, rng)
    sched = BaseSchedule(ev, power, slot_minutes=slot)
    e = e0.copy()
    executed = np.zeros_like(power)
    for t in range(HOURS):
        plan = sched.hour(t, mask[:, t * k:(t + 1) * k])
        start = e.copy()
        out, e = execute_base(plan.power_kw, e, plan.plugged, lim, dt_s)
        executed[:, t * k:(t + 1) * k] = out
        # slot by slot: the battery law, and inside the window after every slot
        x = start
        for j in range(k):
            x = x + _f(out[:, j] * dt_s, lim.eta_c, lim.eta_d)
            assert np.all(x >= floor - TOL) and np.all(x <= ceiling + TOL)
        np.testing.assert_allclose(e, x, atol=1e-9)
    np.testing.assert_allclose(executed, power * mask, atol=1e-9)
    planned = power.sum(axis=1) * dt_s
    got = executed.sum(axis=1) * dt_s
    np.testing.assert_allclose(planned - got, (power * ~mask).sum(axis=1) * dt_s, atol=1e-9)
    stored = e0 + (lim.eta_c[:, None] * np.maximum(power * mask, 0)
                   - np.maximum(-power * mask, 0) / lim.eta_d[:, None]).sum(axis=1) * dt_s
    np.testing.assert_allclose(e, stored, atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), slot=st.sampled_from([15, 30, 60]))
def test_any_plan_with_a_slot_mask_stays_in_the_limits(models, seed, slot):
    """Wild plans: an EV not plugged in a slot executes 0 there, power within its limits, the
    stored energy follows the battery law and never leaves the window (nor goes
    further out of it)."""
    rng = np.random.default_rng(seed)
    f = _fleet(models, seed, m=6)
    ev = np.arange(f.size)
    lim = f.limits(ev)
    k = 60 // slot
    dt_s = slot / 60.0
    e = f.energy_kwh[ev].copy()
    floor, ceiling = np.minimum(lim.e_min, e), np.maximum(lim.e_max, e)  # never further out
    mask, _ = _late_mask(ev.size, HOURS * k, rng)
    wild = rng.uniform(-40, 40, (ev.size, HOURS * k))
    for t in range(HOURS):
        sl = slice(t * k, (t + 1) * k)
        start = e.copy()
        out, e = execute_base(wild[:, sl], e, mask[:, sl], lim, dt_s)
        assert np.all(out[~mask[:, sl]] == 0)
        assert np.all(out <= lim.charge_kw[:, None] + TOL) and np.all(out >= -lim.discharge_kw[:, None] - TOL)
        assert np.all(np.abs(out) <= np.abs(wild[:, sl]) + TOL)  # never more than planned
        assert np.all(out * wild[:, sl] >= -TOL)  # never the other way
        x = start
        for j in range(k):
            x = x + _f(out[:, j] * dt_s, lim.eta_c, lim.eta_d)
            assert np.all(x >= floor - TOL) and np.all(x <= ceiling + TOL)
        np.testing.assert_allclose(e, x, atol=1e-9)


def test_the_fleet_executes_the_slot_mask_of_the_plan():
    """Through Fleet.hour_flows: one EV plugged in from the third 15-min slot of the hour executes
    only the last two slots of a +4 kW plan (eta_c 0.9: +0.9 x 2 kWh stored)."""
    model = EVModelSpec("a", 1.0, battery_kwh=40.0, max_charge_kw=4.0, max_discharge_kw=4.0,
                        soc_min=0.1, soc_max=0.9, charge_efficiency=0.9, discharge_efficiency=0.9)
    spec = FleetSpec(count=2, battery_kwh=40.0, charger_kw=11.0, baseline_charge_kw=7.0, soc_min=0.2,
                     soc_max=0.9, soc_target=0.8, soc_init=(0.3, 0.8), models=(model,))
    f = Fleet.from_spec(spec, np.random.default_rng(0))
    f.energy_kwh[:] = [10.0, 10.0]
    sched = BaseSchedule(np.array([0]), np.full((1, 4), 4.0), slot_minutes=15)
    mask = np.array([[0, 0, 1, 1], [1, 1, 1, 1]], dtype=bool)
    flows = f.hour_flows(np.array([True, True]), plan=sched.hour(0, mask))
    np.testing.assert_allclose(flows.scheduled.executed_kw, [[0.0, 0.0, 4.0, 4.0]])
    np.testing.assert_allclose(flows.scheduled.base_kwh, [2.0])
    np.testing.assert_allclose(flows.scheduled.deviation_kwh, [2.0])
    f.settle_hour(flows, 0.0)
    assert f.energy_kwh[0] == pytest.approx(10.0 + 0.9 * 2.0)


# ------------------------------------------------------------------ ExecutedSchedule
def test_executed_schedule_records_and_settles_the_reserve():
    """Two EVs, four 30-min slots (2 h), base 2 kW, reserve up 1 kW and down 3 kW; requests
    (+1, -1, 0, +1): planned = (5, 1, 2, 5) kW. Executed: EV 0 follows; EV 1 does
    (3.5, 2, 2, 2) kW: half the first down call, nothing of the up call, nothing of the last.
    Requested per EV (3 + 1 + 3) x 0.5 = 3.5 kWh; delivered EV 0 3.5, EV 1 (1.5) x 0.5 = 0.75."""
    base = BaseSchedule(np.array([0, 1]), np.full((2, 4), 2.0), slot_minutes=30,
                        reserve_up_kw=np.full((2, 4), 1.0), reserve_down_kw=np.full((2, 4), 3.0))
    ex = ExecutedSchedule(base, np.array([1.0, -1.0, 0.0, 1.0]))
    np.testing.assert_allclose(ex.planned.power_kw, [[5.0, 1.0, 2.0, 5.0]] * 2)
    h1 = ex.hour(1, np.array([[1], [0]], dtype=bool))
    np.testing.assert_allclose(h1.power_kw, [[2.0, 5.0]] * 2)
    np.testing.assert_array_equal(h1.plugged, [[True, True], [False, False]])
    ex.record(0, np.array([[5.0, 1.0], [3.5, 2.0]]))
    ex.record(1, np.array([[2.0, 5.0], [2.0, 2.0]]))
    np.testing.assert_allclose(ex.executed_kw, [[5.0, 1.0, 2.0, 5.0], [3.5, 2.0, 2.0, 2.0]])
    req, got = ex.reserve_kwh()
    assert req == pytest.approx(7.0) and got == pytest.approx(3.5 + 0.75)
    # without requests: the plan is the base point, no reserve requested or delivered
    plain = ExecutedSchedule(base)
    assert plain.planned is base
    plain.record(0, np.full((2, 2), 2.0))
    assert plain.reserve_kwh() == (0.0, 0.0)

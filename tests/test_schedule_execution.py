"""Base-point schedules executed by the fleet (issue 32 item 1; v2gsim.core.schedule).

Every expected value is computed independently of the code under test: by hand, from the
battery law of models.md §5.1 (1)-(4) applied slot by slot, or by comparison with a fleet that has
no schedule.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim import load_scenario
from v2gsim.core.fleet import EVModelSpec, Fleet, FleetSpec
from v2gsim.core.schedule import BaseSchedule, ScheduleError
from v2gsim.policies import Decision, Observation
from v2gsim.sim.day import SCHEDULE_COLUMNS
from v2gsim.sim.model import V2GMarketModel

TOL = 1e-9
HOURS = 6


def _spec(models=(), count=8, **kw) -> FleetSpec:
    base = dict(count=count, battery_kwh=40.0, charger_kw=11.0, baseline_charge_kw=7.0,
                soc_min=0.2, soc_max=0.9, soc_target=0.8, soc_init=(0.3, 0.8))
    base.update(kw)
    return FleetSpec(models=tuple(models), **base)


def _f(g: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray) -> np.ndarray:
    """Stored energy of grid energy g: eta_c g on charge, g / eta_d on discharge (the test's own)."""
    return np.where(g > 0, eta_c * g, g / eta_d)


# ------------------------------------------------------------------ by hand
def test_one_hour_of_15_min_slots_by_hand():
    """One EV (eta_c 0.9, eta_d 0.8, 10 kWh, window [2, 9] kWh, 4 kW charge, 3 kW discharge), E = 8.

    Plan (kW) per 15-min slot: +6, +4, -5, -2.
    slot 1: clipped to 4 kW (charger); window room (9 - 8) / (0.9 * 0.25) = 4.44 kW -> 4 kW, E = 8.9
    slot 2: room (9 - 8.9) / 0.225 = 0.444 kW -> 0.444 kW, E = 9.0
    slot 3: clipped to -3 kW (discharge limit), E = 9 - 0.75 / 0.8 = 8.0625
    slot 4: -2 kW, E = 8.0625 - 0.5 / 0.8 = 7.4375
    """
    ev_model = EVModelSpec("a", 1.0, battery_kwh=10.0, max_charge_kw=4.0, max_discharge_kw=3.0,
                           soc_min=0.2, soc_max=0.9, charge_efficiency=0.9, discharge_efficiency=0.8)
    f = Fleet.from_spec(_spec([ev_model], count=2), np.random.default_rng(0))
    f.energy_kwh[:] = [8.0, 5.0]
    plan = BaseSchedule(ev=np.array([0]), power_kw=np.array([[6.0, 4.0, -5.0, -2.0]]), slot_minutes=15)
    flows = f.hour_flows(np.array([True, True]), plan=plan.hour(0))
    sh = flows.scheduled
    np.testing.assert_allclose(sh.executed_kw, [[4.0, 0.1 / 0.225, -3.0, -2.0]], atol=1e-12)
    np.testing.assert_allclose(sh.energy_kwh, [7.4375])
    b = (4.0 + 0.1 / 0.225 - 3.0 - 2.0) * 0.25
    np.testing.assert_allclose(sh.base_kwh, [b])
    np.testing.assert_allclose(sh.deviation_kwh, [(2.0 + (4 - 0.1 / 0.225) + 2.0 + 0.0) * 0.25])
    # regulation headroom around the executed base point: up 3 + min p = 0 kW, down 4 - max p = 0 kW
    np.testing.assert_allclose([sh.up_kw[0], sh.down_kw[0]], [0.0, 0.0], atol=1e-12)
    # the uncovered EV 1 charges its baseline to the target 8 kWh: (8 - 5) / 0.9 kW, as without a plan
    assert flows.base_kw[1] == pytest.approx(3.0 / 0.9)
    out = f.settle_hour(flows, 0.0)
    np.testing.assert_allclose(f.energy_kwh, [7.4375, 8.0])
    np.testing.assert_allclose(out.grid_kwh, [b, 3.0 / 0.9])


def test_regulation_around_an_hourly_base_point_by_hand():
    """Homogeneous EV (40 kWh, window [8, 36], charger 11 kW), E = 20, plan -5 kW for one hour:
    base b = -5 kWh, E' = 15; up cap min(11 - 5, 15 - 8) = 6 kWh, down cap min(11 + 5, 36 - 15) = 16 kWh."""
    f = Fleet.from_spec(_spec(count=1), np.random.default_rng(0))
    f.energy_kwh[:] = 20.0
    flows = f.hour_flows(np.array([True]), plan=BaseSchedule(np.array([0]), np.array([[-5.0]])).hour(0))
    assert flows.e_up_kwh == pytest.approx(6.0) and flows.e_down_kwh == pytest.approx(16.0)
    assert flows.p_up_kw == pytest.approx(6.0) and flows.p_down_kw == pytest.approx(16.0)
    out = f.settle_hour(flows, 4.0)  # the fleet delivers 4 kWh upward: the EV discharges 9 kWh
    np.testing.assert_allclose(out.grid_kwh, [-9.0])
    np.testing.assert_allclose(f.energy_kwh, [11.0])


def test_schedule_validation():
    with pytest.raises(ScheduleError, match="slot_minutes"):
        BaseSchedule(np.array([0]), np.zeros((1, 24)), slot_minutes=20)
    with pytest.raises(ScheduleError, match="distinct"):
        BaseSchedule(np.array([1, 1]), np.zeros((2, 24)))
    with pytest.raises(ScheduleError, match="whole hours"):
        BaseSchedule(np.array([0]), np.zeros((1, 6)), slot_minutes=15)
    with pytest.raises(ScheduleError, match="finite"):
        BaseSchedule(np.array([0]), np.full((1, 24), np.inf))
    # NaN = no plan: an hour whose slots are all NaN leaves the EV uncovered (baseline charging)
    half = np.full((2, 48), np.nan)
    half[0, :2] = [1.0, np.nan]
    hp = BaseSchedule(np.array([4, 7]), half, slot_minutes=30).hour(0)
    assert hp.ev.tolist() == [4] and hp.rows.tolist() == [0] and hp.power_kw.tolist() == [[1.0, 0.0]]
    assert BaseSchedule(np.array([4, 7]), half, slot_minutes=30).planned_kwh.tolist() == [0.5, 0.0]
    s = BaseSchedule(np.array([0, 3]), np.zeros((2, 96)), slot_minutes=15)
    assert s.hours == 24 and s.slots_per_hour == 4
    with pytest.raises(ScheduleError, match="fleet has 3"):
        s.check(3, 24)
    with pytest.raises(ScheduleError, match="spans 24 h"):
        s.check(10, 12)


# ------------------------------------------------------------------ property tests
models_st = st.lists(
    st.builds(dict, battery_kwh=st.floats(10, 120), max_charge_kw=st.floats(1, 22),
              max_discharge_kw=st.floats(0.5, 22), v2g=st.booleans(),
              charge_efficiency=st.floats(0.5, 1.0), discharge_efficiency=st.floats(0.5, 1.0),
              self_discharge_per_h=st.sampled_from([0.0, 1e-4]),
              soc_min=st.floats(0.0, 0.4), soc_max=st.floats(0.85, 1.0)),
    min_size=0, max_size=3,
)


def _fleet(models: list[dict], seed: int, m: int) -> Fleet:
    """Homogeneous fleet when ``models`` is empty, else one built from those EV models."""
    k = len(models)
    specs = [EVModelSpec(name=f"m{i}", share=1.0 / k,
                         **{**d, "max_discharge_kw": d["max_discharge_kw"] if d["v2g"] else 0.0})
             for i, d in enumerate(models)]
    return Fleet.from_spec(_spec(specs, count=m), np.random.default_rng(seed))


def _feasible_plan(f: Fleet, ev: np.ndarray, slots_per_hour: int, rng) -> np.ndarray:
    """Random powers within each EV's limits whose total charge and total discharge each fit the
    EV's window (with the day's self-discharge): every subset of the slots is feasible too."""
    n, s = ev.size, HOURS * slots_per_hour
    dt_s = 1.0 / slots_per_hour
    cap, e = f.capacity_kwh[ev], f.energy_kwh[ev]
    ch, dis = f.charger_kw[ev], f.discharge_kw[ev] * f.v2g[ev]
    eta_c, eta_d = f.charge_efficiency[ev], f.discharge_efficiency[ev]
    loss_max = e * (1 - (1 - f.self_discharge_per_h[ev]) ** HOURS)
    up_room = 0.95 * np.maximum(f.soc_max[ev] * cap - e, 0.0)
    down_room = 0.95 * np.maximum(e - loss_max - f.soc_min[ev] * cap, 0.0)
    u = rng.uniform(-1, 1, (n, s)) * (rng.random((n, s)) < 0.7)
    p = np.where(u > 0, u * ch[:, None], u * dis[:, None])
    charge = (eta_c * np.maximum(p, 0).sum(axis=1) * dt_s)
    drain = (np.maximum(-p, 0).sum(axis=1) * dt_s / eta_d)
    scale_c = np.minimum(1.0, up_room / np.maximum(charge, 1e-12))
    scale_d = np.minimum(1.0, down_room / np.maximum(drain, 1e-12))
    return np.where(p > 0, p * scale_c[:, None], p * scale_d[:, None])


def _check_hour(f: Fleet, flows, out, before: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Stored energy of each covered EV = start - self-discharge + sum over slots of f(p dt_s), and
    every slot's end inside the EV's window (self-discharge alone may take it below the floor: then
    the base point never takes it lower)."""
    sh = flows.scheduled
    ev, lim_c, lim_d = sh.ev, f.charge_efficiency[sh.ev], f.discharge_efficiency[sh.ev]
    loss = before[ev] * (1 - (1 - f.self_discharge_per_h[ev]))
    e = before[ev] - loss
    floor, ceiling = np.minimum(lo[ev], e), np.maximum(hi[ev], e)
    for j in range(sh.executed_kw.shape[1]):
        e = e + _f(sh.executed_kw[:, j] * sh.slot_h, lim_c, lim_d)
        assert np.all(e >= floor - TOL) and np.all(e <= ceiling + TOL)
    np.testing.assert_allclose(f.energy_kwh[ev], e, atol=1e-9)
    np.testing.assert_allclose(out.grid_kwh[ev], sh.base_kwh, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), slot=st.sampled_from([15, 30, 60]))
def test_executed_equals_planned_when_plugged_as_planned(models, seed, slot):
    rng = np.random.default_rng(seed)
    f = _fleet(models, seed, m=12)
    twin = copy.deepcopy(f)  # the same fleet without a schedule
    ev = np.sort(rng.choice(f.size, size=int(rng.integers(1, f.size)), replace=False))
    k = 60 // slot
    plan = BaseSchedule(ev, _feasible_plan(f, ev, k, rng), slot_minutes=slot)
    lo, hi = f.soc_min * f.capacity_kwh, f.soc_max * f.capacity_kwh
    covered = np.zeros(f.size, bool)
    covered[ev] = True
    for t in range(HOURS):
        plugged = covered | (rng.random(f.size) < 0.6)
        before = f.energy_kwh.copy()
        flows = f.hour_flows(plugged, plan=plan.hour(t))
        out = f.settle_hour(flows, 0.0)
        np.testing.assert_allclose(flows.scheduled.executed_kw, plan.hour(t).power_kw, rtol=1e-12,
                                   atol=1e-9)
        assert flows.scheduled.deviation_kwh.sum() < 1e-8
        _check_hour(f, flows, out, before, lo, hi)
        # the uncovered EVs charge exactly as without a schedule
        twin_out = twin.settle_hour(twin.hour_flows(plugged), 0.0)
        np.testing.assert_array_equal(f.energy_kwh[~covered], twin.energy_kwh[~covered])
        np.testing.assert_array_equal(out.grid_kwh[~covered], twin_out.grid_kwh[~covered])


@settings(max_examples=40, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), slot=st.sampled_from([15, 30, 60]),
       late=st.integers(1, HOURS - 1))
def test_a_late_arrival_misses_exactly_its_missed_slots(models, seed, slot, late):
    """An EV plugged from hour ``late`` on executes the planned energy of the later slots; the
    missed slots' planned energy is the whole reduction and deviation is |missed| energy."""
    rng = np.random.default_rng(seed)
    f = _fleet(models, seed, m=6)
    ev = np.arange(f.size)
    k = 60 // slot
    power = _feasible_plan(f, ev, k, rng)
    plan = BaseSchedule(ev, power, slot_minutes=slot)
    arrives = np.where(rng.random(f.size) < 0.5, late, 0)  # half the EVs are ``late`` hours late
    executed = np.zeros(f.size)
    deviation = np.zeros(f.size)
    lo, hi = f.soc_min * f.capacity_kwh, f.soc_max * f.capacity_kwh
    for t in range(HOURS):
        before = f.energy_kwh.copy()
        flows = f.hour_flows(t >= arrives, plan=plan.hour(t))
        out = f.settle_hour(flows, 0.0)
        _check_hour(f, flows, out, before, lo, hi)
        executed += flows.scheduled.base_kwh
        deviation += flows.scheduled.deviation_kwh
    dt_s = slot / 60
    slot_hour = np.arange(HOURS * k) // k
    kept = slot_hour[None, :] >= arrives[:, None]
    want = (power * kept).sum(axis=1) * dt_s
    np.testing.assert_allclose(executed, want, atol=1e-9)
    planned = power.sum(axis=1) * dt_s
    np.testing.assert_allclose(planned - executed, (power * ~kept).sum(axis=1) * dt_s, atol=1e-9)
    np.testing.assert_allclose(deviation, np.abs(power * ~kept).sum(axis=1) * dt_s, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), slot=st.sampled_from([15, 30, 60]),
       fracs=st.lists(st.floats(-1, 1), min_size=HOURS, max_size=HOURS))
def test_regulation_around_the_base_point_keeps_every_ev_in_its_limits(models, seed, slot, fracs):
    """Any plan (not only feasible ones) and any regulation within the fleet's window: the fleet
    delivers exactly the net energy around its base point, covered EVs stay within power limits
    (per slot, regulation spread over the hour) and never leave (or go further out of) their window."""
    rng = np.random.default_rng(seed)
    f = _fleet(models, seed, m=10)
    ev = np.sort(rng.choice(f.size, size=5, replace=False))
    k = 60 // slot
    wild = rng.uniform(-30, 30, (ev.size, HOURS * k))
    plan = BaseSchedule(ev, wild, slot_minutes=slot)
    lo, hi = f.soc_min * f.capacity_kwh, f.soc_max * f.capacity_kwh
    for t, frac in enumerate(fracs):
        plugged = rng.random(f.size) < 0.8
        before = f.energy_kwh.copy()
        flows = f.hour_flows(plugged, plan=plan.hour(t))
        net = frac * (flows.e_up_kwh if frac > 0 else flows.e_down_kwh)
        out = f.settle_hour(flows, net)
        assert np.isclose(out.grid_kwh.sum(), flows.base_kw.sum() - net, atol=1e-8)
        sh = flows.scheduled
        reg = out.grid_kwh[ev] - sh.base_kwh  # regulation energy of the hour, spread over it
        p = sh.executed_kw + reg[:, None]
        assert np.all(p <= f.charger_kw[ev, None] + TOL)
        assert np.all(p >= -(f.discharge_kw * f.v2g)[ev, None] - TOL)
        assert np.all(sh.executed_kw[~plugged[ev]] == 0)
        start = before - before * f.self_discharge_per_h
        floor, ceiling = np.minimum(lo, start)[ev], np.maximum(hi, start)[ev]
        # the base point slot by slot (models.md §5.1 (1)), inside the window after every slot
        eta_c, eta_d = f.charge_efficiency[ev], f.discharge_efficiency[ev]
        e = start[ev]
        for j in range(k):
            e = e + _f(sh.executed_kw[:, j] * sh.slot_h, eta_c, eta_d)
            assert np.all(e >= floor - TOL) and np.all(e <= ceiling + TOL)
        np.testing.assert_allclose(sh.energy_kwh, e, atol=1e-9)
        # regulation netted with the hour's base energy b: E' + f(b + r) - f(b)
        b = sh.base_kwh
        np.testing.assert_allclose(f.energy_kwh[ev], e + _f(b + reg, eta_c, eta_d) - _f(b, eta_c, eta_d),
                                   atol=1e-9)
        assert np.all(f.energy_kwh[ev] <= ceiling + TOL) and np.all(f.energy_kwh[ev] >= floor - TOL)


# ------------------------------------------------------------------ no schedule = today's fleet
TWO_MODELS = (EVModelSpec("a", 0.5, 30.0, 7.0, 5.0, 0.1, 0.95, True, 0.92, 0.9, 1e-4),
              EVModelSpec("b", 0.5, 60.0, 11.0, 0.0, 0.2, 0.9, False, 0.95, 1.0))


@pytest.mark.parametrize("models", [(), TWO_MODELS])
def test_an_empty_schedule_leaves_the_fleet_bit_identical(models):
    """Through the schedule path with no covered EV (and with covered EVs that never plug in),
    every flow, energy and stored energy is bit-identical to the path without a plan."""
    f = Fleet.from_spec(_spec(models, count=30), np.random.default_rng(3))
    g, h = copy.deepcopy(f), copy.deepcopy(f)
    rng = np.random.default_rng(4)
    empty = BaseSchedule(np.zeros(0, np.int64), np.zeros((0, 24)))
    absent = BaseSchedule(np.array([2, 7]), rng.uniform(-9, 9, (2, 24)))
    for t in range(24):
        plugged = rng.random(30) < 0.7
        plugged[[2, 7]] = False
        offered = rng.random(30) < 0.9
        fa = f.hour_flows(plugged, offered)
        fb = g.hour_flows(plugged, offered, plan=empty.hour(t))
        fc = h.hour_flows(plugged, offered, plan=absent.hour(t))
        for other in (fb, fc):
            assert (other.p_up_kw, other.p_down_kw, other.e_up_kwh, other.e_down_kwh) == (
                fa.p_up_kw, fa.p_down_kw, fa.e_up_kwh, fa.e_down_kwh)
            np.testing.assert_array_equal(other.base_kw, fa.base_kw)
        net = rng.uniform(-1, 1) * (fa.e_up_kwh if t % 2 else fa.e_down_kwh)
        oa, ob, oc = f.settle_hour(fa, net), g.settle_hour(fb, net), h.settle_hour(fc, net)
        for other, fleet in ((ob, g), (oc, h)):
            np.testing.assert_array_equal(fleet.energy_kwh, f.energy_kwh)
            np.testing.assert_array_equal(other.grid_kwh, oa.grid_kwh)
            np.testing.assert_array_equal(other.stored_kwh, oa.stored_kwh)


class _Wrap:
    """A scheduling policy that returns another policy's decision with a fixed schedule."""

    schedules = True

    def __init__(self, inner, schedule) -> None:
        self.inner, self.plan, self.name = inner, schedule, "wrap"

    def decide(self, obs: Observation) -> Decision:
        d = self.inner.decide(obs)
        return Decision(d.rebate, d.bid_kw, d.status, d.solve_time_s, d.gap, d.predicted_profit,
                        d.fallback_reason, d.info, schedule=self.plan)


def _tables(policy=None, days=2):
    sc = load_scenario("tiny", ["drivers.count=30"], days=days)
    plain = V2GMarketModel(sc)
    model = V2GMarketModel(sc, policy=None if policy is None else policy(plain.platform.policy))
    while model.running:
        model.step()
    return model.hourly_table(), model.daily_table(), model


def test_an_empty_schedule_in_the_loop_changes_no_table_value():
    h0, d0, _ = _tables()
    h1, d1, _ = _tables(lambda p: _Wrap(p, BaseSchedule(np.zeros(0, np.int64), np.zeros((0, 24)))))
    assert not set(SCHEDULE_COLUMNS) & (set(h0.columns) | set(d0.columns))
    assert (h1[list(SCHEDULE_COLUMNS)] == 0).all().all() and (d1[list(SCHEDULE_COLUMNS)] == 0).all().all()
    pd.testing.assert_frame_equal(h1.drop(columns=list(SCHEDULE_COLUMNS)), h0, check_exact=True)
    pd.testing.assert_frame_equal(d1.drop(columns=list(SCHEDULE_COLUMNS)), d0, check_exact=True)


def test_the_loop_executes_a_schedule_and_records_it():
    """Three EVs told to discharge 2 kW all day: the hourly columns add up the covered EVs' planned
    and executed energy; a policy without ``schedules = True`` may not return one."""
    plan = BaseSchedule(np.array([0, 1, 2]), np.full((3, 24), -2.0))
    hourly, daily, _ = _tables(lambda p: _Wrap(p, plan))
    np.testing.assert_allclose(hourly["planned_base_kwh"], -6.0)
    ex, dev = hourly["executed_base_kwh"].to_numpy(), hourly["schedule_deviation_kwh"].to_numpy()
    assert np.all(ex <= 0) and np.all(ex >= -6.0)
    np.testing.assert_allclose(dev, ex + 6.0, atol=1e-12)  # every deviation is a missed discharge
    assert ex.min() < 0 and dev.max() > 0
    by_day = hourly.groupby("day")["schedule_deviation_kwh"].sum()
    np.testing.assert_allclose(daily["schedule_deviation_kwh"], by_day)

    class Undeclared(_Wrap):
        schedules = False

    with pytest.raises(ScheduleError, match="schedules = True"):
        _tables(lambda p: Undeclared(p, plan), days=1)

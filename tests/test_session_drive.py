"""A session model driving the daily loop (issue #32 item 2; v2gsim.behavior.mobility.daily,
v2gsim.sim.session_loop, ``[sessions] drive``).

Expected values are computed independently of the code under test: by hand, by brute force over
the slots of each session (connected during the half-open slots [a, d)), or from an independent
draw of the same session law with the same seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import record_observations

from v2gsim import load_scenario
from v2gsim.behavior.mobility import ParametricSessionSpec, Sessions, Uniform, sample_parametric
from v2gsim.behavior.mobility.daily import SessionDays, SessionDriveSpec
from v2gsim.config.base import ScenarioError
from v2gsim.config.loading import SCENARIO_DIR
from v2gsim.sim.agents.driver import DayChoice
from v2gsim.sim.model import V2GMarketModel
from v2gsim.sim.session_loop import SESSION_COLUMNS, SessionLoop

S15 = 96  # 15-min slots of a day
CAP = np.array([15.0, 25.0, 40.0, 60.0, 22.0, 35.0])  # per-EV capacities (kWh), some below the laws


def _law(overnight: bool = False, slot_minutes: int = 15) -> ParametricSessionSpec:
    """Day sessions (arrive 6-8 h, leave 16-20 h) or overnight ones (arrive 17-22 h, leave 5-9 h
    the next day); energies partly above the small batteries of :data:`CAP`."""
    if overnight:
        times = dict(arrival_h=Uniform(17.0, 22.0), departure_h=Uniform(5.0, 9.0), overnight=True)
    else:
        times = dict(arrival_h=Uniform(6.0, 8.0), departure_h=Uniform(16.0, 20.0))
    return ParametricSessionSpec(name="t", energy_arrival=Uniform(10.0, 30.0),
                                 energy_wanted=Uniform(20.0, 45.0), slot_minutes=slot_minutes,
                                 **times)


def _days(realized: str = "declared", seed: int = 0, overnight: bool = False, slot_minutes: int = 15,
          cap: np.ndarray = CAP, **slack) -> SessionDays:
    spec = SessionDriveSpec(law=_law(overnight, slot_minutes), place="work", realized=realized, **slack)
    return SessionDays(spec, cap, 24, np.random.default_rng(seed))


def _sessions(rows: list[tuple[int, float, float, float, float]], day: int = 0,
              slot_minutes: int = 60) -> Sessions:
    """Sessions from (ev, arrival_h, departure_h, energy at arrival, energy wanted) rows."""
    ev, a, d, e0, w = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [], [])
    return Sessions(ev=ev, day=[day] * len(ev), arrival_h=a, departure_h=d, energy_arrival_kwh=e0,
                    energy_wanted_kwh=w, slot_minutes=slot_minutes)


def _brute_slots(m: int, n_slots: int, s: Sessions) -> np.ndarray:
    """(m, n_slots) plugged per slot, slot by slot: a <= k < d (only today's slots)."""
    out = np.zeros((m, n_slots), dtype=bool)
    for ev, a, d in zip(s.ev, s.arrival_slot, s.departure_slot, strict=True):
        for k in range(n_slots):
            if a <= k < d:
                out[ev, k] = True
    return out


# ------------------------------------------------------------------ declared and realized sessions
def test_declared_sessions_one_per_ev_capped_to_each_battery():
    days = _days(seed=11)
    s = days.declare(4)
    np.testing.assert_array_equal(s.ev, np.arange(CAP.size))
    np.testing.assert_array_equal(s.day, 4)
    # the same law drawn with the same seed, then capped to each EV's battery
    raw = sample_parametric(np.random.default_rng(11), _law(), CAP.size, 1, first_day=4)
    np.testing.assert_array_equal(s.arrival_h, raw.arrival_h)
    np.testing.assert_array_equal(s.departure_h, raw.departure_h)
    np.testing.assert_allclose(s.energy_arrival_kwh, np.minimum(raw.energy_arrival_kwh, CAP))
    np.testing.assert_allclose(s.energy_wanted_kwh, np.minimum(raw.energy_wanted_kwh, CAP))
    assert np.all(s.energy_arrival_kwh <= CAP) and np.all(s.energy_wanted_kwh <= CAP)
    assert (raw.energy_wanted_kwh > CAP).any()  # the cap did something
    # the next day's declaration is a new draw on the same stream
    s2 = days.declare(5)
    np.testing.assert_array_equal(s2.day, 5)
    assert not np.array_equal(s2.arrival_h, s.arrival_h)


def test_declared_realization_is_the_declaration():
    days = _days("declared", seed=3)
    declared = days.declare(0)
    realized = days.realize(declared)
    for name in ("ev", "day", "arrival_h", "departure_h", "energy_arrival_kwh", "energy_wanted_kwh"):
        np.testing.assert_array_equal(getattr(realized, name), getattr(declared, name))


@pytest.mark.parametrize("seed", range(40))
def test_box_realizations_stay_inside_the_box(seed):
    slack_a, slack_d, slack_e = 0.5, 0.75, 2.5
    cap = np.full(50, 60.0)
    days = _days("box", seed=seed, cap=cap, arrival_slack_h=slack_a, departure_slack_h=slack_d,
                 energy_slack_kwh=slack_e)
    declared = days.declare(seed)
    r = days.realize(declared)
    eps = 1e-12
    np.testing.assert_array_equal(r.ev, declared.ev)
    np.testing.assert_array_equal(r.day, declared.day)
    da, dd = r.arrival_h - declared.arrival_h, r.departure_h - declared.departure_h
    de = r.energy_arrival_kwh - declared.energy_arrival_kwh
    assert np.all(np.abs(da) <= slack_a + eps) and np.all(np.abs(dd) <= slack_d + eps)
    assert np.all(np.abs(de) <= slack_e + eps)
    np.testing.assert_array_equal(r.energy_wanted_kwh, declared.energy_wanted_kwh)
    assert np.all((r.arrival_h >= 0) & (r.arrival_h < 24) & (r.departure_h > r.arrival_h))
    assert np.all((r.energy_arrival_kwh >= 0) & (r.energy_arrival_kwh <= cap))
    # the box is used, on both sides, almost to its edges (50 uniform draws per quantity)
    for diff, slack in ((da, slack_a), (dd, slack_d), (de, slack_e)):
        assert diff.max() > 0.5 * slack and diff.min() < -0.5 * slack


def test_box_realization_caps_the_energy_and_keeps_the_clock():
    """Energies near the battery and arrivals near midnight stay in [0, Cap] and [0, 24) h."""
    cap = np.array([10.0, 10.0, 10.0, 10.0])
    spec = SessionDriveSpec(law=_law(), place="work", realized="box", arrival_slack_h=5.0,
                            departure_slack_h=0.0, energy_slack_kwh=50.0)
    days = SessionDays(spec, cap, 24, np.random.default_rng(0))
    declared = _sessions([(0, 0.1, 3.0, 9.0, 9.0), (1, 23.9, 30.0, 1.0, 9.0), (2, 12.0, 13.0, 5.0, 5.0),
                          (3, 2.0, 2.5, 5.0, 5.0)])
    for _ in range(50):
        r = days.realize(declared)
        assert np.all((r.arrival_h >= 0) & (r.arrival_h < 24) & (r.departure_h > r.arrival_h))
        assert np.all((r.energy_arrival_kwh >= 0) & (r.energy_arrival_kwh <= cap))


def test_fresh_realization_is_a_new_draw():
    days = _days("fresh", seed=5)
    declared = days.declare(2)
    r = days.realize(declared)
    np.testing.assert_array_equal(r.ev, np.arange(CAP.size))
    np.testing.assert_array_equal(r.day, 2)
    assert not np.array_equal(r.arrival_h, declared.arrival_h)
    assert not np.array_equal(r.energy_wanted_kwh, declared.energy_wanted_kwh)
    # a fresh draw is the law's second draw on the same stream
    rng = np.random.default_rng(5)
    sample_parametric(rng, _law(), CAP.size, 1, first_day=2)
    second = sample_parametric(rng, _law(), CAP.size, 1, first_day=2)
    np.testing.assert_array_equal(r.arrival_h, second.arrival_h)


def test_same_seed_same_sessions():
    a, b = _days("box", seed=9, arrival_slack_h=0.5), _days("box", seed=9, arrival_slack_h=0.5)
    for day in range(3):
        ra, rb = a.realize(a.declare(day)), b.realize(b.declare(day))
        np.testing.assert_array_equal(ra.arrival_h, rb.arrival_h)
        np.testing.assert_array_equal(ra.energy_arrival_kwh, rb.energy_arrival_kwh)


def test_spec_and_day_length_are_checked():
    with pytest.raises(ValueError, match="realized"):
        SessionDriveSpec(law=_law(), place="work", realized="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slacks"):
        SessionDriveSpec(law=_law(), place="work", arrival_slack_h=-1.0)
    spec = SessionDriveSpec(law=_law(), place="work")
    with pytest.raises(ValueError, match=r"network\.hours"):
        SessionDays(spec, CAP, 12, np.random.default_rng(0))


# ------------------------------------------------------------------ the loop's view of a day
@pytest.mark.parametrize("slot_minutes", [15, 30, 60])
@pytest.mark.parametrize("seed", range(5))
def test_lay_out_is_the_brute_force_plug_in_matrix(seed, slot_minutes):
    """Random same-day sessions for a subset of the EVs: plugged slots [a, d), hours with any
    plugged slot, the reset at the hour of the arrival slot, the departure at the hour of d - 1."""
    rng = np.random.default_rng(seed)
    m, k = 12, 60 // slot_minutes
    n_slots = 24 * k
    ev = np.sort(rng.choice(m, size=8, replace=False))
    a = rng.uniform(0.0, 22.0, ev.size)
    d = np.minimum(a + rng.uniform(0.05, 10.0, ev.size), 23.7)
    s = Sessions(ev=ev, day=np.zeros(ev.size, np.int64), arrival_h=a, departure_h=d,
                 energy_arrival_kwh=rng.uniform(0, 10, ev.size),
                 energy_wanted_kwh=rng.uniform(0, 10, ev.size), slot_minutes=slot_minutes)
    assert np.all(s.departure_slot <= n_slots)  # no stay past midnight here
    days = _days(slot_minutes=slot_minutes, cap=np.full(m, 10.0))
    out = days.lay_out(s)
    want = _brute_slots(m, n_slots, s)
    np.testing.assert_array_equal(out.plugged_slots, want)
    for t in range(24):
        np.testing.assert_array_equal(out.plugged[:, t], want[:, t * k:(t + 1) * k].any(axis=1))
        np.testing.assert_array_equal(out.slots_of_hour(t), want[:, t * k:(t + 1) * k])
    reset, dep = np.full(m, -1), np.full(m, -1)
    e0, wanted = np.full(m, np.nan), np.full(m, np.nan)
    for i, row in enumerate(ev):
        reset[row] = s.arrival_slot[i] // k
        dep[row] = (s.departure_slot[i] - 1) // k
        e0[row], wanted[row] = s.energy_arrival_kwh[i], s.energy_wanted_kwh[i]
    np.testing.assert_array_equal(out.reset_hour, reset)
    np.testing.assert_array_equal(out.departure_hour, dep)
    np.testing.assert_array_equal(out.energy_arrival_kwh, e0)
    np.testing.assert_array_equal(out.wanted_kwh, wanted)
    np.testing.assert_array_equal(days.carry_end, 0)
    # the next day is unaffected by today (nothing carried)
    empty = days.lay_out(_sessions([], day=1, slot_minutes=slot_minutes))
    assert not empty.plugged_slots.any() and (empty.departure_hour == -1).all()


def test_overnight_sessions_carry_over_day_after_day():
    """Overnight law (arrive 17-22 h, leave 5-9 h the next day), declared = realized, 15-min slots:
    each day is plugged from midnight until yesterday's departure and from today's arrival on; the
    departure (with yesterday's wanted energy) is counted on the day it happens."""
    days = _days("declared", seed=4, overnight=True)
    m, k = CAP.size, 4
    prev = None
    for day in range(5):
        s = days.realize(days.declare(day))
        assert np.all(s.departure_slot > S15)  # every stay leaves after midnight
        out = days.lay_out(s)
        want = _brute_slots(m, S15, s)
        if prev is not None:
            for ev in range(m):
                want[ev, :prev.departure_slot[ev] - S15] = True
        np.testing.assert_array_equal(out.plugged_slots, want)
        np.testing.assert_array_equal(out.plugged, want.reshape(m, 24, k).any(axis=2))
        np.testing.assert_array_equal(out.reset_hour, s.arrival_slot // k)
        np.testing.assert_allclose(out.energy_arrival_kwh, s.energy_arrival_kwh)
        if prev is None:
            np.testing.assert_array_equal(out.carried_departure_hour, -1)
            assert np.isnan(out.carried_wanted_kwh).all()
        else:
            np.testing.assert_array_equal(out.carried_departure_hour, (prev.departure_slot - S15 - 1) // k)
            np.testing.assert_allclose(out.carried_wanted_kwh, prev.energy_wanted_kwh)
        np.testing.assert_array_equal(out.departure_hour, -1)  # today's stays all end tomorrow
        np.testing.assert_array_equal(days.carry_end, s.departure_slot - S15)
        prev = s


def test_a_carried_stay_ends_on_a_day_without_a_session():
    """60-min slots, one EV: day 0 20:00 -> 06:00 (+1), wanted 33; day 1 no session."""
    days = _days(slot_minutes=60, cap=np.array([50.0, 50.0]))
    d0 = days.lay_out(_sessions([(0, 20.0, 30.0, 10.0, 33.0)]))
    np.testing.assert_array_equal(np.flatnonzero(d0.plugged[0]), np.arange(20, 24))
    assert d0.reset_hour.tolist() == [20, -1] and d0.departure_hour.tolist() == [-1, -1]
    assert d0.energy_arrival_kwh[0] == 10.0 and np.isnan(d0.wanted_kwh).all()
    d1 = days.lay_out(_sessions([(1, 9.0, 12.0, 5.0, 6.0)], day=1))
    np.testing.assert_array_equal(np.flatnonzero(d1.plugged[0]), np.arange(0, 6))
    assert d1.reset_hour.tolist() == [-1, 9]
    assert d1.departure_hour.tolist() == [-1, 11] and d1.carried_departure_hour.tolist() == [5, -1]
    np.testing.assert_allclose(d1.wanted_kwh, [np.nan, 6.0])
    np.testing.assert_allclose(d1.carried_wanted_kwh, [33.0, np.nan])
    d2 = days.lay_out(_sessions([], day=2))
    assert not d2.plugged.any() and (d2.departure_hour == -1).all()
    assert (d2.carried_departure_hour == -1).all()


def test_an_arrival_inside_the_carried_stay_continues_it():
    """Day 0 20:00 -> 06:00 (+1), wanted 33; day 1 arrives 04:00 (inside the carried stay), leaves
    12:00 wanting 25: plugged 0-11 without a gap, no energy reset, one departure at 11 h with 25."""
    days = _days(slot_minutes=60, cap=np.array([50.0]))
    days.lay_out(_sessions([(0, 20.0, 30.0, 10.0, 33.0)]))
    d1 = days.lay_out(_sessions([(0, 4.0, 12.0, 3.0, 25.0)], day=1))
    np.testing.assert_array_equal(np.flatnonzero(d1.plugged[0]), np.arange(0, 12))
    assert d1.reset_hour[0] == -1 and np.isnan(d1.energy_arrival_kwh[0])
    assert d1.departure_hour[0] == 11 and d1.wanted_kwh[0] == 25.0
    assert d1.carried_departure_hour[0] == -1  # the carried stay did not end: it continued
    # a stay wholly inside the carried one only keeps the carried stay (and its wanted energy)
    days = _days(slot_minutes=60, cap=np.array([50.0]))
    days.lay_out(_sessions([(0, 20.0, 30.0, 10.0, 33.0)]))
    d1 = days.lay_out(_sessions([(0, 1.0, 4.0, 3.0, 25.0)], day=1))
    np.testing.assert_array_equal(np.flatnonzero(d1.plugged[0]), np.arange(0, 6))
    assert d1.reset_hour[0] == -1 and d1.departure_hour[0] == -1
    assert d1.carried_departure_hour[0] == 5 and d1.carried_wanted_kwh[0] == 33.0


def test_an_arrival_in_the_hour_a_carried_stay_ends_keeps_its_energy():
    """15-min slots: the carried stay ends at 06:15 (slots 0-24), the EV is back at 06:45 (slot 27)
    until the next morning: no reset in hour 6 (the hour's energy is the one it left with)."""
    days = _days(slot_minutes=15, cap=np.array([50.0]))
    days.lay_out(_sessions([(0, 20.0, 30.25, 10.0, 33.0)], slot_minutes=15))
    d1 = days.lay_out(_sessions([(0, 6.75, 31.0, 3.0, 25.0)], day=1, slot_minutes=15))
    want = np.zeros(S15, dtype=bool)
    want[:25] = want[27:] = True
    np.testing.assert_array_equal(d1.plugged_slots[0], want)
    assert d1.plugged[0].all()
    assert d1.reset_hour[0] == -1 and np.isnan(d1.energy_arrival_kwh[0])
    assert d1.carried_departure_hour[0] == 6 and d1.carried_wanted_kwh[0] == 33.0
    assert d1.departure_hour[0] == -1  # the new stay ends tomorrow


def test_two_stays_ending_on_one_day_both_count():
    """Day 0 20:00 -> 06:00 (+1) wanting 33, day 1 a second stay 10:00 -> 15:00 wanting 25: both
    stays end on day 1 and both count. With stored energy 20 kWh at every hour the day's shortfall
    is (33 - 20) + (25 - 20) = 18 kWh."""
    loop = SessionLoop(SessionDriveSpec(law=_law(slot_minutes=60), place="work", realized="declared"),
                       np.array([50.0]), 24, np.random.default_rng(0))
    loop.today = loop.days.lay_out(_sessions([(0, 20.0, 30.0, 10.0, 33.0)]))
    loop.today = loop.days.lay_out(_sessions([(0, 10.0, 15.0, 5.0, 25.0)], day=1))
    out = loop.close(np.full((1, 24), 20.0))
    assert out["departure_shortfall_kwh"] == pytest.approx(18.0)


def test_an_arrival_rounded_to_midnight_is_plugged_in_the_last_slot():
    """Arrival 23:45 with 60-min slots and rule "half" rounds to slot 24 (the next day's first
    slot): the stay starts in the day's last slot instead, so its energy at arrival (3 kWh) is
    applied at hour 23, and it is carried to the next day until 03:00 (departure at hour 2)."""
    days = _days(slot_minutes=60, cap=np.array([50.0]))
    d0 = days.lay_out(_sessions([(0, 23.75, 27.0, 3.0, 30.0)]))
    d1 = days.lay_out(_sessions([], day=1))
    assert np.flatnonzero(d0.plugged[0]).tolist() == [23]
    assert d0.reset_hour[0] == 23 and d0.energy_arrival_kwh[0] == 3.0
    np.testing.assert_array_equal(np.flatnonzero(d1.plugged[0]), [0, 1, 2])
    assert d1.reset_hour[0] == -1
    assert d1.carried_departure_hour[0] == 2 and d1.carried_wanted_kwh[0] == 30.0


# ------------------------------------------------------------------ the model's side
def _loop(realized: str = "declared") -> SessionLoop:
    spec = SessionDriveSpec(law=_law(slot_minutes=60), place="work", realized=realized)
    return SessionLoop(spec, np.array([50.0, 50.0, 50.0]), 24, np.random.default_rng(0))


def test_session_loop_close_is_the_hand_computed_shortfall():
    """EV 0 leaves at 17:00 (last hour 16) wanting 30 kWh with 27 stored: 3 kWh short; EV 1 leaves
    at 12:00 with more than it wants; EV 2 has no session. Other hours hold decoy values."""
    loop = _loop()
    loop.today = loop.days.lay_out(_sessions([(0, 7.0, 17.0, 10.0, 30.0), (1, 8.0, 12.0, 10.0, 20.0)]))
    stored = np.full((3, 24), 1.0)  # decoys: far below every wish
    stored[0, 16], stored[1, 11] = 27.0, 25.0
    out = loop.close(stored)
    assert out == {"sessions": 2.0, "off_site_kwh": 0.0, "departure_shortfall_kwh": pytest.approx(3.0)}


def test_session_loop_arrive_start_and_sessions_at():
    loop = _loop()
    loop.declared = _sessions([(0, 7.0, 17.0, 2.0, 30.0), (1, 9.0, 12.0, 15.0, 20.0)])
    choice = DayChoice(plugged=np.ones((3, 24), dtype=bool), travel_kwh=np.ones((3, 24)))
    new = loop.start(choice)
    assert new.plugged[:, 0].sum() == 0 and new.plugged[0, 7] and not new.plugged[2].any()
    assert not new.travel_kwh.any()  # the sessions say what each EV brings: no trip energy
    energy = np.array([10.0, 10.0, 10.0])
    for t in range(24):
        loop.arrive(t, energy)
    assert energy.tolist() == [2.0, 15.0, 10.0]
    assert loop.close(np.zeros((3, 24)))["off_site_kwh"] == pytest.approx((2 - 10) + (15 - 10))
    assert len(loop.sessions_at("work")) == 2 and len(loop.sessions_at("home")) == 0


# ------------------------------------------------------------------ configuration
def test_drive_settings_are_checked_at_validation(tmp_path):
    with pytest.raises(ScenarioError, match=r"sessions\.drive"):
        load_scenario("tiny", ["sessions.enabled=true", 'sessions.model="paths"', 'sessions.place="home"',
                               "sessions.drive=true"])
    with pytest.raises(ScenarioError, match=r"sessions\.n_evs"):
        load_scenario("tiny", ["sessions.enabled=true", "sessions.drive=true", "sessions.n_evs=7",
                               "drivers.battery_kwh=50"])
    twelve = tmp_path / "twelve.toml"
    twelve.write_text(f'extends = "{(SCENARIO_DIR / "tiny.toml").as_posix()}"\nname = "twelve"\n'
                      '[network]\nhours = 12\nstart_place = "home"\n'
                      '[[network.places]]\nname = "home"\nwindow = [0, 12]\ncharger = true\n'
                      "utility = 1.0\nsigma = 0.6\n")
    ok = load_scenario(str(twelve), ["sessions.enabled=true", "drivers.battery_kwh=50"])
    assert not ok.sessions_drive
    with pytest.raises(ScenarioError, match=r"network\.hours"):
        load_scenario(str(twelve), ["sessions.enabled=true", "sessions.drive=true", "drivers.battery_kwh=50"])


def test_drive_defaults_on_for_robust_only():
    assert load_scenario("bianchi2023_parking").sessions_drive
    with pytest.raises(ScenarioError, match=r"sessions\.drive"):
        load_scenario("bianchi2023_parking", ["sessions.drive=false"])
    for policy in ("naive", "chance"):
        s = load_scenario("tiny", ["sessions.enabled=true", "drivers.battery_kwh=50",
                                   f'platform.policy="{policy}"'])
        assert not s.sessions_drive
    assert not load_scenario("tiny").sessions_drive  # no session model at all


# ------------------------------------------------------------------ a driven run of another policy
_DRIVEN = ["sessions.enabled=true", 'sessions.model="preset"', 'sessions.preset="bianchi2023_uniform"',
           "sessions.drive=true", "drivers.battery_kwh=50"]


def _driven(seed: int = 0, days: int = 3) -> tuple[V2GMarketModel, list[Sessions]]:
    model = V2GMarketModel(load_scenario("tiny", [*_DRIVEN, f"seed={seed}"], days=days))
    realized = []
    while model.running:
        model.step()
        realized.append(model.session_loop.today.sessions)
    return model, realized


def test_a_driven_run_plugs_in_the_sessions():
    model, realized = _driven()
    hourly, daily = model.hourly_table(), model.daily_table()
    m = model.fleet.size
    for day, s in enumerate(realized):
        slots = _brute_slots(m, S15, s)
        want = slots.reshape(m, 24, 4).any(axis=2).sum(axis=0)
        got = hourly.loc[hourly["day"] == day, "plugged"].to_numpy()
        np.testing.assert_array_equal(got, want)
    assert (hourly.loc[hourly["hour"] < 6, "plugged"] == 0).all()  # arrivals 6-8 h
    assert (hourly.loc[hourly["hour"] >= 20, "plugged"] == 0).all()  # departures 16-20 h
    assert (hourly.loc[hourly["hour"].between(8, 15), "plugged"] == m).all()
    assert (hourly["traveling"] == 0).all()
    assert set(SESSION_COLUMNS) <= set(daily.columns)
    assert (daily["sessions"] == m).all()


def test_a_driven_run_is_reproducible():
    a, _ = _driven(seed=3, days=2)
    b, _ = _driven(seed=3, days=2)
    c, _ = _driven(seed=4, days=2)
    cols = [col for col in a.daily_table().columns if col != "solve_time_s"]
    pd.testing.assert_frame_equal(a.daily_table()[cols], b.daily_table()[cols])
    pd.testing.assert_frame_equal(a.hourly_table(), b.hourly_table())
    assert not np.array_equal(a.hourly_table()["plugged"], c.hourly_table()["plugged"])


def test_with_sessions_driving_the_platform_plans_without_the_path_model():
    """The drivers' path model does not say who plugs in: no beliefs in the observation, so policy
    chance plans from the observed plug-ins; bilevel (rebates on paths) is refused."""
    model = V2GMarketModel(load_scenario("tiny", [*_DRIVEN, "platform.policy='chance'"], days=3))
    seen = record_observations(model)
    while model.running:
        model.step()
    assert all(o.beliefs is None and o.sessions is not None for o in seen)
    assert [d.info["y_source"] for d in [model.platform.decision]] == ["history"]
    with pytest.raises(ScenarioError, match=r"sessions\.drive: policy 'bilevel'"):
        load_scenario("tiny", [*_DRIVEN, "platform.policy='bilevel'"])

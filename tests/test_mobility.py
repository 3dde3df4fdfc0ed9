"""EV sessions (behavior/mobility): laws, parametric samplers, presets, slot grids, chosen paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from v2gsim.behavior.mobility import (
    PRESETS,
    ParametricSessionSpec,
    SessionError,
    Sessions,
    TruncNormal,
    Uniform,
    hours_to_slots,
    preset,
    sample_parametric,
    sessions_from_paths,
    truncnorm_moments,
)
from v2gsim.behavior.sampling import PathChoice
from v2gsim.core.network import NetworkTemplate, PlaceSpec, TravelSpec, build_network
from v2gsim.sim.agents.driver import DriverGroup, DriverPopulation

N = 100_000


def _scipy_tn(d: TruncNormal):
    return stats.truncnorm((d.low - d.mean) / d.std, (d.high - d.mean) / d.std, loc=d.mean, scale=d.std)


def _moments(d) -> tuple[float, float, float]:
    """(mean, variance, 4th central moment) by scipy (independent of the module's closed form)."""
    law = _scipy_tn(d) if isinstance(d, TruncNormal) else stats.uniform(d.low, d.high - d.low)
    m, v, _, k = (float(x) for x in law.stats(moments="mvsk"))
    return m, v, (k + 3.0) * v * v


def _assert_matches(x: np.ndarray, d, shift: float = 0.0, scale: float = 1.0) -> None:
    """Sample mean and variance of ``x`` within 3 standard errors of the law ``shift + scale * d``."""
    m, v, mu4 = _moments(d)
    m, v, mu4 = shift + scale * m, scale**2 * v, scale**4 * mu4
    n = x.size
    assert abs(x.mean() - m) <= 3 * np.sqrt(v / n), (x.mean(), m)
    assert abs(x.var(ddof=1) - v) <= 3 * np.sqrt((mu4 - v * v) / n), (x.var(ddof=1), v)


# ----------------------------------------------------------------------------- laws


@pytest.mark.parametrize("d", [
    TruncNormal(8.0, 15.0, 11.5, 1.75),
    TruncNormal(0.2, 0.65, 0.5, 0.3),
    TruncNormal(8.0, 9.0, 0.0, 1.0),      # far in the upper tail: the reflected inverse CDF
    TruncNormal(-12.0, -11.0, 0.0, 1.0),  # far in the lower tail
    Uniform(6.0, 8.0),
])
def test_laws_match_closed_forms(d):
    m, v, _ = _moments(d)
    np.testing.assert_allclose(d.moments(), (m, v), rtol=1e-9)
    x = d.sample(np.random.default_rng(3), N)
    _assert_matches(x, d)
    # (the draws are clipped to [low, high] by construction) the whole law is scipy's
    law = _scipy_tn(d) if isinstance(d, TruncNormal) else stats.uniform(d.low, d.high - d.low)
    assert stats.kstest(x, law.cdf).pvalue > 1e-3
    # the inverse CDF is the scipy one
    u = np.linspace(0.001, 0.999, 11)
    ref = _scipy_tn(d).ppf(u) if isinstance(d, TruncNormal) else d.low + u * (d.high - d.low)
    np.testing.assert_allclose(d.ppf(u), ref, rtol=1e-9, atol=1e-12)


def test_truncnorm_moments_hand_value():
    # symmetric [-1, 1] standard normal: mean 0, variance 1 - 2 φ(1) / (2 Φ(1) - 1) = 0.2911...
    m, v = truncnorm_moments(0.0, 1.0, -1.0, 1.0)
    phi1 = np.exp(-0.5) / np.sqrt(2 * np.pi)
    assert m == pytest.approx(0.0, abs=1e-15)
    assert v == pytest.approx(1 - 2 * phi1 / 0.6826894921370859, rel=1e-12)


def test_conditioned_draw_stays_above_lower():
    d = TruncNormal(13.0, 22.0, 17.5, 2.25)
    lower = np.array([10.0, 16.0, 21.5])
    x = d.ppf(np.array([0.0, 0.5, 1.0]), lower=lower)
    assert x[0] == pytest.approx(13.0) and x[2] == pytest.approx(22.0)
    assert x[1] == pytest.approx(_scipy_tn(TruncNormal(16.0, 22.0, 17.5, 2.25)).median())
    assert Uniform(16.0, 20.0).ppf(0.5, lower=18.0) == pytest.approx(19.0)


def test_bad_laws_are_rejected():
    with pytest.raises(ValueError, match="low < high"):
        TruncNormal(2.0, 1.0, 1.5, 1.0)
    with pytest.raises(ValueError, match="std > 0"):
        TruncNormal(0.0, 1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="low <= high"):
        Uniform(2.0, 1.0)


# ----------------------------------------------------------------------------- presets


def _conditioned_departure_mean(spec: ParametricSessionSpec) -> float:
    """E[d] = ∫ f_a(a) E[d | d ≥ a + m] da by quadrature (scipy laws only)."""
    fa = _scipy_tn(spec.arrival_h)
    dd = spec.departure_h

    def inner(a: float) -> float:
        lo = max(dd.low, a + spec.min_stay_h)
        return fa.pdf(a) * _scipy_tn(TruncNormal(lo, dd.high, dd.mean, dd.std)).mean()

    return integrate.quad(inner, spec.arrival_h.low, spec.arrival_h.high, epsabs=1e-11)[0]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_their_distributions(name):
    spec = preset(name)
    s = spec.sample(np.random.default_rng(11), N)
    assert len(s) == N and s.slot_minutes == spec.slot_minutes
    assert (s.departure_h > s.arrival_h).all() and (s.departure_slot > s.arrival_slot).all()
    c = spec.energy_scale_kwh
    _assert_matches(s.arrival_h, spec.arrival_h)
    _assert_matches(s.energy_arrival_kwh, spec.energy_arrival, scale=c)
    _assert_matches(s.energy_wanted_kwh, spec.energy_wanted, scale=c)
    if spec.energy_unit == "soc":
        _assert_matches(s.soc_arrival(spec.capacity_kwh), spec.energy_arrival)
    if spec.overnight:
        _assert_matches(s.departure_h, spec.departure_h, shift=24.0)
    elif spec.departure_h.low >= spec.arrival_h.high + spec.min_stay_h:
        _assert_matches(s.departure_h, spec.departure_h)  # disjoint windows: the configured law
    else:
        assert (s.departure_h >= s.arrival_h + spec.min_stay_h - 1e-12).all()
        se = s.departure_h.std() / np.sqrt(N)
        assert abs(s.departure_h.mean() - _conditioned_departure_mean(spec)) <= 3 * se


def test_preset_table_values():
    b = preset("mao2018_building")
    assert (b.arrival_h.low, b.arrival_h.high, b.departure_h.low, b.departure_h.high) == (8, 15, 13, 22)
    assert (b.energy_arrival.low, b.energy_arrival.high) == (0.2, 0.65)
    assert (b.energy_wanted.low, b.energy_wanted.high) == (0.6, 0.95)
    assert b.capacity_kwh == 24.0 and b.n_evs == 5 and preset("mao2018_station").n_evs == 10
    u = preset("bianchi2023_uniform")
    assert u.arrival_h == Uniform(6.0, 8.0) and u.departure_h == Uniform(16.0, 20.0)
    assert u.slot_minutes == 15
    with pytest.raises(KeyError, match="mao2018_household"):
        preset("nope")


def test_spec_checks_name_the_problem():
    ok = dict(name="x", arrival_h=Uniform(6, 8), departure_h=Uniform(16, 20),
              energy_arrival=Uniform(0.2, 0.4), energy_wanted=Uniform(0.6, 0.8))
    with pytest.raises(SessionError, match="needs capacity_kwh"):
        ParametricSessionSpec(**ok, energy_unit="soc")
    with pytest.raises(SessionError, match="latest arrival"):
        ParametricSessionSpec(**{**ok, "departure_h": Uniform(7, 8)})
    with pytest.raises(SessionError, match="must lie in"):
        ParametricSessionSpec(**{**ok, "energy_wanted": Uniform(0.6, 1.2)}, energy_unit="soc",
                              capacity_kwh=24.0)
    with pytest.raises(SessionError, match="slot_minutes"):
        ParametricSessionSpec(**ok, slot_minutes=20)
    with pytest.raises(SessionError, match="exceed capacity_kwh"):
        ParametricSessionSpec(**{**ok, "energy_wanted": Uniform(30, 60)}, capacity_kwh=50.0)


def test_days_and_reproducibility():
    spec = preset("mao2018_station")
    s = sample_parametric(np.random.default_rng(5), spec, days=3, first_day=7)
    assert len(s) == 30
    np.testing.assert_array_equal(s.day, np.repeat([7, 8, 9], 10))
    np.testing.assert_array_equal(s.ev, np.tile(np.arange(10), 3))
    again = sample_parametric(np.random.default_rng(5), spec, days=3, first_day=7)
    np.testing.assert_array_equal(s.arrival_h, again.arrival_h)


# ----------------------------------------------------------------------------- slot grids


def test_hours_to_slots_hand_values():
    arr, dep = np.array([7.2, 7.5, 7.2]), np.array([16.9, 16.0, 7.4])
    a, d = hours_to_slots(arr, dep, 60, "half")
    np.testing.assert_array_equal(a, [7, 7, 7])  # 7.5: exactly half of hour 7 counts
    np.testing.assert_array_equal(d, [17, 16, 8])  # 7.2-7.4: shorter than half a slot, keeps one
    # 7.6-7.7 h: rounds to [8, 8), gets the slot of its middle (7.65 h): hour 7, not hour 8
    assert tuple(int(v[0]) for v in hours_to_slots([7.6], [7.7], 60, "half")) == (7, 8)
    assert tuple(int(v[0]) for v in hours_to_slots([7.6], [8.4], 60, "inner")) == (8, 9)
    np.testing.assert_array_equal(hours_to_slots(arr, dep, 60, "inner")[0], [8, 8, 7])
    np.testing.assert_array_equal(hours_to_slots(arr, dep, 60, "inner")[1], [16, 16, 8])
    np.testing.assert_array_equal(hours_to_slots(arr, dep, 60, "outer")[0], [7, 7, 7])
    np.testing.assert_array_equal(hours_to_slots(arr, dep, 60, "outer")[1], [17, 16, 8])
    a15, d15 = hours_to_slots(arr, dep, 15, "half")
    np.testing.assert_array_equal(a15, [29, 30, 29])  # 7.2 h = 28.8 slots -> 29; 7.5 h = 30
    np.testing.assert_array_equal(d15, [68, 64, 30])  # 16.9 h = 67.6 -> 68; 7.4 h = 29.6 -> 30
    a30, d30 = hours_to_slots(arr, dep, 30, "half")
    np.testing.assert_array_equal(a30, [14, 15, 14])
    np.testing.assert_array_equal(d30, [34, 32, 15])


@pytest.mark.parametrize("rule", ["half", "inner", "outer"])
def test_slots_consistent_across_grids(rule):
    s60 = preset("mao2018_station").sample(np.random.default_rng(2), 20_000, slot_minutes=60, rule=rule)
    for minutes in (15, 30, 60):
        s = s60.regrid(minutes)
        np.testing.assert_array_equal(s.arrival_h, s60.arrival_h)  # one draw, many views
        dt = minutes / 60
        assert (s.departure_slot > s.arrival_slot).all()
        tol = dt / 2 if rule == "half" else dt
        assert np.abs(s.arrival_slot * dt - s.arrival_h).max() <= tol + 1e-9
        assert np.abs(s.departure_slot * dt - s.departure_h).max() <= tol + 1e-9
        if rule == "inner":
            long = s.duration_h > 2 * dt
            assert (s.arrival_slot[long] * dt >= s.arrival_h[long] - 1e-9).all()
        if rule == "outer":
            assert (s.departure_slot * dt >= s.departure_h - 1e-9).all()
        # the connected mask holds exactly the slots between the bounds
        mask = s.connected()
        np.testing.assert_array_equal(mask.sum(axis=1), s.departure_slot - s.arrival_slot)
    # times on the hourly grid: a 15-min slot index is 4 times the hourly one, whatever the rule
    on_grid = Sessions(ev=[0, 1], day=[0, 0], arrival_h=[7.0, 0.0], departure_h=[17.0, 31.0],
                       energy_arrival_kwh=[1, 1], energy_wanted_kwh=[2, 2], rule=rule)
    q = on_grid.regrid(15)
    np.testing.assert_array_equal(q.arrival_slot, 4 * on_grid.arrival_slot)
    np.testing.assert_array_equal(q.departure_slot, 4 * on_grid.departure_slot)


def test_overnight_wrap_hand_mask():
    s = Sessions(ev=[0], day=[0], arrival_h=[18.0], departure_h=[31.0], energy_arrival_kwh=[5.0],
                 energy_wanted_kwh=[20.0])
    m = s.connected(wrap=True)[0]
    assert m.shape == (24,)
    np.testing.assert_array_equal(np.flatnonzero(m), [0, 1, 2, 3, 4, 5, 6, 18, 19, 20, 21, 22, 23])
    flat = s.connected()[0]
    assert flat.size == 31 and flat[18:31].all() and not flat[:18].any()
    with pytest.raises(SessionError, match="at most"):
        s.connected(n_slots=12, wrap=True)
    # a 14-slot cycle: slot 18 is slot 4 of it, 13 slots run 4..13 then 0..2
    np.testing.assert_array_equal(np.flatnonzero(s.connected(n_slots=14, wrap=True)[0]),
                                  [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    assert s.regrid(15).connected(wrap=True)[0].sum() == 13 * 4


# ----------------------------------------------------------------------------- the session type


def test_sessions_table_and_soc():
    s = Sessions(ev=[3, 4], day=[1, 1], arrival_h=[7.25, 8.0], departure_h=[17.0, 18.5],
                 energy_arrival_kwh=[12.0, 6.0], energy_wanted_kwh=[18.0, 30.0], slot_minutes=15)
    df = s.to_frame(capacity_kwh=np.array([24.0, 60.0]))
    assert list(df.columns)[:9] == ["day", "ev", "arrival_h", "departure_h", "arrival_slot",
                                     "departure_slot", "energy_arrival_kwh", "energy_wanted_kwh",
                                     "energy_needed_kwh"]
    np.testing.assert_allclose(df["soc_arrival"], [0.5, 0.1])
    np.testing.assert_allclose(df["soc_wanted"], [0.75, 0.5])
    np.testing.assert_array_equal(df["arrival_slot"], [29, 32])
    np.testing.assert_array_equal(df["departure_slot"], [68, 74])
    np.testing.assert_allclose(df["energy_needed_kwh"], [6.0, 24.0])
    back = Sessions.from_frame(df)
    assert back.slot_minutes == 15
    np.testing.assert_array_equal(back.departure_slot, s.departure_slot)
    both = Sessions.concat([s, s.take([1])])
    np.testing.assert_array_equal(both.ev, [3, 4, 4])
    with pytest.raises(SessionError, match="one slot grid"):
        Sessions.concat([s, s.regrid(60)])
    with pytest.raises(SessionError, match="capacity_kwh"):
        s.soc_arrival(0.0)
    with pytest.raises(SessionError, match="lacks columns"):
        Sessions.from_frame(pd.DataFrame({"ev": [1]}))


@pytest.mark.parametrize(("field", "value", "match"), [
    ("departure_h", [7.0], "departure_h must be"),
    ("arrival_h", [24.5], "arrival_h must be"),
    ("energy_arrival_kwh", [-1.0], "energy_arrival_kwh must be"),
    ("energy_wanted_kwh", [np.nan], "energy_wanted_kwh must be"),
])
def test_sessions_reject_bad_values(field, value, match):
    base = dict(ev=[0], day=[0], arrival_h=[7.0], departure_h=[9.0], energy_arrival_kwh=[1.0],
                energy_wanted_kwh=[2.0])
    with pytest.raises(SessionError, match=match):
        Sessions(**{**base, field: value})
    with pytest.raises(SessionError, match="slot_minutes"):
        Sessions(**base, slot_minutes=20)
    with pytest.raises(SessionError, match="has 2 values"):
        Sessions(**{**base, "day": [0, 1]})


# ----------------------------------------------------------------------------- chosen paths


def _tiny_network():
    """home (charger) and work (charger, 1-5 h), 6 hours, 1-h trips of 3 kWh."""
    flat = (0.0,) * 6
    home = PlaceSpec("home", (0, 6), True, flat, (1.0,) * 6, flat, (1.0,) * 6)
    work = PlaceSpec("work", (1, 5), True, flat, (1.0,) * 6, flat, (1.0,) * 6)
    return build_network(NetworkTemplate(6, "home", (home, work), TravelSpec(1, 0.0, 1.0, 3.0)))


def _choice(net, paths: list[list[str]]) -> PathChoice:
    labels = net.arc_labels()
    arcs = np.array([[labels.index(lab) for lab in p] for p in paths], dtype=np.int32)
    for row in arcs:  # a hand-made path must be a path: each arc starts where the last ended
        assert (net.head[row[:-1]] == net.tail[row[1:]]).all()
    return PathChoice(value=np.zeros(len(paths)), arc_at_hour=arcs)


PATHS = [
    # plugs at home, drives to work, plugs 2 h, stays unplugged 3 h, drives home, plugs
    ["plug@home[0]", "travel home->work[1]", "plug@work[2]", "stay@work[3]",
     "travel work->home[4]", "plug@home[5]"],
    # stays home unplugged all day: no session anywhere
    ["stay@home[0]", "stay@home[1]", "stay@home[2]", "stay@home[3]", "stay@home[4]", "stay@home[5]"],
    # drives at once, plugs at work 2-3 h
    ["travel home->work[0]", "stay@work[1]", "plug@work[2]", "plug@work[3]",
     "travel work->home[4]", "stay@home[5]"],
]


def test_sessions_from_hand_made_paths():
    net = _tiny_network()
    choice = _choice(net, PATHS)
    e = np.array([20.0, 15.0, 2.0])
    work = sessions_from_paths(choice, net, "work", e, wanted_kwh=18.0, evs=[10, 11, 12], day=4)
    # driver 0: first and last plug hour at work 2 -> [2, 3); 3 kWh of travel before (hour 1)
    # driver 2: plug hours 2, 3 -> [2, 4); 3 kWh of travel (hour 0) exceed its 2 kWh -> 0
    np.testing.assert_array_equal(work.ev, [10, 12])
    np.testing.assert_array_equal(work.day, [4, 4])
    np.testing.assert_array_equal(work.arrival_h, [2.0, 2.0])
    np.testing.assert_array_equal(work.departure_h, [3.0, 4.0])
    np.testing.assert_array_equal(work.arrival_slot, [2, 2])
    np.testing.assert_array_equal(work.departure_slot, [3, 4])
    np.testing.assert_allclose(work.energy_arrival_kwh, [17.0, 0.0])
    np.testing.assert_allclose(work.energy_wanted_kwh, [18.0, 18.0])
    home = sessions_from_paths(choice, net, "home", e)
    # driver 0 plugs at home at 0 and 5: the span [0, 6), no travel before hour 0
    np.testing.assert_array_equal(home.ev, [0])
    assert (home.arrival_h[0], home.departure_h[0], home.energy_arrival_kwh[0]) == (0.0, 6.0, 20.0)
    assert home.energy_wanted_kwh[0] == 20.0  # default: no net requirement
    raw = sessions_from_paths(choice, net, "work", e, subtract_travel=False)
    np.testing.assert_allclose(raw.energy_arrival_kwh, [20.0, 2.0])
    with pytest.raises(SessionError, match="not in the network"):
        sessions_from_paths(choice, net, "gym", e)


def test_population_sessions_cover_all_groups():
    net = _tiny_network()
    g0 = DriverGroup(0, "a", 0.5, net, np.arange(0, 3), last_choice=_choice(net, PATHS))
    g1 = DriverGroup(1, "b", 0.5, net, np.arange(3, 5), last_choice=_choice(net, PATHS[::-2]))
    pop = DriverPopulation([g0, g1], "normal", np.random.default_rng(0), np.ones(5, dtype=bool))
    soc = np.array([20.0, 15.0, 2.0, 10.0, 30.0])
    s = pop.sessions("work", soc, wanted_kwh=np.arange(5.0), day=2)
    # group b's drivers 3, 4 follow PATHS[2] and PATHS[0]
    np.testing.assert_array_equal(s.ev, [0, 2, 3, 4])
    np.testing.assert_array_equal(s.departure_h, [3.0, 4.0, 4.0, 3.0])
    np.testing.assert_allclose(s.energy_arrival_kwh, [17.0, 0.0, 7.0, 27.0])
    np.testing.assert_allclose(s.energy_wanted_kwh, [0.0, 2.0, 3.0, 4.0])
    assert (s.day == 2).all()
    with pytest.raises(ValueError, match="no group"):
        pop.sessions("gym", soc)

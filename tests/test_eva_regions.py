"""Feasible regions of seed 003 (F1)-(F3): inside => feasible, feasible => inside, tight boundaries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from v2gsim.optimize.eva.population import PopulationSpec, monte_carlo_region, sample_sessions
from v2gsim.optimize.eva.regions import EVSessions, region, schedule_violation, simulate_energy


def _population(**changes) -> PopulationSpec:
    """A test population (every field given: the plain spec has no defaults)."""
    values = dict(arrival_mean_h=18.0, arrival_sd_h=1.5, stay_mean_h=12.0, stay_sd_h=1.5, capacity_kwh=60.0,
                  soc_min=0.2, soc_max=0.95, soc_req=0.8, mileage_mu=3.4, mileage_sigma=0.5, kwh_per_km=0.16,
                  soc_start=0.95, p_c_kw=7.0, p_d_kw=7.0, eta_c=0.92, eta_d=0.92, T=36)
    return PopulationSpec(**(values | changes))


@st.composite
def one_ev(draw):
    T = draw(st.integers(2, 8))
    t_a = draw(st.integers(0, T - 1))
    t_d = draw(st.integers(t_a + 1, T))
    e_max = draw(st.floats(10, 60))
    e_min = draw(st.floats(0, 0.5)) * e_max
    e0 = draw(st.floats(e_min, e_max))
    p_c = draw(st.floats(1, 11))
    p_d = draw(st.sampled_from([0.0, 3.0, 7.0]))
    eta_c, eta_d = draw(st.floats(0.8, 1.0)), draw(st.floats(0.8, 1.0))
    reach = min(e0 + eta_c * p_c * (t_d - t_a), e_max)
    e_req = e_min + draw(st.floats(0, 1)) * (reach - e_min)
    def a(v):
        return (np.array([float(v)]))
    return EVSessions(e0=a(e0), e_min=a(e_min), e_max=a(e_max), e_req=a(e_req), p_c=a(p_c), p_d=a(p_d),
                      eta_c=a(eta_c), eta_d=a(eta_d), t_a=np.array([t_a]), t_d=np.array([t_d]), T=T)


def _powers(ev: EVSessions, inc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid-side powers producing the energy increments inc (1, T)."""
    return (np.maximum(inc, 0) / (ev.eta_c[:, None] * ev.dt),
            np.maximum(-inc, 0) * ev.eta_d[:, None] / ev.dt)


@settings(max_examples=150, deadline=None)
@given(one_ev(), st.integers(0, 2**31 - 1))
def test_schedule_inside_boundaries_is_feasible(ev, seed):
    rng = np.random.default_rng(seed)
    reg = region(ev)
    conn = ev.connected()[0]
    e = ev.e0[0]
    inc = np.zeros((1, ev.T))
    for t in range(ev.T):
        if not conn[t]:
            continue
        lo = max(-ev.p_d[0] * ev.dt / ev.eta_d[0], reg.lower[0, t + 1] - e)
        hi = min(ev.eta_c[0] * ev.p_c[0] * ev.dt, reg.upper[0, t + 1] - e)
        assert lo <= hi + 1e-9  # the region never traps a schedule
        inc[0, t] = rng.uniform(lo, max(lo, hi))
        e += inc[0, t]
    pc, pd = _powers(ev, inc)
    assert schedule_violation(ev, pc, pd) <= 1e-7


@settings(max_examples=150, deadline=None)
@given(one_ev(), st.integers(0, 2**31 - 1))
def test_feasible_schedule_lies_inside(ev, seed):
    rng = np.random.default_rng(seed)
    reg = region(ev)
    for _ in range(30):
        pc = rng.uniform(0, 1, (1, ev.T)) * ev.p_c[0] * rng.integers(0, 2, (1, ev.T))
        pd = rng.uniform(0, 1, (1, ev.T)) * ev.p_d[0] * rng.integers(0, 2, (1, ev.T))
        if schedule_violation(ev, pc, pd) > 0:
            continue
        e = simulate_energy(ev, pc, pd)
        assert np.all(e <= reg.upper + 1e-9) and np.all(e >= reg.lower - 1e-9)


def _lp_extreme(ev: EVSessions, t: int, sign: float) -> float:
    """min (sign=+1) or max (sign=-1) of E_t over the battery model, by an LP in (p_c, p_d)."""
    T, conn = ev.T, ev.connected()[0]
    gain = np.concatenate([ev.eta_c[0] * ev.dt * np.ones(T), -ev.dt / ev.eta_d[0] * np.ones(T)])
    rows, rhs = [], []
    for s in range(1, T + 1):  # E_min <= E_s <= E_max
        mask = np.concatenate([np.arange(T) < s] * 2) * gain
        rows += [mask, -mask]
        rhs += [ev.e_max[0] - ev.e0[0], ev.e0[0] - ev.e_min[0]]
    req = np.concatenate([np.arange(T) < ev.t_d[0]] * 2) * gain
    rows.append(-req)
    rhs.append(ev.e0[0] - ev.e_req[0])
    bounds = [(0, ev.p_c[0] if conn[k] else 0) for k in range(T)]
    bounds += [(0, ev.p_d[0] if conn[k] else 0) for k in range(T)]
    c = sign * np.concatenate([np.arange(T) < t] * 2) * gain
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    assert res.status == 0
    return ev.e0[0] + sign * res.fun


@settings(max_examples=60, deadline=None)
@given(one_ev())
def test_boundaries_are_tight(ev):
    reg = region(ev)
    for t in range(ev.T + 1):
        assert abs(_lp_extreme(ev, t, 1.0) - reg.lower[0, t]) < 1e-6
        assert abs(_lp_extreme(ev, t, -1.0) - reg.upper[0, t]) < 1e-6
    # one schedule reaches the whole upper (lower) boundary at once
    for bound in (reg.upper, reg.lower):
        pc, pd = _powers(ev, np.diff(bound, axis=1))
        assert schedule_violation(ev, pc, pd) <= 1e-7
        assert np.allclose(simulate_energy(ev, pc, pd), bound)


def test_hand_computed_boundaries():
    def a(v):
        return (np.array([float(v)]))
    ev = EVSessions(e0=a(20), e_min=a(10), e_max=a(40), e_req=a(35), p_c=a(10), p_d=a(5), eta_c=a(1),
                    eta_d=a(1), t_a=np.array([1]), t_d=np.array([5]), T=6)
    reg = region(ev)
    assert np.allclose(reg.upper[0], [20, 20, 30, 40, 40, 40, 40])
    # max(20-5k, 10, 35-10(5-t)): t=1: 20; t=2: max(15,10,5)=15; t=3: max(10,10,15)=15; t=4: 25; t=5: 35
    assert np.allclose(reg.lower[0], [20, 20, 15, 15, 25, 35, 35])
    assert np.allclose(reg.p_max[0], [0, 10, 10, 10, 10, 0])
    assert np.allclose(reg.p_min[0], [0, -5, -5, -5, -5, 0])


def test_aggregation_is_sum_and_monte_carlo_converges():
    spec = _population(T=30)
    evs = sample_sessions(spec, 50, np.random.default_rng(1))
    reg = region(evs)
    agg = reg.aggregate()
    assert np.allclose(agg.upper[0], reg.upper.sum(0)) and np.allclose(agg.p_min[0], reg.p_min.sum(0))
    assert np.all(agg.lower <= agg.upper + 1e-9)
    mc = monte_carlo_region(spec, 1000, np.random.default_rng(2), batch=500, rel_tol=0.01)
    assert mc.converged and mc.samples < 20_000
    # a large independent sample agrees with the estimate within a few standard errors
    big = region(sample_sessions(spec, 20_000, np.random.default_rng(3))).aggregate()
    tol = 5 * mc.stderr["upper"] + 1e-4 * big.upper.max() / 20
    assert np.all(np.abs(big.upper / 20 - mc.region.upper) <= tol)
    capped = monte_carlo_region(spec, 1000, np.random.default_rng(2), batch=100, max_samples=300,
                                rel_tol=1e-9)
    assert capped.samples == 300 and not capped.converged

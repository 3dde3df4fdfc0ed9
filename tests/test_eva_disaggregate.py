"""The split of an aggregate (O) plan into per-EV schedules (v2gsim.optimize.eva.disaggregate):
every schedule is feasible for its EV, the sum matches the target where the EVs can take it, and
the gap is exactly what they cannot."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim.optimize.eva.disaggregate import disaggregate
from v2gsim.optimize.eva.regions import EVSessions


def _fleet(rng: np.random.Generator, m: int = 12, t: int = 24) -> EVSessions:
    t_a = rng.integers(0, 12, m)
    t_d = np.minimum(t_a + rng.integers(4, 13, m), t)
    cap = rng.uniform(30, 70, m)
    e_min, e_max = 0.1 * cap, 0.95 * cap
    e0 = rng.uniform(0.2, 0.6, m) * cap
    p_c = rng.choice([3.7, 7.4, 11.0], m)
    eta = np.full(m, 0.92)
    reach = np.minimum(e0 + eta * p_c * (t_d - t_a), e_max)
    e_req = np.minimum(rng.uniform(0.5, 0.9, m) * cap, reach)
    return EVSessions(e0=e0, e_min=e_min, e_max=e_max, e_req=e_req, p_c=p_c, p_d=p_c.copy(), eta_c=eta,
                      eta_d=eta, t_a=t_a, t_d=t_d, T=t)


def _same(one: dict[str, float], m: int) -> EVSessions:
    """m identical EVs plugged in over slots 0-3 of a 4-slot day."""
    return EVSessions(**{k: np.full(m, v) for k, v in one.items()}, t_a=np.zeros(m, int), t_d=np.full(m, 4),
                      T=4)


@pytest.mark.parametrize("seed", range(8))
def test_schedules_are_feasible_and_the_gap_is_what_they_cannot_take(seed):
    rng = np.random.default_rng(seed)
    ev = _fleet(rng)
    target = rng.uniform(-40, 60, ev.T)
    responds = rng.random((ev.M, ev.T)) < 0.7
    out = disaggregate(ev, target, responds)
    p, e = out.power_kw, out.energy_kwh
    conn = ev.connected()
    assert np.all(p[~conn] == 0)  # nothing outside a stay
    assert np.all(p <= ev.p_c[:, None] + 1e-9) and np.all(p >= -ev.p_d[:, None] - 1e-9)
    # the energy is the battery's: eta_c on charge, 1/eta_d on discharge
    step = np.where(p > 0, ev.eta_c[:, None] * p, p / ev.eta_d[:, None])
    np.testing.assert_allclose(np.diff(e, axis=1), step, atol=1e-9)
    assert np.all(e >= ev.e_min[:, None] - 1e-9) and np.all(e <= ev.e_max[:, None] + 1e-9)
    # every EV leaves with its wanted energy (all were reachable by construction)
    np.testing.assert_array_less(ev.e_req - 1e-6, e[np.arange(ev.M), ev.t_d])
    np.testing.assert_allclose(out.gap_kw, target - p.sum(axis=0), atol=1e-9)
    assert out.gap_kwh == pytest.approx(np.abs(target - p.sum(axis=0)).sum())


def test_a_reachable_target_is_matched_exactly():
    """Two identical EVs plugged all day, a small target: matched in every slot, split evenly."""
    one = dict(e0=20.0, e_min=5.0, e_max=50.0, e_req=20.0, p_c=7.0, p_d=7.0, eta_c=1.0, eta_d=1.0)
    ev = _same(one, 2)
    target = np.array([4.0, -2.0, 0.0, -2.0])
    out = disaggregate(ev, target, np.ones((2, 4), bool))
    np.testing.assert_allclose(out.power_kw, np.tile(target / 2, (2, 1)))
    assert out.gap_kwh == pytest.approx(0.0)


def test_non_responders_keep_their_baseline():
    one = dict(e0=20.0, e_min=5.0, e_max=50.0, e_req=28.0, p_c=7.0, p_d=7.0, eta_c=1.0, eta_d=1.0)
    ev = _same(one, 2)
    responds = np.array([[True] * 4, [False] * 4])
    out = disaggregate(ev, np.full(4, 10.0), responds)
    np.testing.assert_allclose(out.power_kw[1], 2.0)  # (28 - 20) kWh over 4 h
    np.testing.assert_allclose(out.power_kw[0], 7.0)  # the responder takes what it can (7 kW cap)
    np.testing.assert_allclose(out.gap_kw, 1.0)


def test_the_departure_guard_counts_only_plugged_slots():
    """Plugged in slots 0 and 3 only: to leave with 27 kWh from 20 kWh at 7 kW, slot 0 may not
    discharge below 20 (slot 3 alone can add 7 kWh)."""
    one = dict(e0=20.0, e_min=5.0, e_max=50.0, e_req=27.0, p_c=7.0, p_d=7.0, eta_c=1.0, eta_d=1.0)
    ev = _same(one, 1)
    conn = np.array([[True, False, False, True]])
    out = disaggregate(ev, np.full(4, -7.0), np.ones((1, 4), bool), conn)
    assert out.power_kw[0].tolist() == [0.0, 0.0, 0.0, 7.0]
    assert out.energy_kwh[0, -1] == pytest.approx(27.0)

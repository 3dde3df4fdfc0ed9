"""Heterogeneous fleets: efficiencies, self-discharge, per-EV limits and windows, model assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.core.fleet import SOC_SAMPLE_SIZE, EVModelSpec, Fleet, FleetSpec, split_by_share
from v2gsim.market.agc import follow_signal
from v2gsim.sim.agents.driver import cluster_sizes

TOL = 1e-9


def _spec(models, count=40, **kw) -> FleetSpec:
    base = dict(count=count, battery_kwh=60.0, charger_kw=10.0, baseline_charge_kw=3.3,
                soc_min=0.2, soc_max=0.95, soc_target=0.8, soc_init=(0.0, 1.0))
    base.update(kw)
    return FleetSpec(models=tuple(models), **base)


def test_hour_by_hand_with_efficiencies_and_a_unidirectional_ev():
    """Two EVs, one hour, every number by hand (module docstring of v2gsim.core.fleet)."""
    v2g = EVModelSpec("a", 0.5, battery_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=4.0,
                      soc_min=0.2, soc_max=0.9, charge_efficiency=0.9, discharge_efficiency=0.8,
                      self_discharge_per_h=0.01)
    uni = EVModelSpec("b", 0.5, battery_kwh=20.0, max_charge_kw=7.0, max_discharge_kw=0.0,
                      soc_min=0.1, soc_max=0.95, v2g=False, charge_efficiency=0.95)
    f = Fleet.from_spec(_spec([v2g, uni], count=2, baseline_charge_kw=2.0),
                        np.random.default_rng(0))
    order = np.argsort(f.model_index)  # EV of model a first
    f.energy_kwh[order] = [5.0, 15.0]
    flows = f.hour_flows(np.array([True, True]))
    # model a: loss 0.05 -> E 4.95; base min(2, (8 - 4.95)/0.9) = 2 kW
    # up: min(2 + 0.8 (4.95 - 2), 4 + 2) = 4.36 kWh; down: min((9 - 4.95)/0.9 - 2, 5 - 2) = 2.5 kWh
    # model b: base min(2, (16 - 15)/0.95) = 1/0.95 kW; up = base (it cannot discharge);
    # down: min((19 - 15)/0.95 - 1/0.95, 7 - 1/0.95) = 3/0.95 kWh
    np.testing.assert_allclose(flows.loss_kwh[order], [0.05, 0.0])
    np.testing.assert_allclose(flows.base_kw[order], [2.0, 1 / 0.95])
    np.testing.assert_allclose(flows.up_kwh[order], [4.36, 1 / 0.95])
    np.testing.assert_allclose(flows.down_kwh[order], [2.5, 3 / 0.95])
    assert flows.p_up_kw == pytest.approx((4 + 2) + 1 / 0.95)
    assert flows.p_down_kw == pytest.approx((5 - 2) + (7 - 1 / 0.95))
    # the fleet delivers 4 kWh up: split pro rata to the up caps
    share = 4.0 / (4.36 + 1 / 0.95)
    out = f.settle_hour(flows, 4.0)
    grid = np.array([2.0 - 4.36 * share, 1 / 0.95 - share / 0.95])
    np.testing.assert_allclose(out.grid_kwh[order], grid)
    assert grid[0] < 0 < grid[1]
    # a discharges: stored falls by |g| / eta_d; b charges less: stored rises by eta_c g
    np.testing.assert_allclose(f.energy_kwh[order], [4.95 + grid[0] / 0.8, 15.0 + 0.95 * grid[1]])
    assert out.grid_import_kwh == pytest.approx(grid[1])
    assert out.grid_export_kwh == pytest.approx(-grid[0])
    assert out.grid_import_kwh - out.grid_export_kwh == pytest.approx(2 + 1 / 0.95 - 4.0)


models_st = st.lists(
    st.builds(
        dict,
        battery_kwh=st.floats(10, 120), max_charge_kw=st.floats(1, 22),
        max_discharge_kw=st.floats(0.5, 22), v2g=st.booleans(),
        charge_efficiency=st.floats(0.5, 1.0), discharge_efficiency=st.floats(0.5, 1.0),
        self_discharge_per_h=st.sampled_from([0.0, 1e-4, 0.02]),
        soc_min=st.floats(0.0, 0.4), soc_max=st.floats(0.85, 1.0),
    ),
    min_size=1, max_size=4,
)


def _fleet(models: list[dict], seed: int, m: int = 30) -> Fleet:
    k = len(models)
    specs = [EVModelSpec(name=f"m{i}", share=1.0 / k,
                         **{**d, "max_discharge_kw": d["max_discharge_kw"] if d["v2g"] else 0.0})
             for i, d in enumerate(models)]
    return Fleet.from_spec(_spec(specs, count=m, charger_kw=11.0, baseline_charge_kw=7.0),
                           np.random.default_rng(seed))


@settings(max_examples=60, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), fracs=st.lists(st.floats(-1, 1), min_size=3,
                                                                     max_size=3))
def test_efficiency_limits_and_windows_hold_for_any_regulation(models, seed, fracs):
    f = _fleet(models, seed)
    rng = np.random.default_rng(seed)
    m = f.size
    assert np.all(f.soc >= f.soc_min - TOL) and np.all(f.soc <= f.soc_max + TOL)
    for frac in fracs:
        plugged = rng.random(m) < 0.7
        offered = rng.random(m) < 0.8
        before = f.energy_kwh.copy()
        flows = f.hour_flows(plugged, offered)
        net = frac * (flows.e_up_kwh if frac > 0 else flows.e_down_kwh)
        out = f.settle_hour(flows, net)
        g, after_loss = out.grid_kwh, before - out.loss_kwh
        # stored energy changes by eta_c * grid on charge and grid / eta_d on discharge
        want = np.where(g > 0, f.charge_efficiency * g, g / f.discharge_efficiency)
        np.testing.assert_allclose(f.energy_kwh - after_loss, want, atol=1e-9)
        np.testing.assert_allclose(out.stored_kwh, want, atol=1e-9)
        # the fleet delivers exactly the net regulation energy around its baseline charging
        assert np.isclose(g.sum(), flows.base_kw.sum() - net, atol=1e-8)
        # self-discharge: a fraction s of the stored energy per hour
        np.testing.assert_allclose(out.loss_kwh, before * f.self_discharge_per_h, rtol=1e-9)
        # per-EV power within its model's (site-capped) limits; unidirectional EVs never discharge
        assert np.all(g <= f.charger_kw + TOL) and np.all(g >= -f.discharge_kw - TOL)
        assert np.all(g[~f.v2g] >= -TOL)
        assert np.all(g[~plugged] == 0) and np.all(f.discharge_kw[~f.v2g] == 0)
        assert np.all(f.charger_kw <= 11.0)
        # charging and regulation keep every EV in its own window (self-discharge may not)
        lo, hi = f.soc_min * f.capacity_kwh, f.soc_max * f.capacity_kwh
        assert np.all(f.energy_kwh <= hi + TOL)
        assert np.all(f.energy_kwh >= np.minimum(after_loss, lo) - TOL)


@settings(max_examples=25, deadline=None)
@given(models=models_st, seed=st.integers(0, 10_000), bid=st.floats(0, 200))
def test_following_an_agc_signal_respects_every_ev(models, seed, bid):
    """The whole hour: drive, capability, follow_signal, settle; without self-discharge the SOC
    of a plugged EV never leaves its window."""
    models = [{**d, "self_discharge_per_h": 0.0} for d in models]
    f = _fleet(models, seed)
    rng = np.random.default_rng(seed + 1)
    for _ in range(3):
        plugged = rng.random(f.size) < 0.7
        f.drive(np.where(plugged, 0.0, 3.0))
        was_in = f.energy_kwh >= f.soc_min * f.capacity_kwh
        flows = f.hour_flows(plugged)
        signal = np.clip(np.cumsum(rng.normal(0, 0.05, 1800)), -1, 1)[None, :]
        res = follow_signal(signal, bid, flows.p_up_kw, flows.p_down_kw, flows.e_up_kwh,
                            flows.e_down_kwh)
        net = float(res.net_energy_kwh[0])
        assert -flows.e_down_kwh - TOL <= net <= flows.e_up_kwh + TOL
        out = f.settle_hour(flows, net)
        assert np.isclose(out.grid_kwh.sum(), flows.base_kw.sum() - net, atol=1e-8)
        soc = f.soc
        assert np.all(soc <= f.soc_max + TOL)
        assert np.all(soc[plugged & was_in] >= f.soc_min[plugged & was_in] - TOL)


@settings(max_examples=80, deadline=None)
@given(shares=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6), m=st.integers(1, 500),
       seed=st.integers(0, 1000))
def test_model_assignment_splits_by_share_exactly(shares, m, seed):
    shares = [s / sum(shares) for s in shares]
    sizes = split_by_share(shares, m)
    assert sizes.sum() == m and np.all(np.abs(sizes - np.asarray(shares) * m) < 1)
    np.testing.assert_array_equal(sizes, cluster_sizes(shares, m))
    specs = [EVModelSpec(f"m{i}", s, 50.0, 7.0, 7.0, 0.2, 0.95) for i, s in enumerate(shares)]
    f = Fleet.from_spec(_spec(specs, count=m), np.random.default_rng(seed))
    np.testing.assert_array_equal(np.bincount(f.model_index, minlength=len(shares)), sizes)
    assert f.sample.size == min(SOC_SAMPLE_SIZE, m) == np.unique(f.sample).size


def test_largest_remainder_by_hand_and_seeded_assignment():
    assert split_by_share([0.5, 0.3, 0.2], 7).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4 + 1 to .5
    assert split_by_share([1 / 3, 1 / 3, 1 / 3], 200).tolist() == [67, 67, 66]
    specs = [EVModelSpec("a", 0.5, 40.0, 7.0, 7.0, 0.2, 0.95),
             EVModelSpec("b", 0.5, 80.0, 11.0, 0.0, 0.1, 0.9, v2g=False)]
    spec = _spec(specs, count=100)
    f1 = Fleet.from_spec(spec, np.random.default_rng(3))
    f2 = Fleet.from_spec(spec, np.random.default_rng(3))
    np.testing.assert_array_equal(f1.model_index, f2.model_index)
    np.testing.assert_array_equal(f1.sample, f2.sample)
    # the models are mixed over the index range (driver clusters are contiguous ranges)
    assert 10 < f1.model_index[:50].sum() < 40
    b = f1.model_index == 1
    assert np.all(f1.capacity_kwh[b] == 80.0) and np.all(f1.capacity_kwh[~b] == 40.0)
    assert np.all(~f1.v2g[b]) and np.all(f1.discharge_kw[b] == 0.0)
    # initial SOC drawn on soc_init = [0, 1], then clipped to each model's window
    assert f1.soc[b].min() >= 0.1 and f1.soc[b].max() <= 0.9
    # the first draws of the stream are the homogeneous fleet's initial SOCs
    homog = Fleet.from_spec(_spec([], count=100), np.random.default_rng(3))
    np.testing.assert_allclose(np.clip(homog.soc, f1.soc_min, f1.soc_max), f1.soc)


def test_homogeneous_fleet_has_identity_extras_and_legacy_settlement():
    f = Fleet.from_spec(_spec([], count=5, soc_init=(0.5, 0.5)), np.random.default_rng(0))
    assert not f.heterogeneous and f.sample.size == 0
    assert np.all(f.charge_efficiency == 1) and np.all(f.self_discharge_per_h == 0)
    plugged = np.array([True, True, False, True, False])
    flows = f.hour_flows(plugged)
    assert flows.up_kwh is None
    before = f.energy_kwh.copy()
    out = f.settle_hour(flows, 1.0)
    np.testing.assert_array_equal(out.grid_kwh, f.energy_kwh - before)
    assert out.grid_import_kwh - out.grid_export_kwh == pytest.approx(flows.base_kw.sum() - 1.0)

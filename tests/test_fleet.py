"""Battery dynamics: energy balance and SOC bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from v2gsim.config import DriversConfig
from v2gsim.config.scenario import Scenario
from v2gsim.core.fleet import Fleet
from v2gsim.specs.build import fleet_spec


def _spec(**drivers):
    return fleet_spec(Scenario(drivers=DriversConfig(**drivers)))


def _fleet(m: int, seed: int) -> Fleet:
    return Fleet.from_spec(_spec(count=m, soc_init=(0.0, 1.0)), np.random.default_rng(seed))


def test_baseline_charging_by_hand():
    f = Fleet.from_spec(_spec(count=3, battery_kwh=10.0, soc_init=(0.5, 0.5), soc_target=0.8,
                              baseline_charge_kw=2.0, charger_kw=5.0, soc_max=0.9, soc_min=0.2),
                        np.random.default_rng(0))
    plugged = np.array([True, True, False])
    f.energy_kwh[:] = [5.0, 7.5, 5.0]
    flows = f.hour_flows(plugged)
    # base: EV0 min(2, 8-5)=2 kW; EV1 min(2, 8-7.5)=0.5 kW; EV2 unplugged 0
    np.testing.assert_allclose(flows.base_kw, [2.0, 0.5, 0.0])
    assert flows.p_up_kw == (5 + 2) + (5 + 0.5)
    assert flows.p_down_kw == (5 - 2) + (5 - 0.5)
    assert flows.e_up_kwh == (5 - 2) + (7.5 - 2)
    assert flows.e_down_kwh == (9 - 5 - 2) + (9 - 7.5 - 0.5)
    f.settle_hour(flows, net_discharge_kwh=0.0)
    np.testing.assert_allclose(f.energy_kwh, [7.0, 8.0, 5.0])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(-1.0, 1.0), drive=st.floats(0, 80))
def test_regulation_energy_balance_and_bounds(seed, frac, drive):
    f = _fleet(50, seed)
    rng = np.random.default_rng(seed)
    plugged = rng.random(50) < 0.6
    need, stored = np.where(plugged, 0.0, drive), f.energy_kwh.copy()
    unmet = f.drive(need)
    # a trip takes what the battery holds; the rest is unmet
    np.testing.assert_allclose(unmet, np.maximum(need - stored, 0.0), atol=1e-12)
    np.testing.assert_allclose(f.energy_kwh, np.maximum(stored - need, 0.0), atol=1e-12)
    flows = f.hour_flows(plugged)
    # any net regulation energy within the aggregate window is absorbed exactly
    net = frac * (flows.e_up_kwh if frac > 0 else flows.e_down_kwh)
    before = f.energy_kwh.copy()
    f.settle_hour(flows, net)
    delta = f.energy_kwh - before
    assert np.isclose(np.sum(delta), np.sum(flows.base_kw) - net, atol=1e-9)
    assert np.all(delta[~plugged] == 0)
    # plugged EVs never cross the regulation ceiling soc_max (one already above it only falls)
    ceiling = np.maximum(before, f.soc_max * f.capacity_kwh)
    assert np.all(f.energy_kwh[plugged] <= ceiling[plugged] + 1e-9)
    # plugged EVs never cross their regulation bounds (floor only binds if they were above it)
    soc = f.soc
    above = before / f.capacity_kwh >= f.soc_min
    assert np.all(soc[plugged & above] >= f.soc_min[plugged & above] - 1e-12)

"""Full robust framework (1)-(10), (P) of seed 004 (models.md §5.1): reduction, robustness, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from v2gsim.core.solvers.errors import InfeasibleError
from v2gsim.optimize.robust import profitability
from v2gsim.optimize.robust.check import check_plan, sample_realizations
from v2gsim.optimize.robust.full_lp import RobustPlanner
from v2gsim.optimize.robust.spec import DayPrices, FleetDay

K = 96


def _fleet(**kw) -> FleetDay:
    base = dict(delta=0.25, n_slots=K, a_lo=[24, 26, 25, 28], a_hi=[32, 32, 30, 31], d_lo=[64, 66, 70, 64],
                d_hi=[80, 80, 75, 79], e0_lo=[10, 12, 8, 15], e0_hi=[20, 22, 18, 25], e_min=5.0, e_max=50.0,
                e_dep=[35, 30, 40, 38], p_max=7.4, eta_c=0.95, eta_d=0.9, alpha=0.9995, p_plant=20.0)
    return FleetDay.build(**(base | kw))


def _prices(**kw) -> DayPrices:
    hours = np.arange(K) / 4
    base = dict(c_plus=0.08 + 0.05 * np.sin(hours / 24 * 2 * np.pi) ** 2, c_minus=0.06, c_up=0.5, c_down=0.06,
                pi_up=0.3, pi_down=0.2, c_ch=0.2)
    return DayPrices.build(K, **(base | kw))


def _one_vehicle(e0, e_dep, e_max):
    return FleetDay.build(delta=1.0, n_slots=1, a_lo=[0], a_hi=[0], d_lo=[0], d_hi=[0], e0_lo=[e0],
                          e0_hi=[e0], e_min=0.0, e_max=e_max, e_dep=e_dep, p_max=100.0)


@pytest.mark.parametrize("business", ["FC", "PC"])
def test_one_vehicle_one_slot_equals_reduced_closed_form(business):
    fleet = _one_vehicle(5.0, 15.0, 45.0)  # e_req = 10, e_room = 40
    planner = RobustPlanner(fleet, business)
    n = 0
    for cp, cu, cd, pu, pd in itertools.product((0.05, 0.1, 0.2), (0.0, 0.2, 0.5, 0.8), (0.0, 0.05, 0.2),
                                                (0.05, 0.4), (0.05, 0.4)):
        c_ch = cp + 0.05 if business == "PC" else None
        plan = planner.solve(fleet, DayPrices.build(1, c_plus=cp, c_minus=0.8 * cp, c_up=cu, c_down=cd,
                                                    pi_up=pu, pi_down=pd, c_ch=c_ch))
        ref = profitability(business, cp, 0.8 * cp, cu, cd, pu, pd, 10.0, 40.0, c_ch=c_ch)
        assert plan.cost == pytest.approx(ref.cost, abs=1e-7)
        if ref.unique:
            assert plan.p_dam[0, 0] == pytest.approx(ref.energy, abs=1e-6)
            assert plan.r_up[0, 0] == pytest.approx(ref.energy_up, abs=1e-6)
            assert plan.r_down[0, 0] == pytest.approx(ref.energy_down, abs=1e-6)
        n += 1
    assert n == 144


@pytest.mark.parametrize("business", ["FC", "PC"])
def test_robust_inside_set_zero_violations_outside_reported(business):
    fleet = _fleet()
    plan = RobustPlanner(fleet, business).solve(fleet, _prices())
    assert plan.r_up.sum() > 1.0  # the plan does offer reserve (c_up pi_up = 0.15 > c_plus)
    rng = np.random.default_rng(14)
    inside = check_plan(plan, fleet, sample_realizations(fleet, 1000, rng))
    assert inside["any"] == 0, inside
    outside = check_plan(plan, fleet, sample_realizations(fleet, 1000, rng, widen=0.3))
    assert outside["any"] > 0 and outside["departure (6)"] > 0


def test_scenario_variant_in_sample_feasible_and_cheaper_than_box():
    fleet = _fleet()
    rng = np.random.default_rng(3)
    scen = sample_realizations(fleet, 20, rng)
    box = RobustPlanner(fleet, "FC").solve(fleet, _prices())
    sc = RobustPlanner(fleet, "FC", scenarios=scen).solve(fleet, _prices())
    assert check_plan(sc, fleet, scen)["any"] == 0
    assert sc.cost <= box.cost + 1e-7  # the sampled set lies inside the box


def test_reparameterized_equals_fresh_build():
    fleet, fleet2 = _fleet(), _fleet(e0_lo=[12, 14, 10, 16], d_lo=[62, 66, 68, 64], e_dep=[30, 30, 35, 33])
    p2 = _prices(c_up=0.3, pi_up=0.4, c_down=0.02)
    planner = RobustPlanner(fleet, "PC")
    planner.solve(fleet, _prices())
    again = planner.solve(fleet2, p2)
    fresh = RobustPlanner(fleet2, "PC").solve(fleet2, p2)
    assert again.cost == pytest.approx(fresh.cost, rel=1e-9, abs=1e-9)
    assert again.cost == pytest.approx(again.j_dam + again.j_asm + again.j_ev, abs=1e-9)


def test_infeasible_departure_names_ev():
    fleet = _fleet(e_dep=[35, 30, 49.9, 38], d_lo=[64, 66, 40, 64], a_hi=[32, 32, 30, 31])
    with pytest.raises(InfeasibleError, match="EV 2") as err:
        RobustPlanner(fleet, "FC").solve(fleet, _prices())
    assert err.value.culprits == ["departure energy (6) / e_min (3), EV 2"]


def test_infeasible_plant_named():
    fleet = _fleet(p_plant=1.0)
    with pytest.raises(InfeasibleError, match=r"plant limit \(5\)"):
        RobustPlanner(fleet, "FC").solve(fleet, _prices())


@pytest.mark.parametrize(("bad", "what"), [(dict(a_hi=[32, 32, 30, 70]), "a_hi <= d_lo"),
                                           (dict(e0_hi=[60, 22, 18, 25]), "e0_hi <= e_max"),
                                           (dict(alpha=0.0), "alpha")])
def test_invalid_fleet_named(bad, what):
    with pytest.raises(ValueError, match=what):
        _fleet(**bad)


def test_invalid_prices_named():
    with pytest.raises(ValueError, match="c_dis >= c_ch"):
        _prices(c_dis=0.1)

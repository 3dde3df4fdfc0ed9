"""Revenue model (O) of seed 003: exact breakdown, enumeration of levels, hand-computed instance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from v2gsim.optimize.eva.instance import MarketDay, build_inputs, uniform_baseline
from v2gsim.optimize.eva.population import PopulationSpec, sample_sessions
from v2gsim.optimize.eva.regions import region, schedule_violation
from v2gsim.optimize.eva.revenue import ITEMS, RevenueInfeasibleError, RevenueInputs, solve_revenue
from v2gsim.optimize.eva.willingness import Logit, PiecewiseLinear


def _population(**changes) -> PopulationSpec:
    """A test population (every field given: the plain spec has no defaults)."""
    values = dict(arrival_mean_h=18.0, arrival_sd_h=1.5, stay_mean_h=12.0, stay_sd_h=1.5, capacity_kwh=60.0,
                  soc_min=0.2, soc_max=0.95, soc_req=0.8, mileage_mu=3.4, mileage_sigma=0.5, kwh_per_km=0.16,
                  soc_start=0.95, p_c_kw=7.0, p_d_kw=7.0, eta_c=0.92, eta_d=0.92, T=36)
    return PopulationSpec(**(values | changes))


def _tiny(T=3, seed=0, n=6):
    spec = _population(arrival_mean_h=0.0, arrival_sd_h=0.3, stay_mean_h=T, stay_sd_h=0.0, T=T,
                       capacity_kwh=20.0, mileage_mu=3.0)
    ev = sample_sessions(spec, n, np.random.default_rng(seed))
    day = MarketDay(r_da=np.array([0.3, 0.1, 0.2])[:T], r_up=np.array([0.9, 0.0, 0.8])[:T],
                    r_down=np.array([0.0, 0.4, 0.0])[:T], r_cap=np.array([0.2, 0.1, 0.3])[:T],
                    c_reg=np.full(T, 0.05), up_window=np.array([1, 0, 1], bool)[:T],
                    down_window=np.array([0, 1, 0], bool)[:T], req_kw=np.full(T, 25.0))
    return build_inputs(ev, day, np.array([0.0, 0.08]), PiecewiseLinear(0.02, 0.1, 0.7),
                        np.array([0.0, 0.3]), Logit(-2.0, 12.0, beta2=1.0, inconvenience=0.0, pi_max=0.9),
                        discount_in_purchase=True)


def test_breakdown_sums_exactly_and_equals_objective():
    x = _tiny()
    b = solve_revenue(x)
    it = b.items()
    assert list(it) == list(ITEMS)
    assert it["total_operating_revenue"] == (it["energy_revenue"] + it["capacity_revenue"]
                                             - it["subsidy_cost"] - it["electricity_purchase_cost"]
                                             - it["peak_regulation_cost"])
    assert abs(b.total_operating_revenue - b.objective) <= 1e-6 * max(1.0, abs(b.objective))
    # items recomputed from the plan by hand
    p = b.plan
    assert np.isclose(it["energy_revenue"], np.sum(x.day.r_up * p["r_up_kw"] + x.day.r_down * p["r_down_kw"]))
    assert np.isclose(it["capacity_revenue"], np.sum(x.day.r_cap * p["bid_kw"]))
    assert np.isclose(b.discount_cost, np.sum(p["discount"] * p["r_down_kw"]))
    assert np.isclose(it["subsidy_cost"], np.sum(p["subsidy"] * p["r_up_kw"]))
    # constraints (a)-(e) on the plan
    assert np.allclose(p["c_kw"] - p["d_kw"], x.p_base + p["r_down_kw"] - p["r_up_kw"] + p["recovery_kw"],
                       atol=1e-7)
    assert np.all(p["recovery_kw"][x.day.up_window | x.day.down_window] == 0)
    assert np.all(p["bid_kw"] <= p["r_up_kw"] + p["r_down_kw"] + 1e-7)
    assert np.all(p["r_down_kw"] <= p["pi_discount"] * (x.p_c_agg - x.p_base) + 1e-7)
    assert np.all(p["r_up_kw"] <= p["pi_subsidy"] * (x.p_base + x.p_d_agg) + 1e-7)
    e = p["energy_kwh"]
    assert np.all(e <= x.e_upper + 1e-7) and np.all(e >= x.e_lower - 1e-7)
    assert np.all(p["c_kw"] <= x.p_c_agg + 1e-7) and np.all(p["d_kw"] <= x.p_d_agg + 1e-7)


def test_milp_equals_enumeration_of_levels():
    x = _tiny()
    best = -np.inf
    for lc in itertools.product(range(2), repeat=x.T):
        for ld in itertools.product(range(2), repeat=x.T):
            best = max(best, solve_revenue(x, fixed_levels=(np.array(lc), np.array(ld))).objective)
    b = solve_revenue(x)
    assert abs(b.objective - best) <= 1e-6 * max(1.0, abs(best))
    assert b.objective > solve_revenue(x, fixed_levels=(np.zeros(3, int), np.zeros(3, int))).objective


def test_instruments_off_means_no_regulation():
    x = _tiny()
    off = RevenueInputs(**{**x.__dict__, "disc_levels": np.array([0.0]), "pi_disc": np.array([0.0]),
                           "sub_levels": np.array([0.0]), "pi_sub": np.array([0.0])})
    b = solve_revenue(off)
    it = b.items()
    assert it["energy_revenue"] == 0 and it["capacity_revenue"] == 0 and it["subsidy_cost"] == 0
    # only the baseline is bought: purchase = Σ R_DA p_base
    assert np.isclose(it["electricity_purchase_cost"], float(np.sum(x.day.r_da * x.p_base)))


def test_baseline_is_feasible_for_every_ev():
    ev = sample_sessions(_population(T=24), 300, np.random.default_rng(4))
    base = uniform_baseline(ev)
    assert schedule_violation(ev, base, np.zeros_like(base)) <= 1e-7
    assert region(ev).p_max.shape == base.shape


def test_infeasible_names_family():
    x = _tiny()
    bad = RevenueInputs(**{**x.__dict__, "p_base": x.p_c_agg + 5.0})
    with pytest.raises(RevenueInfeasibleError, match=r"\(e\) power, hour 0") as err:
        solve_revenue(bad)
    assert err.value.family.startswith("(e)")


def test_the_instance_holds_one_market_day():
    """RevenueInputs holds the day's market as one MarketDay, checked on its own and against the fleet."""
    x = _tiny()
    assert x.day.T == x.T == 3 and x.day.up_window.dtype == bool and x.day.r_da.dtype == float
    fields = {f: getattr(x.day, f) for f in ("r_da", "r_up", "r_down", "r_cap", "c_reg", "up_window",
                                             "down_window", "req_kw")}
    with pytest.raises(ValueError, match=r"MarketDay\.c_reg: shape \(2,\) != \(3,\)"):
        MarketDay(**{**fields, "c_reg": np.zeros(2)})
    with pytest.raises(ValueError, match="both directions"):
        MarketDay(**{**fields, "down_window": np.ones(3, bool)})
    short = MarketDay(**{k: v[:2] for k, v in fields.items()})
    with pytest.raises(ValueError, match=r"RevenueInputs\.day: 2 hours, the fleet's baseline has 3"):
        RevenueInputs(**{**x.__dict__, "day": short})

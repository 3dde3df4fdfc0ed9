"""Reduced problem (P-tilde) of seed 004: the closed form (models.md §5.3-5.4) against the HiGHS LP."""

from __future__ import annotations

import itertools

import pytest

import v2gsim
from v2gsim.optimize.robust import PriceAssumptionError, expected_cost, profitability, profitability_lp

E_REQ, E_ROOM = 10.0, 40.0
TOL = 1e-7


def _grid(business: str):
    c_plus = (0.05, 0.10, 0.15, 0.20)
    c_up = (0.0, 0.1, 0.2, 0.3, 0.5, 0.8)
    c_down = (0.0, 0.05, 0.1, 0.2, 0.4)
    pis = (0.05, 0.2, 0.4)
    offsets = (0.0, 0.05, 0.15, 0.3) if business == "PC" else (None,)
    for cp, cu, cd, pu, pd, off in itertools.product(c_plus, c_up, c_down, pis, pis, offsets):
        kw = dict(c_plus=cp, c_minus=0.8 * cp, c_up=cu, c_down=cd, pi_up=pu, pi_down=pd,
                  e_req=E_REQ, e_room=E_ROOM)
        if off is not None:
            kw.update(c_ch=cp + off, c_dis=cp + off + 0.05)
        yield kw


def _compare(business: str) -> tuple[int, int, dict[str, int]]:
    n, violations, regimes = 0, 0, {"none": 0, "upward": 0, "downward": 0}
    for kw in _grid(business):
        cf = profitability(business, **kw)
        lp = profitability_lp(business, **kw)
        n += 1
        regimes[cf.regime] += 1
        plan_cost = expected_cost(business, cf.energy, cf.energy_up, cf.energy_down,
                                  **{k: v for k, v in kw.items() if k not in ("e_req", "e_room")})
        bad = abs(cf.cost - lp.cost) > TOL or abs(plan_cost - cf.cost) > TOL
        if cf.unique:
            bad |= cf.regime != lp.regime
            bad |= max(abs(cf.energy - lp.energy), abs(cf.energy_up - lp.energy_up),
                       abs(cf.energy_down - lp.energy_down)) > 1e-6
        violations += bad
    return n, violations, regimes


@pytest.mark.parametrize("business", ["FC", "PC"])
def test_closed_form_equals_lp_on_grid(business):
    n, violations, regimes = _compare(business)
    assert n >= 1000
    assert violations == 0
    if business == "PC":  # all three quadrant regions are visited
        assert min(regimes.values()) > 100
    else:
        assert regimes["downward"] == 0 and regimes["upward"] > 100


def test_fc_hand_value():
    # pi_up c_up = 0.4 * 0.5 = 0.2 > c_plus = 0.1: J* = 0.1*10 - 30*(0.2 - 0.1) = -2
    r = profitability("FC", 0.1, 0.08, 0.5, 0.05, 0.4, 0.2, 10.0, 40.0)
    assert r.regime == "upward" and r.cost == pytest.approx(-2.0)
    assert (r.energy, r.energy_up, r.energy_down) == (40.0, 30.0, 0.0)


def test_pc_hand_values_fig3():
    # models.md §5.5 example points (c_plus = 0.10, c_down = 0.06, c_ch = 0.15)
    up = profitability("PC", 0.1, 0.08, 0.20, 0.06, 0.05, 0.05, 10.0, 40.0, c_ch=0.15)
    assert up.regime == "upward"
    assert up.gamma_down == pytest.approx(-0.0455) and up.gamma_up == pytest.approx(0.0025)
    down = profitability("PC", 0.1, 0.08, 0.20, 0.06, 0.05, 0.60, 10.0, 40.0, c_ch=0.15)
    assert down.regime == "downward" and down.gamma_down == pytest.approx(0.004)
    # J* = (0.1 - 0.15)*40 - 30*0.004
    assert down.cost == pytest.approx(-2.12)


def test_top_level_export():
    assert v2gsim.profitability is profitability


@pytest.mark.parametrize(("business", "kw", "name"), [
    ("FC", dict(c_plus=0.1, c_minus=0.08, c_down=-0.05), "c_down >= 0 (FC)"),
    ("FC", dict(c_plus=0.1, c_minus=0.12, c_down=0.05), "c_plus >= c_minus"),
    ("FC", dict(c_plus=0.1, c_minus=-0.01, c_down=0.05), "c_minus >= 0"),
    ("PC", dict(c_plus=0.1, c_minus=0.08, c_down=0.05, c_ch=0.09), "c_ch >= c_plus (PC)"),
])
def test_violated_assumption_named_and_solvable_anyway(business, kw, name):
    args = dict(c_up=0.3, pi_up=0.2, pi_down=0.4, e_req=10.0, e_room=40.0, **kw)
    with pytest.raises(PriceAssumptionError, match=name.replace("(", r"\(").replace(")", r"\)")) as err:
        profitability(business, **args)
    assert name in err.value.violated
    with pytest.raises(PriceAssumptionError):
        profitability_lp(business, **args)
    cf = profitability(business, **args, check_assumptions=False)
    lp = profitability_lp(business, **args, check_assumptions=False)
    assert not cf.assumptions_ok and not lp.assumptions_ok


def test_boundary_fc_c_down_both_sides():
    base = dict(c_plus=0.1, c_minus=0.08, c_up=0.3, pi_up=0.2, pi_down=0.4, e_req=10.0, e_room=40.0)
    # on the boundary c_down = 0 the assumption holds; the closed form is optimal
    at = profitability("FC", c_down=0.0, **base)
    assert at.assumptions_ok and at.cost == pytest.approx(profitability_lp("FC", c_down=0.0, **base).cost)
    # just outside, downward pays (models.md §5.5 probe: J 1.00 -> 0.70 with E_down = 30)
    cf = profitability("FC", c_down=-0.025, **base, check_assumptions=False)
    lp = profitability_lp("FC", c_down=-0.025, **base, check_assumptions=False)
    assert cf.regime == "none" and cf.cost == pytest.approx(1.0)
    assert lp.regime == "downward" and lp.energy_down == pytest.approx(30.0)
    assert lp.cost == pytest.approx(1.0 - 30 * 0.4 * 0.025)


def test_boundary_pc_c_ch_both_sides():
    base = dict(c_plus=0.1, c_minus=0.08, c_up=0.05, c_down=0.3, pi_up=0.05, pi_down=0.05,
                e_req=10.0, e_room=40.0)
    at = profitability("PC", c_ch=0.1, **base)
    assert at.assumptions_ok and at.cost == pytest.approx(profitability_lp("PC", c_ch=0.1, **base).cost)
    # c_ch < c_plus: no-service optimum is E = e_req, not e_room (models.md §5.5)
    cf = profitability("PC", c_ch=0.09, **base, check_assumptions=False)
    lp = profitability_lp("PC", c_ch=0.09, **base, check_assumptions=False)
    assert cf.regime == "none" and cf.energy == 40.0 and cf.cost == pytest.approx(0.4)
    assert lp.regime == "none" and lp.energy == pytest.approx(10.0) and lp.cost == pytest.approx(0.1)


def test_boundary_c_plus_equals_c_minus():
    base = dict(c_up=0.3, c_down=0.05, pi_up=0.2, pi_down=0.4, e_req=10.0, e_room=40.0)
    r = profitability("FC", 0.1, 0.1, **base)
    assert r.assumptions_ok and r.cost == pytest.approx(profitability_lp("FC", 0.1, 0.1, **base).cost)


@pytest.mark.parametrize("bad", [dict(pi_up=0.7, pi_down=0.5), dict(e_req=50.0), dict(e_req=-1.0)])
def test_invalid_data(bad):
    args = dict(c_plus=0.1, c_minus=0.08, c_up=0.3, c_down=0.05, pi_up=0.2, pi_down=0.4,
                e_req=10.0, e_room=40.0) | bad
    with pytest.raises(ValueError):
        profitability("FC", **args)


def test_pc_requires_c_ch():
    with pytest.raises(ValueError, match="c_ch"):
        profitability("PC", 0.1, 0.08, 0.3, 0.05, 0.2, 0.4, 10.0, 40.0)

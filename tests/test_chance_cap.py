"""Bids never exceed the plugged EVs' capability, and η is bounded by 1/2 (issue 30 item 6).

Reproducer: ``v2gsim run --set platform.chance.eta=0.9`` bid 6,152 kW from 200 EVs at 10 kW (the
score target 1 - η = 0.1 makes r̄ ≈ 0.07, and bound (3) then admits ψ E[K̃] / 0.08); η = 0.999999
bid 6.85e8 kW. Now every bid is capped by ``ψ Σ_c M_c y_ct`` (closed form, cvxpy, the bilevel
leader, the MISOCP), and the schema refuses η > 1/2.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from conftest import step_model

from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.market.requirement import RequirementStats
from v2gsim.optimize.bilevel import BilevelProblem
from v2gsim.optimize.bilevel.bids import leader_bids
from v2gsim.optimize.chance.bids import ChanceBidProblem, closed_form_bids
from v2gsim.optimize.chance.bounds import ETA_MAX, capability_cap, kappa_backward, kappa_forward, max_bid
from v2gsim.optimize.chance.cones import bound_constraints
from v2gsim.policies.chance import ChancePolicy
from v2gsim.specs.build import default_instance

M, PSI = 200, 10.0
Y = np.array([0.0, 0.001, 0.05, 0.2, 0.37, 0.5, 0.8, 1.0])
PRICE = np.full(Y.size, 0.05)


def _requirement(eta: float) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic RegD requirement statistics at score target 1 - η (as the policy uses them)."""
    st = RequirementStats.from_synthetic(np.random.default_rng(1), mean_hourly_mileage=25.0, days=14,
                                         score_target=1.0 - eta)
    return np.full(Y.size, st.r_bar[0]), np.full(Y.size, st.sigma_f[0])


@pytest.mark.parametrize("eta", [0.05, 0.5, 0.9, 0.999999])
def test_closed_form_bids_never_exceed_the_plugged_capability(eta):
    rb, sg = _requirement(eta)
    bids = closed_form_bids(Y, M, PSI, rb, sg, PRICE, eta)
    assert np.all(bids <= PSI * M * Y + 1e-9)
    uncapped = np.asarray(max_bid(Y, M, PSI, rb, sg, eta))
    np.testing.assert_allclose(bids, np.minimum(uncapped, PSI * M * Y))
    if eta >= 0.5:  # the bound alone would bid beyond the EVs (2.2x at 0.5, 12x at 0.9)
        assert np.any(uncapped > 1.5 * PSI * M * Y)


@pytest.mark.parametrize("eta", [0.05, 0.5, 0.9])
def test_cvxpy_bids_are_capped_like_the_closed_form(eta):
    rb, sg = _requirement(eta)
    prob = ChanceBidProblem(Y.size, M, PSI, eta)
    bids = prob.solve(Y, rb, sg, PRICE)
    assert np.all(bids <= PSI * M * Y)
    np.testing.assert_allclose(bids, closed_form_bids(Y, M, PSI, rb, sg, PRICE, eta), atol=1e-3)
    binding = np.any(np.asarray(max_bid(Y, M, PSI, rb, sg, eta)) > PSI * M * Y)
    assert (prob.capped is not None) == binding  # the capped problem is built when needed
    plain = ChanceBidProblem(Y.size, M, PSI, eta)
    y_low = np.minimum(Y, 0.4)  # no hour near y = 1: the bound binds first, the cap is not built
    assert np.all(plain.solve(y_low, rb, sg, PRICE) <= PSI * M * y_low)
    assert (plain.capped is None) == (eta < 0.5)


def test_credit_does_not_rise_with_eta_once_every_hour_is_capped():
    y = np.full(6, 0.4)
    credit = []
    for eta in (0.5, 0.9, 0.99, 0.999999):
        rb, sg = _requirement(eta)
        credit.append(float(PRICE[:6] @ closed_form_bids(y, 10_000, PSI, rb[:6], sg[:6], PRICE[:6], eta)))
    assert credit == pytest.approx([credit[0]] * 4)
    assert credit[0] == pytest.approx(float(PRICE[:6] @ (PSI * 10_000 * y)))


def test_max_bid_cap_and_capability_cap():
    assert capability_cap(0.3, M, PSI) == pytest.approx(600.0)
    np.testing.assert_allclose(capability_cap(np.array([[0.2, 0.4]]), np.array([100, 50]), PSI), [400.0])
    # r̄ = σ = 0 admits any bid; the cap still bounds it
    assert max_bid(0.5, M, PSI, 0.0, 0.0, 0.05) == np.inf
    assert max_bid(0.5, M, PSI, 0.0, 0.0, 0.05, cap=True) == pytest.approx(1000.0)


def test_variable_y_cone_form_has_the_cap():
    """The MISOCP's form (variable y with its deviation w) also caps the bid at ψ Σ M_c y_c."""
    y0 = np.array([0.3, 0.6])
    y, w, C = cp.Variable(2), cp.Variable(2), cp.Variable(2)
    ch = bound_constraints(C, y, M=M, psi=PSI, r_bar=np.full(2, 0.07), sigma=np.full(2, 0.02),
                           eta=0.9, w=w, cap=True)
    cons = [*ch.constraints, y == y0, w == np.sqrt(y0 * (1 - y0))]
    cp.Problem(cp.Maximize(cp.sum(C)), cons).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(C.value, PSI * M * y0, rtol=1e-6)


def test_bilevel_leader_bids_are_capped():
    c = np.array([50.0, 200.0, 0.0])
    b = np.array([100.0, 100.0, 100.0])
    np.testing.assert_array_equal(leader_bids(c, b, b, PSI, np.array([1.0, 1.0, 1.0]), None),
                                  [50.0, 100.0, 0.0])
    inst = default_instance(eta=0.9)
    r = RequirementStats.from_synthetic(np.random.default_rng(1), mean_hourly_mileage=25.0, days=14,
                                        score_target=0.1)
    inst = inst.replace(r_bar=np.full(inst.hours, r.r_bar[0]), sigma_dev=np.full(inst.hours, r.sigma_f[0]))
    sol = BilevelProblem(inst).solve("bnb", time_limit=5.0)
    cap = inst.psi * sol.y @ inst.cluster_sizes
    assert np.all(sol.bids <= cap + 1e-9)
    assert np.any(sol.bids >= cap - 1e-6)  # binding: the bound alone would bid more


def test_eta_is_bounded_by_one_half():
    assert ETA_MAX == 0.5
    assert kappa_forward(0.5) == pytest.approx(kappa_backward(0.5))  # (3) and (4) coincide there
    load_scenario("default", ["platform.chance.eta=0.5"])
    with pytest.raises(ScenarioError, match=r"platform\.chance\.eta"):
        load_scenario("default", ["platform.chance.eta=0.9"])
    stats = RequirementStats.from_samples(np.full((3, 24), 0.8) + np.arange(24) * 1e-3,
                                          np.full((3, 24), 25.0))
    with pytest.raises(ValueError, match="eta"):
        ChancePolicy(stats=stats, eta=0.9)


def test_cli_refuses_eta_beyond_one_half(capsys):
    assert main(["run", "tiny", "--set", "platform.chance.eta=0.9", "--quiet"]) == 2
    assert "platform.chance.eta" in capsys.readouterr().err


@pytest.mark.parametrize("policy", ["chance", "bilevel"])
def test_largest_allowed_eta_bids_within_the_plugged_capability(policy):
    """``v2gsim run --set platform.chance.eta=0.5``: every hour's bid <= the plugged capability."""
    model = step_model("default", [f"platform.chance.eta={ETA_MAX}", f'platform.policy="{policy}"'],
                       days=2)
    h = model.hourly_table()
    reserve = model.spec.fleet.regulation_kw - 3.3  # capability = "headroom": psi - omega
    assert (h["bid_kw"] <= reserve * h["predicted_plugged"] + 1e-6).all()
    assert (h["bid_kw"] <= model.spec.fleet.regulation_kw * model.spec.fleet.count).all()
    assert (h["bid_kw"] >= reserve * h["predicted_plugged"] - 1e-6).sum() > 0  # the cap binds


def test_policy_reports_the_capped_hours():
    from v2gsim.policies import Observation, PlugBeliefs

    stats = RequirementStats.from_synthetic(np.random.default_rng(2), 14, 25.0, score_target=0.5)
    y = np.linspace(0.1, 0.9, 24)
    beliefs = PlugBeliefs(networks=(), sizes=np.array([M]), plug_fraction=y,
                          cluster_plug_fraction=y[None, :])
    obs = Observation(day=0, hours=24, fleet_size=M, charger_kw=PSI,
                      plugged_history=np.zeros((0, 24)), capability_price=np.full(24, 14.0),
                      performance_price=np.full(24, 1.5), beliefs=beliefs)
    for method in ("cvxpy", "closed_form"):
        dec = ChancePolicy(stats=stats, eta=0.5, method=method).decide(obs)
        assert np.all(dec.bid_kw <= PSI * M * y + 1e-9)
        assert dec.info["hours_capped"] > 0 and dec.info["max_gap_kw"] < 1e-3

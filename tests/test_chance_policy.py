"""Tests for the ``chance`` policy (v2gsim.policies.chance, v2gsim.optimize.chance.bids; models.md §1.4)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO, require_shared

from v2gsim.config import load_scenario
from v2gsim.experiments.runner import run_scenario
from v2gsim.market.agc import synthetic_regd
from v2gsim.market.requirement import RequirementStats, requirement_per_hour
from v2gsim.optimize.chance.bids import ChanceBidProblem, closed_form_bids, expected_price_per_kw
from v2gsim.optimize.chance.bounds import bound_lhs, kappa, max_bid, no_bid_threshold
from v2gsim.policies import Observation, PlugBeliefs, available_policies
from v2gsim.policies.chance import ChancePolicy, predicted_plug_fraction
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import build_policy

M, PSI = 200, 10.0
TINY = REPO / "scenarios" / "tiny.toml"


@pytest.fixture(scope="module")
def requirement_pool() -> dict[float, tuple[RequirementStats, np.ndarray]]:
    """Per score target q: the policy's statistics (14 synthetic days, as by default) and an
    independent population of hourly requirements (60 further days, 1440 hours) to sample r̃ from."""
    est_sig = synthetic_regd(np.random.default_rng(101), days=14)
    pop_sig = synthetic_regd(np.random.default_rng(202), days=60)
    out = {}
    for q in (0.99, 0.95, 0.9, 0.8):
        days = [est_sig[i * 43200 : (i + 1) * 43200] for i in range(14)]
        stats = RequirementStats.from_signals(days, score_target=q)
        out[q] = (stats, requirement_per_hour(pop_sig, score_target=q))
    return out


def _beliefs(plug_fraction: np.ndarray) -> PlugBeliefs:
    """Beliefs carrying only a fleet-wide plug-in prediction (no networks)."""
    y = np.asarray(plug_fraction, dtype=float)
    return PlugBeliefs(networks=(), sizes=np.array([M]), plug_fraction=y,
                       cluster_plug_fraction=y[None, :])


def _obs(hours: int = 24, history: np.ndarray | None = None, plug: np.ndarray | None = None,
         cap: float = 13.94, perf: float = 1.56) -> Observation:
    return Observation(
        day=0 if history is None else history.shape[0],
        hours=hours,
        fleet_size=M,
        charger_kw=PSI,
        plugged_history=np.zeros((0, hours)) if history is None else history,
        capability_price=np.full(hours, cap),
        performance_price=np.full(hours, perf),
        beliefs=None if plug is None else _beliefs(plug),
    )


# ------------------------------------------------------------------ Monte Carlo acceptance


@pytest.mark.parametrize(
    ("eta", "y", "bound", "k_dev"),
    [
        (0.01, 0.35, 3, "variance"),
        (0.05, 0.35, 3, "variance"),
        (0.05, 0.08, 3, "variance"),
        (0.1, 0.6, 3, "bernoulli"),
        (0.2, 0.2, 3, "variance"),
        (0.2, 0.9, 3, "variance"),
        (0.05, 0.7, 4, "variance"),
        (0.2, 0.5, 4, "bernoulli"),
    ],
)
def test_monte_carlo_chance_constraint_holds(requirement_pool, eta, y, bound, k_dev):
    """At the largest bid the bound admits, P(ψK >= rC) >= 1 - η with K ~ Bin(M, y) and r drawn
    from the synthetic generator's hourly requirement distribution (independent of the estimate)."""
    stats, population = requirement_pool[round(1 - eta, 2)]
    c = max_bid(y, M, PSI, stats.r_bar[0], stats.sigma(bound)[0], eta, bound=bound, k_dev=k_dev)
    assert c > 0
    rng = np.random.default_rng([7, int(1000 * eta), int(100 * y), bound])
    n = 400_000
    K = rng.binomial(M, y, size=n)
    r = rng.choice(population, size=n)
    p_ok = np.mean(PSI * K >= r * c)
    assert p_ok >= 1 - eta
    # the bid is not trivially small: it uses a substantial part of the expected capability
    assert c * stats.r_bar[0] > 0.3 * PSI * M * y


def test_monte_carlo_per_hour_of_day(requirement_pool):
    """Same check on each of a few hours of day with the policy's own (pooled) statistics and r
    drawn from that hour's samples only (the generator is stationary over the day)."""
    eta, q = 0.1, 0.9
    stats, population = requirement_pool[q]
    per_hour = population.reshape(60, 24)
    y = np.array([0.36, 0.05, 0.28, 0.36])
    hours = [0, 7, 18, 23]
    c = max_bid(y, M, PSI, stats.r_bar[hours], stats.sigma_f[hours], eta)
    rng = np.random.default_rng(77)
    for j, t in enumerate(hours):
        K = rng.binomial(M, y[j], size=200_000)
        r = rng.choice(per_hour[:, t], size=200_000)
        assert np.mean(PSI * K >= r * c[j]) >= 1 - eta


# ------------------------------------------------------------------ closed form vs cvxpy


@pytest.mark.parametrize(("bound", "k_dev"), [(3, "variance"), (3, "bernoulli"), (4, "variance")])
def test_cvxpy_equals_closed_form_and_is_reused(bound, k_dev):
    T, eta = 24, 0.05
    prob = ChanceBidProblem(T, M, PSI, eta, bound=bound, k_dev=k_dev)
    handle = prob.problem
    rng = np.random.default_rng(bound)
    for day in range(3):
        y = rng.uniform(0.0, 0.95, T)
        y[:3] = [0.0, 0.01, 0.02]  # quiet hours (threshold 0.029 at η = 0.05, M = 200)
        r_bar = rng.uniform(0.7, 1.0, T)
        sigma = rng.uniform(0.0, 0.1, T)
        price = rng.uniform(0.01, 0.08, T)
        price[5] = 0.0
        got = prob.solve(y, r_bar, sigma, price)
        want = closed_form_bids(y, M, PSI, r_bar, sigma, price, eta, bound, k_dev)
        assert prob.problem is handle  # built once, re-parameterised (DPP)
        assert got == pytest.approx(want, rel=1e-5, abs=1e-3), f"day {day}"
        assert np.all(got[:3] == 0.0) and got[5] == 0.0
        lhs = bound_lhs(got, y, M, PSI, r_bar, sigma, eta, bound=bound, k_dev=k_dev)
        assert np.all(lhs[got > 0] <= 1e-4 * PSI * M)


def test_many_quiet_hours_solve_accurately():
    """Regression: inputs captured from a run (30 EVs, ψ - ω = 6.7 kW, η = 0.01, real-RegD statistics)
    on which the unscaled problem without interior slack ended 'optimal_inaccurate' (14 quiet hours,
    i.e. single-point feasible sets)."""
    y = np.array([
        0.37873218748183235, 0.37873218748183235, 0.3787321874818378, 0.37873218748183235,
        0.37873218748183235, 0.30656709253319103, 0.14444834845345325, 0.05786955846469714,
        0.03722597163198818, 0.02961771959793507, 0.0257495175874558, 0.02376734411598612,
        0.02332180003428073, 0.02388881900217047, 0.02595819075365673, 0.03035873283786463,
        0.04201668609921851, 0.09164190280401892, 0.18080266475471277, 0.234055454791115,
        0.26202498820944087, 0.30133755047408445, 0.32599831921416844, 0.3490715803442328,
    ])
    price = np.array([
        0.02759735319154362, 0.01543884944455453, 0.007187159504548, 0.00808215123314949,
        0.00642319677137584, 0.02911946922179035, 0.04396836715195124, 0.06940189867779913,
        0.06037189341758522, 0.05787654261042906, 0.0104564315652796, 0.00884625040319793,
        0.0126291336915622, 0.01401174139455765, 0.02160140106893918, 0.01238002269559221,
        0.01565313583531718, 0.02022269078281981, 0.01601894190411622, 0.0204817762556732,
        0.0096564166116584, 0.04770168201723199, 0.01638272772563637, 0.03669941795654364,
    ])
    m, psi, eta = 30, 6.7, 0.01
    r_bar, sigma = np.full(24, 0.9697626246635078), np.full(24, 0.022694550080535083)
    prob = ChanceBidProblem(24, m, psi, eta)
    bids = prob.solve(y, r_bar, sigma, price)
    assert prob.problem.status == "optimal"
    want = closed_form_bids(y, m, psi, r_bar, sigma, price, eta)
    assert bids == pytest.approx(want, rel=1e-5, abs=1e-6 * psi * m)
    assert np.count_nonzero(bids == 0.0) == np.count_nonzero(y < no_bid_threshold(m, eta)) == 14


def test_quiet_hour_gets_no_bid_and_stays_feasible():
    """y below κ²/(M + κ²): even C = 0 violates (3); the no-bid switch gives C = 0, not infeasible."""
    eta, T = 0.05, 4
    thr = no_bid_threshold(M, eta, 3)
    assert thr == pytest.approx(kappa(eta, 3) ** 2 / (M + kappa(eta, 3) ** 2))
    y = np.array([0.5 * thr, 0.99 * thr, 1.01 * thr, 0.3])
    prob = ChanceBidProblem(T, M, PSI, eta)
    bids = prob.solve(y, np.full(T, 0.88), np.full(T, 0.05), np.full(T, 0.05))
    assert prob.problem.status == "optimal"
    assert bids[0] == 0.0 and bids[1] == 0.0
    assert bids[2] > 0.0 and bids[3] > bids[2]
    assert bids == pytest.approx(max_bid(y, M, PSI, 0.88, 0.05, eta), rel=1e-5, abs=1e-3)
    # all hours quiet: still feasible, all zero
    none = prob.solve(np.full(T, 0.5 * thr), np.full(T, 0.88), np.full(T, 0.05), np.full(T, 0.05))
    assert np.all(none == 0.0)


# ------------------------------------------------------------------ inputs


def test_predicted_plug_fraction_sources():
    y, src = predicted_plug_fraction(_obs(), prior=0.3)
    assert src == "prior" and np.all(y == 0.3)
    hist = np.array([[20.0] * 24, [40.0] * 24])
    hist[:, 9] = 0.0
    y, src = predicted_plug_fraction(_obs(history=hist), prior=0.3)
    assert src == "history" and y[0] == pytest.approx(30.0 / M) and y[9] == 0.0
    pers = np.linspace(0.0, 1.2, 24)  # clipped to [0, 1]
    y, src = predicted_plug_fraction(_obs(history=hist, plug=pers), prior=0.3)
    assert src == "persistency" and y == pytest.approx(np.clip(pers, 0, 1))
    with pytest.raises(ValueError, match="plug_fraction"):
        predicted_plug_fraction(_obs(plug=np.ones(5)), prior=0.3)


def test_expected_price_hand_computed():
    # (10 $/MW-h + 2 $/ΔMW x 25 ΔMW/MW) / 1000 = 0.06 $/kW-h
    p = expected_price_per_kw([10.0, 10.0], [2.0, 2.0], [25.0, 0.0])
    assert p == pytest.approx([0.06, 0.01])
    pr = expected_price_per_kw([10.0], [2.0], [26.0], mileage_basis="ratio", rega_mileage=6.5)
    assert pr == pytest.approx([(10.0 + 2.0 * 4.0) / 1000])
    assert expected_price_per_kw([np.nan], [1.0], [1.0]) == pytest.approx([0.0])


def test_policy_decision_matches_closed_form(requirement_pool):
    stats, _ = requirement_pool[0.95]
    hist = np.tile(np.r_[np.full(7, 70.0), np.zeros(10), np.full(7, 60.0)], (5, 1))
    hist[:, 6] = 1.0  # a quiet hour: 1 EV of 200 on average
    obs = _obs(history=hist)
    dec = ChancePolicy(stats=stats, eta=0.05).decide(obs)
    y = hist.mean(axis=0) / M
    price = (13.94 + 1.56 * stats.mean_mileage) / 1000
    want = max_bid(y, M, PSI, stats.r_bar, stats.sigma_f, 0.05)
    assert dec.bid_kw == pytest.approx(want, rel=1e-5, abs=1e-3)
    assert np.all(dec.rebate == 0.0)
    assert dec.bid_kw[6] == 0.0 and np.all(dec.bid_kw[7:17] == 0.0)
    info = dec.info
    assert info["y_source"] == "history" and info["hours_no_bid"] == 11 and info["hours_quiet"] == 11
    assert info["expected_credit"] == pytest.approx(float(price @ want), rel=1e-5)
    assert info["max_gap_kw"] < 1e-2 and info["score_target"] == pytest.approx(0.95)
    closed = ChancePolicy(stats=stats, eta=0.05, method="closed_form").decide(obs)
    assert closed.bid_kw == pytest.approx(dec.bid_kw, rel=1e-5, abs=1e-3)
    # reserving the baseline charging power plans with ψ - ω per EV
    res = ChancePolicy(stats=stats, eta=0.05, reserve_kw=3.3, method="closed_form").decide(obs)
    assert res.bid_kw == pytest.approx(max_bid(y, M, PSI - 3.3, stats.r_bar, stats.sigma_f, 0.05))
    with pytest.raises(ValueError, match="reserve_kw"):
        ChancePolicy(stats=stats, eta=0.05, reserve_kw=PSI).decide(obs)


# ------------------------------------------------------------------ inside the model


def test_registered_and_seeded_from_scenario():
    assert "chance" in available_policies()
    sc = load_scenario(TINY, ["platform.policy=chance", "platform.chance.requirement_days=2"])
    pol = build_policy(sc)
    assert isinstance(pol, ChancePolicy) and pol.eta == sc.platform.chance.eta
    again = build_policy(sc, replication=3).stats
    assert np.array_equal(pol.stats.samples, again.samples)  # deterministic in scenario.seed
    other = build_policy(load_scenario(TINY, ["platform.chance.requirement_days=2"], seed=1),
                         "chance").stats
    assert not np.array_equal(other.samples, again.samples)
    assert pol.stats.days == 2 and pol.stats.score_target == pytest.approx(1 - sc.platform.chance.eta)
    assert build_policy(sc, bound=4).bound == 4


def test_policy_requirement_from_pjm_files():
    for d in (16, 17):
        require_shared(f"pjm_regd_2s_2020-07/regd_2s_2020-07-{d}.csv")
    sc = load_scenario(REPO / "scenarios" / "pjm_regd_2020.toml", ["platform.policy=chance"])
    st = build_policy(sc).stats
    assert st.days == 2 and st.pooled and 0.86 < st.r_bar[0] < 0.90


def test_chance_policy_runs_in_the_model():
    sc = load_scenario(TINY, ["platform.policy=chance"])
    result = run_scenario(sc)
    h = result.hourly
    assert len(h) == sc.days * 24 and np.all(h["rebate"] == 0)  # (Decision refuses bids < 0)
    assert result.summary["policy"] == "chance"
    # hours in which nobody is ever plugged in (working hours) get no bid; bids go to the night
    never = h.groupby("hour")["plugged"].sum() == 0
    assert never.sum() >= 6
    assert np.all(h.loc[h["hour"].isin(never[never].index), "bid_kw"] == 0.0)
    assert h.loc[h["hour"].isin([0, 1, 2, 22, 23]), "bid_kw"].gt(0).all()


def test_chance_policy_in_the_model_follows_its_observation():
    """Each day's bids are the closed form at the y the observation implies; zero below threshold."""
    sc = load_scenario(TINY, ["platform.policy=chance"])
    model = V2GMarketModel(sc)
    pol = model.platform.policy
    thr = no_bid_threshold(sc.drivers.count, sc.platform.chance.eta)
    original = model.platform.observe
    seen: list[Observation] = []

    def observe(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    model.platform.observe = observe
    for day in range(sc.days):
        model.step()
        obs, dec = seen[-1], model.platform.decision
        y, src = predicted_plug_fraction(obs, sc.platform.chance.prior_plug_fraction)
        expect = "persistency" if obs.beliefs is not None else ("history" if day else "prior")
        assert dec.info["y_source"] == src == expect
        assert np.all(dec.bid_kw[y < thr] == 0.0) and np.all(dec.bid_kw[y > 1.01 * thr] > 0.0)
        price = expected_price_per_kw(obs.capability_price, obs.performance_price,
                                      pol.stats.mean_mileage)
        # default capability "headroom": psi - omega per EV (models.md E3)
        assert pol.reserve_kw == sc.drivers.baseline_charge_kw
        want = closed_form_bids(y, obs.fleet_size, obs.charger_kw - pol.reserve_kw, pol.stats.r_bar,
                                pol.stats.sigma_f, price, pol.eta)
        assert dec.bid_kw == pytest.approx(want, rel=1e-5, abs=1e-3)
        assert dec.info["max_gap_kw"] < 1e-2
    # ignoring the persistency prediction: day 0 from the prior, then from the history
    hist_pol = ChancePolicy(stats=pol.stats, eta=pol.eta, plug_source="history")
    assert hist_pol.decide(seen[0]).info["y_source"] == "prior"
    assert hist_pol.decide(seen[-1]).info["y_source"] == "history"

"""Days of other than 24 hours (``network.hours`` 2-48, issue 30 item 4).

Hour t of simulated day d is clock hour t of calendar day d (a longer day runs into the next
calendar day): the requirement statistics, the regulation prices and the AGC signal follow that
clock, every policy that can plan such a day does, and the seed policies planned on one 24-hour
clock day (``eva``, ``v2a``, ``robust``) refuse it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import step_model

from v2gsim.config import load_scenario
from v2gsim.config.loading import SCENARIO_DIR
from v2gsim.market.requirement import RequirementStats
from v2gsim.policies.base import PolicyInputs
from v2gsim.policies.eva import make_eva
from v2gsim.policies.robust import make_robust
from v2gsim.policies.v2a import make_v2a
from v2gsim.sim.agents.tso import CalendarSignals, calendar_days, slot_prices

HOURS = (2, 12, 23, 25, 48)
DAYS = 2


def _window(lo: int, hi: int, hours: int) -> list[int]:
    """A clock window of the 24-h network scaled into a shorter day (kept as it is otherwise)."""
    if hours >= 24:
        return [lo, hi]
    a = min(hours - 1, round(lo * hours / 24))
    return [a, max(a + 1, min(hours, round(hi * hours / 24)))]


def _scenario(tmp_path: Path, hours: int, policy: str) -> Path:
    """``tiny`` with a day of ``hours`` hours whose only charger is at work (window 6-20 h).

    No EV can plug in outside the work window, so every policy must bid 0 there.
    """
    w = _window(6, 20, hours)
    o = _window(7, 23, hours)
    text = f'''extends = "{(SCENARIO_DIR / "tiny.toml").as_posix()}"
days = {DAYS}
[network]
hours = {hours}
start_place = "home"
[[network.places]]
name = "home"
window = [0, {hours}]
charger = false
utility = 1.0
sigma = 0.6
[[network.places]]
name = "work"
window = {w}
charger = true
utility = 3.0
sigma = 0.6
plug_utility = 1.0
plug_sigma = 0.6
[[network.places]]
name = "other"
window = {o}
utility = 0.5
sigma = 0.8
[platform]
policy = "{policy}"
'''
    path = tmp_path / f"h{hours}_{policy}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("policy", ["naive", "chance", "bilevel"])
@pytest.mark.parametrize("hours", HOURS)
def test_every_policy_runs_days_of_any_length(tmp_path, hours, policy):
    sc = load_scenario(_scenario(tmp_path, hours, policy))
    model = step_model(sc)
    hourly, daily = model.hourly_table(), model.daily_table()
    assert len(daily) == DAYS
    assert len(hourly) == DAYS * hours
    for _, day in hourly.groupby("day"):
        assert day["hour"].tolist() == list(range(hours))
    # no plug-in arc outside the work window: nobody plugs in there and nobody bids there
    w = _window(6, 20, hours)
    outside = (hourly["hour"] < w[0]) | (hourly["hour"] >= w[1])
    assert (hourly.loc[outside, "plugged"] == 0).all()
    assert (hourly.loc[outside, "bid_kw"] == 0.0).all()
    assert np.isfinite(hourly["bid_kw"]).all() and (hourly["bid_kw"] >= 0).all()
    if hours >= 12:  # long enough to commute to work: EVs plug in there and the platform bids
        assert hourly.loc[~outside, "plugged"].sum() > 0 and hourly["bid_kw"].sum() > 0
    assert np.isfinite(daily["profit"]).all()
    if policy != "naive":  # bids never exceed the capability of the EVs expected to plug in
        pol = model.platform.policy
        reserve = pol.reserve_kw if policy == "chance" else pol.chance.reserve_kw
        psi = model.spec.fleet.regulation_kw - reserve
        assert (hourly["bid_kw"] <= psi * hourly["predicted_plugged"] + 1e-6).all()


def test_a_longer_day_runs_into_the_next_calendar_day(tmp_path):
    """Day 0's hours 24-47 are calendar day 1, the hours 0-23 of day 1: same prices, same signal."""
    model = step_model(load_scenario(_scenario(tmp_path, 48, "naive")))
    h = model.hourly_table()
    late = h[(h["day"] == 0) & (h["hour"] >= 24)]
    early = h[(h["day"] == 1) & (h["hour"] < 24)]
    for col in ("capability_price", "performance_price", "signal_mileage"):
        np.testing.assert_array_equal(late[col].to_numpy(), early[col].to_numpy())


def test_a_shorter_day_is_the_start_of_its_calendar_day(tmp_path):
    """The 12-hour day d has the prices of calendar day d's hours 0-11 (not hours 12-23)."""
    model = step_model(load_scenario(_scenario(tmp_path, 12, "naive")))
    full = step_model(load_scenario(SCENARIO_DIR / "tiny.toml", days=DAYS))
    a, b = model.hourly_table(), full.hourly_table()
    b = b[b["hour"] < 12]
    np.testing.assert_array_equal(a["capability_price"].to_numpy(), b["capability_price"].to_numpy())


def test_slot_prices_and_calendar_signals():
    import pandas as pd

    table = pd.DataFrame({"capability_price": np.arange(72.0), "performance_price": -np.arange(72.0)})
    assert calendar_days(2, 24) == 2 and calendar_days(2, 25) == 3 and calendar_days(3, 12) == 3
    out = slot_prices(table, 2, 48)
    assert out["capability_price"].tolist() == list(range(48)) + list(range(24, 72))
    assert slot_prices(table, 3, 2)["capability_price"].tolist() == [0, 1, 24, 25, 48, 49]
    with pytest.raises(ValueError, match="needs"):
        slot_prices(table, 3, 25)

    asked = []

    class Days:
        def day_signal(self, k):
            asked.append(k)
            return np.full((24, 3), float(k))

    sig = CalendarSignals(Days(), 30)
    s0, s1 = sig.day_signal(0), sig.day_signal(1)
    assert s0.shape == (30, 3) and s0[23, 0] == 0 and s0[24, 0] == 1
    assert s1[0, 0] == 1 and s1[29, 0] == 2
    assert asked == [0, 1, 2]  # each calendar day once, in order
    with pytest.raises(ValueError, match="in order"):
        sig.day_signal(0)


def test_requirement_statistics_by_clock_hour():
    rng = np.random.default_rng(3)
    samples = rng.uniform(0.7, 0.95, (40, 24))
    stats = RequirementStats.from_samples(samples, np.full((40, 24), 25.0), pool="hour")
    assert stats.at_hours(24) is stats
    long = stats.at_hours(48)
    np.testing.assert_array_equal(long.r_bar, np.tile(stats.r_bar, 2))
    assert long.samples.shape == (40, 48)
    np.testing.assert_array_equal(stats.at_hours(5).sigma_f, stats.sigma_f[:5])


@pytest.mark.parametrize("make", [make_eva, make_v2a, make_robust])
def test_clock_day_policies_refuse_other_days(make):
    inputs = PolicyInputs(rng=np.random.default_rng(0), hours=12)
    with pytest.raises(ValueError, match=r"network\.hours"):
        make(object(), inputs)


def test_chance_policy_plans_a_longer_day_by_clock_hour():
    """Statistics of 24 clock hours serve a 48-hour day: a periodic day gets periodic bids."""
    from v2gsim.policies import Observation, PlugBeliefs
    from v2gsim.policies.chance import ChancePolicy

    rng = np.random.default_rng(5)
    stats = RequirementStats.from_samples(rng.uniform(0.8, 0.95, (40, 24)),
                                          rng.uniform(20, 30, (40, 24)), pool="hour")
    y = np.tile(np.linspace(0.05, 0.6, 24), 2)
    beliefs = PlugBeliefs(networks=(), sizes=np.array([200]), plug_fraction=y,
                          cluster_plug_fraction=y[None, :])
    obs = Observation(day=0, hours=48, fleet_size=200, charger_kw=10.0,
                      plugged_history=np.zeros((0, 48)), capability_price=np.full(48, 14.0),
                      performance_price=np.full(48, 1.5), beliefs=beliefs)
    dec = ChancePolicy(stats=stats, eta=0.05).decide(obs)
    assert dec.bid_kw.shape == (48,) and dec.bid_kw.sum() > 0
    np.testing.assert_allclose(dec.bid_kw[:24], dec.bid_kw[24:], rtol=1e-6, atol=1e-3)
    assert np.all(dec.bid_kw <= 10.0 * 200 * y + 1e-9)

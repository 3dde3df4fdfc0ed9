"""Payoffs from what the fleet did (issue 33 item 1): ``[game] payoffs = "realized"``."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.game.params import as_params
from v2gsim.game.realized_payoffs import fleet_ev_payoffs, realized_ev_payoffs
from v2gsim.sim.model import V2GMarketModel


def test_with_the_seeds_energies_the_realized_payoff_is_the_seeds():
    """c = E_c, d = E_d for a cooperator matched with a cooperating grid company (else 0), no
    rebates: (4)/(5) exactly, for every strategy and match."""
    p = as_params(load_scenario("lin2020").game.params())
    rng = np.random.default_rng(0)
    s = rng.random(500) < 0.6
    pg = rng.random(500) < 0.4
    d = np.where(s & pg, p.E_d, 0.0)
    got = fleet_ev_payoffs(s, pg, p, np.full(500, p.E_c), d)
    np.testing.assert_allclose(got, realized_ev_payoffs(s, pg, p), rtol=0, atol=1e-12)


def test_realized_payoff_by_hand():
    p = as_params(load_scenario("lin2020").game.params())
    got = fleet_ev_payoffs([True, True, False], [True, False, True], p, [10.0, 4.0, 6.0], [3.0, 2.0, 0.0],
                           [0.7, 0.0, 0.2], p_d=1.2)
    base = p.U_EV - p.p_c * np.array([10.0, 4.0, 6.0]) - p.L_B * np.array([13.0, 6.0, 6.0])
    want = base + np.array([0.7 + 1.2 * 3.0, -p.L_EV, 0.2])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def _trajectory(overrides: list[str], days: int = 8) -> np.ndarray:
    model = V2GMarketModel(load_scenario("lin2020", ["drivers.count=100", *overrides], days=days))
    while model.running:
        model.step()
    return model.daily_table()[["x", "y", "price"]].to_numpy()


@pytest.mark.parametrize("payoffs", ["seed", "realized"])
def test_the_fleet_feeds_back_into_the_game_only_with_realized_payoffs(payoffs):
    """Issue 33 acceptance: lin2020 vs the same with almost nobody plugging in (plug utility -3)."""
    as_shipped = _trajectory([f"game.payoffs='{payoffs}'"])
    unplugged = _trajectory([f"game.payoffs='{payoffs}'", "network.places.0.plug_utility=-3"])
    if payoffs == "seed":
        np.testing.assert_array_equal(as_shipped, unplugged)  # the lump sums ignore the fleet
    else:
        assert not np.array_equal(as_shipped, unplugged)


def test_mutation_leaves_no_state_absorbing():
    """Exploration (issue 33 item 2): from x = 1 the share falls back by about rate / 2 a day; at
    rate 0 nothing changes and nothing is drawn."""
    from v2gsim.game.imitation import mutate

    rng = np.random.default_rng(3)
    s = np.ones(100_000, dtype=bool)
    out = mutate(s, 0.1, rng)
    assert abs((~out).mean() - 0.05) < 5 * np.sqrt(0.05 * 0.95 / s.size)
    state = rng.bit_generator.state
    assert mutate(s, 0.0, rng) is not None and rng.bit_generator.state == state
    np.testing.assert_array_equal(mutate(s, 0.0, rng), s)
    with pytest.raises(ValueError, match="mutation rate"):
        mutate(s, 1.5, rng)


def test_in_the_loop_mutation_keeps_cooperation_from_locking_in():
    as_seed = _trajectory([], days=30)
    explored = _trajectory(["game.mutation=0.2"], days=30)
    assert as_seed[-1, 0] > 0.95  # the lump sums drive x to 1 ...
    assert explored[-1, 0] < 0.95  # ... exploration keeps defectors around


def test_the_run_summary_puts_the_learned_price_beside_e_and_f(tmp_path, capsys):
    from v2gsim.cli import main
    from v2gsim.game.price_range import price_range

    assert main(["run", "lin2020", "--days", "3", "--set", "drivers.count=30", "--no-figures", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    text = capsys.readouterr().out
    import json

    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    low, high = price_range(load_scenario("lin2020").game.params())
    assert (s["game_price_range_low"], s["game_price_range_high"]) == pytest.approx((low, high))
    assert f"[E, F] = [{low:.4f}, {high:.4f}]" in text and f"learned price {s['game_price_mean']:.4f}" in text
    assert 0 <= s["game_x"] <= 1 and 0 <= s["game_y"] <= 1


@pytest.mark.parametrize("seed", range(1, 6))
def test_with_participation_the_learned_price_stays_individually_rational(seed):
    """Issue 33 acceptance (item 4): lin2020 with the grid company scoring prices by the EVs'
    participation condition (16): after 120 days the learned price (the mixture's mean) lies in
    [E, F] = [1.1056, 1.4811] and the mean EV payoff is not below U_EV."""
    from v2gsim.game.price_range import price_range

    sc = load_scenario("lin2020", ["game.price_response='participation'", f"seed={seed}"], days=120)
    model = V2GMarketModel(sc)
    while model.running:
        model.step()
    last = model.daily_table().iloc[-1]
    low, high = price_range(sc.game.params())
    assert low <= last["price_mean"] <= high
    assert last["ev_payoff_mean"] >= sc.game.U_EV


def test_the_peak_program_makes_cooperators_discharge_and_be_paid():
    """``[game] peak_hours``: the cooperating drivers matched with a cooperating grid company are
    asked to discharge E_d at peak (a schedule the fleet executes); they then discharge energy, and
    with realized payoffs cooperation pays: x rises instead of drifting down."""
    sets = ["drivers.count=100", "game.payoffs='realized'"]
    peak = ["game.peak_hours=[18, 19, 20, 21]"]
    model = V2GMarketModel(load_scenario("lin2020", [*sets, *peak], days=12))
    discharged = []
    close = model.game_day.close

    def spy(pop, gc, pg):
        discharged.append(float(model.game_day.discharged_kwh[pop.strategies].sum()))
        return close(pop, gc, pg)

    model.game_day.close = spy
    while model.running:
        model.step()
    hourly, daily = model.hourly_table(), model.daily_table()
    assert min(discharged) > 0
    at_peak = hourly["hour"].isin([18, 19, 20, 21])
    assert (hourly.loc[at_peak, "planned_base_kwh"] < 0).all()
    assert (hourly.loc[~at_peak, "planned_base_kwh"] == 0).all()
    assert (daily["executed_base_kwh"] < 0).all() and (daily["schedule_deviation_kwh"] >= 0).all()
    without = _trajectory(sets, days=12)
    assert daily["x"].iloc[-1] > without[-1, 0]


def test_the_peak_program_is_checked_at_validation():
    from v2gsim.config.base import ScenarioError

    with pytest.raises(ScenarioError, match=r"game\.peak_hours"):
        load_scenario("lin2020", ["game.peak_hours=[18, 18]"])
    with pytest.raises(ScenarioError, match=r"game\.peak_hours: policy 'eva'"):
        load_scenario("lin2020", ["game.peak_hours=[18]", "platform.policy='eva'"])

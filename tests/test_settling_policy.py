"""The settling-policy hook: a policy that settles its plan against the day's outcome."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.policies import DayOutcome, Decision, Observation
from v2gsim.sim.agents.energy import ENERGY_DAILY_KEYS
from v2gsim.sim.day import DAILY_COLUMNS, DailyRowError
from v2gsim.sim.model import V2GMarketModel


class Recorder:
    """Bids a constant 50 kW, no rebates; records what it observes and what it is told."""

    name = "recorder"
    daily_keys = ("home_sessions", "plugged_check")

    def __init__(self) -> None:
        self.observations: list[Observation] = []
        self.outcomes: list[DayOutcome] = []
        self.home: list = []

    def decide(self, obs: Observation) -> Decision:
        self.observations.append(obs)
        return Decision(rebate=np.zeros(obs.hours), bid_kw=np.full(obs.hours, 50.0))

    def settle(self, outcome: DayOutcome) -> dict[str, float]:
        self.outcomes.append(outcome)
        home = outcome.sessions_at("home")  # live paths: read during settle
        self.home.append(home)
        return {"home_sessions": float(home.ev.size),
                "plugged_check": float(outcome.hourly["plugged"].sum())}


def _run(days: int = 3, energy: bool = False):
    overrides = ['market.energy.source = "synthetic"'] if energy else []
    policy = Recorder()
    model = V2GMarketModel(load_scenario("tiny", overrides, days=days), policy=policy)
    ends = []
    while model.running:
        model.step()
        ends.append(model.fleet.energy_kwh.copy())
    return model, policy, ends


def test_settle_columns_reach_the_daily_table_and_agree_with_the_day():
    model, policy, _ = _run()
    daily = model.daily_table()
    assert {"home_sessions", "plugged_check"} <= set(daily.columns)
    assert len(policy.outcomes) == 3
    for row, out, home in zip(daily.itertuples(), policy.outcomes, policy.home, strict=True):
        assert out.day == row.day
        # the hourly rows of the day add up to the plugged-in matrix and the daily total
        assert row.plugged_check == out.plugged.sum() == row.plugged_ev_hours
        np.testing.assert_array_equal(out.hourly["hour"], np.arange(out.plugged.shape[1]))
        # a home session per EV that plugs in at home at least once today (first to last hour)
        assert row.home_sessions == home.ev.size == np.unique(home.ev).size
        # arrival energy = start-of-day energy minus the travel energy used before arrival
        before = np.arange(out.plugged.shape[1])[None, :] < np.floor(home.arrival_h)[:, None]
        used = (out.travel_kwh[home.ev] * before).sum(axis=1)
        np.testing.assert_allclose(home.energy_arrival_kwh, out.energy_start_kwh[home.ev] - used)


def test_observation_carries_the_stored_energy_and_a_fleet_copy():
    model, policy, ends = _run()
    first = policy.observations[0]
    for prev_end, obs in zip(ends[:-1], policy.observations[1:], strict=True):
        np.testing.assert_array_equal(obs.energy_kwh, prev_end)  # the evening before
    assert first.energy_price is None  # tiny has no energy market
    assert np.all(np.asarray(first.energy_kwh) <= model.fleet.capacity_kwh)


def test_energy_prices_are_the_days_prices():
    model, policy, _ = _run(days=2, energy=True)
    hourly = model.hourly_table()
    for obs in policy.observations:
        day = hourly[hourly["day"] == obs.day]
        np.testing.assert_array_equal(obs.energy_price, day["energy_price"].to_numpy())
        np.testing.assert_array_equal(obs.energy_sell_price, day["energy_sell_price"].to_numpy())


def test_plugged_at_splits_the_plugged_matrix_by_place():
    _, policy, _ = _run(days=2)
    for out in policy.outcomes:
        by_place = [out.plugged_at(p) for p in ("home", "work", "other")]
        np.testing.assert_array_equal(np.sum(by_place, axis=0), out.plugged)  # one place at a time
        assert not out.plugged_at("nowhere").any()


class Forgetful(Recorder):
    """Settles one of its two columns (``drop``) and, with ``extra``, a column it did not declare."""

    def __init__(self, drop: bool, extra: bool) -> None:
        super().__init__()
        self.drop, self.extra = drop, extra

    def settle(self, outcome: DayOutcome) -> dict[str, float]:
        row = super().settle(outcome)
        if self.drop:
            del row["plugged_check"]
        if self.extra:
            row["surprise"] = 1.0
        return row


@pytest.mark.parametrize("drop, extra, message", [(True, False, r"missing \['plugged_check'\], extra \[\]"),
                                                   (False, True, r"missing \[\], extra \['surprise'\]")])
def test_a_missing_or_extra_daily_key_is_an_error(drop, extra, message):
    """A column the day does not fill is an error, not a silent NaN (nor is an undeclared one dropped)."""
    model = V2GMarketModel(load_scenario("tiny", days=1), policy=Forgetful(drop, extra))
    with pytest.raises(DailyRowError, match=message):
        model.step()


def test_daily_columns_are_the_datacollectors_series():
    model, _, _ = _run(days=1, energy=True)
    daily = (*DAILY_COLUMNS, *ENERGY_DAILY_KEYS, *Recorder.daily_keys)
    assert model.daily_columns == daily
    assert tuple(model.datacollector.model_reporters) == daily
    assert list(model.daily_table().columns) == ["scenario", "replication", "seed", *daily]
    assert set(model.last_day) == set(daily)

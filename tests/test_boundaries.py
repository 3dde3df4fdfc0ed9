"""The seams of the redesign: typed policy boundary, injected policy and signals, seeded streams."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import step_model

from v2gsim.config import POLICY_NAMES, load_scenario, packaged_scenario, packaged_scenarios
from v2gsim.core.rng import COMPONENTS, component_rng, run_seed_sequence
from v2gsim.experiments.runner import run_scenario
from v2gsim.policies import Decision, Observation, available_policies
from v2gsim.sim.model import V2GMarketModel, default_signals
from v2gsim.specs.build import run_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_schema_policy_names_are_the_registered_builtins():
    assert sorted(POLICY_NAMES) == available_policies()


def test_unknown_random_component_is_an_error():
    root = run_seed_sequence(0)
    with pytest.raises(ValueError, match="unknown random component 'bogus'"):
        component_rng(root, "bogus")
    a, b = component_rng(root, "drivers"), component_rng(root, "fleet")
    assert a.random() != b.random()
    assert len(set(COMPONENTS)) == len(COMPONENTS)


@dataclass
class FlatPolicy:
    """Bid a constant 5 kW every hour from day 1 on; no rebates."""

    name: str = "flat"
    seen: int = 0

    def decide(self, obs: Observation) -> Decision:
        self.seen += 1
        assert obs.beliefs is not None and obs.beliefs.plug_fraction.shape == (obs.hours,)
        bid = np.full(obs.hours, 5.0 if obs.day > 0 else 0.0)
        return Decision(rebate=np.zeros(obs.hours), bid_kw=bid, status="flat", predicted_profit=1.5)


class ZeroSignals:
    """An AGC source that never asks for anything."""

    def day_signal(self, day: int) -> np.ndarray:
        return np.zeros((24, 1800))


def test_injected_policy_and_signal_source():
    scen = load_scenario(SCEN / "tiny.toml")
    pol = FlatPolicy()
    model = step_model(scen, policy=pol, signals=ZeroSignals())
    assert pol.seen == scen.days and model.steps == scen.days
    h, d = model.hourly_table(), model.daily_table()
    assert (h.loc[h.day > 0, "bid_kw"] == 5.0).all() and (h.loc[h.day == 0, "bid_kw"] == 0).all()
    assert (h["signal_mileage"] == 0.0).all() and (h["performance_credit"] == 0.0).all()
    # the typed decision fields reach the daily table
    assert (d["policy_status"] == "flat").all() and (d["predicted_profit"] == 1.5).all()
    assert d["day"].tolist() == list(range(scen.days))


def test_default_signal_source_is_the_runs_own():
    scen = load_scenario(SCEN / "tiny.toml")
    spec = run_spec(scen)
    recorded = []

    class Recording:
        def __init__(self, source):
            self.source = source

        def day_signal(self, day: int) -> np.ndarray:
            recorded.append(self.source.day_signal(day))
            return recorded[-1]

    a = step_model(scen, signals=Recording(default_signals(spec)))
    b = run_scenario(scen)
    assert a.hourly_table().equals(b.hourly)
    assert len(recorded) == scen.days and recorded[0].shape == (24, 1800)


def test_mesa_is_seeded_from_the_run():
    scen = load_scenario(SCEN / "tiny.toml")
    x = V2GMarketModel(scen).rng.random()
    assert x == V2GMarketModel(scen).rng.random()
    assert x != V2GMarketModel(scen, replication=1).rng.random()


def test_shipped_scenarios_are_package_data(tmp_path, monkeypatch):
    assert {"default", "tiny", "lin2020"} <= set(packaged_scenarios())
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here
    assert load_scenario("tiny").name == "tiny"
    assert load_scenario().drivers.count == 200
    assert packaged_scenario("tiny.toml").is_file()


def test_rng_components_are_exactly_the_streams_a_run_uses(monkeypatch):
    import v2gsim.sim.model as model_mod

    used: list[str] = []

    def recording(fn):
        def wrapper(root, name):
            used.append(name)
            return fn(root, name)
        return wrapper

    monkeypatch.setattr(model_mod, "component_rng", recording(model_mod.component_rng))
    monkeypatch.setattr(model_mod, "component_seed_sequence",
                        recording(model_mod.component_seed_sequence))
    # game on and synthetic energy prices on: every stream is asked for
    V2GMarketModel(load_scenario(SCEN / "lin2020.toml", ["drivers.count=10",
                                                         'market.energy.source="synthetic"']))
    assert sorted(set(used)) == sorted(set(COMPONENTS) - {"sessions", "reserve"})
    # a session model driving the loop and a reserve market (policy robust) ask for the other two
    used.clear()
    V2GMarketModel(load_scenario("bianchi2023_parking"))
    assert {"sessions", "reserve"} <= set(used)

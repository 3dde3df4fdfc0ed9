"""The [sessions] section (off by default) and its adapter config.build.sessions_spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v2gsim.behavior.mobility import (
    PRESETS,
    EmpiricalSessionSpec,
    ParametricSessionSpec,
    PathSessionSpec,
    TruncNormal,
    Uniform,
)
from v2gsim.config import ScenarioError, load_scenario, validate_file
from v2gsim.config.sessions import PRESET_NAMES
from v2gsim.specs.build import sessions_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _load(*overrides: str):
    return load_scenario(SCEN / "tiny.toml", list(overrides))


def test_off_by_default_and_preset_names_match():
    assert not load_scenario(SCEN / "default.toml").sessions.enabled
    assert sessions_spec(load_scenario(SCEN / "default.toml")) is None
    assert set(PRESET_NAMES) == set(PRESETS)


def test_preset_keeps_the_seed_case_unless_overridden():
    spec = sessions_spec(_load("sessions.enabled=true", "sessions.preset='mao2018_station'"))
    assert spec == PRESETS["mao2018_station"]
    spec = sessions_spec(_load("sessions.enabled=true", "sessions.slot_minutes=15", "sessions.n_evs=3"))
    assert isinstance(spec, ParametricSessionSpec)
    assert (spec.name, spec.slot_minutes, spec.n_evs) == ("bianchi2023_uniform", 15, 3)
    s = spec.sample(np.random.default_rng(0), days=2)
    assert len(s) == 6 and (s.arrival_h >= 6).all() and (s.arrival_h <= 8).all()


def test_parametric_section(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(
        f'extends = "{SCEN / "tiny.toml"}"\n[sessions]\nenabled = true\nmodel = "parametric"\n'
        'arrival_h = { low = 8.0, high = 15.0, mean = 11.5, std = 1.75 }\n'
        'departure_h = { low = 13.0, high = 22.0, mean = 17.5, std = 2.25 }\n'
        'energy_arrival = { low = 0.2, high = 0.65 }\nenergy_wanted = { low = 0.6, high = 0.95 }\n'
        'energy_unit = "soc"\nslot_minutes = 30\n', encoding="utf-8")
    sc = load_scenario(p)
    spec = sessions_spec(sc)
    assert spec.arrival_h == TruncNormal(8.0, 15.0, 11.5, 1.75)
    assert spec.energy_wanted == Uniform(0.6, 0.95)
    assert spec.capacity_kwh == sc.drivers.battery_kwh and spec.n_evs == sc.drivers.count
    assert spec.slot_minutes == 30 and spec.energy_unit == "soc"


def test_empirical_and_paths_sections(tmp_path):
    spec = sessions_spec(_load("sessions.enabled=true", "sessions.model='empirical'",
                               "sessions.file='data/acn.csv'", "sessions.fill_kw=6.6"))
    assert isinstance(spec, EmpiricalSessionSpec)
    assert spec.path == str((SCEN / "data" / "acn.csv").resolve()) and spec.fill_kw == 6.6
    assert spec.arrival_soc == TruncNormal(0.2, 0.65, 0.425, 0.1125)
    sc = _load("sessions.enabled=true", "sessions.model='paths'", "sessions.place='home'")
    assert sessions_spec(sc) == PathSessionSpec(place="home", wanted_soc=sc.drivers.soc_target)


def test_bad_sections_name_the_field(tmp_path):
    base = SCEN / "tiny.toml"
    cases = {
        'model = "parametric"': "needs ['arrival_h'",
        'model = "empirical"': "needs file",
        'model = "paths"\nplace = "gym"': "sessions.place 'gym' is not in [network]",
        'preset = "nope"': "sessions.preset",
        'arrival_h = { low = 8.0, high = 15.0, mean = 11.5 }': "give both mean and std",
        "slot_minutes = 20": "sessions.slot_minutes",
    }
    for i, (body, match) in enumerate(cases.items()):
        p = tmp_path / f"s{i}.toml"
        p.write_text(f'extends = "{base}"\n[sessions]\nenabled = true\n{body}\n', encoding="utf-8")
        problems = validate_file(p)
        assert any(match in x for x in problems), (body, problems)
    # a spec the pure layer rejects (departure window before the arrivals) names the section
    sc = _load("sessions.enabled=true", "sessions.model='parametric'",
               "sessions.arrival_h={low=8.0, high=15.0}", "sessions.departure_h={low=6.0, high=9.0}",
               "sessions.energy_arrival={low=10.0, high=20.0}",
               "sessions.energy_wanted={low=30.0, high=40.0}")
    with pytest.raises(ScenarioError, match=r"sessions: .*latest arrival"):
        sessions_spec(sc)

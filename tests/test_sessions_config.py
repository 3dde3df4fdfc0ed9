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


def test_the_schemas_preset_energies_are_the_presets():
    """PRESET_ENERGY (unit, largest energy, battery) lets validation check a preset's battery."""
    from v2gsim.config.sessions import PRESET_ENERGY

    assert set(PRESET_ENERGY) == set(PRESETS)
    for name, spec in PRESETS.items():
        top = max(spec.energy_arrival.high, spec.energy_wanted.high)
        assert PRESET_ENERGY[name] == (spec.energy_unit, top, spec.capacity_kwh), name


def test_the_schemas_truncated_mass_is_the_samplers():
    from v2gsim.behavior.mobility.distributions import truncnorm_moments
    from v2gsim.config.sessions import MIN_TRUNCATED_MASS, truncated_mass

    scipy_special = pytest.importorskip("scipy.special")
    for low, high, mean, std in [(8, 15, 11.5, 1.75), (6, 8, 100, 0.1), (6, 8, 7, 1e-3),
                                 (16, 20, -900, 1), (0, 1, 0.5, 10), (20, 21, 0, 0.55)]:
        a, b = (low - mean) / std, (high - mean) / std
        a, b = (-b, -a) if a > 0 else (a, b)
        exact = float(scipy_special.ndtr(b) - scipy_special.ndtr(a))
        assert truncated_mass(low, high, mean, std) == pytest.approx(exact, rel=1e-12, abs=1e-320)
        if truncated_mass(low, high, mean, std) >= MIN_TRUNCATED_MASS:
            truncnorm_moments(mean, std, low, high)  # the sampler accepts what the schema accepts
        else:
            with pytest.raises(ValueError, match="no probability mass"):
                TruncNormal(low, high, mean, std)


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
    # a spec the pure layer rejects (departure window before the arrivals): refused by validation
    # at its field; the adapter still names the section for a scenario built without validation
    bad = ["sessions.enabled=true", "sessions.model='parametric'",
           "sessions.arrival_h={low=8.0, high=15.0}", "sessions.departure_h={low=6.0, high=9.0}",
           "sessions.energy_arrival={low=10.0, high=20.0}",
           "sessions.energy_wanted={low=30.0, high=40.0}"]
    (line,) = validate_file(base, bad)
    assert line.startswith(f"{base}: sessions.departure_h.high: the latest departure 9.0 h must "
                           "come after the latest arrival 15.0 h + min_stay_h 1.0 h"), line
    good = _load(*bad[:3], "sessions.departure_h={low=16.0, high=20.0}", *bad[4:])
    sc = good.model_copy(update={"sessions": good.sessions.model_copy(
        update={"departure_h": good.sessions.departure_h.model_copy(update={"low": 6.0, "high": 9.0})})})
    with pytest.raises(ScenarioError, match=r"sessions: .*latest arrival"):
        sessions_spec(sc)

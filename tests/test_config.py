"""Scenario schema: loading, extends, overrides, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from v2gsim.config import ScenarioError, load_scenario, validate_file

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_default_and_tiny_load():
    d = load_scenario(SCEN / "default.toml")
    t = load_scenario(SCEN / "tiny.toml")
    assert d.drivers.count == 200 and d.days == 30 and d.platform.policy == "chance"
    assert d.platform.beliefs == "calibrated" and d.platform.recalibrate_every == 1
    assert t.platform.policy == "naive" and t.platform.beliefs == "scenario"
    # tiny extends default: overrides its own fields, inherits the rest
    assert t.drivers.count == 20 and t.days == 3
    assert t.network == d.network
    assert t.drivers.battery_kwh == d.drivers.battery_kwh
    assert t.extends == "default.toml"


def test_every_shipped_scenario_validates():
    files = sorted(SCEN.glob("*.toml"))
    assert files
    for f in files:
        assert validate_file(f) == [], f


def test_overrides_are_validated_like_the_file():
    s = load_scenario(SCEN / "tiny.toml", ["drivers.count=7", "market.agc='synthetic'"])
    assert s.drivers.count == 7
    with pytest.raises(ScenarioError) as exc:
        load_scenario(SCEN / "tiny.toml", ["drivers.count=-3"])
    assert any("drivers.count" in p and "greater than" in p for p in exc.value.problems)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(SCEN / "tiny.toml", ["drivers.nope=1"])
    assert any("drivers.nope: unknown field; allowed:" in p for p in exc.value.problems)


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_problems_name_file_field_and_allowed(tmp_path):
    p = _write(tmp_path, 'extends = "%s"\nbogus = 1\ndays = "many"\n[drivers]\nsoc_min = 1.5\n'
               % (SCEN / "tiny.toml"))
    problems = validate_file(p)
    text = "\n".join(problems)
    assert all(line.startswith(f"{p}: ") for line in problems)
    assert "bogus: unknown field; allowed:" in text and "days" in text
    assert "days: Input should be a valid integer" in text
    assert "drivers.soc_min: Input should be less than or equal to 1" in text
    assert len(problems) == 3


def test_cross_field_checks(tmp_path):
    base = SCEN / "tiny.toml"
    p = _write(tmp_path, f'extends = "{base}"\n[drivers]\nsoc_init = [0.9, 0.3]\n')
    assert any("soc_init" in x for x in validate_file(p))
    p = _write(tmp_path, f'extends = "{base}"\n[drivers]\nsoc_min = 0.9\nsoc_target = 0.5\n')
    assert any("soc_min <= soc_target" in x for x in validate_file(p))
    p = _write(tmp_path, f'extends = "{base}"\n[[network.places]]\nname = "home"\n'
               'window = [10, 5]\ncharger = true\n')
    assert any("departure (5 h) must be after arrival (10 h)" in x for x in validate_file(p))
    p = _write(tmp_path, f'extends = "{base}"\n[platform]\npolicy = "magic"\n')
    assert any("platform.policy" in x and "allowed" in x and "naive" in x
               for x in validate_file(p))


def test_malformed_and_missing_files(tmp_path):
    p = _write(tmp_path, "days = = 3\n")
    (line,) = validate_file(p)
    assert line.startswith(f"{p}: (toml):")
    (line,) = validate_file(tmp_path / "absent.toml")
    assert "file not found" in line
    a = _write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    _write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    (line,) = validate_file(a)
    assert "cycle" in line


def test_relative_data_paths_resolve_against_the_scenario_file(tmp_path):
    p = _write(tmp_path, f'extends = "{SCEN / "tiny.toml"}"\n[market]\nagc = "pjm_regd"\n'
               'agc_files = ["data/x.csv"]\n')
    # a named data file must exist: validation says which field and where it looked
    (line,) = validate_file(p)
    assert "market.agc_files[0]: file not found" in line and str(tmp_path / "data" / "x.csv") in line
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("timestamp,signal\n")
    s = load_scenario(p)
    assert s.resolve_path(s.market.agc_files[0]) == (tmp_path / "data" / "x.csv").resolve()
    (tmp_path / "data" / "x.csv").unlink()
    (tmp_path / "data" / "x.csv").mkdir()
    (line,) = validate_file(p)
    assert "market.agc_files[0]: not a file" in line

"""`v2gsim v2a` on the three seed-002 scenarios; [platform.v2a] validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.optimize.v2a import MODE_CODES
from v2gsim.specs.build import v2a_spec


@pytest.mark.parametrize("name,place,n", [
    ("mao2018_household", "home", 1), ("mao2018_building", "building", 5),
    ("mao2018_station", "station", 10)])
def test_v2a_json(name, place, n, tmp_path, capsys):
    assert main(["v2a", name, "--json", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(out[out.index("{"):])
    assert rep["place"] == place and rep["evs"] == n
    w, wo = rep["with_discharge"], rep["without_discharge"]
    assert w["costs"]["objective"] <= wo["costs"]["objective"] + 1e-9
    assert wo["discharged_kwh"] == 0.0
    assert (tmp_path / f"{name}_schedule.png").stat().st_size > 10_000


def test_v2a_text_and_station_schedule(tmp_path, capsys):
    assert main(["v2a", "mao2018_station", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "objective reduction" in out and "EV 9:" in out


def test_v2a_spec_rolls_the_clock_axis():
    spec = v2a_spec(load_scenario("mao2018_household"))
    assert spec.place == "home" and spec.start_hour == 12
    assert spec.on_axis(spec.load_price)[0] == spec.load_price[12]
    assert spec.clock_hours()[12] == 0
    assert MODE_CODES["H"] == 2 and np.isclose(spec.rho, 1.5)


def test_v2a_config_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "mao2018_household.toml"\n[platform.v2a]\nplace = "home"\n'
                   "load_price = [1.0, 2.0]\nv2g_price = [1.0]\nbase_load_kw = [1.0]\n")
    # the extends path is relative to the file: copy the shipped file beside it
    from v2gsim.config.loading import SCENARIO_DIR
    for f in ("mao2018_household.toml", "default.toml"):
        (tmp_path / f).write_text((SCENARIO_DIR / f).read_text())
    with pytest.raises(ScenarioError) as exc:
        load_scenario(bad)
    assert any("platform.v2a.load_price" in p and "exactly 24" in p for p in exc.value.problems)


def test_v2a_needs_the_table(capsys):
    assert main(["v2a", "tiny"]) == 2
    assert "platform.v2a" in capsys.readouterr().err

"""`v2gsim v2a` on the three seed-002 scenarios; [platform.v2a] validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.optimize.v2a import MODE_CODES
from v2gsim.specs.build import v2a_spec


def _drop_timings(schedule: dict) -> dict:
    """A schedule report without its solve time (it differs between two solves of the same day)."""
    return {k: v for k, v in schedule.items() if k != "solve_time_s"}


@pytest.mark.parametrize("name,place,n", [
    ("mao2018_household", "home", 1), ("mao2018_building", "building", 5),
    ("mao2018_station", "station", 10)])
def test_v2a_json(name, place, n, tmp_path, capsys):
    from v2gsim.studies.v2a import schedule_report, site_day

    assert main(["v2a", name, "--json", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(out[out.index("{"):])
    assert rep["place"] == place and rep["evs"] == n and rep["scenario"] == name
    day = site_day(load_scenario(name))
    inst, hours = day["instance"], day["hours"]
    for key, sched in (("with_discharge", day["with"]), ("without_discharge", day["without"])):
        assert _drop_timings(rep[key]) == _drop_timings(json.loads(json.dumps(
            schedule_report(inst, sched, hours))))
    w, wo = rep["with_discharge"], rep["without_discharge"]
    assert w["costs"]["objective"] <= wo["costs"]["objective"] + 1e-9
    assert wo["discharged_kwh"] == 0.0
    # the reductions, by hand from the two (rounded) cost tables
    obj_w, obj_wo = day["with"].costs["objective"], day["without"].costs["objective"]
    assert rep["objective_reduction_pct"] == round(100 * (obj_wo - obj_w) / obj_wo, 4)
    assert rep["objective_reduction_pct"] == pytest.approx(
        100 * (wo["costs"]["objective"] - w["costs"]["objective"]) / wo["costs"]["objective"], abs=1e-3)
    assert rep["cost_reduction_pct"] == pytest.approx(
        100 * (wo["costs"]["cost"] - w["costs"]["cost"]) / wo["costs"]["cost"], abs=1e-3)
    assert rep["figure"] == str(tmp_path / f"{name}_schedule.png")
    assert (tmp_path / f"{name}_schedule.png").stat().st_size > 10_000


def test_v2a_text_and_station_schedule(tmp_path, capsys):
    assert main(["v2a", "mao2018_station", "--no-figures", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert "figure" not in rep
    assert main(["v2a", "mao2018_station", "--no-figures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("v2a mao2018_station: 10 EV(s) at a station, modes ")
    assert f"objective reduction {rep['objective_reduction_pct']} %" in lines[3]
    assert lines[3].endswith(f"energy-cost reduction {rep['cost_reduction_pct']} %")
    rows = [line for line in lines if line.startswith("  EV ")]
    assert [r.split(":")[0] for r in rows] == [f"  EV {i}" for i in range(10)]
    # each EV's row has one letter per slot, and the letters count the with-discharge modes
    counts = rep["with_discharge"]["count"]
    for mode, per_slot in counts.items():
        letters = [sum(r.split()[2][t] == mode for r in rows) for t in range(len(per_slot))]
        assert letters == per_slot, mode
    assert not any("figure" in line for line in lines)


def test_v2a_seed_and_set_change_the_day(capsys):
    assert main(["v2a", "mao2018_building", "--no-figures", "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert main(["v2a", "mao2018_building", "--no-figures", "--json", "--seed", "12345"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["with_discharge"]["costs"] != base["with_discharge"]["costs"]


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

"""``v2gsim eva``: the three seed-003 scenarios run, the output is the library's, the breakdown sums
exactly, bad fields are named."""

from __future__ import annotations

import json

import pytest

from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.optimize.eva.revenue import ITEMS


@pytest.mark.parametrize("name", ["ma2025_cbdr", "ma2025_dbdr", "ma2025_hybrid"])
def test_scenarios_run_and_breakdown_sums(name, capsys):
    from v2gsim.specs.build import eva_spec
    from v2gsim.studies.eva import eva_day

    assert main(["eva", name, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    scenario = load_scenario(name)
    assert out == json.loads(json.dumps({"scenario": name, **eva_day(eva_spec(scenario.platform.eva))}))
    it = out["items"]
    assert list(it) == list(ITEMS)
    assert it["total_operating_revenue"] == (it["energy_revenue"] + it["capacity_revenue"]
                                             - it["subsidy_cost"] - it["electricity_purchase_cost"]
                                             - it["peak_regulation_cost"])
    assert out["uplift"] == pytest.approx(it["total_operating_revenue"] - out["no_incentive_total"])
    assert out["mode"] == name.split("_")[1]
    if out["mode"] == "cbdr":
        assert it["subsidy_cost"] == 0 and max(out["plan"]["r_up_kw"]) <= 1e-9
    if out["mode"] == "dbdr":
        assert out["discount_cost"] == 0 and max(out["plan"]["r_down_kw"]) <= 1e-9
    assert main(["eva", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"eva {name}: mode {out['mode']}, {out['evs']} EVs "
                        "(model RECONSTRUCTED, models.md 4.2)")
    total = next(line for line in lines if line.startswith("total operating revenue"))
    assert total.split()[-1] == f"{it['total_operating_revenue']:.5f}"
    assert f"{'uplift over no incentive':<28}{out['uplift']:>16.5f}" in lines
    plan = lines[lines.index("  slot  discount  subsidy  r_up(kW)  r_down(kW)  bid(kW)") + 1:]
    assert len(plan) == len(out["plan"]["bid_kw"])
    assert [float(row.split()[-1]) for row in plan] == [round(b, 1) for b in out["plan"]["bid_kw"]]


def test_set_overrides_reach_the_plan(capsys):
    assert main(["eva", "ma2025_hybrid", "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert main(["eva", "ma2025_hybrid", "--json", "--set", 'platform.eva.mode="cbdr"']) == 0
    changed = json.loads(capsys.readouterr().out)
    assert base["mode"] == "hybrid" and changed["mode"] == "cbdr"
    assert changed["items"]["subsidy_cost"] == 0 < base["items"]["subsidy_cost"]


def test_bad_field_names_the_dotted_field():
    with pytest.raises(ScenarioError, match=r"platform\.eva\.down_hours"):
        load_scenario("ma2025_hybrid", ["platform.eva.down_hours = [6, 7]"])
    with pytest.raises(ScenarioError, match=r"platform\.eva\.mode"):
        load_scenario("ma2025_hybrid", ['platform.eva.mode = "both"'])

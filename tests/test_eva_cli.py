"""``v2gsim eva``: the three seed-003 scenarios run, the breakdown sums exactly, bad fields are named."""

from __future__ import annotations

import json

import pytest

from v2gsim import cli
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.optimize.eva.revenue import ITEMS


@pytest.mark.parametrize("name", ["ma2025_cbdr", "ma2025_dbdr", "ma2025_hybrid"])
def test_scenarios_run_and_breakdown_sums(name, capsys):
    assert cli.main(["eva", name, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    it = out["items"]
    assert list(it) == list(ITEMS)
    assert it["total_operating_revenue"] == (it["energy_revenue"] + it["capacity_revenue"]
                                             - it["subsidy_cost"] - it["electricity_purchase_cost"]
                                             - it["peak_regulation_cost"])
    assert out["mode"] == name.split("_")[1]
    if out["mode"] == "cbdr":
        assert it["subsidy_cost"] == 0 and max(out["plan"]["r_up_kw"]) <= 1e-9
    if out["mode"] == "dbdr":
        assert out["discount_cost"] == 0 and max(out["plan"]["r_down_kw"]) <= 1e-9
    assert cli.main(["eva", name]) == 0
    text = capsys.readouterr().out
    assert "total operating revenue" in text and f"{it['total_operating_revenue']:.5f}" in text


def test_bad_field_names_the_dotted_field():
    with pytest.raises(ScenarioError, match=r"platform\.eva\.down_hours"):
        load_scenario("ma2025_hybrid", ["platform.eva.down_hours = [6, 7]"])
    with pytest.raises(ScenarioError, match=r"platform\.eva\.mode"):
        load_scenario("ma2025_hybrid", ['platform.eva.mode = "both"'])

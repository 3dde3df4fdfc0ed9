"""EV models of a heterogeneous fleet: the shipped catalog, the schema and the adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from v2gsim.config import DriversConfig, ScenarioError, load_scenario
from v2gsim.config.catalog import CATALOG_COLUMNS, CatalogError, ev_catalog, read_catalog
from v2gsim.config.loading import scenario_from_dict
from v2gsim.config.scenario import Scenario
from v2gsim.core.fleet import EVModelSpec
from v2gsim.specs.build import fleet_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _drivers(*models: dict, **fields) -> DriversConfig:
    return DriversConfig(models=list(models), **fields)


# ----------------------------------------------------------------------------- catalog


def test_shipped_catalog_rows_are_consistent():
    cat = ev_catalog()
    assert {"nissan_leaf_24", "nissan_leaf_40", "vw_id3_pro", "tesla_model_3_lr"} <= set(cat)
    for name, ev in cat.items():
        assert ev.name == name
        assert 0 < ev.usable_kwh <= ev.gross_kwh
        assert 0 < ev.ac_kw <= 22 and ev.ac_kw < ev.dc_kw
    leaf = cat["nissan_leaf_40"]
    assert (leaf.usable_kwh, leaf.ac_kw, leaf.dc_kw, leaf.bidirectional) == (39.0, 6.6, 50.0, True)
    assert cat["tesla_model_3_lr"].bidirectional is False
    # seed 002's EV: 24 kWh, 3.3 kW
    assert (cat["nissan_leaf_24"].gross_kwh, cat["nissan_leaf_24"].ac_kw) == (24.0, 3.3)
    with pytest.raises(TypeError):
        cat["x"] = leaf  # read-only


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cat.csv"
    p.write_text(text)
    return p


def test_unreadable_catalog_files_name_the_file_and_line(tmp_path):
    header = ",".join(CATALOG_COLUMNS)
    good = "a,Make,Model,2020,40,42,7,50,true"
    assert read_catalog(_write(tmp_path, f"{header}\n{good}\n"))["a"].usable_kwh == 40.0
    cases = {
        "name,make\na,b\n": "missing columns",
        f"{header}\n{good}\n{good}\n": "line 3: duplicate name 'a'",
        f"{header}\nb,M,X,2020,forty,42,7,50,true\n": "line 2: usable_kwh must be a number",
        f"{header}\nb,M,X,2020,40,42,7,50,maybe\n": "line 2: bidirectional must be true or false",
        f"{header}\nb,M,X,2020,40,42,7\n": "line 2: expected 9 fields",
        f"{header}\nb,M,X,2020,50,42,7,50,true\n": "usable_kwh 50.0 exceeds gross_kwh 42.0",
        f"{header}\n": "no rows",
    }
    for text, msg in cases.items():
        path = _write(tmp_path, text)
        with pytest.raises(CatalogError, match=msg) as exc:
            read_catalog(path)
        assert str(path) in str(exc.value)
    with pytest.raises(CatalogError, match="cannot read"):
        read_catalog(tmp_path / "missing.csv")
    assert issubclass(CatalogError, ValueError)


# ----------------------------------------------------------------------------- schema


def test_catalog_row_fills_the_model_and_overrides_win():
    d = _drivers({"name": "leaf", "catalog": "nissan_leaf_40", "share": 0.5},
                 {"name": "id3", "catalog": "vw_id3_pro", "share": 0.5, "battery_kwh": 50.0,
                  "soc_max": 0.9, "charge_efficiency": 0.9})
    leaf, id3 = d.resolved_models()
    assert (leaf["battery_kwh"], leaf["max_charge_kw"], leaf["max_discharge_kw"], leaf["v2g"]) == (
        39.0, 6.6, 6.6, True)
    assert (leaf["soc_min"], leaf["soc_max"], leaf["charge_efficiency"]) == (0.2, 0.95, 1.0)
    assert (id3["battery_kwh"], id3["max_charge_kw"], id3["max_discharge_kw"], id3["v2g"]) == (
        50.0, 11.0, 0.0, False)
    assert (id3["soc_max"], id3["charge_efficiency"]) == (0.9, 0.9)


def test_model_without_catalog_defaults_to_the_drivers_fields():
    d = _drivers({"name": "own", "share": 1.0, "discharge_efficiency": 0.85},
                 battery_kwh=30.0, charger_kw=7.0, soc_min=0.1, soc_max=0.9)
    (m,) = d.resolved_models()
    assert m == {"name": "own", "share": 1.0, "battery_kwh": 30.0, "max_charge_kw": 7.0,
                 "max_discharge_kw": 7.0, "charge_efficiency": 1.0, "discharge_efficiency": 0.85,
                 "self_discharge_per_h": 0.0, "soc_min": 0.1, "soc_max": 0.9, "v2g": True}


@pytest.mark.parametrize(("models", "message"), [
    ([{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}], "shares must sum to 1, got 0.9"),
    ([{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}], "names must be unique"),
    ([{"name": "a", "share": 1.0, "charge_efficiency": 0.0}], "greater than 0"),
    ([{"name": "a", "share": 1.0, "discharge_efficiency": 1.2}], "less than or equal to 1"),
    ([{"name": "a", "share": 1.0, "soc_min": 0.5, "soc_max": 0.5}],
     "soc_min (0.5) must be < soc_max (0.5)"),
    ([{"name": "a", "share": 1.0, "soc_max": 0.7}], "soc_target 0.8 must lie in the model's SOC"),
    ([{"name": "a", "share": 1.0, "v2g": False, "max_discharge_kw": 3.0}],
     "max_discharge_kw must be 0 (or left out) when v2g = false"),
    ([{"name": "a", "share": 1.0, "max_discharge_kw": 0.0}], "v2g = true needs max_discharge_kw"),
    ([{"name": "a", "share": 1.0, "self_discharge_per_h": 1.0}], "less than 1"),
])
def test_inconsistent_models_are_rejected_with_what_is_allowed(models, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _drivers(*models)


def test_unknown_catalog_name_lists_the_allowed_ones():
    data = {"drivers": {"models": [{"name": "x", "share": 1.0, "catalog": "delorean"}]}}
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data, "s.toml")
    (line,) = exc.value.problems
    assert line.startswith("s.toml: drivers.models[0].catalog: unknown catalog model 'delorean'")
    assert all(name in line for name in ev_catalog())


def test_model_error_names_file_and_section():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(SCEN / "heterogeneous.toml", ["drivers.soc_target=0.92"])
    assert any("heterogeneous.toml: drivers: models 'model_3_lr': drivers.soc_target 0.92" in p
               for p in exc.value.problems)


def test_adapter_builds_model_specs_and_degradation():
    sc = load_scenario(SCEN / "heterogeneous.toml")
    spec = fleet_spec(sc)
    assert [m.name for m in spec.models] == ["leaf_40", "id3_pro", "model_3_lr"]
    leaf = spec.models[0]
    assert leaf == EVModelSpec(name="leaf_40", share=0.3, battery_kwh=39.0, max_charge_kw=6.6,
                               max_discharge_kw=6.6, soc_min=0.2, soc_max=0.95, v2g=True,
                               charge_efficiency=0.92, discharge_efficiency=0.92,
                               self_discharge_per_h=4e-5)
    assert (spec.degradation.throughput_cost, spec.degradation.cycle_cost) == (0.02, 0.05)
    assert spec.model_sizes.tolist() == [60, 80, 60]
    # the policy's psi: only the 60 Leafs are V2G capable, at min(6.6, 11) kW
    assert spec.regulation_kw == pytest.approx(60 * 6.6 / 200)


def test_default_fleet_spec_is_homogeneous_and_free():
    spec = fleet_spec(Scenario())
    assert spec.models == () and not spec.degradation.enabled
    assert spec.regulation_kw == spec.charger_kw

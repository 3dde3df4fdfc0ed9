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


def test_a_scenario_cannot_name_a_dask_scheduler(tmp_path):
    """Issue 30 item 1: ``[experiment] scheduler`` sent a sweep's work (and unpickled its results)
    wherever a shared file said; the address now comes only from the command line or the
    environment, and an old file gets the unknown-field message with what to use instead."""
    from v2gsim.config import ExperimentConfig

    assert "scheduler" not in ExperimentConfig.model_fields
    assert "LocalCluster" in ExperimentConfig.model_fields["backend"].description
    p = _write(tmp_path, f'extends = "{SCEN / "tiny.toml"}"\n[experiment]\nbackend = "dask"\n'
               'scheduler = "tcp://203.0.113.7:8786"\n')
    (line,) = validate_file(p)
    assert line.startswith(f"{p}: experiment.scheduler: unknown field: a scenario file cannot choose "
                           "where a sweep's work is sent: give the Dask scheduler with `v2gsim sweep "
                           "--scheduler ADDRESS` or the environment variable V2GSIM_DASK_SCHEDULER; "
                           "allowed: backend, grid, out, paired, replications, workers"), line
    (line,) = validate_file(SCEN / "tiny.toml", ['experiment.scheduler="tcp://203.0.113.7:8786"'])
    assert line.startswith("--set: experiment.scheduler: unknown field: ")
    assert load_scenario(SCEN / "tiny.toml", ['experiment.backend="dask"']).experiment.backend == "dask"


def test_set_problems_name_the_scenario_as_given():
    """Issue 31 item 11: a --set typo is reported against ``--set``, not the copy of the shipped
    scenario inside the installed package; a bad --set value names the scenario as typed."""
    from v2gsim.cli import main

    assert validate_file("tiny", ["platfrom.policy=chance"]) == [
        "--set: platfrom: unknown field; allowed: days, description, drivers, experiment, extends, game, "
        "market, name, network, output, platform, seed, sessions, source"]
    with pytest.raises(ScenarioError) as exc:
        load_scenario(None, ["drivers.cont=3"])
    (line,) = exc.value.problems
    assert line.startswith("--set: drivers.cont: unknown field; allowed: ")
    (line,) = validate_file("tiny", ["drivers.count=[1,"])
    assert line.startswith("tiny: drivers.count: --set value '[1,' is not a valid TOML value")
    # a path is named as written; the scenario's source is still the resolved file
    (line,) = validate_file(SCEN / "tiny.toml", ["drivers.count=0"])
    assert line.startswith(f"{SCEN / 'tiny.toml'}: drivers.count: ")
    assert load_scenario("tiny").source == str((SCEN / "tiny.toml").resolve())
    assert main(["validate", "tiny", "--set", "platform.policy=naive"]) == 0


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


# ---------------------------------------------------------------- one spec per table (issue #29)
def test_policy_names_are_stated_once_by_the_registry():
    """The schema's literal and the adapter's table name exactly the registry's policies."""
    from typing import get_args

    from v2gsim.config.platform import POLICY_NAMES, PolicyName
    from v2gsim.policies import available_policies
    from v2gsim.specs.build import POLICY_SPECS

    assert POLICY_NAMES == get_args(PolicyName)
    assert sorted(POLICY_NAMES) == available_policies()
    assert sorted(POLICY_SPECS) == available_policies()


def test_validating_a_scenario_imports_no_model():
    """The schema imports pydantic and the standard library only: no numpy, no optimize/ module."""
    import subprocess
    import sys

    code = ("import sys; from v2gsim.config import load_scenario, packaged_scenarios\n"
            "for n in packaged_scenarios(): load_scenario(n)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'mesa')"
            " or (m.startswith('v2gsim.') and not m.startswith('v2gsim.config'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _fields(cls) -> set[str]:
    from dataclasses import fields

    return {f.name for f in fields(cls)}


def _defaulted(cls) -> set[str]:
    from dataclasses import MISSING, fields

    return {f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}


def _plain_specs():
    from v2gsim.optimize.eva.population import PopulationSpec
    from v2gsim.optimize.eva.spec import EvaSpec
    from v2gsim.optimize.eva.willingness import Logit, PiecewiseLinear
    from v2gsim.optimize.v2a.site import V2ASiteSpec
    from v2gsim.policies.bilevel import BilevelSpec
    from v2gsim.policies.chance import ChanceSpec
    from v2gsim.policies.naive import NaiveSpec
    from v2gsim.policies.robust import RobustPolicySpec
    from v2gsim.policies.v2a import V2APolicySpec
    from v2gsim.specs.run import BeliefSpec, GameSpec, RunSpec

    # the only defaults a plain spec may state: values no scenario table has
    return [(NaiveSpec, {"name"}), (ChanceSpec, {"name", "method"}), (BilevelSpec, {"name"}),
            (EvaSpec, {"name"}), (PopulationSpec, {"dt"}), (PiecewiseLinear, set()), (Logit, set()),
            (V2ASiteSpec, set()), (V2APolicySpec, {"name"}), (RobustPolicySpec, {"name"}),
            (RunSpec, set()), (BeliefSpec, set()), (GameSpec, set())]


@pytest.mark.parametrize("cls, allowed", _plain_specs(), ids=lambda v: getattr(v, "__name__", ""))
def test_plain_specs_do_not_repeat_the_schemas_defaults(cls, allowed):
    assert _defaulted(cls) <= allowed


def test_robust_spec_does_not_repeat_the_schemas_defaults():
    from v2gsim.optimize.robust.site import RobustSpec

    assert _defaulted(RobustSpec) == set()


def test_each_policy_table_is_described_by_one_plain_spec():
    """Every field of a table goes to exactly one plain field (renamed or derived ones listed)."""
    from v2gsim.config.eva import EvaPopulationConfig, WillingnessConfig
    from v2gsim.config.platform import BilevelConfig, ChanceConfig, NaiveConfig
    from v2gsim.config.robust import RobustConfig
    from v2gsim.config.v2a import V2AConfig
    from v2gsim.optimize.eva.population import PopulationSpec
    from v2gsim.optimize.eva.willingness import Logit, PiecewiseLinear
    from v2gsim.optimize.robust.site import RobustSpec
    from v2gsim.optimize.v2a.site import V2ASiteSpec
    from v2gsim.policies.bilevel import BilevelSpec
    from v2gsim.policies.chance import ChanceSpec
    from v2gsim.policies.naive import NaiveSpec
    from v2gsim.policies.v2a import V2APolicySpec

    # sessions_place: from [sessions] (the place of a session model driving the loop)
    site, policy = _fields(V2ASiteSpec), _fields(V2APolicySpec) - {"site", "name", "sessions_place"}
    assert not site & policy and site | policy == set(V2AConfig.model_fields)
    assert _fields(NaiveSpec) - {"name"} == set(NaiveConfig.model_fields)
    chance = _fields(ChanceSpec) - {"name", "method", "mileage_basis", "rega_mileage"}  # market's
    assert chance == set(ChanceConfig.model_fields) - {"capability"} | {"reserve_kw"}
    assert _fields(BilevelSpec) - {"name", "chance", "omega"} == set(BilevelConfig.model_fields)
    assert _fields(RobustSpec) == set(RobustConfig.model_fields)
    assert _fields(PopulationSpec) - {"T", "dt"} == set(EvaPopulationConfig.model_fields)
    assert _fields(PiecewiseLinear) | _fields(Logit) | {"kind"} == set(WillingnessConfig.model_fields)


def test_the_adapter_passes_every_value_of_the_tables():
    """Changed values reach the plain specs (no default of a plain spec can hide a dropped field)."""
    from v2gsim.specs.build import eva_spec, policy_spec, v2a_spec

    sc = load_scenario("mao2018_household", [
        "platform.policy = 'v2a'", "platform.v2a.rho = 2.5", "platform.v2a.power_kw = 7.0",
        "platform.v2a.offer_fraction = 0.25", f"platform.v2a.work_load_kw = {[1.0] * 24}"])
    v2a = policy_spec(sc)
    assert v2a.name == "v2a" and v2a.site == v2a_spec(sc)
    assert (v2a.site.rho, v2a.site.power_kw, v2a.offer_fraction) == (2.5, 7.0, 0.25)
    assert v2a.base_load_kw("work") == (1.0,) * 24
    assert v2a.base_load_kw("other") == v2a.base_load_kw("home") == tuple(sc.platform.v2a.base_load_kw)
    d = load_scenario("default", ["platform.naive.lookback_days = 3", "platform.bilevel.soc_eta = 0.1",
                                  "platform.chance.eta = 0.2", "platform.eva.population.soc_start = 0.7",
                                  "platform.eva.up_hours = [2]", "drivers.baseline_charge_kw = 1.5"])
    assert policy_spec(d, "naive").lookback_days == 3
    bilevel = policy_spec(d, "bilevel")
    assert (bilevel.soc_eta, bilevel.omega, bilevel.chance.eta) == (0.1, 1.5, 0.2)
    eva = eva_spec(d.platform.eva)
    assert policy_spec(d, "eva").population == eva.population
    assert eva.population.soc_start == 0.7 and eva.day.up_window.nonzero()[0].tolist() == [2]
    with pytest.raises(ValueError, match="no settings for policy 'mine'"):
        policy_spec(d, "mine")


def test_a_place_without_a_window_is_open_the_whole_day_of_any_length():
    from v2gsim.config.network import NetworkConfig

    net = NetworkConfig.model_validate(
        {"hours": 12, "places": [{"name": "home", "charger": True}, {"name": "work", "window": [6, 10]}]})
    assert [p.window for p in net.places] == [(0, 12), (6, 10)]
    assert NetworkConfig.model_validate({"hours": 30}).places[0].window == (0, 30)
    assert NetworkConfig().places[0].window == (0, 24)


# ------------------------------------------------------------- issue 31 item 11 (c), (d); item 5


def test_an_unknown_scenario_name_lists_the_shipped_ones_and_the_closest(tmp_path, monkeypatch, capsys):
    """Issue 31 item 11c: ``v2gsim run tang_mak2025`` said only "file not found: <cwd>/tang_mak2025";
    it now lists the shipped scenarios and the closest name."""
    from v2gsim.cli import main
    from v2gsim.config import packaged_scenarios

    monkeypatch.chdir(tmp_path)
    shipped = ", ".join(packaged_scenarios())
    assert validate_file("tang_mak2025") == [
        f"tang_mak2025: (file): file not found: {tmp_path / 'tang_mak2025'}, and not the name of a "
        f"shipped scenario; did you mean tang_mak2024? (shipped: {shipped})"]
    (line,) = validate_file("tiny.tom")
    assert "did you mean tiny?" in line
    (line,) = validate_file("zzz")  # nothing close: no guess, still the list
    assert "did you mean" not in line and line.endswith(f"(shipped: {shipped})")
    assert main(["run", "tang_mak2025", "--quiet"]) == 2
    assert "did you mean tang_mak2024?" in capsys.readouterr().err
    # a path in another folder is a path: no guess about shipped names
    (line,) = validate_file("elsewhere/tang_mak2025.toml")
    assert "file not found" in line and "shipped" not in line


def test_scenarios_slash_name_is_the_shipped_scenario_where_no_such_file_exists(tmp_path, monkeypatch):
    """Issue 31 item 5: the examples' ``load_scenario("scenarios/tiny.toml")`` worked only from the
    repository's root; where no such file exists it is the shipped ``tiny``, and a file there wins."""
    from v2gsim.config import packaged_scenario

    monkeypatch.chdir(tmp_path)
    shipped = load_scenario("scenarios/tiny.toml")
    assert shipped.source == str(packaged_scenario("tiny").resolve()) and shipped.name == "tiny"
    assert shipped == load_scenario("tiny")
    (line,) = validate_file("scenarios/tinny.toml")
    assert line.startswith(f"scenarios/tinny.toml: (file): file not found: {tmp_path / 'scenarios'}")
    assert "did you mean tiny?" in line
    own = tmp_path / "scenarios" / "tiny.toml"
    own.parent.mkdir()
    own.write_text(f'extends = "{packaged_scenario("tiny")}"\ndays = 1\n')
    mine = load_scenario("scenarios/tiny.toml")
    assert mine.days == 1 and mine.source == str(own.resolve())


def test_a_set_typo_is_reported_against_the_override(tmp_path, capsys):
    """Issue 31 item 11d: an unknown field that only a ``--set`` wrote is the override's
    (``--set: FIELD: ...``, still the ``FILE: dotted.field: message`` shape), not the scenario's;
    the file's own typos and bad values of real fields stay the scenario's."""
    from v2gsim.cli import main

    assert validate_file("tiny", ["platfrom.policy=chance"]) == [
        "--set: platfrom: unknown field; allowed: days, description, drivers, experiment, extends, game, "
        "market, name, network, output, platform, seed, sessions, source"]
    (line,) = validate_file(None, ["drivers.cont=3"])
    assert line.startswith("--set: drivers.cont: unknown field; allowed: baseline_charge_kw, ")
    (line,) = validate_file("tiny", ["drivers={count=3, cont=4}"])  # a table the override wrote
    assert line.startswith("--set: drivers.cont: unknown field; ")
    (line,) = validate_file("tiny", ["drivers.count=0"])  # a real field: the scenario's
    assert line.startswith("tiny: drivers.count: ")
    p = _write(tmp_path, f'extends = "{SCEN / "tiny.toml"}"\n[drivers]\ncont = 3\n')
    (line,) = validate_file(p, ["drivers.count=5"])  # the file's own typo
    assert line.startswith(f"{p}: drivers.cont: unknown field; ")
    assert main(["validate", "tiny", "--set", "network.places.0.utilty=1"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("--set: network.places[0].utilty: unknown field; allowed: "), out

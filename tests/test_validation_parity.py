"""Issue 30 item 8, issue 31 item 3: a scenario that validates builds its run; the rest is refused.

For every shipped scenario x every policy, and for the reproducers of issue 30 item 8 (policy tables
that are missing, capability left to a chance bound, inconsistent parametric sessions, seeds beyond
int64, names too long for a directory), :func:`_parity` asks ``validate_file``; when it finds no
problem, the run is built as ``v2gsim run`` builds it (``specs.build.run_spec``, the
``V2GMarketModel`` constructor, ``sessions_spec`` when ``[sessions]`` is on; no day is stepped) and
must raise nothing; when it finds problems, every line must read ``FILE: dotted.field: message``.
A test of the helper itself shows that it fails when validation misses a check the run makes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from v2gsim.cli import main
from v2gsim.config import POLICY_NAMES, ScenarioError, load_scenario, packaged_scenarios, validate_file
from v2gsim.config.base import MAX_SEED
from v2gsim.config.scenario import MAX_NAME_BYTES
from v2gsim.sim.model import V2GMarketModel
from v2gsim.specs.build import run_spec, sessions_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"

#: One problem line: ``FILE: dotted.field: message`` (the fuzz script's rule).
_INDEX = r"\[(?:\d+|'[^']*'|\"[^\"]*\")\]"
LINE = re.compile(rf"^(?P<file>.+?): (?P<field>\([a-z-]+\)|(?:[\w-]+|{_INDEX})(?:\.[\w-]+|{_INDEX})*): "
                  r"(?P<msg>.+)$")


def _parity(scenario: str | Path, overrides: list[str]) -> list[str]:
    """The problems ``validate`` finds; with none, build the run (raises what the build raises)."""
    problems = validate_file(scenario, overrides)
    for line in problems:
        assert LINE.match(line), line
    if problems:
        return problems
    sc = load_scenario(scenario, overrides)
    run_spec(sc)
    V2GMarketModel(sc)
    if sc.sessions.enabled:
        sessions_spec(sc)
    return []


def _field(problems: list[str]) -> str:
    (line,) = problems
    return LINE.match(line)["field"]


@pytest.mark.parametrize("policy", POLICY_NAMES)
@pytest.mark.parametrize("scenario", packaged_scenarios())
def test_every_shipped_scenario_and_policy_validates_and_builds_or_is_refused(scenario, policy):
    if scenario == "pjm_regd_2020" and validate_file(scenario):
        pytest.skip("needs the PJM data files of ../shared/data")
    _parity(scenario, [f"platform.policy={policy}"])


def test_the_matrix_is_not_vacuous():
    """Most combinations build; the ones refused are refused for the reasons the run had."""
    refused = {(s, p): _field(problems) for s in packaged_scenarios() for p in POLICY_NAMES
               if (problems := validate_file(s, [f"platform.policy={p}"]))}
    assert refused[("heterogeneous", "chance")] == "platform.chance.capability"
    assert refused[("heterogeneous", "bilevel")] == "platform.chance.capability"
    assert refused[("tiny", "v2a")] == "platform.v2a"
    assert refused[("tiny", "robust")] == "sessions.enabled"
    assert ("mao2018_household", "v2a") not in refused
    assert ("bianchi2023_parking", "robust") not in refused
    assert len(refused) < len(packaged_scenarios()) * len(POLICY_NAMES) // 2


def test_parity_check_fails_when_validation_misses_a_check(monkeypatch):
    """The helper is able to fail: without the schema's policy checks the adapter refuses v2a."""
    from v2gsim.config.scenario import Scenario

    monkeypatch.setattr(Scenario, "_check_policy_inputs", lambda self: None)
    with pytest.raises(ScenarioError, match=r"platform\.v2a: missing"):
        _parity("tiny", ["platform.policy=v2a"])


# ----------------------------------------------------------------------------- policy tables


@pytest.mark.parametrize(("scenario", "overrides", "field"), [
    ("tiny", ["platform.policy=v2a"], "platform.v2a"),
    ("default", ["platform.policy=robust"], "sessions.enabled"),
    ("mao2018_station", ["platform.policy=robust"], "market.energy.source"),
    ("bianchi2023_parking", ["sessions.model='paths'", "sessions.place='home'"], "sessions.model"),
])
def test_a_policy_without_its_table_is_refused_at_validation(scenario, overrides, field):
    assert _field(_parity(scenario, overrides)) == field


def test_v2a_with_its_table_builds():
    assert _parity("mao2018_household", ["platform.policy=v2a"]) == []


# ----------------------------------------------------------------------------- hours


def _day_of(tmp_path: Path, hours: int) -> Path:
    """A small scenario whose day has ``hours`` hours (scalar utilities, windows inside the day),
    with every table a policy may need: [platform.v2a], [sessions], [market.energy]."""
    hourly = ", ".join(["0.5"] * 24)
    f = tmp_path / f"day{hours}.toml"
    f.write_text(f"""days = 2
[drivers]
count = 20
[network]
hours = {hours}
start_place = "home"
[[network.places]]
name = "home"
window = [0, {hours}]
charger = true
utility = 1.0
[[network.places]]
name = "work"
window = [{min(6, hours - 2)}, {min(20, hours)}]
charger = true
utility = 2.0
[platform.v2a]
load_price = [{hourly}]
v2g_price = [{hourly}]
base_load_kw = [{hourly}]
[sessions]
enabled = true
preset = "bianchi2023_uniform"
[market.energy]
source = "synthetic"
""", encoding="utf-8")
    return f


@pytest.mark.parametrize("hours", [12, 24, 25, 48])
@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_days_of_other_lengths_validate_and_build_or_are_refused(tmp_path, hours, policy):
    """eva, v2a and robust plan one 24-hour clock day: another day is refused at network.hours
    (it used to validate, then the policy refused it when the model was built)."""
    from v2gsim.config.scenario import CLOCK_DAY_POLICIES

    problems = _parity(_day_of(tmp_path, hours), [f"platform.policy={policy}"])
    if policy in CLOCK_DAY_POLICIES and hours != 24:
        assert _field(problems) == "network.hours"
    else:
        assert problems == []


# ----------------------------------------------------------------------------- capability


@pytest.mark.parametrize("policy", ["chance", "bilevel"])
def test_headroom_capability_is_checked_at_validation_around_the_edge(policy, capsys):
    """heterogeneous: psi = 1.98 kW per EV (mean min(charge, discharge) of its models)."""
    rc = main(["validate", "heterogeneous", "--set", f"platform.policy={policy}"])
    out = capsys.readouterr().out
    assert rc == 2 and out.startswith("heterogeneous: platform.chance.capability: 'headroom' plans "
                                      "with psi - omega = 1.98 - 3.3 kW per EV, nothing left")
    pol = f"platform.policy={policy}"
    assert _field(_parity("heterogeneous", [pol, "drivers.baseline_charge_kw=1.98"])) == \
        "platform.chance.capability"
    assert _parity("heterogeneous", [pol, "drivers.baseline_charge_kw=1.97"]) == []
    assert _parity("heterogeneous", [pol, "platform.chance.capability='charger'"]) == []


@pytest.mark.parametrize("baseline", [None, 1.97])
def test_validate_and_run_agree_on_the_headroom_reproducer(tmp_path, capsys, baseline):
    """Issue 31 item 3: ``validate heterogeneous --set platform.policy=chance`` said OK and ``run``
    exited 2. Now both refuse with the same line naming the field, before any work (no run
    directory); with a baseline just below psi both accept, and the run starts and finishes."""
    sets = ["--set", "platform.policy=chance", "--set", "drivers.count=20",
            "--set", "platform.chance.requirement_days=1"]
    if baseline is not None:
        sets += ["--set", f"drivers.baseline_charge_kw={baseline}"]
    rc_validate = main(["validate", "heterogeneous", *sets])
    said = capsys.readouterr().out
    out = tmp_path / "run"
    rc_run = main(["run", "heterogeneous", *sets, "--days", "1", "--quiet", "--no-figures",
                   "--out", str(out)])
    ran = capsys.readouterr()
    if baseline is None:
        assert rc_validate == rc_run == 2
        assert said.startswith("heterogeneous: platform.chance.capability: 'headroom' plans with "
                               "psi - omega = 1.98 - 3.3 kW per EV, nothing left")
        assert ran.err.strip() == said.strip() and ran.out == ""
        assert not out.exists()
    else:
        assert (rc_validate, said) == (0, "OK\n")
        assert rc_run == 0 and json.loads((out / "summary.json").read_text())["days"] == 1


def test_psi_of_the_schema_is_the_fleets():
    """The schema's plain-Python psi (and model sizes) equal the fleet spec's numpy ones."""
    from v2gsim.specs.build import fleet_spec

    for scenario, overrides in [("heterogeneous", []), ("heterogeneous", ["drivers.count=7"]),
                                ("heterogeneous", ["drivers.count=1"]), ("tiny", [])]:
        sc = load_scenario(scenario, overrides)
        fleet = fleet_spec(sc)
        assert sc.drivers.model_sizes() == fleet.model_sizes.tolist()
        assert sc.drivers.regulation_kw() == pytest.approx(fleet.regulation_kw, rel=1e-12, abs=0)


@pytest.mark.parametrize("capability", ["charger", "headroom"])
def test_a_fleet_without_v2g_gives_a_chance_bound_nothing(capability):
    models = "drivers.models=[{name='a', share=1.0, v2g=false}]"
    problems = _parity("tiny", ["platform.policy=chance", models,
                                f"platform.chance.capability='{capability}'"])
    assert _field(problems) == ("drivers.models" if capability == "charger"
                                else "platform.chance.capability")
    assert _parity("tiny", ["platform.policy=naive", models]) == []


def test_baseline_at_the_charger_rating_leaves_no_headroom():
    assert _field(_parity("tiny", ["platform.policy=chance", "drivers.baseline_charge_kw=10"])) == \
        "platform.chance.capability"
    assert _parity("tiny", ["platform.policy=chance", "drivers.baseline_charge_kw=9.9"]) == []


# ----------------------------------------------------------------------------- sessions

_PARAMETRIC = ["sessions.model='parametric'", "sessions.arrival_h={low=6.0, high=8.0}",
               "sessions.departure_h={low=16.0, high=20.0}",
               "sessions.energy_arrival={low=10.0, high=25.0}",
               "sessions.energy_wanted={low=30.0, high=40.0}"]


@pytest.mark.parametrize(("changes", "field"), [
    (["sessions.departure_h={low=6.0, high=9.0}"], "sessions.departure_h.high"),
    (["sessions.departure_h={low=16.0, high=8.5}"], "sessions.departure_h"),
    (["sessions.arrival_h={low=20.0, high=24.0}"], "sessions.arrival_h"),
    (["sessions.arrival_h={low=-1.0, high=8.0}"], "sessions.arrival_h"),
    (["sessions.departure_h={low=16.0, high=49.0}"], "sessions.departure_h"),
    (["sessions.overnight=true", "sessions.arrival_h={low=15.0, high=21.0}",
      "sessions.departure_h={low=-5.0, high=9.0}"], "sessions.departure_h"),
    (["sessions.arrival_h={low=15.0, high=23.0}", "sessions.overnight=true",
      "sessions.departure_h={low=0.0, high=9.0}", "sessions.min_stay_h=2.0"], None),
    (["sessions.min_stay_h=12.0"], "sessions.departure_h.high"),
    (["sessions.energy_wanted={low=30.0, high=61.0}"], "sessions.energy_wanted.high"),  # 60 kWh
    (["sessions.capacity_kwh=35.0"], "sessions.energy_wanted.high"),
    (["sessions.energy_arrival={low=-1.0, high=25.0}"], "sessions.energy_arrival.low"),
    (["sessions.energy_unit='soc'"], "sessions.energy_arrival"),
    (["sessions.energy_wanted={low=30.0, high=20.0}"], "sessions.energy_wanted"),
    (["sessions.arrival_h={low=6.0, high=8.0, mean=100.0, std=0.1}"], "sessions.arrival_h"),
    (["sessions.departure_h={low=16.0, high=20.0, mean=-900.0, std=1.0}"], "sessions.departure_h"),
    (["sessions.arrival_h={low=6.0, high=8.0, mean=7.0, std=0.5}"], None),
    (["sessions.energy_wanted={low=30.0, high=50.0}"], None),
])
def test_inconsistent_parametric_sessions_are_refused_at_their_field(changes, field):
    """bianchi2023_parking (policy robust) with the preset written out as a parametric model;
    each change either is refused at its field or builds (``None``)."""
    problems = _parity("bianchi2023_parking", _PARAMETRIC + changes)
    assert (_field(problems) if problems else None) == field


def test_a_truncated_gaussian_far_out_in_the_tail_used_to_escape(tmp_path):
    """A law with no mass made the adapter raise a bare ValueError (a traceback at the CLI)."""
    from v2gsim.behavior.mobility import TruncNormal

    with pytest.raises(ValueError, match="no probability mass"):
        TruncNormal(6.0, 8.0, 100.0, 0.1)
    problems = validate_file("bianchi2023_parking",
                             [*_PARAMETRIC, "sessions.arrival_h={low=6.0, high=8.0, mean=100.0, std=0.1}"])
    assert "no probability mass" in problems[0]


@pytest.mark.parametrize(("capacity", "field"), [(30.0, "sessions.capacity_kwh"), (40.0, None)])
def test_preset_energies_must_fit_its_battery(capacity, field):
    problems = _parity("bianchi2023_parking", [f"sessions.capacity_kwh={capacity}"])
    assert (_field(problems) if problems else None) == field


def test_sessions_of_a_policy_that_does_not_use_them_are_checked_too():
    """``v2gsim v2a`` and ``v2gsim profitability`` read [sessions] whatever the policy."""
    problems = _parity("tiny", ["sessions.enabled=true", *_PARAMETRIC,
                                "sessions.departure_h={low=6.0, high=9.0}"])
    assert _field(problems) == "sessions.departure_h.high"


# ----------------------------------------------------------------------------- game


@pytest.mark.parametrize(("step", "field"), [(1e-12, "game.price_grid[2]"), (5e-5, "game.price_grid[2]"),
                                             (1e-4, None)])
def test_a_price_grid_too_fine_to_allocate_is_refused(step, field):
    """Found by a scan of mutated scenarios: step 1e-12 validated, then the grid company's
    constructor asked for 4.4 TiB."""
    problems = _parity("lin2020", [f"game.price_grid=[1.0, 1.6, {step}]"])
    assert (_field(problems) if problems else None) == field


# ----------------------------------------------------------------------------- seed and name


@pytest.mark.parametrize(("seed", "allowed"), [(MAX_SEED + 1, "less than or equal to 9223372036854775807"),
                                               (2**64, "less than or equal to 9223372036854775807"),
                                               (-1, "greater than or equal to 0")])
def test_seeds_beyond_int64_are_refused_by_validate_and_by_run_seed(seed, allowed, tmp_path, capsys):
    """A seed >= 2^64 used to validate, then fail writing Parquet with a run directory left."""
    assert _field(_parity("tiny", [f"seed={seed}"])) == "seed"
    out = tmp_path / "run"
    rc = main(["run", "tiny", "--days", "1", "--quiet", "--no-figures", "--out", str(out),
               "--seed", str(seed)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("tiny: seed: ") and allowed in err
    assert not out.exists()


def test_the_largest_seed_runs_and_is_written_to_the_tables(tmp_path, capsys):
    import pandas as pd

    assert _parity("tiny", [f"seed={MAX_SEED}"]) == []
    out = tmp_path / "run"
    rc = main(["run", "tiny", "--days", "1", "--quiet", "--no-figures", "--out", str(out),
               "--seed", str(MAX_SEED)])
    assert rc == 0, capsys.readouterr()
    for table in ("daily", "hourly"):
        assert pd.read_parquet(out / f"{table}.parquet")["seed"].tolist()[0] == MAX_SEED


@pytest.mark.parametrize("field", ["platform.eva.seed", "platform.v2a.seed"])
def test_the_other_seeds_have_the_same_bound(field):
    scenario = "mao2018_household"
    assert _parity(scenario, [f"{field}={MAX_SEED}"]) == []
    assert _field(_parity(scenario, [f"{field}={MAX_SEED + 1}"])) == field


def test_a_name_too_long_in_bytes_is_refused_with_the_reason(capsys, tmp_path):
    rc = main(["validate", "tiny", "--set", f'name="{"𝕏" * 100}"'])
    (line,) = capsys.readouterr().out.splitlines()
    assert rc == 2 and line.startswith("tiny: name: is 400 bytes long in UTF-8; allowed: at most "
                                       f"{MAX_NAME_BYTES} bytes (it names run directories")
    # the longest allowed name makes a run directory
    from v2gsim.experiments.rundir import default_run_dir

    name = "𝕏" * (MAX_NAME_BYTES // 4)
    sc = load_scenario("tiny", [f'name="{name}"'])
    assert default_run_dir(sc, tmp_path).is_dir()


def test_a_file_name_of_wide_characters_gives_an_allowed_default_name(tmp_path):
    """The name a scenario without ``name`` gets (its file's stem) is cut to the byte limit."""
    f = tmp_path / f"{'𝕏' * 60}.toml"  # 244 bytes: a legal file name, too long as a name
    f.write_text("days = 1\n", encoding="utf-8")  # every other field the schema's default
    sc = load_scenario(f)
    assert sc.name == "𝕏" * (MAX_NAME_BYTES // 4)

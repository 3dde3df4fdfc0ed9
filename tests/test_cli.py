"""The CLI: every command's output equals the library's result on the same input; the parser's shape.

* ``validate``: exit codes and messages.
* ``run``, ``solve``, ``game``: the printed JSON (and text) equals what the library returns for the
  same scenario, plus hand-checked invariants (profit = credits - rebates, the points of Fig. 2).
* ``calibrate`` on real sessions.
* The parser: ``--help`` of ``v2gsim`` and of every command exits 0 and names every option; the
  commands and options are exactly those listed here; the shared options are defined once in
  ``v2gsim/cli/``; nothing outside ``cli/`` imports more than ``main`` / ``build_parser``.
* Exit statuses: 130 on Ctrl-C, 1 for a failed solve.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from v2gsim.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
SCEN = REPO / "scenarios"
CLI = REPO / "v2gsim" / "cli"


def _same(a: Any, b: Any, ignore: tuple[str, ...] = ()) -> bool:
    """Equal JSON values, NaN equal to NaN; dictionary keys in ``ignore`` (timings) skipped."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) - set(ignore)
        return keys == set(b) - set(ignore) and all(_same(a[k], b[k], ignore) for k in keys)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, ignore) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _roundtrip(obj: Any) -> Any:
    """``obj`` as the CLI prints it and a reader parses it back."""
    return json.loads(json.dumps(obj, default=float))


def test_same_helper_can_fail():
    assert _same({"a": [1.0, float("nan")]}, {"a": [1.0, float("nan")]})
    assert not _same({"a": [1.0, 2.0]}, {"a": [1.0, 2.5]})
    assert not _same({"a": 1}, {"a": 1, "b": 2})
    assert _same({"a": 1, "t": 0.1}, {"a": 1, "t": 0.2}, ignore=("t",))


# ----------------------------------------------------------------------------- validate


def test_validate_ok(capsys):
    assert main(["validate", str(SCEN / "default.toml")]) == 0
    assert capsys.readouterr().out.strip() == "OK"


def test_validate_rejects_unknown_key_wrong_type_and_range(tmp_path, capsys):
    cases = {
        "unknown": ("[drivers]\ncolour = 'red'\n", "drivers.colour: unknown field"),
        "type": ("[drivers]\ncount = 'many'\n", "drivers.count: Input should be a valid integer"),
        "range": ("[drivers]\nsoc_max = 2.0\n", "drivers.soc_max: Input should be less than"),
    }
    for name, (body, expected) in cases.items():
        f = tmp_path / f"{name}.toml"
        f.write_text(f'extends = "{SCEN / "tiny.toml"}"\n{body}')
        assert main(["validate", str(f)]) == 2
        out = capsys.readouterr().out
        assert f"{f}: {expected}" in out, out


def test_validate_applies_set_overrides(capsys):
    assert main(["validate", "tiny", "--set", "days=0"]) == 2
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.endswith("days: Input should be greater than or equal to 1 (got 0)")


def test_validate_malformed_file_has_no_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_bytes(b"[drivers\ncount = \xff\n")
    proc = subprocess.run([sys.executable, "-m", "v2gsim.cli", "validate", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert str(f) in proc.stdout


# ----------------------------------------------------------------------------- run


def test_run_json_equals_the_library_run(tmp_path, capsys):
    from v2gsim import load_scenario, run_scenario

    out = tmp_path / "run"
    rc = main(["run", str(SCEN / "tiny.toml"), "--days", "2", "--out", str(out), "--quiet",
               "--set", "output.figures=true", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    scenario = load_scenario(SCEN / "tiny.toml", ["output.figures=true"], days=2)
    expected = _roundtrip(run_scenario(scenario).summary)
    assert _same(summary, expected, ignore=("runtime_s",))
    assert _same(summary, json.loads((out / "summary.json").read_text()))
    assert summary["scenario"] == "tiny" and summary["seed"] == scenario.seed
    assert summary["days"] == 2 and summary["drivers"] == 20 and summary["runtime_s"] > 0
    assert summary["profit"] == pytest.approx(
        summary["capability_credit"] + summary["performance_credit"] - summary["rebates_paid"])
    hourly = pd.read_parquet(out / "hourly.parquet")
    assert len(hourly) == 2 * 24
    assert json.loads((out / "config.json").read_text())["drivers"]["count"] == 20
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["forecast_by_hour.png", "performance_score_by_day.png",
                    "plugged_and_bid_by_hour.png", "soc_distribution.png"]


def test_run_text_prints_the_summary_of_the_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "tiny", "--days", "1", "--out", str(out), "--quiet", "--no-figures",
                 "--seed", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    s = json.loads((out / "summary.json").read_text())
    assert s["seed"] == 7 and s["days"] == 1
    assert lines[0] == f"run directory: {out}"
    assert lines[1].startswith(f"  1 day, {s['drivers']} EVs, policy {s['policy']}, seed 7, ")
    assert lines[-1] == (f"  credits ${s['capability_credit']:.2f} capability + "
                         f"${s['performance_credit']:.2f} performance; rebates "
                         f"${s['rebates_paid']:.2f}; profit ${s['profit']:.2f} (credits - rebates)")
    assert not (out / "figures").exists() or not any((out / "figures").iterdir())


def test_run_text_prints_the_profit_net_of_energy_of_the_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "energy", "--days", "1", "--set", "drivers.count=20", "--out", str(out),
                 "--quiet", "--no-figures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    s = json.loads((out / "summary.json").read_text())
    assert math.isclose(s["profit_net_energy"], s["profit"] - s["energy_cost"], rel_tol=1e-9, abs_tol=1e-9)
    assert lines[-1] == (f"  energy cost ${s['energy_cost']:.2f} (net of sales); profit net of energy "
                         f"${s['profit_net_energy']:.2f}")


# ----------------------------------------------------------------------------- documented output


def _console_examples(page: Path) -> list[tuple[str, list[str]]]:
    """``(command, output lines)`` of the ``console`` blocks of a docs page (``$ `` lines)."""
    import re

    examples: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```console\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], []))
            else:
                examples[-1][1].append(line)
    return examples


def test_the_console_examples_of_scenarios_md_are_the_real_output(capsys, monkeypatch):
    """Issue 31 item 12: docs/scenarios.md shows each command's output verbatim (the memory
    example used to end in "(...)")."""
    import shlex

    examples = _console_examples(REPO / "docs" / "scenarios.md")
    assert len(examples) == 3 and any("drivers.count=5000000" in c for c, _ in examples)
    for command, expected in examples:
        words = shlex.split(command)
        while "=" in words[0]:
            key, _, value = words.pop(0).partition("=")
            monkeypatch.setenv(key, value)
        assert words[0] == "v2gsim"
        capsys.readouterr()
        assert main(words[1:]) == 2
        assert capsys.readouterr().out.splitlines() == expected, command


# ----------------------------------------------------------------------------- profitability


def test_profitability_without_a_scenario_plans_the_shipped_parking_lot(capsys):
    """Issue 31 item 12: ``profitability [SCENARIO]`` failed on the default scenario (no sessions)."""
    assert main(["profitability", "--json", "--no-figures"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["profitability", "bianchi2023_parking", "--json", "--no-figures"]) == 0
    assert _same(default, json.loads(capsys.readouterr().out), ignore=("solve_seconds", "solve_time_s"))
    assert default["full_plan"]["n_vehicles"] == 10  # the scenario's 10 users


@pytest.mark.parametrize(("scenario", "overrides", "field"), [
    ("default", [], "sessions.enabled"),
    ("tiny", ["--set", "sessions.enabled=true", "--set", "sessions.model='paths'",
              "--set", "sessions.place='home'"], "sessions.model"),
])
def test_profitability_of_a_scenario_without_site_sessions_names_the_field(capsys, scenario, overrides,
                                                                           field, tmp_path):
    fig = tmp_path / "plane.png"
    assert main(["profitability", scenario, *overrides, "--out", str(fig)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{scenario}: {field}: `v2gsim profitability` plans a site's declared sessions")
    assert "bianchi2023_parking" in err and not fig.exists()


def test_profitability_help_says_what_the_scenario_needs(capsys):
    with pytest.raises(SystemExit):
        main(["profitability", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "[sessions] declare the site's sessions" in help_text
    assert "(default: the shipped bianchi2023_parking)" in help_text


def test_run_bad_override_exits_2(capsys):
    assert main(["run", str(SCEN / "tiny.toml"), "--set", "days=0"]) == 2
    assert "days: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_ctrl_c_exits_130(monkeypatch, capsys):
    import v2gsim.experiments.runner

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(v2gsim.experiments.runner, "run_to_dir", interrupted)
    assert main(["run", "tiny", "--days", "1", "--quiet"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_a_failed_solve_exits_1(monkeypatch, capsys):
    import v2gsim.experiments.runner
    from v2gsim.core.solvers.errors import SolveError

    def fails(*args: Any, **kwargs: Any) -> None:
        raise SolveError("no convergence\n after 3 tries", name="day", solver="clarabel", status="infeasible",
                         summary="1 variable")

    monkeypatch.setattr(v2gsim.experiments.runner, "run_to_dir", fails)
    assert main(["run", "tiny", "--days", "1", "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == "error: solve failed: no convergence after 3 tries"


# ----------------------------------------------------------------------------- solve, game


def test_solve_json_equals_the_bilevel_policy(capsys):
    from v2gsim import load_scenario
    from v2gsim.sim.model import V2GMarketModel
    from v2gsim.specs.build import build_policy

    assert main(["solve", "tiny", "--json", "--set", "drivers.count=10"]) == 0
    out = json.loads(capsys.readouterr().out)
    scenario = load_scenario("tiny", ["drivers.count=10"])
    policy = build_policy(scenario, "bilevel")
    model = V2GMarketModel(scenario, policy=policy)
    sol = policy.solve(model.platform.observe(0, *model.tso.price_forecast()))
    assert _same(out, _roundtrip(sol.to_dict()), ignore=("solve_time_s",))
    assert len(out["rebates"]) == len(out["bids"]) == 24
    assert out["objective"] == pytest.approx(out["credit"] - out["rebate_cost"])
    assert out["upper_bound"] >= out["objective"] - 1e-9


def test_game_json_equals_the_library_and_the_price_range(capsys):
    from v2gsim import load_scenario
    from v2gsim.game.params import as_params
    from v2gsim.game.price_range import fig2_points, price_range
    from v2gsim.game.report import game_report

    assert main(["game", "--json", "--no-figures", "--at", "1.4632", "13.1622"]) == 0
    rep = json.loads(capsys.readouterr().out)
    params = load_scenario().game.params()
    assert _same(rep, _roundtrip(game_report(params, at=(1.4632, 13.1622))))
    at = as_params(params).replace(p_d=1.4632, E_d=13.1622)
    points = fig2_points(at)
    assert set(rep["points"]) == set(points) == {"E", "F", "G"}
    for k, (p_d, e_d) in points.items():
        assert rep["points"][k] == pytest.approx([p_d, e_d], abs=1e-12)
    lo, hi = price_range(at)
    assert rep["price_range"] == pytest.approx([lo, hi]) and lo < hi
    # the seed's numbers: F's price, and G where the two curves meet (not its printed G)
    assert rep["points"]["F"][0] == pytest.approx(1.4811, abs=1e-4)
    assert rep["points"]["G"] == pytest.approx([1.4629, 13.2136], abs=1e-4)
    assert {e["name"] for e in rep["equilibria"]} >= {"O", "A", "B", "C"}
    g = rep["gains"]["evolutionary"]
    assert g["EV"] == pytest.approx(0.4878, abs=1e-4)
    assert g["difference"] == pytest.approx(g["PG"] - g["EV"])


def test_game_text_prints_the_library_points(capsys):
    from v2gsim import load_scenario
    from v2gsim.game.price_range import fig2_points, price_range

    assert main(["game", "--no-figures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    params = load_scenario().game.params()
    assert lines[0] == f"game default: p_d = {params['p_d']} yuan/kWh, E_d = {params['E_d']} kWh"
    pts = fig2_points(params)
    assert lines[1:4] == [f"  point {k}: p_d = {pts[k][0]:.4f} yuan/kWh, E_d = {pts[k][1]:.4f} kWh"
                          for k in ("E", "F", "G")]
    lo, hi = price_range(params)
    assert lines[4].startswith(f"  price range at E_d = E_max: {lo:.4f} < p_d < {hi:.4f} yuan/kWh")
    assert not any(line.startswith("  figures:") for line in lines)


# ----------------------------------------------------------------------------- calibrate


def test_calibrate_command_on_real_evwatts_sessions(tmp_path, capsys):
    from conftest import require_shared

    from v2gsim.config import load_scenario

    sessions = require_shared("evwatts_houston_sessions/VehicleChargingSessions.csv")
    out = tmp_path / "calibrated.toml"
    rc = main(["calibrate", str(sessions), "--network", str(SCEN / "default.toml"),
               "--out", str(out), "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_error"] < 1e-3
    scen = load_scenario(out)  # extends the default and validates
    assert scen.extends is not None and scen.drivers.count == 200
    home = scen.network.place("home")
    assert isinstance(home.plug_utility, list) and len(home.plug_utility) == 24


# ----------------------------------------------------------------------------- the parser

SHARED = {"--help", "--debug"}
#: Every command and its options (besides --help and --debug); a change of the CLI changes this.
OPTIONS = {
    "run": {"--set", "--days", "--seed", "--out", "--force", "--no-figures", "--quiet", "--json"},
    "validate": {"--set"},
    "sweep": {"--set", "--replications", "--paired", "--workers", "--scheduler", "--dask", "--out",
              "--force", "--no-figures", "--quiet"},
    "compare": {"--set", "--policies", "--replications", "--workers", "--days", "--out", "--force",
                "--no-figures", "--quiet", "--json"},
    "report": {"--no-figures", "--show"},
    "view": {"--port", "--host"},
    "solve": {"--set", "--json"},
    "game": {"--set", "--at", "--out", "--no-figures", "--json"},
    "calibrate": {"--network", "--out", "--place", "--source", "--tz", "--data-tz", "--json"},
    "profitability": {"--set", "--day", "--out", "--no-figures", "--json"},
    "eva": {"--set", "--json"},
    "v2a": {"--set", "--seed", "--out", "--no-figures", "--json"},
}
#: The positional arguments of each command.
POSITIONALS = {"validate": ["file"], "report": ["dir"], "calibrate": ["sessions"]}


def _commands() -> dict[str, Any]:
    (sub,) = [a for a in build_parser()._actions if a.choices and a.dest == "command"]
    return dict(sub.choices)


def test_the_commands_and_their_options_are_these():
    commands = _commands()
    assert set(commands) == set(OPTIONS)
    for name, parser in commands.items():
        options = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
        assert options == OPTIONS[name] | SHARED, name
        positionals = [a.dest for a in parser._actions if not a.option_strings]
        assert positionals == POSITIONALS.get(name, ["scenario"]), name


def test_main_help_names_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--version" in out and "--debug" in out
    for name in OPTIONS:
        assert f"\n    {name} " in out, name


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_every_command_help_exits_0_and_names_its_options(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: v2gsim {command} ")
    for option in OPTIONS[command] | SHARED:
        assert option in out, option
    for positional in POSITIONALS.get(command, ["scenario"]):
        assert positional in out


def test_scenario_commands_all_take_set():
    for name, parser in _commands().items():  # view passes the scenario's name to its server
        if any(a.dest == "scenario" for a in parser._actions) and name != "view":
            assert "--set" in OPTIONS[name], name
    assert {"run", "sweep", "compare", "solve", "game", "profitability", "eva", "v2a"} <= {
        n for n, o in OPTIONS.items() if "--set" in o}


def _string_constants(option: str) -> list[str]:
    """``file:line`` of every string constant equal to ``option`` in ``v2gsim/cli/``."""
    return [f"{path.name}:{node.lineno}" for path in sorted(CLI.glob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and node.value == option]


@pytest.mark.parametrize("option", ["--set", "--json", "--debug", "--out", "--no-figures", "--quiet",
                                    "--force", "--days"])
def test_shared_options_are_defined_once(option):
    where = _string_constants(option)
    assert len(where) == 1 and where[0].startswith("common.py:"), where


def _cli_imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import of ``v2gsim.cli`` (or a submodule) in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module == "v2gsim" and any(a.name == "cli" for a in node.names):
                out.append(("v2gsim", ["cli"]))
            elif node.module == "v2gsim.cli" or node.module.startswith("v2gsim.cli."):
                out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("v2gsim.cli")]
    return out


def test_nothing_outside_cli_imports_more_than_main():
    bad = []
    files = [*REPO.glob("tests/**/*.py"), *REPO.glob("analysis/**/*.py"), *REPO.glob("v2gsim/**/*.py")]
    assert len(files) > 50
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("v2gsim/cli/"):
            continue
        for module, names in _cli_imports(path):
            if module != "v2gsim.cli" or not set(names) <= {"main", "build_parser"}:
                bad.append(f"{rel}: {module} {names}")
    assert bad == []


def test_game_at_draws_the_figures_at_that_point(tmp_path, monkeypatch, capsys):
    """``--at`` moves the operating point of the figures too (issue 33 item 6), and the text says
    what the Bayesian comparison is."""
    import v2gsim.game.report as report

    seen = []
    monkeypatch.setattr(report, "write_game_figures", lambda params, out: seen.append(params) or [])
    assert main(["game", "--at", "1.4632", "13.1622", "--out", str(tmp_path)]) == 0
    assert seen and (seen[0]["p_d"], seen[0]["E_d"]) == (1.4632, 13.1622)
    text = capsys.readouterr().out
    assert "Bayesian stand-in gains" in text and "not the seed's or its reference's" in text

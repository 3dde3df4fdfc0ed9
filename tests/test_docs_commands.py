"""Every ``v2gsim ...`` command shown in README.md and docs/ runs, and says what the docs say it says.

The commands are read from the fenced ``bash``/``sh``/``console`` blocks of the README and of every
page under ``docs/`` (in ``console`` blocks only the ``$ `` lines). Each one must be a key of
:data:`CASES` (run here) or of :data:`ELSEWHERE` (run by the named test); a command added to the docs
without either fails :func:`test_every_documented_command_is_covered`, and an entry whose command is
no longer documented fails it too.

A case runs the documented command itself, in-process (``v2gsim.cli.main``) in a temporary folder,
with its cost-limiting ``extra`` arguments appended (argparse keeps the last ``--days``, a later
``--set`` of the same key wins): a few days, a small fleet, ``--no-figures``, one worker. It checks
the exit status and one value of the output or of the files written. Commands that read
``../shared/data`` skip without it (and fail under ``CI``, like every data test).

The README's Python quick start and the Python blocks of the docs are executed too, with the
scenario made ``tiny`` and the horizon short. The README stays at most 150 lines, and its test
command is the one ``.ci/run`` runs.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, require_shared

from v2gsim.cli import main

DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#(?:\s.*)?$")
ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
PROGRAMS = ("v2gsim", ".venv/bin/v2gsim")
README_LINES = 150
TEST_COMMAND = ('python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev,distributed,view]" && '
                '.venv/bin/python -m pytest')
INSTALL_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/v2gsim run"

# the cost limits appended to commands that run the market (one day, 20 EVs; the chance policy's
# requirement statistics from one day of synthetic AGC history instead of 14)
SMALL = "--days 1 --set drivers.count=20 --no-figures --quiet"
SMALL_CHANCE = f"{SMALL} --set platform.chance.requirement_days=1"


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block."""
    return [(m["lang"], m["body"]) for m in FENCE.finditer(text)]


def shell_commands(text: str) -> list[str]:
    """The ``v2gsim`` commands of the shell blocks, one line each, comments and prompts removed.

    Continuation lines are joined; ``a && b`` and ``a; b`` are split; an environment prefix
    (``VAR=value v2gsim ...``) stays part of the command; ``.venv/bin/v2gsim`` reads ``v2gsim``.
    """
    out = []
    for lang, body in fenced_blocks(text):
        if lang not in SHELL_LANGS:
            continue
        for raw in body.replace("\\\n", " ").splitlines():
            line = raw.strip()
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            line = COMMENT.sub("", line).strip()
            for segment in re.split(r"\s*(?:&&|;)\s*", line):
                words = segment.split()
                k = 0
                while k < len(words) and ENV_WORD.match(words[k]):
                    k += 1
                if k < len(words) and words[k] in PROGRAMS:
                    words[k] = "v2gsim"
                    out.append(" ".join(words))
    return out


def documented_commands() -> dict[str, list[str]]:
    """Command -> the files that show it."""
    found: dict[str, list[str]] = {}
    for path in DOC_FILES:
        for command in shell_commands(path.read_text(encoding="utf-8")):
            found.setdefault(command, []).append(str(path.relative_to(REPO)))
    return found


# ------------------------------------------------------------------------------- checks


def contains(*texts: str) -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        for text in texts:
            assert text in out, f"{text!r} not in the output:\n{out}"
    return check


def matches(pattern: str) -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        assert re.search(pattern, out), f"{pattern!r} does not match the output:\n{out}"
    return check


def number(label: str, value: float, places: int = 2) -> Callable[[str, Path], None]:
    """The number after ``label`` in the output, rounded to ``places``, equals ``value``."""
    def check(out: str, cwd: Path) -> None:
        m = re.search(rf"{re.escape(label)}\s+(-?[\d.]+)", out)
        assert m and round(float(m.group(1)), places) == value, out
    return check


def json_out(test: Callable[[dict], bool]) -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        data = json.loads(out)
        assert test(data), data
    return check


def run_dir(out: str, cwd: Path) -> Path:
    """The run directory ``v2gsim run`` printed."""
    m = re.search(r"^run directory: (.+)$", out, re.MULTILINE)
    assert m, out
    return cwd / m.group(1)


def summary(key: str, value: object, *more: str) -> Callable[[str, Path], None]:
    """``summary.json[key] == value`` of the run, and the other texts in the output."""
    def check(out: str, cwd: Path) -> None:
        contains(*more)(out, cwd)
        s = json.loads((run_dir(out, cwd) / "summary.json").read_text())
        assert s[key] == value, (key, s[key], value)
    return check


def config(dotted: str, value: object) -> Callable[[str, Path], None]:
    """``config.json`` (the resolved scenario) of the run has ``dotted == value``."""
    def check(out: str, cwd: Path) -> None:
        node = json.loads((run_dir(out, cwd) / "config.json").read_text())
        for part in dotted.split("."):
            node = node[part]
        assert node == value, (dotted, node, value)
    return check


def table_has(table: str, column: str) -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        import pandas as pd  # here, not at the top: `import v2gsim` first sets one OpenBLAS thread

        assert column in pd.read_parquet(run_dir(out, cwd) / f"{table}.parquet").columns
    return check


def file_exists(relpath: str, text: str = "") -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        path = cwd / relpath
        assert path.is_file(), f"{relpath} missing; output:\n{out}"
        assert text in path.read_text(errors="replace")
    return check


def run_file(name: str) -> Callable[[str, Path], None]:
    """The run directory holds ``name``."""
    def check(out: str, cwd: Path) -> None:
        assert (run_dir(out, cwd) / name).is_file(), out
    return check


def both(*checks: Callable[[str, Path], None]) -> Callable[[str, Path], None]:
    def check(out: str, cwd: Path) -> None:
        for c in checks:
            c(out, cwd)
    return check


@dataclass(frozen=True)
class Case:
    """How the test runs one documented command."""

    check: Callable[[str, Path], None]
    extra: str = ""                      # arguments appended to the documented ones
    setup: tuple[str, ...] = ()          # commands run first, in the same folder (without "v2gsim")
    status: int = 0
    data: tuple[str, ...] = ()           # files under ../shared/data the command reads


PJM_REGD = ("pjm_regd_2s_2020-07/regd_2s_2020-07-16.csv",
            "pjm_reg_market_2016/reg_market_results_2016.csv")
GME = ("italy_gme_pun_msd_nord_2019-08_10/pun_2019-08_10.csv",)
TOU = ("us_utility_tou_tariffs_acnportal/sce_tou_ev_4_march_2019.json",)
EVWATTS = ("evwatts_houston_sessions/VehicleChargingSessions.csv",)
ACN = ("acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv",)
CALIBRATE_EVWATTS = ("calibrate ../shared/data/evwatts_houston_sessions/VehicleChargingSessions.csv "
                     "--network scenarios/default.toml --out my.toml")
COMPARE = "compare tang_mak2024 --policies naive,chance,bilevel --replications 1 --days 1 " \
          "--set drivers.count=20 --no-figures --quiet"
TANG_SWEEP = ("sweep tang_mak2024 --set drivers.charger_kw=7.2,20 --set platform.policy=chance,bilevel "
              "--replications 1 --paired --set days=1 --set drivers.count=20 --no-figures --quiet")
TINY_SWEEP = "sweep tiny --set drivers.count=10,20 --replications 2 --set days=2 --no-figures --quiet"

#: documented command -> how this test runs it
CASES: dict[str, Case] = {
    # getting started, README
    "v2gsim run": Case(summary("drivers", 20, "policy chance"), SMALL_CHANCE),
    "v2gsim validate scenarios/default.toml": Case(matches(r"^OK$")),
    "v2gsim run scenarios/tiny.toml --days 5 --seed 7 --out runs/tiny":
        Case(summary("seed", 7, "5 days, 20 EVs, policy naive, seed 7"), "--quiet"),
    "v2gsim run --set drivers.count=1000 --set platform.policy=naive --set platform.naive.bid_fraction=0.3":
        Case(both(summary("drivers", 20, "policy naive"), config("platform.naive.bid_fraction", 0.3)),
             SMALL),
    "v2gsim report runs/tiny":
        Case(file_exists("runs/tiny/report.html", "tiny"),
             setup=("run scenarios/tiny.toml --days 2 --seed 7 --out runs/tiny --quiet",)),
    "v2gsim compare tang_mak2024 --policies naive,chance,bilevel --replications 3":
        Case(both(contains("naive, chance, bilevel x 1 replications (common random numbers)"),
                  file_exists("runs/tang_mak2024-compare/comparison.csv", "bilevel")),
             "--replications 1 --days 1 --set drivers.count=20 --no-figures --quiet"),
    "v2gsim report runs/tang_mak2024-compare":
        Case(both(contains("runs/tang_mak2024-compare/report.html"),
                  file_exists("runs/tang_mak2024-compare/report.html", "chance")),
             setup=(COMPARE,)),
    # scenario files: errors exit 2 with one line per problem
    "v2gsim validate tiny --set 'drivers.count=[1,'":
        Case(contains("drivers.count: --set value '[1,' is not a valid TOML value"), status=2),
    "v2gsim validate tiny --set 'network.places.0.utility=[1.0, 2.0]' --set market.mean_hourly_mileage=5":
        Case(contains("network.places[0].utility: has 2 values; give one number or exactly 24",
                      "market.mean_hourly_mileage: must lie in [12, 1200]"), status=2),
    "V2GSIM_MEMORY_LIMIT=8G v2gsim validate tiny --set drivers.count=5000000":
        Case(contains("drivers.count: a run needs about", "more than the 8.0 GB this machine allows"),
             status=2),
    # studies
    "v2gsim sweep scenarios/tiny.toml --set drivers.count=100,200 --replications 5 --workers 2":
        Case(contains("2 points x 2 replications", "4 done"),
             "--set drivers.count=10,20 --replications 2 --workers 1 --set days=2 --no-figures --quiet"),
    "v2gsim report runs/tiny-sweep":
        Case(both(contains("(2 points"), file_exists("runs/tiny-sweep/report.csv", "drivers.count")),
             "--no-figures", setup=(TINY_SWEEP,)),
    "v2gsim sweep tang_mak2024 --set drivers.charger_kw=7.2,10,20 --set platform.policy=chance,bilevel "
    "--replications 5 --paired --workers 2":
        Case(contains("4 points x 1 replications", "4 done"),
             "--set drivers.charger_kw=7.2,20 --replications 1 --workers 1 --set days=1 "
             "--set drivers.count=20 --no-figures --quiet"),
    "v2gsim report runs/tang_mak2024-sweep":
        Case(both(contains("(4 points"), file_exists("runs/tang_mak2024-sweep/report.csv", "bilevel")),
             "--no-figures", setup=(TANG_SWEEP,)),
    "v2gsim run tiny --seed 1 --out runs/tiny-seeds/s1": Case(summary("seed", 1), "--days 2 --quiet"),
    "v2gsim run tiny --seed 2 --out runs/tiny-seeds/s2": Case(summary("seed", 2), "--days 2 --quiet"),
    "v2gsim report runs/tiny-seeds":
        Case(contains("(1 points"), "--no-figures",
             setup=("run tiny --days 2 --seed 1 --out runs/tiny-seeds/s1 --quiet",
                    "run tiny --days 2 --seed 2 --out runs/tiny-seeds/s2 --quiet")),
    "v2gsim run --set platform.beliefs=scenario":
        Case(config("platform.beliefs", "scenario"), SMALL_CHANCE),
    "v2gsim run --set platform.policy=naive": Case(summary("policy", "naive"), SMALL),
    "v2gsim run scenarios/pjm_regd_2020.toml --days 30":
        Case(summary("policy", "chance", "policy chance"), SMALL, data=PJM_REGD),
    "v2gsim run scenarios/pjm_regd_2020.toml --days 30 --set platform.beliefs=scenario":
        Case(config("platform.beliefs", "scenario"), SMALL, data=PJM_REGD),
    "v2gsim run --set market.score=pjm_composite": Case(table_has("hourly", "accuracy"), SMALL_CHANCE),
    "v2gsim game lin2020": Case(contains("point F: p_d = 1.4811 yuan/kWh, E_d = 20.0000 kWh",
                                         "point G: p_d = 1.4629 yuan/kWh, E_d = 13.2136 kWh"),
                                "--no-figures"),
    "v2gsim run lin2020": Case(table_has("daily", "price_mean"), SMALL),
    "v2gsim calibrate ../shared/data/evwatts_houston_sessions/VehicleChargingSessions.csv "
    "--network scenarios/default.toml --out my.toml":
        Case(both(contains("calibration of plug-in utilities at 'home': status ok"),
                  file_exists("my.toml", "extends")), data=EVWATTS),
    "v2gsim calibrate ../shared/data/acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv "
    "--place work --out work.toml":
        Case(both(contains("calibration of plug-in utilities at 'work'"), file_exists("work.toml")),
             data=ACN),
    "v2gsim run my.toml --days 5":
        Case(summary("drivers", 20), SMALL_CHANCE, setup=(CALIBRATE_EVWATTS,), data=EVWATTS),
    "v2gsim run energy": Case(summary("energy_source", "synthetic"), SMALL_CHANCE),
    "v2gsim run energy --set market.energy.source='\"tou\"' --set market.energy.tariff_file="
    "'\"../../shared/data/us_utility_tou_tariffs_acnportal/sce_tou_ev_4_march_2019.json\"' "
    "--set market.energy.start_date='\"2019-07-01\"'":
        Case(summary("energy_source", "tou"), SMALL_CHANCE, data=TOU),
    "v2gsim run energy --set market.energy.source='\"gme\"' --set market.energy.exchange_rate=1.11 "
    "--set market.energy.price_file='\"../../shared/data/italy_gme_pun_msd_nord_2019-08_10/"
    "pun_2019-08_10.csv\"'":
        Case(summary("energy_source", "gme"), SMALL_CHANCE, data=GME),
    "v2gsim run heterogeneous":
        Case(run_file("soc.parquet"), SMALL),
    # seeds
    "v2gsim solve --set drivers.charger_kw=30":
        Case(json_out(lambda d: len(d["rebates"]) == 24 and max(d["rebates"]) > 0), "--json"),
    "v2gsim game lin2020 --at 1.4632 13.1622":
        Case(contains("evolutionary gains: EV 0.4878, PG 0.4911"), "--no-figures"),
    "v2gsim v2a mao2018_household":
        Case(contains("with discharge     objective    59.263 p.u.",
                      "without discharge  objective    67.526 p.u."), "--no-figures"),
    "v2gsim v2a mao2018_building --json": Case(json_out(lambda d: d["evs"] == 5), "--no-figures"),
    "v2gsim v2a mao2018_station --json": Case(json_out(lambda d: d["evs"] == 10), "--no-figures"),
    "v2gsim run mao2018_household --set platform.policy=v2a --days 3": Case(
        summary("v2a_planned_days", 1), "--days 2 --set drivers.count=20 --no-figures --quiet"),
    "v2gsim eva ma2025_cbdr": Case(number("total operating revenue", -335.73)),
    "v2gsim eva ma2025_dbdr": Case(number("total operating revenue", 5.81)),
    "v2gsim eva ma2025_hybrid": Case(number("total operating revenue", 711.8)),
    "v2gsim run ma2025_hybrid --days 3": Case(summary("policy", "eva"), SMALL),
    "v2gsim profitability bianchi2023_parking":
        Case(contains("reduced problem: regime none"), "--no-figures"),
    "v2gsim profitability bianchi2023_parking --set market.energy.source='\"gme\"' "
    "--set market.energy.price_file='\"../../shared/data/italy_gme_pun_msd_nord_2019-08_10/"
    "pun_2019-08_10.csv\"' --set market.energy.balancing_file='\"../../shared/data/"
    "italy_gme_pun_msd_nord_2019-08_10/msd_nord_avg_prices_2019-08_10.csv\"' "
    "--set market.energy.exchange_rate=1.11":
        Case(contains("EUR/kWh"), "--no-figures",
             data=(*GME, "italy_gme_pun_msd_nord_2019-08_10/msd_nord_avg_prices_2019-08_10.csv")),
    "v2gsim run bianchi2023_parking --days 5":
        Case(summary("policy", "robust"), "--days 1 --no-figures --quiet"),
}

#: documented command -> the test that runs it (``path::name``)
ELSEWHERE: dict[str, str] = {
    "v2gsim view tang_mak2024": "tests/test_view.py::test_browser_step",
}


def _id(command: str) -> str:
    return re.sub(r"[^\w.=,-]+", "_", command.removeprefix("v2gsim "))[:90]


def test_every_documented_command_is_covered() -> None:
    documented = documented_commands()
    covered = set(CASES) | set(ELSEWHERE)
    missing = {c: files for c, files in documented.items() if c not in covered}
    assert not missing, ("documented commands without a case in tests/test_docs_commands.py "
                         f"(CASES, or ELSEWHERE naming the test that runs them): {missing}")
    stale = covered - set(documented)
    assert not stale, f"cases of commands no longer documented: {sorted(stale)}"
    assert not set(CASES) & set(ELSEWHERE)


@pytest.mark.parametrize("command", sorted(ELSEWHERE), ids=_id)
def test_covered_elsewhere_names_a_real_test(command: str) -> None:
    path, _, name = ELSEWHERE[command].partition("::")
    source = (REPO / path).read_text(encoding="utf-8")
    assert re.search(rf"^def {re.escape(name)}\(", source, re.MULTILINE), ELSEWHERE[command]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = main(argv)
    return status, capsys.readouterr().out


def _argv(command: str) -> tuple[dict[str, str], list[str]]:
    """Environment prefix and arguments (without ``v2gsim``) of a documented command."""
    words = shlex.split(command)
    env = {}
    while words and ENV_WORD.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[0] == "v2gsim"
    return env, words[1:]


@pytest.mark.parametrize("command", sorted(CASES), ids=_id)
def test_documented_command(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[command]
    for relpath in case.data:
        require_shared(relpath)
    env, argv = _argv(command)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # the commands' relative paths (scenarios/..., ../shared/data/...) read from the repository's root
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "scenarios").symlink_to(REPO / "scenarios")
    (tmp_path / "shared").symlink_to(REPO.parent / "shared")
    monkeypatch.chdir(cwd)
    for step in case.setup:
        status, out = _run(shlex.split(step), capsys)
        assert status == 0, (step, out)
    status, out = _run(argv + shlex.split(case.extra), capsys)
    assert status == case.status, out
    case.check(out, cwd)


# ------------------------------------------------------------------------------- Python blocks


def cheap_python(code: str) -> str:
    """A snippet with its scenario made ``tiny`` and its horizon and fleet small."""
    code = re.sub(r'load_scenario\("[^"]+"', 'load_scenario("tiny"', code)
    code = re.sub(r"\bdays=\d+", "days=2", code)
    return re.sub(r"drivers\.count=\d+", "drivers.count=20", code)


def python_blocks(path: Path) -> list[str]:
    return [body for lang, body in fenced_blocks(path.read_text(encoding="utf-8")) if lang == "python"]


def test_readme_python_quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(REPO / "README.md")
    assert blocks, "the README has a Python quick start"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        cheap = cheap_python(code)
        assert 'load_scenario("tiny"' in cheap, "the quick start loads a scenario by load_scenario(...)"
        exec(compile(cheap, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"^1 0\.\d+$", out, re.MULTILINE), out  # model.steps after one step, mean SOC


#: pages whose Python blocks need a run directory first (same folder)
PY_SETUP = {"docs/getting-started.md": ("run tiny --days 2 --out runs/tiny --quiet",)}
PY_PAGES = sorted(str(p.relative_to(REPO)) for p in DOC_FILES[1:] if python_blocks(p))


@pytest.mark.parametrize("page", PY_PAGES)
def test_docs_python_blocks_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for step in PY_SETUP.get(page, ()):
        assert _run(shlex.split(step), capsys)[0] == 0
    for code in python_blocks(REPO / page):
        if "shared/data" in code:  # paths relative to the repository's root, as the page says
            for rel in re.findall(r"shared/data/([\w./-]+)", code):
                require_shared(rel)
            monkeypatch.chdir(REPO)
        exec(compile(cheap_python(code), page, "exec"), {})
        monkeypatch.chdir(tmp_path)


# ------------------------------------------------------------------------------- README


def test_readme_is_short() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines; the docs hold the rest"


def test_readme_test_command_is_the_ci_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert TEST_COMMAND in readme and TEST_COMMAND in ci
    assert INSTALL_COMMAND in readme

"""Issue 16 item 6: a scenario or CLI argument cannot run code, read files other than its own
``extends`` chain and named data files, or write outside the output directory.

* No code path evaluates user input: the package has no ``eval``/``exec``/``pickle``/shell calls
  (static check), and strings that are code in every string field run nothing.
* A run's file accesses, recorded with an audit hook (``sys.addaudithook``) in a subprocess, are:
  reads of the Python installation and the package, of the scenario and the files it extends, of
  its named data files (plus the price file the PJM reader joins from the same folder, documented
  in :func:`v2gsim.market.prices.read_pjm_regulation_prices`) and of system information
  (``/proc``, ``/sys``); writes only below the output directory (and matplotlib's cache, moved into
  the test's folder with ``MPLCONFIGDIR``).
* A scenario ``name`` cannot escape ``runs/`` (``../``, ``/``, other path characters are rejected);
  ``--force`` replaces only an earlier run directory, never another folder or a file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, require_shared

import v2gsim
from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario, validate_file
from v2gsim.experiments.rundir import default_run_dir

PKG = Path(v2gsim.__file__).resolve().parent
TINY = REPO / "scenarios" / "tiny.toml"

#: Calls that would run text as code or start programs; none may appear in the package.
FORBIDDEN_CALLS = re.compile(
    r"(?<![\w.])(eval|exec|compile|__import__)\s*\(|\bpickle\b|\bmarshal\b|\bshelve\b|\byaml\b|"
    r"read_pickle|allow_pickle\s*=\s*True|\bos\.system\b|\bos\.popen\b|\bsubprocess\b|"
    r"shell\s*=\s*True|\bimportlib\.import_module\s*\((?!_LAZY\[name\])"
)


def test_the_package_never_evaluates_text_or_starts_programs():
    hits = []
    for path in sorted(PKG.rglob("*.py")):
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if FORBIDDEN_CALLS.search(code) and not code.strip().startswith(('"', "'")):
                hits.append(f"{path.relative_to(PKG)}:{k}: {line.strip()}")
    # the one program the package starts: `v2gsim view` runs `python -m solara run
    # v2gsim.view.app` as an argv list (no shell); --host and --port are single arguments
    allowed = ("cli/view.py:import subprocess", "cli/view.py:return subprocess.Popen(view_command(")

    def allowed_hit(hit: str) -> bool:
        where, line = hit.split(": ", 1)
        return (where.split(":", 1)[0] + ":" + line).startswith(allowed) and "shell" not in line

    hits = [h for h in hits if not allowed_hit(h)]
    view = (PKG / "cli" / "view.py").read_text()
    assert "shell=" not in view and view.count("subprocess.") == 1
    # the one dynamic import resolves a fixed table of the package's own names
    assert hits == [], hits
    lazy = (PKG / "__init__.py").read_text()
    assert "importlib.import_module(_LAZY[name])" in lazy and "_LAZY = {" in lazy


def test_code_in_string_fields_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / "PWNED"
    payloads = [f"__import__('os').system('touch {canary}')", f"$(touch {canary})",
                f"`touch {canary}`", "{{7*7}}", f"!!python/object/apply:os.system ['touch {canary}']"]
    for k, text in enumerate(payloads):
        quoted = json.dumps(text)
        f = tmp_path / f"s{k}.toml"
        f.write_text(f'extends = "{TINY}"\ndescription = {quoted}\n[platform]\npolicy = {quoted}\n')
        assert main(["validate", str(f)]) == 2  # an unknown policy name, never imported or run
        f.write_text(f'extends = "{TINY}"\ndescription = {quoted}\n')
        assert main(["run", str(f), "--days", "1", "--out", str(tmp_path / f"run{k}"), "--quiet",
                     "--set", f"description={quoted}"]) == 0
    capsys.readouterr()
    assert not canary.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        f"run{k}" for k in range(len(payloads))]


AUDIT = r"""
import json, os, sys
# imports are not the run's accesses
import v2gsim.cli, v2gsim.experiments.runner, v2gsim.sim.model, v2gsim.reporting.figures
events = []
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def hook(event, args):
    if args and isinstance(args[0], int):  # os.fdopen of a descriptor whose open was recorded
        return
    if event == "open":
        mode, flags = args[1], args[2] or 0
        write = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & WRITE)
        events.append(["write" if write else "read", os.fspath(args[0])])
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.unlink",
                   "shutil.rmtree", "os.chmod", "os.symlink", "os.truncate", "shutil.copyfile"):
        events.append(["write", os.fspath(args[0])])
    elif event in ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.fork"):
        events.append(["exec", str(args[0])])
sys.addaudithook(hook)
rc = v2gsim.cli.main(sys.argv[1:])
print(json.dumps({"rc": rc, "events": events}))
"""


def _accesses(tmp_path: Path, argv: list[str]) -> tuple[int, list[tuple[str, Path]]]:
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl"), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", AUDIT, *argv], capture_output=True, text=True,
                         cwd=tmp_path, env=env, check=True)
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    return rec["rc"], [(kind, Path(p).resolve()) for kind, p in rec["events"] if isinstance(p, str)]


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def test_a_run_reads_only_its_files_and_writes_only_its_output(tmp_path):
    scen = tmp_path / "scen" / "s.toml"
    scen.parent.mkdir()
    regd = require_shared("pjm_regd_2s_2020-07/regd_2s_2020-07-16.csv")
    price = require_shared("pjm_reg_market_2016/reg_market_results_2016.csv")
    data = [regd, price, price.parent / "reg_zone_prelim_bill_2016.csv"]  # the joined sibling
    scen.write_text(f'extends = "{TINY}"\n[output]\nfigures = true\n[market]\nagc = "pjm_regd"\n'
                    f'agc_files = ["{regd}"]\nprices = "pjm"\nprice_file = "{price}"\n')
    out = tmp_path / "out"
    rc, events = _accesses(tmp_path, ["run", str(scen), "--days", "1", "--out", str(out),
                                      "--quiet"])
    assert rc == 0
    assert (out / "figures").is_dir() and (out / "hourly.parquet").is_file()
    chain = [scen.resolve(), TINY.resolve(), (REPO / "scenarios" / "default.toml").resolve()]
    system = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    readable = [*system, PKG, Path("/proc"), Path("/sys"), Path("/dev"), out, tmp_path / "mpl"]
    reads = [p for k, p in events if k == "read" and not _under(p, readable)]
    assert sorted(set(reads)) == sorted({*chain, *(d.resolve() for d in data)})
    assert [p for k, p in events if k == "write" and not _under(p, [out, tmp_path / "mpl"])] == []
    assert [p for k, p in events if k == "exec"] == []


@pytest.mark.parametrize("name", ["../../escape", "/etc/x", "a/b", "..", ".hidden", "-rf", "a\\b",
                                  "nul\x00x", "line\nbreak", "", "x" * 101])
def test_a_name_with_path_characters_is_rejected(tmp_path, name):
    f = tmp_path / "s.toml"
    f.write_text(f'extends = "{TINY}"\nname = {json.dumps(name)}\n')
    (line,) = validate_file(f)
    assert line.startswith(f"{f}: name: ") and "is not an allowed name" in line
    with pytest.raises(ScenarioError):
        load_scenario(TINY, [f"name={json.dumps(name)}"])


def test_allowed_names_and_file_stems_stay_inside_runs(tmp_path, monkeypatch):
    for name in ("default", "pjm_regd_2020", "ø-scénario.v2+x"):
        assert load_scenario(TINY, [f'name="{name}"']).name == name
    odd = tmp_path / "my scenario (v2).toml"
    odd.write_text("days = 1\n")  # no name: the file's stem, made safe
    scen = load_scenario(odd)
    assert scen.name == "my_scenario__v2_"
    run_dir = default_run_dir(scen, tmp_path / "runs")
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.startswith("my_scenario__v2_-")


def test_force_replaces_only_a_run_directory(tmp_path, capsys):
    args = ["run", str(TINY), "--days", "1", "--quiet", "--no-figures", "--force"]
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    assert main([*args, "--out", str(precious)]) == 2
    assert "is not a v2gsim run directory (it holds thesis.tex; no .v2gsim-output.json)" in \
        capsys.readouterr().err
    assert (precious / "thesis.tex").read_text() == "years of work"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    assert main([*args, "--out", str(a_file)]) == 2
    assert a_file.read_text() == "keep"
    run = tmp_path / "run"
    assert main([*args, "--out", str(run)]) == 0
    (run / ".hourly.parquet.tmp").write_text("")  # a leftover temporary file is part of a run
    assert main([*args, "--out", str(run)]) == 0
    assert (run / "config.json").is_file()

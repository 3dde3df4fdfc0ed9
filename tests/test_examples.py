"""Every example runs where a user runs it: in an empty folder, against a plain install (issue 31).

The examples are the fenced ``python`` blocks of README.md and of every page under ``docs/``, the
``Example::`` / ``Examples::`` / ``Quick start::`` literal blocks of the package's docstrings that
are Python (they import something), and the ``>>>`` doctests of the package. A docs block that is
not meant to run on its own (it reads a run directory a command above it wrote, or the real data
beside the repository) is marked on the line before its fence::

    <!-- example: skip (why) -->

Once per session the package is built into a wheel (from a copy of the sources) and installed,
without its dependencies, into a fresh virtual environment whose ``.pth`` file adds the
site-packages of the interpreter running the tests (where the dependencies are) but not its
editable install: every example imports the installed copy (checked: ``v2gsim.__file__`` lies in
the new environment). Each example runs in its own subprocess, in a new empty folder.

The same environment checks the noise of issue 31 item 11: the library prints no progress bar unless
asked, and the command line says once, on a cold numba cache, that it compiles the kernels, and
nothing on a warm one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from v2gsim.core.jit import COMPILE_NOTICE

DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
SKIP = re.compile(r"<!--\s*example:\s*skip\b\s*(?P<why>.*?)\s*-->")
#: the paragraph that introduces a runnable docstring example ends with one of these
INTRO = re.compile(r"(?:Example|Examples|Quick start)(?: \([^)]*\))?::\s*$", re.IGNORECASE)
#: examples that must be found (the collection itself can break); README.md's by its file
EXPECTED = {"README.md", "docs/getting-started.md", "v2gsim/__init__.py", "v2gsim/config/__init__.py",
            "v2gsim/config/catalog.py", "doctest v2gsim.sim.agents.driver"}
#: seconds one example may take (a loaded machine; the first compiles nothing: the fixture did)
TIMEOUT = 300


@dataclass(frozen=True)
class Example:
    """One example: where it is (``FILE:LINE`` of a docs block, a module's path, ``doctest MODULE``),
    its code, and why it does not run (empty: it runs)."""

    where: str
    code: str
    skip: str = ""


def doc_examples() -> list[Example]:
    """The ``python`` blocks of README.md and docs/, with their skip markers."""
    out = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m["lang"] != "python":
                continue
            line = text.count("\n", 0, m.start()) + 1
            before = text[:m.start()].rstrip().rsplit("\n", 1)[-1]
            marker = SKIP.search(before)
            skip = (marker["why"].strip("() ") or "marked") if marker else ""
            out.append(Example(f"{path.relative_to(REPO)}:{line}", m["body"], skip))
    return out


def _literal_blocks(doc: str) -> list[str]:
    """The literal blocks (``::`` then an indented block) of a docstring introduced by
    :data:`INTRO`, dedented."""
    lines, out = doc.splitlines(), []
    for k, line in enumerate(lines):
        if not INTRO.search(line):
            continue
        body: list[str] = []
        for nxt in lines[k + 1:]:
            if nxt.strip() and not nxt.startswith((" ", "\t")) and body:
                break
            body.append(nxt)
        indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        out.append("\n".join(b[indent:] for b in body).strip("\n") + "\n")
    return out


def docstring_examples() -> list[Example]:
    """The Python ``Example::`` blocks of the package's docstrings and its doctest modules."""
    out = []
    for path in sorted((REPO / "v2gsim").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO).as_posix()
        module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        tree = ast.parse(source)
        nodes = [tree, *(n for n in ast.walk(tree)
                         if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
        for node in nodes:
            for block in _literal_blocks(ast.get_docstring(node) or ""):
                try:
                    parsed = ast.parse(block)
                except SyntaxError:
                    continue  # TOML, shell, a formula
                if any(isinstance(n, ast.Import | ast.ImportFrom) for n in parsed.body):
                    out.append(Example(rel, block))
        if re.search(r"^\s*>>> ", source, re.MULTILINE):
            out.append(Example(f"doctest {module}", (
                "import doctest, importlib\n"
                f"failed, tried = doctest.testmod(importlib.import_module({module!r}))\n"
                "assert tried > 0 and failed == 0, (failed, tried)\n")))
    return out


EXAMPLES = doc_examples() + docstring_examples()


def _deps_site() -> str:
    """The site-packages of the interpreter running the tests (the dependencies)."""
    return sysconfig.get_paths()["purelib"]


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh virtual environment with v2gsim installed from a wheel (not editable), its numba
    kernels compiled by a first ``v2gsim run`` from an empty folder (whose stderr is kept)."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    # symlinks=False: v2gsim/scenarios is a link to ../scenarios in the repository
    shutil.copytree(REPO / "v2gsim", src / "v2gsim", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(root / "wheels"), str(src)], check=True,
                   capture_output=True)
    (wheel,) = (root / "wheels").glob("v2gsim-*.whl")
    venv = root / "venv"
    base = getattr(sys, "_base_executable", sys.executable)  # not this venv's python: a fresh venv
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", "--python",
                    str(python), "install", "--no-deps", str(wheel)], check=True, capture_output=True)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # a path line adds the directory without running its .pth files (the editable install's finder)
    (Path(site) / "zz_test_dependencies.pth").write_text(_deps_site() + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env.update(MPLBACKEND="Agg", NUMBA_CACHE_DIR=str(root / "numba-cache"))
    cold = _cli(venv, env, root / "cold", "run", "tiny", "--days", "1", "--no-figures", "--out", "run")
    return {"venv": venv, "python": python, "env": env, "cold": cold, "root": root}


def _cli(venv: Path, env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``v2gsim ARGV`` of the installed environment, run in the new folder ``cwd``."""
    cwd.mkdir()
    out = subprocess.run([venv / "bin" / "v2gsim", *argv], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


#: runs an example file (argv[1]) as __main__ after checking that v2gsim is the installed copy
DRIVER = (
    "import sys, v2gsim\n"
    "assert v2gsim.__file__.startswith(sys.prefix + '/'), v2gsim.__file__\n"
    "code = open(sys.argv[1], encoding='utf-8').read()\n"
    "exec(compile(code, sys.argv[2], 'exec'), {'__name__': '__main__'})\n"
)


def _run_example(installed: dict[str, Any], example: Example,
                 cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``example`` with the installed environment's python in the new empty folder ``cwd``."""
    cwd.mkdir()
    script = cwd.parent / f"{cwd.name}.py"  # beside the folder: the example's folder stays empty
    script.write_text(example.code, encoding="utf-8")
    return subprocess.run([installed["python"], "-c", DRIVER, str(script), example.where], cwd=cwd,
                          env=installed["env"], capture_output=True, text=True, timeout=TIMEOUT)


def test_every_expected_example_is_found_and_every_skip_says_why() -> None:
    found = {e.where.split(":")[0] for e in EXAMPLES}
    assert EXPECTED <= found, sorted(EXPECTED - found)
    assert all(e.skip != "marked" for e in EXAMPLES), [e.where for e in EXAMPLES if e.skip == "marked"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_example_runs_from_an_empty_folder_against_the_installed_package(
        example: Example, installed: dict[str, Any], tmp_path: Path) -> None:
    if example.skip:
        pytest.skip(f"{example.where}: {example.skip}")
    out = _run_example(installed, example, tmp_path / "cwd")
    assert out.returncode == 0, f"{example.where}:\n{example.code}\n{out.stdout}\n{out.stderr}"
    assert not re.search(r"day/s|s/day", out.stderr), out.stderr  # no progress bar


def test_the_library_is_quiet_unless_asked(installed: dict[str, Any], tmp_path: Path) -> None:
    """``run_scenario`` writes nothing to stderr by default, even for a scenario whose
    ``output.progress`` asks for a bar (the command line's setting); ``progress=None`` follows the
    scenario and ``progress=True`` shows the bar."""
    code = ("import contextlib, io, json\n"
            "from v2gsim import load_scenario, run_scenario\n"
            "scenario = load_scenario('default', ['drivers.count=5', 'platform.policy=naive'], days=2)\n"
            "assert scenario.output.progress\n"
            "said = []\n"
            "for kwargs in ({}, {'progress': None}, {'progress': True}):\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        run_scenario(scenario, **kwargs)\n"
            "    said.append(err.getvalue())\n"
            "print(json.dumps(said))\n")
    out = _run_example(installed, Example("quiet", code), tmp_path / "cwd")
    assert out.returncode == 0, out.stderr
    default, as_scenario, bar = json.loads(out.stdout.splitlines()[-1])
    assert default == "", default
    assert "2/2" in as_scenario and "2/2" in bar and "day" in bar, (as_scenario, bar)


def test_the_command_line_says_once_that_it_compiles_and_not_when_warm(installed: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    """The fixture's first run compiled the kernels into an empty cache and said so once; a second
    run loads them and says nothing."""
    cold = installed["cold"]
    assert cold.stderr.count(COMPILE_NOTICE) == 1, cold.stderr
    warm = _cli(installed["venv"], installed["env"], tmp_path / "warm", "run", "tiny", "--days", "1",
                "--no-figures", "--out", "run")
    assert COMPILE_NOTICE not in warm.stderr, warm.stderr
    assert "1 day, 20 EVs" in warm.stdout and (tmp_path / "warm" / "run" / "hourly.parquet").is_file()

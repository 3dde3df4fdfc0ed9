"""Benchmark: how fast ``v2gsim`` refuses a wrong input (issue 31 item 11b), as a user runs it.

Each case is a console command that must exit with status 2 (a typo in a scenario's name, a
``--set`` typo, a value out of range) run in an empty temporary folder, in a fresh interpreter each
time. Prints JSON: per case the median and min wall-clock seconds over ``--reps`` runs, the exit
status, the first line of stderr, and the heavy libraries imported by the time the error is printed
(read in-process through :func:`v2gsim.cli.main`). Target: under 1 s, as ``v2gsim validate``
(``bench_validate.py``): a bad scenario is refused before the simulation's libraries are imported.

``--case NAME`` (repeatable) runs only those cases; ``PYTHONPATH`` selects the package measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HEAVY = ("numba", "cvxpy", "mesa", "scipy", "matplotlib", "pandas", "numpy")
TARGET_S = 1.0

#: name -> arguments of ``v2gsim`` (each must exit 2)
CASES: dict[str, list[str]] = {
    "run_unknown_name": ["run", "tang_mak2025"],
    "run_set_typo": ["run", "--set", "drivers.cont=3"],
    "run_bad_value": ["run", "tiny", "--set", "drivers.count=-1"],
    "compare_unknown_name": ["compare", "tang_mak2025"],
    "sweep_unknown_name": ["sweep", "tang_mak2025"],
    "validate_unknown_name": ["validate", "tang_mak2025"],
}


def _command(argv: list[str]) -> list[str]:
    exe = shutil.which("v2gsim", path=str(Path(sys.executable).parent))
    return [exe, *argv] if exe else [sys.executable, "-m", "v2gsim", *argv]


def _heavy_imports(argv: list[str], cwd: str) -> tuple[int, list[str]]:
    """Exit status of ``main(argv)`` in a fresh interpreter, and the heavy modules it imported."""
    probe = ("import json, sys\nfrom v2gsim.cli import main\n"
             f"rc = main({argv!r})\n"
             f"print('probe:' + json.dumps([rc, [m for m in {HEAVY!r} if m in sys.modules]]))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("probe:"))
    rc, heavy = json.loads(line.removeprefix("probe:"))
    return rc, heavy


def bench_case(name: str, argv: list[str], reps: int) -> dict:
    """Time one case: ``reps`` runs of the console command in a new empty folder."""
    cmd = _command(argv)
    times, first = [], ""
    status = None
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(reps):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            status = out.returncode
            first = (out.stderr.strip() or out.stdout.strip()).splitlines()[0][:200]
        _, heavy = _heavy_imports(argv, cwd)
        left = sorted(os.listdir(cwd))
    return {
        "case": name,
        "command": "v2gsim " + " ".join(argv),
        "exit_status": status,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "fast": statistics.median(times) < TARGET_S,
        "heavy_imports": heavy,
        "first_line": first,
        "files_left": left,
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--case", action="append", choices=sorted(CASES), help="only this case (repeatable)")
    args = p.parse_args(argv)
    names = args.case or list(CASES)
    cases = [bench_case(n, CASES[n], args.reps) for n in names]
    result = {
        "benchmark": "cli_errors",
        "reps": args.reps,
        "target_s": TARGET_S,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "all_fast": all(c["fast"] for c in cases),
        "cases": cases,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

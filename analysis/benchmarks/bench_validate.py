"""Benchmark: ``v2gsim validate scenarios/tiny.toml`` as a user runs it (a fresh interpreter each time).

Prints JSON: median and min wall-clock seconds over ``--reps`` runs of the console command, and the
heavy libraries the command imported (it must import none of cvxpy, mesa, scipy, matplotlib,
pandas). Target: under 1 s on this machine. A progress bar over the runs goes to stderr
(``--quiet`` turns it off).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("cvxpy", "mesa", "scipy", "matplotlib", "pandas", "numpy")
RUNTIME = "Runtime: about 5 s on 2 cores at the defaults (7 runs)."


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "tiny.toml")
    p.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = p.parse_args(argv)
    exe = shutil.which("v2gsim", path=str(Path(sys.executable).parent))
    cmd = [exe, "validate", str(args.scenario)] if exe else [
        sys.executable, "-m", "v2gsim.cli", "validate", str(args.scenario)]
    times = []
    for _ in tqdm(range(args.reps), desc="runs", unit="run", disable=args.quiet):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    probe = (
        "import sys\nfrom v2gsim.cli import main\n"
        f"main(['validate', {str(args.scenario)!r}])\n"
        f"print('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("heavy:"))
    imported = [m for m in line.removeprefix("heavy:").split(",") if m]
    result = {
        "benchmark": "validate_tiny",
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        "reps": args.reps,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "heavy_imports": imported,
        "target_s": 1.0,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

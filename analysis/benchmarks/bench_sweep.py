"""Benchmark of the experiment layer: parallel speed-up and per-task overhead.

Runs R replications of the default scenario (one grid point) with 1 worker and with W workers
(local process pool) and prints one JSON object:

* ``wall_1_s``, ``wall_w_s`` and ``speedup`` (target >= 1.7 for 16 replications on 2 workers);
* ``overhead_fraction``: per-task time spent outside the simulation (scheduling, pickling, Parquet
  writing), ``1 - sum(simulation time) / (workers * wall)`` of the serial run, and the mean write
  time per task (target < 5 % of task time).

The sweep's own progress bar (tasks) goes to stderr (``--quiet`` turns it off). Usage:
``python analysis/benchmarks/bench_sweep.py [--replications 16] [--workers 2] [--days 30]``
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as `import v2gsim` sets it, also when numpy is imported first: the daily belief
# calibration's small SVDs otherwise spin-wait against other processes (several times slower).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from v2gsim.config import load_scenario
from v2gsim.experiments.sweep import SweepSpec, run_sweep

RUNTIME = ("Runtime: about 3 min on 2 cores at the defaults (16 replications of 30 days, on 1 worker "
           "(about 80 s) and on 2).")


def _sim_times(out: Path) -> pd.Series:
    files = sorted((out / "parts").glob("p*/summary.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files])["runtime_s"]


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    p.add_argument("--replications", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--days", type=int, default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = p.parse_args(argv)
    base = load_scenario(None, days=args.days)
    base = base.model_copy(update={"output": base.output.model_copy(
        update={"figures": False, "progress": False})})
    spec = SweepSpec(base=base, grid={}, replications=args.replications)
    result: dict = {"replications": args.replications, "workers": args.workers,
                    "days": base.days, "drivers": base.drivers.count}
    with tempfile.TemporaryDirectory() as tmp:
        walls = {}
        for w in (1, args.workers):
            out = Path(tmp) / f"w{w}"
            t0 = time.perf_counter()
            res = run_sweep(spec, out, workers=w, progress=not args.quiet)
            walls[w] = time.perf_counter() - t0
            assert res.n_done == args.replications, res
            sim = _sim_times(out)
            task = pd.Series(res.task_runtimes_s)
            result[f"wall_{'1' if w == 1 else 'w'}_s"] = round(walls[w], 3)
            if w == 1:
                result["mean_task_s"] = round(float(task.mean()), 4)
                result["mean_simulation_s"] = round(float(sim.mean()), 4)
                result["mean_write_s"] = round(float((task - sim.to_numpy()).mean()), 4)
                result["overhead_fraction"] = round(1.0 - float(sim.sum()) / walls[w], 4)
    result["speedup"] = round(walls[1] / walls[args.workers], 3)
    result["targets"] = {"speedup": 1.7, "overhead_fraction": 0.05}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

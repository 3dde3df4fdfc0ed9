"""Benchmark of the foundation: a default run and fleet-scale sampling + longest paths.

Prints one JSON object:

* ``run_default_s``: wall time of ``v2gsim run`` on the default scenario (200 EVs, 30 days), in
  process, figures included (target < 60 s);
* ``sample_longest_path_median_s``: median of 5 repetitions of sampling utilities and solving the
  longest paths of 100,000 drivers on the default network with the compiled kernel the daily loop
  uses (target < 1 s), beside the numpy reference (``numpy_reference``: sampling / DP split).

Progress (a bar over the run's days, then one over the repetitions) goes to stderr (``--quiet`` turns
it off). Usage: ``python analysis/benchmarks/bench_run.py [--drivers 100000] [--reps 5]``
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

import numpy as np
from tqdm import tqdm

from v2gsim.behavior.compiled import choose_paths
from v2gsim.behavior.sampling import longest_paths, sample_utilities
from v2gsim.config import load_scenario
from v2gsim.core.network import build_network
from v2gsim.experiments.runner import run_to_dir
from v2gsim.specs.build import network_template

RUNTIME = ("Runtime: about 15 s on 2 cores at the defaults (the 30-day default run, about 6 s, and 5 x 2 "
           "samplings of 100,000 drivers).")


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    p.add_argument("--drivers", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--days", type=int, default=None, help="override days of the default run")
    p.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = p.parse_args(argv)

    scen = load_scenario(None, days=args.days)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_to_dir(scen, out=tmp, progress=not args.quiet)
        run_s = time.perf_counter() - t0

    net = build_network(network_template(scen.network))
    rng = np.random.default_rng(0)
    choose_paths((0, 0), net, 1_000)  # numba compiles (or loads its cache) on the first call
    sample_s, dp_s, kernel_s = [], [], []
    for r in tqdm(range(args.reps), desc="repetitions", unit="rep", disable=args.quiet):
        t0 = time.perf_counter()
        choose_paths((r, 1), net, args.drivers)
        kernel_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v = sample_utilities(rng, net, args.drivers, "normal")
        t1 = time.perf_counter()
        longest_paths(net, v)
        t2 = time.perf_counter()
        sample_s.append(t1 - t0)
        dp_s.append(t2 - t1)
        del v
    total = np.array(sample_s) + np.array(dp_s)
    out = {
        "run_default_s": round(run_s, 3),
        "run_default_days": scen.days,
        "run_default_drivers": scen.drivers.count,
        "run_profit": round(res.summary["profit"], 2),
        "network_nodes": net.n_nodes,
        "network_arcs": net.n_arcs,
        "drivers": args.drivers,
        "sample_longest_path_median_s": round(float(np.median(kernel_s)), 4),
        "numpy_reference": {"median_s": round(float(np.median(total)), 4),
                            "sample_median_s": round(float(np.median(sample_s)), 4),
                            "longest_path_median_s": round(float(np.median(dp_s)), 4)},
        "targets": {"run_default_s": 60.0, "sample_longest_path_median_s": 1.0},
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

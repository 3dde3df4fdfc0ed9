"""Benchmark of the scale targets of issue #16 (items 7-10); prints one JSON object.

* ``item7_year_bilevel``: ``--evs`` EVs (10,000) x ``--year-days`` days (365) with the ``bilevel``
  policy re-solved every day and the day's bids scored against the 2-s AGC signal (the default
  scenario's synthetic regulation signal, 43,200 samples a day); wall time (target < 120 s) and its
  split: the daily bilevel solves (``solve_time_s`` of the daily table), the platform's daily belief
  calibration (:meth:`v2gsim.behavior.beliefs.ClusterBeliefs.recalibrate`) and the rest of the day.
* ``item8_sample_paths``: sampling utilities and solving the longest paths of ``--drivers``
  (100,000) drivers on the default network, median of ``--reps`` repetitions (target < 0.1 s):
  the daily loop's compiled kernel (on all threads and on one), beside the numpy reference
  (sampling / DP split) it replaced.
* ``item9_million_day``: ``--million`` EVs (1,000,000) x 1 day of the default scenario in a child
  process; its peak RSS (``resource.getrusage``) and the bytes per EV; the compiled path-choice
  kernel keeps no (arcs x drivers) array (the numpy-sampled ``extremal`` population is drawn in
  chunks of :data:`v2gsim.sim.agents.driver.CHOICE_CHUNK`), so the peak stays bounded (target: it runs
  and stays below the machine's memory; the in-run estimate of :mod:`v2gsim.config.resources` is
  reported beside it).
* ``item10_sweep``: ``--replications`` (16) replications of the default scenario over
  ``--sweep-days`` days with 1 and 2 local workers: speed-up (target >= 1.7) and per-task overhead
  (task time outside the simulation: scenario validation, pickling, Parquet writing).

``--quick`` shrinks every item (hundreds of EVs, a few days) for a smoke test; its values are not
comparable to the targets. Other processes sharing the CPU slow items 7 and 10 down: the JSON
records the load average before and after. Progress goes to stderr: a bar over the items, each
finished item's JSON, and the bars of item 7's days and item 10's sweeps (``--quiet`` turns it off).

Usage: ``python analysis/benchmarks/bench_scale.py [--quick] [--skip year,million,...]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

TARGETS = {"year_bilevel_wall_s": 120.0, "sample_paths_median_s": 0.1,
           "million_day_peak_rss_gb": None, "sweep_speedup": 1.7}
ITEMS = ("year", "paths", "million", "sweep")
RUNTIME = ("Runtime: about 2.5 min on 2 cores at the defaults (item 7, 10,000 EVs x 365 days: about "
           "75 s; item 10: about 45 s; item 9: about 15 s).")


def _scenario(drivers: int, days: int, policy: str | None = None, seed: int = 0):
    from v2gsim.config import load_scenario

    sets = [f"drivers.count={drivers}", "output.figures=false", "output.progress=false"]
    if policy:
        sets.append(f'platform.policy="{policy}"')
    return load_scenario(None, sets, days=days, seed=seed)


def _time_calls(cls: type, name: str) -> dict:
    """Wrap ``cls.name`` to add up its wall time; the dict holds ``total_s``, ``calls``, ``original``."""
    acc: dict = {"total_s": 0.0, "calls": 0, "original": getattr(cls, name)}
    original = acc["original"]

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            acc["total_s"] += time.perf_counter() - t0
            acc["calls"] += 1

    setattr(cls, name, timed)
    return acc


def bench_year(evs: int, days: int, progress: bool = False) -> dict:
    """Item 7: one run with the bilevel policy; wall time and the solve / calibration / rest split.

    ``progress``: the run's bar over its days (stderr).
    """
    from v2gsim.behavior import beliefs
    from v2gsim.experiments.runner import run_scenario

    scen = _scenario(evs, days, "bilevel")
    calib = _time_calls(beliefs.ClusterBeliefs, "recalibrate")
    t0 = time.perf_counter()
    try:
        res = run_scenario(scen, progress=progress)
    finally:
        wall = time.perf_counter() - t0
        beliefs.ClusterBeliefs.recalibrate = calib.pop("original")
    solve = res.daily["solve_time_s"].to_numpy(dtype=float)
    return {"evs": evs, "days": days, "wall_s": round(wall, 2),
            "simulation_s": round(float(res.summary["runtime_s"]), 2),
            "solve_total_s": round(float(solve.sum()), 2),
            "solve_median_s": round(float(np.median(solve)), 4),
            "belief_calibration_total_s": round(calib["total_s"], 2),
            "belief_calibrations": calib["calls"],
            "beliefs": scen.platform.beliefs, "recalibrate_every_days": scen.platform.recalibrate_every,
            "rest_total_s": round(wall - float(solve.sum()) - calib["total_s"], 2),
            "rest_per_day_s": round((wall - float(solve.sum()) - calib["total_s"]) / days, 4),
            "policy_status": res.daily["policy_status"].value_counts().to_dict(),
            "target_s": TARGETS["year_bilevel_wall_s"],
            "meets_target": bool(wall < TARGETS["year_bilevel_wall_s"])}


def bench_paths(drivers: int, reps: int) -> dict:
    """Item 8: sampling + longest paths of ``drivers`` drivers on the default network.

    Times :meth:`v2gsim.sim.agents.driver.DriverGroup.choose` (what the daily loop calls: the compiled
    kernel of :mod:`v2gsim.behavior.compiled`, on :func:`~v2gsim.behavior.compiled.kernel_threads`
    threads), the same kernel on one thread, and the numpy reference (``sample_utilities`` then
    ``longest_paths``) that the kernel replaced. The first call (numba's compilation, or loading
    its cache) is reported separately.
    """
    from v2gsim.behavior.compiled import choose_paths, kernel_threads
    from v2gsim.behavior.sampling import longest_paths, sample_utilities
    from v2gsim.config import load_scenario
    from v2gsim.core.network import build_network
    from v2gsim.sim.agents.driver import DriverGroup
    from v2gsim.specs.build import network_template

    net = build_network(network_template(load_scenario(None).network))
    group = DriverGroup(0, "all", 1.0, net, np.arange(drivers))
    rng = np.random.default_rng(0)
    rebate = np.zeros(net.hours)
    t0 = time.perf_counter()
    group.choose(rng, rebate, "normal")
    first = time.perf_counter() - t0
    loop_s, one_s, sample_s, dp_s = [], [], [], []
    for r in range(reps):
        t0 = time.perf_counter()
        group.choose(rng, rebate, "normal")
        loop_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        choose_paths((r, 1), net, drivers, "normal", threads=1)
        one_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v = sample_utilities(rng, net, drivers, "normal")
        t1 = time.perf_counter()
        longest_paths(net, v)
        sample_s.append(t1 - t0)
        dp_s.append(time.perf_counter() - t1)
        del v
    total = float(np.median(loop_s))
    med = lambda x: round(float(np.median(x)), 4)  # noqa: E731
    return {"drivers": drivers, "reps": reps, "network_arcs": net.n_arcs, "network_nodes": net.n_nodes,
            "median_s": round(total, 4), "threads": kernel_threads(), "median_1_thread_s": med(one_s),
            "first_call_s": round(first, 3),
            "numpy_reference": {"sample_median_s": med(sample_s), "longest_path_median_s": med(dp_s),
                                "median_s": med(np.add(sample_s, dp_s))},
            "target_s": TARGETS["sample_paths_median_s"],
            "meets_target": bool(total < TARGETS["sample_paths_median_s"])}


def _million_child(evs: int) -> None:
    """Child process of item 9: one day, then print the run time and peak RSS as JSON."""
    from v2gsim.config.resources import estimate_memory
    from v2gsim.experiments.runner import run_scenario
    from v2gsim.sim.agents.driver import CHOICE_CHUNK

    scen = _scenario(evs, 1)
    t0 = time.perf_counter()
    res = run_scenario(scen, progress=False)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB
    est = estimate_memory(scen)
    print(json.dumps({"evs": evs, "days": 1, "wall_s": round(wall, 2), "chunk_drivers": CHOICE_CHUNK,
                      "peak_rss_gb": round(rss / 1e9, 3), "bytes_per_ev": round(rss / evs, 1),
                      "estimated_peak_gb": round(est.total / 1e9, 3),
                      "plugged_ev_hours": float(res.hourly["plugged"].sum())
                      if "plugged" in res.hourly else None}))


def bench_million(evs: int) -> dict:
    """Item 9: run the child, parse its JSON."""
    from v2gsim.config.resources import memory_limit

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, __file__, "--million-child", str(evs)], env=env,
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    limit = memory_limit()
    res["machine_memory_gb"] = round(limit / 1e9, 1)
    res["target"] = "runs, peak RSS below the machine's memory (no (arcs x drivers) array; extremal: chunked)"
    res["meets_target"] = bool(res["peak_rss_gb"] * 1e9 < limit)
    return res


def bench_sweep(replications: int, days: int, progress: bool = False) -> dict:
    """Item 10: the same sweep with 1 and 2 local workers (``progress``: the sweeps' bars, stderr)."""
    from v2gsim.experiments.sweep import SweepSpec, run_sweep

    spec = SweepSpec(base=_scenario(200, days), grid={}, replications=replications)
    out: dict = {"replications": replications, "days": days, "drivers": 200}
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in (1, 2):
            d = Path(tmp) / f"w{w}"
            t0 = time.perf_counter()
            res = run_sweep(spec, d, workers=w, progress=progress)
            walls[w] = time.perf_counter() - t0
            if res.n_done != replications:
                raise RuntimeError(f"sweep with {w} workers finished {res.n_done}/{replications}")
            sim = pd.concat([pd.read_parquet(f) for f in sorted((d / "parts").glob("p*/summary.parquet"))])
            task = np.asarray(res.task_runtimes_s, dtype=float)
            out[f"wall_{w}_workers_s"] = round(walls[w], 3)
            out[f"mean_task_{w}_workers_s"] = round(float(task.mean()), 4)
            if w == 1:
                simulation = sim["runtime_s"].to_numpy(dtype=float)
                out["mean_simulation_s"] = round(float(simulation.mean()), 4)
                out["per_task_overhead_s"] = round(float(task.mean() - simulation.mean()), 4)
                out["per_task_overhead_fraction"] = round(float(1 - simulation.sum() / task.sum()), 4)
                out["outside_tasks_s"] = round(float(walls[1] - task.sum()), 3)
    out["speedup"] = round(walls[1] / walls[2], 3)
    out["target"] = TARGETS["sweep_speedup"]
    out["meets_target"] = bool(out["speedup"] >= TARGETS["sweep_speedup"])
    return out


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the selected items and print their JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    p.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    p.add_argument("--skip", default="", help=f"comma-separated items to skip: {','.join(ITEMS)}")
    p.add_argument("--evs", type=int, default=10_000)
    p.add_argument("--year-days", type=int, default=365)
    p.add_argument("--drivers", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--million", type=int, default=1_000_000)
    p.add_argument("--replications", type=int, default=16)
    p.add_argument("--sweep-days", type=int, default=10)
    p.add_argument("--million-child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.million_child is not None:
        _million_child(args.million_child)
        return {}
    if args.quick:
        args.evs, args.year_days, args.drivers, args.reps = 300, 2, 5_000, 3
        args.million, args.replications, args.sweep_days = 3_000, 2, 1
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(ITEMS):
        p.error(f"--skip: unknown items {sorted(skip - set(ITEMS))}; allowed: {', '.join(ITEMS)}")
    out: dict = {"quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
                 "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    show = not args.quiet
    runs = {"paths": ("item8_sample_paths", lambda: bench_paths(args.drivers, args.reps)),
            "million": ("item9_million_day", lambda: bench_million(args.million)),
            "sweep": ("item10_sweep", lambda: bench_sweep(args.replications, args.sweep_days, show)),
            "year": ("item7_year_bilevel", lambda: bench_year(args.evs, args.year_days, show))}
    bar = tqdm([i for i in runs if i not in skip], desc="items", unit="item", disable=args.quiet)
    for item in bar:
        key, run = runs[item]
        bar.set_postfix_str(key)
        out[key] = run()
        if show:
            bar.write(json.dumps({key: out[key]}), file=sys.stderr)  # progress
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.quick:  # smoke-test sizes: the targets do not apply
        for item in out.values():
            if isinstance(item, dict) and "meets_target" in item:
                item["meets_target"] = None
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

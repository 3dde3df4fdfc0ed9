"""Benchmark of the seed-004 robust plan (models.md §5): reduced-problem grid, full LP build and
per-day re-solve, and the 1,000-realization robustness check.

Prints one JSON object: closed form vs LP seconds per price point (reduced problem), the full LP's
size, build time and median per-day re-solve time for a site of ``--evs`` vehicles over 96 slots
of 15 minutes (FC and PC), and the time of ``check_plan`` on 1,000 realizations.

A progress bar over the steps goes to stderr (``--quiet`` turns it off). Usage:
``python analysis/benchmarks/bench_robust.py [--evs 10] [--days 5]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from tqdm import tqdm

RUNTIME = "Runtime: about 5 s on 2 cores at the defaults."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    from v2gsim.config import load_scenario
    from v2gsim.optimize.robust import (
        RobustPlanner,
        check_plan,
        profitability,
        profitability_lp,
        sample_realizations,
    )
    from v2gsim.studies.robust import scenario_day

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    ap.add_argument("--evs", type=int, default=10)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = ap.parse_args(argv)
    # the two reduced-problem methods, then per business model its days and the 1,000-realization check
    bar = tqdm(total=2 + 2 * (args.days + 1), desc="steps", unit="step", disable=args.quiet)
    out: dict = {"python": platform.python_version(), "evs": args.evs, "days": args.days}
    kw = dict(c_plus=0.1, c_minus=0.08, c_up=0.3, c_down=0.05, pi_up=0.2, pi_down=0.3, e_req=10.0,
              e_room=40.0, c_ch=0.15)
    for name, fn in (("closed_form", profitability), ("lp", profitability_lp)):
        fn("PC", **kw)
        t = time.perf_counter()
        for _ in range(200):
            fn("PC", **kw)
        out[f"reduced_{name}_s_per_point"] = (time.perf_counter() - t) / 200
        bar.update()
    scenario = load_scenario("bianchi2023_parking",
                             [f"sessions.n_evs={args.evs}", f"drivers.count={args.evs}"])
    for business in ("FC", "PC"):
        days = [scenario_day(scenario, d) for d in range(args.days)]
        days = [replace(s, spec=replace(s.spec, business=business)) for s in days]
        t = time.perf_counter()
        planner = RobustPlanner(days[0].fleet, business)
        build = time.perf_counter() - t
        solves = []
        for s in days:
            t = time.perf_counter()
            plan = planner.solve(s.fleet, s.prices)
            solves.append(time.perf_counter() - t)
            bar.update()
        real = sample_realizations(days[-1].fleet, 1000, np.random.default_rng(0))
        t = time.perf_counter()
        viol = check_plan(plan, days[-1].fleet, real)["any"]
        out[business] = {"rows": planner.n_rows, "cols": planner.n_cols, "build_s": build,
                         "median_day_solve_s": statistics.median(solves),
                         "check_1000_s": time.perf_counter() - t,
                         "violations_inside": viol}
        bar.update()
    bar.close()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

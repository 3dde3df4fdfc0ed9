"""Benchmark of the planning policies' daily loop (issue #32): a 30-day ``v2a`` run of a 200-EV fleet
and a 30-day ``robust`` run of the parking lot, each under 60 s.

Cases (``--cases``, comma-separated; default both):

* ``v2a_200``: ``mao2018_household`` with ``platform.policy = "v2a"`` and ``drivers.count = 200``
  (the scenario's own ``platform.beliefs = "scenario"``: no daily belief re-calibration);
* ``robust_parking``: ``bianchi2023_parking`` as shipped (10 EVs, 15-minute slots, policy ``robust``).

For each case and repetition it times, in process, loading the scenario and building the model
(``build_s``) and every ``model.step()`` until ``model.running`` is False; ``wall_s`` is the sum, the
median over ``--repeat`` repetitions (``wall_s_min`` beside it), and ``passed`` is ``wall_s < 60``.
Per-day times are the mean and max over every simulated day of every repetition; ``cpu_s`` is the
process CPU time of the run (close to ``wall_s`` on free cores). ``totals`` are the plan-vs-outcome
sums of the daily table (``schedule_deviation_kwh``, ``departure_shortfall_kwh``, the robust plan's
``planned_cost`` / ``realized_cost`` / ``reserve_requested_kwh`` / ``reserve_delivered_kwh``, the v2a
sites' planned / realized cost and unmet energy, where present; NaN days skipped) and the policy's
solve time; ``totals_repeatable`` says every repetition gave the same totals. The load average
before and after is recorded. Prints one JSON object.

Progress (a bar over the simulated days of every case and repetition) goes to stderr (``--quiet``
turns it off); HiGHS's debug line (:func:`v2gsim.core.solvers.highs.silenced_c_stdout`) is kept off
stdout. Usage: ``python analysis/benchmarks/bench_plans.py [--days 30] [--cases v2a_200] [--repeat 1]``.
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as `import v2gsim` sets it, also when numpy is imported first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import math
import platform
import statistics
import time
from collections.abc import Sequence

from tqdm import tqdm

RUNTIME = ("Runtime: about 13 s on 2 cores at the defaults (30 days each: v2a_200 about 8 s, robust_parking "
           "about 4 s); --repeat 3 about 40 s.")
TARGET_S = 60.0

#: case name -> (shipped scenario, ``--set`` overrides).
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "v2a_200": ("mao2018_household", ("platform.policy='v2a'", "drivers.count=200")),
    "robust_parking": ("bianchi2023_parking", ()),
}

#: daily-table columns summed into ``totals`` when the case's table has them.
TOTAL_COLUMNS = (
    "schedule_deviation_kwh", "departure_shortfall_kwh",
    "planned_cost", "realized_cost", "reserve_requested_kwh", "reserve_delivered_kwh",
    "robust_plan_cost", "robust_violations", "robust_sessions_outside",
    "v2a_planned_cost", "v2a_realized_cost", "v2a_planned_unmet_kwh", "v2a_realized_unmet_kwh",
    "v2a_soc_violations",
)
#: the policy's own solve-time column (summed into ``policy_solve_s``).
SOLVE_COLUMNS = {"v2a": "v2a_solve_s", "robust": "solve_time_s"}


def parse_cases(text: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``, every name one of :data:`CASES`."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in names if c not in CASES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown case(s) {bad or text!r}; known: {', '.join(CASES)}")
    return names


def run_case(name: str, days: int, bar: tqdm) -> dict:
    """Load, build and step one case; its timings, daily-table totals and sizes."""
    from v2gsim import load_scenario
    from v2gsim.core.solvers.highs import silenced_c_stdout
    from v2gsim.sim.model import V2GMarketModel

    scenario, overrides = CASES[name]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    with silenced_c_stdout():
        sc = load_scenario(scenario, list(overrides), days=days)
        model = V2GMarketModel(sc)
        build_s = time.perf_counter() - t0
        day_s = []
        while model.running:
            t = time.perf_counter()
            model.step()
            day_s.append(time.perf_counter() - t)
            bar.update()
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    daily = model.daily_table()
    totals = {c: round(float(daily[c].sum()), 4) for c in TOTAL_COLUMNS if c in daily.columns}
    solve_col = SOLVE_COLUMNS.get(sc.platform.policy)
    solve_s = float(daily[solve_col].sum()) if solve_col in daily.columns else math.nan
    return {"scenario": scenario, "overrides": list(overrides), "policy": sc.platform.policy,
            "drivers": sc.drivers.count, "days": len(day_s), "build_s": build_s, "wall_s": wall_s,
            "cpu_s": cpu_s, "day_s": day_s, "policy_solve_s": solve_s, "totals": totals}


def summarize(runs: list[dict]) -> dict:
    """One case's repetitions -> its JSON entry (medians, min, per-day mean and max)."""
    walls = [r["wall_s"] for r in runs]
    day_s = [d for r in runs for d in r["day_s"]]
    wall = statistics.median(walls)
    first = runs[0]
    return {
        "scenario": first["scenario"], "overrides": first["overrides"], "policy": first["policy"],
        "drivers": first["drivers"], "days": first["days"], "repeat": len(runs),
        "wall_s": round(wall, 3), "wall_s_min": round(min(walls), 3),
        "wall_s_median": round(wall, 3), "wall_s_runs": [round(w, 3) for w in walls],
        "build_s": round(statistics.median(r["build_s"] for r in runs), 4),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
        "day_s_mean": round(statistics.fmean(day_s), 4), "day_s_max": round(max(day_s), 4),
        "policy_solve_s": round(statistics.median(r["policy_solve_s"] for r in runs), 3),
        "totals": first["totals"],
        "totals_repeatable": all(r["totals"] == first["totals"] for r in runs),
        "target_s": TARGET_S, "passed": wall < TARGET_S,
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    ap.add_argument("--days", type=int, default=30, help="simulated days per case (default 30)")
    ap.add_argument("--cases", type=parse_cases, default=list(CASES),
                    help=f"comma-separated subset of {','.join(CASES)} (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="repetitions per case; min and median reported")
    ap.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = ap.parse_args(argv)
    if args.days < 1 or args.repeat < 1:
        ap.error("--days and --repeat must be at least 1")

    out: dict = {"python": platform.python_version(), "platform": platform.platform(),
                 "cpus": os.cpu_count(), "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                 "days": args.days, "repeat": args.repeat, "target_s": TARGET_S,
                 "load_average_before": [round(x, 2) for x in os.getloadavg()], "cases": {}}
    total = len(args.cases) * args.repeat * args.days
    with tqdm(total=total, desc="days", unit="day", disable=args.quiet) as bar:
        for name in args.cases:
            runs = []
            for _ in range(args.repeat):
                bar.set_postfix_str(name)
                runs.append(run_case(name, args.days, bar))
            out["cases"][name] = summarize(runs)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["passed"] = all(c["passed"] for c in out["cases"].values())
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

"""Benchmark of policy ``v2a`` (seed 002 sites in the daily loop, issue #12).

A 30-day run of ``mao2018_household`` with ``platform.policy = "v2a"`` on a 200-EV fleet (the
households by the vectorized DP, work and other sites by one MILP each per day), plus one site-day
solve of each shipped seed-002 scenario. ``platform.beliefs = "scenario"``: ``v2a`` does not read the
platform's driver model, so the daily re-calibration is skipped. Prints one JSON object.

Progress (a bar over the run's days, then one over the site-days) goes to stderr (``--quiet`` turns
it off); HiGHS's debug line (:func:`v2gsim.core.solvers.highs.silenced_c_stdout`) is kept off stdout.
Usage: ``python analysis/benchmarks/bench_v2a.py [--days 30] [--drivers 200]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence

from tqdm import tqdm

from v2gsim import load_scenario
from v2gsim.core.solvers.highs import silenced_c_stdout
from v2gsim.sim.model import V2GMarketModel
from v2gsim.studies.v2a import site_day

RUNTIME = "Runtime: about 20 s on 2 cores at the defaults (30 days, 200 EVs)."
SITES = ("mao2018_household", "mao2018_building", "mao2018_station")


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--drivers", type=int, default=200)
    ap.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = ap.parse_args(argv)
    sc = load_scenario("mao2018_household", ["platform.policy='v2a'", f"drivers.count={args.drivers}",
                                             "platform.beliefs='scenario'", "output.figures=false",
                                             "output.progress=false"], days=args.days)
    t0 = time.perf_counter()
    with tqdm(total=args.days, desc="days", unit="day", disable=args.quiet) as bar, silenced_c_stdout():
        model = V2GMarketModel(sc)
        while model.running:
            model.step()
            bar.update()
    run_s = time.perf_counter() - t0
    daily = model.daily_table()
    out = {
        "platform": platform.platform(), "days": args.days, "drivers": args.drivers,
        "run_s": round(run_s, 3), "target_s": 60.0, "within_target": run_s < 60.0,
        "v2a_solve_s_total": round(float(daily["v2a_solve_s"].sum()), 3),
        "v2a_solve_s_max_day": round(float(daily["v2a_solve_s"].max()), 3),
        "planned_cost_total": round(float(daily["v2a_planned_cost"].sum()), 3),
        "realized_cost_total": round(float(daily["v2a_realized_cost"].sum()), 3),
        "planned_unmet_kwh_total": round(float(daily["v2a_planned_unmet_kwh"].sum()), 3),
        "realized_unmet_kwh_total": round(float(daily["v2a_realized_unmet_kwh"].sum()), 3),
        "site_day_s": {},
    }
    for name in tqdm(SITES, desc="site-days", unit="site", disable=args.quiet):
        t1 = time.perf_counter()
        with silenced_c_stdout():
            site_day(load_scenario(name))
        out["site_day_s"][name] = round(time.perf_counter() - t1, 3)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

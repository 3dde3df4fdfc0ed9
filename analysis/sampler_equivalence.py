"""The compiled sampler against the numpy reference in the daily loop (issue #16, item 8).

``drivers.sampler = "compiled"`` (the default: every driver's own Philox stream, drawn and solved
in a numba kernel) and ``"numpy"`` (numpy's generator and the vectorized DP, the tables before
issue #16) simulate the same model with different random draws, so one seed gives different
numbers but the distributions must agree. This study runs ``--replications`` seeds of a scenario
with each sampler and compares, per run summary metric, the two means with a Welch t-test
(two-sided p-value) and the 95 % confidence interval of the difference; and, pooled over every
(run, day, hour), the mean plugged-in count per hour of the day.

Prints one JSON object; a progress bar over the runs of each sampler goes to stderr (``--quiet``
turns it off). Usage:
``python analysis/sampler_equivalence.py [--scenario default] [--days 30] [--replications 8]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np
from scipy import stats
from tqdm import tqdm

from v2gsim import load_scenario, run_scenario

METRICS = ("profit", "mean_plugged", "mean_bid_kw", "mean_performance_score",
           "share_bid_hours_below_target", "min_soc", "rebates_paid")
SAMPLERS = ("compiled", "numpy")
RUNTIME = "Runtime: about 1.5 min on 2 cores at the defaults (2 samplers x 8 seeds x 30 days)."


def _runs(scenario: str | None, sampler: str, days: int, seeds: Sequence[int], sets: Sequence[str],
          progress: bool) -> tuple[dict[str, list[float]], np.ndarray]:
    """Summary metrics per seed and the (runs, hours) mean plugged-in count per hour of the day."""
    metrics: dict[str, list[float]] = {m: [] for m in METRICS}
    hourly = []
    for seed in tqdm(seeds, desc=sampler, disable=not progress, leave=False):
        scen = load_scenario(scenario, [*sets, f'drivers.sampler="{sampler}"', "output.figures=false"],
                             days=days, seed=seed)
        res = run_scenario(scen, progress=False)
        for m in METRICS:
            metrics[m].append(float(res.summary[m]))
        hourly.append(res.hourly.groupby("hour")["plugged"].mean().to_numpy(dtype=float))
    return metrics, np.array(hourly)


def _compare(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch comparison of two samples: means, difference with its 95 % CI, p-value."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return {"compiled_mean": float(a.mean()), "numpy_mean": float(b.mean()), "difference": diff,
                "ci95": [diff, diff], "p_value": 1.0 if diff == 0 else 0.0}
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, dof) * se)
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return {"compiled_mean": round(float(a.mean()), 6), "numpy_mean": round(float(b.mean()), 6),
            "difference": round(diff, 6), "ci95": [round(diff - half, 6), round(diff + half, 6)],
            "p_value": round(p, 4)}


def main(argv: Sequence[str] | None = None) -> dict:
    """CLI entry point (see the module docstring); returns the printed JSON as a dict."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    p.add_argument("--scenario", default=None, help="scenario name or file (default: default)")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--replications", type=int, default=8, help="seeds per sampler (>= 2)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = p.parse_args(argv)
    if args.replications < 2:
        p.error("--replications must be at least 2 (a t-test needs two runs per sampler)")
    seeds = list(range(args.first_seed, args.first_seed + args.replications))
    runs = {s: _runs(args.scenario, s, args.days, seeds, args.sets, not args.quiet) for s in SAMPLERS}
    (mc, hc), (mn, hn) = runs["compiled"], runs["numpy"]
    per_hour = hc.mean(axis=0) - hn.mean(axis=0)
    se_hour = np.sqrt(hc.var(axis=0, ddof=1) / len(seeds) + hn.var(axis=0, ddof=1) / len(seeds))
    out = {"scenario": args.scenario or "default", "days": args.days, "seeds": seeds, "sets": args.sets,
           "metrics": {m: _compare(mc[m], mn[m]) for m in METRICS},
           "plugged_by_hour": {
               "max_abs_difference": round(float(np.abs(per_hour).max()), 4),
               "max_abs_z": round(float(np.max(np.abs(per_hour) / np.maximum(se_hour, 1e-12))), 3),
               "mean_plugged_compiled": round(float(hc.mean()), 4),
               "mean_plugged_numpy": round(float(hn.mean()), 4)}}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)

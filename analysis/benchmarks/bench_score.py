"""Benchmark of PJM's composite performance score, and how it compares with the mileage ratio.

Prints one JSON object:

* ``score_one_day``: first and median wall time over ``--repeats`` of
  :func:`v2gsim.market.agc.performance.composite_score` on one day (24 hours x 1800 samples of
  2 s) of a fleet following with a 40-s lag and a power cap (target: well under 0.1 s per day);
* ``followers``: composite (with its components) and mileage ratio of hand-made followers of the
  real RegD day (perfect, 2-min delay, half amplitude, capped at 0.5 per-unit, uniform noise);
* ``fleet_*``: days 1 to ``--days - 1`` (day 0 has no bid) of the default scenario (200 EVs, naive
  policy) on its synthetic AGC and on the real PJM RegD day of 2020-07-16 (replayed every day), as
  shipped (bid fraction 0.5) and stressed (``platform.naive.bid_fraction = 1``), each run once with
  ``[market] score = "mileage_ratio"`` and once with ``"pjm_composite"`` (threshold 0.40): how
  many hours with a bid both scores put at 1, at 0, or in between ("partial"), the two scores and
  the components over the partial hours, the hours forfeited by the threshold, and the credits.

A progress bar over the fleet runs goes to stderr (``--quiet`` turns it off). Usage:
``python analysis/benchmarks/bench_score.py [--repeats 7] [--data-dir ../shared/data]``
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as `import v2gsim` sets it, also when numpy is imported first: the daily belief
# calibration's small SVDs otherwise spin-wait against other processes (several times slower).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from v2gsim.config import load_scenario
from v2gsim.experiments.runner import run_scenario
from v2gsim.market.agc import follow_signal, read_pjm_regd, synthetic_regd
from v2gsim.market.agc.mileage import abs_steps
from v2gsim.market.agc.performance import composite_score

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REGD_DAY = Path("pjm_regd_2s_2020-07") / "regd_2s_2020-07-16.csv"
RUNTIME = "Runtime: about 20 s on 2 cores at the defaults (8 fleet runs of 8 days)."


def _r(x: float) -> float:
    return round(float(x), 4)


def _mileage_ratio(s: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """``Σ min(|Δρ|, |Δs|) / Σ |Δs|`` per hour (the seed's score, per-unit)."""
    ds = abs_steps(s)
    return np.minimum(abs_steps(resp), ds).sum(axis=1) / ds.sum(axis=1)


def _time_day(repeats: int) -> dict[str, Any]:
    s = synthetic_regd(np.random.default_rng(0), days=1).reshape(24, 1800)
    lagged = np.concatenate([s[:, :1].repeat(20, axis=1), s[:, :-20]], axis=1)
    resp = np.clip(lagged, -0.8, 0.8)
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cs = composite_score(s, resp)
        walls.append(time.perf_counter() - t0)
    return {"hours": 24, "samples_per_hour": 1800, "first_s": _r(walls[0]),
            "median_s": _r(statistics.median(walls)), "mean_composite": _r(cs.composite.mean())}


def _followers(s: np.ndarray) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    cases = {
        "perfect": s,
        "delay_2min": np.concatenate([s[:, :1].repeat(60, axis=1), s[:, :-60]], axis=1),
        "half_amplitude": 0.5 * s,
        "capped_0.5": np.clip(s, -0.5, 0.5),
        "uniform_noise": rng.uniform(-1, 1, size=s.shape),
    }
    out = {}
    for name, resp in cases.items():
        cs = composite_score(s, resp)
        out[name] = {"composite": _r(cs.composite.mean()), "accuracy": _r(cs.accuracy.mean()),
                     "delay": _r(cs.delay.mean()), "precision": _r(cs.precision.mean()),
                     "mileage_ratio": _r(_mileage_ratio(s, resp).mean())}
    return out


def _fleet_days(overrides: list[str], days: int, bar: tqdm | None = None) -> dict[str, Any]:
    """Both scores of the default scenario (with ``overrides``) over days 1 .. days-1.

    ``bar`` advances by one per run (two runs).
    """
    runs = {}
    for score in ("mileage_ratio", "pjm_composite"):
        sc = load_scenario(None, [*overrides, f'market.score="{score}"'], days=days)
        h = run_scenario(sc, progress=False).hourly
        runs[score] = h[h["day"] >= 1]  # day 0 has no bid (the naive policy has no history yet)
        if bar is not None:
            bar.update()
    ratio_h, comp_h = runs["mileage_ratio"], runs["pjm_composite"]
    bid = (comp_h["bid_kw"] > 0).to_numpy()
    ratio = ratio_h["score"].to_numpy()[bid]
    comp = comp_h["score"].to_numpy()[bid]
    one, zero = (ratio == 1) & (comp == 1), (ratio == 0) & (comp == 0)
    part = ~(one | zero)

    def credit(h: pd.DataFrame) -> float:
        return _r((h["capability_credit"] + h["performance_credit"]).sum())

    out: dict[str, Any] = {
        "days": f"1-{days - 1}", "hours_with_bid": int(bid.sum()),
        "hours_both_1": int(one.sum()), "hours_both_0": int(zero.sum()),
        "hours_partial": int(part.sum()),
        "forfeited_by_threshold": int(((comp > 0) & (comp < 0.40)).sum()),
        "credit_usd": {"mileage_ratio": credit(ratio_h), "pjm_composite": credit(comp_h)},
    }
    if part.any():
        parts = {c: _r(comp_h[c].to_numpy()[bid][part].mean())
                 for c in ("accuracy", "delay", "precision")}
        out["partial_hours"] = {
            "mileage_ratio_mean": _r(ratio[part].mean()), "composite_mean": _r(comp[part].mean()),
            **parts, "composite_minus_ratio_min": _r((comp - ratio)[part].min()),
            "composite_minus_ratio_max": _r((comp - ratio)[part].max()),
        }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its JSON object and return it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--repeats", type=int, default=7, help="repetitions of the timing (>= 1)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--days", type=int, default=8, help="days of each fleet run (>= 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.days < 2:
        parser.error("--repeats must be >= 1 and --days >= 2")
    out: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                           "score_one_day": _time_day(args.repeats)}
    regd = args.data_dir / REGD_DAY
    if regd.exists():
        s = read_pjm_regd(regd).reshape(24, 1800)
        out["followers"] = _followers(s)
        fr = follow_signal(s, 1.0, 0.5, 0.5, np.inf, np.inf)
        out["followers"]["capped_0.5"]["follow_signal_ratio"] = _r(np.mean(fr.score))
    else:
        out["followers"] = {"skipped": f"missing {regd}"}
    real = ['market.agc="pjm_regd"', f"market.agc_files=[{json.dumps(str(regd))}]"]
    stressed = ["platform.naive.bid_fraction=1.0"]
    with tqdm(total=8 if regd.exists() else 4, desc="fleet runs", unit="run", disable=args.quiet) as bar:
        out["fleet_synthetic"] = _fleet_days([], args.days, bar)
        out["fleet_synthetic_bid_fraction_1"] = _fleet_days(stressed, args.days, bar)
        if regd.exists():
            out["fleet_regd_2020-07-16"] = _fleet_days(real, args.days, bar)
            out["fleet_regd_2020-07-16_bid_fraction_1"] = _fleet_days(real + stressed, args.days, bar)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

"""Benchmark of the market modules (AGC signal, signal following, price reading).

Prints one JSON object with, for each case, the first and the median wall time over ``--repeats``
repetitions (seconds) and the CPU time of the median run:

* ``synthetic_regd_30d``: :func:`v2gsim.market.agc.synthetic_regd` for 30 days at 2 s
  (1 296 000 samples, 15-min neutrality, mileage calibrated to 25 per hour);
* ``follow_signal_24x1800``: :func:`v2gsim.market.agc.follow_signal` for 24 hours × 1800 samples,
  once with loose limits (no hour energy-limited) and once with tight energy limits (every hour goes
  through the exact saturating-integrator fallback);
* ``read_prices_2016``: :func:`v2gsim.market.prices.read_pjm_regulation_prices` on the 2016 mileage
  file joined with its price file (skipped, with a note, when ``../shared/data`` is absent).

A progress bar over the repetitions goes to stderr (``--quiet`` turns it off). Usage:
``python analysis/benchmarks/bench_market.py [--repeats 5] [--data-dir ../shared/data]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from v2gsim.market.agc import follow_signal, hourly_mileage, synthetic_regd
from v2gsim.market.prices import read_pjm_regulation_prices

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PRICE_FILE = Path("pjm_reg_market_2016") / "reg_market_results_2016.csv"
RUNTIME = "Runtime: about 5 s on 2 cores at the defaults."


def _time(fn: Callable[[], Any], repeats: int, bar: tqdm | None = None) -> tuple[dict[str, float], Any]:
    """Run ``fn`` ``repeats`` times; return first/median wall time, median CPU time and a result.

    ``bar`` advances by one after each repetition (outside the timed span).
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if bar is not None:
            bar.update()
    stats = {
        "first_s": round(walls[0], 4),
        "median_s": round(statistics.median(walls), 4),
        "median_cpu_s": round(statistics.median(cpus), 4),
    }
    return stats, result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its JSON object and return it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per case (>= 1)")
    parser.add_argument("--days", type=int, default=30, help="days of synthetic RegD")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    out: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "repeats": args.repeats,
    }

    price_path = args.data_dir / PRICE_FILE
    bar = tqdm(total=args.repeats * (4 if price_path.exists() else 3), desc="repetitions", unit="run",
               disable=args.quiet)
    seeds = iter(range(10**6))
    synth, signal = _time(
        lambda: synthetic_regd(np.random.default_rng(next(seeds)), days=args.days), args.repeats, bar
    )
    synth["days"] = args.days
    synth["mean_hourly_mileage"] = round(float(hourly_mileage(signal).mean()), 3)
    out[f"synthetic_regd_{args.days}d"] = synth

    day = signal[: 24 * 1800].reshape(24, 1800)
    bid = np.full(24, 1000.0)
    loose, res = _time(
        lambda: follow_signal(day, bid, 1000.0, 1000.0, np.inf, np.inf), args.repeats, bar
    )
    loose["energy_limited_hours"] = int(res.energy_limited.sum())
    tight, res = _time(lambda: follow_signal(day, bid, 800.0, 800.0, 3.0, 3.0), args.repeats, bar)
    tight["energy_limited_hours"] = int(res.energy_limited.sum())
    tight["mean_score"] = round(float(np.nanmean(res.score)), 4)
    out["follow_signal_24x1800"] = {"loose_limits": loose, "tight_energy_limits": tight}

    if price_path.exists():
        prices, df = _time(lambda: read_pjm_regulation_prices(price_path), args.repeats, bar)
        prices["rows"] = len(df)
        out["read_prices_2016"] = prices
    else:
        out["read_prices_2016"] = {"skipped": f"missing {price_path}"}
    bar.close()

    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

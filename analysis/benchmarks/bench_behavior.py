"""Benchmark of the driver-behaviour models (persistency solve and extremal sampling).

Builds a synthetic layered activity network of 3 places (home, work, other) × 24 hours: nodes
``(place, hour)`` for hours 1..23 plus the source ``(home, 0)`` and the sink ``(home, 24)``;
per hour a *stay* arc at every place, a *plug-in* arc parallel to the stay arc at home and at work,
and a *travel* arc between every pair of different places. That gives 71 nodes and 250 arcs.

Prints one JSON object: first and median re-solve times (s) of the persistency model with cvxpy
re-parameterisation (primal D2/D5 and dual D4 SOCPs, Clarabel) and with the Newton method on (D4),
and the time to draw utilities of 100,000 drivers from the extremal distribution.

A progress bar over the solves and samples goes to stderr (``--quiet`` turns it off). Usage:
``python analysis/benchmarks/bench_behavior.py [--repeats 20] [--drivers 100000]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from v2gsim.behavior.extremal import extremal_distribution, sample_extremal
from v2gsim.behavior.persistency import PersistencyModel

PLACES = ("home", "work", "other")
PLUG_PLACES = ("home", "work")
RUNTIME = "Runtime: about 5 s on 2 cores at the defaults."


def build_layered_network(
    hours: int = 24,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    list[tuple[str, str, int, str]],
]:
    """Synthetic 3-place × ``hours`` activity network with plug-in arcs at home and work.

    Args:
        hours: number of hourly layers.

    Returns:
        ``(B, f, mu, sigma, plug, arcs)``: incidence matrix, supply, mean utilities ($/hour),
        standard deviations ($/hour), plug-in arc mask and arc labels ``(from, to, hour, kind)``.
    """
    nodes: dict[tuple[str, int], int] = {("home", 0): 0}
    for h in range(1, hours):
        for p in PLACES:
            nodes[(p, h)] = len(nodes)
    nodes[("home", hours)] = len(nodes)
    arcs: list[tuple[str, str, int, str]] = []
    for h in range(hours):
        for p in PLACES:
            if (p, h) not in nodes:
                continue
            for q in PLACES:
                if (q, h + 1) not in nodes:
                    continue
                if p == q:
                    arcs.append((p, q, h, "stay"))
                    if p in PLUG_PLACES:
                        arcs.append((p, q, h, "plug"))
                else:
                    arcs.append((p, q, h, "travel"))
    B = np.zeros((len(nodes), len(arcs)))
    for a, (p, q, h, _) in enumerate(arcs):
        B[nodes[(p, h)], a] = 1.0
        B[nodes[(q, h + 1)], a] = -1.0
    f = np.zeros(len(nodes))
    f[nodes[("home", 0)]] = 1.0
    f[nodes[("home", hours)]] = -1.0

    def stay_utility(place: str, h: int) -> float:
        if place == "home":
            return 10.0 if (h < 7 or h >= 19) else 2.0
        if place == "work":
            return 12.0 if 8 <= h < 17 else -4.0
        return 5.0 if 10 <= h < 21 else 0.0

    mu = np.empty(len(arcs))
    sigma = np.empty(len(arcs))
    for a, (p, _q, h, kind) in enumerate(arcs):
        if kind == "travel":
            mu[a], sigma[a] = -3.0, 1.5
        elif kind == "stay":
            mu[a], sigma[a] = stay_utility(p, h), 3.0
        else:  # plug-in: same activity, small hassle cost
            mu[a], sigma[a] = stay_utility(p, h) - 1.0, 2.0
    plug = np.array([k == "plug" for *_, k in arcs])
    return B, f, mu, sigma, plug, arcs


def _time_model(
    model: PersistencyModel,
    mu: NDArray,
    sigma: NDArray,
    rebates: Sequence[NDArray],
    bar: tqdm,
) -> dict[str, float]:
    times = []
    for reb in rebates:
        t0 = time.perf_counter()
        model.solve(mu, sigma, reb)
        times.append(time.perf_counter() - t0)
        bar.update()
    return {"first_s": times[0], "median_subsequent_s": statistics.median(times[1:])}


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print one JSON object.

    Args:
        argv: command-line arguments (``--repeats``, ``--drivers``, ``--seed``).

    Returns:
        The printed dictionary.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--repeats", type=int, default=20, help="solves per method (>= 2)")
    parser.add_argument("--drivers", type=int, default=100_000, help="drivers to sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    B, f, mu, sigma, plug, _ = build_layered_network()
    # a different rebate vector ($/hour on plug-in arcs) for every solve
    rebates = [np.where(plug, rng.uniform(0.0, 3.0, len(mu)), 0.0) for _ in range(args.repeats)]
    out: dict[str, object] = {
        "network": {"nodes": int(B.shape[0]), "arcs": int(B.shape[1])},
        "python": platform.python_version(),
    }
    # the three methods' timed solves, then the two checking solves and the three extremal steps
    bar = tqdm(total=3 * args.repeats + 5, desc="solves and samples", unit="step", disable=args.quiet)
    for method in ("primal", "dual", "newton"):
        t0 = time.perf_counter()
        model = PersistencyModel(B, f, method=method)
        build = time.perf_counter() - t0
        res = _time_model(model, mu, sigma, rebates, bar)
        res["construct_s"] = build
        out[f"persistency_{method}"] = res
    model = PersistencyModel(B, f, method="newton")
    result = model.solve(mu, sigma, rebates[0])
    primal = PersistencyModel(B, f).solve(mu, sigma, rebates[0])
    bar.update(2)
    out["primal_minus_newton_value"] = primal.value - result.value
    out["max_abs_y_diff_primal_newton"] = float(np.max(np.abs(primal.y - result.y)))
    t0 = time.perf_counter()
    dist = extremal_distribution(B, f, mu, sigma, result, rebate=rebates[0])
    t_decomp = time.perf_counter() - t0
    bar.update()
    t0 = time.perf_counter()
    V = sample_extremal(rng, args.drivers, B, f, mu, sigma, result, rebate=rebates[0], dist=dist)
    t_sample = time.perf_counter() - t0
    bar.update()
    nbytes = V.nbytes
    del V
    t0 = time.perf_counter()
    sample_extremal(
        rng, args.drivers, B, f, mu, sigma, result, rebate=rebates[0], dist=dist, dtype=np.float32
    )
    t_sample32 = time.perf_counter() - t0
    bar.update()
    bar.close()
    out["extremal"] = {
        "drivers": args.drivers,
        "paths_in_decomposition": int(dist.paths.shape[0]),
        "decomposition_s": t_decomp,
        "sample_s": t_sample,
        "sample_float32_s": t_sample32,
        "utility_matrix_MB": nbytes / 1e6,
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

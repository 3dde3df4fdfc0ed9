"""Benchmark of the bilevel rebate-and-bid solvers (seed 000, models.md §1.5).

Instances: :func:`v2gsim.specs.build.default_instance` (24 h, two clusters on the default
scenario's network, rebate levels 0–0.4 $ per plugged EV-hour, 200 EVs, bound (3), η = 0.05):

* ``default``: shares 0.5/0.5;
* ``perturbed``: the default with hourly prices multiplied by ``1 + 0.15 N(0, 1)`` (clipped at 0.5),
  ``--repeats`` draws;
* ``compositions``: share of the ``commuters`` cluster 0.4, 0.45, ..., 0.7.

Methods (:meth:`v2gsim.optimize.bilevel.BilevelProblem.solve`):

* ``coordinate``: coordinate search with exact follower re-solves plus one bounding round, giving
  a certified upper bound (target (a): a solution as good as the best known, with a bound, in
  <= 2 s);
* ``bnb``: coordinate search, then the exact branch-and-bound to a relative gap of 1e-4
  (target (b): proven optimality in <= 10 s median); when a solve takes longer than 2 s (10 s) it
  is repeated with a 2 s (10 s) limit to report the gap reached by then;
* ``misocp``: SCIP on the single-level MISOCP (S1–S6) without and with the valid inequalities
  (B3), with time limits ``--scip-limits`` (default instance only; ``--no-scip`` skips it).

``--hard`` runs the hard set of issue #17 instead: charger (= ψ) 7.2, 10, 15, 20, 30, 40 kW x
the seed's seven compositions (commuters share 0.4-0.7) x fleet 100-400 (``--chargers``,
``--compositions``, ``--fleets`` choose a subset; ``--quick`` is 20/30/40 kW x 0.5/0.6/0.7 x
200/400 EVs; ``--max-instances`` caps the count). Per instance it prints the time to a proven gap
<= 1e-4, the gap at 2 s and 10 s (re-solved with those limits when the solve took longer), nodes,
and the seed's MISOCP times (without / with valid inequalities, commercial solver) for its
composition row, plus the summary the acceptance of #17 asks for.

Each solve builds a fresh :class:`~v2gsim.optimize.bilevel.BilevelProblem` (no cache carried over).
OpenBLAS is limited to one thread (the batched follower solves many 56x56 systems; threads only
compete on a shared 2-core machine) unless ``OPENBLAS_NUM_THREADS`` is already set.

Prints one JSON object; progress goes to stderr (a bar over the instances and SCIP solves, and with
``--hard`` each instance's row as JSON; ``--quiet`` turns both off). Usage:
``python analysis/benchmarks/bench_bilevel.py [--repeats 5] [--scip-limits 10,60] [--no-scip]``,
``python analysis/benchmarks/bench_bilevel.py --hard [--quick] [--chargers 20,30] [--time-limit 60]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from v2gsim.optimize.bilevel import BilevelInstance, BilevelProblem
from v2gsim.specs.build import default_instance

REL_GAP = 1e-4

#: Seed 000's computational table (models.md §1.6): composition -> (time without valid inequalities,
#: share solved, time with them, share solved); s and %. The 0.4 row is the garbled "0.4 / 0.0" row.
SEED_TABLE = {
    0.4: (174.02, 100, 42.40, 100), 0.45: (202.68, 100, 58.31, 100), 0.5: (298.45, 94, 54.78, 100),
    0.55: (490.88, 86, 102.80, 100), 0.6: (676.23, 62, 171.98, 98), 0.65: (758.29, 40, 330.58, 86),
    0.7: (994.54, 18, 473.09, 64),
}
QUICK = {"chargers": "20,30,40", "compositions": "0.5,0.6,0.7", "fleets": "200,400"}
RUNTIME = ("Runtime: about 3 min on 2 cores at the defaults (140 s of it the four SCIP solves; "
           "--no-scip: about 20 s); --hard: about 6.5 min (the recorded result, 168 instances).")


def _num(x: float) -> float | None:
    """3 significant digits; None (JSON null) for a missing (infinite) gap."""
    return float(f"{x:.3g}") if np.isfinite(x) else None


def _gap_max(rows: list[dict[str, Any]], key: str) -> float | None:
    """Largest gap of a column; None when a row has none (no bound by then), or no rows."""
    vals = [r[key] for r in rows]
    return None if not vals or any(v is None for v in vals) else max(vals)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _hard_row(psi: float, share: float, fleet: float, limit: float) -> dict[str, Any]:
    """One hard-set instance: time to proof, gaps at 2 s and 10 s, nodes, the seed's times."""
    inst = default_instance((share, 1.0 - share), psi=psi, fleet_size=fleet)
    sol = BilevelProblem(inst).solve("bnb", time_limit=limit, rel_gap=REL_GAP)
    row: dict[str, Any] = {
        "charger_kw": psi, "share": share, "fleet": fleet, "status": sol.status,
        "time_to_proof_s": round(sol.solve_time_s, 3) if sol.status == "optimal" else None,
        "solve_time_s": round(sol.solve_time_s, 3), "nodes": sol.nodes,
        "objective": round(sol.objective, 6), "upper_bound": round(sol.upper_bound, 6),
        "gap": _num(sol.gap), "rebates_pay": bool(np.any(sol.rebates > 0)),
        "improvement_over_chance": round(sol.improvement, 5),
    }
    for cut in (2.0, 10.0):
        if sol.solve_time_s <= cut:
            row[f"gap_at_{cut:g}s"] = row["gap"]
        else:
            part = BilevelProblem(inst).solve("bnb", time_limit=cut, rel_gap=REL_GAP)
            row[f"gap_at_{cut:g}s"] = _num(part.gap)
    seed = SEED_TABLE.get(round(share, 2))
    if seed is not None:
        row["seed_time_s"] = {"no_vi": seed[0], "no_vi_solved_pct": seed[1], "vi": seed[2],
                              "vi_solved_pct": seed[3]}
    return row


def hard_set(args: argparse.Namespace) -> dict[str, Any]:
    """The hard set of issue #17 (or the chosen subset) and its acceptance summary."""
    grid = [(c, sh, m) for c in _floats(args.chargers) for sh in _floats(args.compositions)
            for m in _floats(args.fleets)]
    if args.max_instances is not None:
        grid = grid[: args.max_instances]
    rows = []
    bar = tqdm(grid, desc="instances", unit="instance", disable=args.quiet)
    for c, sh, m in bar:
        rows.append(_hard_row(c, sh, m, args.time_limit))
        if not args.quiet:
            bar.write(json.dumps(rows[-1]), file=sys.stderr)  # progress
    times = [r["solve_time_s"] for r in rows]
    proven = [r for r in rows if r["status"] == "optimal"]
    summary = {
        "instances": len(rows), "proven": len(proven), "rebates_pay": sum(r["rebates_pay"] for r in rows),
        "median_time_to_proof_s": _median(times) if rows else None,
        "max_time_s": max(times) if rows else None,
        "max_gap_at_2s": _gap_max(rows, "gap_at_2s"),
        "max_gap_at_10s": _gap_max(rows, "gap_at_10s"),
        "median_nodes": _median([r["nodes"] for r in rows]) if rows else None,
        "acceptance": {
            "median_under_10s": bool(rows) and statistics.median(times) < 10.0 and len(proven) == len(rows),
            "every_under_60s": bool(rows) and len(proven) == len(rows) and max(times) < 60.0,
            "gap_at_2s_le_0.5pct": (g2 := _gap_max(rows, "gap_at_2s")) is not None and g2 <= 5e-3,
        },
    }
    return {"hard_set": rows, "hard_summary": summary}


def _row(sol: Any) -> dict[str, Any]:
    return {
        "objective": round(sol.objective, 6),
        "upper_bound": round(sol.upper_bound, 6) if np.isfinite(sol.upper_bound) else None,
        "gap": float(f"{sol.gap:.3g}") if np.isfinite(sol.gap) else None,
        "status": sol.status,
        "solve_time_s": round(sol.solve_time_s, 3),
        "nodes": sol.nodes,
        "evaluations": sol.evaluations,
        "certificate": float(f"{sol.certificate:.3g}"),
        "certificate_primal": float(f"{sol.certificate_primal:.3g}"),
        "improvement_over_chance": round(sol.improvement, 5),
        "rebates": [round(x, 3) for x in sol.rebates.tolist()],
    }


def _exact(inst: BilevelInstance, label: str, limit: float) -> dict[str, Any]:
    """Coordinate search and branch-and-bound on one instance (fresh problem objects)."""
    out: dict[str, Any] = {"instance": label}
    co = BilevelProblem(inst).solve("coordinate", time_limit=limit, rel_gap=REL_GAP)
    bb = BilevelProblem(inst).solve("bnb", time_limit=limit, rel_gap=REL_GAP)
    out["coordinate"] = _row(co)
    out["bnb"] = _row(bb)
    out["coordinate"]["is_best_known"] = bool(co.objective >= bb.objective - 1e-9 * abs(bb.objective))
    at: dict[str, Any] = {}
    for cut in (2.0, 10.0):
        if bb.solve_time_s <= cut:
            at[f"{cut:g}s"] = out["bnb"]["gap"]
        else:
            part = BilevelProblem(inst).solve("bnb", time_limit=cut, rel_gap=REL_GAP)
            at[f"{cut:g}s"] = float(f"{part.gap:.3g}")
    at[f"{limit:g}s"] = out["bnb"]["gap"]
    out["bnb"]["gap_at"] = at
    return out


def _scip(inst: BilevelInstance, limits: Sequence[float], optimum: float,
          bar: tqdm | None = None) -> list[dict[str, Any]]:
    """SCIP on the MISOCP without and with (B3), for each time limit (``bar`` advances per solve)."""
    rows = []
    for vi in (False, True):
        for lim in limits:
            prob = BilevelProblem(inst)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sol = prob.solve("misocp", time_limit=lim, rel_gap=REL_GAP, valid_inequalities=vi)
            row = {"valid_inequalities": vi, "time_limit_s": lim, **_row(sol), "message": sol.message}
            if np.isfinite(sol.upper_bound):
                row["bound_gap_vs_optimum"] = float(f"{(sol.upper_bound - optimum) / optimum:.3g}")
            row["objective_gap_vs_optimum"] = float(f"{(optimum - sol.objective) / optimum:.3g}")
            rows.append(row)
            if bar is not None:
                bar.update()
    return rows


def _median(xs: list[float]) -> float:
    return float(f"{statistics.median(xs):.4g}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its JSON object and return it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--repeats", type=int, default=5, help="perturbed-price instances (>= 0)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="limit of each exact solve (s)")
    parser.add_argument("--scip-limits", default="10,60", help="comma-separated SCIP time limits (s)")
    parser.add_argument("--no-scip", action="store_true", help="skip the SCIP comparison")
    parser.add_argument(
        "--compositions", default="0.4,0.45,0.5,0.55,0.6,0.65,0.7",
        help="comma-separated shares of the commuters cluster",
    )
    parser.add_argument("--hard", action="store_true", help="run the hard set of issue #17 only")
    parser.add_argument("--quick", action="store_true", help="hard set: the quick subset")
    parser.add_argument("--chargers", default="7.2,10,15,20,30,40", help="hard set: charger kW (= psi)")
    parser.add_argument("--fleets", default="100,200,300,400", help="hard set: fleet sizes")
    parser.add_argument("--max-instances", type=int, default=None, help="hard set: at most this many")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.hard:
        if args.quick:
            for k, v in QUICK.items():
                setattr(args, k, v)
        t_start = time.perf_counter()
        out = {"python": platform.python_version(), "numpy": np.__version__, "rel_gap": REL_GAP,
               "time_limit_s": args.time_limit, **hard_set(args)}
        out["total_time_s"] = round(time.perf_counter() - t_start, 1)
        print(json.dumps(out, indent=1))
        return out
    if args.repeats < 0:
        parser.error("--repeats must be >= 0")
    t_start = time.perf_counter()
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "rel_gap": REL_GAP,
    }
    shares = [float(x) for x in args.compositions.split(",") if x.strip()]
    limits = [] if args.no_scip else [float(x) for x in args.scip_limits.split(",") if x.strip()]
    bar = tqdm(total=1 + args.repeats + len(shares) + 2 * len(limits), desc="instances and SCIP solves",
               unit="solve", disable=args.quiet)
    base = default_instance()
    default = _exact(base, "default 0.5/0.5", args.time_limit)
    bar.update()
    out["default"] = default
    rng = np.random.default_rng(20240601)
    perturbed = []
    for k in range(args.repeats):
        scale = np.maximum(1.0 + 0.15 * rng.standard_normal(base.hours), 0.5)
        inst = default_instance(price_scale=scale)
        perturbed.append(_exact(inst, f"perturbed prices #{k}", args.time_limit))
        bar.update()
    out["perturbed"] = perturbed
    comps = []
    for sh in shares:
        inst = default_instance((sh, 1.0 - sh))
        comps.append(_exact(inst, f"composition {sh:g}/{1 - sh:g}", args.time_limit))
        bar.update()
    out["compositions"] = comps
    runs = [default, *perturbed, *comps]
    out["summary"] = {
        "instances": len(runs),
        "bnb_median_time_s": _median([r["bnb"]["solve_time_s"] for r in runs]),
        "bnb_max_time_s": max(r["bnb"]["solve_time_s"] for r in runs),
        "bnb_share_optimal": sum(r["bnb"]["status"] == "optimal" for r in runs) / len(runs),
        "bnb_median_gap": _median([r["bnb"]["gap"] for r in runs]),
        "bnb_max_gap_at_2s": max(r["bnb"]["gap_at"]["2s"] for r in runs),
        "bnb_max_gap_at_10s": max(r["bnb"]["gap_at"]["10s"] for r in runs),
        "coordinate_median_time_s": _median([r["coordinate"]["solve_time_s"] for r in runs]),
        "coordinate_max_time_s": max(r["coordinate"]["solve_time_s"] for r in runs),
        "coordinate_median_certified_gap": _median([r["coordinate"]["gap"] for r in runs]),
        "coordinate_share_best_known": sum(r["coordinate"]["is_best_known"] for r in runs) / len(runs),
        "max_certificate": max(r["bnb"]["certificate"] for r in runs),
        "max_certificate_primal": max(r["bnb"]["certificate_primal"] for r in runs),
    }
    if not args.no_scip:
        out["scip_default"] = _scip(base, limits, default["bnb"]["objective"], bar)
    bar.close()
    out["total_time_s"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

"""Seed 000's tables (Tang & Mak, models.md §1.6) on our bilevel instance.

Instance: the scenario ``--scenario`` (default the shipped ``scenarios/tang_mak2024.toml``): its two
driver clusters (``commuters`` and ``flexible``, ``[[drivers.clusters]]``), fleet size, charger rate,
cluster shares, rebate levels, η and bound as the base case, on
:func:`v2gsim.specs.build.default_instance`'s market: PJM 2016 hour-of-day price
shapes, synthetic RegD requirement statistics, η = 0.05, bound (3), rebate levels 0–0.4 $ per
plugged EV-hour. Every row is solved with the exact branch-and-bound (``bnb``, relative gap 1e-4)
under ``--time-limit``; when the limit is reached the row says ``time_limit`` and gives the certified
gap.

Sensitivity tables (one parameter varied, the others at the base M = 200, ψ = 10 kW, μ̄ = 200 $,
shares 0.5/0.5):

* ``fleet_size``: M ∈ {100, 150, ..., 400};
* ``charger_rate``: ψ ∈ {7.2, 10, 15, 20, 30, 40} kW;
* ``baseline_utility``: μ̄ ∈ {100, 150, 200, 250, 300, 400, 500} $;
* ``composition``: share of cluster 1 (``commuters``) 0.4, 0.45, ..., 0.7.

Mapping of the seed's baseline utility μ̄ (its calibration normalisation, base 200 $) onto our
instance: the utility distribution of every arc of every cluster is scaled by k = μ̄ / 200, i.e.
μ_a → k μ_a and σ_a → k σ_a, with prices, requirement statistics and the rebate levels ($) fixed.
The follower's problem max Σ (μ_a y_a + σ_a √(y_a(1 − y_a))) + Σ_t s_t y_t is then the original one
with rebates s_t / k, so (i) without rebates the persistencies, and hence the no-rebate profit, do
not depend on μ̄ (as in the seed's table, whose "without" column is constant at 211.358) and (ii)
a larger μ̄ makes a rebate of a given size a smaller share of the drivers' utility and their choices
less sensitive to it. Equivalently, the rebate grid is divided by k.

Each row reports, per EV and per month (30 days): profit with rebates (objective / M × 30), without
(objective_no_rebates / M × 30), the improvement (with / without − 1), rebates paid per driver
(rebate_cost / M × 30), solve status, gap and time.

Computational-performance table over compositions 0.4–0.7 (``--instances`` instances each: the
unperturbed instance, then hourly prices × max(1 + 0.15 N(0, 1), 0.5)): time, certified gap and share
solved (gap <= 1e-4 within the limit) of

* ``bnb`` (our exact method; its bounds come from the follower's monotone response, the (B3)
  valid-inequality bounds are always built in, so there is no "without" variant),
* ``misocp`` (SCIP on the single-level MISOCP S1–S6) without and with the valid inequalities (B3),
  with ``--scip-limit`` (s) and ``--scip-instances`` instances per composition (the MISOCP is slow and
  its relaxation weak, so these solves are few).

Writes to ``--out``: ``sensitivity.csv`` (tidy, one row per table and point),
``computational.csv`` (one row per solve), ``computational_summary.csv`` (one row per composition,
method and valid-inequality switch), ``sensitivity.png`` (one panel per table: profit per EV with and
without rebates, improvement on a second axis), ``summary.json``; prints the JSON summary.

Usage::

    python analysis/reproduce_tang_mak.py --jobs 2        # full tables, two solves side by side
    python analysis/reproduce_tang_mak.py --quick         # 2 points per table, short limits (~15 s)
    python analysis/reproduce_tang_mak.py --tables charger_rate --no-computational --jobs 2 \
        --levels 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8 --out analysis/out/reproduce_tang_mak/wide_levels

With ``--jobs 2`` two solves run side by side, so the reported solve times include some contention.
``--levels`` replaces the rebate grid (0–0.4 $ by default; the top level binds from ψ = 15 kW on).
One progress bar over the solves of each table goes to stderr (``--quiet`` turns them off).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import functools
import json
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

from v2gsim.config.loading import load_scenario
from v2gsim.config.scenario import Scenario
from v2gsim.core.network import build_network
from v2gsim.optimize.bilevel import BilevelInstance, BilevelProblem
from v2gsim.optimize.bilevel.instance import DriverCluster
from v2gsim.specs.build import cluster_specs, default_instance

REL_GAP = 1e-4
"""Relative gap below which a solve counts as solved."""
DAYS_PER_MONTH = 30
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "tang_mak2024.toml"
"""The seed-000 case-study scenario whose instance the tables solve."""
MUBAR_BASE = 200.0
RUNTIME = ("Runtime: about 3.5 min on 2 cores at the defaults (--jobs 1; 140 s of it the 14 SCIP solves at "
           "their 10-s limit); --quick: about 15 s.")


@functools.lru_cache(maxsize=8)
def _scenario(path: str) -> Scenario:
    return load_scenario(path)


def scenario_base(path: str | Path = SCENARIO) -> dict[str, float]:
    """Base case of a two-cluster scenario: M (EVs), ψ (kW), μ̄ = 200 $, share of cluster 1."""
    sc = _scenario(str(path))
    if len(sc.drivers.clusters) != 2:
        raise ValueError(f"{path}: drivers.clusters must declare exactly 2 clusters for these tables")
    return {"fleet_size": float(sc.drivers.count), "psi": float(sc.drivers.charger_kw),
            "mubar": MUBAR_BASE, "share": float(sc.drivers.clusters[0].share)}


BASE: dict[str, float] = scenario_base()
"""Base case of the seed (M = 200, ψ = 10 kW, μ̄ = 200 $) and our base composition 0.5/0.5."""
DEFAULT_LEVELS: tuple[float, ...] = tuple(_scenario(str(SCENARIO)).platform.bilevel.levels)
"""Rebate levels ($ per plugged EV-hour) of the scenario (0-0.4 $)."""

GRIDS: dict[str, tuple[str, list[float]]] = {
    "fleet_size": ("fleet_size", [100, 150, 200, 250, 300, 350, 400]),
    "charger_rate": ("psi", [7.2, 10, 15, 20, 30, 40]),
    "baseline_utility": ("mubar", [100, 150, 200, 250, 300, 400, 500]),
    "composition": ("share", [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]),
}
"""Sensitivity tables: name -> (parameter, values)."""

QUICK_GRIDS: dict[str, tuple[str, list[float]]] = {
    "fleet_size": ("fleet_size", [100, 200]),
    "charger_rate": ("psi", [7.2, 20]),
    "baseline_utility": ("mubar", [100, 500]),
    "composition": ("share", [0.4, 0.6]),
}

SENSITIVITY_COLUMNS = [
    "table", "parameter", "value", "fleet_size", "psi", "mubar", "share_commuters",
    "profit_with", "profit_without", "improvement", "rebates_per_driver", "mean_rebate_paid",
    "max_rebate", "status", "gap", "solve_time_s",
]
COMPUTATIONAL_COLUMNS = [
    "share_commuters", "instance", "method", "valid_inequalities", "time_limit_s", "objective",
    "upper_bound", "gap", "solved", "status", "solve_time_s",
]


def scaled_utilities(inst: BilevelInstance, mubar: float) -> BilevelInstance:
    """The instance with every arc's utility distribution scaled by μ̄ / 200 (module docstring).

    Args:
        inst: the instance.
        mubar: the seed's baseline utility μ̄ ($); 200 leaves the instance unchanged.

    Returns:
        The instance with μ_a and σ_a of every cluster multiplied by ``mubar / 200``.
    """
    k = float(mubar) / MUBAR_BASE
    if k <= 0:
        raise ValueError(f"mubar must be > 0, got {mubar}")
    clusters = tuple(replace(c, mu=c.mu * k, sigma=c.sigma * k) for c in inst.clusters)
    return inst.replace(clusters=clusters)


def make_instance(
    fleet_size: float,
    psi: float,
    mubar: float,
    share: float,
    price_scale: Any = 1.0,
    levels: Sequence[float] = DEFAULT_LEVELS,
    scenario: str | Path = SCENARIO,
) -> BilevelInstance:
    """The scenario's instance at fleet size M, charger rate ψ (kW), baseline utility μ̄ ($) and share
    of cluster 1: its clusters' networks, η and bound on the default instance's prices."""
    sc = _scenario(str(scenario))
    ch = sc.platform.chance
    inst = default_instance(
        (share, 1.0 - share), fleet_size=fleet_size, psi=psi, price_scale=price_scale, levels=tuple(levels),
        eta=ch.eta, bound=ch.bound, scenario=scenario,
    )
    clusters = tuple(DriverCluster.from_network(build_network(c.network), c.name) for c in cluster_specs(sc))
    inst = inst.replace(clusters=clusters)
    return scaled_utilities(inst, mubar) if mubar != MUBAR_BASE else inst


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def sensitivity_row(task: dict[str, Any]) -> dict[str, Any]:
    """Solve one sensitivity point with ``bnb`` and return its table row (per EV and month)."""
    p = {**BASE, **task["point"]}
    inst = make_instance(p["fleet_size"], p["psi"], p["mubar"], p["share"], levels=task["levels"])
    sol = BilevelProblem(inst).solve("bnb", time_limit=task["time_limit"], rel_gap=REL_GAP)
    M = float(inst.fleet_size)
    paid_hours = sol.plug_fraction > 0
    return {
        "table": task["table"],
        "parameter": task["parameter"],
        "value": float(task["point"][task["parameter"]]),
        "fleet_size": p["fleet_size"],
        "psi": p["psi"],
        "mubar": p["mubar"],
        "share_commuters": p["share"],
        "profit_with": sol.objective / M * DAYS_PER_MONTH,
        "profit_without": sol.objective_no_rebates / M * DAYS_PER_MONTH,
        "improvement": sol.objective / sol.objective_no_rebates - 1.0,
        "rebates_per_driver": sol.rebate_cost / M * DAYS_PER_MONTH,
        "mean_rebate_paid": float(np.mean(sol.rebates[paid_hours])) if paid_hours.any() else 0.0,
        "max_rebate": float(sol.rebates.max()),
        "status": sol.status,
        "gap": _finite(sol.gap),
        "solve_time_s": sol.solve_time_s,
    }


def computational_row(task: dict[str, Any]) -> dict[str, Any]:
    """One solve of the computational-performance table."""
    inst = make_instance(
        BASE["fleet_size"], BASE["psi"], BASE["mubar"], task["share"], task["price_scale"], task["levels"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = BilevelProblem(inst).solve(
            task["method"], time_limit=task["time_limit"], rel_gap=REL_GAP,
            valid_inequalities=task["valid_inequalities"],
        )
    gap = _finite(sol.gap)
    return {
        "share_commuters": task["share"],
        "instance": task["instance"],
        "method": task["method"],
        "valid_inequalities": task["valid_inequalities"],
        "time_limit_s": task["time_limit"],
        "objective": sol.objective,
        "upper_bound": _finite(sol.upper_bound),
        "gap": gap,
        "solved": bool(gap is not None and gap <= REL_GAP),
        "status": sol.status,
        "solve_time_s": sol.solve_time_s,
    }


def _run(fn: Any, tasks: list[dict[str, Any]], jobs: int, desc: str = "solves",
         progress: bool = False) -> list[dict[str, Any]]:
    """``fn`` over ``tasks`` (in order) in ``jobs`` processes, with a tqdm bar (stderr) if ``progress``."""
    with tqdm(total=len(tasks), desc=desc, unit="solve", disable=not progress) as bar:
        if jobs <= 1 or len(tasks) <= 1:
            return [_tick(bar, fn(t)) for t in tasks]
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            return [_tick(bar, r) for r in ex.map(fn, tasks)]


def _tick(bar: tqdm, result: dict[str, Any]) -> dict[str, Any]:
    """Advance ``bar`` by one and return ``result``."""
    bar.update()
    return result


def price_scales(n: int, hours: int, seed: int = 20240601) -> list[Any]:
    """Instance 0 unperturbed, then hourly price factors max(1 + 0.15 N(0, 1), 0.5)."""
    rng = np.random.default_rng(seed)
    out: list[Any] = [1.0]
    for _ in range(n - 1):
        out.append(np.maximum(1.0 + 0.15 * rng.standard_normal(hours), 0.5).tolist())
    return out


def summarize_computational(comp: pd.DataFrame) -> pd.DataFrame:
    """Per composition, method and valid-inequality switch: median time, max gap, share solved."""
    g = comp.groupby(["share_commuters", "method", "valid_inequalities"], sort=True)
    out = g.agg(
        instances=("solved", "size"),
        median_time_s=("solve_time_s", "median"),
        mean_time_s=("solve_time_s", "mean"),
        median_gap=("gap", "median"),
        max_gap=("gap", "max"),
        share_solved=("solved", "mean"),
    )
    return out.reset_index()


def plot_sensitivity(sens: pd.DataFrame, path: Path) -> None:
    """One panel per table: profit per EV with and without rebates, improvement on a twin axis."""
    labels = {
        "fleet_size": "fleet size M (EVs)",
        "charger_rate": "charger rate ψ (kW)",
        "baseline_utility": "baseline utility μ̄ ($)",
        "composition": "share of cluster 1 (commuters)",
    }
    tables = [t for t in GRIDS if t in set(sens.table)]
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.6), squeeze=False)
    for ax, t in zip(axes[0], tables, strict=True):
        d = sens[sens.table == t].sort_values("value")
        ax.plot(d.value, d.profit_with, "o-", label="with rebates")
        ax.plot(d.value, d.profit_without, "s--", label="without")
        ax.set_xlabel(labels[t])
        ax.set_ylabel("profit ($/EV/month)")
        ax2 = ax.twinx()
        ax2.plot(d.value, 100 * d.improvement, "^:", color="tab:red", label="improvement")
        ax2.set_ylabel("improvement (%)", color="tab:red")
        ax.set_title(t)
        if t == tables[0]:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _direction(d: pd.DataFrame, col: str) -> str:
    """'rises', 'falls', 'flat' or 'mixed' along the sorted table."""
    v = d.sort_values("value")[col].to_numpy(float)
    dv = np.diff(v)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(v))))
    if np.all(np.abs(dv) <= tol):
        return "flat"
    if np.all(dv >= -tol):
        return "rises"
    if np.all(dv <= tol):
        return "falls"
    return "mixed" + (" (net rise)" if v[-1] > v[0] else " (net fall)")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the study, write CSVs, figure and summary to ``--out``, print and return the summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--out", type=Path, default=Path("analysis/out/reproduce_tang_mak"))
    parser.add_argument("--quick", action="store_true", help="2 points per table, short limits")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="limit of each bnb solve (s); default 20 (quick: 0.5)")
    parser.add_argument("--scip-limit", type=float, default=None,
                        help="limit of each MISOCP solve (s); default 10 (quick: 0.5)")
    parser.add_argument("--instances", type=int, default=None,
                        help="bnb instances per composition in the computational table; default 3 (quick: 1)")
    parser.add_argument("--scip-instances", type=int, default=None,
                        help="MISOCP instances per composition and switch; default 1 (quick: 1)")
    parser.add_argument("--no-scip", action="store_true", help="skip the MISOCP solves")
    parser.add_argument("--no-computational", action="store_true", help="skip the computational table")
    parser.add_argument("--tables", default=",".join(GRIDS), help="comma-separated sensitivity tables")
    parser.add_argument(
        "--levels", default=",".join(f"{x:g}" for x in DEFAULT_LEVELS),
        help="comma-separated rebate levels ($ per plugged EV-hour, first 0), e.g. a wider grid",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (solve times then overlap)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    limit = args.time_limit if args.time_limit is not None else (0.5 if quick else 20.0)
    scip_limit = args.scip_limit if args.scip_limit is not None else (0.5 if quick else 10.0)
    n_inst = args.instances if args.instances is not None else (1 if quick else 3)
    n_scip = args.scip_instances if args.scip_instances is not None else 1
    if n_inst < 1 or n_scip < 0 or limit <= 0 or scip_limit <= 0:
        parser.error("--instances >= 1, --scip-instances >= 0 and positive time limits required")
    all_grids = QUICK_GRIDS if quick else GRIDS
    names = [t.strip() for t in args.tables.split(",") if t.strip()]
    if not names or any(t not in GRIDS for t in names):
        parser.error(f"--tables must name some of {', '.join(GRIDS)}")
    grids = {t: all_grids[t] for t in names}
    try:
        levels = [float(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        parser.error("--levels must be comma-separated numbers")
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    tasks = [
        {"table": t, "parameter": par, "point": {par: float(v)}, "time_limit": limit, "levels": levels}
        for t, (par, vals) in grids.items() for v in vals
    ]
    sens = pd.DataFrame(_run(sensitivity_row, tasks, args.jobs, "sensitivity", not args.quiet),
                        columns=SENSITIVITY_COLUMNS)
    sens.to_csv(out_dir / "sensitivity.csv", index=False)
    t_sens = time.perf_counter() - t0

    shares = [] if args.no_computational else all_grids["composition"][1]
    scales = price_scales(max(n_inst, n_scip), default_instance().hours)
    ctasks: list[dict[str, Any]] = []
    for sh in shares:
        for k in range(n_inst):
            ctasks.append({"share": float(sh), "instance": k, "price_scale": scales[k], "method": "bnb",
                           "valid_inequalities": True, "time_limit": limit, "levels": levels})
        if not args.no_scip and (not quick or sh == shares[0]):  # quick: MISOCP at one composition
            for vi in (False, True):
                for k in range(n_scip):
                    ctasks.append({"share": float(sh), "instance": k, "price_scale": scales[k],
                                   "method": "misocp", "valid_inequalities": vi, "time_limit": scip_limit,
                                   "levels": levels})
    comp = pd.DataFrame(_run(computational_row, ctasks, args.jobs, "computational", not args.quiet),
                        columns=COMPUTATIONAL_COLUMNS)
    comp.to_csv(out_dir / "computational.csv", index=False)
    comp_sum = summarize_computational(comp)
    comp_sum.to_csv(out_dir / "computational_summary.csv", index=False)
    plot_sensitivity(sens, out_dir / "sensitivity.png")

    trends: dict[str, Any] = {}
    for t in grids:
        d = sens[sens.table == t]
        trends[t] = {
            "profit_with": _direction(d, "profit_with"),
            "profit_without": _direction(d, "profit_without"),
            "improvement": _direction(d, "improvement"),
            "rebates_per_driver": _direction(d, "rebates_per_driver"),
        }
    base_rows = sens[
        (sens.fleet_size == BASE["fleet_size"]) & (sens.psi == BASE["psi"])
        & (sens.mubar == BASE["mubar"]) & (sens.share_commuters == BASE["share"])
    ]
    summary: dict[str, Any] = {
        "quick": quick,
        "out": str(out_dir),
        "bnb_time_limit_s": limit,
        "scip_time_limit_s": None if args.no_scip else scip_limit,
        "jobs": args.jobs,
        "levels": levels,
        "mubar_mapping": "mu_a and sigma_a of every arc scaled by mubar/200 (rebate levels fixed)",
        "base": base_rows.iloc[0][["profit_with", "profit_without", "improvement",
                                   "rebates_per_driver"]].astype(float).round(4).to_dict()
        if len(base_rows) else None,
        "trends": trends,
        "sensitivity_rows": len(sens),
        "sensitivity_not_optimal": int((sens.status != "optimal").sum()),
        "sensitivity_max_gap": _finite(float(sens.gap.max())),
        "computational": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()}
            for r in comp_sum.replace({np.nan: None}).to_dict("records")
        ],
        "sensitivity_time_s": round(t_sens, 1),
        "total_time_s": round(time.perf_counter() - t0, 1),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()

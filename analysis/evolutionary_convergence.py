"""Evolutionary convergence study of the discharge-price game (seed 001, docs/models.md §2).

(a) **Basin of full cooperation.** Fraction of the unit square of initial shares ``(x0, y0)`` that
    the replicator dynamics (7), (11) carry to C(1, 1), as a function of the discharge price
    ``p_d`` (for several ``L_EV`` and ``L_PG``) and of the unilateral losses ``L_EV``, ``L_PG`` at
    ``p_d = 1.3``. Computed as the area above the separatrix of the saddle D
    (:func:`v2gsim.game.basins.basin_of_cooperation`, ``method="separatrix"``); 0 when there
    is no interior saddle and C is not stable.
(b) **Agent level vs mean field.** ``M`` in {100, 1000, 10000} drivers revise by proportional
    imitation or by the Fermi rule (:mod:`v2gsim.game.imitation`) against a grid company that takes
    one replicator step of (11) per day, for 200 days and several seeds. Reported per run: the
    largest gap ``max_t |x_agent(t) - x_ode(t)|`` to :func:`~v2gsim.game.replicator.trajectory`
    (the ODE (7), (11) at replicator time ``t = day * dt``), to the rule's own mean-field ODE
    (identical for the proportional rule; the ``tanh`` field for Fermi), and to the deterministic
    one-step-per-day map (the ``M -> inf`` skeleton, which removes the Euler discretisation bias).
    PG actions are drawn per driver (``matched``); the proportional rule is also run with one PG
    action per day shared by all drivers (``common``), whose day-level shock does not average out.
(c) **Price learning.** The closed loop of :func:`v2gsim.game.price_dynamics.simulate_price_game`
    on the scenario grid and on a wide grid reaching below ``L_B``, with the replicator and the
    participation responses: final mean price vs :func:`~v2gsim.game.price_dynamics.fixed_point_price`.

Writes ``basin.csv``, ``basin.png``, ``gaps.csv``, ``gaps.png``, ``price_learning.csv``,
``price_learning.png`` and ``summary.json`` to ``--out``, and prints the summary as JSON. One
progress bar per part goes to stderr (``--quiet`` turns them off).

Parameters are the seed's case study (:meth:`GameParams.lin2020`: L_EV = L_PG = 1 and p_d = 1.3
are illustrative, not from the seed). Usage::

    python analysis/evolutionary_convergence.py [--out DIR] [--quick] [--seed N] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm import tqdm

from v2gsim.game.basins import basin_of_cooperation
from v2gsim.game.mean_field import mean_field_map, mean_field_trajectory
from v2gsim.game.params import GameParams
from v2gsim.game.price_dynamics import fixed_point_price, price_grid
from v2gsim.game.realized_payoffs import payoff_gap_bound
from v2gsim.game.replicator import trajectory
from v2gsim.game.simulation import simulate_imitation_game, simulate_price_game
from v2gsim.game.stability import equilibria, saddle_point

DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "evolutionary_convergence"
POPULATIONS = (100, 1000, 10_000)
RUNTIME = "Runtime: about 20 s on 2 cores at the defaults; --quick: about 5 s."


def _figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# ----------------------------------------------------------------------------------------------
# (a) basins
# ----------------------------------------------------------------------------------------------


def basin_fraction(p: GameParams) -> float:
    """Basin of C(1, 1) under (7), (11): separatrix area when the saddle D exists, else 0 or grid.

    Without an interior saddle, C is either not stable (basin of measure 0) or the only attractor
    of an edge case (then the grid method of :func:`basin_of_cooperation` decides).
    """
    if saddle_point(p) is not None:
        return basin_of_cooperation(p, method="separatrix")
    c_label = next(e["label"] for e in equilibria(p) if e["name"] == "C")
    return basin_of_cooperation(p, n=41) if c_label == "stable" else 0.0


def basin_sweeps(base: GameParams, quick: bool, progress: bool = False) -> pd.DataFrame:
    """Basin of C over p_d (for several L_EV and L_PG) and over L_EV, L_PG at the base price.

    ``progress``: a tqdm bar over the parameter points (stderr).
    """
    prices = np.linspace(0.3, 1.6, 8 if quick else 66)
    losses = (1.0, 4.0) if quick else (0.25, 1.0, 4.0, 16.0)
    l_axis = np.geomspace(0.05, 50.0, 5 if quick else 31)
    points: list[tuple[str, GameParams]] = []
    for lev in losses:
        points += [("p_d|L_EV", base.replace(p_d=float(pd_), L_EV=lev)) for pd_ in prices]
    for lpg in losses:
        points += [("p_d|L_PG", base.replace(p_d=float(pd_), L_PG=lpg)) for pd_ in prices]
    points += [("L_EV", base.replace(L_EV=float(lev))) for lev in l_axis]
    points += [("L_PG", base.replace(L_PG=float(lpg))) for lpg in l_axis]
    rows: list[dict[str, Any]] = []
    for sweep, p in tqdm(points, desc="(a) basins", unit="point", disable=not progress):
        d = saddle_point(p)
        rows.append({"sweep": sweep, "p_d": p.p_d, "L_EV": p.L_EV, "L_PG": p.L_PG,
                     "basin_C": basin_fraction(p),
                     "x_D": d[0] if d else math.nan, "y_D": d[1] if d else math.nan})
    return pd.DataFrame(rows)


def basin_figure(df: pd.DataFrame, base: GameParams) -> Figure:
    fig = _figure((13, 4))
    axes = fig.subplots(1, 3)
    for ax, sweep, col in ((axes[0], "p_d|L_EV", "L_EV"), (axes[1], "p_d|L_PG", "L_PG")):
        sub = df[df.sweep == sweep]
        for val, g in sub.groupby(col):
            ax.plot(g.p_d, g.basin_C, marker=".", label=f"{col} = {val:g}")
        ax.axvline(base.L_B, color="grey", ls=":", lw=1)
        ax.set_xlabel("discharge price p_d (yuan/kWh)")
        ax.set_ylabel("basin of C(1,1) (fraction of unit square)")
        ax.set_title(f"basin vs p_d for several {col}")
        ax.legend(fontsize=8)
    ax = axes[2]
    for sweep in ("L_EV", "L_PG"):
        g = df[df.sweep == sweep]
        ax.semilogx(g[sweep], g.basin_C, marker=".", label=f"vary {sweep} (other = {base.L_PG:g})")
    ax.set_xlabel("unilateral loss (yuan)")
    ax.set_ylabel("basin of C(1,1)")
    ax.set_title(f"basin vs losses at p_d = {base.p_d:g}")
    ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# (b) agent level vs mean field
# ----------------------------------------------------------------------------------------------


def gap_study(base: GameParams, seeds: int, days: int, rate: float, beta: float, x0: float,
              y0: float, root: np.random.SeedSequence, populations: Sequence[int] = POPULATIONS,
              progress: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Largest gaps between agent-level and mean-field cooperator shares, per rule, draw and M.

    ``progress``: a tqdm bar over the (rule, draw, M) runs (stderr).
    """
    t = np.arange(days + 1)
    d_max = payoff_gap_bound(base)
    configs = (("proportional", "matched"), ("fermi", "matched"), ("proportional", "common"))
    rows: list[dict[str, Any]] = []
    paths: dict[str, Any] = {}
    streams = root.spawn(len(configs) * len(populations))
    bar = tqdm(total=len(streams), desc="(b) agent vs mean field", unit="run", disable=not progress)
    for ci, (rule, draw) in enumerate(configs):
        kw = {"delta_max": d_max} if rule == "proportional" else {"beta": beta}
        dt = rate / d_max if rule == "proportional" else rate * beta / 2
        x_ode, y_ode = trajectory(base, x0, y0, t * dt)
        x_rule, _ = mean_field_trajectory(base, x0, y0, t, rule, rate, **kw)
        paths[f"{rule}/{draw}/ode"] = x_ode
        paths[f"{rule}/{draw}/rule_ode"] = x_rule
        for mi, m in enumerate(populations):
            rng = np.random.default_rng(streams[ci * len(populations) + mi])
            run = simulate_imitation_game(base, m, days, rule, rate, rng, x0=x0, y0=y0,
                                          replications=seeds, pg_draw=draw, **kw)
            x_map, _ = mean_field_map(base, x0, y0, days, rule, rate, m=m, **kw)
            paths[f"{rule}/{draw}/{m}"] = run.x[0]
            for r in range(seeds):
                rows.append({
                    "rule": rule, "pg_draw": draw, "M": m, "seed": r, "dt": run.dt,
                    "gap_x_ode": float(np.max(np.abs(run.x[r] - x_ode))),
                    "gap_x_rule_ode": float(np.max(np.abs(run.x[r] - x_rule))),
                    "gap_x_map": float(np.max(np.abs(run.x[r] - x_map))),
                    "gap_y_ode": float(np.max(np.abs(run.y[r] - y_ode))),
                    "x_final": float(run.x[r, -1]), "y_final": float(run.y[r, -1]),
                })
            bar.update()
    bar.close()
    return pd.DataFrame(rows), paths


def _slope(ms: np.ndarray, gaps: np.ndarray) -> float:
    """Least-squares slope of log(gap) against log(M)."""
    return float(np.polyfit(np.log(ms), np.log(gaps), 1)[0])


def gap_summary(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (rule, draw), g in df.groupby(["rule", "pg_draw"]):
        agg = g.groupby("M")[["gap_x_ode", "gap_x_rule_ode", "gap_x_map"]].mean()
        ms = agg.index.to_numpy(dtype=float)
        out[f"{rule}/{draw}"] = {
            "mean_gap_x_ode": {int(m): round(float(v), 5) for m, v in agg.gap_x_ode.items()},
            "mean_gap_x_rule_ode": {int(m): round(float(v), 5)
                                    for m, v in agg.gap_x_rule_ode.items()},
            "mean_gap_x_map": {int(m): round(float(v), 5) for m, v in agg.gap_x_map.items()},
            "slope_log_gap_rule_ode_vs_log_M": round(_slope(ms, agg.gap_x_rule_ode.to_numpy()), 3),
            "slope_log_gap_map_vs_log_M": round(_slope(ms, agg.gap_x_map.to_numpy()), 3),
            "dt_per_day": float(g.dt.iloc[0]),
        }
    return out


def gaps_figure(df: pd.DataFrame, paths: dict[str, Any], days: int) -> Figure:
    fig = _figure((13, 4))
    axes = fig.subplots(1, 3)
    ax = axes[0]
    for (rule, draw), g in df.groupby(["rule", "pg_draw"]):
        agg = g.groupby("M").gap_x_rule_ode.agg(["mean", "std"])
        ax.errorbar(agg.index, agg["mean"], yerr=agg["std"], marker="o", capsize=3,
                    label=f"{rule}, {draw} PG draw")
    ms = np.array(sorted(df.M.unique()), dtype=float)
    ref = df[(df.rule == "proportional") & (df.pg_draw == "matched") & (df.M == ms[0])]
    ax.loglog(ms, ref.gap_x_rule_ode.mean() * np.sqrt(ms[0] / ms), "k--", lw=1, label="∝ 1/√M")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("drivers M")
    ax.set_ylabel("max_t |x_agent − x_mean-field| (mean over seeds)")
    ax.set_title("agent level vs mean-field ODE")
    ax.legend(fontsize=7)
    t = np.arange(days + 1)
    for ax, key in ((axes[1], "proportional/matched"), (axes[2], "fermi/matched")):
        for m in sorted(df.M.unique()):
            ax.plot(t, paths[f"{key}/{m}"], lw=1, label=f"M = {m}")
        ax.plot(t, paths[f"{key}/ode"], "k--", lw=1.2, label="ODE (7), (11)")
        if key.startswith("fermi"):
            ax.plot(t, paths[f"{key}/rule_ode"], "k:", lw=1.2, label="Fermi mean field")
        ax.set_xlabel("day")
        ax.set_ylabel("share of cooperating EVs x")
        ax.set_title(key.replace("/", ", ") + " PG draw (seed 0)")
        ax.legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------------------------
# (c) price learning
# ----------------------------------------------------------------------------------------------


def price_study(base: GameParams, seeds: int, days: int, m: int, rate: float,
                root: np.random.SeedSequence, progress: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Closed-loop price learning per grid and response; ``progress``: a tqdm bar over them (stderr)."""
    cases = (("scenario grid", (1.0, 1.6, 0.05), "replicator"),
             ("wide grid", (0.2, 1.6, 0.1), "replicator"),
             ("wide grid", (0.2, 1.6, 0.1), "participation"))
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    for (name, grid, response), ss in tqdm(list(zip(cases, root.spawn(len(cases)), strict=True)),
                                           desc="(c) price learning", unit="case", disable=not progress):
        pr = price_grid(*grid)
        run = simulate_price_game(base, pr, m, days, "proportional", rate, np.random.default_rng(ss),
                                  replications=seeds, response=response)
        for r in range(seeds):
            for day in range(days):
                rows.append({"case": name, "response": response, "seed": r, "day": day,
                             "x": run.x[r, day], "y": run.y[r, day], "price": run.price[r, day],
                             "price_mean": run.price_mean[r, day],
                             "price_std": run.price_std[r, day]})
        summary[f"{name}/{response}"] = {
            "grid": list(grid),
            "fixed_point_price": fixed_point_price(pr, base, response),
            "final_price_mean": round(float(run.price_mean[:, -1].mean()), 4),
            "final_price_std": round(float(run.price_std[:, -1].mean()), 4),
            "final_x": round(float(run.x[:, -1].mean()), 4),
            "final_y": round(float(run.y[:, -1].mean()), 4),
            "dt_per_day": run.dt,
        }
    return pd.DataFrame(rows), summary


def price_figure(df: pd.DataFrame) -> Figure:
    fig = _figure((9, 4))
    axes = fig.subplots(1, 2)
    for (case, resp), g in df.groupby(["case", "response"]):
        g0 = g[g.seed == 0]
        axes[0].plot(g0.day, g0.price_mean, label=f"{case}, {resp}")
        axes[0].fill_between(g0.day, g0.price_mean - g0.price_std, g0.price_mean + g0.price_std,
                             alpha=0.2)
        axes[1].plot(g0.day, g0.x, label=f"x: {case}, {resp}")
        axes[1].plot(g0.day, g0.y, ls="--", label=f"y: {case}, {resp}")
    axes[0].set_xlabel("day")
    axes[0].set_ylabel("mean ± sd of the price mixture q (yuan/kWh)")
    axes[0].set_title("grid company's price learning (seed 0)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("day")
    axes[1].set_ylabel("cooperation shares")
    axes[1].legend(fontsize=6)
    return fig


# ----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=RUNTIME,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    ap.add_argument("--quick", action="store_true", help="coarse sweeps and few seeds (seconds)")
    ap.add_argument("--seed", type=int, default=20200601, help="root seed (SeedSequence entropy)")
    ap.add_argument("--days", type=int, default=None, help="simulated days of part (b) (200; 120 quick)")
    ap.add_argument("--seeds", type=int, default=None, help="replications per M (default 10; 4 quick)")
    ap.add_argument("--rate", type=float, default=0.25, help="per-day revision probability")
    ap.add_argument("--beta", type=float, default=0.05, help="Fermi selection intensity (1/yuan)")
    ap.add_argument("--x0", type=float, default=0.5, help="initial share of cooperating EVs")
    ap.add_argument("--y0", type=float, default=0.5, help="initial PG cooperation share")
    ap.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = ap.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 10)
    args.days = args.days or (120 if args.quick else 200)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    base = GameParams.lin2020()
    root = np.random.SeedSequence(args.seed)
    ss_gap, ss_price = root.spawn(2)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    show = not args.quiet
    basin = basin_sweeps(base, args.quick, progress=show)
    basin.to_csv(out / "basin.csv", index=False)
    basin_figure(basin, base).savefig(out / "basin.png", dpi=120)
    timings["basin_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    gaps, paths = gap_study(base, seeds, args.days, args.rate, args.beta, args.x0, args.y0, ss_gap,
                            progress=show)
    gaps.to_csv(out / "gaps.csv", index=False)
    gaps_figure(gaps, paths, args.days).savefig(out / "gaps.png", dpi=120)
    timings["gaps_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    prices, price_summary = price_study(base, seeds, 150 if args.quick else 300,
                                        300 if args.quick else 1000, 1.0, ss_price, progress=show)
    prices.to_csv(out / "price_learning.csv", index=False)
    price_figure(prices).savefig(out / "price_learning.png", dpi=120)
    timings["price_s"] = round(time.perf_counter() - t0, 2)

    at_base = basin[(basin.sweep == "p_d|L_EV") & (basin.L_EV == base.L_EV)]
    best = at_base.loc[at_base.basin_C.idxmax()]
    summary = {
        "params": base.to_dict(),
        "quick": bool(args.quick),
        "basin": {
            "at_base": round(basin_fraction(base), 5),
            "max_over_p_d": {"p_d": round(float(best.p_d), 4), "basin_C": round(float(best.basin_C), 5)},
            "zero_for_p_d_at_or_below_L_B": bool(
                (at_base[at_base.p_d <= base.L_B].basin_C == 0).all()),
            "by_L_EV_at_base_price": {round(float(r.L_EV), 4): round(float(r.basin_C), 5)
                                      for r in basin[basin.sweep == "L_EV"].itertuples()},
            "by_L_PG_at_base_price": {round(float(r.L_PG), 4): round(float(r.basin_C), 5)
                                      for r in basin[basin.sweep == "L_PG"].itertuples()},
        },
        "gaps": {"days": args.days, "seeds": seeds, "rate": args.rate, "beta": args.beta,
                 "x0": args.x0, "y0": args.y0, **gap_summary(gaps)},
        "price_learning": price_summary,
        "timings": timings,
        "files": sorted(p.name for p in out.iterdir()),
    }
    summary["files"] = sorted({*summary["files"], "summary.json"})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Validate the chance-constrained bids (models.md §1.4, (R1), (3)) inside the agent-based model.

For each allowed violation probability η ∈ {0.01, 0.05, 0.1, 0.2} the platform runs policy ``chance``
(bound and k_dev from the scenario, requirement at score target 1 - η, see
:mod:`v2gsim.market.requirement`), and the ``naive`` baseline runs once; both face the same drivers'
randomness and the same AGC signal. Three cases:

* ``synthetic``: the default scenario (200 EVs, synthetic RegD-like AGC and prices) for ``--days``
  days (365);
* ``pjm_regd``: ``scenarios/pjm_regd_2020.toml``: the real PJM RegD signal of 2020-07-16/17 (cycled
  day by day) with the 2016 PJM regulation prices, for ``--real-days`` days (the scenario's 14);
* ``default``: the default scenario for ``--default-days`` days (30), the side-by-side of a default run.

Per case, η and policy, over the bid hours after ``--warmup-days`` (day 0 uses the prior plug-in
fraction, before any history exists):

* ``violation_freq``: share of bid hours whose performance score is below 1 - η (what (R1) with
  r̃ = r(1 - η) promises to keep at or below η), with a one-sided 95 % Clopper-Pearson upper limit;
* ``bound_fail_freq``: share of bid hours with ``ψ K_t < r_t C_t``, the event (R1) is literally about,
  evaluated with the realized plug-ins K_t and the realized requirement r_t(1 - η) of the hour's
  signal (captured from the TSO during the run). It differs from ``violation_freq`` only through
  what (R1) leaves out: baseline charging (the fleet's down-capability is ψK - B, not ψK) and
  state-of-charge limits;
* credits (capability, performance, total, $), the mean and the bid-weighted performance score,
  the mean bid.

Four variants of the chance policy form a 2 x 2 design (all with the scenario's bound and k_dev):

==========================  ==========================================  =========================
policy                      y_t (predicted plug-in fraction)            capability per EV
==========================  ==========================================  =========================
``chance``                  as registered: persistency prediction of    ψ = charger rating
                            the observation, else history, else prior
``chance_reserve``          as registered                               ψ - ω (ω = baseline rate)
``chance_history``          observed plug-in frequency (prior on day 0) ψ
``chance_history_reserve``  observed plug-in frequency (prior on day 0) ψ - ω
==========================  ==========================================  =========================

``chance_reserve`` is the registered policy with the default ``capability = "headroom"``
(:func:`v2gsim.specs.build.build_policy`), ``chance`` the one with ``capability = "charger"``;
the variants change one ingredient: the plug-in prediction (the persistency model can predict plug-ins
the sampled drivers never make) or the capability (with baseline charging B the fleet's
down-capability is ψK - B, so ψ - ω makes ψK >= rC sufficient for the score in the fleet model).

Writes ``validate_chance_constraint.csv`` (tidy: one row per case, policy, η) and
``validate_chance_constraint.png`` to ``--out`` and prints a JSON summary with a verdict.

Progress (one bar over the simulation runs, one over the days of the run at hand) goes to stderr;
``--quiet`` turns it off. Usage::

    python analysis/validate_chance_constraint.py                       # full study (~18 min)
    python analysis/validate_chance_constraint.py --days 60 --drivers 100
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as `import v2gsim` sets it, also when numpy is imported first: the daily belief
# calibration's small SVDs otherwise spin-wait against other processes (several times slower).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import beta
from tqdm import tqdm

from v2gsim.config import SCENARIO_DIR, Scenario, load_scenario
from v2gsim.market.requirement import requirement_per_hour
from v2gsim.policies import Policy
from v2gsim.policies.chance import make_chance
from v2gsim.sim.model import V2GMarketModel, default_signals
from v2gsim.specs.build import chance_spec, inputs_for, run_spec

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "analysis" / "out" / "validate_chance_constraint"
ETAS = (0.01, 0.05, 0.1, 0.2)
#: chance-policy variants: name -> (plug_source, hold back the baseline charging rate ω)
VARIANTS = {
    "chance": ("auto", False),
    "chance_reserve": ("auto", True),
    "chance_history": ("history", False),
    "chance_history_reserve": ("history", True),
}
POLICIES = (*VARIANTS, "naive")
CSV_NAME = "validate_chance_constraint.csv"
FIG_NAME = "validate_chance_constraint.png"
COLUMNS = [
    "case", "policy", "eta", "score_threshold", "days", "warmup_days", "drivers", "bid_hours",
    "violations", "violation_freq", "violation_freq_ci95_upper", "bound_fails", "bound_fail_freq",
    "credits_usd", "capability_credit_usd", "performance_credit_usd", "mean_score",
    "bid_weighted_score", "mean_bid_kw", "bid_kwh",
]
RUNTIME = ("Runtime: about 18 min on 2 cores at the defaults (3 cases of 365, 14 and 30 days, 17 runs "
           "each, about 0.15 s per simulated day); --days 30 --default-days 10: about 2.5 min.")


# ------------------------------------------------------------------------------------------------
# simulation
# ------------------------------------------------------------------------------------------------


class _Recording:
    """A signal source that passes the scenario's signals on and records their requirements."""

    def __init__(self, source: Any, req: dict[float, list[np.ndarray]]):
        self.source, self.req = source, req

    def day_signal(self, day: int) -> np.ndarray:
        signal = self.source.day_signal(day)
        for q, rows in self.req.items():
            rows.append(requirement_per_hour(signal, score_target=q))
        return signal


def simulate(scenario: Scenario, policy: Policy | None = None, score_targets: Sequence[float] = (),
             progress: bool = False, desc: str = "days") -> tuple[pd.DataFrame, dict[float, np.ndarray]]:
    """Run ``scenario`` day by day; return the hourly table and the hours' requirements.

    Args:
        scenario: the scenario.
        policy: if given, it replaces the policy the scenario names (the model is otherwise
            unchanged; the platform calls ``policy.decide`` every day).
        score_targets: score targets q for which the requirement r_t(q) of every simulated hour is
            computed from the signal the TSO emits (an empty tuple skips this).
        progress: show a tqdm bar over the days (stderr).
        desc: the bar's label.

    Returns:
        ``(hourly, requirements)``: the model's hourly table and ``{q: (days*hours,) r_t(q)}``.
    """
    req: dict[float, list[np.ndarray]] = {q: [] for q in score_targets}
    model = V2GMarketModel(scenario, policy=policy,
                           signals=_Recording(default_signals(run_spec(scenario)), req))
    for _ in tqdm(range(scenario.days), desc=desc, unit="day", leave=False, disable=not progress):
        model.step()
    return model.hourly_table(), {q: np.concatenate(v) for q, v in req.items()}


def evaluate(hourly: pd.DataFrame, requirement: np.ndarray, eta: float, psi_kw: float,
             warmup_days: int) -> dict[str, float]:
    """Metrics of one run against threshold ``1 - eta`` (see the module docstring).

    Args:
        hourly: the run's hourly table (rows in day, hour order).
        requirement: ``(len(hourly),)`` realized requirement r_t(1 - η) of each hour (kW/kW).
        eta: allowed violation probability η.
        psi_kw: per-EV capability ψ of the bound event (kW).
        warmup_days: days excluded at the start.

    Returns:
        The metric columns of :data:`COLUMNS` for this run and η.
    """
    keep = (hourly["day"] >= warmup_days).to_numpy()
    h = hourly.loc[keep]
    r = requirement[keep]
    bid = h["bid_kw"].to_numpy()
    score = h["score"].to_numpy()
    scored = (bid > 0) & np.isfinite(score)
    n = int(scored.sum())
    q = 1.0 - eta
    viol = int(np.sum(scored & (np.nan_to_num(score, nan=1.0) < q)))
    fails = int(np.sum(scored & (psi_kw * h["plugged"].to_numpy() < r * bid)))
    cap = float(h["capability_credit"].sum())
    perf = float(h["performance_credit"].sum())
    upper = float(beta.ppf(0.95, viol + 1, n - viol)) if n > viol else 1.0
    return {
        "score_threshold": q,
        "bid_hours": n,
        "violations": viol,
        "violation_freq": viol / n if n else float("nan"),
        "violation_freq_ci95_upper": upper if n else float("nan"),
        "bound_fails": fails,
        "bound_fail_freq": fails / n if n else float("nan"),
        "credits_usd": cap + perf,
        "capability_credit_usd": cap,
        "performance_credit_usd": perf,
        "mean_score": float(score[scored].mean()) if n else float("nan"),
        "bid_weighted_score": float(np.average(score[scored], weights=bid[scored])) if n else float("nan"),
        "mean_bid_kw": float(bid[bid > 0].mean()) if np.any(bid > 0) else 0.0,
        "bid_kwh": float(bid.sum()),
    }


def runs_per_case(etas: Sequence[float]) -> int:
    """Simulation runs of one case: ``naive`` once, each chance variant once per η."""
    return 1 + len(VARIANTS) * len(etas)


def run_case(case: str, path: Path, days: int | None, etas: Sequence[float], overrides: list[str],
             warmup_days: int, bar: tqdm | None = None) -> list[dict[str, Any]]:
    """All policies and η of one case; returns tidy rows.

    ``bar``: a tqdm bar advanced by one per simulation run (:func:`runs_per_case`); with it, each
    run also shows a bar over its days.
    """
    rows: list[dict[str, Any]] = []
    show = bar is not None and not bar.disable
    base = load_scenario(path, [*overrides, "platform.policy=naive"], days=days)
    qs = [1.0 - e for e in etas]
    hourly_naive, req = simulate(base, score_targets=qs, progress=show, desc=f"{case} naive")
    if bar is not None:
        bar.update()
    ref_mileage = hourly_naive["signal_mileage"].to_numpy()
    psi = base.drivers.charger_kw
    meta = {"case": case, "days": base.days, "warmup_days": warmup_days, "drivers": base.drivers.count}
    for eta, q in zip(etas, qs, strict=True):
        rows.append({**meta, "policy": "naive", "eta": eta,
                     **evaluate(hourly_naive, req[q], eta, psi, warmup_days)})
    for eta, q in zip(etas, qs, strict=True):
        # The scenario the registered factory would see; its statistics are computed once and
        # shared by both variants, which replace the (naive) policy of the model built from `base`.
        sc = load_scenario(path, [*overrides, "platform.policy=chance", f"platform.chance.eta={eta}"],
                           days=days)
        inputs = inputs_for(sc, chance_spec(sc))
        for policy, (source, hold) in VARIANTS.items():
            reserve = sc.drivers.baseline_charge_kw if hold else 0.0
            chance = make_chance(chance_spec(sc, reserve_kw=reserve, plug_source=source), inputs)
            hourly, _ = simulate(base, chance, progress=show, desc=f"{case} {policy} eta={eta:g}")
            if bar is not None:
                bar.update()
            if not np.allclose(hourly["signal_mileage"].to_numpy(), ref_mileage):
                raise RuntimeError(f"{case}: the AGC signal differs between policies")
            rows.append({**meta, "policy": policy, "eta": eta,
                         **evaluate(hourly, req[q], eta, psi - reserve, warmup_days)})
    return rows


# ------------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------------


def figure(table: pd.DataFrame) -> plt.Figure:
    """Violation frequency and credits vs η, one column per case."""
    cases = list(dict.fromkeys(table["case"]))
    fig, axes = plt.subplots(2, len(cases), figsize=(4.6 * len(cases), 7.5), squeeze=False)
    style = {"chance": ("C3", "o-"), "chance_reserve": ("C2", "s-"), "chance_history": ("C1", "D-"),
             "chance_history_reserve": ("C4", "v-"), "naive": ("C0", "^--")}
    for j, case in enumerate(cases):
        t = table[table["case"] == case]
        ax, ax2 = axes[0, j], axes[1, j]
        etas = np.sort(t["eta"].unique())
        ax.plot(etas, etas, color="0.5", lw=1, label="allowed η")
        for policy in POLICIES:
            p = t[t["policy"] == policy].sort_values("eta")
            if p.empty:
                continue
            color, fmt = style[policy]
            ax.plot(p["eta"], p["violation_freq"], fmt, color=color, label=f"{policy}: score < 1-η")
            if policy != "naive":
                ax.plot(p["eta"], p["bound_fail_freq"], ":", marker=fmt[0], color=color, alpha=0.6,
                        label=f"{policy}: ψK < rC")
            ax2.plot(p["eta"], p["credits_usd"], fmt, color=color, label=policy)
        d = int(t["days"].iloc[0])
        ax.set_title(f"{case} ({d} days, {int(t['drivers'].iloc[0])} EVs)")
        ax.set_xlabel("η")
        ax.set_ylabel("share of bid hours")
        ax.set_ylim(bottom=0)
        ax2.set_xlabel("η")
        ax2.set_ylabel("credits ($)")
        ax2.set_ylim(bottom=0)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Chance-constrained bids: realized violations (top; dotted: ψK < rC) and credits "
                 "(bottom), models.md §1.4")
    fig.tight_layout(rect=(0.0, 0.1, 1.0, 1.0))
    return fig


def verdict(table: pd.DataFrame) -> list[str]:
    """One sentence per case and policy: does the realized violation frequency stay within η?"""
    lines = []
    for case in dict.fromkeys(table["case"]):
        t = table[table["case"] == case]
        naive = t[t["policy"] == "naive"].set_index("eta")
        for policy in VARIANTS:
            p = t[t["policy"] == policy].set_index("eta")
            ok = [float(e) for e in p.index if p.loc[e, "violation_freq"] <= e]
            ok_bound = [float(e) for e in p.index if p.loc[e, "bound_fail_freq"] <= e]
            ratio = (p["credits_usd"] / naive["credits_usd"]).round(2).to_dict()
            lines.append(
                f"{case}/{policy}: score >= 1-eta held in a share >= 1-eta of bid hours for eta in {ok} "
                f"(of {[float(e) for e in p.index]}); the modelled event psi*K >= r*C for {ok_bound}; "
                f"credits vs naive x{ratio}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the study, write the CSV and the figure, print and return the JSON summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0], epilog=RUNTIME)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--days", type=int, default=365, help="synthetic case horizon (days)")
    parser.add_argument("--real-days", type=int, default=None,
                        help="pjm_regd case horizon (days; default: the scenario's 14)")
    parser.add_argument("--default-days", type=int, default=30, help="default case horizon (days)")
    parser.add_argument("--drivers", type=int, default=None, help="fleet size (default: scenario's)")
    parser.add_argument("--etas", type=float, nargs="+", default=list(ETAS), help="values of eta")
    parser.add_argument("--warmup-days", type=int, default=1, help="days left out of the metrics")
    parser.add_argument("--regd-files", type=Path, nargs="+", default=None,
                        help="PJM RegD CSVs for the pjm_regd case (default: the scenario's)")
    parser.add_argument("--price-file", type=Path, default=None,
                        help="PJM regulation price CSV for the pjm_regd case (default: the scenario's)")
    parser.add_argument("--skip-real", action="store_true", help="leave out the pjm_regd case")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    common = ["output.progress=false", "output.figures=false"]
    if args.drivers is not None:
        common.append(f"drivers.count={args.drivers}")
    real = list(common)
    if args.regd_files:
        files = ", ".join(json.dumps(str(p.resolve())) for p in args.regd_files)
        real.append(f"market.agc_files=[{files}]")
    if args.price_file:
        real.append(f"market.price_file={json.dumps(str(args.price_file.resolve()))}")
    cases: list[tuple[str, Path, int | None, list[str]]] = [
        ("synthetic", SCENARIO_DIR / "default.toml", args.days, common),
    ]
    if not args.skip_real:
        cases.append(("pjm_regd", SCENARIO_DIR / "pjm_regd_2020.toml", args.real_days, real))
    cases.append(("default", SCENARIO_DIR / "default.toml", args.default_days, common))
    rows: list[dict[str, Any]] = []
    with tqdm(total=len(cases) * runs_per_case(args.etas), desc="runs", unit="run",
              disable=args.quiet) as bar:
        for case, path, days, overrides in cases:
            rows += run_case(case, path, days, args.etas, overrides, args.warmup_days, bar)
    table = pd.DataFrame(rows)[COLUMNS]
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, fig_path = args.out / CSV_NAME, args.out / FIG_NAME
    table.to_csv(csv_path, index=False)
    fig = figure(table)
    fig.savefig(fig_path, dpi=120)
    plt.close(fig)
    summary: dict[str, Any] = {
        "csv": str(csv_path),
        "figure": str(fig_path),
        "runtime_s": round(time.perf_counter() - t0, 1),
        "results": {
            case: {
                f"{policy}@{eta:g}": {k: round(float(r[k]), 4) for k in
                                      ("violation_freq", "bound_fail_freq", "credits_usd", "mean_score")}
                for policy, eta, r in ((r["policy"], r["eta"], r) for _, r in t.iterrows())
            }
            for case, t in table.groupby("case", sort=False)
        },
        "verdict": verdict(table),
    }
    summary["json"] = str(Path(fig_path).parent / "summary.json")
    Path(summary["json"]).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()

"""`v2gsim compare`: common random numbers, paired differences by hand, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.experiments.compare import load_policy_tables, run_compare

POLICIES = ["naive", "chance", "bilevel"]
# bilevel with the single rebate level 0 pays nothing: what drivers see is the same as under naive
SETS = ["platform.bilevel.levels=[0.0]", "drivers.count=30"]


def _scenario():
    return load_scenario("tiny", SETS, days=3)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cmp") / "full"
    res = run_compare(_scenario(), POLICIES, out, replications=3, progress=False)
    assert res.sweep.n_done == 9 and res.sweep.n_failed == 0
    return out


def test_common_random_numbers_rebate_free(full: Path) -> None:
    tabs = load_policy_tables(full)
    assert float(tabs["bilevel"]["hourly"]["rebate"].abs().max()) == 0.0
    keys = ["replication", "day", "hour"]
    base = tabs["naive"]["hourly"].set_index(keys)
    for pol in ("chance", "bilevel"):
        other = tabs[pol]["hourly"].set_index(keys)
        for col in ("plugged", "traveling", "signal_mileage", "capability_price"):
            np.testing.assert_array_equal(other[col].to_numpy(), base[col].to_numpy(), err_msg=f"{pol}.{col}")
    # the decisions do differ, and the replications draw different drivers
    assert not np.allclose(tabs["chance"]["hourly"]["bid_kw"], tabs["naive"]["hourly"]["bid_kw"])
    per_rep = base["plugged"].groupby(level="replication").sum()
    assert per_rep.nunique() > 1


def test_paired_differences_by_hand(full: Path) -> None:
    comp = pd.read_csv(full / "comparison.csv")
    tabs = load_policy_tables(full)
    a = tabs["naive"]["summary"].set_index("replication")
    for pol in ("chance", "bilevel"):
        b = tabs[pol]["summary"].set_index("replication")
        for metric in ("profit", "capability_credit", "mean_performance_score", "plugged_ev_hours"):
            d = np.array([b.loc[r, metric] - a.loc[r, metric] for r in range(3)], float)
            half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
            row = comp[(comp.policy == pol) & (comp.metric == metric)].iloc[0]
            assert row.vs == "naive" and row.diff_n == 3
            np.testing.assert_allclose(row.diff_mean, d.mean(), rtol=1e-12, atol=1e-12)
            if np.isfinite(half) and half > 0:
                np.testing.assert_allclose([row.diff_ci95_low, row.diff_ci95_high],
                                           [d.mean() - half, d.mean() + half], rtol=1e-10, atol=1e-12)
            x = b[metric].to_numpy(float)
            np.testing.assert_allclose(row["mean"], x.mean(), rtol=1e-12)
    # rebate-free pair: identical plug-ins, so the paired difference of plugged EV-hours is exactly 0
    row = comp[(comp.policy == "bilevel") & (comp.metric == "plugged_ev_hours")].iloc[0]
    assert row.diff_mean == 0.0 and row.diff_ci95_low == 0.0 and row.diff_ci95_high == 0.0
    summary = pd.read_csv(full / "tables" / "chance" / "summary.csv")
    assert list(summary.replication) == [0, 1, 2]
    for name in ("compare_profit_by_day.png", "compare_predicted_vs_realized.png",
                 "compare_score_distribution.png"):
        assert (full / "figures" / name).stat().st_size > 1000


def test_resume_after_interruption(tmp_path: Path, full: Path) -> None:
    out = tmp_path / "cut"
    seen: list[str] = []

    def stop_after_two(outcome: dict) -> None:
        seen.append(outcome["task"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_compare(_scenario(), POLICIES, out, replications=3, progress=False, on_result=stop_after_two)
    assert len([p for p in (out / "parts").iterdir() if not p.name.startswith(".")]) == 2
    res = run_compare(_scenario(), POLICIES, out, replications=3, progress=False)
    assert (res.sweep.n_skipped, res.sweep.n_done) == (2, 7)
    got = pd.read_csv(out / "comparison.csv")
    want = pd.read_csv(full / "comparison.csv")
    pd.testing.assert_frame_equal(got, want)


def test_bad_policies_and_other_sweep(tmp_path: Path, full: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown policy 'nope'"):
        run_compare(_scenario(), ["naive", "nope"], tmp_path / "x", progress=False)
    with pytest.raises(ScenarioError, match="at least two distinct"):
        run_compare(_scenario(), ["naive"], tmp_path / "x", progress=False)
    with pytest.raises(ScenarioError, match="different sweep"):
        run_compare(_scenario(), ["naive", "chance"], full, replications=3, progress=False)


def test_cli_json_resumes(full: Path, capsys) -> None:
    argv = ["compare", "tiny", "--days", "3", "--replications", "3", "--policies", ",".join(POLICIES),
            "--out", str(full), "--json", "--no-figures", *[a for s in SETS for a in ("--set", s)]]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["policy"] for r in rows} == set(POLICIES)
    assert rows == json.loads(pd.read_csv(full / "comparison.csv").to_json(orient="records"))


def test_comparison_intervals_of_non_negative_quantities_are_clipped():
    """Issue 31 item 10: rebates of 0, 0 and 90 $ have a t-interval reaching below 0; the policy's
    interval is clipped at 0 (flagged), the paired difference keeps its sign."""
    from v2gsim.experiments.compare import comparison_table

    a = pd.DataFrame({"replication": [0, 1, 2], "rebates_paid": [50.0, 50.0, 50.0]})
    b = pd.DataFrame({"replication": [0, 1, 2], "rebates_paid": [0.0, 0.0, 90.0]})
    t = comparison_table({"naive": {"summary": a}, "bilevel": {"summary": b}}, ["rebates_paid"])
    row = t[t["policy"] == "bilevel"].iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std([0.0, 0.0, 90.0], ddof=1) / np.sqrt(3)
    assert 30.0 - half < 0  # the unclipped interval would be negative
    assert row["ci95_low"] == 0.0 and row["ci95_high"] == pytest.approx(30.0 + half)
    assert bool(row["ci95_clipped"])
    assert row["diff_ci95_low"] == pytest.approx(-20.0 - half)  # a difference is not clipped
    assert not bool(t[t["policy"] == "naive"].iloc[0]["ci95_clipped"])

"""Smoke test of ``analysis/benchmarks/bench_plans.py`` (issue #32) on one and two days.

The 30-day cases (about 20 s together) are a benchmark, not a test; here the same code path runs
both cases for two days (so that ``v2a`` plans from day 0's sessions), and one case twice for a day,
and the JSON is checked: its keys, finite numbers, the timings adding up and the repetitions agreeing.
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import load_script

CASE_KEYS = {"scenario", "overrides", "policy", "drivers", "days", "repeat", "wall_s", "wall_s_min",
             "wall_s_median", "wall_s_runs", "build_s", "cpu_s", "day_s_mean", "day_s_max",
             "policy_solve_s", "totals", "totals_repeatable", "target_s", "passed"}


def _numbers(obj):
    """Every int or float inside ``obj`` (bools excluded)."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield obj


def test_bench_plans_two_days_json_is_sane(capsys):
    out = load_script("analysis/benchmarks/bench_plans.py").main(["--days", "2", "--quiet"])
    captured = capsys.readouterr()
    assert json.loads(captured.out) == out
    assert "days" not in captured.err  # --quiet: no progress bar
    assert set(out["cases"]) == {"v2a_200", "robust_parking"}
    assert out["days"] == 2 and out["repeat"] == 1 and out["target_s"] == 60.0
    assert out["openblas_threads"] is not None and len(out["load_average_before"]) == 3
    assert all(math.isfinite(x) for x in _numbers(out))
    v2a, robust = out["cases"]["v2a_200"], out["cases"]["robust_parking"]
    assert (v2a["scenario"], v2a["policy"], v2a["drivers"]) == ("mao2018_household", "v2a", 200)
    assert (robust["scenario"], robust["policy"], robust["drivers"]) == ("bianchi2023_parking", "robust", 10)
    for case in (v2a, robust):
        assert set(case) == CASE_KEYS
        assert case["days"] == 2 and case["wall_s_runs"] == [case["wall_s"]]
        assert 0 < case["build_s"] < case["wall_s"] and 0 < case["day_s_mean"] <= case["day_s_max"]
        # wall = build + the days' steps (rounding of the reported figures aside)
        assert case["wall_s"] == pytest.approx(case["build_s"] + 2 * case["day_s_mean"], abs=5e-3)
        assert 0 <= case["policy_solve_s"] <= case["wall_s"]
        assert case["passed"] is (case["wall_s"] < 60.0)
        totals = case["totals"]
        assert {"schedule_deviation_kwh", "departure_shortfall_kwh"} <= set(totals)
        assert totals["schedule_deviation_kwh"] >= 0 and totals["departure_shortfall_kwh"] >= 0
    assert {"planned_cost", "realized_cost", "reserve_requested_kwh",
            "reserve_delivered_kwh"} <= set(robust["totals"])
    assert robust["totals"]["reserve_delivered_kwh"] <= robust["totals"]["reserve_requested_kwh"] + 1e-6
    assert {"v2a_planned_cost", "v2a_realized_cost"} <= set(v2a["totals"])
    assert v2a["totals"]["v2a_planned_cost"] != 0  # day 1 planned from day 0's sessions
    assert out["passed"] is (v2a["passed"] and robust["passed"])


def test_bench_plans_repeat_reports_min_and_median(capsys):
    out = load_script("analysis/benchmarks/bench_plans.py").main(
        ["--days", "1", "--cases", "robust_parking", "--repeat", "2", "--quiet"])
    capsys.readouterr()
    assert list(out["cases"]) == ["robust_parking"]
    case = out["cases"]["robust_parking"]
    runs = case["wall_s_runs"]
    assert case["repeat"] == 2 and len(runs) == 2
    assert case["wall_s_min"] == min(runs) and case["wall_s_median"] == pytest.approx(sum(runs) / 2, abs=1e-3)
    assert case["totals_repeatable"] is True  # same seed, same tables


def test_bench_plans_rejects_an_unknown_case(capsys):
    with pytest.raises(SystemExit):
        load_script("analysis/benchmarks/bench_plans.py").main(["--cases", "v2a_200,nope"])
    assert "unknown case" in capsys.readouterr().err

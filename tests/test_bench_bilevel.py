"""Smoke test of ``analysis/benchmarks/bench_bilevel.py --hard`` on a two-instance subset (issue #17).

The full hard set (168 instances, about 6.5 minutes) is a study, not a test; here the same code path
runs on 20 kW and 7.2 kW x one composition x 100 EVs and its JSON is checked for consistency: every
reported bound lies above its objective, proven rows are within the gap, the summary agrees with
the rows and the seed's row is attached.
"""

from __future__ import annotations

import json

from conftest import load_script


def test_bench_bilevel_hard_subset_json_is_consistent(capsys):
    bench = load_script("analysis/benchmarks/bench_bilevel.py")
    out = bench.main(["--hard", "--chargers", "7.2,20", "--compositions", "0.6", "--fleets", "100",
                      "--time-limit", "20"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["hard_summary"] == out["hard_summary"]
    rows = out["hard_set"]
    keys = [(r["charger_kw"], r["share"], r["fleet"]) for r in rows]
    assert keys == [(7.2, 0.6, 100.0), (20.0, 0.6, 100.0)]
    for r in rows:
        assert r["upper_bound"] >= r["objective"] - 1e-6
        for cut in (2, 10):  # the gap reached by then: the final gap, or a re-solve's with that limit
            assert r[f"gap_at_{cut}s"] >= 0.0
            if r["solve_time_s"] <= cut:
                assert r[f"gap_at_{cut}s"] == r["gap"]
        if r["status"] == "optimal":
            assert r["gap"] <= 1e-4 and r["time_to_proof_s"] == r["solve_time_s"]
        seed = {"no_vi": 676.23, "no_vi_solved_pct": 62, "vi": 171.98, "vi_solved_pct": 98}
        assert r["seed_time_s"] == seed  # the seed's row for share 0.6
    summary = out["hard_summary"]
    assert summary["instances"] == 2
    assert summary["proven"] == sum(r["status"] == "optimal" for r in rows)
    assert summary["rebates_pay"] == sum(r["rebates_pay"] for r in rows)
    assert summary["max_gap_at_2s"] == max(r["gap_at_2s"] for r in rows)

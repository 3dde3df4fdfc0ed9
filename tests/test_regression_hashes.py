"""analysis/regression_hashes.py: record, tolerant check (rel 1e-9), exact check, and the recorded files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, load_script

rh = load_script("analysis/regression_hashes.py")


def _summary(values) -> dict:
    return rh.column_summary(pd.Series(values))


def test_record_then_check_tiny_and_a_perturbed_number_fails(tmp_path: Path, capsys) -> None:
    rec = tmp_path / "rec.json"
    assert rh.main(["--record", str(rec), "--cases", "tiny", "--days", "2", "--quiet"]) == 0
    capsys.readouterr()
    data = json.loads(rec.read_text())
    assert data["days"] == 2 and data["sets"] == [] and list(data["cases"]) == ["tiny"]
    hourly = data["cases"]["tiny"]["hourly"]
    assert hourly["rows"] == 48 and "solve_time_s" not in data["cases"]["tiny"]["daily"]["columns"]

    # the same code and machine: every column equal
    assert rh.main(["--check", str(rec), "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["differs"] == {} and out["days"] == 2
    assert out["max_rel_diff"]["tiny"]["hourly"]["soc_mean"] == 0.0

    # one recorded number 1e-6 relative off: the check fails and names the table and the column
    hourly["columns"]["soc_mean"]["sum_sq"] *= 1 + 1e-6
    data["cases"]["tiny"]["daily"]["sha256"] = "0" * 64
    rec.write_text(json.dumps(data))
    assert rh.main(["--check", str(rec), "--quiet"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert list(out["differs"]) == ["tiny"] and list(out["differs"]["tiny"]) == ["hourly"]
    assert list(out["differs"]["tiny"]["hourly"]) == ["soc_mean"]
    assert out["differs"]["tiny"]["hourly"]["soc_mean"] == pytest.approx(1e-6, rel=1e-2)
    assert out["worst"]["tiny"]["hourly"][0] == "soc_mean"

    # --exact compares the SHA-256 only: the perturbed summary passes, the changed hash does not
    assert rh.main(["--check", str(rec), "--exact", "--quiet"]) == 1
    assert json.loads(capsys.readouterr().out)["differs"] == {"tiny": ["daily"]}


def test_a_changed_table_value_is_detected_and_round_off_is_not() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 2.0, 240)
    ref = _summary(x)
    for i in (0, 17, 239):
        y = x.copy()
        y[i] *= 1 + 1e-6
        assert rh.column_difference(ref, _summary(y)) > rh.RTOL
        y[i] = x[i] * (1 + 1e-13)
        assert rh.column_difference(ref, _summary(y)) <= rh.RTOL
    # two rows swapped: the same values, in another order
    y = x.copy()
    y[[3, 200]] = y[[200, 3]]
    assert rh.column_difference(ref, _summary(y)) > rh.RTOL
    # a NaN where a number was, and a changed string
    y[5] = np.nan
    assert "NaN/inf positions differ" in rh.column_difference(ref, _summary(y))
    assert rh.column_difference(_summary(["optimal"] * 3), _summary(["optimal", "time_limit", "optimal"])) \
        == "string values differ"


def test_cancelling_sums_are_judged_by_their_magnitudes() -> None:
    # +-1 values summing to 0: round-off of 1e-13 on one value is far below 1e-9 of the column's size
    x = np.tile([1.0, -1.0], 120)
    y = x.copy()
    y[7] += 1e-13
    assert rh.column_difference(_summary(x), _summary(y)) <= rh.RTOL
    y[7] = -1.0 + 1e-4
    assert rh.column_difference(_summary(x), _summary(y)) > rh.RTOL
    # an all-NaN column compares equal to itself; integers and booleans are numeric
    assert rh.column_difference(_summary([np.nan] * 4), _summary([np.nan] * 4)) == 0.0
    assert _summary(np.array([True, False]))["kind"] == "numeric"


def test_the_calibration_residual_is_compared_with_its_absolute_tolerance() -> None:
    # belief_error is max |y - observed| at convergence (<= 1e-8): round-off-level values whose
    # relative differences mean nothing; a calibration that stops converging still fails
    res = np.array([3.4e-10, 2.5e-9, 1.0e-9])
    ref = rh.table_record(pd.DataFrame({"belief_error": res, "profit": [1.0, 2.0, 3.0]}))
    noisy = rh.table_record(pd.DataFrame({"belief_error": res * (1 + 6e-4), "profit": [1.0, 2.0, 3.0]}))
    assert rh.compare_tables(ref, noisy)["belief_error"] <= rh.RTOL
    bad = rh.table_record(pd.DataFrame({"belief_error": [3.4e-10, 1e-3, 1.0e-9], "profit": [1.0, 2.0, 3.0]}))
    assert rh.compare_tables(ref, bad)["belief_error"] > rh.RTOL
    # other columns keep the relative tolerance
    assert rh.column_difference(rh.column_summary(pd.Series(res)),
                                rh.column_summary(pd.Series(res * (1 + 6e-4)))) > rh.RTOL


def test_columns_missing_or_added_are_reported() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    ref, new = rh.table_record(df), rh.table_record(df.drop(columns="b").assign(c=[0, 1]))
    assert rh.compare_tables(ref, new) == {"a": 0.0, "b": "missing from the new table",
                                           "c": "not in the recorded table"}


def test_refuses_old_files_and_other_overrides(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"days": 10, "sets": [], "hashes": {"tiny": {"hourly": "ab"}}}))
    with pytest.raises(SystemExit, match="record it again"):
        rh.main(["--check", str(old)])
    with pytest.raises(SystemExit):
        rh.main(["--check", str(REPO / "analysis" / "regression_hashes_numpy.json"), "--set", "days=3"])


@pytest.mark.parametrize("name, sets", [("regression_hashes.json", []),
                                        ("regression_hashes_numpy.json", ['drivers.sampler="numpy"'])])
def test_recorded_files_cover_every_case(name: str, sets: list[str]) -> None:
    data = json.loads((REPO / "analysis" / name).read_text())
    assert data["days"] == rh.DAYS and data["sets"] == sets and data["rtol"] == rh.RTOL
    assert list(data["cases"]) == list(rh.CASES)
    for case in data["cases"].values():
        assert case["hourly"]["rows"] == 24 * rh.DAYS and case["daily"]["rows"] == rh.DAYS
        assert {"bid_kw", "plugged", "score"} <= set(case["hourly"]["columns"])

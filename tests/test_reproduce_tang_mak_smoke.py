"""Smoke test of analysis/reproduce_tang_mak.py (quick mode, about 15 s)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import load_script


def test_quick_tables(tmp_path: Path, capsys) -> None:
    mod = load_script("analysis/reproduce_tang_mak.py")
    out = tmp_path / "tm"
    summary = mod.main(["--quick", "--out", str(out)])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    for name in ("sensitivity.csv", "computational.csv", "computational_summary.csv", "sensitivity.png",
                 "summary.json"):
        assert (out / name).stat().st_size > 0, name

    sens = pd.read_csv(out / "sensitivity.csv")
    assert list(sens.columns) == mod.SENSITIVITY_COLUMNS
    assert set(sens.table) == {"fleet_size", "charger_rate", "baseline_utility", "composition"}
    assert (sens.groupby("table").size() == 2).all()
    ratio = sens.profit_with / sens.profit_without - 1
    np.testing.assert_allclose(sens.improvement, ratio, rtol=0, atol=1e-9)
    assert (sens.profit_with >= sens.profit_without - 1e-9).all()
    # rebates are paid where they raise the profit, and none where no rebate level is used
    assert (sens.rebates_per_driver[sens.improvement > 1e-9] > 0).all()
    assert (sens.rebates_per_driver[sens.max_rebate == 0] == 0).all()
    assert sens.status.isin(["optimal", "time_limit", "feasible", "fallback"]).all()
    # the μ̄ mapping leaves the no-rebate profit unchanged
    mu = sens[sens.table == "baseline_utility"]
    np.testing.assert_allclose(mu.profit_without, mu.profit_without.iloc[0], rtol=1e-8)

    comp = pd.read_csv(out / "computational.csv")
    assert list(comp.columns) == mod.COMPUTATIONAL_COLUMNS
    assert set(comp.method) == {"bnb", "misocp"}
    assert set(comp[comp.method == "misocp"].valid_inequalities) == {False, True}
    csum = pd.read_csv(out / "computational_summary.csv")
    # the summary is the instance table's: one row per composition, method and switch
    keys = ["share_commuters", "method", "valid_inequalities"]
    want = comp.groupby(keys, sort=True)["solved"].agg(["size", "mean"]).reset_index()
    assert csum[keys].values.tolist() == want[keys].values.tolist()
    np.testing.assert_array_equal(csum.instances, want["size"])
    np.testing.assert_allclose(csum.share_solved, want["mean"], rtol=1e-12)

"""Smoke test of analysis/validate_chance_constraint.py on a very short horizon (both real RegD days)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import load_script, require_shared


def test_validate_chance_constraint_smoke(tmp_path, capsys):
    regd = [require_shared(f"pjm_regd_2s_2020-07/regd_2s_2020-07-{d}.csv") for d in (16, 17)]
    prices = require_shared("pjm_reg_market_2016/reg_market_results_2016.csv")
    mod = load_script("analysis/validate_chance_constraint.py")
    argv = ["--out", str(tmp_path), "--days", "3", "--drivers", "30", "--real-days", "2",
            "--default-days", "2", "--etas", "0.01", "0.2", "--regd-files", *map(str, regd),
            "--price-file", str(prices)]
    summary = mod.main(argv)
    captured = capsys.readouterr()
    printed = json.loads(captured.out)  # stdout is the JSON alone
    assert printed["verdict"] == summary["verdict"] and len(summary["verdict"]) == 3 * 4
    # progress on stderr: 3 cases x (naive + 4 variants x 2 values of eta) runs
    assert "runs: 100%" in captured.err and "27/27" in captured.err

    table = pd.read_csv(tmp_path / mod.CSV_NAME)
    assert list(table.columns) == mod.COLUMNS
    # 3 cases x 5 policies x 2 values of eta
    assert len(table) == 3 * 5 * 2
    assert set(table["case"]) == {"synthetic", "pjm_regd", "default"}
    assert set(table["policy"]) == {"chance", "chance_reserve", "chance_history",
                                    "chance_history_reserve", "naive"}
    assert sorted(table["eta"].unique()) == [0.01, 0.2]
    assert np.allclose(table["score_threshold"], 1 - table["eta"])
    assert table.loc[table["case"] == "synthetic", "days"].eq(3).all()
    assert table.loc[table["case"] == "pjm_regd", "days"].eq(2).all()
    assert table["drivers"].eq(30).all()
    # the frequencies are their counts over the scored bid hours, and below their 95 % upper bound
    for freq, count in (("violation_freq", "violations"), ("bound_fail_freq", "bound_fails")):
        scored = table["bid_hours"] > 0
        np.testing.assert_allclose(table.loc[scored, freq],
                                   table.loc[scored, count] / table.loc[scored, "bid_hours"], rtol=1e-12)
        assert table.loc[~scored, freq].isna().all()
    scored = table["bid_hours"] > 0
    assert (table.loc[scored, "violation_freq"] <= table.loc[scored, "violation_freq_ci95_upper"]).all()
    assert (table["credits_usd"] >= 0).all()
    assert np.allclose(table["credits_usd"],
                       table["capability_credit_usd"] + table["performance_credit_usd"])
    # naive runs once per case: its credits do not depend on eta
    naive = table[table["policy"] == "naive"].groupby("case")["credits_usd"].nunique()
    assert (naive == 1).all()
    # a smaller eta never yields a larger chance bid, nor does holding back the baseline rate
    chance = table[table["policy"].str.startswith("chance")].set_index(["case", "policy", "eta"])
    for (case, policy), t in chance.groupby(level=[0, 1]):
        bids = t.sort_index()["bid_kwh"].to_numpy()
        assert np.all(np.diff(bids) >= -1e-9), (case, policy)
    assert np.all(chance.xs("chance_reserve", level=1)["bid_kwh"]
                  <= chance.xs("chance", level=1)["bid_kwh"] + 1e-9)
    fig = tmp_path / mod.FIG_NAME
    assert fig.exists() and fig.stat().st_size > 10_000

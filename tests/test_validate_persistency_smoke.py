"""Smoke test of analysis/validate_persistency.py: quick run on the default network, 5,000 drivers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import load_script


def test_validate_persistency_smoke(tmp_path, capsys):
    mod = load_script("analysis/validate_persistency.py")
    summary = mod.main(["--quick", "--drivers", "5000", "--out", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out)
    assert printed["statements"] == summary["statements"]
    assert set(summary["networks"]) == {"default"}

    table = pd.read_csv(tmp_path / mod.CSV_NAME)
    assert list(table.columns) == mod.COLUMNS
    assert len(table) == len(mod.DISTRIBUTIONS) * 24
    assert set(table["distribution"]) == set(mod.DISTRIBUTIONS)
    assert table["drivers"].eq(5000).all()
    # a plug-in frequency of 5,000 drivers: a whole number of them in every hour
    counts = table["sampled"] * 5000
    np.testing.assert_allclose(counts, counts.round(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["stderr"], np.sqrt(table["sampled"] * (1 - table["sampled"]) / 5000))
    np.testing.assert_allclose(table["diff_y"], table["sampled"] - table["predicted_y"])
    y = table["predicted_y"]
    np.testing.assert_allclose(table["se_y"], np.sqrt(y * (1 - y) / 5000))

    # the extremal population is the one y predicts: within 4 standard errors in every hour
    ext = table[table["distribution"] == "extremal"]
    assert (np.abs(ext["sampled"] - ext["predicted_y"]) <= 4 * ext["se_y"]).all()
    # the Gumbel sampler reproduces its own (recursive-logit) prediction the same way
    gum = table[table["distribution"] == "gumbel"]
    se_p = np.sqrt(gum["logit_p"] * (1 - gum["logit_p"]) / 5000)
    assert (np.abs(gum["sampled"] - gum["logit_p"]) <= 4 * se_p + 1e-12).all()

    case = summary["networks"]["default"]
    dists = case["distributions"]
    # (D2) bounds E[max path utility] for every distribution with these moments; extremal attains it
    for d in dists.values():
        assert d["sampled_mean_value"] <= case["value_bound"] + 4 * d["sampled_mean_value_se"]
    ext_d = dists["extremal"]
    assert abs(ext_d["sampled_mean_value"] - case["value_bound"]) <= 4 * ext_d["sampled_mean_value_se"]
    # independent utilities are visibly off y (well beyond sampling error)
    for name in ("normal", "uniform", "two_point"):
        assert dists[name]["max_abs_z_y"] > 5 and dists[name]["value_gap_rel"] < -0.05
    fig = tmp_path / mod.FIG_NAME
    assert fig.exists() and fig.stat().st_size > 10_000

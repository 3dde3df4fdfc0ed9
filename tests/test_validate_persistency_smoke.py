"""Smoke test of analysis/validate_persistency.py: quick run on the default network, 5,000 drivers."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
from conftest import REPO

SCRIPT = REPO / "analysis" / "validate_persistency.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("validate_persistency", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validate_persistency_smoke(tmp_path, capsys):
    mod = _load_script()
    summary = mod.main(["--quick", "--drivers", "5000", "--out", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out)
    assert printed["statements"] == summary["statements"]
    assert set(summary["networks"]) == {"default"}

    table = pd.read_csv(tmp_path / mod.CSV_NAME)
    assert list(table.columns) == mod.COLUMNS
    assert len(table) == len(mod.DISTRIBUTIONS) * 24
    assert set(table["distribution"]) == set(mod.DISTRIBUTIONS)
    assert table["drivers"].eq(5000).all()
    assert ((table["sampled"] >= 0) & (table["sampled"] <= 1)).all()
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

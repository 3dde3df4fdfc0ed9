"""Smoke test of analysis/sampler_equivalence.py (the compiled sampler vs the numpy reference)."""

from __future__ import annotations

import pytest
from conftest import load_script


def test_sampler_equivalence_quick(capsys):
    mod = load_script("analysis/sampler_equivalence.py")
    out = mod.main(["--scenario", "tiny", "--days", "2", "--replications", "2", "--quiet"])
    assert out["seeds"] == [1, 2]
    profit = out["metrics"]["profit"]
    lo, hi = profit["ci95"]
    assert lo <= profit["difference"] <= hi
    assert profit["difference"] == pytest.approx(profit["compiled_mean"] - profit["numpy_mean"], abs=1e-5)
    assert 0.0 <= profit["p_value"] <= 1.0
    assert out["plugged_by_hour"]["mean_plugged_compiled"] > 0
    assert '"plugged_by_hour"' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        mod.main(["--replications", "1"])

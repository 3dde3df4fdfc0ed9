"""Smoke test of analysis/session_marginals.py: 3,000 resampled sessions per source."""

from __future__ import annotations

import json

from conftest import SHARED_DATA, load_script, require_shared


def test_session_marginals_smoke(tmp_path, capsys):
    mod = load_script("analysis/session_marginals.py")
    for rel in mod.SOURCES.values():
        require_shared(rel)
    summary = mod.main(["--n", "3000", "--data", str(SHARED_DATA), "--out", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / mod.JSON_NAME).read_text(encoding="utf-8")) == summary
    assert set(summary["sources"]) == {"acn_caltech", "evwatts_houston"}
    for case in summary["sources"].values():
        crit = case["ks_critical_1pct"]
        assert crit == round(mod.ks_critical(3000, case["n_data"]), 5)
        for key in mod.MARGINALS:
            assert 0 < case["ks"][key]["D"] < crit and case["ks"][key]["below_critical_1pct"]
        data, sampled = case["corr_arrival_stay"]["data"], case["corr_arrival_stay"]["sampled"]
        assert abs(sampled - data) < 0.08
    assert summary["sources"]["acn_caltech"]["n_data"] == 2112
    assert summary["sources"]["evwatts_houston"]["energy"].startswith("assumed")
    fig = tmp_path / mod.FIG_NAME
    assert fig.exists() and fig.stat().st_size > 20_000

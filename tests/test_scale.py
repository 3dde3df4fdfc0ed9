"""Scale work of issue #16: chunked path choice, the row-wise backtrack, and bench_scale --quick."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

import v2gsim.behavior.sampling as sampling
import v2gsim.sim.agents.driver as driver_mod
from v2gsim.config import load_scenario
from v2gsim.core.network import PLUG, ActivityNetwork, build_network
from v2gsim.sim.agents.driver import DriverGroup, chunk_sizes
from v2gsim.specs.build import network_template

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def net() -> ActivityNetwork:
    return build_network(network_template(load_scenario(ROOT / "scenarios" / "default.toml").network))


def test_chunk_sizes():
    assert chunk_sizes(300_000, 131_072) == [131_072, 131_072, 37_856]
    assert chunk_sizes(5, 10) == [5]
    assert chunk_sizes(20, 10) == [10, 10]
    assert chunk_sizes(0, 10) == [0]
    with pytest.raises(ValueError, match="chunk"):
        chunk_sizes(3, 0)


def test_hourly_backtrack_equals_general_backtrack(net, monkeypatch):
    assert sampling._hourly_layers(net)
    v = sampling.sample_utilities(np.random.default_rng(4), net, 3_000, "normal")
    fast = sampling.longest_paths(net, v)
    monkeypatch.setattr(sampling, "_hourly_layers", lambda _net: False)
    general = sampling.longest_paths(net, v)
    np.testing.assert_array_equal(fast.arc_at_hour, general.arc_at_hour)
    # every hour's arc starts in that hour, and the path's arcs add up to its value
    assert np.all(net.hour[fast.arc_at_hour] == np.arange(net.hours))
    total = np.take_along_axis(v.T, fast.arc_at_hour, axis=1).sum(axis=1, dtype=np.float64)
    np.testing.assert_allclose(total, fast.value, rtol=0, atol=1e-3)


def test_networks_with_longer_arcs_are_not_hourly():
    # source 0 -> 1 -> sink 2, plus a 2-hour arc 0 -> 2
    net = ActivityNetwork.from_arcs([0, 1, 0], [1, 2, 2], 3)
    if np.all(net.duration == 1):
        pytest.skip("from_arcs gives unit durations here")
    assert not sampling._hourly_layers(net)


@pytest.mark.parametrize("chunk", [300, 10_000])
def test_chunked_extremal_choice_equals_draws_chunk_after_chunk(net, monkeypatch, chunk):
    from v2gsim.behavior.extremal import sample_extremal
    from v2gsim.behavior.persistency import solve_persistency

    monkeypatch.setattr(driver_mod, "CHOICE_CHUNK", chunk)
    group = DriverGroup(0, "all", 1.0, net, np.arange(700))
    rebate = np.linspace(0.0, 2.0, net.hours)
    arc_rebate = np.where(net.kind == PLUG, rebate[net.hour], 0.0)
    res = solve_persistency(net.incidence, net.supply, net.mu, net.sigma, arc_rebate)
    got = group.choose(np.random.default_rng(11), rebate, "extremal", res)
    rng = np.random.default_rng(11)
    parts = [sampling.longest_paths(net, sample_extremal(rng, n, net.incidence, net.supply, net.mu, net.sigma,
                                                         res, rebate=arc_rebate, dtype=np.float32).T)
             for n in chunk_sizes(700, chunk)]
    assert len(parts) == (3 if chunk == 300 else 1)
    np.testing.assert_array_equal(got.arc_at_hour, np.concatenate([p.arc_at_hour for p in parts]))
    np.testing.assert_array_equal(got.value, np.concatenate([p.value for p in parts]))
    assert got.arc_at_hour.shape == (700, net.hours)


def test_bench_scale_quick_json_is_sane(capsys):
    out = load_script("analysis/benchmarks/bench_scale.py").main(["--quick"])
    assert out["quick"] is True
    paths = out["item8_sample_paths"]
    assert paths["network_arcs"] == 170 and paths["drivers"] == 5_000
    ref = paths["numpy_reference"]
    assert 0 < ref["longest_path_median_s"] < 10 and 0 < ref["sample_median_s"] < 10
    assert 0 < paths["median_s"] < 10 and 0 < paths["median_1_thread_s"] < 10 and paths["threads"] >= 1
    assert paths["target_s"] == 0.1 and paths["meets_target"] is None
    million = out["item9_million_day"]
    assert million["evs"] == 3_000 and 0 < million["peak_rss_gb"] < million["machine_memory_gb"]
    assert million["bytes_per_ev"] == pytest.approx(million["peak_rss_gb"] * 1e9 / 3_000, rel=1e-2)
    assert million["plugged_ev_hours"] > 0
    sweep = out["item10_sweep"]
    assert sweep["replications"] == 2 and sweep["speedup"] > 0 and sweep["target"] == 1.7
    assert sweep["mean_simulation_s"] <= sweep["mean_task_1_workers_s"]
    assert sweep["per_task_overhead_s"] == pytest.approx(
        sweep["mean_task_1_workers_s"] - sweep["mean_simulation_s"], abs=2e-4)
    year = out["item7_year_bilevel"]
    assert year["days"] == 2 and year["evs"] == 300
    assert 0 < year["solve_total_s"] <= year["wall_s"]
    assert year["belief_calibrations"] == 2 and year["belief_calibration_total_s"] > 0
    assert year["rest_total_s"] == pytest.approx(
        year["wall_s"] - year["solve_total_s"] - year["belief_calibration_total_s"], abs=0.02)
    assert sum(year["policy_status"].values()) == 2
    assert year["target_s"] == 120.0
    assert '"item7_year_bilevel"' in capsys.readouterr().out

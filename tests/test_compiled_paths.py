"""The compiled path-choice kernel (issue #16, item 8): Philox, the ziggurat, and the fused DP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from v2gsim.behavior import philox
from v2gsim.behavior.compiled import choose_paths, draw_utilities, kernel_threads
from v2gsim.behavior.sampling import longest_paths, sample_utilities
from v2gsim.config import load_scenario
from v2gsim.core.network import PLUG, ActivityNetwork, build_network
from v2gsim.sim.agents.driver import DriverGroup
from v2gsim.specs.build import network_template

ROOT = Path(__file__).resolve().parents[1]

# Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4] key[2] -> result[4].
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.fixture(scope="module")
def net() -> ActivityNetwork:
    return build_network(network_template(load_scenario(ROOT / "scenarios" / "default.toml").network))


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_philox_known_answers(ctr, key, expected):
    assert philox.philox4x32_10(*ctr, *key) == expected


@pytest.mark.parametrize("words", [4, 8, 64])
def test_stream_fill_is_philox_block_by_block_across_refills(words):
    ctx, buf, keys = philox.stream_arrays(words)
    driver = 2**32 + 5  # both driver words are used
    philox.stream_start(ctx, buf, keys, 11, 22, driver, 3)
    got = [buf.copy()]
    for _ in range(80 // words):
        philox.stream_fill(ctx, buf, keys)
        got.append(buf.copy())
    seq = np.concatenate(got)
    ref = [w for j in range(seq.size // 4) for w in philox.philox4x32_10(j, 5, 1, 3, 11, 22)]
    np.testing.assert_array_equal(seq, np.array(ref, dtype=np.uint64))
    with pytest.raises(ValueError, match="multiple of 4"):
        philox.stream_arrays(6)


def test_ziggurat_tables_close_and_are_monotone():
    kn, wn, fn, closure = philox.ziggurat_tables()
    assert abs(closure) < 1e-12  # the top layer has the same area as the others
    x = wn[1:] * 2.0**23  # right edges x_1 < ... < x_255 = r
    assert np.all(np.diff(x) > 0) and x[-1] == pytest.approx(philox.ZIGGURAT_R)
    assert np.all(np.diff(fn) < 0) and fn[0] == 1.0
    assert kn[1] == 0 and np.all(kn[2:] < 2**23) and np.all(kn[2:] > 0)


def test_normal_draws_are_standard_normal(net):
    z = draw_utilities((123, 456), net, 12_000, "normal").astype(np.float64)
    z = ((z - net.mu[:, None]) / net.sigma[:, None]).ravel()  # ~2M standard normal draws
    n = z.size
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the tail beyond r and the wedges are exercised and have the right mass
    tail = np.mean(np.abs(z) > philox.ZIGGURAT_R)
    p = 2 * stats.norm.sf(philox.ZIGGURAT_R)
    assert abs(tail - p) < 5 * np.sqrt(p / n)
    edges = np.linspace(-4, 4, 41)
    counts, _ = np.histogram(z, bins=np.concatenate([[-np.inf], edges, [np.inf]]))
    expected = n * np.diff(stats.norm.cdf(np.concatenate([[-np.inf], edges, [np.inf]])))
    assert stats.chisquare(counts, expected).pvalue > 1e-3


@pytest.mark.parametrize("dist", ["uniform", "two_point"])
def test_other_distributions_have_mean_mu_and_sd_sigma(net, dist):
    v = draw_utilities((7, 8), net, 40_000, dist).astype(np.float64)
    se = net.sigma / np.sqrt(v.shape[1])
    assert np.all(np.abs(v.mean(axis=1) - net.mu) < 5 * se)
    np.testing.assert_allclose(v.std(axis=1), net.sigma, rtol=0.02)
    z = (v - net.mu[:, None]) / net.sigma[:, None]
    if dist == "two_point":
        np.testing.assert_allclose(np.abs(z), 1.0, atol=1e-5)
    else:
        assert np.abs(z).max() <= np.sqrt(3) + 1e-5


@pytest.mark.parametrize("dist", ["normal", "uniform", "two_point"])
def test_kernel_equals_numpy_dp_on_its_utilities(net, dist):
    rebate = np.where(net.kind == PLUG, np.linspace(0, 1.5, net.n_arcs), 0.0)
    got = choose_paths((99, 1), net, 4_000, dist, rebate=rebate)
    ref = longest_paths(net, draw_utilities((99, 1), net, 4_000, dist, rebate=rebate))
    np.testing.assert_array_equal(got.arc_at_hour, ref.arc_at_hour)
    np.testing.assert_array_equal(got.value, ref.value)


def test_result_independent_of_threads_and_fleet_size(net):
    one = choose_paths((5, 6), net, 20_000, threads=1)
    two = choose_paths((5, 6), net, 20_000, threads=2)
    np.testing.assert_array_equal(one.arc_at_hour, two.arc_at_hour)
    np.testing.assert_array_equal(one.value, two.value)
    head = choose_paths((5, 6), net, 300)  # driver j's draws depend only on (key, j)
    np.testing.assert_array_equal(head.arc_at_hour, one.arc_at_hour[:300])
    other = choose_paths((5, 7), net, 300)
    assert not np.array_equal(other.arc_at_hour, head.arc_at_hour)


def test_kernel_choices_match_numpy_sampler_statistically(net):
    """Same model, different draws: per-arc usage shares agree within sampling error."""
    m = 60_000
    rebate = np.where(net.kind == PLUG, 0.4, 0.0)
    kern = choose_paths((3, 4), net, m, rebate=rebate).arc_counts(net) / m
    ref = longest_paths(net, sample_utilities(np.random.default_rng(3), net, m, rebate=rebate))
    ref = ref.arc_counts(net) / m
    se = np.sqrt(np.maximum(ref * (1 - ref), 1.0 / m) * 2 / m)
    assert np.max(np.abs(kern - ref) / se) < 5.0
    assert np.abs(kern - ref).max() < 0.01


def test_group_choose_uses_key_drawn_from_rng(net):
    group = DriverGroup(0, "all", 1.0, net, np.arange(500))
    rebate = np.linspace(0.0, 1.0, net.hours)
    got = group.choose(np.random.default_rng(21), rebate, "normal")
    key = np.random.default_rng(21).integers(0, 2**32, size=2, dtype=np.uint64)
    arc_rebate = np.where(net.kind == PLUG, rebate[net.hour], 0.0)
    ref = longest_paths(net, draw_utilities(key, net, 500, "normal", rebate=arc_rebate))
    np.testing.assert_array_equal(got.arc_at_hour, ref.arc_at_hour)
    assert group.last_choice is got


def _random_dag(layers: list[int], bits: list[bool]) -> tuple[list[int], list[int], int]:
    """Source 0, then layers of nodes, then the sink; arcs between consecutive layers (and skips)."""
    nodes = [[0]]
    n = 1
    for width in layers:
        nodes.append(list(range(n, n + width)))
        n += width
    nodes.append([n])
    tail, head, k = [], [], 0
    for i in range(len(nodes) - 1):
        for u in nodes[i]:
            for w in nodes[i + 1]:
                tail.append(u)
                head.append(w)
        if i + 2 < len(nodes) and bits[k % len(bits)]:  # a skip arc spanning two layers
            tail.append(nodes[i][0])
            head.append(nodes[i + 2][-1])
        k += 1
    return tail, head, n + 1


@settings(max_examples=30, deadline=None)
@given(layers=st.lists(st.integers(1, 3), min_size=1, max_size=4),
       bits=st.lists(st.booleans(), min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_kernel_on_random_dags_equals_numpy_dp(layers, bits, seed):
    tail, head, n = _random_dag(layers, bits)
    net = ActivityNetwork.from_arcs(tail, head, n, mu=np.linspace(-1, 1, len(tail)))
    key = (seed, seed ^ 0xABCDEF)
    got = choose_paths(key, net, 50)
    v = draw_utilities(key, net, 50)
    ref = longest_paths(net, v)
    np.testing.assert_array_equal(got.arc_at_hour, ref.arc_at_hour)
    np.testing.assert_array_equal(got.value, ref.value)


def test_bad_arguments_are_refused(net, monkeypatch):
    with pytest.raises(ValueError, match="two 32-bit words"):
        choose_paths((1, 2, 3), net, 10)
    with pytest.raises(ValueError, match="two 32-bit words"):
        choose_paths((2**32, 0), net, 10)
    with pytest.raises(ValueError, match="extremal"):
        choose_paths((1, 2), net, 10, "extremal")
    monkeypatch.setenv("V2GSIM_THREADS", "0")
    with pytest.raises(ValueError, match="V2GSIM_THREADS"):
        kernel_threads()
    monkeypatch.setenv("V2GSIM_THREADS", "3")
    assert kernel_threads() == 3


def test_numpy_sampler_is_the_reference_draws_from_rng(net):
    group = DriverGroup(0, "all", 1.0, net, np.arange(400))
    rebate = np.linspace(0.0, 1.0, net.hours)
    got = group.choose(np.random.default_rng(5), rebate, "uniform", sampler="numpy")
    arc_rebate = np.where(net.kind == PLUG, rebate[net.hour], 0.0)
    ref = longest_paths(net, sample_utilities(np.random.default_rng(5), net, 400, "uniform",
                                              rebate=arc_rebate))
    np.testing.assert_array_equal(got.arc_at_hour, ref.arc_at_hour)
    with pytest.raises(ValueError, match="sampler"):
        group.choose(np.random.default_rng(5), rebate, "normal", sampler="fast")


def test_sampler_field_is_validated_and_reaches_the_run(tmp_path, capsys):
    from v2gsim.cli import main

    assert main(["validate", "tiny", "--set", 'drivers.sampler="gpu"']) == 2
    err = capsys.readouterr()
    assert "drivers.sampler" in err.out + err.err and "compiled" in err.out + err.err
    runs = {}
    for sampler in ("compiled", "numpy"):
        scen = load_scenario("tiny", [f'drivers.sampler="{sampler}"'], days=2)
        from v2gsim.experiments.runner import run_scenario

        runs[sampler] = run_scenario(scen, progress=False).hourly
    # same model, different draws: the tables differ, their shapes do not
    assert runs["compiled"].shape == runs["numpy"].shape
    assert not runs["compiled"]["plugged"].equals(runs["numpy"]["plugged"])

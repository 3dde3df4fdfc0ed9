"""Every shipped scenario validates and runs 2 days; tang_mak2024.toml is seed 000's instance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from v2gsim.config import load_scenario
from v2gsim.core.network import build_network
from v2gsim.experiments.runner import run_scenario
from v2gsim.optimize.bilevel.instance import DriverCluster
from v2gsim.specs.build import cluster_specs, default_instance

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
ALL = sorted(p.name for p in SCEN.glob("*.toml"))


def test_tang_mak_clusters_are_the_default_instance() -> None:
    """The scenario's [[drivers.clusters]] build exactly the bilevel default instance's clusters."""
    sc = load_scenario(SCEN / "tang_mak2024.toml")
    ref = default_instance()
    specs = cluster_specs(sc)
    assert [c.name for c in specs] == [c.name for c in ref.clusters] == ["commuters", "flexible"]
    np.testing.assert_array_equal([c.share for c in specs], ref.shares)
    assert sc.drivers.count == ref.fleet_size and sc.drivers.charger_kw == ref.psi
    assert sc.platform.chance.eta == ref.eta and sc.platform.chance.bound == ref.bound
    np.testing.assert_array_equal(sc.platform.bilevel.levels, ref.levels)
    for spec, want in zip(specs, ref.clusters, strict=True):
        got = DriverCluster.from_network(build_network(spec.network), spec.name)
        for attr in ("B", "f", "mu", "sigma", "plug_hour"):
            a, b = getattr(got, attr), getattr(want, attr)
            a = a.toarray() if hasattr(a, "toarray") else np.asarray(a)
            b = b.toarray() if hasattr(b, "toarray") else np.asarray(b)
            np.testing.assert_array_equal(a, b, err_msg=f"{spec.name}.{attr}")


@pytest.mark.parametrize("name", ALL)
def test_every_scenario_runs_two_days(name: str) -> None:
    sc = load_scenario(SCEN / name, days=2)
    missing = [text for _, text in sc.data_files() if not sc.resolve_path(text).exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{name}: data files missing: {missing}")
        pytest.skip(f"{name}: data files missing: {missing}")
    res = run_scenario(sc, progress=False)
    assert res.daily.shape[0] == 2
    assert res.hourly.shape[0] == 2 * sc.network.hours
    assert np.isfinite(res.summary["profit"])

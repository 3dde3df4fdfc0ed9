"""A driver cluster whose share rounds to no EV is legal (issue 30 item 5): it is dropped from the run.

Reproducers: ``tiny`` with two clusters of shares 0.01/0.99 (20 EVs: 0 and 20; an IndexError) and
``tang_mak2024 --set drivers.count=1`` (1 and 0 EVs; "shares must be 2 positive numbers").
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import step_model

from v2gsim.config import load_scenario
from v2gsim.config.loading import SCENARIO_DIR
from v2gsim.sim.agents.driver import cluster_sizes


def _two_clusters(tmp_path, policy: str):
    path = tmp_path / "empty.toml"
    path.write_text(f'''extends = "{(SCENARIO_DIR / "tiny.toml").as_posix()}"
days = 2
[platform]
policy = "{policy}"
[[drivers.clusters]]
name = "few"
share = 0.01
[[drivers.clusters]]
name = "most"
share = 0.99
''')
    return load_scenario(path)


def test_cluster_sizes_may_be_zero():
    assert cluster_sizes([0.01, 0.99], 20).tolist() == [0, 20]
    assert cluster_sizes([0.5, 0.5], 1).tolist() == [1, 0]


@pytest.mark.parametrize("policy", ["naive", "chance", "bilevel"])
def test_a_cluster_without_evs_is_dropped(tmp_path, policy):
    model = step_model(_two_clusters(tmp_path, policy))
    assert model.empty_clusters == ("few",)
    assert [g.name for g in model.clusters] == ["most"]
    assert [g.index for g in model.clusters] == [0]
    assert model.platform.beliefs.sizes.tolist() == [20.0]  # no belief of the empty cluster
    assert {d.cluster for d in model.drivers} == {"most"} and len(model.drivers) == 20
    daily = model.daily_table()
    assert len(daily) == 2 and np.isfinite(daily["profit"]).all()
    assert (daily["fallback_reason"] == "").all()


def test_empty_cluster_run_equals_the_one_cluster_run(tmp_path):
    """Dropped consistently: the run is the run of the remaining cluster alone."""
    a = step_model(_two_clusters(tmp_path, "chance"))
    b = step_model(SCENARIO_DIR / "tiny.toml", ["platform.policy=\"chance\""], days=2)
    cols = ["plugged", "bid_kw", "predicted_plugged", "capability_credit"]
    np.testing.assert_array_equal(a.hourly_table()[cols].to_numpy(), b.hourly_table()[cols].to_numpy())


def test_tang_mak_with_one_ev():
    model = step_model("tang_mak2024", ["drivers.count=1"], days=2)
    assert model.empty_clusters == ("flexible",)
    daily = model.daily_table()
    assert len(daily) == 2
    assert not daily["policy_status"].str.contains("fallback").any()
    assert (model.hourly_table()["bid_kw"] >= 0).all()


def test_default_instance_drops_a_cluster_of_share_zero():
    from v2gsim.optimize.bilevel import BilevelProblem
    from v2gsim.specs.build import default_instance

    inst = default_instance((0.0, 1.0), fleet_size=50.0)
    assert [c.name for c in inst.clusters] == ["flexible"] and inst.shares.tolist() == [1.0]
    sol = BilevelProblem(inst).solve("coordinate", time_limit=2.0)
    assert sol.bids.shape == (24,) and np.all(sol.bids <= inst.psi * sol.y @ inst.cluster_sizes + 1e-9)
    with pytest.raises(ValueError, match="shares"):
        default_instance((0.0, 0.0))

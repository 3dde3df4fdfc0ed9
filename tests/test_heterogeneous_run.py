"""A heterogeneous fleet end to end in the model; the default tables stay as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2gsim import load_scenario, run_scenario
from v2gsim.config.catalog import ev_catalog
from v2gsim.experiments.rundir import read_run, write_run
from v2gsim.reporting.figures import run_figures
from v2gsim.sim.records import DAILY_KEYS, HOURLY_KEYS

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def hetero():
    sc = load_scenario(SCEN / "heterogeneous.toml", ["drivers.count=40"], days=2)
    return sc, run_scenario(sc, progress=False)


def test_heterogeneous_scenario_runs_with_its_tables(hetero, tmp_path):
    sc, res = hetero
    h, d, f, soc = res.hourly, res.daily, res.fleet, res.soc
    assert set(HOURLY_KEYS) <= set(h.columns) and set(DAILY_KEYS) <= set(d.columns)
    # shares 0.3 / 0.4 / 0.3 of 40 EVs, each with its catalog capacity
    counts = f.groupby("model").size()
    assert counts.to_dict() == {"leaf_40": 12, "id3_pro": 16, "model_3_lr": 12}
    cap = f.groupby("model")["capacity_kwh"].unique().map(lambda v: v.tolist()).to_dict()
    cat = ev_catalog()
    assert cap == {"leaf_40": [cat["nissan_leaf_40"].usable_kwh],
                   "id3_pro": [cat["vw_id3_pro"].usable_kwh],
                   "model_3_lr": [cat["tesla_model_3_lr"].usable_kwh]}
    # degradation: the daily totals add up to the per-EV run totals, with the configured prices
    np.testing.assert_allclose(d["degradation_cost"],
                               0.02 * d["throughput_kwh"] + 0.05 * d["switches"])
    assert d["degradation_cost"].sum() == pytest.approx(f["degradation_cost"].sum())
    assert d["switches"].sum() == f["switches"].sum() > 0
    # the fleet charges: it draws energy from the grid; it feeds back at most the hour's net
    # regulation discharge (only the part an EV's own baseline charging does not cover)
    assert h["grid_import_kwh"].sum() > 0
    assert (h["grid_export_kwh"] <= h["net_discharge_kwh"].clip(lower=0) + 1e-9).all()
    # SOC sample: 20 EVs x 48 hours (the SOC stays in each model's window by construction); the
    # sample is the fleet's own state: its last hour is the fleet table's end SOC, EV by EV
    assert soc.shape[0] == 20 * 48 and soc.groupby("driver").size().eq(48).all()
    last = soc[(soc.day == 1) & (soc.hour == 23)].merge(f[["driver", "model", "soc"]], on="driver",
                                                        suffixes=("", "_f"))
    assert len(last) == 20
    np.testing.assert_array_equal(last.soc, last.soc_f)
    assert (soc.merge(f[["driver", "model"]], on="driver", suffixes=("", "_f"))
            .eval("model == model_f").all())
    out = write_run(tmp_path / "run", sc, h, d, f, res.summary, figures=True, soc=soc)
    assert {"soc_trajectories.png", "fleet_composition.png"} <= {
        p.name for p in (out / "figures").iterdir()}
    back = read_run(out)
    pd.testing.assert_frame_equal(back.soc, soc)


def test_default_tables_unchanged_and_degradation_alone_adds_its_columns():
    tiny = load_scenario(SCEN / "tiny.toml", days=2)
    plain = run_scenario(tiny, progress=False)
    assert not (set(HOURLY_KEYS) | set(DAILY_KEYS)) & (set(plain.hourly) | set(plain.daily))
    assert list(plain.fleet.columns[-4:]) == ["driver", "capacity_kwh", "energy_kwh", "soc"]
    assert plain.soc is None
    assert set(run_figures(plain.hourly, plain.daily, plain.fleet)) == {
        "plugged_and_bid_by_hour.png", "performance_score_by_day.png", "soc_distribution.png",
        "forecast_by_hour.png"}
    costed = run_scenario(load_scenario(SCEN / "tiny.toml", [
        "drivers.degradation.throughput_cost=0.03"], days=2), progress=False)
    # a degradation cost is reported, never acted on: the simulation is the same
    pd.testing.assert_frame_equal(costed.hourly, plain.hourly)
    pd.testing.assert_frame_equal(costed.daily[plain.daily.columns], plain.daily)
    assert "model" not in costed.fleet and costed.soc is None
    np.testing.assert_allclose(costed.daily["degradation_cost"],
                               0.03 * costed.daily["throughput_kwh"])
    assert (costed.daily["throughput_kwh"] > 0).all()

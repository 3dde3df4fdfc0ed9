"""Scenario calibration from plug-in frequencies (models.md C1-C4): round trips, files, real data."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared

from v2gsim.behavior.persistency import PersistencyModel
from v2gsim.behavior.place_calibration import _complete, place_arcs, plug_jacobian
from v2gsim.behavior.sessions import hourly_plug_frequency, read_sessions
from v2gsim.config import NetworkConfig, load_scenario
from v2gsim.core.network import build_network
from v2gsim.specs.build import network_template
from v2gsim.studies.calibrate import calibrate_place, calibrate_scenario, format_report, scenario_toml

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT = SCEN / "default.toml"


@pytest.fixture(scope="module")
def base_cfg() -> NetworkConfig:
    return load_scenario(DEFAULT).network


def with_plug_utility(cfg: NetworkConfig, place: str, values: list[float] | float) -> NetworkConfig:
    data = cfg.model_dump()
    for p in data["places"]:
        if p["name"] == place:
            p["plug_utility"] = values
            p["charger"] = True
    return NetworkConfig.model_validate(data)


def plug_y(cfg: NetworkConfig, place: str = "home") -> np.ndarray:
    net = build_network(network_template(cfg))
    hours, _, plug = place_arcs(net, place)
    res = PersistencyModel(net.incidence, net.supply, method="newton").solve(net.mu, net.sigma)
    y = np.zeros(net.hours)
    y[hours] = res.y[plug]
    return y


TRUE_HOME = [round(-0.3 + 0.8 * np.sin(2 * np.pi * h / 24) - 0.2 * np.cos(4 * np.pi * h / 24), 6)
             for h in range(24)]


def test_round_trip_recovers_plug_utilities(base_cfg):
    """ŷ from a scenario with known plug utilities; calibration from the default (−0.3) recovers them."""
    truth = with_plug_utility(base_cfg, "home", TRUE_HOME)
    y_hat = plug_y(truth)
    cal = calibrate_place(base_cfg, y_hat, "home")
    u = np.asarray(TRUE_HOME)
    assert np.max(np.abs(cal.plug_utility - u)) / np.max(np.abs(u)) < 1e-3
    assert cal.epsilon < 1e-6
    assert cal.converged and cal.identified and not cal.clipped
    np.testing.assert_allclose(cal.model_y, y_hat, atol=1e-8)
    np.testing.assert_allclose(cal.plug_utility_base, -0.3)
    assert cal.iterations["rounds"] >= 1  # the base scenario's completion is not the answer


def test_round_trip_from_truth_needs_no_iteration(base_cfg):
    truth = with_plug_utility(base_cfg, "home", TRUE_HOME)
    cal = calibrate_place(truth, plug_y(truth), "home")
    assert cal.iterations == {"rounds": 0, "newton": 0}
    np.testing.assert_allclose(cal.plug_utility, TRUE_HOME, atol=1e-9)
    assert cal.epsilon < 1e-8


def test_round_trip_work_place_with_window(base_cfg):
    """Work has plug arcs only in hours 6..19 (window [6, 20]); outside them ŷ must be 0."""
    true_work = [-1.0 + 0.05 * h for h in range(24)]
    truth = with_plug_utility(base_cfg, "work", true_work)
    y_hat = plug_y(truth, "work")
    start = with_plug_utility(base_cfg, "work", -0.5)
    cal = calibrate_place(start, y_hat, "work")
    np.testing.assert_array_equal(cal.hours, np.arange(6, 20))
    np.testing.assert_allclose(cal.plug_utility[6:20], true_work[6:20], rtol=1e-6, atol=1e-6)
    assert np.isnan(cal.plug_utility[:6]).all() and not cal.clipped
    assert cal.epsilon < 1e-6


def test_completion_is_a_feasible_flow_and_flags_clipping(base_cfg):
    net = build_network(network_template(base_cfg))
    _, stay, plug = place_arcs(net, "home")
    res = PersistencyModel(net.incidence, net.supply, method="newton").solve(net.mu, net.sigma)
    F = res.y[stay] + res.y[plug]
    target = np.full(24, 0.08)
    yh, above, below = _complete(res.y, stay, plug, target, 1e-3)
    np.testing.assert_allclose(net.incidence @ yh, net.supply, atol=1e-9)
    np.testing.assert_array_equal(above, 0.08 > (1 - 1e-3) * F)
    assert not below.any()
    np.testing.assert_allclose(yh[plug], np.minimum(0.08, (1 - 1e-3) * F))
    other = np.setdiff1d(np.arange(net.n_arcs), np.r_[stay, plug])
    np.testing.assert_array_equal(yh[other], res.y[other])


def test_jacobian_matches_finite_differences(base_cfg):
    net = build_network(network_template(base_cfg))
    _, _, plug = place_arcs(net, "home")
    model = PersistencyModel(net.incidence, net.supply, method="newton")
    res = model.solve(net.mu, net.sigma)
    J = plug_jacobian(model, res, net.sigma, plug)
    h = 1e-6
    fd = np.empty_like(J)
    for k, a in enumerate(plug):
        mu_p, mu_m = net.mu.copy(), net.mu.copy()
        mu_p[a] += h
        mu_m[a] -= h
        fd[:, k] = (model.solve(mu_p, net.sigma).y[plug] - model.solve(mu_m, net.sigma).y[plug]) / (2 * h)
    np.testing.assert_allclose(J, fd, atol=1e-6)


def test_unreachable_observation_is_clipped(base_cfg):
    obs = plug_y(base_cfg)
    obs[3] = 1.0  # every driver plugged in at 3 h: needs y_stay = 0, outside the open interval
    obs[12] = 0.0
    cal = calibrate_place(base_cfg, obs, "home")
    assert cal.clipped == {3: "above_flow", 12: "below_floor"}
    keep = np.setdiff1d(np.arange(24), [3, 12])
    np.testing.assert_allclose(cal.model_y[keep], obs[keep], atol=1e-6)


def test_bad_inputs(base_cfg):
    with pytest.raises(ValueError, match="24 values"):
        calibrate_place(base_cfg, np.zeros(23), "home")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibrate_place(base_cfg, np.full(24, 1.5), "home")
    with pytest.raises(ValueError, match="no plug-in arcs"):
        calibrate_place(base_cfg, np.zeros(24), "work")
    with pytest.raises(ValueError, match="not in the network"):
        calibrate_place(base_cfg, np.zeros(24), "gym")


def test_scenario_toml_round_trips():
    places = [{"name": 'h"o\\me é', "window": (0, 24), "charger": True, "utility": [0.1, 1e-5, -2.5],
               "sigma": 0.6, "plug_utility": [1 / 3, 2.0, float("inf")], "plug_sigma": None}]
    text = scenario_toml("../base.toml", "n", "d\nline", places, ["a comment"])
    data = tomllib.loads(text)
    assert data["extends"] == "../base.toml" and data["description"] == "d\nline"
    p = data["network"]["places"][0]
    assert p["name"] == 'h"o\\me é' and p["window"] == [0, 24] and p["charger"] is True
    assert p["utility"] == [0.1, 1e-5, -2.5] and p["plug_utility"][0] == 1 / 3
    assert "plug_sigma" not in p


def write_acn_like(path: Path, days: int = 20) -> None:
    """Synthetic ACN-format sessions: 5 drivers plugged in evenings/nights on most days."""
    rng = np.random.default_rng(11)
    rows = []
    for v in range(5):
        for d in range(days):
            if rng.random() < 0.3:
                continue
            start = pd.Timestamp("2021-06-01") + pd.Timedelta(days=d, hours=int(rng.integers(17, 23)))
            stop = start + pd.Timedelta(hours=int(rng.integers(2, 12)))
            rows.append({"session_id": f"s{v}-{d}", "station_id": "st", "user_id": str(100 + v),
                         "connection_time_local": str(start), "disconnect_time_local": str(stop)})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_calibrate_scenario_writes_an_extending_file(tmp_path):
    sessions = tmp_path / "data" / "sessions.csv"
    sessions.parent.mkdir()
    write_acn_like(sessions)
    out = tmp_path / "out" / "nested" / "calibrated.toml"
    report = calibrate_scenario(sessions, DEFAULT, out, place="home", source="auto")
    obs = hourly_plug_frequency(read_sessions(sessions))
    np.testing.assert_allclose(report["observed"], obs)
    # hours nobody was plugged in are clipped to the floor δ F_t (y = 0 needs σ = 0 on the arc)
    zero = {str(h) for h in np.flatnonzero(obs < 1e-3)}
    assert zero and report["clipped_hours"] == dict.fromkeys(zero, "below_floor")
    assert report["status"] == "clipped" and report["epsilon"] < 1e-6
    assert report["max_abs_error_unclipped"] < 1e-6 and report["max_abs_error"] < 1e-3 + 1e-6
    raw = tomllib.loads(out.read_text(encoding="utf-8"))
    assert (out.parent / raw["extends"]).resolve() == DEFAULT.resolve()
    assert raw["name"] == "default-calibrated-home"
    written, base = load_scenario(out), load_scenario(DEFAULT)
    # only home.plug_utility (and name/description/extends/source) differ from the base
    w, b = written.model_dump(), base.model_dump()
    for key in ("name", "description", "extends", "source"):
        w.pop(key), b.pop(key)
    w_home = w["network"]["places"][0].pop("plug_utility")
    b["network"]["places"][0].pop("plug_utility")
    assert w == b
    np.testing.assert_allclose(w_home, report["plug_utility"], rtol=0, atol=0)
    np.testing.assert_allclose(plug_y(written.network), obs, atol=1e-3 + 1e-6)
    assert json.loads(json.dumps(report)) == report
    text = format_report(report)
    assert "status clipped" in text and "below_floor" in text and "epsilon" in text
    assert len(text.splitlines()) > 24


def test_calibrate_scenario_rejects_clusters(tmp_path):
    scen = tmp_path / "clustered.toml"
    scen.write_text(
        f'extends = "{DEFAULT}"\n[[drivers.clusters]]\nname = "a"\nshare = 0.5\n'
        '[[drivers.clusters]]\nname = "b"\nshare = 0.5\n',
        encoding="utf-8",
    )
    sessions = tmp_path / "s.csv"
    write_acn_like(sessions, days=5)
    with pytest.raises(ValueError, match="clusters"):
        calibrate_scenario(sessions, scen, tmp_path / "o.toml")
    with pytest.raises(ValueError, match="gym"):
        calibrate_scenario(sessions, DEFAULT, tmp_path / "o.toml", place="gym")


def test_real_evwatts_home(tmp_path):
    path = require_shared("evwatts_houston_sessions/VehicleChargingSessions.csv")
    report = calibrate_scenario(path, DEFAULT, tmp_path / "evwatts_home.toml", place="home")
    assert report["source"] == "evwatts"
    assert report["status"] == "ok" and not report["clipped_hours"]
    assert report["max_abs_error_unclipped"] < 0.01
    assert report["max_abs_error"] < 1e-6
    assert report["epsilon"] < 1e-6
    assert len(report["plug_utility"]) == 24


def test_real_acn_work_enables_the_charger(tmp_path):
    path = require_shared("acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv")
    report = calibrate_scenario(path, DEFAULT, tmp_path / "acn_work.toml", place="work")
    assert report["charger_enabled"] and report["source"] == "acn"
    assert report["status"] == "clipped"
    assert set(report["clipped_hours"]) == {str(h) for h in [*range(6), *range(20, 24)]}
    assert set(report["clipped_hours"].values()) == {"no_plug_arc"}
    assert report["max_abs_error_unclipped"] < 0.01
    written = load_scenario(tmp_path / "acn_work.toml")
    assert written.network.place("work").charger

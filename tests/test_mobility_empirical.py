"""Sessions resampled from real ACN Caltech and EV WATTS sessions (behavior/mobility/empirical)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared
from scipy import stats

from v2gsim.behavior.mobility import (
    EmpiricalSessionSpec,
    SessionError,
    SessionPool,
    TruncNormal,
    Uniform,
    read_session_pool,
    resample_sessions,
)
from v2gsim.behavior.sessions import SessionFileError, read_acn_sessions, read_sessions

ACN = "acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv"
EVWATTS = "evwatts_houston_sessions/VehicleChargingSessions.csv"
N_SAMPLED = 20_000
SOC0 = TruncNormal(0.2, 0.65, 0.425, 0.1125)


def ks_critical(n: int, m: int, alpha: float = 0.01) -> float:
    """Asymptotic two-sample KS critical value c(α) √((n+m)/(nm)), c(α) = √(−ln(α/2)/2)."""
    return np.sqrt(-np.log(alpha / 2) / 2) * np.sqrt((n + m) / (n * m))


@pytest.fixture(scope="module")
def acn_pool() -> SessionPool:
    return read_session_pool(require_shared(ACN))


@pytest.fixture(scope="module")
def evwatts_pool() -> SessionPool:
    return read_session_pool(require_shared(EVWATTS))


def test_pool_of_a_hand_table():
    table = pd.DataFrame({
        "plug_in": pd.to_datetime(["2021-05-03 07:30", "2021-05-03 09:00", "2021-05-08 10:00",
                                   "2021-05-04 18:15", "2021-05-05 08:00"]),
        "plug_out": pd.to_datetime(["2021-05-03 17:00", "2021-05-03 09:00", "2021-05-08 12:00",
                                    "2021-05-05 07:45", "2021-05-06 09:00"]),
        "kwh_delivered": [10.0, 1.0, 4.0, 20.0, 30.0],
    })
    table.attrs["source"] = "hand"
    pool = SessionPool.from_table(table, weekdays_only=True)
    # dropped: the zero-length session, the 25-h one, then the Saturday one
    assert pool.dropped == {"nonpositive_stay": 1, "longer_than_max_sojourn": 1, "weekend": 1,
                            "missing_energy": 0}
    np.testing.assert_allclose(pool.arrival_h, [7.5, 18.25])
    np.testing.assert_allclose(pool.departure_h, [17.0, 31.75])  # overnight: 07:45 next day
    np.testing.assert_allclose(pool.energy_kwh, [10.0, 20.0])
    assert pool.source == "hand" and pool.has_energy
    no_energy = SessionPool.from_table(table.drop(columns="kwh_delivered"), max_sojourn_h=None)
    assert not no_energy.has_energy and no_energy.size == 4
    with pytest.raises(SessionError, match="kwh_delivered"):
        SessionPool.from_table(table.assign(kwh_delivered=[1.0, -2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(SessionError, match="empty"):
        SessionPool.from_table(table.iloc[[1]])


def test_resample_energy_bookkeeping_by_hand():
    pool = SessionPool(arrival_h=np.array([8.0, 9.5]), departure_h=np.array([12.0, 19.5]),
                       energy_kwh=np.array([6.0, 50.0]), source="hand")
    s = resample_sessions(np.random.default_rng(0), pool, 2000, capacity_kwh=40.0,
                          arrival_soc=Uniform(0.5, 0.5))
    small = s.arrival_h == 8.0
    assert 0 < small.sum() < len(s)
    # 6 kWh fits: e0 = 0.5 * 40 = 20, wanted 26; 50 kWh does not: e0 = 0, wanted = C = 40
    np.testing.assert_allclose(s.energy_arrival_kwh[small], 20.0)
    np.testing.assert_allclose(s.energy_wanted_kwh[small], 26.0)
    np.testing.assert_allclose(s.energy_arrival_kwh[~small], 0.0)
    np.testing.assert_allclose(s.energy_wanted_kwh[~small], 40.0)
    np.testing.assert_array_equal(s.departure_h[small], 12.0)  # rows, not marginals
    # a pool without energies needs a charging power: E = fill_kw * stay, capped by the battery
    bare = SessionPool(arrival_h=pool.arrival_h, departure_h=pool.departure_h,
                       energy_kwh=np.full(2, np.nan), source="bare")
    with pytest.raises(SessionError, match="fill_kw"):
        resample_sessions(np.random.default_rng(0), bare, 10, capacity_kwh=40.0, arrival_soc=SOC0)
    f = resample_sessions(np.random.default_rng(0), bare, 2000, capacity_kwh=40.0,
                          arrival_soc=Uniform(0.25, 0.25), fill_kw=3.0)
    short = f.arrival_h == 8.0
    np.testing.assert_allclose(f.energy_needed_kwh[short], 12.0)  # 3 kW * 4 h
    np.testing.assert_allclose(f.energy_arrival_kwh[~short], 10.0)  # 30 kWh fits above 10
    np.testing.assert_allclose(f.energy_wanted_kwh[~short], 40.0)
    with pytest.raises(SessionError, match="capacity_kwh"):
        resample_sessions(np.random.default_rng(0), pool, 2, capacity_kwh=[40.0], arrival_soc=SOC0)


def test_acn_reader_attaches_energy_to_its_session(tmp_path):
    p = tmp_path / "acn.csv"
    p.write_text(
        "session_id,station_id,user_id,connection_time_local,disconnect_time_local,kwh_delivered,"
        "kwh_requested\n"
        "s1,st-1,20,2021-05-02 13:00:00,2021-05-02 14:00:00,3.5,\n"
        "s2,st-2,10,2021-05-01 08:00:00,2021-05-01 17:00:00,9.25,12\n",
        encoding="utf-8",
    )
    t = read_acn_sessions(p, energy=True).set_index("session_id")  # sorted by vehicle: s2 first
    assert t.loc["s1", "kwh_delivered"] == 3.5 and np.isnan(t.loc["s1", "kwh_requested"])
    assert t.loc["s2", "kwh_delivered"] == 9.25 and t.loc["s2", "kwh_requested"] == 12.0
    assert "kwh_delivered" not in read_acn_sessions(p).columns
    requested = read_session_pool(p, energy_column="kwh_requested")
    assert requested.dropped["missing_energy"] == 1 and requested.energy_kwh.tolist() == [12.0]
    bad = tmp_path / "bad.csv"
    bad.write_text(p.read_text().replace("3.5", "lots"), encoding="utf-8")
    with pytest.raises(SessionFileError, match=str(bad)):
        read_acn_sessions(bad, energy=True)
    no_energy = tmp_path / "no_energy.csv"
    no_energy.write_text("session_id,station_id,user_id,connection_time_local,disconnect_time_local\n"
                         "s1,st-1,20,2021-05-02 13:00:00,2021-05-02 14:00:00\n", encoding="utf-8")
    with pytest.raises(SessionFileError, match="kwh_delivered"):
        read_sessions(no_energy, energy=True)


def _ks(sampled: np.ndarray, data: np.ndarray) -> tuple[float, float]:
    return stats.ks_2samp(sampled, data).statistic, ks_critical(sampled.size, data.size)


def test_acn_resampling_reproduces_the_data(acn_pool):
    assert acn_pool.size == 2112 and acn_pool.dropped["longer_than_max_sojourn"] == 2
    s = resample_sessions(np.random.default_rng(21), acn_pool, N_SAMPLED, capacity_kwh=100.0,
                          arrival_soc=SOC0)
    for sampled, data in [(s.arrival_h, acn_pool.arrival_h), (s.departure_h, acn_pool.departure_h),
                          (s.energy_needed_kwh, acn_pool.energy_kwh)]:
        d, crit = _ks(sampled, data)
        assert d < crit, (d, crit)
    # the energy is the data's exactly (every ACN session fits a 100 kWh battery)
    values = np.sort(acn_pool.energy_kwh)
    pos = np.clip(np.searchsorted(values, s.energy_needed_kwh), 1, values.size - 1)
    nearest = np.minimum(np.abs(values[pos] - s.energy_needed_kwh),
                         np.abs(values[pos - 1] - s.energy_needed_kwh))
    assert nearest.max() < 1e-9
    # rows, not marginals: the arrival-stay correlation of the data survives (-0.36)
    r_data = np.corrcoef(acn_pool.arrival_h, acn_pool.duration_h)[0, 1]
    r_s = np.corrcoef(s.arrival_h, s.duration_h)[0, 1]
    assert r_data < -0.3 and abs(r_s - r_data) < 4 * (1 - r_data**2) / np.sqrt(N_SAMPLED)
    # and a joint cell: morning arrivals staying over 4 h, binomial 3-SE band around the data's share
    p_data = np.mean((acn_pool.arrival_h < 12) & (acn_pool.duration_h > 4))
    p_s = np.mean((s.arrival_h < 12) & (s.duration_h > 4))
    assert abs(p_s - p_data) <= 3 * np.sqrt(p_data * (1 - p_data) / N_SAMPLED)
    p_indep = np.mean(acn_pool.arrival_h < 12) * np.mean(acn_pool.duration_h > 4)
    assert abs(p_indep - p_data) > 10 * np.sqrt(p_data * (1 - p_data) / N_SAMPLED)  # marginals would fail


def test_evwatts_resampling_reproduces_the_data(evwatts_pool):
    assert evwatts_pool.size == 6737 and not evwatts_pool.has_energy
    assert evwatts_pool.dropped == {"nonpositive_stay": 116, "longer_than_max_sojourn": 4}
    s = resample_sessions(np.random.default_rng(22), evwatts_pool, N_SAMPLED, capacity_kwh=60.0,
                          arrival_soc=SOC0, fill_kw=6.6)
    for sampled, data in [(s.arrival_h, evwatts_pool.arrival_h),
                          (s.departure_h, evwatts_pool.departure_h)]:
        d, crit = _ks(sampled, data)
        assert d < crit, (d, crit)
    fits = s.energy_needed_kwh < 60.0 - 1e-9
    np.testing.assert_allclose(s.energy_needed_kwh[fits], 6.6 * s.duration_h[fits])
    # (the wanted energy is capped at the battery by construction) a stay that would charge a full
    # battery or more arrives empty and leaves full
    assert (~fits).any() and (6.6 * s.duration_h[~fits] >= 60.0 - 1e-9).all()
    np.testing.assert_allclose(s.energy_arrival_kwh[~fits], 0.0)
    np.testing.assert_allclose(s.energy_wanted_kwh[~fits], 60.0)


def test_empirical_spec_round_trip():
    spec = EmpiricalSessionSpec(name="acn", path=str(require_shared(ACN)), source="acn",
                                capacity_kwh=80.0, arrival_soc=SOC0, weekdays_only=True,
                                slot_minutes=15, n_evs=50)
    pool = spec.load_pool()
    assert pool.dropped["weekend"] > 0 and pool.source == "acn"
    s = spec.sample(np.random.default_rng(1), pool, days=2)
    assert len(s) == 100 and s.slot_minutes == 15
    assert (s.departure_slot > s.arrival_slot).all() and (s.energy_wanted_kwh <= 80.0).all()

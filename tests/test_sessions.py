"""Session readers and hourly plug-in frequencies: hand-made tables, brute force, real files."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared

from v2gsim.behavior.sessions import (
    SESSION_COLUMNS,
    SessionFileError,
    detect_source,
    hourly_plug_frequency,
    hourly_plug_stats,
    read_acn_sessions,
    read_evwatts_sessions,
    read_sessions,
    slot_coverage,
)

EVWATTS = "evwatts_houston_sessions/VehicleChargingSessions.csv"
ACN = "acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv"


def table(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Tidy session table from (vehicle, plug_in, plug_out) local times."""
    return pd.DataFrame(
        {
            "session_id": [str(i) for i in range(len(rows))],
            "vehicle_id": [r[0] for r in rows],
            "station_id": ["s1"] * len(rows),
            "plug_in": pd.to_datetime([r[1] for r in rows]),
            "plug_out": pd.to_datetime([r[2] for r in rows]),
        }
    )


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Two vehicles over three days (hand-computed below).

    A: day 1 08:10-09:40 (h8: 50 min, h9: 40 min); day 1 22:45 - day 2 00:20 (h22: 15, h23: 60,
       day-2 h0: 20); day 3 10:00-11:00 (h10: 60).
    B: day 1 12:00-12:30 and 12:20-12:50 (overlap, merged to 12:00-12:50: h12: 50 min);
       a zero-length session on day 2.
    """
    return table(
        [
            ("A", "2021-06-01 08:10", "2021-06-01 09:40"),
            ("A", "2021-06-01 22:45", "2021-06-02 00:20"),
            ("A", "2021-06-03 10:00", "2021-06-03 11:00"),
            ("B", "2021-06-01 12:00", "2021-06-01 12:30"),
            ("B", "2021-06-01 12:20", "2021-06-01 12:50"),
            ("B", "2021-06-02 09:00", "2021-06-02 09:00"),
        ]
    )


def test_coverage_merges_overlaps_and_splits_midnight(tiny):
    cov, dropped = slot_coverage(tiny)
    assert dropped == 1
    got = {(u, int(d) - int(cov["day"].min()), int(s)): m for u, d, s, m in cov.itertuples(index=False)}
    assert got == pytest.approx(
        {
            ("A", 0, 8): 50.0, ("A", 0, 9): 40.0, ("A", 0, 22): 15.0, ("A", 0, 23): 60.0,
            ("A", 1, 0): 20.0, ("A", 2, 10): 60.0, ("B", 0, 12): 50.0,
        }
    )


def test_frequency_rules_and_denominators_by_hand(tiny):
    # window: A observed days 1..3 (3 days), B day 1 (1 day) -> 4 vehicle-days
    half = hourly_plug_stats(tiny, rule="half", days="window")
    assert half.n_days == 4 and half.n_units == 2 and half.n_dropped == 1 and half.n_sessions == 5
    expect = np.zeros(24)
    expect[[8, 9, 23, 10, 12]] = 1 / 4
    np.testing.assert_allclose(half.freq, expect)
    anyo = hourly_plug_frequency(tiny, rule="any", days="window")
    expect_any = expect.copy()
    expect_any[[0, 22]] = 1 / 4
    np.testing.assert_allclose(anyo, expect_any)
    frac = hourly_plug_frequency(tiny, rule="fraction", days="window")
    minutes = np.zeros(24)
    minutes[[8, 9, 22, 23, 0, 10, 12]] = [50, 40, 15, 60, 20, 60, 50]
    np.testing.assert_allclose(frac, minutes / 60 / 4)
    # active days: A on days 1, 2, 3; B on day 1 -> also 4; drop A's day 3 -> A active days 1, 2
    act = hourly_plug_stats(tiny.iloc[[0, 1, 3, 4]], rule="half", days="active")
    assert act.n_days == 3
    np.testing.assert_allclose(act.freq[[8, 9, 23, 12]], 1 / 3)
    np.testing.assert_allclose(act.stderr, np.sqrt(act.freq * (1 - act.freq) / 3))


def test_half_rule_boundary_and_multi_day_session():
    # exactly 30 minutes counts under "half"; a 48-h session covers every hour of two days
    t = table([("A", "2021-01-01 05:30", "2021-01-01 06:00"),
               ("B", "2021-01-05 00:00", "2021-01-07 00:00")])
    f = hourly_plug_stats(t, days="window")
    assert f.n_days == 1 + 2
    expect = np.full(24, 2 / 3)
    expect[5] += 1 / 3
    np.testing.assert_allclose(f.freq, expect)


def test_half_hour_slots():
    t = table([("A", "2021-01-01 05:10", "2021-01-01 06:20")])
    f = hourly_plug_frequency(t, hours=48, rule="fraction")
    expect = np.zeros(48)
    expect[[10, 11, 12]] = [20 / 30, 1.0, 20 / 30]
    np.testing.assert_allclose(f, expect)
    with pytest.raises(ValueError, match="divide 1440"):
        hourly_plug_frequency(t, hours=7)


def test_window_gap_removal():
    # sessions on days 0, 3 and 30: window 31 days; the 26-day silent run is dropped at 14
    t = table([("A", "2021-03-01 10:00", "2021-03-01 11:00"),
               ("A", "2021-03-04 10:00", "2021-03-04 11:00"),
               ("A", "2021-03-31 10:00", "2021-03-31 11:00")])
    assert hourly_plug_stats(t, max_gap_days=None).n_days == 31
    assert hourly_plug_stats(t, max_gap_days=14).n_days == 31 - 26
    assert hourly_plug_stats(t, max_gap_days=26).n_days == 31
    assert hourly_plug_stats(t, days="active").n_days == 3
    f = hourly_plug_stats(t, max_gap_days=14)
    assert f.freq[10] == pytest.approx(3 / 5)
    # a date filter keeps only days in [start, end]
    assert hourly_plug_stats(t, days="active", start="2021-03-02").n_days == 2


def test_fraction_rule_conserves_plugged_time():
    """Σ_t ŷ_t (fraction) × |D| × 60 = total merged plugged minutes (closed form)."""
    rng = np.random.default_rng(5)
    rows = []
    base = pd.Timestamp("2021-05-01")
    for v in range(6):
        for _ in range(15):
            s = base + pd.Timedelta(minutes=int(rng.integers(0, 20 * 1440)))
            rows.append((f"v{v}", str(s), str(s + pd.Timedelta(minutes=int(rng.integers(1, 3000))))))
    t = table(rows)
    st = hourly_plug_stats(t, rule="fraction", days="active")
    cov, _ = slot_coverage(t)
    assert st.plugged.sum() * 60 == pytest.approx(cov["minutes"].sum())
    # merged minutes by brute force on a minute grid
    total = 0
    for _, g in t.groupby("vehicle_id"):
        lo = g["plug_in"].min()
        grid = np.zeros(int((g["plug_out"].max() - lo) / pd.Timedelta(minutes=1)) + 1, bool)
        for a, b in zip(g["plug_in"], g["plug_out"], strict=True):
            grid[int((a - lo) / pd.Timedelta(minutes=1)) : int((b - lo) / pd.Timedelta(minutes=1))] = True
        total += grid.sum()
    assert cov["minutes"].sum() == pytest.approx(total)


def test_bad_options_and_tables(tiny):
    with pytest.raises(ValueError, match="rule"):
        hourly_plug_frequency(tiny, rule="most")
    with pytest.raises(ValueError, match="days"):
        hourly_plug_frequency(tiny, days="all")
    with pytest.raises(ValueError, match="unit"):
        hourly_plug_frequency(tiny, unit="session")
    with pytest.raises(ValueError, match="lacks columns"):
        hourly_plug_frequency(tiny.drop(columns="plug_out"))
    with pytest.raises(ValueError, match="no plugged-in time"):
        hourly_plug_frequency(tiny.iloc[[5]])
    st = hourly_plug_stats(tiny, unit="station_day")
    assert st.n_units == 1 and st.n_days == 3


# ----------------------------------------------------------------------------- readers


def test_evwatts_reader_converts_utc_to_central(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text(
        "id,vehicle_id,start_datetime,stop_datetime\n"
        "1,7,2021-07-01 17:00:00,2021-07-01 18:30:00\n"  # CDT = UTC-5
        "2,7,2021-01-04 18:00:00,2021-01-04 18:10:00\n"  # CST = UTC-6
        "3,8,2021-03-14 07:50:00,2021-03-14 08:10:00\n",  # spring forward 08:00 UTC
        encoding="utf-8",
    )
    s = read_evwatts_sessions(p)
    assert tuple(s.columns) == SESSION_COLUMNS
    assert s.attrs["source"] == "evwatts" and s.attrs["timezone"] == "America/Chicago"
    byid = s.set_index("session_id")
    assert byid.loc["1", "plug_in"] == pd.Timestamp("2021-07-01 12:00")
    assert byid.loc["1", "plug_out"] == pd.Timestamp("2021-07-01 13:30")
    assert byid.loc["2", "plug_in"] == pd.Timestamp("2021-01-04 12:00")
    assert byid.loc["3", "plug_in"] == pd.Timestamp("2021-03-14 01:50")
    assert byid.loc["3", "plug_out"] == pd.Timestamp("2021-03-14 03:10")  # 02:xx does not exist
    raw = read_evwatts_sessions(p, tz_from=None)
    assert raw.set_index("session_id").loc["1", "plug_in"] == pd.Timestamp("2021-07-01 17:00")
    assert detect_source(p) == "evwatts" and read_sessions(p).attrs["source"] == "evwatts"


def test_acn_reader_ids(tmp_path):
    p = tmp_path / "acn.csv"
    cols = "session_id,station_id,user_id,connection_time_local,disconnect_time_local,kwh_delivered"
    p.write_text(
        cols + "\n"
        "s1,st-1,000000915,2021-05-01 13:42:47,2021-05-01 14:32:12,3.0\n"
        "s2,st-2,,2021-05-02 08:00:00,2021-05-02 17:00:00,9.0\n",
        encoding="utf-8",
    )
    s = read_acn_sessions(p)
    assert sorted(s["vehicle_id"]) == ["915", "session:s2"]
    assert s.attrs["source"] == "acn"
    assert detect_source(p) == "acn"
    f = hourly_plug_stats(s, days="active")
    # s1: 18 min in h13 (not counted), 32 min in h14 (counted); s2: h8..h16
    assert f.n_days == 2
    assert f.freq[13] == pytest.approx(0.5) and f.freq[14] == pytest.approx(1.0) and f.freq[17] == 0.0


def test_bad_files_name_file_and_columns(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("id,vehicle_id,start\n1,2,2021-01-01\n", encoding="utf-8")
    with pytest.raises(SessionFileError) as exc:
        read_evwatts_sessions(p)
    msg = str(exc.value)
    assert str(p) in msg and "start_datetime" in msg and "stop_datetime" in msg
    assert isinstance(exc.value, ValueError)
    with pytest.raises(SessionFileError, match="connection_time_local"):
        read_acn_sessions(p)
    with pytest.raises(SessionFileError, match="unknown session format"):
        read_sessions(p)
    with pytest.raises(SessionFileError, match="no such file"):
        read_sessions(tmp_path / "missing.csv")
    q = tmp_path / "times.csv"
    q.write_text("id,vehicle_id,start_datetime,stop_datetime\n1,2,yesterday,2021-01-01\n", encoding="utf-8")
    with pytest.raises(SessionFileError, match="start_datetime"):
        read_evwatts_sessions(q)
    with pytest.raises(ValueError, match="unknown session source"):
        read_sessions(q, source="csv")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- real files


def _brute_force(sessions: pd.DataFrame, max_gap_days: float) -> tuple[np.ndarray, int]:
    """Independent minute-grid implementation of rule "half", days "window"."""
    plugged = np.zeros(24)
    n_days = 0
    one = pd.Timedelta(minutes=1)
    for _, g in sessions.groupby("vehicle_id"):
        g = g[g["plug_out"] > g["plug_in"]]
        if g.empty:
            continue
        day0 = g["plug_in"].min().normalize()
        n = int((g["plug_out"].max().normalize() - day0).days) + 2
        grid = np.zeros(n * 1440, bool)
        for a, b in zip(g["plug_in"], g["plug_out"], strict=True):
            grid[int((a - day0) / one) : int(np.ceil((b - day0) / one))] = True
        per_hour = grid.reshape(n, 24, 60).sum(axis=2)  # minutes per day and hour
        active = np.flatnonzero(per_hour.sum(axis=1) > 0)
        keep = np.zeros(n, bool)
        keep[active[0] : active[-1] + 1] = True
        for a, b in itertools.pairwise(active):
            if b - a - 1 > max_gap_days:
                keep[a + 1 : b] = False
        n_days += keep.sum()
        plugged += (per_hour[keep] >= 30).sum(axis=0)
    return plugged / n_days, n_days


def test_evwatts_real_file():
    s = read_evwatts_sessions(require_shared(EVWATTS))
    assert len(s) == 6857 and s["vehicle_id"].nunique() == 36
    st = hourly_plug_stats(s)
    assert st.freq.shape == (24,) and np.all((st.freq > 0) & (st.freq < 1))
    assert st.n_dropped == 116 and st.n_units == 36
    # an independent minute-grid computation on eight vehicles agrees exactly
    sub = s[s["vehicle_id"].isin(sorted(s["vehicle_id"].unique())[:8])]
    bf, nd = _brute_force(sub, 14)
    st_sub = hourly_plug_stats(sub)
    assert st_sub.n_days == nd
    np.testing.assert_allclose(st_sub.freq, bf, atol=1e-12)
    # "active" conditions on charging days: larger than "window" in every hour
    assert np.all(hourly_plug_frequency(s, days="active") > st.freq)


def test_acn_real_file():
    s = read_acn_sessions(require_shared(ACN))
    assert len(s) == 2114
    assert s["vehicle_id"].str.startswith("session:").sum() == 203
    f = hourly_plug_frequency(s)
    assert 9 <= int(np.argmax(f)) <= 16  # a workplace: plugged in during working hours
    assert f[8:17].min() > 5 * f[0:5].max()

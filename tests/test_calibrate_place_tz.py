"""Calibration fits the place and the clock it says it fits (issue 31, item 9).

* ``--tz`` converts session times to a local clock before hourly binning: on hand-made session
  tables the arrival histogram and the plugged-in counts move by the zones' known offset (DST
  included);
* the arrival-profile rule (share of plug-ins in 06:00-11:00 local time) warns when a workplace-like
  profile is fitted as home, and the reverse;
* the place defaults to the source's (ACN-Data: work), and the console, the JSON report and the
  written TOML name the place and the time zones;
* the real ACN-Data file: the default fit is the workplace, without warning; fitted as home, it warns.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared

from v2gsim.behavior.place_calibration import WORKPLACE_MORNING_SHARE, arrival_profile
from v2gsim.behavior.sessions import hourly_plug_stats, read_sessions
from v2gsim.cli import main
from v2gsim.studies.calibrate import calibrate_scenario, format_report, place_kind

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "default.toml"
ACN = "acn_caltech_sessions_2021/acn_caltech_sessions_2021_flat.csv"


def write_acn(path: Path, arrival_hours: list[int], stay_h: int, start: str = "2021-06-01",
              days: int = 10) -> None:
    """ACN-format sessions: one user per arrival hour, plugged in every day at that local hour."""
    rows = []
    for u, h in enumerate(arrival_hours):
        for d in range(days):
            t_in = pd.Timestamp(start) + pd.Timedelta(days=d, hours=h, minutes=5)
            rows.append({"session_id": f"s{u}-{d}", "station_id": "st", "user_id": str(100 + u),
                         "connection_time_local": str(t_in),
                         "disconnect_time_local": str(t_in + pd.Timedelta(hours=stay_h))})
    pd.DataFrame(rows).to_csv(path, index=False)


def write_evwatts(path: Path, start_hours: list[int], start: str, days: int = 5) -> None:
    """EV WATTS-format sessions (naive times, as the file has them): one vehicle per start hour."""
    rows = []
    for v, h in enumerate(start_hours):
        for d in range(days):
            t = pd.Timestamp(start) + pd.Timedelta(days=d, hours=h, minutes=10)
            rows.append({"id": f"{v}-{d}", "vehicle_id": f"v{v}", "start_datetime": str(t),
                         "stop_datetime": str(t + pd.Timedelta(hours=3))})
    pd.DataFrame(rows).to_csv(path, index=False)


def hour_counts(sessions: pd.DataFrame) -> np.ndarray:
    return arrival_profile(sessions["plug_in"].dt.hour.to_numpy()).counts


# ----------------------------------------------------------------------------- the time zone


@pytest.mark.parametrize(("start", "offset"), [("2021-01-11", -6), ("2021-07-12", -5)])
def test_evwatts_times_move_by_the_zone_offset(tmp_path, start, offset):
    """UTC file times: the America/Chicago histogram is the UTC one moved by -6 h (CST) / -5 h (CDT)."""
    p = tmp_path / "ev.csv"
    hours = [0, 3, 3, 8, 15, 16, 16, 16, 22]
    write_evwatts(p, hours, start)
    utc = read_sessions(p, tz="UTC")
    local = read_sessions(p)  # the source's default: UTC -> America/Chicago
    assert local.attrs["timezone"] == "America/Chicago" and local.attrs["data_timezone"] == "UTC"
    assert not local.attrs["timezone_stated"]
    expected = np.bincount(hours, minlength=24) * 5
    np.testing.assert_array_equal(hour_counts(utc), expected)
    np.testing.assert_array_equal(hour_counts(local), np.roll(expected, offset))
    # plugged-in vehicle-days per slot move by the same offset (3-h sessions, 24 slots)
    np.testing.assert_allclose(hourly_plug_stats(local).plugged,
                               np.roll(hourly_plug_stats(utc).plugged, offset))
    # --data-tz: the file's times taken as Chicago clock times are not moved
    as_local = read_sessions(p, data_tz="America/Chicago")
    np.testing.assert_array_equal(hour_counts(as_local), expected)


def test_acn_local_times_converted_to_another_zone(tmp_path):
    """ACN local (Los Angeles, PDT in June) -> UTC is +7 h, -> Asia/Tokyo +16 h."""
    p = tmp_path / "acn.csv"
    hours = [7, 8, 8, 9, 13, 18]
    write_acn(p, hours, stay_h=4)
    la = read_sessions(p)
    assert la.attrs["timezone"] == la.attrs["data_timezone"] == "America/Los_Angeles"
    assert la.attrs["timezone_stated"]
    for tz, offset in (("UTC", 7), ("Asia/Tokyo", 16)):
        moved = read_sessions(p, tz=tz)
        assert moved.attrs["timezone"] == tz
        np.testing.assert_array_equal(hour_counts(moved), np.roll(hour_counts(la), offset))
        np.testing.assert_allclose(hourly_plug_stats(moved).plugged,
                                   np.roll(hourly_plug_stats(la).plugged, offset))


def test_calibration_report_bins_in_the_given_zone(tmp_path):
    p = tmp_path / "acn.csv"
    write_acn(p, [7, 8, 8, 9, 10], stay_h=6)
    local = calibrate_scenario(p, DEFAULT, tmp_path / "la.toml")
    utc = calibrate_scenario(p, DEFAULT, tmp_path / "utc.toml", tz="UTC")
    assert local["timezone"]["local"] == "America/Los_Angeles" and utc["timezone"]["local"] == "UTC"
    np.testing.assert_array_equal(utc["arrival_profile"]["counts"],
                                  np.roll(local["arrival_profile"]["counts"], 7))
    # the hours are not the site's clock: said, in the report and in the written file
    assert not local["warnings"]
    assert any("not in the site's local zone America/Los_Angeles" in w for w in utc["warnings"])
    header = (tmp_path / "utc.toml").read_text(encoding="utf-8")
    assert "clock hours in UTC" in header and "# WARNING: clock hours are counted in UTC" in header


def test_unknown_zone_is_refused(tmp_path):
    p = tmp_path / "acn.csv"
    write_acn(p, [8], stay_h=2, days=2)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        read_sessions(p, tz="Mars/Olympus")
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", str(p), "--out", str(tmp_path / "o.toml"), "--tz", "Mars/Olympus"])
    assert exc.value.code == 2


# ----------------------------------------------------------------------------- the place


def test_arrival_profile_rule_by_hand():
    prof = arrival_profile([6, 7, 10, 11, 18, 19, 20, 23])
    assert prof.counts[[6, 7, 10, 11]].tolist() == [1, 1, 1, 1] and prof.counts.sum() == 8
    assert prof.morning_share == 3 / 8 and prof.looks_like == "workplace"
    # exactly at the threshold counts as a workplace; one plug-in fewer in the window does not
    assert arrival_profile([8, 17, 18, 19]).morning_share == WORKPLACE_MORNING_SHARE
    assert arrival_profile([8, 17, 18, 19]).looks_like == "workplace"
    assert arrival_profile([5, 11, 17, 18]).looks_like == "home"  # 05:xx and 11:xx are outside
    with pytest.raises(ValueError, match=r"0\.\.23"):
        arrival_profile([24])
    with pytest.raises(ValueError, match="no sessions"):
        arrival_profile([])
    assert place_kind("Home") == "home" and place_kind("work") == "workplace" and place_kind("other") is None


def test_workplace_profile_fitted_as_home_warns(tmp_path, capsys):
    p = tmp_path / "acn.csv"
    write_acn(p, [7, 8, 8, 9, 9, 10, 17], stay_h=8)
    home = calibrate_scenario(p, DEFAULT, tmp_path / "home.toml", place="home")
    assert home["place"] == "home" and home["place_origin"] == "given"
    assert home["arrival_profile"]["looks_like"] == "workplace"
    assert home["arrival_profile"]["morning_share"] == pytest.approx(6 / 7)
    (warning,) = home["warnings"]
    assert "look like a workplace's, not a home's" in warning and "85.7 %" in warning
    assert "--data-tz" not in warning  # ACN states its zone
    text = format_report(home)
    assert text.splitlines()[0] == (f"calibration of plug-in utilities at 'home': status {home['status']}, "
                                    "1 warning(s) below")
    assert f"WARNING: {warning}" in text
    assert f"# WARNING: {warning}" in (tmp_path / "home.toml").read_text(encoding="utf-8")
    # the default place of ACN-Data is the workplace: no warning there
    work = calibrate_scenario(p, DEFAULT, tmp_path / "work.toml")
    assert work["place"] == "work" and work["place_origin"] == "default for acn sessions"
    assert work["warnings"] == [] and work["charger_enabled"]
    # the CLI with --json: the report on stdout, the warning on stderr
    assert main(["calibrate", str(p), "--place", "home", "--out", str(tmp_path / "c.toml"), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["warnings"] == [warning] and f"WARNING: {warning}" in err


def test_home_profile_fitted_at_work_warns_and_names_the_assumed_zone(tmp_path):
    """EV WATTS states no zone: a mismatch warning also points at --data-tz."""
    p = tmp_path / "ev.csv"
    write_evwatts(p, [22, 23, 23, 0, 1, 14], "2021-07-12")  # UTC: 17-20 h and 9 h in Chicago (CDT)
    report = calibrate_scenario(p, DEFAULT, tmp_path / "work.toml", place="work")
    assert report["arrival_profile"]["looks_like"] == "home"
    assert report["timezone"] == {
        "local": "America/Chicago", "data": "UTC", "data_origin": "assumed: not stated by the source",
        "site": "America/Chicago",
        "source_note": report["timezone"]["source_note"]}
    assert "EV WATTS does not state its time zone" in report["timezone"]["source_note"]
    (warning,) = report["warnings"]
    assert "look like a home's, not a workplace's" in warning and "give --data-tz" in warning
    text = format_report(report)
    assert "place     'work' (given)" in text
    assert "clock     hours in America/Chicago (file times in UTC, assumed: not stated by the source)" in text


# ----------------------------------------------------------------------------- the real ACN file


def test_real_acn_default_fit_is_the_workplace(tmp_path, capsys):
    path = require_shared(ACN)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "acn.toml")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("calibration of plug-in utilities at 'work': status clipped\n")
    assert "place     'work' (default for acn sessions)" in text
    assert "clock     hours in America/Los_Angeles (file times in America/Los_Angeles, stated by the " \
           "source)" in text
    assert "WARNING" not in text
    header = (tmp_path / "acn.toml").read_text(encoding="utf-8")
    assert "Fitted place 'work' (default for acn sessions); clock hours in America/Los_Angeles" in header
    # fitted at home, the same sessions warn: 38 % of the plug-ins fall in 06:00-11:00
    home = calibrate_scenario(path, DEFAULT, tmp_path / "home.toml", place="home")
    assert home["arrival_profile"]["morning_share"] > 0.35
    assert len(home["warnings"]) == 1 and "not a home's" in home["warnings"][0]


def test_unknown_place_is_one_line_and_exit_2(tmp_path, capsys):
    p = tmp_path / "acn.csv"
    write_acn(p, [7, 8, 9, 17], stay_h=8)
    out = tmp_path / "x.toml"
    assert main(["calibrate", str(p), "--place", "nowhere", "--out", str(out)]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "place 'nowhere' not in the network" in text and "Traceback" not in text
    assert not out.exists()

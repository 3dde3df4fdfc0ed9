"""Readers of real plug-in session logs into one tidy table (models.md §1.3).

Both readers return :data:`SESSION_COLUMNS`, one row per session, times as *naive local wall-clock*
``datetime64``:

* :func:`read_evwatts_sessions`: EV WATTS vehicle sessions (Houston, TX; DOE EV WATTS public data
  via Texas A&M). The file does not state its time zone; its start-hour histogram fits UTC better
  than local time, so times are read as ``tz_from="UTC"`` and converted to ``tz_to=
  "America/Chicago"`` (DST-aware). Each vehicle is one ``vehicle_id``.
* :func:`read_acn_sessions`: Caltech ACN-Data (a workplace garage), the flat CSV with local
  (America/Los_Angeles) connection/disconnection times. ``vehicle_id`` is the ACN ``user_id``;
  sessions without a user (about 10 %) get the id ``"session:<session_id>"``, i.e. each counts as
  its own vehicle.

:func:`read_sessions` reads either format (:func:`detect_source` tells them apart by the header).

**Time zones.** Hourly plug-in frequencies are counted in clock hours, so the zone matters.
:data:`SOURCE_ZONES` states, per format, the zone its naive timestamps are written in (``data_tz``;
EV WATTS: UTC, *assumed*; ACN: America/Los_Angeles, stated by the source), the site's local zone
(``local_tz``) and the kind of place the sessions come from. ``read_sessions(..., tz=, data_tz=)``
converts ``data_tz`` to ``tz`` (IANA names, :func:`check_timezone`) before anything is binned; the
table's ``attrs`` record both (``timezone``, ``data_timezone``) and whether the file's zone is
stated by the source (``timezone_stated``).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from v2gsim.core.datafiles import DataFileError, csv_header, numeric_column, read_csv

__all__ = [
    "ACN_COLUMNS",
    "ACN_ENERGY_COLUMNS",
    "EVWATTS_COLUMNS",
    "MAX_SESSION_KWH",
    "SESSION_COLUMNS",
    "SOURCE_ZONES",
    "SessionFileError",
    "Source",
    "SourceZones",
    "check_timezone",
    "detect_source",
    "read_acn_sessions",
    "read_evwatts_sessions",
    "read_sessions",
    "to_local",
]

#: Columns of the tidy session table returned by every reader.
SESSION_COLUMNS: tuple[str, ...] = ("session_id", "vehicle_id", "station_id", "plug_in", "plug_out")

EVWATTS_COLUMNS: tuple[str, ...] = ("id", "vehicle_id", "start_datetime", "stop_datetime")
ACN_COLUMNS: tuple[str, ...] = (
    "session_id",
    "station_id",
    "user_id",
    "connection_time_local",
    "disconnect_time_local",
)
#: Energy columns of the ACN-Data CSV read by ``read_acn_sessions(..., energy=True)`` (kWh).
ACN_ENERGY_COLUMNS: tuple[str, ...] = ("kwh_delivered", "kwh_requested")

#: Largest energy of one session a file may state (kWh).
MAX_SESSION_KWH = 10_000.0

#: The session formats the readers know.
Source = Literal["evwatts", "acn"]


@dataclass(frozen=True)
class SourceZones:
    """What a session format's documentation says about its clock and its place.

    Attributes:
        data_tz: IANA zone the file's naive timestamps are written in.
        local_tz: IANA zone of the site (the clock hours are counted in by default).
        stated: whether the source states ``data_tz`` (False: it is an inference).
        place: the network place the sessions are from (``"home"``, ``"work"``).
        note: where ``data_tz`` comes from (one sentence).
    """

    data_tz: str
    local_tz: str
    stated: bool
    place: str
    note: str


#: Documented zones and place of each format (see the data folders' SOURCE.md).
SOURCE_ZONES: dict[str, SourceZones] = {
    "evwatts": SourceZones(
        "UTC", "America/Chicago", False, "home",
        "EV WATTS does not state its time zone; UTC is inferred from its start-hour histogram "
        "(SOURCE.md of evwatts_houston_sessions)"),
    "acn": SourceZones(
        "America/Los_Angeles", "America/Los_Angeles", True, "work",
        "ACN-Data's connection_time_local columns are America/Los_Angeles wall-clock times "
        "(a workplace garage at Caltech)"),
}


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time-zone name known to this machine (e.g. ``America/Chicago``).

    Raises:
        ValueError: an unknown or malformed name.
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as "
                         "America/Los_Angeles, America/Chicago or UTC") from None
    return name


def to_local(t: pd.Series, data_tz: str, tz: str) -> pd.Series:
    """Naive wall-clock times in ``data_tz`` as naive wall-clock times in ``tz``.

    Unchanged when the zones are equal. A wall-clock time that ``data_tz`` repeats at a DST
    fall-back is read as standard time; one it skips at a spring-forward is moved to the first
    valid instant after the gap.

    Args:
        t: naive timestamps.
        data_tz: IANA zone the timestamps are written in.
        tz: IANA zone to express them in.

    Returns:
        Naive timestamps (the same index).
    """
    if data_tz == tz:
        return t
    aware = t.dt.tz_localize(check_timezone(data_tz), ambiguous=np.zeros(len(t), dtype=bool),
                             nonexistent="shift_forward")
    return aware.dt.tz_convert(check_timezone(tz)).dt.tz_localize(None)


class SessionFileError(DataFileError):
    """A session file cannot be used: missing, not a regular file, too large, not UTF-8, malformed
    CSV, missing columns, bad timestamps or energies. ``str(error)`` is ``PATH: reason``
    (:class:`~v2gsim.core.datafiles.DataFileError`; the message never shows the file's contents)."""


def _read_csv(path: str | Path, required: tuple[str, ...], kind: str) -> pd.DataFrame:
    """The CSV at ``path`` as strings, checked to hold the ``required`` columns of a ``kind`` file
    (:func:`v2gsim.core.datafiles.read_csv`: a regular UTF-8 file of at most
    :data:`~v2gsim.core.datafiles.MAX_CSV_BYTES`, every line complete, at least one session)."""
    return read_csv(path, required, dtype=str, what=f"{kind} session file", error=SessionFileError)


def _parse_times(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Timestamps of one column (naive, as written), or a SessionFileError naming the first bad
    line (never its value)."""
    t = pd.to_datetime(values, errors="coerce", format="mixed")
    if t.isna().any():
        bad = t.isna().to_numpy()
        line = int(np.asarray(values.index)[np.flatnonzero(bad)[0]]) + 2
        why = "is missing" if values.isna().to_numpy()[bad].all() else "is not a timestamp"
        raise SessionFileError(path, f"line {line}: column {column!r} {why} ({int(bad.sum())} "
                               "such value(s))")
    return t


def _tidy(session_id: pd.Series, vehicle: pd.Series, station: pd.Series, t_in: pd.Series,
          t_out: pd.Series, source: str, path: Path, tz: str, data_tz: str | None = None) -> pd.DataFrame:
    """The tidy table (:data:`SESSION_COLUMNS`) sorted by vehicle and plug-in time, with ``attrs``."""
    df = pd.DataFrame(
        {
            "session_id": session_id.astype(str).to_numpy(),
            "vehicle_id": vehicle.astype(str).to_numpy(),
            "station_id": station.astype(object).to_numpy(),
            "plug_in": t_in.to_numpy(dtype="datetime64[ns]"),
            "plug_out": t_out.to_numpy(dtype="datetime64[ns]"),
        }
    )
    df = df.sort_values(["vehicle_id", "plug_in"], kind="stable").reset_index(drop=True)
    zones = SOURCE_ZONES[source]
    data_tz = tz if data_tz is None else data_tz
    df.attrs.update({"source": source, "path": str(path), "timezone": tz, "data_timezone": data_tz,
                     "timezone_stated": zones.stated and data_tz == zones.data_tz})
    return df


def read_evwatts_sessions(
    path: str | Path, tz_from: str | None = "UTC", tz_to: str = "America/Chicago"
) -> pd.DataFrame:
    """Read the EV WATTS vehicle-session CSV (``VehicleChargingSessions.csv``).

    Args:
        path: CSV with columns ``id, vehicle_id, start_datetime, stop_datetime`` (10-min resolution).
        tz_from: time zone the file's naive timestamps are in (not stated by the source; UTC is the
            better fit of the start-hour histogram). ``None`` takes them as local already.
        tz_to: local time zone the plug times are converted to (Houston: America/Chicago).

    Returns:
        Tidy table with :data:`SESSION_COLUMNS`; ``plug_in``/``plug_out`` are naive local wall-clock
        times in ``tz_to`` (DST applied); ``station_id`` is missing (None). ``attrs`` holds
        ``source="evwatts"``, ``path``, ``timezone`` (``tz_to``, or ``"local"`` when ``tz_from`` is
        None), ``data_timezone`` and ``timezone_stated`` (always False: EV WATTS states no zone).

    Raises:
        SessionFileError: file missing/unreadable, missing columns, or bad timestamps.
    """
    p = Path(path)
    df = _read_csv(p, EVWATTS_COLUMNS, "EV WATTS")
    t_in = _parse_times(df["start_datetime"], p, "start_datetime")
    t_out = _parse_times(df["stop_datetime"], p, "stop_datetime")
    if tz_from is not None:
        t_in, t_out = to_local(t_in, tz_from, tz_to), to_local(t_out, tz_from, tz_to)
    station = pd.Series([None] * len(df), dtype=object)
    if tz_from is None:
        return _tidy(df["id"], df["vehicle_id"], station, t_in, t_out, "evwatts", p, "local")
    return _tidy(df["id"], df["vehicle_id"], station, t_in, t_out, "evwatts", p, tz_to, tz_from)


def read_acn_sessions(path: str | Path, *, energy: bool = False, tz: str | None = None,
                      data_tz: str = "America/Los_Angeles") -> pd.DataFrame:
    """Read the flat Caltech ACN-Data CSV (``acn_caltech_sessions_2021_flat.csv``).

    Args:
        path: CSV with ``session_id, station_id, user_id, connection_time_local,
            disconnect_time_local`` (local America/Los_Angeles wall-clock times).
        energy: also read :data:`ACN_ENERGY_COLUMNS` (``kwh_delivered``, the energy the session
            delivered, and ``kwh_requested``, the driver's last request in the app, kWh; missing
            requests are NaN) and append them to the table.
        tz: IANA zone the plug times are converted to (default: ``data_tz``, no conversion).
        data_tz: IANA zone of the file's ``*_local`` columns (the source states America/Los_Angeles).

    Returns:
        Tidy table with :data:`SESSION_COLUMNS` (plus the energy columns with ``energy=True``);
        ``vehicle_id`` is the ACN user id, or ``"session:<session_id>"`` for sessions without one
        (each its own vehicle).

    Raises:
        SessionFileError: file missing/unreadable, missing columns, bad timestamps, or (with
            ``energy=True``) non-numeric, negative or missing delivered energies.
    """
    p = Path(path)
    tz = data_tz if tz is None else tz
    df = _read_csv(p, ACN_COLUMNS + (ACN_ENERGY_COLUMNS if energy else ()), "ACN-Data")
    t_in = to_local(_parse_times(df["connection_time_local"], p, "connection_time_local"), data_tz, tz)
    t_out = to_local(_parse_times(df["disconnect_time_local"], p, "disconnect_time_local"), data_tz, tz)
    raw = df["user_id"].str.strip()
    anon = raw.isna() | (raw == "")
    # "000000915" and "915.0" are the same user 915
    user = raw.str.replace(r"\.0$", "", regex=True).str.lstrip("0").replace("", "0")
    vehicle = user.where(~anon, "session:" + df["session_id"].astype(str))
    tidy = _tidy(df["session_id"], vehicle, df["station_id"], t_in, t_out, "acn", p, tz, data_tz)
    if not energy:
        return tidy
    kwh = {c: _parse_kwh(df[c], p, c, allow_missing=c != "kwh_delivered") for c in ACN_ENERGY_COLUMNS}
    # _tidy sorts by vehicle and plug-in time: carry the energies along by session id
    by_id = pd.DataFrame(kwh).set_axis(df["session_id"].astype(str).to_numpy())
    if by_id.index.has_duplicates:
        raise SessionFileError(p, "duplicate session_id values; cannot attach energies")
    for c in ACN_ENERGY_COLUMNS:
        tidy[c] = by_id[c].reindex(tidy["session_id"]).to_numpy()
    return tidy


def _parse_kwh(values: pd.Series, path: Path, column: str, allow_missing: bool) -> NDArray[np.float64]:
    """Energies of one column (kWh, finite, in [0, :data:`MAX_SESSION_KWH`]; NaN where missing and
    ``allow_missing``)."""
    return numeric_column(values.to_frame(), column, path, low=0.0, high=MAX_SESSION_KWH,
                          missing_ok=allow_missing, unit="kWh", error=SessionFileError).to_numpy()


def detect_source(path: str | Path) -> Source:
    """Tell the session format of a CSV from its header (only the file's first 64 KiB are read).

    Args:
        path: a CSV file.

    Returns:
        ``"evwatts"`` or ``"acn"``.

    Raises:
        SessionFileError: not a readable CSV, or a header matching neither format.
    """
    p = Path(path)
    cols = set(csv_header(p, what="session file", error=SessionFileError))
    if set(EVWATTS_COLUMNS) <= cols:
        return "evwatts"
    if set(ACN_COLUMNS) <= cols:
        return "acn"
    raise SessionFileError(
        p, f"unknown session format: need the EV WATTS columns {list(EVWATTS_COLUMNS)} or the "
        f"ACN-Data columns {list(ACN_COLUMNS)} in the first line")


def read_sessions(path: str | Path, source: Literal["evwatts", "acn", "auto"] = "auto", *,
                  energy: bool = False, tz: str | None = None, data_tz: str | None = None) -> pd.DataFrame:
    """Read a session file of either format (``source="auto"`` detects it from the header).

    Args:
        path: the CSV.
        source: ``"evwatts"``, ``"acn"`` or ``"auto"``.
        energy: append :data:`ACN_ENERGY_COLUMNS` (kWh). EV WATTS sessions carry no energies:
            there the columns are all NaN.
        tz: IANA zone whose wall clock the plug times are given in (default: the site's,
            :data:`SOURCE_ZONES` ``local_tz``).
        data_tz: IANA zone the file's timestamps are written in (default: the source's,
            :data:`SOURCE_ZONES` ``data_tz``; EV WATTS: UTC, an inference).

    Returns:
        The tidy table (:data:`SESSION_COLUMNS`), ``attrs["source"]`` naming the format,
        ``attrs["timezone"]``, ``attrs["data_timezone"]`` and ``attrs["timezone_stated"]``.

    Raises:
        SessionFileError: see the readers.
        ValueError: an unknown ``source`` or time zone.
    """
    if source == "auto":
        source = detect_source(path)
    if source not in SOURCE_ZONES:
        raise ValueError(f"unknown session source {source!r}; allowed: evwatts, acn, auto")
    zones = SOURCE_ZONES[source]
    tz = check_timezone(zones.local_tz if tz is None else tz)
    data_tz = check_timezone(zones.data_tz if data_tz is None else data_tz)
    if source == "acn":
        return read_acn_sessions(path, energy=energy, tz=tz, data_tz=data_tz)
    table = read_evwatts_sessions(path, tz_from=data_tz, tz_to=tz)
    if energy:
        for c in ACN_ENERGY_COLUMNS:
            table[c] = np.nan
    return table

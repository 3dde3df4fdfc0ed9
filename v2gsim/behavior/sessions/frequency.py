"""Hourly plug-in frequencies ŷ_t of a tidy session table (models.md §1.3).

The inverse calibration (C1)-(C4) needs observed persistencies ŷ: this module turns a session table
(:data:`~v2gsim.behavior.sessions.readers.SESSION_COLUMNS`) into the fraction of vehicle-days plugged
in during each clock hour, the observable counterpart of the plug-in persistency ``y_t`` (sum of
``y_a`` over the plug-in arcs of hour t, D2).

**Frequency definition** (:func:`hourly_plug_frequency`). Hours are clock slots of the local day,
``hours`` slots of ``L = 1440 / hours`` minutes (24 slots of 60 min by default).

1. Sessions with ``plug_out <= plug_in`` (zero length, or reversed by the DST fall-back when times
   are converted to wall clock) are dropped. Overlapping sessions of one vehicle are merged
   (union), so a vehicle is never counted twice in one slot.
2. ``c[v, d, t]`` = minutes vehicle ``v`` is plugged in during slot ``t`` of local day ``d``
   (sessions spanning midnight or several days contribute to every day they touch), capped at L.
3. Vehicle ``v`` counts as *plugged in during slot t of day d*, ``x[v, d, t]``, by the ``rule``:
   ``"half"`` (default): ``c ≥ L/2``, plugged for at least half of the slot: the activity-network
   discretisation, in which a driver occupies one arc per hour, rounds a continuous trajectory to
   the arc that holds the majority of the hour; ``"any"``: ``c > 0``; ``"fraction"``: ``x = c / L``
   (the time-weighted occupancy).
4. ``ŷ_t = Σ_{(v,d) ∈ D} x[v, d, t] / |D|`` over a set D of observed vehicle-days, chosen by ``days``:

   * ``"window"`` (default): every day from a vehicle's first to its last plug-in day, minus runs of
     more than ``max_gap_days`` consecutive days without any session (default 14; ``None`` keeps
     every day). Days without a session inside the window are days the driver chose not to plug
     in; they belong in the denominator, since the persistency model's drivers choose every day
     whether to plug in at all. Long silent runs (up to 293 days in EV WATTS) are far more likely
     logging gaps (logger off, car away or sold) than choices, so they are removed.
   * ``"active"``: only days with at least one session. This is P(plugged in at t | plugs in that
     day) and overstates ŷ by the inverse of the share of charging days.

``unit="station_day"`` uses ``station_id`` in place of ``vehicle_id`` (occupancy of chargers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "Days",
    "PlugFrequency",
    "Rule",
    "Unit",
    "hourly_plug_frequency",
    "hourly_plug_stats",
    "slot_coverage",
]

#: What is counted: vehicle-days (``vehicle_id``) or station-days (``station_id``).
Unit = Literal["vehicle_day", "station_day"]
#: When a unit counts as plugged in during a slot (step 3 of the definition).
Rule = Literal["half", "any", "fraction"]
#: Which days are observed (step 4 of the definition).
Days = Literal["window", "active"]

_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


@dataclass(frozen=True)
class PlugFrequency:
    """Hourly plug-in frequencies of a session table (definition in the module docstring).

    Attributes:
        freq: (hours,) ŷ_t, the fraction of observed vehicle-days plugged in during slot t (-).
        plugged: (hours,) Σ x[v, d, t] over observed vehicle-days (vehicle-days, fractional for
            ``rule="fraction"``).
        n_days: number of observed vehicle-days |D|.
        n_units: number of vehicles (or stations) with at least one observed day.
        n_sessions: sessions used (positive length, inside ``start``/``end``).
        n_dropped: sessions dropped for ``plug_out <= plug_in``.
        stderr: (hours,) binomial standard error ``√(ŷ(1−ŷ)/|D|)`` (ignores the correlation of one
            vehicle's days; a lower bound).
        rule, days, unit: the options used.
    """

    freq: NDArray[np.float64]
    plugged: NDArray[np.float64]
    n_days: int
    n_units: int
    n_sessions: int
    n_dropped: int
    stderr: NDArray[np.float64]
    rule: str
    days: str
    unit: str


def _minutes(t: pd.Series) -> NDArray[np.float64]:
    """Naive timestamps as float minutes since 1970-01-01 00:00 (wall clock)."""
    v = t.to_numpy(dtype="datetime64[ns]")
    return (v - _EPOCH.astype("datetime64[ns]")).astype(np.int64) / 6e10


def _unit_column(sessions: pd.DataFrame, unit: Unit) -> str:
    """The column that identifies a ``unit``, checked to be present on every session."""
    if unit == "vehicle_day":
        col = "vehicle_id"
    elif unit == "station_day":
        col = "station_id"
    else:
        raise ValueError(f"unknown unit {unit!r}; allowed: vehicle_day, station_day")
    missing = [c for c in (col, "plug_in", "plug_out") if c not in sessions.columns]
    if missing:
        raise ValueError(f"sessions table lacks columns {missing} (have {list(sessions.columns)})")
    if sessions[col].isna().any():
        raise ValueError(f"unit {unit!r} needs {col!r} on every session; some are missing")
    return col


def slot_coverage(
    sessions: pd.DataFrame, hours: int = 24, unit: Unit = "vehicle_day"
) -> tuple[pd.DataFrame, int]:
    """Plugged-in minutes per unit, local day and clock slot (steps 1-2 of the definition).

    Args:
        sessions: tidy session table (:data:`~v2gsim.behavior.sessions.readers.SESSION_COLUMNS`;
            naive local times).
        hours: slots per day; must divide 1440 (24 → 60-min slots).
        unit: ``"vehicle_day"`` (by ``vehicle_id``) or ``"station_day"`` (by ``station_id``).

    Returns:
        ``(coverage, n_dropped)``: a DataFrame with columns ``unit`` (id), ``day`` (integer days
        since 1970-01-01, local), ``slot`` (0..hours−1) and ``minutes`` (plugged minutes in the
        slot, 0 < minutes ≤ 1440/hours), one row per covered (unit, day, slot); and the number of
        sessions dropped for ``plug_out <= plug_in``.
    """
    if hours < 1 or 1440 % hours:
        raise ValueError(f"hours must divide 1440 (minutes per day), got {hours}")
    col = _unit_column(sessions, unit)
    slot_len = 1440.0 / hours
    start = _minutes(sessions["plug_in"])
    end = _minutes(sessions["plug_out"])
    ids = sessions[col].astype(str).to_numpy()
    ok = end > start
    n_dropped = int((~ok).sum())
    ids, start, end = ids[ok], start[ok], end[ok]
    empty = pd.DataFrame({"unit": pd.Series([], dtype=str), "day": np.zeros(0, np.int64),
                          "slot": np.zeros(0, np.int64), "minutes": np.zeros(0)})
    if len(ids) == 0:
        return empty, n_dropped
    # merge overlapping intervals of one unit (union)
    order = np.lexsort((start, ids))
    ids, start, end = ids[order], start[order], end[order]
    new_unit = np.r_[True, ids[1:] != ids[:-1]]
    cummax_end = pd.Series(end).groupby(np.cumsum(new_unit)).cummax().to_numpy()
    prev_end = np.r_[-np.inf, cummax_end[:-1]]
    new_block = new_unit | (start > prev_end)
    block = np.cumsum(new_block) - 1
    b_ids = ids[new_block]
    b_start = start[new_block]
    b_end = pd.Series(end).groupby(block).max().to_numpy()
    # expand every merged interval into the slots it touches
    first = np.floor(b_start / slot_len).astype(np.int64)
    last = np.ceil(b_end / slot_len).astype(np.int64) - 1
    n = last - first + 1
    rep = np.repeat(np.arange(len(first)), n)
    k = first[rep] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    lo = np.maximum(b_start[rep], k * slot_len)
    hi = np.minimum(b_end[rep], (k + 1) * slot_len)
    minutes = hi - lo
    cov = pd.DataFrame({"unit": b_ids[rep], "day": k // hours, "slot": k % hours, "minutes": minutes})
    cov = cov[cov["minutes"] > 0]
    cov = cov.groupby(["unit", "day", "slot"], as_index=False, sort=True)["minutes"].sum()
    cov["minutes"] = cov["minutes"].clip(upper=slot_len)
    return cov, n_dropped


def _observed_days(active: pd.DataFrame, days: Days, max_gap_days: float | None) -> pd.DataFrame:
    """Observed (unit, day) pairs from the active ones (module docstring, step 4; ``days`` checked)."""
    if days == "active":
        return active
    rows = []
    for unit, grp in active.groupby("unit", sort=True):
        d = np.sort(grp["day"].to_numpy())
        full = np.arange(d[0], d[-1] + 1)
        if max_gap_days is not None:
            # drop the inner days of silent runs longer than max_gap_days
            keep = np.ones(len(full), dtype=bool)
            gaps = np.diff(d) - 1  # silent days between consecutive active days
            for i in np.flatnonzero(gaps > max_gap_days):
                keep[(full > d[i]) & (full < d[i + 1])] = False
            full = full[keep]
        rows.append(pd.DataFrame({"unit": unit, "day": full}))
    return pd.concat(rows, ignore_index=True)


def hourly_plug_stats(
    sessions: pd.DataFrame,
    hours: int = 24,
    unit: Unit = "vehicle_day",
    *,
    rule: Rule = "half",
    days: Days = "window",
    max_gap_days: float | None = 14.0,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> PlugFrequency:
    """Hourly plug-in frequencies ŷ_t with counts and standard errors (module docstring, steps 1-4).

    Args:
        sessions: tidy session table (:data:`~v2gsim.behavior.sessions.readers.SESSION_COLUMNS`;
            naive local times).
        hours: slots per local day (24: clock hours); must divide 1440.
        unit: ``"vehicle_day"`` or ``"station_day"``.
        rule: ``"half"`` (plugged ≥ half of the slot), ``"any"`` (any overlap) or ``"fraction"``
            (plugged minutes / slot minutes).
        days: ``"window"`` (first to last plug-in day per unit, minus long silent runs) or
            ``"active"`` (days with a session only).
        max_gap_days: with ``days="window"``, silent runs longer than this (days) are excluded as
            unobserved; ``None`` keeps every day of the window.
        start, end: keep only local days ``start <= day <= end`` (dates, inclusive).

    Returns:
        The :class:`PlugFrequency`.

    Raises:
        ValueError: bad options, or no observed vehicle-day.
    """
    if rule not in ("half", "any", "fraction"):
        raise ValueError(f"unknown rule {rule!r}; allowed: half, any, fraction")
    if days not in ("window", "active"):
        raise ValueError(f"unknown days {days!r}; allowed: window, active")
    if max_gap_days is not None and max_gap_days < 0:
        raise ValueError("max_gap_days must be >= 0 or None")
    cov, n_dropped = slot_coverage(sessions, hours, unit)
    if start is not None or end is not None:
        lo = -np.inf if start is None else _day_index(start)
        hi = np.inf if end is None else _day_index(end)
        cov = cov[(cov["day"] >= lo) & (cov["day"] <= hi)]
    if cov.empty:
        raise ValueError("no plugged-in time in the sessions (after filtering): nothing to count")
    active = cov[["unit", "day"]].drop_duplicates().reset_index(drop=True)
    observed = _observed_days(active, days, max_gap_days)
    slot_len = 1440.0 / hours
    if rule == "half":
        x = (cov["minutes"] >= 0.5 * slot_len - 1e-9).astype(float)
    elif rule == "any":
        x = (cov["minutes"] > 0).astype(float)
    else:
        x = cov["minutes"] / slot_len
    plugged = np.bincount(cov["slot"].to_numpy(), weights=x.to_numpy(), minlength=hours)
    n_days = len(observed)
    freq = plugged / n_days
    n_sessions = _count_sessions(sessions, unit, start, end)
    return PlugFrequency(
        freq=freq,
        plugged=plugged,
        n_days=int(n_days),
        n_units=int(observed["unit"].nunique()),
        n_sessions=n_sessions,
        n_dropped=n_dropped,
        stderr=np.sqrt(freq * (1.0 - np.minimum(freq, 1.0)) / n_days),
        rule=rule,
        days=days,
        unit=unit,
    )


def _day_index(d: str | pd.Timestamp) -> int:
    """Local date ``d`` as integer days since 1970-01-01."""
    ts = pd.Timestamp(d).normalize()
    return int((ts.to_datetime64().astype("datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(int))


def _count_sessions(sessions: pd.DataFrame, unit: Unit, start: object, end: object) -> int:
    """Sessions of positive length that touch the local days ``start``..``end`` (inclusive)."""
    ok = sessions["plug_out"] > sessions["plug_in"]
    if start is not None:
        ok &= sessions["plug_out"] >= pd.Timestamp(start).normalize()
    if end is not None:
        ok &= sessions["plug_in"] < pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    return int(ok.sum())


def hourly_plug_frequency(
    sessions: pd.DataFrame,
    hours: int = 24,
    unit: Unit = "vehicle_day",
    *,
    rule: Rule = "half",
    days: Days = "window",
    max_gap_days: float | None = 14.0,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> NDArray[np.float64]:
    """Hourly plug-in frequency ŷ_t: fraction of observed vehicle-days plugged in during slot t.

    See the module docstring for the exact definition and :func:`hourly_plug_stats` for the
    arguments (this returns its ``freq``).

    Returns:
        (hours,) frequencies in [0, 1] (-).
    """
    return hourly_plug_stats(
        sessions, hours, unit, rule=rule, days=days, max_gap_days=max_gap_days, start=start, end=end
    ).freq

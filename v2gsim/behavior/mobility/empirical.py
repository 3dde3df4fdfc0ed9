"""Sessions resampled from real charging sessions (ACN Caltech, EV WATTS Houston).

**Pool** (:class:`SessionPool`): the sessions of a file read by
:func:`v2gsim.behavior.sessions.read_sessions` (local wall-clock times), one row per session with
the arrival time of day ``arrival_h`` = plug-in − local midnight (h), the departure on the same axis
``departure_h = arrival_h + (plug-out − plug-in)`` (h; > 24 for an overnight stay) and the session's
energy (kWh; ACN's ``kwh_delivered`` by default, or the driver's ``kwh_requested``). Dropped, and
counted in :attr:`SessionPool.dropped`: sessions of non-positive length (EV WATTS has 116, zero or
reversed by the DST fall-back), longer than ``max_sojourn_h`` (default 24 h: a one-day model;
ACN has 2, EV WATTS 4), off weekdays with ``weekdays_only``, and rows without the energy when the
column is partly missing (``kwh_requested``: 203 ACN sessions).

**Resampling** (:func:`resample_sessions`): whole rows are drawn with replacement (uniform
bootstrap), so the joint law of arrival, stay and energy survives (ACN's arrival-stay correlation
is −0.36). The data carries no SOC, so the session's energy is read as the energy wanted minus the
energy at arrival, ``e^dep − e^0 = E`` (ASSUMPTION: the EV got what it wanted; ``kwh_requested`` is
the driver's stated want). ``e^0 = SOC_0 · C`` with SOC_0 drawn from ``arrival_soc`` (independent of
the row) and a battery capacity C; where ``e^0 + E > C`` the arrival energy is lowered to
``max(C − E, 0)`` and ``e^dep = min(e^0 + E, C)``, so E is kept exactly whenever E ≤ C. EV WATTS
has no energies at all: there ``E = fill_kw × stay`` (ASSUMPTION: the EV charged at a constant
``fill_kw``, e.g. 6.6 kW for a level-2 on-board charger, for its whole stay, capped by the battery
as above), so its energy is a function of the stay, not data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.mobility.core import SessionError, Sessions, SlotRule
from v2gsim.behavior.mobility.distributions import Distribution
from v2gsim.behavior.sessions import read_sessions

__all__ = ["EmpiricalSessionSpec", "SessionPool", "read_session_pool", "resample_sessions"]


@dataclass(frozen=True, eq=False)
class SessionPool:
    """Real sessions as arrays (module docstring), the population :func:`resample_sessions` draws from.

    Attributes:
        arrival_h: (P,) plug-in time of day, local (h, in [0, 24)).
        departure_h: (P,) plug-out on the same axis (h, > arrival_h).
        energy_kwh: (P,) the session's energy (kWh); all NaN when the source has none.
        source: the data source (``"acn"``, ``"evwatts"``, ...).
        dropped: sessions removed, by reason.
    """

    arrival_h: NDArray[np.float64]
    departure_h: NDArray[np.float64]
    energy_kwh: NDArray[np.float64]
    source: str = "unknown"
    dropped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = np.asarray(self.arrival_h).size
        if n == 0:
            raise SessionError(f"session pool ({self.source}) is empty: nothing to resample")
        for name in ("arrival_h", "departure_h", "energy_kwh"):
            if np.asarray(getattr(self, name)).shape != (n,):
                raise SessionError(f"SessionPool.{name} must have shape ({n},)")

    @property
    def size(self) -> int:
        """Number of sessions P."""
        return int(self.arrival_h.size)

    @property
    def has_energy(self) -> bool:
        """Whether the pool carries energies."""
        return bool(np.isfinite(self.energy_kwh).all())

    @property
    def duration_h(self) -> NDArray[np.float64]:
        """(P,) stay (h)."""
        return self.departure_h - self.arrival_h

    @classmethod
    def from_table(cls, table: pd.DataFrame, *, energy_column: str = "kwh_delivered",
                   max_sojourn_h: float | None = 24.0, weekdays_only: bool = False) -> SessionPool:
        """The pool of a tidy session table (:data:`v2gsim.behavior.sessions.SESSION_COLUMNS`).

        Args:
            table: sessions with naive local ``plug_in``/``plug_out``; ``energy_column`` (kWh) if
                the source has energies (absent or all NaN: the pool has none).
            energy_column: column of the session energy.
            max_sojourn_h: drop stays longer than this (h); ``None`` keeps all.
            weekdays_only: keep sessions that start Monday-Friday only.
        """
        missing = [c for c in ("plug_in", "plug_out") if c not in table.columns]
        if missing:
            raise SessionError(f"session table lacks columns {missing}")
        t_in = pd.to_datetime(table["plug_in"])
        t_out = pd.to_datetime(table["plug_out"])
        arrival = ((t_in - t_in.dt.normalize()) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
        stay = ((t_out - t_in) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
        if energy_column in table.columns:
            raw = table[energy_column]
            energy = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            bad = (np.isnan(energy) & raw.notna().to_numpy()) | (energy < 0)
            if bad.any():
                raise SessionError(f"column {energy_column!r} needs energies >= 0 kWh "
                                   f"(bad rows {np.flatnonzero(bad)[:5].tolist()})")
        else:
            energy = np.full(len(table), np.nan)
        checks = {"nonpositive_stay": stay > 0}
        if max_sojourn_h is not None:
            checks["longer_than_max_sojourn"] = stay <= max_sojourn_h
        if weekdays_only:
            checks["weekend"] = (t_in.dt.day_of_week < 5).to_numpy()
        if np.isfinite(energy).any():
            checks["missing_energy"] = np.isfinite(energy)
        keep = np.ones(len(table), dtype=bool)
        dropped = {}
        for reason, ok in checks.items():
            dropped[reason] = int((keep & ~ok).sum())
            keep &= ok
        return cls(arrival_h=arrival[keep], departure_h=arrival[keep] + stay[keep],
                   energy_kwh=energy[keep], source=str(table.attrs.get("source", "unknown")),
                   dropped=dropped)


def read_session_pool(path: str | Path, source: Literal["evwatts", "acn", "auto"] = "auto", *,
                      energy_column: str = "kwh_delivered", max_sojourn_h: float | None = 24.0,
                      weekdays_only: bool = False) -> SessionPool:
    """Read a session file (:func:`v2gsim.behavior.sessions.read_sessions`, with energies) into a pool.

    Raises:
        v2gsim.behavior.sessions.SessionFileError: unreadable file (see the readers).
        SessionError: an empty pool after the filters.
    """
    table = read_sessions(path, source, energy=True)
    return SessionPool.from_table(table, energy_column=energy_column, max_sojourn_h=max_sojourn_h,
                                  weekdays_only=weekdays_only)


def _per_ev(values: ArrayLike, n_evs: int, days: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        v = np.full(n_evs, float(v))
    if v.shape != (n_evs,):
        raise SessionError(f"{name} must be a scalar or have one value per EV ({n_evs})")
    return np.tile(v, days)


def resample_sessions(rng: np.random.Generator, pool: SessionPool, n_evs: int, days: int = 1, *,
                      capacity_kwh: ArrayLike, arrival_soc: Distribution,
                      fill_kw: float | None = None, first_day: int = 0, slot_minutes: int = 60,
                      rule: SlotRule = "half") -> Sessions:
    """Draw ``n_evs × days`` sessions by resampling whole rows of ``pool`` (module docstring).

    Args:
        rng: the generator (draws ``rng.integers`` for the rows, then ``rng.random`` for SOC_0).
        pool: the real sessions.
        n_evs: EVs per day; rows are day-major as in
            :func:`v2gsim.behavior.mobility.parametric.sample_parametric`.
        days: number of days.
        capacity_kwh: battery capacity C (kWh), scalar or one per EV.
        arrival_soc: law of SOC_0 (-), support in [0, 1].
        fill_kw: constant charging power that stands for the energy of a pool without energies (kW).
        first_day: index of the first day.
        slot_minutes, rule: the slot grid.

    Returns:
        The sessions (kWh).

    Raises:
        SessionError: bad sizes, a capacity ≤ 0, or a pool without energies and no ``fill_kw``.
    """
    if n_evs < 1 or days < 1:
        raise SessionError(f"n_evs and days must be >= 1, got {n_evs}, {days}")
    if arrival_soc.low < 0 or arrival_soc.high > 1:
        raise SessionError(f"arrival_soc support [{arrival_soc.low}, {arrival_soc.high}] must lie in [0, 1]")
    cap = _per_ev(capacity_kwh, n_evs, days, "capacity_kwh")
    if not (np.isfinite(cap).all() and (cap > 0).all()):
        raise SessionError("capacity_kwh must be finite and > 0 (kWh)")
    if not pool.has_energy and not (fill_kw is not None and fill_kw > 0):
        raise SessionError(f"the {pool.source} pool has no energies: give fill_kw > 0 (kW)")
    n = n_evs * days
    rows = rng.integers(0, pool.size, size=n)
    soc0 = arrival_soc.ppf(rng.random(n))
    arrival, departure = pool.arrival_h[rows], pool.departure_h[rows]
    need = pool.energy_kwh[rows] if pool.has_energy else fill_kw * (departure - arrival)
    e0 = np.minimum(soc0 * cap, np.maximum(cap - need, 0.0))
    return Sessions(
        ev=np.tile(np.arange(n_evs), days),
        day=np.repeat(np.arange(first_day, first_day + days), n_evs),
        arrival_h=arrival, departure_h=departure,
        energy_arrival_kwh=e0, energy_wanted_kwh=np.minimum(e0 + need, cap),
        slot_minutes=slot_minutes, rule=rule,
    )


@dataclass(frozen=True)
class EmpiricalSessionSpec:
    """Settings of a resampled site (plain data; :func:`read_session_pool` + :func:`resample_sessions`).

    Attributes:
        name: label.
        path: the session CSV (ACN flat CSV or EV WATTS ``VehicleChargingSessions.csv``).
        source: ``"acn"``, ``"evwatts"`` or ``"auto"``.
        capacity_kwh: battery capacity C (kWh).
        arrival_soc: law of the SOC at arrival (-).
        fill_kw: charging power standing for missing energies (kW; EV WATTS).
        energy_column: ``"kwh_delivered"`` or ``"kwh_requested"`` (ACN).
        max_sojourn_h: longest stay kept (h; ``None`` keeps all).
        weekdays_only: resample Monday-Friday sessions only.
        slot_minutes: slot grid (15, 30 or 60 min).
        n_evs: EVs per day.
    """

    name: str
    path: str
    source: Literal["evwatts", "acn", "auto"]
    capacity_kwh: float
    arrival_soc: Distribution
    fill_kw: float | None = None
    energy_column: str = "kwh_delivered"
    max_sojourn_h: float | None = 24.0
    weekdays_only: bool = False
    slot_minutes: int = 60
    n_evs: int = 1

    def load_pool(self) -> SessionPool:
        """Read :attr:`path` into a :class:`SessionPool` with this spec's filters."""
        return read_session_pool(self.path, self.source, energy_column=self.energy_column,
                                 max_sojourn_h=self.max_sojourn_h, weekdays_only=self.weekdays_only)

    def sample(self, rng: np.random.Generator, pool: SessionPool, n_evs: int | None = None,
               days: int = 1, *, first_day: int = 0, rule: SlotRule = "half") -> Sessions:
        """:func:`resample_sessions` with this spec's settings (``pool`` from :meth:`load_pool`)."""
        return resample_sessions(rng, pool, self.n_evs if n_evs is None else n_evs, days,
                                 capacity_kwh=self.capacity_kwh, arrival_soc=self.arrival_soc,
                                 fill_kw=self.fill_kw, first_day=first_day,
                                 slot_minutes=self.slot_minutes, rule=rule)

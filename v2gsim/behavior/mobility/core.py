"""The session type: per EV and day an arrival, a departure and the energy at both ends.

A session (seed 004's uncertain ``(a_i, d_i, e_i^0)`` plus the wanted energy ``e_i^dep`` of its
constraint (6), models.md §5.1; seed 002's ``T_i = [t_i^start, t_i^end]``, ``SOC_i^ini``,
``SOC_i^exp``, §3.1) is kept in continuous clock time and viewed on a slot grid:

* ``arrival_h`` ∈ [0, 24): hours after midnight of the session's ``day``; ``departure_h >
  arrival_h`` on the same axis, so an overnight stay departs at ``24 + h`` (a session may last
  longer than a day). The continuous times do not depend on the grid: a sampler draws them once and
  every grid (15, 30 or 60 minutes) is a view of the same draw.
* Slots of ``Δ = slot_minutes`` minutes, index ``k`` covering [kΔ, (k+1)Δ) from midnight of the
  session's day (so indices ≥ 24 h/Δ are on the next day). The EV is connected during slots
  ``arrival_slot ≤ k < departure_slot`` (half-open; seed 004's last connected slot ``d_i`` is
  :attr:`Sessions.last_slot`). ``rule`` turns times into slot bounds (x = arrival/Δ, y =
  departure/Δ):

  - ``"half"`` (default; :mod:`v2gsim.behavior.sessions` counts plug-in frequencies the same way):
    a slot counts when the EV is there for at least half of it: ``a = ⌈x − ½⌉``, ``d = ⌊y + ½⌋``;
  - ``"inner"``: only slots the EV covers completely, ``a = ⌈x⌉``, ``d = ⌊y⌋`` (conservative for
    scheduling);
  - ``"outer"``: every slot it touches, ``a = ⌊x⌋``, ``d = ⌈y⌉``.

  Every session keeps at least one slot (``d ≥ a + 1``): a stay too short for the rule to give it
  a slot gets the slot that holds the middle of the stay, ``a = ⌊(x + y)/2⌋``, ``d = a + 1``.
* Energies in kWh: ``energy_arrival_kwh`` (stored at arrival, e^0) and ``energy_wanted_kwh`` (wanted
  at departure, e^dep); with a battery capacity C they are SOCs ``e/C`` (:meth:`Sessions.soc_arrival`).
  The wanted energy may be below the arrival energy (the driver lets the EV give energy back).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["FRAME_COLUMNS", "SLOT_MINUTES", "SLOT_RULES", "SessionError", "Sessions", "SlotRule",
           "hours_to_slots"]

#: Slot lengths the grid allows (minutes).
SLOT_MINUTES: tuple[int, ...] = (15, 30, 60)
SlotRule = Literal["half", "inner", "outer"]
SLOT_RULES: tuple[str, ...] = ("half", "inner", "outer")

#: Columns of :meth:`Sessions.to_frame` (the SOC columns follow when a capacity is given).
FRAME_COLUMNS: tuple[str, ...] = (
    "day", "ev", "arrival_h", "departure_h", "arrival_slot", "departure_slot",
    "energy_arrival_kwh", "energy_wanted_kwh", "energy_needed_kwh",
)
_ARRAYS = ("ev", "day", "arrival_h", "departure_h", "energy_arrival_kwh", "energy_wanted_kwh")


class SessionError(ValueError):
    """Session data violates a requirement (the message names the field and what is allowed)."""


def _check_grid(slot_minutes: int, rule: str) -> None:
    if slot_minutes not in SLOT_MINUTES:
        raise SessionError(f"slot_minutes must be one of {list(SLOT_MINUTES)}, got {slot_minutes!r}")
    if rule not in SLOT_RULES:
        raise SessionError(f"rule must be one of {list(SLOT_RULES)}, got {rule!r}")


def hours_to_slots(arrival_h: ArrayLike, departure_h: ArrayLike, slot_minutes: int = 60,
                   rule: SlotRule = "half") -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Slot bounds ``(arrival_slot, departure_slot)`` of continuous times (module docstring).

    Args:
        arrival_h, departure_h: times (h after midnight of the session's day), departure > arrival.
        slot_minutes: slot length Δ (15, 30 or 60 min).
        rule: ``"half"``, ``"inner"`` or ``"outer"``.

    Returns:
        Integer arrays ``a``, ``d`` with ``d ≥ a + 1``: connected during slots a..d-1.
    """
    _check_grid(slot_minutes, rule)
    # round to 1e-9 slot so times on the grid (7.25 h at 15 min) are not split by float error
    x = np.round(np.asarray(arrival_h, dtype=float) * (60.0 / slot_minutes), 9)
    y = np.round(np.asarray(departure_h, dtype=float) * (60.0 / slot_minutes), 9)
    if rule == "half":
        a, d = np.ceil(x - 0.5), np.floor(y + 0.5)
    elif rule == "inner":
        a, d = np.ceil(x), np.floor(y)
    else:
        a, d = np.floor(x), np.ceil(y)
    a, d = a.astype(np.int64), d.astype(np.int64)
    short = d <= a  # too short for the rule: the slot holding the middle of the stay
    mid = np.floor(0.5 * (x + y)).astype(np.int64)
    a = np.where(short, mid, a)
    return a, np.where(short, mid + 1, d)


def _capacity(capacity_kwh: ArrayLike, n: int) -> NDArray[np.float64]:
    c = np.asarray(capacity_kwh, dtype=float)
    if c.ndim not in (0, 1) or (c.ndim == 1 and c.size != n):
        raise SessionError(f"capacity_kwh must be a scalar or have one value per session ({n}), "
                           f"got shape {c.shape}")
    if not (np.isfinite(c).all() and (c > 0).all()):
        raise SessionError("capacity_kwh must be finite and > 0 (kWh)")
    return np.broadcast_to(c, (n,))


@dataclass(frozen=True, eq=False)
class Sessions:
    """EV sessions at one site, one row per (EV, day), as arrays (module docstring for the grid).

    Attributes:
        ev: (N,) EV index (e.g. the driver's row in the fleet arrays).
        day: (N,) day index of the session.
        arrival_h: (N,) arrival, hours after midnight of ``day``, in [0, 24) (h).
        departure_h: (N,) departure on the same axis, > arrival (overnight: > 24) (h).
        energy_arrival_kwh: (N,) energy stored at arrival, e^0 (kWh).
        energy_wanted_kwh: (N,) energy wanted at departure, e^dep (kWh).
        slot_minutes: slot length Δ of the slot view (15, 30 or 60 min).
        rule: how times round to slots (``"half"``, ``"inner"``, ``"outer"``).
        place: the charger place of the sessions (e.g. ``home``, ``work``; empty when not known).
    """

    ev: NDArray[np.int64]
    day: NDArray[np.int64]
    arrival_h: NDArray[np.float64]
    departure_h: NDArray[np.float64]
    energy_arrival_kwh: NDArray[np.float64]
    energy_wanted_kwh: NDArray[np.float64]
    slot_minutes: int = 60
    rule: SlotRule = "half"
    place: str = ""

    def __post_init__(self) -> None:
        _check_grid(self.slot_minutes, self.rule)
        for name in _ARRAYS:
            dtype = np.int64 if name in ("ev", "day") else np.float64
            v = np.array(getattr(self, name), dtype=dtype)  # own copy, then read-only
            if v.ndim != 1:
                raise SessionError(f"Sessions.{name} must be 1-D, got shape {v.shape}")
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        n = self.ev.size
        for name in _ARRAYS:
            if getattr(self, name).size != n:
                raise SessionError(f"Sessions.{name} has {getattr(self, name).size} values, ev has {n}")
        self._check_values()

    def _check_values(self) -> None:
        def fail(name: str, bad: NDArray[np.bool_], allowed: str) -> None:
            if bad.any():
                rows = np.flatnonzero(bad)[:5].tolist()
                raise SessionError(f"Sessions.{name} must be {allowed} (rows {rows})")

        a, d = self.arrival_h, self.departure_h
        fail("arrival_h", ~(np.isfinite(a) & (a >= 0) & (a < 24)), "in [0, 24) h")
        fail("departure_h", ~(np.isfinite(d) & (d > a)), "finite and > arrival_h")
        fail("energy_arrival_kwh", ~(np.isfinite(self.energy_arrival_kwh)
                                     & (self.energy_arrival_kwh >= 0)), "finite and >= 0 kWh")
        fail("energy_wanted_kwh", ~(np.isfinite(self.energy_wanted_kwh)
                                    & (self.energy_wanted_kwh >= 0)), "finite and >= 0 kWh")

    # ------------------------------------------------------------------ sizes and slots
    def __len__(self) -> int:
        return int(self.ev.size)

    @property
    def dt_h(self) -> float:
        """Slot length Δ (h)."""
        return self.slot_minutes / 60.0

    @property
    def slots_per_day(self) -> int:
        """Slots in 24 h (96, 48 or 24)."""
        return 1440 // self.slot_minutes

    @cached_property
    def _slots(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        a, d = hours_to_slots(self.arrival_h, self.departure_h, self.slot_minutes, self.rule)
        a.setflags(write=False)
        d.setflags(write=False)
        return a, d

    @property
    def arrival_slot(self) -> NDArray[np.int64]:
        """(N,) first connected slot a (index from midnight of ``day``)."""
        return self._slots[0]

    @property
    def departure_slot(self) -> NDArray[np.int64]:
        """(N,) first slot after the session (exclusive end d; ≥ a + 1)."""
        return self._slots[1]

    @property
    def last_slot(self) -> NDArray[np.int64]:
        """(N,) last connected slot, d − 1 (seed 004's d_i)."""
        return self._slots[1] - 1

    @property
    def duration_h(self) -> NDArray[np.float64]:
        """(N,) departure − arrival (h)."""
        return self.departure_h - self.arrival_h

    @property
    def energy_needed_kwh(self) -> NDArray[np.float64]:
        """(N,) e^dep − e^0 (kWh; negative when the EV may give energy back)."""
        return self.energy_wanted_kwh - self.energy_arrival_kwh

    def soc_arrival(self, capacity_kwh: ArrayLike) -> NDArray[np.float64]:
        """(N,) SOC at arrival e^0 / C for a capacity C (scalar or (N,), kWh)."""
        return self.energy_arrival_kwh / _capacity(capacity_kwh, len(self))

    def soc_wanted(self, capacity_kwh: ArrayLike) -> NDArray[np.float64]:
        """(N,) SOC wanted at departure e^dep / C for a capacity C (scalar or (N,), kWh)."""
        return self.energy_wanted_kwh / _capacity(capacity_kwh, len(self))

    def connected(self, n_slots: int | None = None, wrap: bool = False) -> NDArray[np.bool_]:
        """(N, K) connected indicator on the slot grid.

        Args:
            n_slots: horizon K; default the latest departure slot, or one day with ``wrap``.
            wrap: fold the slots onto a cyclic horizon of K slots (index mod K), the periodic day
                of an overnight household stay (seed 002); needs every session ≤ K slots.

        Returns:
            ``connected[i, k]``: session i holds slot k (slots past K are cut off without ``wrap``).
        """
        a, d = self._slots
        k_max = (self.slots_per_day if wrap else int(d.max(initial=0))) if n_slots is None else n_slots
        if k_max < 1:
            raise SessionError(f"n_slots must be >= 1, got {k_max}")
        k = np.arange(k_max)[None, :]
        if not wrap:
            return (k >= a[:, None]) & (k < d[:, None])
        if (d - a > k_max).any():
            raise SessionError(f"wrap needs every session to last at most n_slots = {k_max} slots")
        a0 = a % k_max  # start in [0, K), end before 2K: mark on two days, fold the second back
        k2 = np.arange(2 * k_max)[None, :]
        both = (k2 >= a0[:, None]) & (k2 < (a0 + d - a)[:, None])
        return both[:, :k_max] | both[:, k_max:]

    # ------------------------------------------------------------------ conversions
    def regrid(self, slot_minutes: int, rule: SlotRule | None = None) -> Sessions:
        """The same sessions on another slot grid (the continuous times are unchanged)."""
        return replace(self, slot_minutes=slot_minutes, rule=self.rule if rule is None else rule)

    def take(self, index: ArrayLike) -> Sessions:
        """The sessions at ``index`` (integer positions or a boolean mask)."""
        idx = np.asarray(index)
        return replace(self, **{name: getattr(self, name)[idx] for name in _ARRAYS})

    @classmethod
    def concat(cls, parts: list[Sessions]) -> Sessions:
        """Stack sessions of one grid (same ``slot_minutes`` and ``rule``) in order; the place is
        theirs when they share one, else empty."""
        if not parts:
            raise SessionError("concat needs at least one Sessions")
        grids = {(p.slot_minutes, p.rule) for p in parts}
        if len(grids) > 1:
            raise SessionError(f"concat needs one slot grid, got (slot_minutes, rule) = {sorted(grids)}")
        places = {p.place for p in parts}
        return replace(parts[0], **{n: np.concatenate([getattr(p, n) for p in parts]) for n in _ARRAYS},
                       place=places.pop() if len(places) == 1 else "")

    def to_frame(self, capacity_kwh: ArrayLike | None = None) -> pd.DataFrame:
        """Tidy table, one row per session: :data:`FRAME_COLUMNS` (+ ``soc_arrival``,
        ``soc_wanted`` with a capacity; ``capacity_kwh`` scalar or (N,), kWh).

        ``attrs`` holds ``slot_minutes`` and ``rule``.
        """
        df = pd.DataFrame({
            "day": self.day, "ev": self.ev, "arrival_h": self.arrival_h,
            "departure_h": self.departure_h, "arrival_slot": self.arrival_slot,
            "departure_slot": self.departure_slot, "energy_arrival_kwh": self.energy_arrival_kwh,
            "energy_wanted_kwh": self.energy_wanted_kwh, "energy_needed_kwh": self.energy_needed_kwh,
        })
        if capacity_kwh is not None:
            df["soc_arrival"] = self.soc_arrival(capacity_kwh)
            df["soc_wanted"] = self.soc_wanted(capacity_kwh)
        df.attrs.update({"slot_minutes": self.slot_minutes, "rule": self.rule})
        return df

    @classmethod
    def from_frame(cls, df: pd.DataFrame, slot_minutes: int | None = None,
                   rule: SlotRule | None = None) -> Sessions:
        """Sessions from a table with the columns ``day, ev, arrival_h, departure_h,
        energy_arrival_kwh, energy_wanted_kwh`` (slot columns are recomputed, not read).

        ``slot_minutes``/``rule`` default to ``df.attrs`` (else 60 and ``"half"``).
        """
        missing = [c for c in _ARRAYS if c not in df.columns]
        if missing:
            raise SessionError(f"session table lacks columns {missing} (required: {list(_ARRAYS)})")
        return cls(**{c: df[c].to_numpy() for c in _ARRAYS},
                   slot_minutes=slot_minutes or int(df.attrs.get("slot_minutes", 60)),
                   rule=rule or df.attrs.get("rule", "half"))

"""A session model driving the daily loop: each day's declared and realized sessions of every EV.

When ``[sessions] drive`` is on, the EVs the platform plans for are the EVs the fleet simulates:
every EV of the fleet has one session per day at the site (``place``), drawn from the session model
(a preset, parametric laws or resampled ACN / EV WATTS sessions). Each day:

1. **Declared** (the evening before): one session per EV drawn from the model, what the platform
   knows day-ahead (``Observation.sessions``; seed 004's declarations, the forecast of seeds 002
   and 003).
2. **Realized** (during the day), by ``realized``:

   * ``"declared"``: exactly the declared sessions;
   * ``"box"``: each time and the energy at arrival uniform within ``+- slack`` of its declared value
     (arrival in [0, 24) h, departure after arrival, energy in [0, capacity]); the wanted energy is
     the declared one (seed 004's uncertainty box, models.md §5.1, RECONSTRUCTED);
   * ``"fresh"``: an independent draw from the model (may leave any box around the declaration).

3. **The loop's plug-in matrix** is the realized sessions on the sessions' slot grid: an EV is
   plugged in during the slots ``arrival_slot <= k < departure_slot`` (:mod:`.core`'s rule), and in
   an hour when plugged in during any slot of it. A session that departs after midnight stays
   plugged in on the next day's first slots (carried over); the next day's session then starts no
   earlier than that departure (an arrival inside the carried-over stay continues it).
4. **Energy at arrival.** At the start of the hour of its arrival an EV's stored energy becomes the
   session's energy at arrival: the session model, not a trip model, says what the EV brings; the
   change (``e0 - E`` before arrival, negative = driven) is reported as off-site energy. An EV
   arriving inside a carried-over stay keeps its energy.

Draws: one generator (the run's ``sessions`` stream), each day the declaration then (``"box"``,
``"fresh"``) the realization. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from v2gsim.behavior.mobility.core import Sessions
from v2gsim.behavior.mobility.empirical import EmpiricalSessionSpec, SessionPool
from v2gsim.behavior.mobility.parametric import ParametricSessionSpec, sample_parametric

__all__ = ["REALIZED", "SessionDay", "SessionDays", "SessionDriveSpec"]

#: How the day's sessions are realized from the declared ones (module docstring).
REALIZED: tuple[str, ...] = ("declared", "box", "fresh")

#: Shortest stay a box realization keeps (h): departure >= arrival + this.
_MIN_STAY_H = 1.0 / 60.0


@dataclass(frozen=True)
class SessionDriveSpec:
    """Settings of a session model that drives the loop (plain data; built by the adapter).

    Attributes:
        law: the session model (:class:`ParametricSessionSpec` or :class:`EmpiricalSessionSpec`).
        place: the charger place of the sessions (``DayOutcome.sessions_at(place)``).
        realized: ``"declared"``, ``"box"`` or ``"fresh"`` (module docstring).
        arrival_slack_h, departure_slack_h: half widths of the box around the declared times (h).
        energy_slack_kwh: half width of the box around the declared energy at arrival (kWh).
        rule: rounding of times to slots (:func:`v2gsim.behavior.mobility.core.hours_to_slots`).
    """

    law: ParametricSessionSpec | EmpiricalSessionSpec
    place: str
    realized: Literal["declared", "box", "fresh"] = "fresh"
    arrival_slack_h: float = 0.0
    departure_slack_h: float = 0.0
    energy_slack_kwh: float = 0.0
    rule: Literal["half", "inner", "outer"] = "half"

    def __post_init__(self) -> None:
        if self.realized not in REALIZED:
            raise ValueError(f"realized must be one of {list(REALIZED)}, got {self.realized!r}")
        slacks = (self.arrival_slack_h, self.departure_slack_h, self.energy_slack_kwh)
        if not all(np.isfinite(x) and x >= 0 for x in slacks):
            raise ValueError("the box's slacks must be finite and >= 0 (h, h, kWh)")

    @property
    def slot_minutes(self) -> int:
        """Slot length of the sessions (min)."""
        return int(self.law.slot_minutes)


@dataclass(frozen=True)
class SessionDay:
    """One day of the loop driven by sessions (arrays over the fleet's M EVs).

    Attributes:
        sessions: the day's realized sessions (one per EV with a stay today; ``ev`` = fleet row).
        plugged_slots: (M, S) plugged in during each slot of the day.
        plugged: (M, T) plugged in during any slot of each hour.
        reset_hour: (M,) hour at whose start the EV's stored energy becomes ``energy_arrival_kwh``
            (-1: no arrival today, or an arrival that continues a carried-over stay).
        energy_arrival_kwh: (M,) energy at arrival of the resetting EVs (kWh; NaN otherwise).
        departure_hour: (M,) hour of the last connected slot of today's stay when it ends today
            (-1: none).
        wanted_kwh: (M,) energy wanted at that departure (kWh; NaN without one).
        carried_departure_hour: (M,) the same for a stay carried over from yesterday that ends
            today (-1: none); an EV may have both.
        carried_wanted_kwh: (M,) energy wanted at that departure (kWh; NaN without one).
    """

    sessions: Sessions
    plugged_slots: np.ndarray
    plugged: np.ndarray
    reset_hour: np.ndarray
    energy_arrival_kwh: np.ndarray
    departure_hour: np.ndarray
    wanted_kwh: np.ndarray
    carried_departure_hour: np.ndarray
    carried_wanted_kwh: np.ndarray

    def slots_of_hour(self, t: int) -> np.ndarray:
        """(M, k) the plug-in state of the slots of hour ``t``."""
        k = self.plugged_slots.shape[1] // self.plugged.shape[1]
        return self.plugged_slots[:, t * k:(t + 1) * k]


class SessionDays:
    """Declare, realize and lay out each day's sessions of a fleet (module docstring).

    Args:
        spec: the session model and how sessions are realized.
        capacity_kwh: (M,) battery capacity of each EV (energies are capped to it, kWh).
        hours: hours of the loop's day (24: sessions live on a clock day).
        rng: the run's ``sessions`` generator.

    Raises:
        ValueError: a day of other than 24 hours.
    """

    def __init__(self, spec: SessionDriveSpec, capacity_kwh: np.ndarray, hours: int,
                 rng: np.random.Generator) -> None:
        if int(hours) != 24:
            raise ValueError(f"network.hours: sessions live on a 24-hour clock day; a session model "
                             f"driving the loop needs network.hours = 24, got {hours}")
        self.spec, self.rng, self.hours = spec, rng, int(hours)
        self.cap = np.asarray(capacity_kwh, dtype=float)
        self.m = self.cap.size
        self.k = 60 // spec.slot_minutes
        self.slots = self.hours * self.k
        self._pool: SessionPool | None = None
        self.carry_end = np.zeros(self.m, dtype=np.int64)  # slots of today still in yesterday's stay
        self.carry_wanted = np.full(self.m, np.nan)

    def _draw(self, day: int) -> Sessions:
        law, m = self.spec.law, self.m
        if isinstance(law, ParametricSessionSpec):
            s = sample_parametric(self.rng, law, m, 1, first_day=day, rule=self.spec.rule)
        else:
            if self._pool is None:
                self._pool = law.load_pool()
            s = law.sample(self.rng, self._pool, m, 1, first_day=day, rule=self.spec.rule)
        return self._capped(s, s.arrival_h, s.departure_h, s.energy_arrival_kwh)

    def _capped(self, s: Sessions, arrival_h, departure_h, e0) -> Sessions:
        ev = s.ev
        return Sessions(ev=ev, day=s.day, arrival_h=arrival_h, departure_h=departure_h,
                        energy_arrival_kwh=np.clip(e0, 0.0, self.cap[ev]),
                        energy_wanted_kwh=np.minimum(s.energy_wanted_kwh, self.cap[ev]),
                        slot_minutes=s.slot_minutes, rule=s.rule, place=self.spec.place)

    def declare(self, day: int) -> Sessions:
        """Tomorrow's declared sessions, one per EV (``ev`` = fleet row)."""
        return self._draw(day)

    def realize(self, declared: Sessions) -> Sessions:
        """The day's realized sessions from the declared ones (module docstring)."""
        sp = self.spec
        if sp.realized == "declared":
            return declared
        if sp.realized == "fresh":
            return self._draw(int(declared.day[0]) if len(declared) else 0)
        u = self.rng.random((3, len(declared)))
        arr = np.clip(declared.arrival_h + (2 * u[0] - 1) * sp.arrival_slack_h, 0.0, np.nextafter(24.0, 0))
        dep = np.maximum(declared.departure_h + (2 * u[1] - 1) * sp.departure_slack_h, arr + _MIN_STAY_H)
        e0 = declared.energy_arrival_kwh + (2 * u[2] - 1) * sp.energy_slack_kwh
        return self._capped(declared, arr, dep, e0)

    def lay_out(self, realized: Sessions) -> SessionDay:
        """The loop's view of a day's realized sessions; advances the carried-over stays."""
        m, s_n, k = self.m, self.slots, self.k
        ev = realized.ev
        a = np.zeros(m, dtype=np.int64)
        d = np.zeros(m, dtype=np.int64)
        has = np.zeros(m, dtype=bool)
        # an arrival rounded to midnight is plugged in from the day's last slot
        a[ev], d[ev], has[ev] = np.minimum(realized.arrival_slot, s_n - 1), realized.departure_slot, True
        carry = self.carry_end
        cont = has & (a <= carry) & (carry > 0)  # arrives before yesterday's stay ended
        a_eff = np.maximum(a, carry)
        valid = has & (a_eff < d)
        slot = np.arange(s_n)[None, :]
        plugged_slots = (slot < carry[:, None]) | (valid[:, None] & (slot >= a_eff[:, None])
                                                   & (slot < np.minimum(d, s_n)[:, None]))
        plugged = plugged_slots.reshape(m, self.hours, k).any(axis=2)
        reset = valid & ~cont
        # an arrival in the hour a carried-over stay ends keeps that hour's energy (no reset)
        reset &= ~((carry > 0) & (a_eff // k == (carry - 1) // k))
        reset_hour = np.where(reset, a_eff // k, -1)
        e_arr = np.full(m, np.nan)
        e_arr[ev] = realized.energy_arrival_kwh
        e_arr = np.where(reset, e_arr, np.nan)
        wanted = np.full(m, np.nan)
        wanted[ev] = realized.energy_wanted_kwh
        ends_today = valid & (d <= s_n)
        carried_ends = (carry > 0) & ~(valid & cont)  # yesterday's stay ends today unless continued
        dep_hour = np.where(ends_today, (d - 1) // k, -1)
        wanted_out = np.where(ends_today, wanted, np.nan)
        carried_hour = np.where(carried_ends, (carry - 1) // k, -1)
        carried_wanted = np.where(carried_ends, self.carry_wanted, np.nan)
        self.carry_end = np.where(valid & (d > s_n), np.minimum(d - s_n, s_n), 0).astype(np.int64)
        self.carry_wanted = np.where(self.carry_end > 0, wanted, np.nan)
        return SessionDay(sessions=realized, plugged_slots=plugged_slots, plugged=plugged,
                          reset_hour=reset_hour, energy_arrival_kwh=e_arr, departure_hour=dep_hour,
                          wanted_kwh=wanted_out, carried_departure_hour=carried_hour,
                          carried_wanted_kwh=carried_wanted)

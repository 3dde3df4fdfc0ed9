"""The loop's side of a session model that drives it (issue #32 item 2; ``[sessions] drive``).

:class:`SessionLoop` holds the run's :class:`~v2gsim.behavior.mobility.daily.SessionDays` and does,
inside :meth:`V2GMarketModel.step <v2gsim.sim.model.V2GMarketModel.step>`:

* before the platform plans: the day's **declared** sessions (``Observation.sessions``);
* after the drivers chose their paths: the **realized** sessions replace the paths' plug-in matrix
  (no travel energy: the session model says what each EV brings, :mod:`.daily`);
* at the start of each hour: the arriving EVs' stored energy becomes their energy at arrival;
* after the day: the daily :data:`SESSION_COLUMNS`.

Daily columns (kWh): ``sessions`` (realized sessions of the day), ``off_site_kwh`` (sum over the
arrivals of energy at arrival minus the energy stored before it: negative = driven away),
``departure_shortfall_kwh`` (sum over the stays ending today of max(0, wanted - stored at the end of
the hour of the last connected slot); after its last slot an EV is not plugged in, so that is its
energy at departure).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from v2gsim.behavior.mobility.core import Sessions
from v2gsim.behavior.mobility.daily import SessionDay, SessionDays, SessionDriveSpec
from v2gsim.sim.agents.driver import DayChoice

__all__ = ["SESSION_COLUMNS", "SessionLoop"]

#: Daily columns of a run whose session model drives the loop (module docstring).
SESSION_COLUMNS: tuple[str, ...] = ("sessions", "off_site_kwh", "departure_shortfall_kwh")


class SessionLoop:
    """Declared and realized sessions of each day, applied to the fleet (module docstring).

    Args:
        spec: the session model and its realization rule.
        capacity_kwh: (M,) the fleet's battery capacities (kWh).
        hours: hours of the day (24).
        rng: the run's ``sessions`` generator.
    """

    def __init__(self, spec: SessionDriveSpec, capacity_kwh: np.ndarray, hours: int,
                 rng: np.random.Generator) -> None:
        self.spec = spec
        self.days = SessionDays(spec, capacity_kwh, hours, rng)
        self.declared: Sessions | None = None
        self.today: SessionDay | None = None
        self._off_site = 0.0

    @property
    def place(self) -> str:
        """The charger place of the sessions."""
        return self.spec.place

    def declare(self, day: int) -> Sessions:
        """Draw and keep the day's declared sessions."""
        self.declared = self.days.declare(day)
        return self.declared

    def start(self, choice: DayChoice) -> DayChoice:
        """Realize the day's sessions; the drivers' choice with the sessions' plug-ins, no travel."""
        assert self.declared is not None, "declare before start"
        self.today = self.days.lay_out(self.days.realize(self.declared))
        self._off_site = 0.0
        return replace(choice, plugged=self.today.plugged, travel_kwh=np.zeros(self.today.plugged.shape))

    def arrive(self, t: int, energy_kwh: np.ndarray) -> None:
        """At the start of hour ``t``: the arriving EVs' stored energy (kWh, in place) becomes
        their energy at arrival."""
        assert self.today is not None
        on = self.today.reset_hour == t
        if on.any():
            e0 = self.today.energy_arrival_kwh[on]
            self._off_site += float((e0 - energy_kwh[on]).sum())
            energy_kwh[on] = e0

    def slots(self, t: int) -> np.ndarray:
        """(M, k) plug-in state of the slots of hour ``t``."""
        assert self.today is not None
        return self.today.slots_of_hour(t)

    def sessions_at(self, place: str) -> Sessions:
        """The day's realized sessions at ``place`` (none at another place)."""
        assert self.today is not None
        s = self.today.sessions
        return s if place == self.place else s.take(np.zeros(0, dtype=np.int64))

    def close(self, stored_kwh: np.ndarray) -> dict[str, float]:
        """The day's :data:`SESSION_COLUMNS` from the (M, T) stored energy at the end of each hour."""
        assert self.today is not None
        day = self.today
        short = 0.0
        for hour, wanted in ((day.departure_hour, day.wanted_kwh),
                             (day.carried_departure_hour, day.carried_wanted_kwh)):
            ev = np.flatnonzero(hour >= 0)
            short += float(np.maximum(wanted[ev] - stored_kwh[ev, hour[ev]], 0.0).sum())
        return {"sessions": float(len(day.sessions)), "off_site_kwh": self._off_site,
                "departure_shortfall_kwh": short}

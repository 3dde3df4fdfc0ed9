"""The ``slots`` table of a run whose policy returns schedules: plan beside execution, per slot.

One row per day and slot of the day's schedule, summed over the covered EVs (kW, grid side, ``+`` =
import; the slots an EV's plan leaves out count 0): ``day_ahead_kw`` the policy's base point,
``planned_kw`` the plan the EVs were asked to follow (the base point with the reserve the TSO
called deployed; equal to ``day_ahead_kw`` without reserve), ``executed_kw`` what the simulated
batteries did, and ``request`` the TSO's reserve request of the slot (-1 up, +1 down, 0; 0 without
reserve). Days without a schedule have no rows. ``slot_minutes`` gives the slot length; ``hour`` =
the slot's clock hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from v2gsim.core.schedule import ExecutedSchedule

__all__ = ["SLOT_COLUMNS", "ScheduleRecorder"]

#: Columns of the ``slots`` table (before the scenario tags).
SLOT_COLUMNS: tuple[str, ...] = ("day", "slot", "hour", "slot_minutes", "day_ahead_kw", "planned_kw",
                                 "executed_kw", "request")


class ScheduleRecorder:
    """Collects each day's executed schedule as rows of the ``slots`` table (module docstring)."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, day: int, ex: ExecutedSchedule) -> None:
        """Record day ``day``'s executed schedule."""
        n = ex.base.power_kw.shape[1]
        slot = np.arange(n)
        self._parts.append(pd.DataFrame({
            "day": np.full(n, day, dtype=np.int64), "slot": slot,
            "hour": slot // ex.base.slots_per_hour,
            "slot_minutes": np.full(n, ex.base.slot_minutes, dtype=np.int64),
            "day_ahead_kw": np.nansum(ex.base.power_kw, axis=0),
            "planned_kw": np.nansum(ex.planned.power_kw, axis=0),
            "executed_kw": np.nansum(ex.executed_kw, axis=0),
            "request": np.zeros(n) if ex.request is None else np.asarray(ex.request, float),
        }))

    def table(self) -> pd.DataFrame:
        """The ``slots`` table (empty with its columns when no day had a schedule)."""
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("day", "slot", "hour", "slot_minutes")
                                              else "float64") for c in SLOT_COLUMNS})
        return pd.concat(self._parts, ignore_index=True)

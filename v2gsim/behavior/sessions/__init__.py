"""Real plug-in sessions and the hourly plug-in frequencies ŷ_t they imply (models.md §1.3).

The inverse calibration (C1)-(C4) needs observed persistencies ŷ. Charging-session logs give the
plug-in and plug-out time of every session; this package reads two public logs into one tidy table
and turns it into the fraction of vehicle-days plugged in during each clock hour, the observable
counterpart of the plug-in persistency ``y_t`` (sum of ``y_a`` over the plug-in arcs of hour t, D2).

Modules:

* :mod:`~v2gsim.behavior.sessions.readers`: the EV WATTS and Caltech ACN-Data readers
  (:func:`read_sessions`, :func:`detect_source`), the tidy table :data:`SESSION_COLUMNS` (naive
  local wall-clock times) and :class:`SessionFileError`;
* :mod:`~v2gsim.behavior.sessions.frequency`: the frequency definition (overlap merging, clock
  slots, the ``rule`` and ``days`` options) and :func:`hourly_plug_stats`,
  :func:`hourly_plug_frequency`, :func:`slot_coverage`.
"""

from v2gsim.behavior.sessions.frequency import (
    PlugFrequency,
    hourly_plug_frequency,
    hourly_plug_stats,
    slot_coverage,
)
from v2gsim.behavior.sessions.readers import (
    ACN_ENERGY_COLUMNS,
    SESSION_COLUMNS,
    SessionFileError,
    detect_source,
    read_acn_sessions,
    read_evwatts_sessions,
    read_sessions,
)

__all__ = [
    "ACN_ENERGY_COLUMNS",
    "SESSION_COLUMNS",
    "PlugFrequency",
    "SessionFileError",
    "detect_source",
    "hourly_plug_frequency",
    "hourly_plug_stats",
    "read_acn_sessions",
    "read_evwatts_sessions",
    "read_sessions",
    "slot_coverage",
]

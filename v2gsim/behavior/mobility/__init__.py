"""EV sessions at a site (issue #11, item 3): per EV and day an arrival, a departure, the energy at
arrival and the energy wanted at departure, on a slot grid of 15, 30 or 60 minutes.

* :mod:`~v2gsim.behavior.mobility.core` - the :class:`Sessions` type (arrays, tidy table, slot view);
* :mod:`~v2gsim.behavior.mobility.distributions` - exact truncated-Gaussian and uniform laws;
* :mod:`~v2gsim.behavior.mobility.parametric` - sessions from those laws (seeds 002 and 004);
* :mod:`~v2gsim.behavior.mobility.presets` - the seed cases by name, with what is RECONSTRUCTED;
* :mod:`~v2gsim.behavior.mobility.empirical` - resampling real sessions (ACN Caltech, EV WATTS);
* :mod:`~v2gsim.behavior.mobility.paths` - the sessions of the drivers' chosen paths.

Pure: numpy, scipy, pandas; randomness only from the generator handed in.
"""

from v2gsim.behavior.mobility.core import (
    FRAME_COLUMNS,
    SLOT_MINUTES,
    SLOT_RULES,
    SessionError,
    Sessions,
    SlotRule,
    hours_to_slots,
)
from v2gsim.behavior.mobility.distributions import (
    Distribution,
    TruncNormal,
    Uniform,
    truncnorm_moments,
    truncnorm_ppf,
)
from v2gsim.behavior.mobility.empirical import (
    EmpiricalSessionSpec,
    SessionPool,
    read_session_pool,
    resample_sessions,
)
from v2gsim.behavior.mobility.parametric import ParametricSessionSpec, sample_parametric
from v2gsim.behavior.mobility.paths import PathSessionSpec, place_index, sessions_from_paths
from v2gsim.behavior.mobility.presets import PRESETS, preset

__all__ = [
    "FRAME_COLUMNS",
    "PRESETS",
    "SLOT_MINUTES",
    "SLOT_RULES",
    "Distribution",
    "EmpiricalSessionSpec",
    "ParametricSessionSpec",
    "PathSessionSpec",
    "SessionError",
    "SessionPool",
    "Sessions",
    "SlotRule",
    "TruncNormal",
    "Uniform",
    "hours_to_slots",
    "place_index",
    "preset",
    "read_session_pool",
    "resample_sessions",
    "sample_parametric",
    "sessions_from_paths",
    "truncnorm_moments",
    "truncnorm_ppf",
]

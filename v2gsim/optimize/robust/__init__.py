"""Robust day-ahead plan with up/down reserve (seed 004, Bianchi, Falsone, Vignali 2023).

Pure math (models.md §5): never imports the scenario schema or Mesa. The names below are imported
on first use, so that the schema's adapter (which needs only :mod:`.site`) pulls in no solver.

* :func:`profitability` - closed-form optimum of the reduced one-vehicle problem (P-tilde);
* :func:`profitability_lp` - the same from solving the LP with HiGHS;
* :class:`RobustPlanner` - the full robust framework (1)-(10), (P) over a box (or sampled) set,
  with :class:`FleetDay`, :class:`DayPrices` inputs and :func:`check_plan` against realizations;
* :class:`FeedbackSpec`, :func:`solve_feedback` - the disturbance-feedback (intraday re-trading)
  extension of §3.4 (switch ``feedback=`` of :class:`RobustPlanner`).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_LAZY = {
    "PriceAssumptionError": "v2gsim.optimize.robust.assumptions",
    "check_plan": "v2gsim.optimize.robust.check",
    "retrade_power": "v2gsim.optimize.robust.check",
    "FeedbackSpec": "v2gsim.optimize.robust.feedback_lp",
    "solve_feedback": "v2gsim.optimize.robust.feedback_lp",
    "sample_realizations": "v2gsim.optimize.robust.check",
    "RobustPlan": "v2gsim.optimize.robust.full_lp",
    "RobustPlanner": "v2gsim.optimize.robust.full_lp",
    "ProfitabilityResult": "v2gsim.optimize.robust.reduced",
    "expected_cost": "v2gsim.optimize.robust.reduced",
    "profitability": "v2gsim.optimize.robust.reduced",
    "ReducedLP": "v2gsim.optimize.robust.reduced_lp",
    "profitability_lp": "v2gsim.optimize.robust.reduced_lp",
    "DayPrices": "v2gsim.optimize.robust.spec",
    "FleetDay": "v2gsim.optimize.robust.spec",
    "Realizations": "v2gsim.optimize.robust.spec",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'v2gsim.optimize.robust' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

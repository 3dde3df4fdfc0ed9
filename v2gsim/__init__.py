"""v2gsim: agent-based simulation of vehicle-to-grid (V2G) markets.

Quick start::

    from v2gsim import load_scenario, run_scenario
    scenario = load_scenario("tiny", days=2)   # a shipped scenario by name, or a TOML file's path
    result = run_scenario(scenario)            # tables and summary in memory; prints nothing
    print(result.summary["profit"])
    print(result.hourly.head())

``v2gsim.config.packaged_scenarios()`` lists the shipped names; a path ``scenarios/NAME.toml`` that
does not exist in the working directory is the shipped ``NAME`` (the repository's copy), so the
examples of the repository run from any folder. ``run_scenario(..., progress=True)`` shows a progress
bar over days.

The names below (and ``V2GMarketModel``) are imported on first use, so that
``import v2gsim.game.payoffs`` (pure math) does not pull in the scenario schema, Mesa or cvxpy.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# One OpenBLAS thread unless the user says otherwise: every matrix here is small (the calibration's
# 170 x 80 SVDs, the bilevel follower's 56 x 56 systems), and OpenBLAS's default of one thread per core
# spin-waits against the other processes of a loaded 2-core machine or a sweep's workers, making an
# SVD of 1.5 ms take 0.2-1 s. Results do not depend on the thread count. Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "Scenario": "v2gsim.config",
    "ScenarioError": "v2gsim.config",
    "load_scenario": "v2gsim.config",
    "run_scenario": "v2gsim.experiments.runner",
    "V2GMarketModel": "v2gsim.sim.model",
    "profitability": "v2gsim.optimize.robust",
}

__all__ = ["Scenario", "ScenarioError", "V2GMarketModel", "__version__", "load_scenario", "profitability",
           "run_scenario"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'v2gsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

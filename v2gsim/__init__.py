"""v2gsim: agent-based simulation of vehicle-to-grid (V2G) markets.

Quick start::

    from v2gsim import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/tiny.toml"))
    result.summary["profit"], result.hourly.head()
"""

from v2gsim.config import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = ["Scenario", "ScenarioError", "__version__", "load_scenario", "run_scenario"]


def run_scenario(*args, **kwargs):
    """Run a scenario; see :func:`v2gsim.runner.run_scenario`."""
    from v2gsim.runner import run_scenario as _run

    return _run(*args, **kwargs)

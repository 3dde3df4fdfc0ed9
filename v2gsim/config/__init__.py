"""Scenario files: the pydantic schema, TOML loading with ``extends`` and ``--set``, validation.

Every field is declared with its unit; unknown keys, wrong types and out-of-range values are rejected
with ``FILE: dotted.field: message`` naming what is allowed. This package imports only pydantic and
the standard library: validating a scenario never imports the models. The adapter that turns a
validated :class:`Scenario` into the plain specs the models take is :mod:`v2gsim.specs.build`
(imported on its own, it imports the models).

Example::

    from v2gsim.config import load_scenario
    scenario = load_scenario("scenarios/default.toml", overrides=["drivers.count=500"])
"""

from v2gsim.config.base import ScenarioError
from v2gsim.config.drivers import DriversConfig
from v2gsim.config.game import GameConfig
from v2gsim.config.loading import (
    DEFAULT_SCENARIO,
    SCENARIO_DIR,
    apply_overrides,
    load_raw,
    load_scenario,
    packaged_scenario,
    packaged_scenarios,
    parse_value,
    resolve_scenario_path,
    scenario_from_dict,
    validate_file,
)
from v2gsim.config.market import MarketConfig
from v2gsim.config.network import ClusterConfig, NetworkConfig, PlaceConfig, PlaceOverride, TravelConfig
from v2gsim.config.platform import (
    POLICY_NAMES,
    BilevelConfig,
    ChanceConfig,
    NaiveConfig,
    PlatformConfig,
    PolicyName,
)
from v2gsim.config.scenario import ExperimentConfig, OutputConfig, Scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "POLICY_NAMES",
    "SCENARIO_DIR",
    "BilevelConfig",
    "ChanceConfig",
    "ClusterConfig",
    "DriversConfig",
    "ExperimentConfig",
    "GameConfig",
    "MarketConfig",
    "NaiveConfig",
    "NetworkConfig",
    "OutputConfig",
    "PlaceConfig",
    "PlaceOverride",
    "PlatformConfig",
    "PolicyName",
    "Scenario",
    "ScenarioError",
    "TravelConfig",
    "apply_overrides",
    "load_raw",
    "load_scenario",
    "packaged_scenario",
    "packaged_scenarios",
    "parse_value",
    "resolve_scenario_path",
    "scenario_from_dict",
    "validate_file",
]

"""Platform decision policies, registered by name (``[platform] policy = "..."`` in a scenario).

A policy turns the platform's day-ahead :class:`Observation` into a :class:`Decision`: hourly rebates
``s_t`` ($ per plugged-in EV-hour) and regulation capacity bids ``C_t`` (kW). Policies are small
objects built once per run by a factory ``factory(scenario) -> Policy`` so that they can keep state
(e.g. a cvxpy problem built once and re-parameterized daily).

Register a new policy::

    @register_policy("mine")
    def _make(scenario):
        return MyPolicy(...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from v2gsim.config import Scenario

__all__ = [
    "Decision",
    "NaivePolicy",
    "Observation",
    "Policy",
    "available_policies",
    "make_policy",
    "register_policy",
]


@dataclass(frozen=True)
class Observation:
    """What the platform knows the evening before day ``day``.

    Attributes:
        day: index of the day being planned (0-based).
        hours: hourly slots T.
        fleet_size: number of EVs M.
        charger_kw: per-EV regulation capability psi (kW).
        plugged_history: (D, T) realized plugged-in counts of the previous D days (D may be 0).
        capability_price: (T,) expected capability price for the day ($/MW-h).
        performance_price: (T,) expected performance price for the day ($/ΔMW).
        extra: model-specific extras (predicted persistency, AGC statistics, ...).
    """

    day: int
    hours: int
    fleet_size: int
    charger_kw: float
    plugged_history: np.ndarray
    capability_price: np.ndarray
    performance_price: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The platform's plan for one day.

    Attributes:
        rebate: (T,) rebate per plugged-in EV-hour ($).
        bid_kw: (T,) regulation capacity bid C_t (kW).
        info: diagnostics recorded in the daily table (solve time, status, ...).
    """

    rebate: np.ndarray
    bid_kw: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if np.any(np.asarray(self.bid_kw) < 0):
            raise ValueError("bids must be >= 0 kW")
        if np.any(np.asarray(self.rebate) < 0):
            raise ValueError("rebates must be >= 0 $")


class Policy(Protocol):
    """A platform policy: ``decide(observation) -> Decision``."""

    name: str

    def decide(self, obs: Observation) -> Decision:
        """Return tomorrow's rebates and bids."""
        ...


_REGISTRY: dict[str, Callable[[Scenario], Policy]] = {}


def register_policy(name: str) -> Callable[[Callable[[Scenario], Policy]], Callable]:
    """Decorator registering a policy factory under ``name``."""

    def deco(factory: Callable[[Scenario], Policy]) -> Callable[[Scenario], Policy]:
        if name in _REGISTRY:
            raise ValueError(f"policy {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


#: Modules that register the built-in policies; imported on first use of the registry, so that a
#: policy module may import this one without an import cycle.
BUILTIN_POLICY_MODULES = ("v2gsim.optimize.chance_policy", "v2gsim.optimize.bilevel_policy")


def _load_builtin() -> None:
    import importlib

    for name in BUILTIN_POLICY_MODULES:
        importlib.import_module(name)


def available_policies() -> list[str]:
    """Names of all registered policies."""
    _load_builtin()
    return sorted(_REGISTRY)


def make_policy(scenario: Scenario) -> Policy:
    """Build the policy a scenario names."""
    _load_builtin()
    try:
        factory = _REGISTRY[scenario.platform.policy]
    except KeyError:
        raise ValueError(
            f"unknown policy {scenario.platform.policy!r}; allowed: {available_policies()}"
        ) from None
    return factory(scenario)


@dataclass
class NaivePolicy:
    """Baseline: no rebates; bid a fixed fraction of the plugged-in capacity seen in recent days.

    ``C_t = bid_fraction * psi * mean_{last lookback_days}(K_t)`` (kW), where K_t is the realized
    number of EVs plugged in during hour t. With no history yet (day 0) it bids nothing.
    """

    bid_fraction: float
    lookback_days: int
    name: str = "naive"

    def decide(self, obs: Observation) -> Decision:
        """Bid the fraction of the average plugged-in capacity per hour; no rebates."""
        hist = obs.plugged_history[-self.lookback_days :]
        if hist.shape[0] == 0:
            bid = np.zeros(obs.hours)
        else:
            bid = self.bid_fraction * obs.charger_kw * hist.mean(axis=0)
        return Decision(rebate=np.zeros(obs.hours), bid_kw=bid, info={"history_days": hist.shape[0]})


@register_policy("naive")
def _make_naive(scenario: Scenario) -> Policy:
    cfg = scenario.platform.naive
    return NaivePolicy(bid_fraction=cfg.bid_fraction, lookback_days=cfg.lookback_days)

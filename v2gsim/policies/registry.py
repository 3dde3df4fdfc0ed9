"""Policies by name: ``[platform] policy = "..."`` -> a factory ``(spec, inputs) -> Policy``.

The registry is the one list of policy names. The six built-in policies (``naive``, ``chance``,
``bilevel``, ``eva``, ``v2a``, ``robust``) are registered here, eagerly. The scenario schema cannot
import this module: its literal :data:`v2gsim.config.platform.PolicyName` and the adapter's table of
spec builders (:data:`v2gsim.specs.build.POLICY_SPECS`) name the same policies, which
``tests/test_config.py`` checks. A study can register its own factory and hand the policy to the
model directly (``V2GMarketModel(scenario, policy=...)``)::

    register_policy("mine", lambda spec, inputs: MyPolicy(...))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from v2gsim.policies.base import Policy, PolicyInputs
from v2gsim.policies.bilevel import BilevelSpec, make_bilevel
from v2gsim.policies.chance import ChanceSpec, make_chance
from v2gsim.policies.eva import EvaSpec, make_eva
from v2gsim.policies.naive import NaiveSpec, make_naive
from v2gsim.policies.robust import RobustPolicySpec, make_robust
from v2gsim.policies.v2a import V2APolicySpec, make_v2a

__all__ = ["PolicySpec", "available_policies", "make_policy", "register_policy"]

PolicySpec = NaiveSpec | ChanceSpec | BilevelSpec | EvaSpec | V2APolicySpec | RobustPolicySpec
"""Settings of a built-in policy; each carries its ``name``."""

Factory = Callable[[Any, PolicyInputs], Policy]

_REGISTRY: dict[str, Factory] = {
    "naive": make_naive,
    "chance": make_chance,
    "bilevel": make_bilevel,
    "eva": make_eva,
    "v2a": make_v2a,
    "robust": make_robust,
}


def register_policy(name: str, factory: Factory) -> Factory:
    """Register ``factory(spec, inputs) -> Policy`` under ``name``.

    Raises:
        ValueError: the name is taken.
    """
    if name in _REGISTRY:
        raise ValueError(f"policy {name!r} is already registered")
    _REGISTRY[name] = factory
    return factory


def available_policies() -> list[str]:
    """Names of all registered policies."""
    return sorted(_REGISTRY)


def make_policy(spec: Any, inputs: PolicyInputs) -> Policy:
    """Build the policy ``spec.name`` names from its settings and inputs.

    Raises:
        ValueError: no policy of that name is registered.
    """
    try:
        factory = _REGISTRY[spec.name]
    except KeyError:
        raise ValueError(f"unknown policy {spec.name!r}; allowed: {available_policies()}") from None
    return factory(spec, inputs)

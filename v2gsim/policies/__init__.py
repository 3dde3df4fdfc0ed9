"""Platform decision policies, registered by name (``[platform] policy = "..."`` in a scenario).

A policy turns the platform's day-ahead :class:`Observation` into a :class:`Decision`: hourly rebates
``s_t`` ($ per plugged-in EV-hour) and regulation capacity bids ``C_t`` (kW). It is built once per
run from its settings (a spec) and :class:`PolicyInputs`, so that it can keep state (e.g. a cvxpy
problem built once and re-parameterized daily). Six built-in policies, one module each:
:mod:`.naive`, :mod:`.chance`, :mod:`.bilevel` (seed 000), :mod:`.eva` (seed 003), :mod:`.v2a`
(seed 002) and :mod:`.robust` (seed 004); :mod:`.registry` maps their names to factories. A policy
that also settles its own plan after the day (``eva``, ``v2a``, ``robust``) is a
:class:`SettlingPolicy`. :mod:`.inputs` computes what a policy is built with.
"""

from v2gsim.policies.base import (
    DayOutcome,
    Decision,
    NetDischargeStats,
    Observation,
    PlugBeliefs,
    Policy,
    PolicyInputs,
    SettlingPolicy,
)
from v2gsim.policies.registry import PolicySpec, available_policies, make_policy, register_policy

__all__ = [
    "DayOutcome",
    "Decision",
    "NetDischargeStats",
    "Observation",
    "PlugBeliefs",
    "Policy",
    "PolicyInputs",
    "PolicySpec",
    "SettlingPolicy",
    "available_policies",
    "make_policy",
    "register_policy",
]

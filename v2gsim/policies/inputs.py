"""What a policy is built with, computed once before day 0 (no policy reads files or draws history).

:func:`policy_inputs` estimates the requirement statistics (models.md §1.4, eq. RQ) at the policy's
score target and, for the state-of-charge guarantee (E3), the net-discharge statistics, both on the
AGC history of :func:`v2gsim.market.sources.agc_history` (PJM files, or synthetic days of the
history stream :func:`v2gsim.core.rng.history_rng`).

A simulated day of T hours (``network.hours``, 2-48) starts at clock hour 0 (its hour t is clock hour
``t mod 24``, as in :func:`v2gsim.market.energy_sources.energy_price_table`): the statistics are
estimated for the first ``min(T, 24)`` clock hours of the history days and repeated by clock hour
over a longer day (:meth:`~v2gsim.market.requirement.RequirementStats.at_hours`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from v2gsim.core.rng import history_rng
from v2gsim.market.requirement import RequirementStats, net_discharge_stats
from v2gsim.market.sources import MarketSpec, agc_history
from v2gsim.policies.base import NetDischargeStats, PolicyInputs
from v2gsim.policies.bilevel import BilevelSpec
from v2gsim.policies.chance import ChanceSpec

__all__ = ["CLOCK_HOURS", "policy_inputs", "requirement_history"]

CLOCK_HOURS = 24
"""Hours of a clock day: the length of one AGC history day (h)."""


def _chance_of(spec: Any) -> ChanceSpec | None:
    if isinstance(spec, BilevelSpec):
        return spec.chance
    if isinstance(spec, ChanceSpec):
        return spec
    return None


def requirement_history(market: MarketSpec, chance: ChanceSpec, seed: int) -> list[np.ndarray]:
    """The AGC days the requirement statistics of ``chance`` are estimated on."""
    return agc_history(market, history_rng(seed), chance.requirement_days)


def policy_inputs(spec: Any, market: MarketSpec, hours: int, seed: int,
                  rng: np.random.Generator) -> PolicyInputs:
    """Inputs of the policy ``spec`` describes.

    Args:
        spec: the policy's settings (a built-in spec; others get only ``rng``).
        market: the run's market (AGC source of the history).
        hours: hours of a simulated day T.
        seed: scenario seed (of the history stream).
        rng: the policy's generator (the run's ``policy`` stream).

    Returns:
        Requirement statistics for ``chance`` and ``bilevel``, net-discharge statistics for
        ``bilevel`` with the SOC guarantee, and ``rng``; every array has ``hours`` entries.
    """
    chance = _chance_of(spec)
    if chance is None:
        return PolicyInputs(rng=rng, hours=int(hours))
    days = requirement_history(market, chance, seed)
    clock = min(int(hours), CLOCK_HOURS)
    req = RequirementStats.from_signals(days, score_target=chance.score_target, hours=clock)
    net = None
    if isinstance(spec, BilevelSpec) and spec.soc_guarantee:
        gamma_bar, sigma = net_discharge_stats(days, hours=clock)
        idx = np.arange(int(hours)) % clock
        net = NetDischargeStats(gamma_bar=gamma_bar[idx], sigma=sigma[idx])
    return PolicyInputs(rng=rng, requirement=req.at_hours(hours), net_discharge=net,
                        hours=int(hours))

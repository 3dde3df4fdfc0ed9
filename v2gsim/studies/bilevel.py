"""One day of seed 000's bilevel rebate-and-bid problem for a scenario (models.md §1.5).

Used by ``v2gsim solve``: the scenario's bilevel policy (built by
:func:`v2gsim.specs.build.build_policy`, platform or community objective) asked for day 0 of a fresh
:class:`~v2gsim.sim.model.V2GMarketModel`, so that it sees exactly what the daily loop's first
re-solve sees (beliefs, price forecast, fleet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from v2gsim.optimize.bilevel import BilevelSolution, CommunitySolution

__all__ = ["solve_day"]


def solve_day(scenario: Any) -> BilevelSolution | CommunitySolution:
    """Solve day 0 of ``scenario`` with its ``[platform.bilevel]`` settings.

    Args:
        scenario: a validated :class:`~v2gsim.config.Scenario` (any ``platform.policy``: the bilevel
            policy is built from ``[platform.bilevel]`` whatever the scenario's own policy is).

    Returns:
        The solution (rebates in $ per plug-in, bids in kW, per hour), re-evaluated exactly with the
        follower.
    """
    from v2gsim.sim.model import V2GMarketModel
    from v2gsim.specs.build import build_policy

    policy = build_policy(scenario, "bilevel")
    model = V2GMarketModel(scenario, policy=policy)
    cap, perf = model.tso.price_forecast()
    return policy.solve(model.platform.observe(0, cap, perf))

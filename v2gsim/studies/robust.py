"""One seed-004 site-day from a scenario: the box, the prices and the settings (models.md §5).

Builds one day of the scenario's site (declared sessions of ``[sessions]``, prices of
``[market.energy]``, settings of ``[platform.robust]``) and reports when the reserve pays: the reduced
problem's regime at the day-averaged prices (closed form and LP) and the full robust plan of the day.
Used by ``v2gsim profitability`` and ``analysis/reproduce_bianchi2023.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from v2gsim.optimize.robust.site import RobustSpec, day_prices, fleet_day, working_point
from v2gsim.optimize.robust.spec import DayPrices, FleetDay

__all__ = ["SiteDay", "scenario_day", "site_report"]


@dataclass(frozen=True)
class SiteDay:
    """One day of a scenario's site: the box, the prices and the settings."""

    fleet: FleetDay
    prices: DayPrices
    spec: RobustSpec
    currency: str


def scenario_day(scenario: Any, day: int = 0, spec: RobustSpec | None = None) -> SiteDay:
    """The site's day ``day`` of ``scenario`` (declared sessions drawn from its ``[sessions]``).

    Raises:
        ScenarioError: ``[sessions]`` is off or not a parametric/preset model.
    """
    from v2gsim.behavior.mobility.parametric import ParametricSessionSpec, sample_parametric
    from v2gsim.config import ScenarioError
    from v2gsim.core.rng import component_rng, run_seed_sequence
    from v2gsim.market.energy_sources import energy_prices
    from v2gsim.specs.build import energy_spec, robust_spec, sessions_spec

    src = scenario.source or "(scenario)"
    sess = sessions_spec(scenario)
    if not isinstance(sess, ParametricSessionSpec):
        raise ScenarioError([f"{src}: sessions: the robust plan needs [sessions] enabled with model = "
                             "'preset' or 'parametric'"])
    spec = robust_spec(scenario) if spec is None else spec
    root = run_seed_sequence(scenario.seed)
    slot = scenario.sessions.slot_minutes or sess.slot_minutes
    # own stream (spawn key 4004 below the run's root): the run's components are left untouched
    rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 4004)))
    s = sample_parametric(rng, sess, days=day + 1, slot_minutes=slot)
    rows = s.day == day
    cap = sess.capacity_kwh or 50.0
    fleet = fleet_day(spec, s.arrival_h[rows], s.departure_h[rows], s.energy_arrival_kwh[rows],
                      s.energy_wanted_kwh[rows], cap, slot)
    espec = energy_spec(scenario)
    k = fleet.n_slots
    if espec is None:
        buy = np.full(k, 0.055)
        prices, currency = day_prices(spec, buy, 0.8 * buy), "EUR"
    else:
        ep = energy_prices(espec, component_rng(root, "energy_prices"), day + 1).to_slots(slot)
        prices = day_prices(spec, ep.buy[day], ep.sell[day], None if ep.up is None else ep.up[day],
                            None if ep.down is None else ep.down[day])
        currency = ep.currency
    return SiteDay(fleet, prices, spec, currency)


def site_report(site: SiteDay, *, check_assumptions: bool = False) -> dict[str, Any]:
    """Working point, closed form, LP and the full plan of a site's day (JSON-ready)."""
    from v2gsim.optimize.robust.full_lp import RobustPlanner
    from v2gsim.optimize.robust.reduced import profitability
    from v2gsim.optimize.robust.reduced_lp import profitability_lp

    wp = working_point(site.spec, site.prices, site.fleet)
    cf = profitability(**wp, check_assumptions=check_assumptions)
    lp = profitability_lp(**wp, check_assumptions=check_assumptions)
    plan = RobustPlanner(site.fleet, site.spec.business).solve(site.fleet, site.prices)
    dt = site.fleet.delta
    return {
        "currency": site.currency, "working_point": wp, "closed_form": cf.to_dict(), "lp": lp.to_dict(),
        "full_plan": {"cost": plan.cost, "j_dam": plan.j_dam, "j_asm": plan.j_asm, "j_ev": plan.j_ev,
                      "energy_dam_kwh": float(plan.p_dam.sum() * dt),
                      "reserve_up_kwh": float(plan.r_up.sum() * dt),
                      "reserve_down_kwh": float(plan.r_down.sum() * dt),
                      "n_vehicles": site.fleet.n, "solve_seconds": plan.solve_seconds},
    }

"""``v2gsim eva SCENARIO [--json]``: the seed-003 aggregator's day-ahead plan and revenue breakdown.

The model is RECONSTRUCTED (models.md §4.2); see :mod:`v2gsim.optimize.eva`.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the model (scipy) loads only when the command runs, not when the CLI starts
    from v2gsim.optimize.eva.spec import EvaSpec

__all__ = ["cmd_eva", "eva_day", "format_breakdown"]

LABELS = {"subsidy_cost": "subsidy cost", "electricity_purchase_cost": "electricity purchase cost",
          "peak_regulation_cost": "peak-regulation cost", "energy_revenue": "energy revenue",
          "capacity_revenue": "capacity revenue", "total_operating_revenue": "total operating revenue"}


def eva_day(spec: EvaSpec) -> dict[str, Any]:
    """Solve one day of ``spec``: the seed's items, the discount part of purchase, and the hourly plan."""
    import numpy as np

    from v2gsim.optimize.eva.revenue import solve_revenue
    from v2gsim.optimize.eva.spec import instance_from_spec

    x, ev, _ = instance_from_spec(spec)
    b = solve_revenue(x)
    zero = np.zeros(x.T, dtype=int)
    none = solve_revenue(x, fixed_levels=(zero, zero))  # no incentive: the baseline is bought, nothing else
    plan = {k: np.asarray(v).tolist() for k, v in b.plan.items()}
    return {"mode": spec.mode, "evs": ev.M, "items": b.items(), "discount_cost": b.discount_cost,
            "objective": b.objective, "no_incentive_total": none.total_operating_revenue,
            "uplift": b.total_operating_revenue - none.total_operating_revenue, "plan": plan}


def format_breakdown(columns: dict[str, dict[str, float]]) -> str:
    """A text table: one row per item of the seed's table, one column per scenario."""
    from v2gsim.optimize.eva.revenue import ITEMS

    names = list(columns)
    lines = [f"{'item':<28}" + "".join(f"{n:>16}" for n in names)]
    for k in ITEMS:
        lines.append(f"{LABELS[k]:<28}" + "".join(f"{columns[n][k]:>16.5f}" for n in names))
    return "\n".join(lines)


def cmd_eva(args: argparse.Namespace) -> int:
    """Handler of ``v2gsim eva``."""
    from v2gsim.config import load_scenario
    from v2gsim.config.eva import eva_spec

    scenario = load_scenario(args.scenario, args.overrides)
    out = eva_day(eva_spec(scenario.platform.eva))
    if args.json:
        print(json.dumps({"scenario": scenario.name, **out}, indent=2))
        return 0
    print(f"eva {scenario.name}: mode {out['mode']}, {out['evs']} EVs (model RECONSTRUCTED, models.md 4.2)")
    print(format_breakdown({scenario.name: out["items"]}))
    print(f"{'no-incentive total':<28}{out['no_incentive_total']:>16.5f}")
    print(f"{'uplift over no incentive':<28}{out['uplift']:>16.5f}")
    p = out["plan"]
    print("  slot  discount  subsidy  r_up(kW)  r_down(kW)  bid(kW)")
    for t in range(len(p["bid_kw"])):
        print(f"  {t:4d}  {p['discount'][t]:8.2f}  {p['subsidy'][t]:7.2f}  {p['r_up_kw'][t]:8.1f}  "
              f"{p['r_down_kw'][t]:10.1f}  {p['bid_kw'][t]:7.1f}")
    return 0


def add_eva_parser(command: Any, add_scenario_args: Any) -> None:
    """Register ``eva`` on the CLI (one call from :mod:`v2gsim.cli`)."""
    p = command("eva", help="seed 003 aggregator: day-ahead incentives, bids and revenue breakdown")
    add_scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the breakdown and plan as JSON")
    p.set_defaults(func=cmd_eva)

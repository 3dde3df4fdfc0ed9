"""One seed-003 aggregator day from a spec: the seed's revenue items and the hourly plan.

The model is RECONSTRUCTED (models.md §4.2); see :mod:`v2gsim.optimize.eva`. Used by ``v2gsim eva``
and ``analysis/reproduce_ma2025.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from v2gsim.optimize.eva.spec import EvaSpec

__all__ = ["LABELS", "eva_day", "format_breakdown"]

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

"""Robust day-ahead plan with up/down reserve (seed 004, Bianchi, Falsone, Vignali 2023).

Pure math (models.md §5): never imports the scenario schema or Mesa.

* :func:`profitability` - closed-form optimum of the reduced one-vehicle problem (P-tilde);
* :func:`profitability_lp` - the same from solving the LP with HiGHS;
* :class:`RobustPlanner` - the full robust framework (1)-(10), (P) over a box (or sampled) set,
  with :class:`FleetDay`, :class:`DayPrices` inputs and :func:`check_plan` against realizations.
"""

from v2gsim.optimize.robust.assumptions import PriceAssumptionError
from v2gsim.optimize.robust.check import check_plan, sample_realizations
from v2gsim.optimize.robust.full_lp import RobustPlan, RobustPlanner
from v2gsim.optimize.robust.reduced import ProfitabilityResult, expected_cost, profitability
from v2gsim.optimize.robust.reduced_lp import ReducedLP, profitability_lp
from v2gsim.optimize.robust.spec import DayPrices, FleetDay, Realizations

__all__ = ["DayPrices", "FleetDay", "PriceAssumptionError", "ProfitabilityResult", "Realizations",
           "ReducedLP",
           "RobustPlan", "RobustPlanner", "check_plan", "expected_cost", "profitability", "profitability_lp",
           "sample_realizations"]

"""Robust day-ahead plan with up/down reserve (seed 004, Bianchi, Falsone, Vignali 2023).

Pure math (models.md §5): never imports the scenario schema or Mesa.

* :func:`profitability` - closed-form optimum of the reduced one-vehicle problem (P-tilde);
* :func:`profitability_lp` - the same from solving the LP with HiGHS.
"""

from v2gsim.optimize.robust.assumptions import PriceAssumptionError
from v2gsim.optimize.robust.reduced import ProfitabilityResult, expected_cost, profitability
from v2gsim.optimize.robust.reduced_lp import ReducedLP, profitability_lp

__all__ = ["PriceAssumptionError", "ProfitabilityResult", "ReducedLP", "expected_cost", "profitability",
           "profitability_lp"]

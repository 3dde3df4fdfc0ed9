"""Vehicle-to-anything (V2A) site scheduling of seed 002 (Mao, Zhang & Zhou 2018), models.md §3.

Pure math: never imports the scenario schema or Mesa. At one site (a home, a building or a charging
station) every plugged EV is, in each slot, idle, charging (c) or discharging to the home (H), the
building (B), another EV (V) or the grid (G); the site minimizes its energy cost (9) plus the
energy-wish (rho) and battery-cycle (lambda) penalties (10) under SOC limits (1)-(3), exclusivity (5),
the V2V count (8) and no back-feed (11). Every equation (1)-(12) is RECONSTRUCTED (models.md §3.2).

Modules: ``instance`` (inputs, modes per place), ``penalty`` (penalty forms and the piecewise-linear
outer approximation of the square), ``milp`` (the HiGHS MILP, infeasibility diagnosis), ``schedule``
(the result and its cost split).
"""

from v2gsim.optimize.v2a.instance import MODE_CODES, MODES, PLACE_MODES, SiteInstance
from v2gsim.optimize.v2a.milp import V2AInfeasibleError, solve_site
from v2gsim.optimize.v2a.penalty import square_breakpoints, wish_penalty
from v2gsim.optimize.v2a.schedule import SiteSchedule, evaluate_modes

__all__ = [
    "MODES",
    "MODE_CODES",
    "PLACE_MODES",
    "SiteInstance",
    "SiteSchedule",
    "V2AInfeasibleError",
    "evaluate_modes",
    "solve_site",
    "square_breakpoints",
    "wish_penalty",
]

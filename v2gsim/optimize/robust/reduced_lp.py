"""The reduced problem (P-tilde) solved as an LP by HiGHS, for comparison with the closed form.

models.md §5.5. Columns: ``E+``, ``E-`` (E = E+ - E-), ``E_up``, ``E_down`` and, for PC, the
per-scenario charge split ``q+_s``, ``q-_s`` for w_s in (-1, 0, +1) with probabilities
(pi_up, 1 - pi_up - pi_down, pi_down). Rows: the robust counterpart (12)
``E - E_up >= e_req`` (worst case w = -1) and ``E + E_down <= e_room`` (w = +1), and for PC
``q+_s - q-_s = E + E_down w_s^+ - E_up w_s^-``. The model is built once per business model and
re-parameterized (costs and row bounds) per call. All symbols RECONSTRUCTED (models.md §6 item 11).

Every column has the finite upper bound ``2 e_room + 1``: inactive within the price assumptions
(the optimum has E- = q- = 0 there) and keeping the LP bounded when an assumption is violated and
one solves anyway (``c_minus > c_plus`` would otherwise buy and sell without limit).
"""

from __future__ import annotations

import highspy
import numpy as np

from v2gsim.core.solvers.highs import quiet_highs
from v2gsim.optimize.robust.assumptions import check_inputs, violated_assumptions
from v2gsim.optimize.robust.reduced import ProfitabilityResult, _unique, gammas

__all__ = ["ReducedLP", "profitability_lp"]

_W = (-1.0, 0.0, 1.0)


class ReducedLP:
    """HiGHS model of (P-tilde), built once and re-parameterized per price point.

    Args:
        business: ``"FC"`` or ``"PC"``.
        tol: threshold (kWh) above which a reserve counts as offered when naming the regime.
    """

    def __init__(self, business: str, tol: float = 1e-7) -> None:
        self.business = business
        self.tol = tol
        self.n_cols = 4 + (6 if business == "PC" else 0)
        h = quiet_highs()
        inf = highspy.kHighsInf
        h.addVars(self.n_cols, np.zeros(self.n_cols), np.full(self.n_cols, inf))
        # rows 0, 1: robust counterpart (12)
        h.addRow(0.0, inf, 3, np.array([0, 1, 2], dtype=np.int32), np.array([1.0, -1.0, -1.0]))
        h.addRow(-inf, 0.0, 3, np.array([0, 1, 3], dtype=np.int32), np.array([1.0, -1.0, 1.0]))
        if business == "PC":
            for s, w in enumerate(_W):
                idx = [4 + 2 * s, 5 + 2 * s, 0, 1, 3, 2]
                val = [1.0, -1.0, -1.0, 1.0, -max(w, 0.0), max(-w, 0.0)]
                h.addRow(0.0, 0.0, 6, np.array(idx, dtype=np.int32), np.array(val))
        self._h = h

    def solve(self, c_plus: float, c_minus: float, c_up: float, c_down: float, pi_up: float,
              pi_down: float, e_req: float, e_room: float, c_ch: float | None = None,
              c_dis: float | None = None) -> ProfitabilityResult:
        """Solve (P-tilde) at one price point (units as in :func:`profitability`)."""
        h = self._h
        costs = [c_plus, -c_minus, -pi_up * c_up, pi_down * c_down]
        if self.business == "PC":
            assert c_ch is not None
            dis = c_ch if c_dis is None else c_dis
            for prob in (pi_up, 1.0 - pi_up - pi_down, pi_down):
                costs += [-prob * c_ch, prob * dis]
        idx = np.arange(self.n_cols, dtype=np.int32)
        h.changeColsCost(self.n_cols, idx, np.array(costs))
        h.changeColsBounds(self.n_cols, idx, np.zeros(self.n_cols), np.full(self.n_cols, 2 * e_room + 1))
        h.changeRowBounds(0, e_req, highspy.kHighsInf)
        h.changeRowBounds(1, -highspy.kHighsInf, e_room)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"reduced LP ({self.business}) not solved: {h.modelStatusToString(status)}")
        x = np.asarray(h.getSolution().col_value)
        energy, e_up, e_down = float(x[0] - x[1]), float(x[2]), float(x[3])
        if e_up > self.tol and e_up >= e_down:
            regime = "upward"
        elif e_down > self.tol:
            regime = "downward"
        else:
            regime = "none"
        g_up, g_down = gammas(self.business, c_plus, c_up, c_down, pi_up, pi_down, c_ch)
        if self.business == "PC":
            assert c_ch is not None
            coefs = (c_ch - c_plus, -g_down, -g_up)
        else:
            coefs = (c_plus, -g_up, -g_down)
        ok = not violated_assumptions(self.business, c_plus, c_minus, c_down, c_ch)
        return ProfitabilityResult(self.business, regime, float(h.getInfo().objective_function_value),
                                   g_up, g_down, energy, e_up, e_down,
                                   unique=_unique(coefs, e_room - e_req), assumptions_ok=ok, method="lp")


_MODELS: dict[str, ReducedLP] = {}


def profitability_lp(business: str, c_plus: float, c_minus: float, c_up: float, c_down: float,
                     pi_up: float, pi_down: float, e_req: float, e_room: float, c_ch: float | None = None,
                     c_dis: float | None = None, *, check_assumptions: bool = True) -> ProfitabilityResult:
    """Same as :func:`v2gsim.optimize.robust.profitability`, from solving the LP (models.md §5.5).

    Raises:
        PriceAssumptionError: a price assumption is violated and ``check_assumptions`` is True.
        ValueError: invalid data.
    """
    check_inputs(business, c_plus, c_minus, c_up, c_down, pi_up, pi_down, e_req, e_room,
                 c_ch, c_dis, check_assumptions)
    if business not in _MODELS:
        _MODELS[business] = ReducedLP(business)
    return _MODELS[business].solve(c_plus, c_minus, c_up, c_down, pi_up, pi_down, e_req, e_room, c_ch, c_dis)

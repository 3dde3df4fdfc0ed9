"""Full robust day-ahead plan with up/down reserve, (1)-(10), (P) of seed 004 (models.md §5.1).

RECONSTRUCTED (models.md §5.1, §6 item 11): all symbols, the box uncertainty set, the 3-point TSO
signal distribution and the linear robust counterpart below. Decisions per vehicle i and slot k:
DAM power split into charge/discharge parts ``pc, pd >= 0`` (p^DAM = pc - pd), reserves
``r_up, r_down >= 0``; realized power ``p(w) = pc - pd + r_down w^+ - r_up w^-`` (8).

Robust counterpart. The energy increment ``f(p) = eta_c p`` (p >= 0), ``p / eta_d`` (p < 0) of (1)-(2)
equals ``min(eta_c p, p / eta_d)``, so for any split p = sum x_j, ``sum f(x_j) <= f(p) <= eta_c p``.
Hence two linear energy paths bracket the true energy for every w:

* lower path e^L (for e_min (3) and departure (6)): each part with its own efficiency; it is
  increasing in w, so its worst case is w_k = -1 in every slot, the earliest arrival (longest idle
  decay) with e0 = e0_lo, and the latest departure;
* upper path e^U (for e_max (3)): everything with eta_c; worst case w_k = +1, e0 = e0_hi at a_hi.

Power (4a), (4b) and plant (5) limits hold at w = +-1 (they are linear in w); (4b) forces the plan
to zero outside the sure window [a_hi, d_lo]. The scenario variant imposes both paths for each
sampled realization instead (windows intersected). Expected cost (P): J_DAM (7) on the aggregate
(buy/sell split), J_ASM (9) with E[w^+] = pi_down, E[w^-] = pi_up, and for PC J_EV (10) exactly
over the per-slot 3-point signal (charge split per signal value).

The HiGHS model is built once per fleet (and scenario set) and re-parameterized per day through
column bounds (windows, arrival energy, battery limits), costs (prices) and nothing else.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
import scipy.sparse as sp

from v2gsim.core.solvers.errors import InfeasibleError
from v2gsim.core.solvers.highs import quiet_highs
from v2gsim.optimize.robust.feedback_lp import FeedbackSpec, solve_feedback
from v2gsim.optimize.robust.paths import EnergyPaths, box_paths, scenario_paths
from v2gsim.optimize.robust.spec import DayPrices, FleetDay, Realizations, RobustPlan

__all__ = ["RobustPlan", "RobustPlanner"]

_WVALS = (-1.0, 0.0, 1.0)


class RobustPlanner:
    """HiGHS LP of the robust plan for a fleet of N vehicles over K slots.

    Args:
        fleet: the fleet (its physics fixes the matrix; windows and energies change per day).
        business: ``"FC"`` (omit J_EV) or ``"PC"``.
        scenarios: None for the box set (worst cases derived); else sampled realizations imposed
            one by one (scenario-based variant; the model is rebuilt when they change).
        feedback: switch of the disturbance-feedback (intraday re-trading) extension of §3.4
            (:class:`~v2gsim.optimize.robust.feedback_lp.FeedbackSpec`); None or disabled: open loop.
            When enabled, :meth:`solve` solves the feedback LP (FC, box set only) and the plan carries
            the gains.
    """

    def __init__(self, fleet: FleetDay, business: str = "FC", scenarios: Realizations | None = None,
                 feedback: FeedbackSpec | None = None) -> None:
        if business not in ("FC", "PC"):
            raise ValueError(f"business must be 'FC' or 'PC', got {business!r}")
        self.feedback = feedback if feedback is not None and feedback.enabled else None
        if self.feedback is not None and (business != "FC" or scenarios is not None):
            raise ValueError("feedback (intraday re-trading) needs business 'FC' and the box set "
                             f"(got business {business!r}, scenarios {'set' if scenarios else 'None'})")
        self.business, self.scenarios = business, scenarios
        self.n, self.k = fleet.n, fleet.n_slots
        paths = self._paths(fleet)
        self.m = paths.w.shape[0]
        n, k, m = self.n, self.k, self.m
        nk = n * k
        self.off = {"pc": 0, "pd": nk, "ru": 2 * nk, "rd": 3 * nk, "buy": 4 * nk, "sell": 4 * nk + k,
                    "e": 4 * nk + 2 * k}
        self.off["q"] = self.off["e"] + m * n * (k + 1)
        self.n_cols = self.off["q"] + (6 * nk if business == "PC" else 0)
        if self.feedback is None:  # the feedback LP is built per day by solve_feedback
            self._build(fleet, paths)

    def solve(self, fleet: FleetDay, prices: DayPrices) -> RobustPlan:
        """Re-parameterize the built model for one day (same N, K) and solve it.

        Raises:
            InfeasibleError: naming the constraint family and the vehicles (``culprits``).
            ValueError: a day of another size, or PC without ``c_ch``.
        """
        if self.feedback is not None:
            if (fleet.n, fleet.n_slots) != (self.n, self.k):
                raise ValueError(f"planner built for N={self.n}, K={self.k}; got N={fleet.n}, "
                                 f"K={fleet.n_slots}")
            return solve_feedback(fleet, prices, self.feedback)
        return _solve(self, fleet, prices)

    def _paths(self, fleet: FleetDay) -> EnergyPaths:
        return box_paths(fleet) if self.scenarios is None else scenario_paths(fleet, self.scenarios)

    def _vk(self, name: str) -> np.ndarray:
        return self.off[name] + np.arange(self.n * self.k).reshape(self.n, self.k)

    def _build(self, fleet: FleetDay, paths: EnergyPaths) -> None:
        n, k, m, dt = self.n, self.k, self.m, fleet.delta
        blocks = _Blocks()
        pc, pd, ru, rd = (self._vk(v) for v in ("pc", "pd", "ru", "rd"))
        ik = np.arange(n * k).reshape(n, k)
        kk = np.arange(k)
        kn = np.tile(kk, (n, 1))
        # DAM balance: buy_k - sell_k - sum_i (pc - pd) = 0
        blocks.add(k, [(kk, self.off["buy"] + kk, 1.0), (kk, self.off["sell"] + kk, -1.0),
                       (kn, pc, -1.0), (kn, pd, 1.0)], 0.0, 0.0)
        pmax = np.repeat(fleet.p_max, k)
        # (4a) at w = +1: pc - pd + rd <= p_max;  at w = -1: pc - pd - ru >= -p_max
        blocks.add(n * k, [(ik, pc, 1.0), (ik, pd, -1.0), (ik, rd, 1.0)], -np.inf, pmax)
        blocks.add(n * k, [(ik, pc, 1.0), (ik, pd, -1.0), (ik, ru, -1.0)], -pmax, np.inf)
        # (5) plant limit at w = +1 / -1
        pb = fleet.p_plant
        blocks.add(k, [(kn, pc, 1.0), (kn, pd, -1.0), (kn, rd, 1.0)], -np.inf, pb)
        blocks.add(k, [(kn, pc, 1.0), (kn, pd, -1.0), (kn, ru, -1.0)], -pb, np.inf)
        # (1)-(2) energy paths: e[m,i,k+1] - alpha e[m,i,k] - dt (coefficients . parts) = 0
        e = self.off["e"] + np.arange(m * n * (k + 1)).reshape(m, n, k + 1)
        mik = np.arange(m * n * k).reshape(m, n, k)
        ones = np.ones((m, n, k))
        wp, wm = np.maximum(paths.w, 0.0)[:, None, :], np.maximum(-paths.w, 0.0)[:, None, :]
        eta_c, eta_d = fleet.eta_c[None, :, None], fleet.eta_d[None, :, None]
        low = paths.lower[:, None, None]
        terms = [(mik, e[:, :, 1:], 1.0), (mik, e[:, :, :-1], -fleet.alpha[None, :, None] * ones),
                 (mik, pc[None] * ones, -dt * eta_c * ones),
                 (mik, pd[None] * ones, -dt * np.where(low, -1.0 / eta_d, -eta_c) * ones),
                 (mik, rd[None] * ones, -dt * eta_c * wp * ones),
                 (mik, ru[None] * ones, -dt * np.where(low, -wm / eta_d, -eta_c * wm) * ones)]
        blocks.add(m * n * k, terms, 0.0, 0.0)
        if self.business == "PC":  # q+_j - q-_j - (pc - pd) - w_j^+ rd + w_j^- ru = 0
            q = self.off["q"] + np.arange(6 * n * k).reshape(3, 2, n, k)
            for j, w in enumerate(_WVALS):
                blocks.add(n * k, [(ik, q[j, 0], 1.0), (ik, q[j, 1], -1.0), (ik, pc, -1.0), (ik, pd, 1.0),
                                   (ik, rd, -max(w, 0.0)), (ik, ru, max(-w, 0.0))], 0.0, 0.0)
        a, lo, hi = blocks.matrix(self.n_cols)
        self.n_rows = a.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, self.n_rows
        lp.col_cost_ = np.zeros(self.n_cols)
        lp.col_lower_, lp.col_upper_ = np.zeros(self.n_cols), np.zeros(self.n_cols)
        lp.row_lower_, lp.row_upper_ = lo, hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
        h = quiet_highs()
        h.passModel(lp)
        self._h, self._e = h, e


class _Blocks:
    """Accumulates row blocks ``sum_t coef_t x[col_t]`` (rows given relative to the block)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.r = 0

    def add(self, nrows: int, terms, lo, hi) -> None:
        for rr, cc, vv in terms:
            cc = np.asarray(cc)
            self.rows.append((self.r + np.broadcast_to(rr, cc.shape)).ravel())
            self.cols.append(cc.ravel())
            self.vals.append(np.broadcast_to(np.asarray(vv, dtype=float), cc.shape).ravel())
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (nrows,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (nrows,)))
        self.r += nrows

    def matrix(self, n_cols: int) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray]:
        vals = np.concatenate(self.vals)
        keep = vals != 0.0
        a = sp.csc_matrix((vals[keep], (np.concatenate(self.rows)[keep], np.concatenate(self.cols)[keep])),
                          shape=(self.r, n_cols))
        a.sum_duplicates()
        return a, np.concatenate(self.lo), np.concatenate(self.hi)


def _solve(self: RobustPlanner, fleet: FleetDay, prices: DayPrices) -> RobustPlan:
    """Re-parameterize the built model for one day and solve it (expected cost (P))."""
    n, k, dt = self.n, self.k, fleet.delta
    if (fleet.n, fleet.n_slots) != (n, k):
        raise ValueError(f"planner built for N={n}, K={k}; got N={fleet.n}, K={fleet.n_slots}")
    if self.business == "PC" and prices.c_ch is None:
        raise ValueError("business PC needs prices.c_ch (price of energy charged to the vehicle)")
    paths = self._paths(fleet)
    lo, up = np.zeros(self.n_cols), np.zeros(self.n_cols)
    slot = np.arange(k)[None, :]
    inside = (slot >= paths.window[:, :1]) & (slot <= paths.window[:, 1:])
    pmax = np.where(inside, fleet.p_max[:, None], 0.0)
    for name, cap in (("pc", pmax), ("pd", pmax), ("ru", 2 * pmax), ("rd", 2 * pmax)):
        up[self._vk(name)] = cap
    for name in ("buy", "sell"):
        up[self.off[name]:self.off[name] + k] = np.inf
    e = self._e
    lb, ub = paths.lb.copy(), paths.ub.copy()
    lb[:, :, 0] = ub[:, :, 0] = paths.v0
    lo[e], up[e] = lb, ub
    up[self.off["q"]:] = np.inf
    cost = np.zeros(self.n_cols)
    cost[self.off["buy"]:self.off["buy"] + k] = dt * prices.c_plus
    cost[self.off["sell"]:self.off["sell"] + k] = -dt * prices.c_minus
    cost[self._vk("rd")] = dt * prices.c_down * prices.pi_down
    cost[self._vk("ru")] = -dt * prices.c_up * prices.pi_up
    if self.business == "PC":
        probs = (prices.pi_up, 1.0 - prices.pi_up - prices.pi_down, prices.pi_down)
        q = self.off["q"] + np.arange(6 * n * k).reshape(3, 2, n, k)
        for j, pj in enumerate(probs):
            cost[q[j, 0]] = -dt * prices.c_ch * pj
            cost[q[j, 1]] = dt * prices.c_dis * pj
    h = self._h
    idx = np.arange(self.n_cols, dtype=np.int32)
    h.changeColsBounds(self.n_cols, idx, lo, up)
    h.changeColsCost(self.n_cols, idx, cost)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        _raise_infeasible(fleet, paths, h.modelStatusToString(status), self.n_rows, self.n_cols)
    x = np.asarray(h.getSolution().col_value)
    v = {name: x[self._vk(name)] for name in ("pc", "pd", "ru", "rd")}
    j_dam = float(x[self.off["buy"]:self.off["buy"] + k] @ cost[self.off["buy"]:self.off["buy"] + k]
                  + x[self.off["sell"]:self.off["sell"] + k] @ cost[self.off["sell"]:self.off["sell"] + k])
    rd_c, ru_c = self._vk("rd"), self._vk("ru")
    j_asm = float((x[rd_c] * cost[rd_c]).sum() + (x[ru_c] * cost[ru_c]).sum())
    j_ev = float(x[self.off["q"]:] @ cost[self.off["q"]:])
    return RobustPlan(v["pc"] - v["pd"], v["ru"], v["rd"], float(h.getInfo().objective_function_value),
                      j_dam, j_asm, j_ev, seconds)


def _raise_infeasible(fleet: FleetDay, paths: EnergyPaths, status: str, rows: int, cols: int) -> None:
    """Name the constraint family and the vehicles that make the plan infeasible.

    Each vehicle alone is checked by charging as much as its worst upper path allows in its sure
    window (the most energy its worst lower path can then hold); one that still misses e_dep makes
    the departure constraint (6) infeasible; if every vehicle passes alone, the plant limit (5) is named.
    """
    culprits = []
    dt = fleet.delta
    for i in range(fleet.n):
        e_lo, e_hi = paths.v0[paths.lower, i].min(), paths.v0[~paths.lower, i].max()
        need = paths.lb[paths.lower, i].max(axis=0)
        ok = True
        for kk in range(fleet.n_slots):
            x = 0.0
            if paths.window[i, 0] <= kk <= paths.window[i, 1]:
                room = (fleet.e_max[i] - fleet.alpha[i] * e_hi) / (dt * fleet.eta_c[i])
                x = max(0.0, min(fleet.p_max[i], room))
            e_lo = fleet.alpha[i] * e_lo + dt * fleet.eta_c[i] * x
            e_hi = fleet.alpha[i] * e_hi + dt * fleet.eta_c[i] * x
            if e_lo < need[kk + 1] - 1e-9:
                ok = False
        if not ok:
            culprits.append(f"departure energy (6) / e_min (3), EV {i}")
    if not culprits:
        culprits.append("plant limit (5)")
    raise InfeasibleError(f"robust day-ahead plan is {status}: {'; '.join(culprits)}", culprits=culprits,
                          diagnosed=True, name="robust day-ahead plan", solver="HIGHS", status=status,
                          summary=f"LP {rows} rows x {cols} cols")

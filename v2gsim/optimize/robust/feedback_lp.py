"""Disturbance-feedback (intraday re-trading) extension of the robust plan, seed 004 §3.4 (models.md §5.1).

RECONSTRUCTED (models.md §5.1 last item, §6 item 11): the seed says only that p^DAM "could be made
dependent on the TSO signal w_j, j < k, with an additive disturbance feedback term" whose gain is
optimized the day ahead, "eventually incurring in unbalance costs". Our form, per vehicle i and slot k::

    p_ik(w) = pc_ik - pd_ik + r_down_ik w_k^+ - r_up_ik w_k^- + g_ik(w),   g_ik(w) = sum_{j<k} G_ikj w_j

(lower-triangular gains; only lags k - j <= ``max_lag``; G_ik. = 0 outside the sure window [a_hi, d_lo]).
The re-trade g is bought/sold intraday at the day-ahead purchase price c^+_k (RECONSTRUCTED; the seed
names no intraday price) plus an unbalance cost ``u`` per kWh re-traded.

Robust counterpart over the box w in [-1, 1]^K (the other uncertain data as in
:mod:`v2gsim.optimize.robust.full_lp`):

* power (4a) and plant (5): ``pc - pd + r_down + sum_j |G_kj| <= p_max`` and the mirror at w_k = -1,
  with ``T_kj >= |G_kj|`` auxiliary variables (the plant row sums T over vehicles: conservative);
* energy: the true increment f(p) = min(eta_c p, p / eta_d) is superadditive, and for the
  sign-indefinite re-trade ``f(g) >= eta_c g - (1/eta_d - eta_c) |g|``, ``|g_k| <= sum_j T_kj``. The
  w-dependent part of the energy at index t is then a sum of per-w_j piecewise-linear terms
  ``h_tj(w_j) = beta a_j w_j^+ - beta b_j w_j^- + C_tj w_j`` (beta = alpha^(t-1-j), C_tj = eta_c
  sum_{j<s<t} alpha^(t-1-s) G_sj), whose minimum (lower path) / maximum (upper path) over [-1, 1] is at
  w_j in {-1, 0, +1}: one auxiliary z_tj <= min(0, h(+1), h(-1)) (y_tj >= max(...)) per pair. Lower path:
  a = eta_c r_down, b = r_up / eta_d; upper path: a = eta_c r_down, b = eta_c r_up (as the open loop).

Expected cost (P): J_DAM (7) + J_ASM (9) of the open loop plus, per gain, ``delta c^+_k G_kj
(pi_down - pi_up)`` (E[w_j] of the 3-point signal) and the unbalance bound ``delta u G_kj-abs
(pi_up + pi_down)`` (E|g| <= sum |G| E|w|; exact for one gain per slot). With G = 0 every row reduces to
the open-loop one, so the feedback plan is never worse at u = 0 and equals it when ``max_lag = 0``.

Limits: FC only (J_EV (10) of PC is not linear in a sign-indefinite re-trade), box set only; the LP has
O(N K max_lag) gains and O(N K^2) path auxiliaries and is rebuilt per day (opt-in: about 20 s a day for
10 vehicles x 96 slots at max_lag 4, against 0.1-0.3 s for the open loop).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from v2gsim.core.solvers.errors import InfeasibleError
from v2gsim.optimize.robust.paths import box_paths
from v2gsim.optimize.robust.spec import DayPrices, FleetDay, RobustPlan

__all__ = ["FeedbackSpec", "solve_feedback"]



@dataclass(frozen=True)
class FeedbackSpec:
    """Switch and settings of the disturbance-feedback extension.

    Attributes:
        enabled: off by default (the open-loop plan of :class:`RobustPlanner` is used).
        unbalance_cost: u, EUR per kWh re-traded (>= 0).
        max_lag: largest lag k - j of a gain (slots; 0 forbids re-trading); None = all j < k.
    """

    enabled: bool = False
    unbalance_cost: float = 0.0
    max_lag: int | None = None

    def __post_init__(self) -> None:
        if self.unbalance_cost < 0 or not np.isfinite(self.unbalance_cost):
            raise ValueError("feedback: unbalance_cost must be finite and >= 0")
        if self.max_lag is not None and self.max_lag < 0:
            raise ValueError("feedback: max_lag must be >= 0 or None")


class _Cols:
    """Column allocator: named blocks of consecutive indices with bounds and costs."""

    def __init__(self) -> None:
        self.n, self.lo, self.hi, self.cost = 0, [], [], []

    def add(self, size: int, lo=0.0, hi=np.inf, cost=0.0) -> np.ndarray:
        idx = self.n + np.arange(size)
        self.n += size
        for store, v in ((self.lo, lo), (self.hi, hi), (self.cost, cost)):
            store.append(np.broadcast_to(np.asarray(v, dtype=float), (size,)))
        return idx


class _Rows:
    """Inequality rows ``sum coef x <= rhs`` and equality rows, as COO triples."""

    def __init__(self) -> None:
        self.ub: list[tuple[dict, float]] = []
        self.eq: list[tuple[dict, float]] = []

    def le(self, terms: dict, rhs: float) -> None:
        self.ub.append((terms, rhs))

    @staticmethod
    def matrix(rows: list, n: int):
        r, c, v = [], [], []
        for i, (terms, _) in enumerate(rows):
            for col, val in terms.items():
                r.append(i)
                c.append(col)
                v.append(val)
        a = sp.csr_matrix((v, (r, c)), shape=(len(rows), n))
        return a, np.array([rhs for _, rhs in rows], dtype=float)


def _acc(terms: dict, col, val: float) -> None:
    terms[int(col)] = terms.get(int(col), 0.0) + float(val)


def solve_feedback(fleet: FleetDay, prices: DayPrices, spec: FeedbackSpec) -> RobustPlan:
    """Solve the robust plan with affine disturbance feedback (FC, box set) with HiGHS.

    Returns:
        the plan (N, K) kW with ``gains`` G (N, K, K) (G[i, k, j] = 0 unless j < k) and ``j_retrade``;
        ``cost`` is the total expected cost (EUR), ``j_ev`` = 0 (FC).

    Raises:
        InfeasibleError: the robust feedback plan is infeasible (departure (6) / battery (3) / plant (5)).
    """
    n, k, dt = fleet.n, fleet.n_slots, fleet.delta
    paths = box_paths(fleet)
    lag = k if spec.max_lag is None else spec.max_lag
    cols, rows = _Cols(), _Rows()
    slot = np.arange(k)
    inside = (slot[None] >= paths.window[:, :1]) & (slot[None] <= paths.window[:, 1:])
    pmax = np.where(inside, fleet.p_max[:, None], 0.0)
    buy = cols.add(k, cost=dt * prices.c_plus)
    sell = cols.add(k, cost=-dt * prices.c_minus)
    pc, pd, ru, rd = (np.stack([cols.add(k, hi=cap[i], cost=c) for i in range(n)]) for cap, c in (
        (pmax, 0.0), (pmax, 0.0), (2 * pmax, -dt * prices.c_up * prices.pi_up),
        (2 * pmax, dt * prices.c_down * prices.pi_down)))
    e_w, e_abs = prices.pi_down - prices.pi_up, prices.pi_up + prices.pi_down
    gain: dict[tuple[int, int, int], tuple[int, int]] = {}
    for i in range(n):
        for kk in np.flatnonzero(inside[i]):
            for j in range(max(0, kk - lag), kk):
                g = cols.add(1, lo=-np.inf, cost=dt * prices.c_plus[kk] * e_w[j])[0]
                t = cols.add(1, cost=dt * spec.unbalance_cost * e_abs[j])[0]
                gain[i, kk, j] = (g, t)
                rows.le({g: 1.0, t: -1.0}, 0.0)
                rows.le({g: -1.0, t: -1.0}, 0.0)
    for kk in range(k):  # DAM balance (7)
        terms = {buy[kk]: 1.0, sell[kk]: -1.0}
        for i in range(n):
            terms[pc[i, kk]], terms[pd[i, kk]] = -1.0, 1.0
        rows.eq.append((terms, 0.0))
    _power_rows(rows, fleet, gain, pc, pd, ru, rd)
    for i in range(n):
        _energy_rows(rows, cols, fleet, paths, gain, i, pc[i], pd[i], ru[i], rd[i])
    a_ub, b_ub = _Rows.matrix(rows.ub, cols.n)
    a_eq, b_eq = _Rows.matrix(rows.eq, cols.n)
    bounds = np.stack([np.concatenate(cols.lo), np.concatenate(cols.hi)], axis=1)
    cost = np.concatenate(cols.cost)
    t0 = time.perf_counter()
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    seconds = time.perf_counter() - t0
    if res.status != 0:
        raise InfeasibleError(f"robust feedback plan: {res.message} (departure energy (6) / battery (3) / "
                              "plant limit (5))", culprits=["departure energy (6) / battery (3) / plant (5)"],
                              diagnosed=False, name="robust feedback plan", solver="HIGHS",
                              status=str(res.status), summary=f"LP {a_ub.shape[0]} rows x {cols.n} cols")
    x = res.x
    gains = np.zeros((n, k, k))
    j_re = 0.0
    for (i, kk, j), (g, t) in gain.items():
        gains[i, kk, j] = x[g]
        j_re += cost[g] * x[g] + cost[t] * x[t]
    j_dam = float(cost[buy] @ x[buy] + cost[sell] @ x[sell])
    j_asm = float((cost[ru] * x[ru]).sum() + (cost[rd] * x[rd]).sum())
    return RobustPlan(x[pc] - x[pd], x[ru], x[rd], float(res.fun), j_dam, j_asm, 0.0, seconds,
                      gains=gains, j_retrade=float(j_re))


def _power_rows(rows: _Rows, fleet: FleetDay, gain: dict, pc, pd, ru, rd) -> None:
    """(4a) per vehicle and (5) for the site at the worst w (sum of |G| through T)."""
    n, k = pc.shape
    tsum: dict[tuple[int, int], list[int]] = {}
    for (i, kk, _j), (_g, t) in gain.items():
        tsum.setdefault((i, kk), []).append(t)
    for kk in range(k):
        up, down = {}, {}
        for i in range(n):
            ts = tsum.get((i, kk), [])
            r_up = {pc[i, kk]: 1.0, pd[i, kk]: -1.0, rd[i, kk]: 1.0} | {t: 1.0 for t in ts}
            r_dn = {pc[i, kk]: -1.0, pd[i, kk]: 1.0, ru[i, kk]: 1.0} | {t: 1.0 for t in ts}
            rows.le(r_up, fleet.p_max[i])
            rows.le(r_dn, fleet.p_max[i])
            for src, dst in ((r_up, up), (r_dn, down)):
                for c, v in src.items():
                    _acc(dst, c, v)
        if np.isfinite(fleet.p_plant):
            rows.le(up, fleet.p_plant)
            rows.le(down, fleet.p_plant)


def _energy_rows(rows: _Rows, cols: _Cols, fleet: FleetDay, paths, gain: dict, i: int,
                 pc, pd, ru, rd) -> None:
    """Lower path (e_min (3), departure (6)) and upper path (e_max (3)) of vehicle i at each index t."""
    k, dt, al = fleet.n_slots, fleet.delta, fleet.alpha[i]
    ec, ed = fleet.eta_c[i], fleet.eta_d[i]
    slack = 1.0 / ed - ec
    lb, ub = paths.lb[0, i], paths.ub[1, i]
    inside = np.zeros(k, dtype=bool)
    inside[paths.window[i, 0]:paths.window[i, 1] + 1] = True
    lag = max([kk - j for (ii, kk, j) in gain if ii == i], default=0)
    tsum: dict[int, list[int]] = {}
    for (ii, kk, _j), (_g, tt) in gain.items():
        if ii == i:
            tsum.setdefault(kk, []).append(tt)
    for t in range(1, k + 1):
        for lower in (True, False):
            bound = lb[t] if lower else ub[t]
            if not np.isfinite(bound):
                continue
            sign = -1.0 if lower else 1.0  # row: sign * energy <= sign * bound
            v0 = paths.v0[0 if lower else 1, i]
            terms: dict = {}
            for s in range(t):
                beta = al ** (t - 1 - s)
                _acc(terms, pc[s], sign * dt * beta * ec)
                _acc(terms, pd[s], sign * dt * beta * (-1.0 / ed if lower else -ec))
                for tt in tsum.get(s, []) if lower and slack > 0 else []:
                    _acc(terms, tt, sign * dt * beta * (-slack))
            for j in range(t):
                feed = {gain[i, s, j][0]: ec * al ** (t - 1 - s)
                        for s in range(j + 1, min(t, j + lag + 1)) if (i, s, j) in gain}
                if not (feed or inside[j]):
                    continue  # w_j moves nothing of vehicle i before index t
                aux = cols.add(1, lo=-np.inf if lower else 0.0, hi=0.0 if lower else np.inf)[0]
                _acc(terms, aux, sign * dt)
                beta = al ** (t - 1 - j)
                b_coef = 1.0 / ed if lower else ec
                for w_pos, rcol, rc in ((True, rd[j], beta * ec), (False, ru[j], -beta * b_coef)):
                    h = {rcol: rc} | {g: (c if w_pos else -c) for g, c in feed.items()}
                    row = {aux: 1.0} | {c: -v for c, v in h.items()}  # lower: aux - h <= 0
                    rows.le(row if lower else {c: -v for c, v in row.items()}, 0.0)
            rows.le(terms, sign * bound - sign * al ** t * v0)

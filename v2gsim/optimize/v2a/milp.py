"""The V2A site MILP (models.md §3.2 (1)-(12), all RECONSTRUCTED), solved by HiGHS.

The seed's INLP (12) becomes a MILP: binaries u^m_{i,t} for the place's modes, continuous SOC
s_{i,t} (1)-(3), switch or episode variables that linearize the cycle count (6) (exact because their
objective weight lambda >= 0 pushes them onto |.| or (.)^+), and one wish variable per EV for D of
(10) (``plus``: e >= x, e >= 0; ``square``: tangents of the outer approximation, see
:mod:`v2gsim.optimize.v2a.penalty`). Following the seed's Fig. 6, every binary outside the plug-in
window, and every mode not allowed at the place, has upper bound 0 (HiGHS presolve removes them).

The model is assembled from vectorized sparse triplets (no per-EV/per-slot Python loops) and solved
with :func:`scipy.optimize.milp` (HiGHS); rebuilding is cheaper than keeping a model alive, so a new
price, lambda or discharge switch is a new :meth:`SiteInstance.replace` and a new solve.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from v2gsim.optimize.v2a.instance import DISCHARGE_MODES, LOCAL_MODES, MODE_CODES, MODES, SiteInstance
from v2gsim.optimize.v2a.penalty import square_breakpoints
from v2gsim.optimize.v2a.schedule import SiteSchedule, evaluate_modes

__all__ = ["FAMILIES", "V2AInfeasibleError", "solve_site"]

#: Constraint families that can be left out by the infeasibility diagnosis.
FAMILIES: tuple[str, ...] = ("soc_bounds", "energy_wish", "v2v_count", "no_backfeed")


class V2AInfeasibleError(ValueError):
    """The site-day has no feasible schedule.

    Attributes:
        culprits: list of (EV index or None for the whole site, constraint family) whose removal
            alone makes the (single-EV or site) problem feasible.
    """

    def __init__(self, message: str, culprits: list[tuple[int | None, str]]) -> None:
        super().__init__(message)
        self.culprits = culprits


class _Layout:
    """Column offsets of the variable blocks: x per mode, s, sw_c, sw_d (or ep), wish."""

    def __init__(self, n: int, t: int) -> None:
        self.n, self.t, self.nt = n, t, n * t
        self.x = {m: k * self.nt for k, m in enumerate(MODES)}
        self.s = len(MODES) * self.nt
        self.swc = self.s + self.nt
        self.swd = self.swc + self.nt
        self.wish = self.swd + self.nt
        self.size = self.wish + n

    def cell(self, base: int) -> np.ndarray:
        """(N, T) column indices of an (N, T) block."""
        return base + np.arange(self.nt).reshape(self.n, self.t)


class _Rows:
    """Sparse constraint rows accumulated as triplets, with lower and upper bounds."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals, lo, hi, n_rows: int) -> None:
        rows, cols = np.ravel(rows), np.ravel(cols)
        self.r.append(rows + self.n)
        self.c.append(cols)
        self.v.append(np.broadcast_to(np.asarray(vals, dtype=float), np.shape(rows)).ravel())
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (n_rows,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (n_rows,)))
        self.n += n_rows

    def constraint(self, n_cols: int) -> LinearConstraint:
        a = sp.csr_array((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                         shape=(self.n, n_cols))
        return LinearConstraint(a, np.concatenate(self.lo), np.concatenate(self.hi))


def _bounds(inst: SiteInstance, lay: _Layout, drop: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.zeros(lay.size)
    hi = np.zeros(lay.size)
    win = inst.window.ravel()
    for m in inst.modes:
        hi[lay.x[m]: lay.x[m] + lay.nt] = win  # Fig. 6: zero outside the window / not at this place
    s_lo = np.broadcast_to(inst.soc_min[:, None], (lay.n, lay.t)).ravel()
    s_hi = np.broadcast_to(inst.soc_max[:, None], (lay.n, lay.t)).ravel()
    if "soc_bounds" in drop:
        s_lo, s_hi = np.full(lay.nt, -np.inf), np.full(lay.nt, np.inf)
    lo[lay.s: lay.swc] = np.where(win, s_lo, -np.inf)
    hi[lay.s: lay.swc] = np.where(win, s_hi, np.inf)
    hi[lay.swc: lay.wish] = np.concatenate([win, win])
    lo[lay.wish:] = -np.inf if inst.penalty == "square" else 0.0
    hi[lay.wish:] = np.inf
    return lo, hi


def _dynamics(inst: SiteInstance, lay: _Layout, rows: _Rows) -> None:
    """(1): s_t - s_{t-1} - a u^c_t + b u^d_t = 0, s_{-1} = SOC^ini (cols t = 0 carry SOC^ini)."""
    n, t = lay.n, lay.t
    r = np.arange(lay.nt).reshape(n, t)
    cols = [lay.cell(lay.s), lay.cell(lay.x["c"])]
    vals = [np.ones((n, t)), np.broadcast_to(-inst.charge_step[:, None], (n, t))]
    for m in DISCHARGE_MODES:
        cols.append(lay.cell(lay.x[m]))
        vals.append(np.broadcast_to(inst.discharge_step[:, None], (n, t)))
    rr = [r] * len(cols)
    if t > 1:
        rr.append(r[:, 1:])
        cols.append(lay.cell(lay.s)[:, :-1])
        vals.append(-np.ones((n, t - 1)))
    rhs = np.zeros((n, t))
    rhs[:, 0] = inst.soc_ini
    rows.add(np.concatenate([a.ravel() for a in rr]), np.concatenate([c.ravel() for c in cols]),
             np.concatenate([v.ravel() for v in vals]), rhs.ravel(), rhs.ravel(), lay.nt)


def _status_rows(lay: _Layout, rows: _Rows, sign_pairs, window: np.ndarray) -> None:
    """Rows ``sw_t >= sign*(u_t - u_{t-1})`` for t in the window (free elsewhere), per (sw, blocks, sign)."""
    n, t = lay.n, lay.t
    lo = np.where(window.ravel(), 0.0, -np.inf)
    for sw, blocks, sign in sign_pairs:
        r = np.arange(lay.nt).reshape(n, t)
        cols, vals, rr = [lay.cell(sw)], [np.ones((n, t))], [r]
        for b in blocks:
            cols.append(lay.cell(b))
            vals.append(np.full((n, t), -sign))
            rr.append(r)
            if t > 1:
                cols.append(lay.cell(b)[:, :-1])
                vals.append(np.full((n, t - 1), sign))
                rr.append(r[:, 1:])
        rows.add(np.concatenate([a.ravel() for a in rr]), np.concatenate([c.ravel() for c in cols]),
                 np.concatenate([v.ravel() for v in vals]), lo, np.inf, lay.nt)


def _wish(inst: SiteInstance, lay: _Layout, rows: _Rows, drop: frozenset[str]) -> None:
    """(3), (4), (10): wish rows on s_end = s_{i, T-1} (x = 100 (exp - s_end))."""
    n = lay.n
    s_end = lay.cell(lay.s)[:, -1]
    wcol = lay.wish + np.arange(n)
    if inst.hard_wish:
        if "energy_wish" not in drop:
            rows.add(np.arange(n), s_end, 1.0, inst.soc_exp, np.inf, n)
    elif inst.penalty == "plus":  # e >= 100 (exp - s_end)
        rows.add(np.r_[np.arange(n), np.arange(n)], np.r_[wcol, s_end], np.r_[np.ones(n), 100 * np.ones(n)],
                 100 * inst.soc_exp, np.inf, n)
    else:  # q >= 2 x_k (100 exp - 100 s_end) - x_k^2
        xk = square_breakpoints(inst.square_pieces)
        k = xk.size
        r = np.arange(n * k).reshape(n, k)
        vals = np.r_[np.ones(n * k), (200.0 * np.broadcast_to(xk, (n, k))).ravel()]
        cols = np.r_[np.repeat(wcol, k), np.repeat(s_end, k)]
        lo = (200.0 * inst.soc_exp[:, None] * xk[None, :] - xk[None, :] ** 2).ravel()
        rows.add(np.r_[r.ravel(), r.ravel()], cols, vals, lo, np.inf, n * k)


def _coupling(inst: SiteInstance, lay: _Layout, rows: _Rows, drop: frozenset[str]) -> None:
    """(8) sum_i u^V <= sum_i u^c and (11) P^B + sum P (u^c - u^H - u^B - u^V) >= 0, per sub-site and slot."""
    n, t = lay.n, lay.t
    n_rows = inst.n_groups * t
    gt = (inst.group[:, None] * t + np.arange(t)[None, :]).ravel()
    p = np.broadcast_to(inst.power_kw[:, None], (n, t))
    if "V" in inst.modes and "v2v_count" not in drop:
        cols = np.r_[lay.cell(lay.x["V"]).ravel(), lay.cell(lay.x["c"]).ravel()]
        vals = np.r_[np.ones(lay.nt), -np.ones(lay.nt)]
        rows.add(np.r_[gt, gt], cols, vals, -np.inf, 0.0, n_rows)
    local = [m for m in LOCAL_MODES if m in inst.modes]
    if local and "no_backfeed" not in drop:
        cols = [lay.cell(lay.x["c"])] + [lay.cell(lay.x[m]) for m in local]
        vals = [p] + [-p] * len(local)
        rows.add(np.concatenate([gt] * len(cols)), np.concatenate([c.ravel() for c in cols]),
                 np.concatenate([v.ravel() for v in vals]), np.tile(-inst.base_load, inst.n_groups), np.inf,
                 n_rows)


def _objective(inst: SiteInstance, lay: _Layout) -> np.ndarray:
    """(9) + (10) without the constant sum_t theta_L P^B dt."""
    cost = np.zeros(lay.size)
    p = inst.power_kw[:, None] * inst.dt_h
    cost[lay.x["c"]: lay.x["c"] + lay.nt] = (p * (inst.load_price[None, :] - inst.charging_fee)).ravel()
    for m in LOCAL_MODES:
        cost[lay.x[m]: lay.x[m] + lay.nt] = (-p * inst.load_price[None, :]).ravel()
    cost[lay.x["G"]: lay.x["G"] + lay.nt] = (-p * inst.v2g_price[None, :]).ravel()
    lam = np.broadcast_to(inst.lam[:, None], (lay.n, lay.t)).ravel()
    cost[lay.swc: lay.swd] = lam if inst.cycles == "switches" else 0.0
    cost[lay.swd: lay.wish] = lam
    cost[lay.wish:] = 0.0 if inst.hard_wish else inst.rho
    return cost


def _solve_raw(inst: SiteInstance, drop: frozenset[str], time_limit: float, gap: float):
    lay = _Layout(inst.n_ev, inst.n_slots)
    rows = _Rows()
    rows.add(np.tile(np.arange(lay.nt), len(MODES)), np.arange(len(MODES) * lay.nt), 1.0, 0.0, 1.0, lay.nt)
    _dynamics(inst, lay, rows)
    d_blocks = [lay.x[m] for m in DISCHARGE_MODES]
    pairs = [(lay.swd, d_blocks, 1.0)]
    if inst.cycles == "switches":
        pairs += [(lay.swd, d_blocks, -1.0), (lay.swc, [lay.x["c"]], 1.0), (lay.swc, [lay.x["c"]], -1.0)]
    _status_rows(lay, rows, pairs, inst.window)
    _wish(inst, lay, rows, drop)
    _coupling(inst, lay, rows, drop)
    lo, hi = _bounds(inst, lay, drop)
    integrality = np.zeros(lay.size)
    integrality[: len(MODES) * lay.nt] = 1
    res = milp(_objective(inst, lay), constraints=rows.constraint(lay.size), bounds=Bounds(lo, hi),
               integrality=integrality, options={"time_limit": time_limit, "mip_rel_gap": gap})
    return res, lay


def _diagnose(inst: SiteInstance, time_limit: float) -> list[tuple[int | None, str]]:
    """Which EV and family make the site infeasible: single-EV solves, then families left out."""
    culprits: list[tuple[int | None, str]] = []
    for i in range(inst.n_ev):
        sub = inst.subset([i])
        if _solve_raw(sub, frozenset(), time_limit, 1e-4)[0].status != 2:
            continue
        fams = [f for f in FAMILIES if _solve_raw(sub, frozenset([f]), time_limit, 1e-4)[0].status != 2]
        culprits += [(i, f) for f in fams] or [(i, "combined")]
    if not culprits:
        culprits = [(None, f) for f in FAMILIES
                    if _solve_raw(inst, frozenset([f]), time_limit, 1e-4)[0].status != 2]
    return culprits or [(None, "combined")]


def solve_site(inst: SiteInstance, time_limit: float = 30.0, gap: float = 1e-6) -> SiteSchedule:
    """Solve one site-day (RECONSTRUCTED model, models.md §3.2 (1)-(11)) with HiGHS.

    Args:
        inst: the site-day.
        time_limit: HiGHS time limit (s).
        gap: relative MIP gap. HiGHS finds the optimum of a 10-EV station fast but proving it can
            take seconds (symmetric EVs); a solve stopped by ``time_limit`` with a solution returns it
            with ``info["limit_reached"] = True`` and the gap HiGHS proved.

    Returns:
        The optimal :class:`SiteSchedule` (evaluated by :func:`evaluate_modes` from the binaries;
        ``info`` holds the MILP objective and the HiGHS status).

    Raises:
        V2AInfeasibleError: no schedule is feasible; the message names the EV(s) and the constraint
            family (``soc_bounds`` (2), ``energy_wish`` (4, hard), ``v2v_count`` (8), ``no_backfeed``
            (11)).
        RuntimeError: HiGHS stopped without a solution.
    """
    t0 = time.perf_counter()
    res, lay = _solve_raw(inst, frozenset(), time_limit, gap)
    if res.status == 2:
        culprits = _diagnose(inst, time_limit)
        what = "; ".join(f"{'site' if i is None else f'EV {i}'}: {f}" for i, f in culprits)
        raise V2AInfeasibleError(f"V2A {inst.place} site-day infeasible ({what})", culprits)
    if res.x is None:
        raise RuntimeError(f"HiGHS stopped without a solution on the {inst.place} site: {res.message}")
    modes = np.zeros((lay.n, lay.t), dtype=int)
    n_on = (res.x[: len(MODES) * lay.nt].reshape(len(MODES), lay.n, lay.t) > 0.5).sum(axis=0)
    for m in MODES:
        on = res.x[lay.x[m]: lay.x[m] + lay.nt].reshape(lay.n, lay.t) > 0.5
        modes[on] = MODE_CODES[m]
    sched = evaluate_modes(inst, modes)
    const = float(inst.dt_h * inst.load_price @ inst.base_load) * inst.n_groups
    info = {"milp_objective": float(res.fun) + const, "status": res.message,
            "mip_gap": getattr(res, "mip_gap", None), "limit_reached": bool(res.status == 1),
            "max_modes_per_slot": int(n_on.max(initial=0))}
    return replace(sched, solve_time_s=time.perf_counter() - t0, info=info)

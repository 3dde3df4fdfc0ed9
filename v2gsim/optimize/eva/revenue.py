"""The aggregator's day-ahead revenue model (O) with constraints (a)-(e) (seed 003, models.md §4.2).

RECONSTRUCTED (models.md §4.2 (O), (a)-(e)): only the objective's items are confirmed by the seed's
Table 1 (energy + capacity - subsidy - purchase - peak-regulation cost = total, exactly); the
constraints and the way incentives buy flexibility are ours:

* The fleet (one virtual battery, the aggregate region (F3)) follows a baseline charging power
  ``p_base`` unless EVs respond to an incentive. In hours the TSO asks for down-regulation (valley)
  a charging discount level ``δ^c_k`` makes a share ``π^c_k`` of the charging headroom
  ``P^c_agg - p_base`` available (extra charging ``r^dn``); in hours it asks for up-regulation (peak)
  a discharging subsidy ``δ^d_k`` makes a share ``π^d_k`` of ``p_base + P^d_agg`` available
  (less charging or discharging, ``r^up``). One level per hour and instrument (binaries ``z``),
  the responding power split by level ``y_k <= π_k F_t z_k`` ((c), exact linearisation).
* Power balance (a): ``c_t - d_t = p_base,t + r^dn_t - r^up_t + s_t`` with a recovery charge
  ``s_t >= 0`` only in hours the TSO requests nothing (energy given up at a peak is bought back
  later, at the day-ahead price, within the region (b)); bids ``0 <= b_t <= r_t <= req_t``
  in requested hours (a day-ahead plan delivers what it bids).
* (b) ``E^-_agg <= E_t <= E^+_agg`` with ``E_{t+1} = E_t + η_c c_t dt - d_t dt/η_d``; (d) aggregate SOC
  limits; (e) ``0 <= c_t <= P^c_agg``, ``0 <= d_t <= P^d_agg``.
* Items: energy revenue ``Σ (R_up r^up + R_dn r^dn) dt``; capacity revenue ``Σ R_cap b dt``; subsidy
  cost ``Σ δ^d_k y^d_k dt`` (DBDR); electricity purchase ``Σ R_DA c dt`` plus the charging discounts
  ``Σ δ^c_k y^c_k dt`` (netted into purchase, as the seed's Table 1 shows no CBDR subsidy cost; set
  ``discount_in_purchase=False`` to report them as subsidy instead); peak-regulation cost
  ``Σ c_reg (r^up + r^dn) dt`` plus the deviation cost of a committed regulation not delivered
  (``commit_kw``, used when a plan is settled; zero when planning).

The instance, :class:`~v2gsim.optimize.eva.instance.RevenueInputs` (the fleet's region and baseline,
the day's :class:`~v2gsim.optimize.eva.instance.MarketDay`, the response shares), lives in
:mod:`v2gsim.optimize.eva.instance` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from v2gsim.optimize.eva.instance import MarketDay, RevenueInputs

__all__ = ["ITEMS", "Breakdown", "MarketDay", "RevenueInfeasibleError", "RevenueInputs", "solve_revenue"]

ITEMS = ("subsidy_cost", "electricity_purchase_cost", "peak_regulation_cost", "energy_revenue",
         "capacity_revenue", "total_operating_revenue")


@dataclass(frozen=True)
class Breakdown:
    """The seed's Table 1 items (currency) and the hourly plan.

    ``total_operating_revenue`` is computed from the other items as energy + capacity - subsidy -
    purchase - peak-regulation, in that order, so the breakdown sums to it exactly.
    """

    subsidy_cost: float
    electricity_purchase_cost: float
    peak_regulation_cost: float
    energy_revenue: float
    capacity_revenue: float
    discount_cost: float
    objective: float
    plan: dict[str, np.ndarray] = field(repr=False)

    @property
    def total_operating_revenue(self) -> float:
        """Energy + capacity - subsidy - purchase - peak-regulation cost."""
        return (self.energy_revenue + self.capacity_revenue - self.subsidy_cost
                - self.electricity_purchase_cost - self.peak_regulation_cost)

    def items(self) -> dict[str, float]:
        """The six rows of the seed's table, in its order."""
        return {k: float(getattr(self, k)) for k in ITEMS}


class _Index:
    """Column offsets of the variable blocks."""

    def __init__(self, T: int, kc: int, kd: int) -> None:
        sizes = {"c": T, "d": T, "rup": T, "rdn": T, "b": T, "e": T, "s": T, "u": T,
                 "yc": T * kc, "yd": T * kd, "zc": T * kc, "zd": T * kd}
        self.off: dict[str, int] = {}
        n = 0
        for k, s in sizes.items():
            self.off[k] = n
            n += s
        self.n, self.kc, self.kd = n, kc, kd

    def __call__(self, block: str, t: int, k: int = 0) -> int:
        width = {"yc": self.kc, "zc": self.kc, "yd": self.kd, "zd": self.kd}.get(block, 1)
        return self.off[block] + t * width + k


def _objective(x: RevenueInputs, ix: _Index) -> np.ndarray:
    """Linear objective (to maximise) over the variable vector."""
    T, dt = x.T, x.dt
    obj = np.zeros(ix.n)
    for t in range(T):
        obj[ix("c", t)] = -x.day.r_da[t] * dt
        obj[ix("rup", t)] = (x.day.r_up[t] - x.day.c_reg[t]) * dt
        obj[ix("rdn", t)] = (x.day.r_down[t] - x.day.c_reg[t]) * dt
        obj[ix("b", t)] = x.day.r_cap[t] * dt
        obj[ix("u", t)] = -x.shortfall_price * dt
        for k in range(ix.kc):
            obj[ix("yc", t, k)] = -x.disc_levels[k] * dt
        for k in range(ix.kd):
            obj[ix("yd", t, k)] = -x.sub_levels[k] * dt
    return obj


def _constraints(x: RevenueInputs, ix: _Index) -> tuple[LinearConstraint, list[str]]:
    """Rows of (a)-(d) with a family label per row (for infeasibility reports)."""
    T, dt = x.T, x.dt
    A = lil_matrix((6 * T + T * (ix.kc + ix.kd) + 2, ix.n))
    lo, hi, fam = [], [], []
    r = 0

    def row(entries: dict[int, float], lb: float, ub: float, family: str) -> None:
        nonlocal r
        for j, v in entries.items():
            A[r, j] = A[r, j] + v
        lo.append(lb)
        hi.append(ub)
        fam.append(family)
        r += 1

    head_dn = np.maximum(x.p_c_agg - x.p_base, 0.0)
    head_up = np.maximum(x.p_base + x.p_d_agg, 0.0)
    for t in range(T):
        row({ix("c", t): 1, ix("d", t): -1, ix("rdn", t): -1, ix("rup", t): 1, ix("s", t): -1},
            x.p_base[t], x.p_base[t],
            "(a) power balance")
        prev = {ix("e", t - 1): -1.0} if t else {}
        e_prev0 = 0.0 if t else float(x.e_upper[0])
        row({ix("e", t): 1.0, ix("c", t): -x.eta_c * dt, ix("d", t): dt / x.eta_d, **prev}, e_prev0, e_prev0,
            "(b) energy dynamics")
        row({ix("yc", t, k): 1 for k in range(ix.kc)} | {ix("rdn", t): -1}, 0, 0, "(c) EV quantity (CBDR)")
        row({ix("yd", t, k): 1 for k in range(ix.kd)} | {ix("rup", t): -1}, 0, 0, "(c) EV quantity (DBDR)")
        row({ix("zc", t, k): 1 for k in range(ix.kc)}, 1, 1, "(c) one discount level")
        row({ix("zd", t, k): 1 for k in range(ix.kd)}, 1, 1, "(c) one subsidy level")
        for k in range(ix.kc):
            row({ix("yc", t, k): 1, ix("zc", t, k): -x.pi_disc[k] * head_dn[t]}, -np.inf, 0,
                "(c) EV quantity (CBDR)")
        for k in range(ix.kd):
            row({ix("yd", t, k): 1, ix("zd", t, k): -x.pi_sub[k] * head_up[t]}, -np.inf, 0,
                "(c) EV quantity (DBDR)")
    return LinearConstraint(A[:r].tocsr(), np.array(lo), np.array(hi)), fam


def _bounds(x: RevenueInputs, ix: _Index, fixed: tuple[np.ndarray, np.ndarray] | None) -> Bounds:
    """Variable bounds: (a) bids and requests, (b)/(d) energy, (e) power; fixed levels if given."""
    T = x.T
    lb, ub = np.zeros(ix.n), np.full(ix.n, np.inf)
    e_lo = np.asarray(x.e_lower[1:], float)
    e_hi = np.asarray(x.e_upper[1:], float)
    if x.e_min_agg is not None:
        e_lo = np.maximum(e_lo, np.asarray(x.e_min_agg, float)[1:])
    if x.e_max_agg is not None:
        e_hi = np.minimum(e_hi, np.asarray(x.e_max_agg, float)[1:])
    for t in range(T):
        ub[ix("c", t)] = x.p_c_agg[t]
        ub[ix("d", t)] = x.p_d_agg[t]
        ub[ix("rup", t)] = x.day.req_kw[t] if x.day.up_window[t] else 0.0
        ub[ix("rdn", t)] = x.day.req_kw[t] if x.day.down_window[t] else 0.0
        ub[ix("s", t)] = 0.0 if (x.day.up_window[t] or x.day.down_window[t]) else np.inf
        lb[ix("e", t)], ub[ix("e", t)] = e_lo[t], e_hi[t]
        for blk, kk in (("zc", ix.kc), ("zd", ix.kd)):
            for k in range(kk):
                ub[ix(blk, t, k)] = 1.0
        if fixed is not None:
            for blk, lev, kk in (("zc", fixed[0], ix.kc), ("zd", fixed[1], ix.kd)):
                for k in range(kk):
                    lb[ix(blk, t, k)] = ub[ix(blk, t, k)] = float(k == lev[t])
    return Bounds(lb, ub)


def _bid_rows(x: RevenueInputs, ix: _Index) -> LinearConstraint:
    """(a) ``b_t <= r^up_t + r^dn_t`` (only one is non-zero in a requested hour) and the commitment
    ``r^up_t + r^dn_t + u_t >= commit_t``."""
    T = x.T
    A = lil_matrix((2 * T, ix.n))
    commit = np.zeros(T) if x.commit_kw is None else np.asarray(x.commit_kw, float)
    for t in range(T):
        A[t, ix("b", t)] = 1
        A[t, ix("rup", t)] = -1
        A[t, ix("rdn", t)] = -1
        A[T + t, ix("rup", t)] = A[T + t, ix("rdn", t)] = A[T + t, ix("u", t)] = 1
    return LinearConstraint(A.tocsr(), np.concatenate([np.full(T, -np.inf), commit]),
                            np.concatenate([np.zeros(T), np.full(T, np.inf)]))


class RevenueInfeasibleError(ValueError):
    """The revenue model has no solution; ``family`` names the constraint family (and hour)."""

    def __init__(self, message: str, family: str) -> None:
        super().__init__(message)
        self.family = family


def _diagnose(x: RevenueInputs) -> str:
    """Which family the baseline (the always-feasible plan when inputs are consistent) breaks."""
    e = float(x.e_upper[0]) + np.cumsum(x.eta_c * np.asarray(x.p_base) * x.dt)
    checks = [("(e) power", np.asarray(x.p_base) - x.p_c_agg), ("(e) power", -np.asarray(x.p_base)),
              ("(b) energy boundary", e - x.e_upper[1:]), ("(b) energy boundary", x.e_lower[1:] - e)]
    if x.e_min_agg is not None:
        checks.append(("(d) battery state", np.asarray(x.e_min_agg)[1:] - e))
    if x.e_max_agg is not None:
        checks.append(("(d) battery state", e - np.asarray(x.e_max_agg)[1:]))
    for fam, v in checks:
        bad = np.flatnonzero(v > 1e-6)
        if bad.size:
            return f"{fam}, hour {int(bad[0])} (the baseline charging violates it)"
    return "unknown (the baseline is feasible; numerical trouble)"


def solve_revenue(x: RevenueInputs, *, fixed_levels: tuple[np.ndarray, np.ndarray] | None = None,
                  time_limit: float = 60.0) -> Breakdown:
    """Maximise (O) over hourly incentive levels, regulation powers and bids (MILP, HiGHS).

    Args:
        x: the instance.
        fixed_levels: optional (discount level index (T,), subsidy level index (T,)); the MILP then
            becomes an LP (used by the enumeration check).
        time_limit: HiGHS time limit (s).

    Returns:
        Breakdown with the seed's items and the hourly plan (levels, δ, π, powers, bids, energy).

    Raises:
        RevenueInfeasibleError: naming the violated constraint family.
    """
    ix = _Index(x.T, int(np.size(x.disc_levels)), int(np.size(x.sub_levels)))
    obj = _objective(x, ix)
    cons, _ = _constraints(x, ix)
    integ = np.zeros(ix.n)
    if fixed_levels is None:
        integ[ix.off["zc"]:ix.off["zc"] + x.T * (ix.kc + ix.kd)] = 1
    res = milp(-obj, constraints=[cons, _bid_rows(x, ix)], bounds=_bounds(x, ix, fixed_levels),
               integrality=integ, options={"time_limit": time_limit, "mip_rel_gap": 1e-9})
    if res.x is None:
        fam = _diagnose(x)
        raise RevenueInfeasibleError(f"eva revenue model: no solution (HiGHS: {res.message}); "
                                     f"constraint family: {fam}", fam)
    return _breakdown(x, ix, res.x, float(-res.fun))


def _breakdown(x: RevenueInputs, ix: _Index, v: np.ndarray, objective: float) -> Breakdown:
    """Item values and the hourly plan from a solution vector."""
    T, dt = x.T, x.dt

    def blk(name: str, width: int = 1) -> np.ndarray:
        a = v[ix.off[name]:ix.off[name] + T * width]
        return a.reshape(T, width) if width > 1 or name in ("yc", "yd", "zc", "zd") else a

    c, rup, rdn, b = blk("c"), blk("rup"), blk("rdn"), blk("b")
    yc, yd = blk("yc", ix.kc), blk("yd", ix.kd)
    # a level in an hour nobody responds costs nothing: report it as the first level (no incentive)
    lev_c = np.where(rdn > 1e-9, np.argmax(blk("zc", ix.kc), axis=1), 0)
    lev_d = np.where(rup > 1e-9, np.argmax(blk("zd", ix.kd), axis=1), 0)
    discount = float(np.sum(yc @ np.asarray(x.disc_levels, float)) * dt)
    subsidy = float(np.sum(yd @ np.asarray(x.sub_levels, float)) * dt)
    purchase = float(np.sum(x.day.r_da * c) * dt)
    plan = {"c_kw": c, "d_kw": blk("d"), "recovery_kw": blk("s"), "shortfall_kw": blk("u"),
            "r_up_kw": rup, "r_down_kw": rdn, "bid_kw": b,
            "energy_kwh": np.concatenate([[x.e_upper[0]], blk("e")]),
            "discount_level": lev_c, "subsidy_level": lev_d,
            "discount": np.asarray(x.disc_levels, float)[lev_c],
            "subsidy": np.asarray(x.sub_levels, float)[lev_d],
            "pi_discount": np.asarray(x.pi_disc, float)[lev_c],
            "pi_subsidy": np.asarray(x.pi_sub, float)[lev_d]}
    return Breakdown(
        subsidy_cost=subsidy + (0.0 if x.discount_in_purchase else discount),
        electricity_purchase_cost=purchase + (discount if x.discount_in_purchase else 0.0),
        peak_regulation_cost=float(np.sum(x.day.c_reg * (rup + rdn)) * dt
                                   + np.sum(x.shortfall_price * blk("u")) * dt),
        energy_revenue=float(np.sum(x.day.r_up * rup + x.day.r_down * rdn) * dt),
        capacity_revenue=float(np.sum(x.day.r_cap * b) * dt),
        discount_cost=discount, objective=objective, plan=plan)

"""A V2A site schedule and its cost split, evaluated from a mode matrix (models.md §3.2).

:func:`evaluate_modes` computes SOC (1), the cycle count (6), the site load, the cost (9) and the
penalties (10) of ANY mode matrix, independently of the MILP, so a solved schedule can be checked and
a hand-made one compared with it. All equations RECONSTRUCTED (models.md §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from v2gsim.optimize.v2a.instance import DISCHARGE_MODES, LOCAL_MODES, MODE_CODES, SiteInstance
from v2gsim.optimize.v2a.penalty import wish_penalty

__all__ = ["SiteSchedule", "cycle_count", "evaluate_modes"]


def cycle_count(charge: np.ndarray, discharge: np.ndarray, window: np.ndarray, rule: str) -> np.ndarray:
    """Cycles N_i of (6) per EV (RECONSTRUCTED, models.md §3.2 (6)).

    Args:
        charge, discharge: (N, T) 0/1 status u^c and u^d (7).
        window: (N, T) plugged mask; statuses are 0 outside it.
        rule: ``"switches"``: sum over the window of |u^c_t - u^c_{t-1}| + |u^d_t - u^d_{t-1}| with
            u_{t_start - 1} = 0 (the drop after the last plugged slot is outside T_i and not counted);
            ``"discharge_episodes"``: number of discharge starts, sum of (u^d_t - u^d_{t-1})^+.

    Returns:
        (N,) cycle counts.
    """
    def diff(u):
        return np.diff(u, axis=1, prepend=0.0)

    if rule == "switches":
        return ((np.abs(diff(charge)) + np.abs(diff(discharge))) * window).sum(axis=1)
    return (np.maximum(diff(discharge), 0.0) * window).sum(axis=1)


@dataclass(frozen=True)
class SiteSchedule:
    """A site-day schedule.

    Attributes:
        modes: (N, T) int, 0 idle, else :data:`MODE_CODES` (1 c, 2 H, 3 B, 4 V, 5 G).
        soc: (N, T) SOC after each slot (SOC^ini carried before the window, SOC^end after it).
        soc_end: (N,) SOC at plug-out (3).
        site_load: (T,) grid import of the site, sum over sub-sites of P^B + sum P (c - H - B - V)
            (kW; V2G not included).
        v2g_kw: (T,) power sold to the grid by V2G (kW).
        cycles: (N,) cycle counts (6).
        shortfall_pp: (N,) 100 (SOC^exp - SOC^end) (percentage points; negative is a surplus).
        costs: ``energy`` (9, load price times site load), ``v2g_revenue``, ``fee_revenue``,
            ``wish_penalty``, ``cycle_penalty``, ``objective`` (10) and ``cost`` = energy - v2g
            revenue (F of (9)), all in p.u.
        violations: constraint families this schedule breaks (empty for a feasible one).
        solve_time_s: MILP time (0 for an evaluated schedule).
    """

    modes: np.ndarray
    soc: np.ndarray
    soc_end: np.ndarray
    site_load: np.ndarray
    v2g_kw: np.ndarray
    cycles: np.ndarray
    shortfall_pp: np.ndarray
    costs: dict[str, float]
    violations: tuple[str, ...] = ()
    solve_time_s: float = 0.0
    info: dict = field(default_factory=dict)

    def count(self, mode: str) -> np.ndarray:
        """(T,) number of EVs in ``mode`` per slot."""
        return (self.modes == MODE_CODES[mode]).sum(axis=0)

    def energy_kwh(self, inst: SiteInstance, mode: str) -> float:
        """Grid-side energy of ``mode`` over the day (kWh)."""
        on = self.modes == MODE_CODES[mode]
        return float((on * inst.power_kw[:, None]).sum() * inst.dt_h)


def evaluate_modes(inst: SiteInstance, modes: np.ndarray, tol: float = 1e-7) -> SiteSchedule:
    """Evaluate a mode matrix on an instance: SOC (1), cycles (6), load, costs (9), (10), violations.

    Args:
        inst: the site-day.
        modes: (N, T) int mode codes.
        tol: tolerance of the SOC checks.

    Returns:
        The :class:`SiteSchedule`; ``violations`` names the families broken: ``modes`` (a mode not
        allowed at the place or outside the window, (5)), ``soc_bounds`` (2), ``energy_wish`` (4,
        hard wish only), ``v2v_count`` (8), ``no_backfeed`` (11).
    """
    modes = np.asarray(modes, dtype=int)
    win = inst.window
    on = {m: (modes == MODE_CODES[m]).astype(float) for m in MODE_CODES}
    c = on["c"]
    d = sum(on[m] for m in DISCHARGE_MODES)
    local = sum(on[m] for m in LOCAL_MODES)
    soc = inst.soc_ini[:, None] + np.cumsum(inst.charge_step[:, None] * c - inst.discharge_step[:, None] * d,
                                            axis=1)
    soc_end = soc[:, -1]
    p = inst.power_kw[:, None]
    g = inst.n_groups
    by_group = np.zeros((g, inst.n_slots))
    np.add.at(by_group, inst.group, p * (c - local))
    by_group += inst.base_load[None, :]
    site_load = by_group.sum(axis=0)
    v2g_kw = (p * on["G"]).sum(axis=0)
    cycles = cycle_count(c, d, win, inst.cycles)
    dev = 100.0 * (inst.soc_exp - soc_end)
    dt = inst.dt_h
    energy = float(dt * inst.load_price @ site_load)
    v2g = float(dt * inst.v2g_price @ v2g_kw)
    fee = float(inst.charging_fee * dt * (p * c).sum())
    wish = 0.0 if inst.hard_wish else float(inst.rho @ wish_penalty(dev, inst.penalty, inst.square_pieces))
    cyc = float(inst.lam @ cycles)
    costs = {"energy": energy, "v2g_revenue": v2g, "fee_revenue": fee, "cost": energy - v2g,
             "wish_penalty": wish, "cycle_penalty": cyc, "objective": energy - v2g - fee + wish + cyc}
    viol = []
    allowed = [0] + [MODE_CODES[m] for m in inst.modes]
    if np.any(~np.isin(modes, allowed)) or np.any((modes != 0) & ~win):
        viol.append("modes")
    if np.any(win & ((soc < inst.soc_min[:, None] - tol) | (soc > inst.soc_max[:, None] + tol))):
        viol.append("soc_bounds")
    if inst.hard_wish and np.any(soc_end < inst.soc_exp - tol):
        viol.append("energy_wish")
    v_minus_c = np.zeros((g, inst.n_slots))
    np.add.at(v_minus_c, inst.group, on["V"] - c)
    if np.any(v_minus_c > 0):
        viol.append("v2v_count")
    if np.any(by_group < -tol):
        viol.append("no_backfeed")
    return SiteSchedule(modes=modes, soc=soc, soc_end=soc_end, site_load=site_load, v2g_kw=v2g_kw,
                        cycles=cycles, shortfall_pp=dev, costs=costs, violations=tuple(viol))

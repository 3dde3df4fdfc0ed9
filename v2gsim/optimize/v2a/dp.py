"""Exact dynamic program for single-EV sub-sites (households), vectorized over the EVs.

When every sub-site (group) holds one EV, as the fleet's home chargers do, the MILP of
:mod:`v2gsim.optimize.v2a.milp` separates into one problem per EV whose state is the number of
charging and discharging slots so far (k, j) (the SOC is ``SOC^ini + a k - b j``, (1)) and the class
of the last mode (idle, charging, discharging) for the cycle count (6). The DP runs over the slots
for all EVs at once on (N, K, J, 3) arrays; it is exact (same model, all equations RECONSTRUCTED,
models.md §3.2) and much faster than a grouped MILP. No back-feed (11) for one EV: V2H is allowed
in a slot only if P <= P^B_t. Of V2H and V2G, which reach the same state, the cheaper is taken.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from v2gsim.optimize.v2a.instance import MODE_CODES, SiteInstance
from v2gsim.optimize.v2a.penalty import wish_penalty
from v2gsim.optimize.v2a.schedule import SiteSchedule, evaluate_modes

__all__ = ["solve_single_ev_sites"]

_IDLE, _C, _D = 0, 1, 2


def _switch_cost(rule: str) -> np.ndarray:
    """(3, 3) cycles counted by a transition prev -> new class, (6)."""
    if rule == "switches":  # |dc| + |dd|
        return np.array([[0, 1, 1], [1, 0, 2], [1, 2, 0]], dtype=float)
    return np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]], dtype=float)  # discharge starts


def _slot_costs(
    inst: SiteInstance, t: int, local: list[str], e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy costs (9) of slot ``t`` per EV: charging, and the cheaper of the local discharge (V2H,
    only if P <= P^B_t: no back-feed (11)) and V2G.

    Args:
        inst: the instance.
        t: the slot.
        local: the local discharge modes of the instance (``"H"``, ``"B"``, ``"V"``), in that order.
        e: (N,) energy of one slot at full power (kWh).

    Returns:
        ``(c_cost, d_cost, dmode)``: (N,) cost of charging and of discharging ($) and (N,) the mode
        code of the cheaper discharge.
    """
    inf = np.inf
    c_cost = e * (inst.load_price[t] - inst.charging_fee)
    g_cost = -e * inst.v2g_price[t] if "G" in inst.modes else np.full(inst.n_ev, inf)
    h_cost = np.where(inst.power_kw <= inst.base_load[t] + 1e-12, -e * inst.load_price[t], inf) \
        if local else np.full(inst.n_ev, inf)
    use_h = h_cost < g_cost
    d_cost = np.minimum(h_cost, g_cost)
    dmode = np.where(use_h, MODE_CODES[local[0]] if local else 0, MODE_CODES["G"])
    return c_cost, d_cost, dmode


def _best_previous(v: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best previous class for each new class: ``min over prev of v[..., prev] + switch(prev -> new)``
    (6), on (N, K, J, 3) values; returns the minima and the minimizing previous classes."""
    best = np.empty_like(v)
    best_prev = np.zeros(v.shape, dtype=np.int8)
    for c_new in range(3):
        cur = v[..., 0] + sw[:, 0, c_new][:, None, None]
        cur_arg = np.zeros(cur.shape, dtype=np.int8)
        for c_prev in (1, 2):
            cand = v[..., c_prev] + sw[:, c_prev, c_new][:, None, None]
            better = cand < cur
            cur = np.where(better, cand, cur)
            cur_arg[better] = c_prev
        best[..., c_new], best_prev[..., c_new] = cur, cur_arg
    return best, best_prev


def _slot_step(
    v: np.ndarray, sw: np.ndarray, c_cost: np.ndarray, d_cost: np.ndarray, ok: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One slot of the DP: the values after the slot and the previous class of every state.

    Args:
        v: (N, K, J, 3) least cost ($) of reaching (k charging slots, j discharging slots, class of
            the last mode) before the slot.
        sw: (N, 3, 3) cycle penalty of a class transition prev -> new ($, lambda times (6)).
        c_cost, d_cost: (N,) cost of charging and of discharging in the slot ($).
        ok: (N, K, J) states whose SOC keeps the bounds (2).
        w: (N,) EVs plugged in during the slot.

    Returns:
        ``(new, arg)``: (N, K, J, 3) values after the slot and the previous class (int8).
    """
    inf = np.inf
    new = np.full_like(v, inf)
    arg = np.zeros(v.shape, dtype=np.int8)
    best, best_prev = _best_previous(v, sw)
    # idle: same (k, j)
    new[..., _IDLE], arg[..., _IDLE] = best[..., _IDLE], best_prev[..., _IDLE]
    # charge: (k-1, j) -> (k, j)
    new[:, 1:, :, _C] = best[:, :-1, :, _C] + c_cost[:, None, None]
    arg[:, 1:, :, _C] = best_prev[:, :-1, :, _C]
    # discharge: (k, j-1) -> (k, j)
    new[:, :, 1:, _D] = best[:, :, :-1, _D] + d_cost[:, None, None]
    arg[:, :, 1:, _D] = best_prev[:, :, :-1, _D]
    # outside the window: idle only, no cycle counted, the class resets to idle
    inside = w[:, None, None, None]
    frozen = np.full_like(v, inf)
    frozen[..., _IDLE] = v.min(axis=-1)
    new = np.where(inside, np.where(ok[..., None], new, inf), frozen)
    if not w.all():
        arg[~w, ..., _IDLE] = v[~w].argmin(axis=-1)
    return new, arg


def _backtrack(
    back: np.ndarray, dmode: np.ndarray, win: np.ndarray, k: np.ndarray, j: np.ndarray, cls: np.ndarray
) -> np.ndarray:
    """The (N, T) mode codes of the optimal schedules, traced back from the final states (k, j, cls)
    through the previous classes ``back`` (T, N, K, J, 3) and the discharge modes ``dmode`` (T, N)."""
    n, t_len = win.shape
    modes = np.zeros((n, t_len), dtype=int)
    rows = np.arange(n)
    for t in range(t_len - 1, -1, -1):
        prev = back[t][rows, k, j, cls]
        on_c, on_d = (cls == _C) & win[:, t], (cls == _D) & win[:, t]
        modes[on_c, t] = MODE_CODES["c"]
        modes[on_d, t] = dmode[t][on_d]
        k = k - on_c
        j = j - on_d
        cls = prev.astype(int)
    return modes


def solve_single_ev_sites(inst: SiteInstance) -> SiteSchedule:
    """Optimal schedule of an instance whose groups each hold exactly one EV (or a single EV).

    The DP minimizes the energy cost (9) plus the wish and cycle penalties (10) over the states
    (k, j, class of the last mode) of every EV, slot by slot (:func:`_slot_step`), under the SOC
    bounds (1)-(2), then traces the optimal schedule back (:func:`_backtrack`).

    Args:
        inst: the instance (``hard_wish`` not supported; penalties as the MILP's).

    Returns:
        The :class:`SiteSchedule` (evaluated by :func:`evaluate_modes`); ``info["method"] = "dp"``.

    Raises:
        ValueError: two EVs share a group, or a hard wish.
        RuntimeError: an EV has no feasible schedule (its SOC bounds (2) cannot hold).
    """
    n, t_len = inst.n_ev, inst.n_slots
    if n > 1 and np.unique(inst.group).size != n:
        raise ValueError("solve_single_ev_sites needs one EV per group")
    if inst.hard_wish:
        raise ValueError("solve_single_ev_sites supports the penalized wish only")
    kk = np.arange(int((inst.departure - inst.arrival).max(initial=0)) + 1)  # counts <= longest window
    n_k = kk.size
    soc = (inst.soc_ini[:, None, None] + inst.charge_step[:, None, None] * kk[None, :, None]
           - inst.discharge_step[:, None, None] * kk[None, None, :])            # (N, K, J)
    ok = (soc >= inst.soc_min[:, None, None] - 1e-9) & (soc <= inst.soc_max[:, None, None] + 1e-9)
    sw = _switch_cost(inst.cycles) * inst.lam[:, None, None]                     # (N, 3, 3)
    e = inst.power_kw * inst.dt_h
    win = inst.window
    local = [m for m in ("H", "B", "V") if m in inst.modes]
    v = np.full((n, n_k, n_k, 3), np.inf)
    v[:, 0, 0, _IDLE] = 0.0
    back = np.zeros((t_len, n, n_k, n_k, 3), dtype=np.int8)  # prev class
    dmode = np.zeros((t_len, n), dtype=np.int8)
    for t in range(t_len):
        c_cost, d_cost, dmode[t] = _slot_costs(inst, t, local, e)
        v, back[t] = _slot_step(v, sw, c_cost, d_cost, ok, win[:, t])
    dev = 100.0 * (inst.soc_exp[:, None, None] - soc)
    final = v + (inst.rho[:, None, None] * wish_penalty(dev, inst.penalty, inst.square_pieces))[..., None]
    flat = final.reshape(n, -1).argmin(axis=1)
    best_val = final.reshape(n, -1)[np.arange(n), flat]
    if not np.all(np.isfinite(best_val)):
        bad = np.flatnonzero(~np.isfinite(best_val)).tolist()
        raise RuntimeError(f"EVs {bad}: no schedule keeps the SOC bounds (2)")
    k, j, cls = np.unravel_index(flat, final.shape[1:])
    modes = _backtrack(back, dmode, win, k, j, cls)
    sched = evaluate_modes(inst, modes)
    const = float(inst.dt_h * inst.load_price @ inst.base_load) * inst.n_groups
    info = {"method": "dp", "dp_objective": float(best_val.sum()) + const}
    return replace(sched, info=info)

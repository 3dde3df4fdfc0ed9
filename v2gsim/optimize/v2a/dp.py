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


def solve_single_ev_sites(inst: SiteInstance) -> SiteSchedule:
    """Optimal schedule of an instance whose groups each hold exactly one EV (or a single EV).

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
    inf = np.inf
    v = np.full((n, n_k, n_k, 3), inf)
    v[:, 0, 0, _IDLE] = 0.0
    back = np.zeros((t_len, n, n_k, n_k, 3), dtype=np.int8)  # prev class
    dmode = np.zeros((t_len, n), dtype=np.int8)
    for t in range(t_len):
        w = win[:, t]
        c_cost = e * (inst.load_price[t] - inst.charging_fee)
        g_cost = -e * inst.v2g_price[t] if "G" in inst.modes else np.full(n, inf)
        h_cost = np.where(inst.power_kw <= inst.base_load[t] + 1e-12, -e * inst.load_price[t], inf) \
            if local else np.full(n, inf)
        use_h = h_cost < g_cost
        d_cost = np.minimum(h_cost, g_cost)
        dmode[t] = np.where(use_h, MODE_CODES[local[0]] if local else 0, MODE_CODES["G"])
        new = np.full_like(v, inf)
        arg = np.zeros(v.shape, dtype=np.int8)
        # best previous class for each new class: min over prev of v[..., prev] + switch(prev -> new)
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
        v, back[t] = new, arg
    dev = 100.0 * (inst.soc_exp[:, None, None] - soc)
    final = v + (inst.rho[:, None, None] * wish_penalty(dev, inst.penalty, inst.square_pieces))[..., None]
    flat = final.reshape(n, -1).argmin(axis=1)
    best_val = final.reshape(n, -1)[np.arange(n), flat]
    if not np.all(np.isfinite(best_val)):
        bad = np.flatnonzero(~np.isfinite(best_val)).tolist()
        raise RuntimeError(f"EVs {bad}: no schedule keeps the SOC bounds (2)")
    k, j, cls = np.unravel_index(flat, final.shape[1:])
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
    sched = evaluate_modes(inst, modes)
    const = float(inst.dt_h * inst.load_price @ inst.base_load) * inst.n_groups
    info = {"method": "dp", "dp_objective": float(best_val.sum()) + const}
    return replace(sched, info=info)

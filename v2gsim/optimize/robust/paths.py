"""Worst-case energy paths of the robust counterpart (models.md §5.1; RECONSTRUCTED, §6 item 11).

A path is one signal trajectory w (K,) with, per vehicle, the energy at index 0 and the bounds on the
energy at indices 0..K; a ``lower`` path uses the split-efficiency lower model (its bounds are e_min
and the departure requirement), an upper path the eta_c upper model (its bound is e_max). The
arrival energy is placed at index 0 as ``e0 alpha^-a`` so that the idle decay before the plan's
window is carried by the dynamics rows (alpha > 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.optimize.robust.spec import FleetDay, Realizations

__all__ = ["EnergyPaths", "box_paths", "scenario_paths"]


@dataclass(frozen=True)
class EnergyPaths:
    """Paths (M of them) and the plan's connection window.

    Attributes:
        w: signal per path (M, K).
        lower: whether the path is a lower-energy path (M,).
        v0: energy at index 0 per path and vehicle (M, N), kWh.
        lb, ub: bounds on the energy at indices 0..K (M, N, K + 1), kWh (+-inf when none).
        window: first and last slot where the plan may be nonzero (N, 2) (4b).
    """

    w: np.ndarray
    lower: np.ndarray
    v0: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    window: np.ndarray


def _bounds(fleet: FleetDay, a: np.ndarray, d: np.ndarray, lower: bool, d_from: np.ndarray) -> tuple:
    """Bounds (N, K+1): connected over indices a..d+1; departure at indices d_from+1..d+1."""
    k = np.arange(fleet.n_slots + 1)[None, :]
    conn = (k >= a[:, None]) & (k <= d[:, None] + 1)
    if lower:
        lb = np.where(conn, fleet.e_min[:, None], -np.inf)
        dep = (k >= d_from[:, None] + 1) & (k <= d[:, None] + 1)
        lb = np.where(dep, np.maximum(lb, fleet.e_dep[:, None]), lb)
        return lb, np.full(lb.shape, np.inf)
    ub = np.where(conn, fleet.e_max[:, None], np.inf)
    return np.full(ub.shape, -np.inf), ub


def box_paths(fleet: FleetDay) -> EnergyPaths:
    """The two worst cases of the box set (derived in :mod:`v2gsim.optimize.robust.full_lp`).

    Lower: w = -1 everywhere, arrival a_lo with e0_lo (longest idle decay), e_min while possibly
    connected, e_dep at every possible departure d in [d_lo, d_hi]. Upper: w = +1, e0_hi at a_hi,
    e_max from a_hi to d_hi + 1.
    """
    k = fleet.n_slots
    lb_l, ub_l = _bounds(fleet, fleet.a_lo, fleet.d_hi, True, fleet.d_lo)
    lb_u, ub_u = _bounds(fleet, fleet.a_hi, fleet.d_hi, False, fleet.d_lo)
    v0 = np.stack([fleet.e0_lo * fleet.alpha ** (-fleet.a_lo.astype(float)),
                   fleet.e0_hi * fleet.alpha ** (-fleet.a_hi.astype(float))])
    return EnergyPaths(w=np.stack([-np.ones(k), np.ones(k)]), lower=np.array([True, False]), v0=v0,
                       lb=np.stack([lb_l, lb_u]), ub=np.stack([ub_l, ub_u]),
                       window=np.stack([fleet.a_hi, fleet.d_lo], axis=1))


def scenario_paths(fleet: FleetDay, sc: Realizations) -> EnergyPaths:
    """Both paths for each sampled realization (scenario-based variant), windows intersected."""
    ws, lows, v0s, lbs, ubs = [], [], [], [], []
    for s in range(sc.size):
        a, d = sc.a[s].astype(int), sc.d[s].astype(int)
        v0 = sc.e0[s] * fleet.alpha ** (-a.astype(float))
        for lower in (True, False):
            lb, ub = _bounds(fleet, a, d, lower, d)
            ws.append(sc.w[s])
            lows.append(lower)
            v0s.append(v0)
            lbs.append(lb)
            ubs.append(ub)
    window = np.stack([sc.a.max(axis=0), sc.d.min(axis=0)], axis=1).astype(int)
    return EnergyPaths(np.stack(ws), np.array(lows), np.stack(v0s), np.stack(lbs), np.stack(ubs), window)

"""Check a robust plan against realizations with the true dynamics (1)-(2) (models.md §5.1).

For each realization (a_i, d_i, e_i^0, w) the realized power is ``p = p_dam + r_down w^+ - r_up w^-``
(8), zero outside [a_i, d_i] (a plan nonzero there violates (4b)); the energy follows
``e_{k+1} = alpha e_k + delta eta(p) p`` from e^0 at slot a_i. Violations of (3), (4a), (4b), (5) and
(6) are counted per realization (vectorized over realizations, vehicles and slots).
"""

from __future__ import annotations

import numpy as np

from v2gsim.optimize.robust.full_lp import RobustPlan
from v2gsim.optimize.robust.spec import FleetDay, Realizations

__all__ = ["check_plan", "realized_power", "retrade_power", "sample_realizations"]


def sample_realizations(fleet: FleetDay, size: int, rng: np.random.Generator, *,
                        widen: float = 0.0) -> Realizations:
    """Sample realizations uniformly in the box, or in a box widened by ``widen`` of each range.

    Args:
        fleet: the uncertainty box.
        size: number of realizations S.
        rng: random generator.
        widen: 0 samples inside the set; > 0 stretches every interval by that fraction of its
            width (at least one slot / 1 kWh) on both sides, clipped to the day and the battery.
    """
    n, k = fleet.n, fleet.n_slots

    def draw(lo, hi, integer, floor, ceil):
        pad = widen * np.maximum(hi - lo, 1.0) if widen > 0 else 0.0
        lo2, hi2 = np.clip(lo - pad, floor, ceil), np.clip(hi + pad, floor, ceil)
        u = rng.random((size, n))
        x = lo2 + u * (hi2 - lo2 + (1 if integer else 0))
        return np.minimum(np.floor(x), hi2).astype(int) if integer else x

    a = draw(fleet.a_lo, fleet.a_hi, True, 0, k - 1)
    d = np.maximum(draw(fleet.d_lo, fleet.d_hi, True, 0, k - 1), a)
    e0 = draw(fleet.e0_lo, fleet.e0_hi, False, 0.0, fleet.e_max)
    w = rng.uniform(-1.0 - widen, 1.0 + widen, (size, k)) if widen > 0 else rng.uniform(-1.0, 1.0, (size, k))
    return Realizations(a, d, e0, w)


def retrade_power(plan: RobustPlan, w: np.ndarray) -> np.ndarray:
    """Re-traded power ``g_ik = sum_{j<k} G_ikj w_j`` (S, N, K) kW of a feedback plan (zeros open loop)."""
    w = np.atleast_2d(w)
    if plan.gains is None:
        return np.zeros((w.shape[0], *plan.p_dam.shape))
    return np.einsum("ikj,sj->sik", plan.gains, w)


def realized_power(plan: RobustPlan, real: Realizations) -> tuple[np.ndarray, np.ndarray]:
    """Realized power (8) (S, N, K) kW, zero outside [a_i, d_i], and the connection mask."""
    k = plan.p_dam.shape[1]
    slot = np.arange(k)[None, None, :]
    conn = (slot >= real.a[:, :, None]) & (slot <= real.d[:, :, None])
    wp, wm = np.maximum(real.w, 0.0)[:, None, :], np.maximum(-real.w, 0.0)[:, None, :]
    p_plan = plan.p_dam[None] + plan.r_down[None] * wp - plan.r_up[None] * wm
    if plan.gains is not None:
        p_plan = p_plan + retrade_power(plan, real.w)
    return np.where(conn, p_plan, 0.0), conn


def departure_energy(p: np.ndarray, conn: np.ndarray, fleet: FleetDay, real: Realizations) -> np.ndarray:
    """Energy at departure (S, N) kWh under the true dynamics (1)-(2) from e^0 at slot a_i."""
    eta = np.where(p >= 0, fleet.eta_c[None, :, None], 1.0 / fleet.eta_d[None, :, None])
    e = np.array(real.e0, dtype=float)
    out = np.full(e.shape, np.nan)
    for kk in range(fleet.n_slots):
        e = np.where(conn[:, :, kk], fleet.alpha[None, :] * e + fleet.delta * eta[:, :, kk] * p[:, :, kk], e)
        out = np.where(real.d == kk, e, out)
    return out


def check_plan(plan: RobustPlan, fleet: FleetDay, real: Realizations, tol: float = 1e-6,
               retrade: np.ndarray | None = None) -> dict[str, int]:
    """Count realizations violating each constraint family of the plan.

    Args:
        retrade: re-traded power (S, N, K) kW added to the planned power; None: the plan's own
            disturbance feedback (:func:`retrade_power`, zero for an open-loop plan).

    Returns:
        realizations with a violation of ``battery (3)``, ``power (4a)``, ``window (4b)``,
        ``plant (5)``, ``departure (6)``, and ``any``.
    """
    s, k = real.size, fleet.n_slots
    slot = np.arange(k)[None, None, :]
    conn = (slot >= real.a[:, :, None]) & (slot <= real.d[:, :, None])
    wp, wm = np.maximum(real.w, 0.0)[:, None, :], np.maximum(-real.w, 0.0)[:, None, :]
    p_plan = plan.p_dam[None] + plan.r_down[None] * wp - plan.r_up[None] * wm
    if retrade is None and plan.gains is not None:
        retrade = retrade_power(plan, real.w)
    if retrade is not None:
        p_plan = p_plan + retrade
    window = np.any(~conn & (np.abs(p_plan) > tol), axis=(1, 2))
    p = np.where(conn, p_plan, 0.0)
    power = np.any(np.abs(p) > fleet.p_max[None, :, None] + tol, axis=(1, 2))
    plant = np.any(np.abs(p.sum(axis=1)) > fleet.p_plant + tol, axis=1)
    eta = np.where(p >= 0, fleet.eta_c[None, :, None], 1.0 / fleet.eta_d[None, :, None])
    e = np.where(real.a == 0, real.e0, np.nan)
    battery = np.zeros(s, dtype=bool)
    departure = np.zeros(s, dtype=bool)
    alpha = fleet.alpha[None, :]
    for kk in range(k):
        e = np.where(real.a == kk, real.e0, e)
        e = np.where(conn[:, :, kk], alpha * e + fleet.delta * eta[:, :, kk] * p[:, :, kk], e)
        at = conn[:, :, kk]
        battery |= np.any(at & ((e < fleet.e_min - tol) | (e > fleet.e_max + tol)), axis=1)
        leaving = real.d == kk
        departure |= np.any(leaving & (e < fleet.e_dep - tol), axis=1)
    out = {"battery (3)": battery, "power (4a)": power, "window (4b)": window, "plant (5)": plant,
           "departure (6)": departure}
    counts = {name: int(v.sum()) for name, v in out.items()}
    counts["any"] = int(np.logical_or.reduce(list(out.values())).sum())
    return counts

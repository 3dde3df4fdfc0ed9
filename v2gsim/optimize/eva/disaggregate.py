"""Split an aggregate power plan of (O) into feasible per-EV schedules (seed 003 in the loop).

The revenue model plans one virtual battery, the aggregate region (F3), which is an outer
approximation of the fleet's region: an aggregate trajectory inside it need not be the sum of
feasible per-EV trajectories. The loop's EVs execute per-EV schedules, so the plan is split by a
feasible rule (ours, issue #32), hour by hour in time order:

1. Each EV's feasible grid power in slot t, given its stored energy ``e_t`` (kWh):
   ``lo_t <= p <= hi_t`` with the power limits ``-p_d <= p <= p_c`` (0 outside its stay), the
   window ``e_min <= e_{t+1} <= e_max`` and the departure guard ``e_{t+1} >= need_{t+1}``, where
   ``need_s = e_req - eta_c p_c dt n_s`` (``n_s`` the EV's plugged slots from s to departure) is
   the least energy from which full-power charging still reaches ``e_req`` by departure (an EV
   that cannot reach it anyway charges at full power).
2. An EV that does not respond to the hour's incentive (its willingness draw, :mod:`.willingness`)
   keeps its baseline power (the uniform baseline of :func:`~v2gsim.optimize.eva.instance.uniform_baseline`,
   clipped to its interval); the responding EVs fill the rest of the hour's aggregate target with
   one common fraction of their intervals, ``p_i = lo_i + lambda (hi_i - lo_i)``, lambda in [0, 1].
3. What the EVs cannot take (a target outside ``[sum lo, sum hi]``) is the hour's **gap** (kW),
   reported, never hidden.

Every EV's schedule then respects its power limits, its window and, whenever its baseline could,
its departure energy; the sum matches the aggregate plan wherever the per-EV intervals allow.
Stored energy follows ``e_{t+1} = e_t + dt eta_c p`` (charge) or ``e_t + dt p / eta_d``
(discharge), models.md §4.2 (F1). Pure numpy; kW, kWh, h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.optimize.eva.instance import uniform_baseline
from v2gsim.optimize.eva.regions import EVSessions

__all__ = ["Disaggregation", "disaggregate"]


@dataclass(frozen=True)
class Disaggregation:
    """Per-EV schedules of an aggregate plan (module docstring).

    Attributes:
        power_kw: (M, T) grid power per EV and slot (kW, + = charge).
        energy_kwh: (M, T+1) stored energy per EV at the slot boundaries (kWh).
        gap_kw: (T,) aggregate target minus the schedules' sum (kW).
    """

    power_kw: np.ndarray
    energy_kwh: np.ndarray
    gap_kw: np.ndarray

    @property
    def gap_kwh(self) -> float:
        """Total absolute gap over the day (kWh)."""
        return float(np.abs(self.gap_kw).sum())


def _stored(p: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray, dt: float) -> np.ndarray:
    """Stored-energy change of grid power ``p`` over one slot (kWh)."""
    return dt * np.where(p > 0, eta_c * p, p / eta_d)


def _grid(de: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray, dt: float) -> np.ndarray:
    """Grid power that changes the stored energy by ``de`` over one slot (kW)."""
    return np.where(de > 0, de / (eta_c * dt), de * eta_d / dt)


def disaggregate(ev: EVSessions, target_kw: np.ndarray, responds: np.ndarray,
                 connected: np.ndarray | None = None) -> Disaggregation:
    """Split the aggregate ``target_kw`` into feasible per-EV schedules (module docstring).

    Args:
        ev: the EVs' sessions (M EVs, T slots of ``dt`` h).
        target_kw: (T,) the plan's aggregate grid power ``c_t - d_t`` (kW).
        responds: (M, T) whether EV i follows the aggregator in slot t (responded to the hour's
            incentive); the others keep their baseline power.
        connected: (M, T) slots each EV is plugged in, inside its stay (default: the whole stay
            ``t_a <= t < t_d``); the baseline spreads the wanted energy over these slots and the
            departure guard counts only them.

    Returns:
        The schedules, their energies and the gap.
    """
    m, n, dt = ev.M, ev.T, ev.dt
    conn = ev.connected() if connected is None else np.asarray(connected, bool) & ev.connected()
    left = np.cumsum(conn[:, ::-1], axis=1)[:, ::-1]  # plugged slots from t to departure
    if connected is None:
        base = uniform_baseline(ev)
    else:
        rate = np.maximum(ev.e_req - ev.e0, 0.0) / (ev.eta_c * ev.dt * np.maximum(left[:, 0], 1))
        base = np.where(conn, rate[:, None], 0.0)
    p_c, p_d = np.asarray(ev.p_c, float), np.asarray(ev.p_d, float)
    eta_c, eta_d = np.asarray(ev.eta_c, float), np.asarray(ev.eta_d, float)
    e = np.asarray(ev.e0, float).copy()
    power = np.zeros((m, n))
    energy = np.zeros((m, n + 1))
    energy[:, 0] = e
    gap = np.zeros(n)
    resp = np.asarray(responds, bool) & conn
    for t in range(n):
        on = conn[:, t]
        after = left[:, t + 1] if t + 1 < n else np.zeros(m)  # plugged slots after this one
        need = ev.e_req - eta_c * p_c * dt * after
        floor = np.maximum(ev.e_min, np.minimum(need, e + _stored(p_c, eta_c, eta_d, dt)))
        lo = np.maximum(-p_d, _grid(floor - e, eta_c, eta_d, dt))
        hi = np.minimum(p_c, _grid(np.asarray(ev.e_max, float) - e, eta_c, eta_d, dt))
        lo = np.where(on, np.minimum(lo, hi), 0.0)
        hi = np.where(on, np.maximum(hi, lo), 0.0)
        p = np.clip(base[:, t], lo, hi)
        r = resp[:, t]
        rest = float(target_kw[t]) - float(p[~r].sum())
        lo_r, hi_r = float(lo[r].sum()), float(hi[r].sum())
        want = min(max(rest, lo_r), hi_r)
        lam = 0.0 if hi_r - lo_r <= 1e-12 else (want - lo_r) / (hi_r - lo_r)
        p[r] = lo[r] + lam * (hi[r] - lo[r])
        gap[t] = float(target_kw[t]) - float(p.sum())
        e = np.clip(e + _stored(p, eta_c, eta_d, dt), np.minimum(e, ev.e_min), np.maximum(e, ev.e_max))
        power[:, t], energy[:, t + 1] = p, e
    return Disaggregation(power_kw=power, energy_kwh=energy, gap_kw=gap)

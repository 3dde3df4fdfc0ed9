"""Feasible power-energy regions of EVs and their aggregation (seed 003, models.md §4.2 (F1)-(F3)).

RECONSTRUCTED (models.md §4.2 (F1), (F2), (F3)): the extraction of Ma, Liu, Tian, Peng (2025) holds
only the headings ("closed-form boundary expressions", Eqs. (4)-(6)), so the formulas here are the
common-practice reconstruction recorded in models.md, not the paper's own.

Battery model (discrete time, slot length ``dt`` hours, energy at slot boundaries ``t = 0..T``): while
connected (``t_a <= t < t_d``) the EV charges ``0 <= p_c <= P^c`` and discharges ``0 <= p_d <= P^d`` (kW,
grid side) and ``E_{t+1} = E_t + eta_c p_c dt - p_d dt / eta_d``; ``E_min <= E_t <= E_max``;
``E_{t_a} = E^0`` and ``E_{t_d} >= E^req``. Outside its session an EV's energy is held constant (before
arrival at ``E^0``, after departure at its departure value), which is how the aggregate (F3) counts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.behavior.mobility.core import Sessions

__all__ = ["EVSessions", "Region", "power_bounds", "region", "schedule_violation", "simulate_energy"]


@dataclass(frozen=True)
class EVSessions:
    """M EV sessions on a horizon of T slots (all arrays shape (M,)).

    Attributes:
        e0: energy at arrival (kWh).
        e_min, e_max: battery energy limits (kWh).
        e_req: energy wanted at departure (kWh).
        p_c, p_d: charger / discharge power limits (kW, grid side); ``p_d = 0`` for a unidirectional EV.
        eta_c, eta_d: charging / discharging efficiencies in (0, 1].
        t_a, t_d: arrival and departure slots (integers, ``0 <= t_a < t_d <= T``).
        T: number of slots in the horizon.
        dt: slot length (h).
    """

    e0: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    e_req: np.ndarray
    p_c: np.ndarray
    p_d: np.ndarray
    eta_c: np.ndarray
    eta_d: np.ndarray
    t_a: np.ndarray
    t_d: np.ndarray
    T: int
    dt: float = 1.0

    def __post_init__(self) -> None:
        m = np.asarray(self.e0).shape
        for name in ("e_min", "e_max", "e_req", "p_c", "p_d", "eta_c", "eta_d", "t_a", "t_d"):
            if np.asarray(getattr(self, name)).shape != m:
                raise ValueError(f"EVSessions.{name}: shape {np.asarray(getattr(self, name)).shape} != {m}")
        if not (np.all(self.t_a >= 0) and np.all(self.t_a < self.t_d) and np.all(self.t_d <= self.T)):
            raise ValueError("EVSessions.t_a/t_d: need 0 <= t_a < t_d <= T for every EV")
        if np.any(self.e_min > self.e0) or np.any(self.e0 > self.e_max):
            bad = int(np.flatnonzero((self.e_min > self.e0) | (self.e0 > self.e_max))[0])
            raise ValueError(f"EVSessions.e0: EV {bad} arrives outside [e_min, e_max]")
        if np.any((self.eta_c <= 0) | (self.eta_c > 1) | (self.eta_d <= 0) | (self.eta_d > 1)):
            raise ValueError("EVSessions.eta_c/eta_d: efficiencies must lie in (0, 1]")
        if np.any(self.p_c < 0) or np.any(self.p_d < 0):
            raise ValueError("EVSessions.p_c/p_d: power limits must be >= 0")
        reach = self.e0 + self.eta_c * self.p_c * (self.t_d - self.t_a) * self.dt
        bad = np.flatnonzero(self.e_req > np.minimum(reach, self.e_max) + 1e-9)
        if bad.size:
            raise ValueError(f"EVSessions.e_req: EV {int(bad[0])} cannot reach its wanted energy by "
                             "departure (battery limit or charger power too small for its stay)")

    @classmethod
    def from_sessions(cls, sessions: Sessions, *, e_min, e_max, p_c, p_d, eta_c, eta_d,
                      clock_start_h: int = 12, horizon: int = 24) -> EVSessions:
        """The plan's EVs from hourly :class:`~v2gsim.behavior.mobility.core.Sessions` (one per EV).

        The plan's slot 0 is clock hour ``clock_start_h`` (seed 003: 12:00); a session's arrival
        slot is its arrival hour on that clock and its stay its hourly slots, cut at the horizon.
        The energy at arrival is clipped to the window ``[e_min, e_max]`` and the wanted energy to
        what full-power charging reaches over the stay (the constraints of the instance).

        Args:
            sessions: the sessions (any slot grid: viewed on 60-min slots).
            e_min, e_max: stored-energy window per EV (kWh), (N,) in the sessions' order.
            p_c, p_d: charge / discharge power limits (kW, grid side).
            eta_c, eta_d: efficiencies (-).
            clock_start_h: clock hour of the plan's slot 0.
            horizon: slots of the plan T.
        """
        s = sessions.regrid(60) if sessions.slot_minutes != 60 else sessions
        n = len(s)

        def full(v) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, float), (n,)).copy()

        t_a = np.mod(s.arrival_slot - clock_start_h, 24).astype(int)
        t_a = np.minimum(t_a, horizon - 1)
        t_d = np.minimum(t_a + (s.departure_slot - s.arrival_slot), horizon).astype(int)
        e_min, e_max, p_c, eta_c = full(e_min), full(e_max), full(p_c), full(eta_c)
        e0 = np.clip(s.energy_arrival_kwh, e_min, e_max)
        reach = np.minimum(e0 + eta_c * p_c * (t_d - t_a), e_max)
        return cls(e0=e0, e_min=e_min, e_max=e_max, e_req=np.clip(s.energy_wanted_kwh, e_min, reach),
                   p_c=p_c, p_d=full(p_d), eta_c=eta_c, eta_d=full(eta_d), t_a=t_a, t_d=t_d, T=horizon)

    @property
    def M(self) -> int:
        """Number of EVs."""
        return int(np.asarray(self.e0).shape[0])

    def connected(self) -> np.ndarray:
        """(M, T) boolean: EV i is plugged during slot t (``t_a <= t < t_d``)."""
        t = np.arange(self.T)
        return (t[None, :] >= self.t_a[:, None]) & (t[None, :] < self.t_d[:, None])


@dataclass(frozen=True)
class Region:
    """Energy boundaries (M, T+1) and power bounds (M, T) of M EVs; see :func:`region`."""

    upper: np.ndarray
    lower: np.ndarray
    p_max: np.ndarray
    p_min: np.ndarray

    def aggregate(self) -> Region:
        """(F3) Sum over EVs: ``E^±_agg(t) = Σ_i E_i^±(t)``, ``P^±_agg(t) = Σ_i P^±_i(t)`` (shape (1, ·))."""
        return Region(self.upper.sum(0, keepdims=True), self.lower.sum(0, keepdims=True),
                      self.p_max.sum(0, keepdims=True), self.p_min.sum(0, keepdims=True))


def _elapsed(ev: EVSessions) -> tuple[np.ndarray, np.ndarray]:
    """Slots since arrival and until departure, clipped to the session, at boundaries t = 0..T."""
    t = np.arange(ev.T + 1)[None, :]
    since = np.clip(t - ev.t_a[:, None], 0, (ev.t_d - ev.t_a)[:, None])
    until = np.clip(ev.t_d[:, None] - t, 0, (ev.t_d - ev.t_a)[:, None])
    return since * ev.dt, until * ev.dt


def region(ev: EVSessions) -> Region:
    """Closed-form energy boundaries and power bounds of every EV (RECONSTRUCTED, models.md (F1), (F2)).

    (F1) ``E^+(t) = min{E^0 + eta_c P^c (t - t_a) dt, E_max}`` (charge as soon as possible).
    (F2) ``E^-(t) = max{E^0 - P^d (t - t_a) dt / eta_d, E_min, E^req - eta_c P^c (t_d - t) dt}``
    (discharge as soon as possible while still able to reach ``E^req`` by departure). Both held
    constant outside the session (``t`` clipped to ``[t_a, t_d]``). Power: ``-P^d <= P_t <= P^c`` while
    connected, 0 otherwise.

    Args:
        ev: the sessions.

    Returns:
        Region with upper/lower (M, T+1) in kWh and p_max/p_min (M, T) in kW (grid side).
    """
    since, until = _elapsed(ev)
    def col(a):
        return (np.asarray(a, dtype=float)[:, None])
    upper = np.minimum(col(ev.e0) + col(ev.eta_c) * col(ev.p_c) * since, col(ev.e_max))
    lower = np.maximum.reduce([
        col(ev.e0) - col(ev.p_d) * since / col(ev.eta_d),
        np.broadcast_to(col(ev.e_min), upper.shape),
        col(ev.e_req) - col(ev.eta_c) * col(ev.p_c) * until,
    ])
    # before arrival the requirement term must not bite (the EV is not yet there): hold at E^0
    before = np.arange(ev.T + 1)[None, :] <= ev.t_a[:, None]
    lower = np.where(before, col(ev.e0), lower)
    p_max, p_min = power_bounds(ev)
    return Region(upper, lower, p_max, p_min)


def power_bounds(ev: EVSessions) -> tuple[np.ndarray, np.ndarray]:
    """(F2) power bounds: ``P^c`` and ``-P^d`` (kW) while connected, 0 otherwise; each (M, T)."""
    conn = ev.connected()
    return (np.where(conn, ev.p_c[:, None], 0.0), np.where(conn, -ev.p_d[:, None], 0.0))


def simulate_energy(ev: EVSessions, p_charge: np.ndarray, p_discharge: np.ndarray) -> np.ndarray:
    """The battery model: energy (M, T+1) in kWh from grid-side charge/discharge powers (M, T) in kW.

    Power outside a session is ignored (the EV is away). Feasibility is not checked here (see
    :func:`schedule_violation`).
    """
    conn = ev.connected()
    inc = np.where(conn, ev.eta_c[:, None] * p_charge - p_discharge / ev.eta_d[:, None], 0.0) * ev.dt
    return np.concatenate([ev.e0[:, None], ev.e0[:, None] + np.cumsum(inc, axis=1)], axis=1)


def schedule_violation(ev: EVSessions, p_charge: np.ndarray, p_discharge: np.ndarray) -> float:
    """Largest violation (kWh or kW) of the battery model's constraints by a schedule; <= 0 if feasible."""
    conn = ev.connected()
    e = simulate_energy(ev, p_charge, p_discharge)
    t = np.arange(ev.T + 1)[None, :]
    inside = (t >= ev.t_a[:, None]) & (t <= ev.t_d[:, None])
    viol = [
        np.max(np.where(conn, p_charge - ev.p_c[:, None], -np.inf), initial=-np.inf),
        np.max(np.where(conn, p_discharge - ev.p_d[:, None], -np.inf), initial=-np.inf),
        np.max(np.where(conn, -np.minimum(p_charge, p_discharge), -np.inf), initial=-np.inf),
        np.max(np.where(inside, e - ev.e_max[:, None], -np.inf)),
        np.max(np.where(inside, ev.e_min[:, None] - e, -np.inf)),
        np.max(ev.e_req - e[np.arange(ev.M), ev.t_d]),
    ]
    return float(max(viol))

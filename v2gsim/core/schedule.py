"""Base-point schedules: the power each EV should draw in each slot, and what it can execute.

A policy may return, besides rebates and bids, a day's :class:`BaseSchedule`: the grid-side power
(kW; ``+`` charges, ``-`` discharges) of each EV it covers in each slot of 15, 30 or 60 minutes
over the day's hours. The fleet executes it hour by hour (:meth:`v2gsim.core.fleet.Fleet.hour_flows`
with the hour's :class:`HourPlan`); the EVs it does not cover keep their baseline charging.

Execution of one hour of ``k`` slots of ``dt_s = 1 h / k`` by a covered EV, after the hour's
self-discharge, is the battery of models.md §5.1 (1)-(4) (seed 002's (1)-(2), §3.2, with ``u`` in
{0, 1}, is the special case of rated power): in every slot ``j``

* ``p_j = clip(plan_j, -P_dis v2g, P_ch) * plugged_j`` (4a), (4b): an EV that is not plugged in
  executes 0. The drivers' paths give an hourly plug-in state (an EV that is not plugged in during
  an hour executes 0 in every slot of it); a session model driving the loop gives it per slot
  (:attr:`HourPlan.plugged`), so a late arrival misses exactly the slots before it;
* ``p_j <- min(p_j, (E_max - E)^+ / (eta_c dt_s))`` and ``p_j <- max(p_j, -eta_d (E - E_min)^+ / dt_s)``
  (3): the SOC window, never crossed by the base point (an EV outside it may only move back in);
* ``E <- E + dt_s eta(p_j) p_j`` with ``eta(p) = eta_c`` for ``p >= 0`` and ``1 / eta_d`` otherwise
  (1), (2): stored energy grows by ``eta_c`` times the grid energy on charge and falls by the grid
  energy over ``eta_d`` on discharge.

The deviation of a slot is ``|plan_j - p_j| dt_s`` (kWh).

Regulation (AGC) is dispatched around the executed base point, within the remaining headroom. With
``b = sum_j p_j dt_s`` the hour's base energy (kWh, grid side), ``E'`` the stored energy after it and
``f(g) = eta(g) g`` the stored energy of a grid energy ``g``, an EV that exchanges regulation
energy ``r`` (kWh, ``+`` = more import) ends the hour with grid energy ``b + r`` and stored energy
``E' + f(b + r) - f(b)``: base and regulation are netted over the hour as the baseline fleet nets
them (exact for 60-min slots; with shorter slots the regulation is netted against the hour's base
energy). Its caps, which keep it in its power limits and in its window at the end of the hour:

* up (``r = -u``): ``u <= min((P_dis v2g + min_j p_j)^+ dt, b - f^-1(f(b) - (E' - E_min)^+))``;
* down: ``r <= min((P_ch - max_j p_j)^+ dt, f^-1(f(b) + (E_max - E')^+) - b)``;

and 0 for an EV that is not offered to the platform.

**Reserve (seed 004).** A schedule may also carry up/down reserve per EV and slot (kW): the power
the EV changes its base point by when the TSO calls reserve in that slot. With the day's requests
``w_j`` in {-1, 0, +1} (-1 = upward, +1 = downward; sampled by the loop's TSO), the EV is planned to
draw ``p_dam_j + r_down_j w_j^+ - r_up_j w_j^-`` (models.md §5.1 (8)): :meth:`BaseSchedule.deployed`.
The reserve delivered in a slot is the part of the requested change that the executed power made,
``clip((p_exec_j - p_dam_j) sign(q_j), 0, |q_j|)`` with ``q_j`` the requested change
(:func:`delivered_reserve`). Pure numpy; energies in kWh, powers in kW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SLOT_MINUTES", "BaseSchedule", "EVLimits", "ExecutedSchedule", "HourPlan", "ScheduleError",
           "ScheduledHour",
           "delivered_reserve", "execute_base", "execute_hour", "grid_from_stored", "regrid_mask",
           "sample_requests", "settle_regulation", "stored_from_grid"]

#: Slot lengths a schedule may use (minutes).
SLOT_MINUTES: tuple[int, ...] = (15, 30, 60)


class ScheduleError(ValueError):
    """A schedule that does not fit its day or its fleet (the message says what is wrong)."""


@dataclass(frozen=True)
class HourPlan:
    """One hour of a :class:`BaseSchedule` (what the fleet executes in that hour).

    Attributes:
        ev: (N,) fleet indices of the covered EVs (distinct).
        power_kw: (N, k) planned grid-side power per EV and slot of the hour (kW, + = charge).
        slot_h: slot length dt_s = 1 h / k (h).
        plugged: (N, k) plugged in during each slot (a session model driving the loop), or None:
            the hour's plug-in state holds for all its slots.
        rows: (N,) rows of these EVs in their :class:`BaseSchedule` (None: all rows, in order).
    """

    ev: np.ndarray
    power_kw: np.ndarray
    slot_h: float
    plugged: np.ndarray | None = None
    rows: np.ndarray | None = None


@dataclass(frozen=True)
class BaseSchedule:
    """A day's base-point schedule: grid-side power per covered EV and slot.

    Attributes:
        ev: (N,) fleet indices of the EVs it covers (distinct, >= 0); every other EV keeps its
            baseline charging.
        power_kw: (N, S) planned power of each covered EV in each slot (kW, grid side; + = charge,
            - = discharge); S slots of ``slot_minutes`` span the day's hours. NaN: no plan in that
            slot; an EV whose slots of an hour are all NaN keeps its baseline charging in that
            hour (it is not covered then), a NaN slot of a covered hour executes 0.
        slot_minutes: slot length (15, 30 or 60 min).
        reserve_up_kw, reserve_down_kw: (N, S) up/down reserve offered per EV and slot (kW, >= 0;
            module docstring), or None (no reserve).

    Raises:
        ScheduleError: a slot length outside :data:`SLOT_MINUTES`, shapes that do not match,
            repeated or negative EV indices, infinite powers, or slots that do not fill whole hours.
    """

    ev: np.ndarray
    power_kw: np.ndarray
    slot_minutes: int = 60
    reserve_up_kw: np.ndarray | None = None
    reserve_down_kw: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.slot_minutes not in SLOT_MINUTES:
            raise ScheduleError(f"slot_minutes must be one of {list(SLOT_MINUTES)}, "
                                f"got {self.slot_minutes!r}")
        ev = np.atleast_1d(np.asarray(self.ev, dtype=np.int64))
        p = np.asarray(self.power_kw, dtype=float)
        if p.ndim != 2 or ev.ndim != 1 or p.shape[0] != ev.size:
            raise ScheduleError(f"power_kw must be (N, S) with N = {ev.size} covered EVs, got {p.shape}")
        if np.any(ev < 0) or np.unique(ev).size != ev.size:
            raise ScheduleError("ev must hold distinct fleet indices >= 0")
        if np.any(np.isinf(p)):
            raise ScheduleError("power_kw must be finite (kW) or NaN (no plan in that slot)")
        if p.shape[1] % self.slots_per_hour:
            raise ScheduleError(f"{p.shape[1]} slots of {self.slot_minutes} min do not fill whole hours")
        object.__setattr__(self, "ev", ev)
        object.__setattr__(self, "power_kw", p)
        for name in ("reserve_up_kw", "reserve_down_kw"):
            r = getattr(self, name)
            if r is None:
                continue
            r = np.asarray(r, dtype=float)
            if r.shape != p.shape or np.any(np.isinf(r)) or np.any(r < 0):
                raise ScheduleError(f"{name} must be finite, >= 0 kW and shaped like power_kw {p.shape}")
            object.__setattr__(self, name, r)

    @property
    def has_reserve(self) -> bool:
        """Whether the schedule offers any reserve."""
        return self.reserve_up_kw is not None or self.reserve_down_kw is not None

    def deployed(self, request: np.ndarray) -> BaseSchedule:
        """The schedule with the reserve the TSO calls deployed (module docstring, (8)).

        Args:
            request: (S,) requests w_j in [-1, 1] per slot (-1 upward, +1 downward).

        Returns:
            A schedule without reserve whose power is ``p_dam + r_down w^+ - r_up w^-`` (kW).
        """
        w = np.asarray(request, dtype=float)
        if w.shape != (self.power_kw.shape[1],):
            raise ScheduleError(f"request must have one value per slot ({self.power_kw.shape[1]}), "
                                f"got shape {w.shape}")
        p = self.power_kw.copy()
        if self.reserve_down_kw is not None:
            p += self.reserve_down_kw * np.maximum(w, 0.0)[None, :]
        if self.reserve_up_kw is not None:
            p -= self.reserve_up_kw * np.maximum(-w, 0.0)[None, :]
        return BaseSchedule(ev=self.ev, power_kw=p, slot_minutes=self.slot_minutes)

    @property
    def slots_per_hour(self) -> int:
        """Slots per hour k (-)."""
        return 60 // self.slot_minutes

    @property
    def slot_h(self) -> float:
        """Slot length dt_s (h)."""
        return self.slot_minutes / 60.0

    @property
    def hours(self) -> int:
        """Hours the schedule spans (h)."""
        return self.power_kw.shape[1] // self.slots_per_hour

    @property
    def planned_kwh(self) -> np.ndarray:
        """(N,) planned net grid energy of each covered EV over the day (kWh; NaN slots count 0)."""
        return np.nansum(self.power_kw, axis=1) * self.slot_h

    def check(self, fleet_size: int, hours: int) -> None:
        """Check that the schedule fits a fleet of ``fleet_size`` EVs and a day of ``hours`` hours.

        Raises:
            ScheduleError: an EV index >= ``fleet_size`` or a span other than ``hours``.
        """
        if self.ev.size and int(self.ev.max()) >= fleet_size:
            raise ScheduleError(f"schedule covers EV {int(self.ev.max())}, the fleet has {fleet_size}")
        if self.hours != hours:
            raise ScheduleError(f"schedule spans {self.hours} h, the day has {hours} h")

    def hour(self, t: int, plugged: np.ndarray | None = None) -> HourPlan:
        """The slots of hour ``t`` (0-based).

        Args:
            t: the hour.
            plugged: (M, j) the whole fleet's plug-in state per slot of that hour on any grid that
                divides or is divided by the schedule's (:func:`regrid_mask`), or None (hourly).
        """
        k = self.slots_per_hour
        p = self.power_kw[:, t * k:(t + 1) * k]
        rows = np.flatnonzero(~np.isnan(p).all(axis=1))  # the EVs this hour's plan covers
        ev = self.ev[rows]
        mask = None if plugged is None else regrid_mask(np.asarray(plugged)[ev], k)
        return HourPlan(ev=ev, power_kw=np.nan_to_num(p[rows], nan=0.0), slot_h=self.slot_h,
                        plugged=mask, rows=rows)


@dataclass(frozen=True)
class EVLimits:
    """Battery and charger limits of the covered EVs, (N,) each (a fleet's arrays at ``ev``).

    Attributes:
        charge_kw: charging limit P_ch (kW, grid side).
        discharge_kw: discharge limit P_dis (kW, grid side; 0 for an EV that is not V2G capable).
        e_min, e_max: stored-energy window E_min = soc_min Cap, E_max = soc_max Cap (kWh).
        capacity_kwh: battery capacity Cap (kWh).
        eta_c, eta_d: charge and discharge efficiencies in (0, 1] (-).
    """

    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    capacity_kwh: np.ndarray
    eta_c: np.ndarray
    eta_d: np.ndarray


def stored_from_grid(grid_kwh: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray) -> np.ndarray:
    """Stored energy change f(g) of a grid energy g (kWh): ``eta_c g`` if g >= 0, else ``g / eta_d``
    (models.md §5.1 (1)-(2))."""
    return np.where(grid_kwh > 0, eta_c * grid_kwh, grid_kwh / eta_d)


def grid_from_stored(stored_kwh: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray) -> np.ndarray:
    """The inverse f^-1(y) of :func:`stored_from_grid` (kWh): ``y / eta_c`` if y >= 0, else ``eta_d y``."""
    return np.where(stored_kwh > 0, stored_kwh / eta_c, eta_d * stored_kwh)


def execute_base(plan_kw: np.ndarray, energy_kwh: np.ndarray, plugged: np.ndarray, lim: EVLimits,
                 slot_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Execute one hour's slots of a base-point plan (module docstring, models.md §5.1 (1)-(4)).

    Args:
        plan_kw: (N, k) planned grid-side power per EV and slot (kW, + = charge).
        energy_kwh: (N,) stored energy at the start of the hour, after self-discharge (kWh).
        plugged: (N,) plugged in during the hour, or (N, k) per slot.
        lim: the EVs' limits.
        slot_h: slot length dt_s (h).

    Returns:
        ``(executed_kw, energy_kwh)``: (N, k) executed power per slot (kW) and (N,) stored energy
        after the last slot (kWh).
    """
    e = np.asarray(energy_kwh, dtype=float).copy()
    out = np.zeros_like(plan_kw, dtype=float)
    on = np.asarray(plugged, dtype=bool)
    on = on if on.ndim == 2 else np.repeat(on[:, None], plan_kw.shape[1], axis=1)
    for j in range(plan_kw.shape[1]):
        p = np.clip(plan_kw[:, j], -lim.discharge_kw, lim.charge_kw) * on[:, j]
        p = np.minimum(p, np.maximum(lim.e_max - e, 0.0) / (lim.eta_c * slot_h))
        p = np.maximum(p, -np.maximum(e - lim.e_min, 0.0) * lim.eta_d / slot_h)
        new = e + stored_from_grid(p * slot_h, lim.eta_c, lim.eta_d)
        # rounding may overshoot a bound the cap just reached: keep it (or where it was)
        e = np.clip(new, np.minimum(e, lim.e_min), np.maximum(e, lim.e_max))
        out[:, j] = p
    return out, e


@dataclass(frozen=True)
class ScheduledHour:
    """What the covered EVs did with one hour's plan, before regulation.

    Attributes:
        ev: (N,) fleet indices of the covered EVs.
        planned_kw: (N, k) planned power per slot (kW).
        executed_kw: (N, k) executed power per slot (kW).
        slot_h: slot length dt_s (h).
        energy_start_kwh: (N,) stored energy at the start of the hour, after self-discharge (kWh).
        energy_kwh: (N,) stored energy after the base point (kWh).
        up_kw, down_kw: (N,) regulation power headroom around the base point (kW; 0 when not offered).
        up_kwh, down_kwh: (N,) regulation energy caps of the hour (kWh, grid side; module docstring).
    """

    ev: np.ndarray
    planned_kw: np.ndarray
    executed_kw: np.ndarray
    slot_h: float
    energy_start_kwh: np.ndarray
    energy_kwh: np.ndarray
    up_kw: np.ndarray
    down_kw: np.ndarray
    up_kwh: np.ndarray
    down_kwh: np.ndarray

    @property
    def base_kwh(self) -> np.ndarray:
        """(N,) executed base energy b of the hour (kWh, grid side)."""
        return self.executed_kw.sum(axis=1) * self.slot_h

    @property
    def planned_kwh(self) -> np.ndarray:
        """(N,) planned base energy of the hour (kWh, grid side)."""
        return self.planned_kw.sum(axis=1) * self.slot_h

    @property
    def deviation_kwh(self) -> np.ndarray:
        """(N,) sum over the hour's slots of |planned - executed| energy (kWh)."""
        return np.abs(self.planned_kw - self.executed_kw).sum(axis=1) * self.slot_h


def execute_hour(plan: HourPlan, energy_kwh: np.ndarray, plugged: np.ndarray, offered: np.ndarray,
                 lim: EVLimits, dt_h: float = 1.0) -> ScheduledHour:
    """Execute an hour's plan (:func:`execute_base`) and the regulation headroom around it.

    Args:
        plan: the hour's slots of the covered EVs.
        energy_kwh: (N,) their stored energy after the hour's self-discharge (kWh).
        plugged: (N,) plugged in during the hour, or (N, k) per slot (an EV plugged in for part of
            the hour follows regulation in that hour).
        offered: (N,) offered to the platform for regulation (plugged ones only count).
        lim: their limits.
        dt_h: hour length (h).

    Returns:
        The executed base point and the regulation caps (module docstring).
    """
    executed, e1 = execute_base(plan.power_kw, energy_kwh, plugged, lim, plan.slot_h)
    plug = np.asarray(plugged, dtype=bool)
    on = np.asarray(offered, dtype=bool) & (plug.any(axis=1) if plug.ndim == 2 else plug)
    k = executed.shape[1]
    lo = executed.min(axis=1) if k else np.zeros(on.size)
    hi = executed.max(axis=1) if k else np.zeros(on.size)
    up_kw = np.maximum(lim.discharge_kw + lo, 0.0) * on
    down_kw = np.maximum(lim.charge_kw - hi, 0.0) * on
    b = executed.sum(axis=1) * plan.slot_h
    fb = stored_from_grid(b, lim.eta_c, lim.eta_d)
    room_up = b - grid_from_stored(fb - np.maximum(e1 - lim.e_min, 0.0), lim.eta_c, lim.eta_d)
    room_down = grid_from_stored(fb + np.maximum(lim.e_max - e1, 0.0), lim.eta_c, lim.eta_d) - b
    up_kwh = np.minimum(up_kw * dt_h, np.maximum(room_up, 0.0))
    down_kwh = np.minimum(down_kw * dt_h, np.maximum(room_down, 0.0))
    return ScheduledHour(ev=plan.ev, planned_kw=plan.power_kw, executed_kw=executed, slot_h=plan.slot_h,
                         energy_start_kwh=np.asarray(energy_kwh, dtype=float), energy_kwh=e1,
                         up_kw=up_kw, down_kw=down_kw, up_kwh=up_kwh, down_kwh=down_kwh)


def settle_regulation(sh: ScheduledHour, reg_kwh: np.ndarray, lim: EVLimits) -> tuple[np.ndarray, np.ndarray]:
    """The covered EVs' hour after a regulation exchange ``reg_kwh`` (kWh grid side, + = import).

    Returns:
        ``(grid_kwh, energy_kwh)``: (N,) grid energy of the hour ``b + r`` (kWh) and stored energy at
        its end ``E' + f(b + r) - f(b)`` (kWh), kept in ``[min(E0, E_min), max(E0, E_max)]`` (within
        [0, Cap]) against rounding, E0 the energy at the start of the hour.
    """
    b = sh.base_kwh
    grid = b + reg_kwh
    f = stored_from_grid
    e = sh.energy_kwh + (f(grid, lim.eta_c, lim.eta_d) - f(b, lim.eta_c, lim.eta_d))
    e0 = sh.energy_start_kwh
    lower = np.maximum(np.minimum(e0, lim.e_min), 0.0)
    upper = np.minimum(np.maximum(e0, lim.e_max), lim.capacity_kwh)
    return grid, np.clip(e, lower, upper)


def regrid_mask(mask: np.ndarray, slots: int) -> np.ndarray:
    """A per-slot plug-in mask (N, k) on another grid of ``slots`` slots over the same span.

    A coarser slot counts as plugged only when every finer slot in it is (the EV can follow the
    whole slot); a finer slot repeats its coarser one. ``k`` and ``slots`` must divide one another.

    Raises:
        ScheduleError: grids that do not divide one another.
    """
    m = np.asarray(mask, dtype=bool)
    k = m.shape[1]
    if k == slots:
        return m
    if k % slots == 0:
        return m.reshape(m.shape[0], slots, k // slots).all(axis=2)
    if slots % k == 0:
        return np.repeat(m, slots // k, axis=1)
    raise ScheduleError(f"slot grids of {k} and {slots} slots per span do not divide one another")


def sample_requests(rng: np.random.Generator, slots: int, pi_up: float, pi_down: float) -> np.ndarray:
    """The TSO's reserve requests of one day, w_j in {-1, 0, +1} per slot (models.md §5.1 (8)):
    -1 (upward) with probability ``pi_up``, +1 (downward) with ``pi_down`` (one ``rng.random``
    draw per slot, the rule of :func:`v2gsim.optimize.robust.settle.sample_signal`)."""
    u = rng.random(slots)
    return np.where(u < pi_up, -1.0, np.where(u >= 1.0 - pi_down, 1.0, 0.0))


def delivered_reserve(base_kw: np.ndarray, deployed_kw: np.ndarray, executed_kw: np.ndarray,
                      slot_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Requested and delivered reserve energy per slot (module docstring), summed over EVs.

    Args:
        base_kw: (N, S) the planned base point p_dam (kW).
        deployed_kw: (N, S) the plan with the called reserve deployed (kW).
        executed_kw: (N, S) what the EVs executed (kW).
        slot_h: slot length (h).

    Returns:
        ``(requested_kwh, delivered_kwh)``, each (S,) (kWh, >= 0).
    """
    q = np.asarray(deployed_kw, float) - np.asarray(base_kw, float)
    moved = (np.asarray(executed_kw, float) - base_kw) * np.sign(q)
    delivered = np.clip(moved, 0.0, np.abs(q))
    return np.abs(q).sum(axis=0) * slot_h, delivered.sum(axis=0) * slot_h


@dataclass
class ExecutedSchedule:
    """A day's schedule as the fleet executes it: the plan, the reserve called, what was done.

    Built by the loop when a decision carries a schedule; :meth:`hour` hands the fleet each hour's
    slots (with the reserve the TSO called deployed) and :meth:`record` keeps what it executed.

    Attributes:
        base: the policy's schedule (base point ``p_dam``; its reserve offers, if any).
        request: (S,) the TSO's reserve requests per slot (-1 up, +1 down, 0), or None.
        planned: the schedule the EVs are asked to follow (``base`` with the called reserve
            deployed: :meth:`BaseSchedule.deployed`).
        executed_kw: (N, S) executed power per covered EV and slot (kW), filled hour by hour; NaN
            in the hours an EV was not covered (baseline charging).
    """

    base: BaseSchedule
    request: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.planned = self.base if self.request is None else self.base.deployed(self.request)
        self.executed_kw = np.full(self.base.power_kw.shape, np.nan)

    def hour(self, t: int, plugged: np.ndarray | None = None) -> HourPlan:
        """Hour ``t`` of the planned schedule (:meth:`BaseSchedule.hour`)."""
        return self.planned.hour(t, plugged)

    def record(self, t: int, executed_kw: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Keep the executed power (n, k) of hour ``t`` of the schedule's ``rows`` (None: all)."""
        k = self.base.slots_per_hour
        rows = np.arange(self.executed_kw.shape[0]) if rows is None else rows
        self.executed_kw[rows, t * k:(t + 1) * k] = executed_kw

    def covered(self) -> np.ndarray:
        """(N, S) whether each EV's slot was executed from the plan (its hour was covered)."""
        return ~np.isnan(self.executed_kw)

    def reserve_kwh(self) -> tuple[float, float]:
        """``(requested, delivered)`` reserve energy of the day (kWh; :func:`delivered_reserve`)."""
        z = np.nan_to_num
        req, got = delivered_reserve(z(self.base.power_kw), z(self.planned.power_kw), z(self.executed_kw),
                                     self.base.slot_h)
        return float(req.sum()), float(got.sum())

"""Battery degradation cost: throughput-based ($/kWh cycled) and cycle-count based ($/switch).

Pure numpy. Two terms, both per EV:

* **Throughput.** The energy cycled through the battery, battery side: what charging stores plus
  what V2G discharge takes out. For a slot with net grid energy ``g`` (kWh, import > 0),
  ``throughput = eta_c g^+ + g^- / eta_d`` (the stored-energy change of models.md 3.2 (1) / 5.1
  (1)-(2) in absolute value). Driving and self-discharge are not counted: they are not decisions of
  the platform.
* **Switches** (seed 002's cycle term ``lambda_i N_i``, models.md 3.2 (6), RECONSTRUCTED there):
  ``N_i = sum_t |u^c_t - u^c_{t-1}| + |u^d_t - u^d_{t-1}|`` over the EV's plugged-in slots, with
  ``u^c_t = [g_t > tol]`` the charging and ``u^d_t = [g_t < -tol]`` the discharging status and
  status 0 before the first slot and outside the plugged-in slots (models.md 3.2 (5): "all u = 0
  for t outside T_i"). Only transitions *at* plugged-in slots count: switching on at plug-in is a
  switch, unplugging is not.

Cost = ``throughput_cost * throughput + cycle_cost * N``.

The functions take per-slot grid energies, so an optimizer can evaluate planned per-slot powers
(:func:`planned_degradation_cost`), and the linear part enters a linear objective as cost rates
per kWh bought and sold (:func:`throughput_cost_rates`). In the hourly simulation the energies are
the hourly net energy of each EV (:class:`DegradationMeter`); the AGC swings inside an hour are not
resolved per EV, so throughput and switches are those of the hourly net schedule (a lower bound of
the battery's actual throughput under regulation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DegradationCost",
    "DegradationMeter",
    "DegradationSpec",
    "battery_throughput_kwh",
    "degradation_cost",
    "planned_degradation_cost",
    "switch_count",
    "throughput_cost_rates",
]

#: Grid energy (kWh) below which a slot counts as idle for the switch count.
STATUS_TOL_KWH = 1e-9


@dataclass(frozen=True)
class DegradationSpec:
    """Degradation cost settings (plain data; ``[drivers.degradation]``).

    Attributes:
        throughput_cost: cost per kWh cycled through the battery ($/kWh).
        cycle_cost: cost per charge/discharge switch ($/switch), seed 002's lambda.
    """

    throughput_cost: float = 0.0
    cycle_cost: float = 0.0

    @property
    def enabled(self) -> bool:
        """Whether either term is non-zero."""
        return self.throughput_cost != 0.0 or self.cycle_cost != 0.0


@dataclass(frozen=True)
class DegradationCost:
    """Degradation of each EV over a horizon.

    Attributes:
        throughput_kwh: (M,) energy cycled through the battery (kWh).
        switches: (M,) charge/discharge switches (-).
        cost: (M,) degradation cost ($).
    """

    throughput_kwh: NDArray[np.float64]
    switches: NDArray[np.int64]
    cost: NDArray[np.float64]


def battery_throughput_kwh(grid_kwh: ArrayLike, eta_c: ArrayLike = 1.0,
                           eta_d: ArrayLike = 1.0) -> NDArray[np.float64]:
    """Energy cycled through the battery per slot, ``eta_c g^+ + g^- / eta_d`` (kWh).

    Args:
        grid_kwh: net grid energy of each EV per slot (kWh, import/charging > 0), any shape.
        eta_c: charge efficiency (-), broadcast against ``grid_kwh`` (e.g. ``(M, 1)``).
        eta_d: discharge efficiency (-).
    """
    g = np.asarray(grid_kwh, dtype=float)
    return np.asarray(eta_c) * np.maximum(g, 0.0) + np.maximum(-g, 0.0) / np.asarray(eta_d)


def switch_count(grid_kwh: ArrayLike, connected: ArrayLike | None = None,
                 tol_kwh: float = STATUS_TOL_KWH) -> NDArray[np.int64]:
    """Charge/discharge switches ``N_i`` of models.md 3.2 (6) per EV over the slots (last axis).

    Args:
        grid_kwh: (M, K) net grid energy per EV and slot (kWh, import > 0).
        connected: (M, K) plugged-in slots ``T_i`` (default: every slot). Status is 0 outside them.
        tol_kwh: energies within ``+-tol_kwh`` count as idle.

    Returns:
        (M,) number of switches (status 0 before the first slot).
    """
    g = np.atleast_2d(np.asarray(grid_kwh, dtype=float))
    conn = np.ones(g.shape, dtype=bool) if connected is None else np.atleast_2d(
        np.asarray(connected, dtype=bool))
    if conn.shape != g.shape:
        raise ValueError(f"connected must have the shape of grid_kwh {g.shape}, got {conn.shape}")
    idle = np.zeros((g.shape[0], 1), dtype=np.int8)
    total = np.zeros(g.shape[0], dtype=np.int64)
    for status in ((g > tol_kwh) & conn, (g < -tol_kwh) & conn):
        u = np.concatenate([idle, status.astype(np.int8)], axis=1)
        total += (np.abs(np.diff(u, axis=1)) * conn).sum(axis=1)
    return total


def degradation_cost(grid_kwh: ArrayLike, spec: DegradationSpec, eta_c: ArrayLike = 1.0,
                     eta_d: ArrayLike = 1.0, connected: ArrayLike | None = None) -> DegradationCost:
    """Throughput, switches and cost of each EV from its per-slot grid energies.

    Args:
        grid_kwh: (M, K) net grid energy per EV and slot (kWh, import > 0).
        spec: the cost settings.
        eta_c, eta_d: (M,) or scalar charge and discharge efficiencies (-).
        connected: (M, K) plugged-in slots (default all).
    """
    g = np.atleast_2d(np.asarray(grid_kwh, dtype=float))
    ec = np.asarray(eta_c, dtype=float).reshape(-1, 1) if np.ndim(eta_c) else eta_c
    ed = np.asarray(eta_d, dtype=float).reshape(-1, 1) if np.ndim(eta_d) else eta_d
    through = battery_throughput_kwh(g, ec, ed).sum(axis=1)
    n = switch_count(g, connected)
    return DegradationCost(through, n, spec.throughput_cost * through + spec.cycle_cost * n)


def planned_degradation_cost(power_kw: ArrayLike, dt_h: float, spec: DegradationSpec,
                             eta_c: ArrayLike = 1.0, eta_d: ArrayLike = 1.0,
                             connected: ArrayLike | None = None) -> NDArray[np.float64]:
    """Degradation cost ($, per EV) of a planned schedule of grid-side powers.

    Args:
        power_kw: (M, K) planned grid-side power per EV and slot (kW, charging > 0), e.g. the
            ``p_{i,k}`` of models.md 5.1.
        dt_h: slot length (h), e.g. 0.25 for 15-min slots.
        spec, eta_c, eta_d, connected: as :func:`degradation_cost`.
    """
    energy = np.asarray(power_kw, dtype=float) * float(dt_h)
    return degradation_cost(energy, spec, eta_c, eta_d, connected).cost


def throughput_cost_rates(spec: DegradationSpec, eta_c: ArrayLike = 1.0,
                          eta_d: ArrayLike = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The throughput term as linear cost rates on grid energy, for linear objectives.

    With ``g = g^+ - g^-`` split into charged and discharged grid energy (both >= 0), the
    throughput cost is ``rate_buy * g^+ + rate_sell * g^-``; in seed 004's paid-charge objective
    (models.md 5.1 (10)) ``rate_sell`` is the degradation part of ``c^dis``.

    Returns:
        ``(rate_buy, rate_sell)``: $ per kWh drawn from and per kWh fed to the grid,
        ``throughput_cost * eta_c`` and ``throughput_cost / eta_d``.
    """
    c = float(spec.throughput_cost)
    return c * np.asarray(eta_c, dtype=float), c / np.asarray(eta_d, dtype=float)


class DegradationMeter:
    """Accumulates each EV's degradation hour by hour, day by day (the simulation's bookkeeping).

    Each day is its own horizon for the switch count (status 0 at the start of the day, as in
    seed 002's 24-h horizon). Hourly grid energies come from
    :meth:`v2gsim.core.fleet.Fleet.settle_hour`.

    Args:
        spec: the cost settings.
        eta_c, eta_d: (M,) charge and discharge efficiencies of the EVs (-).
    """

    def __init__(self, spec: DegradationSpec, eta_c: ArrayLike, eta_d: ArrayLike):
        self.spec = spec
        self.eta_c = np.asarray(eta_c, dtype=float)
        self.eta_d = np.asarray(eta_d, dtype=float)
        m = self.eta_c.size
        self.total_throughput_kwh = np.zeros(m)
        self.total_switches = np.zeros(m, dtype=np.int64)
        self.start_day()

    def start_day(self) -> None:
        """Reset the day's totals and the statuses (a new horizon)."""
        m = self.eta_c.size
        self.day_throughput_kwh = np.zeros(m)
        self.day_switches = np.zeros(m, dtype=np.int64)
        self._charging = np.zeros(m, dtype=bool)
        self._discharging = np.zeros(m, dtype=bool)

    def add_hour(self, grid_kwh: ArrayLike, plugged: ArrayLike) -> None:
        """Add one hour: (M,) net grid energy of each EV (kWh, import > 0) and who is plugged."""
        g = np.asarray(grid_kwh, dtype=float)
        conn = np.asarray(plugged, dtype=bool)
        through = battery_throughput_kwh(g, self.eta_c, self.eta_d)
        charging, discharging = (g > STATUS_TOL_KWH) & conn, (g < -STATUS_TOL_KWH) & conn
        n = ((charging != self._charging).astype(np.int64)
             + (discharging != self._discharging).astype(np.int64)) * conn
        self.day_throughput_kwh += through
        self.day_switches += n
        self.total_throughput_kwh += through
        self.total_switches += n
        self._charging, self._discharging = charging, discharging

    def cost(self, throughput_kwh: ArrayLike, switches: ArrayLike) -> NDArray[np.float64]:
        """Cost ($) of given throughput (kWh) and switches."""
        s = self.spec
        return s.throughput_cost * np.asarray(throughput_kwh) + s.cycle_cost * np.asarray(switches)

    def day_totals(self) -> dict[str, float]:
        """The fleet's totals of the day: throughput (kWh), switches, cost ($)."""
        cost = self.cost(self.day_throughput_kwh, self.day_switches)
        return {"throughput_kwh": float(self.day_throughput_kwh.sum()),
                "switches": int(self.day_switches.sum()),
                "degradation_cost": float(cost.sum())}

"""Fleet state as arrays: batteries, baseline charging, driving consumption, regulation energy.

All operations act on every EV at once (no loop over drivers). Energies in kWh, powers in kW, one
hourly step at a time. The state of charge never leaves ``[0, capacity]``: driving stops draining an
empty battery (the shortfall is reported as unmet travel energy), baseline charging stops at the
target, and regulation energy is split so that no EV crosses its floor or ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Fleet", "FleetSpec", "HourFlows"]


@dataclass(frozen=True)
class FleetSpec:
    """A homogeneous fleet (plain data; :func:`v2gsim.config.build.fleet_spec` makes one).

    Attributes:
        count: number of EVs M.
        battery_kwh: battery capacity per EV (kWh).
        charger_kw: charger power per EV = regulation capability psi (kW).
        baseline_charge_kw: baseline charging rate omega while below the target SOC (kW).
        soc_min: SOC floor for V2G discharge (-).
        soc_max: SOC ceiling (-).
        soc_target: baseline charging target (-).
        soc_init: initial SOC drawn uniformly from [low, high] (-).
    """

    count: int
    battery_kwh: float
    charger_kw: float
    baseline_charge_kw: float
    soc_min: float
    soc_max: float
    soc_target: float
    soc_init: tuple[float, float]


@dataclass(frozen=True)
class HourFlows:
    """Fleet aggregates of one hour.

    Attributes:
        p_up_kw: aggregate upward regulation capability of the plugged EVs (kW).
        p_down_kw: aggregate downward regulation capability (kW).
        e_up_kwh: energy the plugged EVs can discharge before their SOC floors (kWh).
        e_down_kwh: energy they can absorb before their ceilings, after baseline charging (kWh).
        base_kw: (M,) baseline charging power of each EV this hour (kW).
        offered: (M,) EVs whose flexibility the platform dispatches this hour.
    """

    p_up_kw: float
    p_down_kw: float
    e_up_kwh: float
    e_down_kwh: float
    base_kw: np.ndarray
    offered: np.ndarray


@dataclass
class Fleet:
    """Battery state of M EVs.

    Attributes:
        capacity_kwh: (M,) battery capacities (kWh).
        energy_kwh: (M,) stored energy (kWh), in [0, capacity].
        charger_kw: (M,) charger power = regulation capability psi (kW).
        baseline_kw: (M,) baseline charging rate omega (kW).
        soc_min, soc_max, soc_target: (M,) SOC floor for V2G, ceiling, baseline-charging target (-).
    """

    capacity_kwh: np.ndarray
    energy_kwh: np.ndarray
    charger_kw: np.ndarray
    baseline_kw: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_target: np.ndarray

    @classmethod
    def from_spec(cls, cfg: FleetSpec, rng: np.random.Generator) -> Fleet:
        """A homogeneous fleet with initial SOC uniform on ``cfg.soc_init`` (one draw per EV)."""
        m = cfg.count
        full = np.full
        soc0 = rng.uniform(cfg.soc_init[0], cfg.soc_init[1], size=m)
        cap = full(m, cfg.battery_kwh)
        return cls(
            capacity_kwh=cap,
            energy_kwh=soc0 * cap,
            charger_kw=full(m, cfg.charger_kw),
            baseline_kw=full(m, cfg.baseline_charge_kw),
            soc_min=full(m, cfg.soc_min),
            soc_max=full(m, cfg.soc_max),
            soc_target=full(m, cfg.soc_target),
        )

    @property
    def size(self) -> int:
        """Number of EVs M."""
        return int(self.capacity_kwh.size)

    @property
    def soc(self) -> np.ndarray:
        """(M,) state of charge (-)."""
        return self.energy_kwh / self.capacity_kwh

    def drive(self, energy_kwh: np.ndarray) -> np.ndarray:
        """Consume driving energy; returns the unmet part per EV (kWh) when a battery runs empty."""
        need = np.asarray(energy_kwh, dtype=float)
        used = np.minimum(need, self.energy_kwh)
        self.energy_kwh -= used
        return need - used

    def hour_flows(self, plugged: np.ndarray, offered: np.ndarray | None = None,
                   dt_h: float = 1.0) -> HourFlows:
        """Regulation capability of the plugged EVs for one hour.

        Each plugged EV charges at ``base = min(omega, (target - E)/dt)^+``. The EVs offered to
        the platform (plugged and, with the seed-001 game, cooperating; default: all plugged)
        follow regulation around that base point within their charger rating: up (less charging,
        then V2G discharge) by ``psi + base`` and down (more charging) by ``psi - base``. Energy
        windows: down to ``soc_min`` and, after the baseline charge, up to ``soc_max``.
        """
        offered = plugged if offered is None else plugged & offered
        e, cap = self.energy_kwh, self.capacity_kwh
        base = np.clip((self.soc_target * cap - e) / dt_h, 0.0, self.baseline_kw) * plugged
        floor_room = np.maximum(e - self.soc_min * cap, 0.0)
        ceil_room = np.maximum(self.soc_max * cap - e - base * dt_h, 0.0)
        return HourFlows(
            p_up_kw=float(((self.charger_kw + base) * offered).sum()),
            p_down_kw=float(((self.charger_kw - base) * offered).sum()),
            e_up_kwh=float((floor_room * offered).sum()),
            e_down_kwh=float((ceil_room * offered).sum()),
            base_kw=base,
            offered=offered,
        )

    def settle_hour(self, flows: HourFlows, net_discharge_kwh: float, dt_h: float = 1.0) -> None:
        """Apply one hour's baseline charging and the fleet's net regulation energy.

        Args:
            flows: this hour's :meth:`hour_flows` (baseline charging and the offered EVs).
            net_discharge_kwh: regulation energy delivered to the grid (discharge > 0, kWh); split
                pro rata to each offered EV's room in that direction, so no EV crosses its bounds.
        """
        offered = flows.offered
        self.energy_kwh += flows.base_kw * dt_h
        cap = self.capacity_kwh
        if net_discharge_kwh > 0:
            room = np.maximum(self.energy_kwh - self.soc_min * cap, 0.0) * offered
            total = room.sum()
            if total > 0:
                self.energy_kwh -= room * min(net_discharge_kwh / total, 1.0)
        elif net_discharge_kwh < 0:
            room = np.maximum(self.soc_max * cap - self.energy_kwh, 0.0) * offered
            total = room.sum()
            if total > 0:
                self.energy_kwh += room * min(-net_discharge_kwh / total, 1.0)
        np.clip(self.energy_kwh, 0.0, cap, out=self.energy_kwh)

"""Fleet state as arrays: batteries, baseline charging, driving consumption, regulation energy.

All operations act on every EV at once (no loop over drivers). Energies in kWh, powers in kW (grid
side), one hourly step at a time: :meth:`Fleet.drive`, then :meth:`Fleet.hour_flows` (what the
plugged EVs can do this hour), then :meth:`Fleet.settle_hour` (apply it).

Two fleets, chosen by :class:`FleetSpec`:

* **Homogeneous** (no ``models``; the default, kept exactly as it was): every EV has the same
  battery and charger, no losses. Baseline charging stops at the target; the hour's regulation
  energy is split pro rata to each offered EV's room above its floor (below its ceiling) after
  the baseline charge, and the fleet's energy windows are the sums of those rooms.
* **Heterogeneous** (``models``: EV models with shares): every EV has its own capacity, charge
  and discharge limits, efficiencies ``eta_c``, ``eta_d``, self-discharge, SOC window and V2G
  flag. Per hour and EV (models.md 3.2 (1), 5.1 (1)-(2)):

  - self-discharge first: ``E <- E (1 - s)^dt`` (losses ``E (1 - (1 - s)^dt)``);
  - baseline charging (grid kW) ``b = min(omega, (target - E) / (eta_c dt))^+`` while plugged;
  - an offered EV follows regulation around ``b``: up by ``b + P_dis`` (``b`` only when it is not
    V2G capable: it can only charge less) and down by ``P_ch - b``, where ``P_ch``, ``P_dis`` are
    its model's limits capped by the site charger; its hourly grid energy up (down) is at most
    that power times ``dt`` and what keeps it inside its window:
    ``b dt + eta_d (E - E_min)^+`` up, ``((E_max - E) / eta_c - b dt)^+`` down;
  - the fleet's net regulation energy is split pro rata to those per-EV caps, so no EV exceeds
    its power limits or leaves its window; with grid energy ``g`` (import > 0) the stored energy
    changes by ``eta_c g`` when ``g > 0`` and by ``g / eta_d`` when ``g < 0``.

  Driving and self-discharge may take an EV below its window's floor (never below 0); charging
  and regulation never take it out of its window, or further out of it.

**Base-point schedules** (:mod:`v2gsim.core.schedule`): with an hour's :class:`~v2gsim.core.schedule.HourPlan`
the EVs it covers execute their planned power per slot, clipped to what they can do (plugged, power
limits, SOC window, efficiencies; self-discharge first), instead of baseline charging, and follow
regulation around that executed base point; the other EVs are exactly as without a plan. A run
whose policy returns no schedule never takes this path.

Which EV is which model: the EV counts are the largest-remainder split of the fleet by the shares
(:func:`split_by_share`, the rule of the driver clusters), and the models are assigned by a
random permutation of the fleet stream, drawn after the initial SOCs. Driver clusters are
contiguous index ranges, so the permutation mixes the models into every cluster (each cluster's
model mix is a hypergeometric draw around the shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from v2gsim.core.degradation import DegradationSpec
from v2gsim.core.schedule import EVLimits, HourPlan, ScheduledHour, execute_hour, settle_regulation

__all__ = ["SOC_SAMPLE_SIZE", "EVModelSpec", "Fleet", "FleetSpec", "HourEnergy", "HourFlows",
           "split_by_share"]

#: Number of EVs whose hourly SOC a heterogeneous run records (the seeded sample of the fleet).
SOC_SAMPLE_SIZE = 20


def split_by_share(shares: list[float] | tuple[float, ...], total: int) -> np.ndarray:
    """Split ``total`` EVs by ``shares`` (largest remainder, ties to the first; sizes sum to
    ``total``). The same rule as :func:`v2gsim.sim.agents.driver.cluster_sizes`."""
    raw = np.asarray(shares, dtype=float) * total
    size = np.floor(raw).astype(int)
    rest = total - size.sum()
    size[np.argsort(-(raw - size), kind="stable")[:rest]] += 1
    return size


@dataclass(frozen=True)
class EVModelSpec:
    """One EV model of a heterogeneous fleet (plain data; the adapter resolves catalog rows).

    Attributes:
        name: model name.
        share: share of the fleet (-).
        battery_kwh: usable capacity (kWh).
        max_charge_kw: largest charging power of the car (kW, grid side).
        max_discharge_kw: largest V2G discharge power (kW, grid side); 0 when not V2G capable.
        soc_min, soc_max: usable SOC window (-).
        v2g: V2G capable.
        charge_efficiency: eta_c in (0, 1] (-).
        discharge_efficiency: eta_d in (0, 1] (-).
        self_discharge_per_h: fraction of the stored energy lost per hour (1/h).
    """

    name: str
    share: float
    battery_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    soc_min: float
    soc_max: float
    v2g: bool = True
    charge_efficiency: float = 1.0
    discharge_efficiency: float = 1.0
    self_discharge_per_h: float = 0.0


@dataclass(frozen=True)
class FleetSpec:
    """The fleet (plain data; :func:`v2gsim.specs.build.fleet_spec` makes one).

    Attributes:
        count: number of EVs M.
        battery_kwh: battery capacity per EV (kWh) of the homogeneous fleet.
        charger_kw: charger power per EV = regulation capability psi (kW); with models, the site
            charger's rating, which caps every model's limits.
        baseline_charge_kw: baseline charging rate omega while below the target SOC (kW).
        soc_min: SOC floor for V2G discharge (-) of the homogeneous fleet.
        soc_max: SOC ceiling (-) of the homogeneous fleet.
        soc_target: baseline charging target (-).
        soc_init: initial SOC drawn uniformly from [low, high] (-), clipped to each model's window.
        models: EV models with shares summing to 1; empty = homogeneous.
        degradation: battery degradation cost settings.
    """

    count: int
    battery_kwh: float
    charger_kw: float
    baseline_charge_kw: float
    soc_min: float
    soc_max: float
    soc_target: float
    soc_init: tuple[float, float]
    models: tuple[EVModelSpec, ...] = ()
    degradation: DegradationSpec = field(default_factory=DegradationSpec)

    @property
    def model_sizes(self) -> np.ndarray:
        """(K,) EVs per model (largest remainder of the shares); empty when homogeneous."""
        return split_by_share([m.share for m in self.models], self.count)

    @property
    def regulation_kw(self) -> float:
        """Mean symmetric regulation capability per EV psi (kW), what a policy plans with.

        ``charger_kw`` for the homogeneous fleet; with models the mean over the EVs of
        ``min(P_ch, P_dis)`` (site-capped), so EVs that are not V2G capable count 0.
        """
        if not self.models:
            return self.charger_kw
        cap = self.charger_kw
        psi = [min(m.max_charge_kw, cap, m.max_discharge_kw if m.v2g else 0.0) for m in self.models]
        return float(np.dot(self.model_sizes, psi) / self.count)


@dataclass(frozen=True)
class HourFlows:
    """Fleet aggregates of one hour.

    Attributes:
        p_up_kw: aggregate upward regulation capability of the offered EVs (kW).
        p_down_kw: aggregate downward regulation capability (kW).
        e_up_kwh: energy the offered EVs can deliver upward this hour (kWh, grid side).
        e_down_kwh: energy they can absorb beyond baseline charging (kWh, grid side).
        base_kw: (M,) baseline charging power of each EV this hour (kW, grid side).
        offered: (M,) EVs whose flexibility the platform dispatches this hour.
        up_kwh: (M,) per-EV upward energy caps (heterogeneous fleet; None when homogeneous).
        down_kwh: (M,) per-EV downward energy caps (heterogeneous fleet).
        loss_kwh: (M,) self-discharge of the hour (heterogeneous fleet).
        scheduled: what the EVs of the hour's base-point plan executed and their regulation caps
            (their ``base_kw`` is then their executed mean power), or None without a plan.
    """

    p_up_kw: float
    p_down_kw: float
    e_up_kwh: float
    e_down_kwh: float
    base_kw: np.ndarray
    offered: np.ndarray
    up_kwh: np.ndarray | None = None
    down_kwh: np.ndarray | None = None
    loss_kwh: np.ndarray | None = None
    scheduled: ScheduledHour | None = None


@dataclass(frozen=True)
class HourEnergy:
    """Energy exchanged by each EV in one settled hour (what :meth:`Fleet.settle_hour` returns).

    Attributes:
        grid_kwh: (M,) net grid energy of each EV (kWh; import/charging > 0, export < 0):
            baseline charging plus its share of the regulation energy.
        stored_kwh: (M,) change of stored energy from that exchange (kWh): ``eta_c g`` on charge,
            ``g / eta_d`` on discharge.
        loss_kwh: (M,) self-discharge of the hour (kWh).
        grid_import_kwh: energy the fleet drew from the grid, sum of ``g^+`` (kWh).
        grid_export_kwh: energy the fleet fed to the grid, sum of ``g^-`` (kWh); a site's meter
            nets them: import - export.
    """

    grid_kwh: np.ndarray
    stored_kwh: np.ndarray
    loss_kwh: np.ndarray
    grid_import_kwh: float
    grid_export_kwh: float


def _hour_energy(grid: np.ndarray, stored: np.ndarray, loss: np.ndarray) -> HourEnergy:
    return HourEnergy(grid_kwh=grid, stored_kwh=stored, loss_kwh=loss,
                      grid_import_kwh=float(np.maximum(grid, 0.0).sum()),
                      grid_export_kwh=float(np.maximum(-grid, 0.0).sum()))


@dataclass
class Fleet:
    """Battery state of M EVs.

    Attributes:
        capacity_kwh: (M,) battery (usable) capacities (kWh).
        energy_kwh: (M,) stored energy (kWh), in [0, capacity].
        charger_kw: (M,) charging limit (kW); homogeneous: the charger = regulation capability psi.
        baseline_kw: (M,) baseline charging rate omega (kW).
        soc_min, soc_max, soc_target: (M,) SOC floor, ceiling, baseline-charging target (-).
        discharge_kw: (M,) V2G discharge limit (kW); default ``charger_kw``, 0 when not V2G.
        charge_efficiency, discharge_efficiency: (M,) eta_c, eta_d (-); default 1.
        self_discharge_per_h: (M,) fraction of stored energy lost per hour (1/h); default 0.
        v2g: (M,) V2G capable; default all.
        model_index: (M,) index of each EV's model in ``model_names``; None = homogeneous fleet
            (the homogeneous arithmetic of the module docstring).
        model_names: names of the models.
        sample: indices of the EVs whose SOC trajectory a run records (empty when homogeneous).
    """

    capacity_kwh: np.ndarray
    energy_kwh: np.ndarray
    charger_kw: np.ndarray
    baseline_kw: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_target: np.ndarray
    discharge_kw: np.ndarray | None = None
    charge_efficiency: np.ndarray | None = None
    discharge_efficiency: np.ndarray | None = None
    self_discharge_per_h: np.ndarray | None = None
    v2g: np.ndarray | None = None
    model_index: np.ndarray | None = None
    model_names: tuple[str, ...] = ()
    sample: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        m = self.capacity_kwh.size
        if self.discharge_kw is None:
            self.discharge_kw = self.charger_kw.copy()
        for name, value in (("charge_efficiency", 1.0), ("discharge_efficiency", 1.0),
                            ("self_discharge_per_h", 0.0)):
            if getattr(self, name) is None:
                setattr(self, name, np.full(m, value))
        if self.v2g is None:
            self.v2g = np.ones(m, dtype=bool)

    @classmethod
    def from_spec(cls, cfg: FleetSpec, rng: np.random.Generator) -> Fleet:
        """The fleet of ``cfg``: initial SOC uniform on ``cfg.soc_init`` (one draw per EV), then,
        with models, the model assignment and the SOC sample (same ``rng``, in that order)."""
        m = cfg.count
        full = np.full
        soc0 = rng.uniform(cfg.soc_init[0], cfg.soc_init[1], size=m)
        if cfg.models:
            return cls._from_models(cfg, soc0, rng)
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

    @classmethod
    def _from_models(cls, cfg: FleetSpec, soc0: np.ndarray, rng: np.random.Generator) -> Fleet:
        """Heterogeneous fleet: models by largest remainder, assigned by a seeded permutation."""
        m, models = cfg.count, cfg.models
        idx = rng.permutation(np.repeat(np.arange(len(models)), cfg.model_sizes))
        sample = np.sort(rng.choice(m, size=min(SOC_SAMPLE_SIZE, m), replace=False))

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(mdl, attr) for mdl in models], dtype=float)[idx]

        cap, lo, hi = col("battery_kwh"), col("soc_min"), col("soc_max")
        v2g = col("v2g") > 0
        charge = np.minimum(col("max_charge_kw"), cfg.charger_kw)
        return cls(
            capacity_kwh=cap,
            energy_kwh=np.clip(soc0, lo, hi) * cap,
            charger_kw=charge,
            baseline_kw=np.minimum(cfg.baseline_charge_kw, charge),
            soc_min=lo, soc_max=hi, soc_target=np.full(m, cfg.soc_target),
            discharge_kw=np.where(v2g, np.minimum(col("max_discharge_kw"), cfg.charger_kw), 0.0),
            charge_efficiency=col("charge_efficiency"),
            discharge_efficiency=col("discharge_efficiency"),
            self_discharge_per_h=col("self_discharge_per_h"),
            v2g=v2g, model_index=idx.astype(np.int64),
            model_names=tuple(mdl.name for mdl in models), sample=sample,
        )

    @property
    def size(self) -> int:
        """Number of EVs M."""
        return int(self.capacity_kwh.size)

    @property
    def heterogeneous(self) -> bool:
        """Whether the fleet was built from EV models (per-EV limits and efficiencies)."""
        return self.model_index is not None

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
                   dt_h: float = 1.0, plan: HourPlan | None = None) -> HourFlows:
        """Regulation capability of the plugged EVs for one hour (nothing changes yet).

        Each plugged EV charges at ``base = min(omega, (target - E)/dt)^+``. The EVs offered to
        the platform (plugged and, with the seed-001 game, cooperating; default: all plugged)
        follow regulation around that base point within their charger rating: up (less charging,
        then V2G discharge) by ``psi + base`` and down (more charging) by ``psi - base``. Energy
        windows: down to ``soc_min`` and, after the baseline charge, up to ``soc_max``. A
        heterogeneous fleet uses its per-EV limits, efficiencies and self-discharge (module
        docstring). With ``plan`` (the hour of a base-point schedule), the EVs it covers execute
        it instead of baseline charging (:mod:`v2gsim.core.schedule`, models.md §5.1 (1)-(4)).
        """
        offered = plugged if offered is None else plugged & offered
        if plan is not None:
            return self._planned_flows(plugged, offered, dt_h, plan)
        if self.heterogeneous:
            return self._model_flows(plugged, offered, dt_h)
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

    def _model_flows(self, plugged: np.ndarray, offered: np.ndarray, dt_h: float) -> HourFlows:
        """:meth:`hour_flows` of a heterogeneous fleet (per-EV caps, grid side)."""
        eta_c, eta_d = self.charge_efficiency, self.discharge_efficiency
        loss = self.energy_kwh * (1.0 - (1.0 - self.self_discharge_per_h) ** dt_h)
        e, cap = self.energy_kwh - loss, self.capacity_kwh
        base = np.clip((self.soc_target * cap - e) / (eta_c * dt_h), 0.0, self.baseline_kw) * plugged
        up_kw = (self.discharge_kw * self.v2g + base) * offered
        down_kw = (self.charger_kw - base) * offered
        floor_room = np.maximum(e - self.soc_min * cap, 0.0) * eta_d * self.v2g
        ceil_room = np.maximum((self.soc_max * cap - e) / eta_c - base * dt_h, 0.0)
        up_kwh = np.minimum(base * dt_h + floor_room, up_kw * dt_h) * offered
        down_kwh = np.minimum(ceil_room, down_kw * dt_h) * offered
        return HourFlows(
            p_up_kw=float(up_kw.sum()), p_down_kw=float(down_kw.sum()),
            e_up_kwh=float(up_kwh.sum()), e_down_kwh=float(down_kwh.sum()),
            base_kw=base, offered=offered, up_kwh=up_kwh, down_kwh=down_kwh, loss_kwh=loss,
        )

    def settle_hour(self, flows: HourFlows, net_discharge_kwh: float,
                    dt_h: float = 1.0) -> HourEnergy:
        """Apply one hour's baseline charging and the fleet's net regulation energy.

        Args:
            flows: this hour's :meth:`hour_flows` (baseline charging, a plan's executed base point,
                the offered EVs).
            net_discharge_kwh: regulation energy delivered to the grid (discharge > 0, kWh); split
                pro rata to each offered EV's room in that direction (heterogeneous fleet: to its
                per-EV cap), so no EV crosses its bounds.

        Returns:
            Each EV's grid and stored energy of the hour and the fleet's grid import and export.
        """
        if flows.scheduled is not None:
            return self._settle_planned(flows, net_discharge_kwh, dt_h)
        if self.heterogeneous:
            return self._settle_models(flows, net_discharge_kwh, dt_h)
        before = self.energy_kwh.copy()
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
        delta = self.energy_kwh - before
        return _hour_energy(delta, delta, np.zeros_like(delta))

    def _settle_models(self, flows: HourFlows, net_kwh: float, dt_h: float) -> HourEnergy:
        """:meth:`settle_hour` of a heterogeneous fleet (module docstring)."""
        if flows.up_kwh is None or flows.down_kwh is None or flows.loss_kwh is None:
            raise ValueError("settle_hour of a heterogeneous fleet needs the flows of its own "
                             "hour_flows (per-EV caps), got those of a homogeneous fleet")
        e = self.energy_kwh - flows.loss_kwh
        grid = flows.base_kw * dt_h
        caps = flows.up_kwh if net_kwh > 0 else flows.down_kwh
        total = caps.sum()
        if net_kwh != 0 and total > 0:
            grid = grid - np.sign(net_kwh) * caps * min(abs(net_kwh) / total, 1.0)
        stored = np.where(grid > 0, self.charge_efficiency * grid, grid / self.discharge_efficiency)
        cap = self.capacity_kwh
        lower = np.maximum(np.minimum(e, self.soc_min * cap), 0.0)
        upper = np.minimum(np.maximum(e, self.soc_max * cap), cap)
        self.energy_kwh[:] = np.clip(e + stored, lower, upper)
        return _hour_energy(grid, self.energy_kwh - e, flows.loss_kwh)

    def limits(self, ev: np.ndarray) -> EVLimits:
        """The limits of the EVs ``ev`` (:class:`~v2gsim.core.schedule.EVLimits`; kW, kWh, -)."""
        cap = self.capacity_kwh[ev]
        return EVLimits(charge_kw=self.charger_kw[ev], discharge_kw=(self.discharge_kw * self.v2g)[ev],
                        e_min=self.soc_min[ev] * cap, e_max=self.soc_max[ev] * cap, capacity_kwh=cap,
                        eta_c=self.charge_efficiency[ev], eta_d=self.discharge_efficiency[ev])

    def _planned_flows(self, plugged: np.ndarray, offered: np.ndarray, dt_h: float,
                       plan: HourPlan) -> HourFlows:
        """:meth:`hour_flows` with a plan: the other EVs as without it, the covered ones execute it.

        The regulation weights ``up_kwh``/``down_kwh`` of an uncovered EV are those of
        :meth:`settle_hour` without a plan (homogeneous: its room after the baseline charge).
        """
        ev = plan.ev
        free = np.ones(self.size, dtype=bool)
        free[ev] = False
        flows = self.hour_flows(plugged & free, offered & free, dt_h)
        if self.heterogeneous:
            up, down, e0 = flows.up_kwh.copy(), flows.down_kwh.copy(), self.energy_kwh - flows.loss_kwh
        else:
            after, cap = self.energy_kwh + flows.base_kw * dt_h, self.capacity_kwh
            up = np.maximum(after - self.soc_min * cap, 0.0) * flows.offered
            down = np.maximum(self.soc_max * cap - after, 0.0) * flows.offered
            e0 = self.energy_kwh
        plug = plugged[ev] if plan.plugged is None else plan.plugged & plugged[ev][:, None]
        sh = execute_hour(plan, e0[ev], plug, offered[ev], self.limits(ev), dt_h)
        up[ev], down[ev] = sh.up_kwh, sh.down_kwh
        base = flows.base_kw.copy()
        base[ev] = sh.base_kwh / dt_h
        return replace(flows, p_up_kw=flows.p_up_kw + float(sh.up_kw.sum()),
                       p_down_kw=flows.p_down_kw + float(sh.down_kw.sum()),
                       e_up_kwh=flows.e_up_kwh + float(sh.up_kwh.sum()),
                       e_down_kwh=flows.e_down_kwh + float(sh.down_kwh.sum()),
                       base_kw=base, offered=offered, up_kwh=up, down_kwh=down, scheduled=sh)

    def _settle_planned(self, flows: HourFlows, net_kwh: float, dt_h: float) -> HourEnergy:
        """:meth:`settle_hour` with a plan: the fleet's net regulation energy is split pro rata to
        every offered EV's cap (covered EVs: around their executed base point); the uncovered EVs
        settle with the arithmetic of their fleet (module docstring), the covered ones by
        :func:`~v2gsim.core.schedule.settle_regulation`."""
        sh, cap = flows.scheduled, self.capacity_kwh
        caps = flows.up_kwh if net_kwh > 0 else flows.down_kwh
        total = caps.sum()
        frac = min(abs(net_kwh) / total, 1.0) if net_kwh != 0 and total > 0 else 0.0
        reg = -np.sign(net_kwh) * caps * frac  # grid side, + = more import
        if self.heterogeneous:
            e = self.energy_kwh - flows.loss_kwh
            grid = flows.base_kw * dt_h + reg
            stored = np.where(grid > 0, self.charge_efficiency * grid, grid / self.discharge_efficiency)
            lower = np.maximum(np.minimum(e, self.soc_min * cap), 0.0)
            upper = np.minimum(np.maximum(e, self.soc_max * cap), cap)
            new = np.clip(e + stored, lower, upper)
            loss = flows.loss_kwh
        else:
            e = self.energy_kwh.copy()
            new = e + flows.base_kw * dt_h
            new += reg
            np.clip(new, 0.0, cap, out=new)
            grid, loss = new - e, np.zeros_like(e)
        g_ev, e_ev = settle_regulation(sh, reg[sh.ev], self.limits(sh.ev))
        grid = grid.copy()
        grid[sh.ev], new[sh.ev] = g_ev, e_ev
        self.energy_kwh[:] = new
        return _hour_energy(grid, new - e, loss)

"""What a run records of its fleet beyond the default tables (heterogeneous fleets, degradation).

:class:`FleetRecorder` is the model's bookkeeping of the fleet features of issue 11; it is off (the
model has none) for the default homogeneous fleet without degradation cost, so the default tables
keep their columns. When on:

* hourly table: ``grid_import_kwh``, ``grid_export_kwh`` (heterogeneous fleets): energy the fleet
  drew from / fed to the grid in the hour, summed over EVs (kWh, see
  :class:`v2gsim.core.fleet.HourEnergy`);
* daily table: ``throughput_kwh`` (energy cycled through the batteries, kWh), ``switches``
  (charge/discharge switches), ``degradation_cost`` ($) of the fleet that day
  (:mod:`v2gsim.core.degradation`) and ``profit_net_degradation`` ($): the day's ``profit``
  (regulation credits minus rebates; it does not include the degradation cost, nor the energy
  cost) minus the degradation cost;
* fleet table: ``model`` (heterogeneous fleets) and each EV's run totals ``throughput_kwh``,
  ``switches``, ``degradation_cost``;
* SOC sample table (heterogeneous fleets, :meth:`FleetRecorder.soc_table`): the fixed seeded
  sample of up to 20 EVs (:attr:`v2gsim.core.fleet.Fleet.sample`), one row per EV and hour, SOC at the
  end of the hour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from v2gsim.core.degradation import DegradationMeter
from v2gsim.core.fleet import Fleet, FleetSpec, HourEnergy

__all__ = ["DAILY_KEYS", "HOURLY_KEYS", "FleetRecorder"]

#: Hourly-table columns added for a heterogeneous fleet.
HOURLY_KEYS = ("grid_import_kwh", "grid_export_kwh")
#: Daily-table columns added when a degradation cost is configured or models are declared.
DAILY_KEYS = ("throughput_kwh", "switches", "degradation_cost", "profit_net_degradation")


class FleetRecorder:
    """Per-hour and per-day records of a heterogeneous fleet and its degradation.

    Args:
        fleet: the run's fleet.
        spec: its spec (degradation costs).
    """

    def __init__(self, fleet: Fleet, spec: FleetSpec):
        self.fleet = fleet
        self.meter = DegradationMeter(spec.degradation, fleet.charge_efficiency,
                                      fleet.discharge_efficiency)
        self._soc: list[tuple[int, int, np.ndarray, np.ndarray]] = []

    @staticmethod
    def wanted(spec: FleetSpec) -> bool:
        """Whether a run of ``spec`` records anything beyond the default tables."""
        return bool(spec.models) or spec.degradation.enabled

    @property
    def hourly_keys(self) -> tuple[str, ...]:
        """Columns this recorder adds to the hourly table."""
        return HOURLY_KEYS if self.fleet.heterogeneous else ()

    def start_day(self) -> None:
        """A new day: a new horizon for the switch count."""
        self.meter.start_day()

    def add_hour(self, day: int, hour: int, energy: HourEnergy,
                 plugged: np.ndarray) -> dict[str, float]:
        """Record one settled hour; returns the hourly-table values it adds."""
        self.meter.add_hour(energy.grid_kwh, plugged)
        if not self.fleet.heterogeneous:
            return {}
        s = self.fleet.sample
        self._soc.append((day, hour, self.fleet.soc[s], plugged[s]))
        return {"grid_import_kwh": energy.grid_import_kwh,
                "grid_export_kwh": energy.grid_export_kwh}

    def day_totals(self, profit: float) -> dict[str, Any]:
        """The daily-table values of the day (fleet totals, :data:`DAILY_KEYS`).

        Args:
            profit: the day's ``profit`` (credits minus rebates, $).
        """
        totals = self.meter.day_totals()
        return {**totals, "profit_net_degradation": float(profit) - totals["degradation_cost"]}

    def fleet_columns(self) -> dict[str, Any]:
        """Fleet-table columns (one value per EV) this recorder adds."""
        f, m = self.fleet, self.meter
        out: dict[str, Any] = {}
        if f.heterogeneous:
            out["model"] = np.asarray(f.model_names, dtype=object)[f.model_index]
        out["throughput_kwh"] = m.total_throughput_kwh.copy()
        out["switches"] = m.total_switches.copy()
        out["degradation_cost"] = m.cost(m.total_throughput_kwh, m.total_switches)
        return out

    def soc_table(self) -> pd.DataFrame | None:
        """The SOC sample (columns day, hour, driver, model, soc, plugged); None when homogeneous."""
        f = self.fleet
        if not f.heterogeneous:
            return None
        s, n = f.sample, len(self._soc)
        names = np.asarray(f.model_names, dtype=object)[f.model_index[s]]
        return pd.DataFrame({
            "day": np.repeat([r[0] for r in self._soc], s.size).astype("int64"),
            "hour": np.repeat([r[1] for r in self._soc], s.size).astype("int64"),
            "driver": np.tile(s, n).astype("int64"),
            "model": np.tile(names, n),
            "soc": np.concatenate([r[2] for r in self._soc]) if n else np.zeros(0),
            "plugged": np.concatenate([r[3] for r in self._soc]) if n else np.zeros(0, bool),
        })

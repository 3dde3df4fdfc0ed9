"""DriverAgent: one EV owner, a thin view into the fleet arrays of the model.

The fleet is simulated with arrays (:class:`v2gsim.fleet.Fleet`, :mod:`v2gsim.behavior.sampling`);
a DriverAgent exists so users can inspect (and subclass) individual drivers: its properties read the
model's arrays at index :attr:`idx`, so they are always current and cost nothing per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from v2gsim.model import V2GMarketModel

__all__ = ["DriverAgent"]


class DriverAgent(mesa.Agent):
    """One driver/EV.

    Attributes:
        idx: row of this driver in the fleet arrays.
    """

    def __init__(self, model: V2GMarketModel, idx: int):
        super().__init__(model)
        self.idx = int(idx)

    @property
    def soc(self) -> float:
        """Current state of charge (-)."""
        return float(self.model.fleet.soc[self.idx])

    @property
    def energy_kwh(self) -> float:
        """Stored energy (kWh)."""
        return float(self.model.fleet.energy_kwh[self.idx])

    @property
    def capacity_kwh(self) -> float:
        """Battery capacity (kWh)."""
        return float(self.model.fleet.capacity_kwh[self.idx])

    @property
    def cluster(self) -> str:
        """Name of the driver's cluster."""
        return self.model.clusters[self.model.cluster_of(self.idx)[0]].name

    def _arcs_today(self) -> tuple[np.ndarray, object] | None:
        choices = self.model.last_choice
        if choices is None:
            return None
        k, row = self.model.cluster_of(self.idx)
        return choices[k].arc_at_hour[row], self.model.clusters[k].network

    @property
    def path(self) -> list[str]:
        """Labels of the arcs of today's chosen path, hour by hour (empty before the first day)."""
        today = self._arcs_today()
        if today is None:
            return []
        arcs, net = today
        labels = net.arc_labels()
        return [labels[a] for a in arcs]

    @property
    def plugged_today(self) -> np.ndarray:
        """(T,) boolean: plugged in during each hour of the last simulated day."""
        today = self._arcs_today()
        if today is None:
            return np.zeros(self.model.scenario.network.hours, dtype=bool)
        arcs, net = today
        return net.kind[arcs] == 1

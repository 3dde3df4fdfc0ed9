"""EnergyMarketAgent: prices the fleet's hourly grid energy (``[market.energy]`` on).

Thin, like the TSO: it is given its hourly price table when it is created
(:func:`v2gsim.market.energy_sources.energy_price_table`, USD/kWh); the settlement rule lives in
:func:`v2gsim.market.energy_settlement.settle_energy`. What the fleet draws from and feeds into the
grid in an hour is the fleet's own account of it (:class:`v2gsim.core.fleet.HourEnergy`: baseline
charging plus each EV's share of the regulation energy, on the grid side of the efficiencies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import mesa
import numpy as np
import pandas as pd

from v2gsim.market.energy_settlement import settle_energy

if TYPE_CHECKING:
    from v2gsim.core.fleet import HourEnergy

__all__ = ["ENERGY_DAILY_KEYS", "ENERGY_HOURLY_COLUMNS", "EnergyMarketAgent"]

#: Hourly-table columns added when the energy market is on.
ENERGY_HOURLY_COLUMNS = ("energy_price", "energy_sell_price", "energy_bought_kwh",
                         "energy_sold_kwh", "energy_cost")
#: Daily-table columns added when the energy market is on.
ENERGY_DAILY_KEYS = ("energy_bought_kwh", "energy_sold_kwh", "energy_cost", "profit_net_energy")


class EnergyMarketAgent(mesa.Agent):
    """The energy market or retailer the site/aggregator buys grid energy from and sells it to.

    Args:
        model: the model.
        prices: hourly prices of every simulated day (columns ``day``, ``hour``,
            ``energy_price`` and ``energy_sell_price``, USD/kWh).
        hours: hours of a day T.
        metering: ``"net"`` or ``"gross"`` (:func:`~v2gsim.market.energy_settlement.settle_energy`).
    """

    def __init__(self, model: mesa.Model, prices: pd.DataFrame, hours: int,
                 metering: Literal["net", "gross"] = "net"):
        super().__init__(model)
        self.buy = prices["energy_price"].to_numpy(dtype=np.float64)
        self.sell = prices["energy_sell_price"].to_numpy(dtype=np.float64)
        self.hours = int(hours)
        self.metering = metering

    def day_prices(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(T,) purchase and sale prices of ``day`` (USD/kWh; copies)."""
        k = day * self.hours
        return self.buy[k:k + self.hours].copy(), self.sell[k:k + self.hours].copy()

    def settle_hour(self, day: int, hour: int, energy: HourEnergy) -> dict[str, float]:
        """Price hour ``hour`` of ``day``: the hourly-table columns :data:`ENERGY_HOURLY_COLUMNS`.

        ``energy_cost`` is the net cost, USD: bought x buy price - sold x sell price.
        """
        k = day * self.hours + hour
        s = settle_energy(energy.grid_import_kwh, energy.grid_export_kwh, self.buy[k], self.sell[k],
                          self.metering)
        return {
            "energy_price": float(self.buy[k]), "energy_sell_price": float(self.sell[k]),
            "energy_bought_kwh": float(s.bought_kwh), "energy_sold_kwh": float(s.sold_kwh),
            "energy_cost": float(s.net_cost),
        }

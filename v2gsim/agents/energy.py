"""EnergyMarketAgent: prices the fleet's hourly grid energy (``[market.energy]`` on).

Thin, like the TSO: it is given its hourly price table when it is created
(:func:`v2gsim.market.energy_sources.energy_price_table`, USD/kWh); the settlement rule lives in
:func:`v2gsim.market.energy_settlement.settle_energy`. :func:`hour_grid_energy` is the one place
that says what the fleet draws from and feeds into the grid in an hour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import mesa
import numpy as np
import pandas as pd

from v2gsim.market.energy_settlement import settle_energy

if TYPE_CHECKING:
    from v2gsim.fleet import HourFlows
    from v2gsim.market.agc import FollowResult

__all__ = ["ENERGY_DAILY_KEYS", "ENERGY_HOURLY_COLUMNS", "EnergyMarketAgent", "hour_grid_energy"]

#: Hourly-table columns added when the energy market is on.
ENERGY_HOURLY_COLUMNS = ("energy_price", "energy_sell_price", "energy_bought_kwh",
                         "energy_sold_kwh", "energy_cost")
#: Daily-table columns added when the energy market is on.
ENERGY_DAILY_KEYS = ("energy_bought_kwh", "energy_sold_kwh", "energy_cost", "profit_net_energy")


def hour_grid_energy(flows: HourFlows, follow: FollowResult, dt_h: float = 1.0
                     ) -> tuple[float, float]:
    """Energy the fleet draws from the grid and feeds into it in one hour (kWh, both >= 0).

    ``import = Σ_i base_i · dt + [n]^-`` and ``export = [n]^+``: the baseline charging of every
    plugged EV (:attr:`v2gsim.fleet.HourFlows.base_kw`) plus the fleet's net regulation energy
    ``n`` (:attr:`v2gsim.market.agc.FollowResult.net_energy_kwh`, discharge > 0) - extra charging
    bought, discharge sold. Without charge/discharge efficiencies in the fleet, the energy stored
    and the energy metered are the same; a fleet that reports its own grid-side import and export
    replaces this function's body.
    """
    net = float(follow.net_energy_kwh[0])
    base = float(np.sum(flows.base_kw)) * dt_h
    return base + max(-net, 0.0), max(net, 0.0)


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

    def settle_hour(self, day: int, hour: int, flows: HourFlows, follow: FollowResult
                    ) -> dict[str, float]:
        """Price hour ``hour`` of ``day``: the hourly-table columns :data:`ENERGY_HOURLY_COLUMNS`.

        ``energy_cost`` is the net cost, USD: bought x buy price - sold x sell price.
        """
        k = day * self.hours + hour
        imp, exp = hour_grid_energy(flows, follow)
        s = settle_energy(imp, exp, self.buy[k], self.sell[k], self.metering)
        return {
            "energy_price": float(self.buy[k]), "energy_sell_price": float(self.sell[k]),
            "energy_bought_kwh": float(s.bought_kwh), "energy_sold_kwh": float(s.sold_kwh),
            "energy_cost": float(s.net_cost),
        }

"""Energy settlement of a site or aggregator per time slot (:func:`settle_energy`).

Per slot ``k`` of length Δ, given the energy drawn from the grid ``I_k`` and fed into it ``X_k``
(kWh, both >= 0, measured at the grid connection) and the buy and sell prices ``c^+_k``,
``c^-_k`` (currency/kWh):

* ``metering = "net"`` (one meter or one balance position per slot; seed 004's day-ahead cost
  models.md §5.1 (7), ``J_DAM = Σ_k Δ(c^+_k [P_k]^+ - c^-_k [P_k]^-)`` with ``Δ P_k = I_k - X_k``):
  ``bought_k = [I_k - X_k]^+``, ``sold_k = [I_k - X_k]^-``;
* ``metering = "gross"`` (import and export metered and priced separately within the slot):
  ``bought_k = I_k``, ``sold_k = X_k``;

``cost_k = c^+_k bought_k``, ``revenue_k = c^-_k sold_k``, ``net_cost_k = cost_k - revenue_k``
(seed 002's unit cost (9), §3.2, and seed 003's purchase cost ``C^buy``, §4.2 (O), are the same
sums). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["METERING", "EnergySettlement", "settle_energy"]

#: Allowed metering rules.
METERING = ("net", "gross")


@dataclass(frozen=True)
class EnergySettlement:
    """Energy bought and sold and their money, per slot (arrays of the broadcast input shape).

    Attributes:
        bought_kwh: energy bought from the grid (kWh).
        sold_kwh: energy sold to the grid (kWh).
        cost: money paid for ``bought_kwh`` (currency of the prices).
        revenue: money received for ``sold_kwh``.
        net_cost: ``cost - revenue``.
    """

    bought_kwh: NDArray[np.float64]
    sold_kwh: NDArray[np.float64]
    cost: NDArray[np.float64]
    revenue: NDArray[np.float64]
    net_cost: NDArray[np.float64]

    def totals(self) -> dict[str, float]:
        """Sums over all slots: ``bought_kwh``, ``sold_kwh``, ``cost``, ``revenue``, ``net_cost``."""
        return {k: float(np.sum(getattr(self, k)))
                for k in ("bought_kwh", "sold_kwh", "cost", "revenue", "net_cost")}


def settle_energy(import_kwh: ArrayLike, export_kwh: ArrayLike, buy_price: ArrayLike,
                  sell_price: ArrayLike, metering: Literal["net", "gross"] = "net"
                  ) -> EnergySettlement:
    """Settle the energy of each slot (module docstring for the rule).

    Args:
        import_kwh: energy drawn from the grid per slot, kWh (>= 0).
        export_kwh: energy fed into the grid per slot, kWh (>= 0).
        buy_price: price of energy bought per slot, currency/kWh.
        sell_price: price of energy sold per slot, currency/kWh.
        metering: ``"net"`` or ``"gross"``.

    Returns:
        Per-slot quantities (the inputs broadcast to one shape).

    Raises:
        ValueError: negative or non-finite energies, non-finite prices, shapes that do not
            broadcast, or an unknown metering rule.
    """
    if metering not in METERING:
        raise ValueError(f"unknown metering {metering!r}; allowed: {', '.join(METERING)}")
    try:
        imp, exp, buy, sell = np.broadcast_arrays(
            *(np.asarray(x, dtype=np.float64) for x in (import_kwh, export_kwh, buy_price,
                                                          sell_price)))
    except ValueError:
        raise ValueError("import, export and prices must broadcast to one shape") from None
    for name, a in (("import_kwh", imp), ("export_kwh", exp)):
        if not np.all(np.isfinite(a)) or (a < 0).any():
            raise ValueError(f"{name} must be finite and >= 0")
    for name, a in (("buy_price", buy), ("sell_price", sell)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
    if metering == "net":
        net = imp - exp
        bought, sold = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    else:
        bought, sold = imp.copy(), exp.copy()
    cost, revenue = buy * bought, sell * sold
    return EnergySettlement(bought_kwh=bought, sold_kwh=sold, cost=cost, revenue=revenue,
                            net_cost=cost - revenue)

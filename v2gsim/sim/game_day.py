"""The end of a day of the seed-001 game in the loop: payoffs, imitation, the grid company's update.

:class:`GameDay` keeps, hour by hour, what each EV did that the realized payoffs need (``[game]
payoffs = "realized"``, :func:`v2gsim.game.realized_payoffs.fleet_ev_payoffs`): its charged and
discharged grid energy (kWh) and the rebates it received ($). :meth:`GameDay.close` computes the
drivers' payoffs (the seed's lump sums (4)/(5), or those of what happened), lets the grid company
update and the drivers imitate, and returns the daily table's game columns.
"""

from __future__ import annotations

import numpy as np

from v2gsim.core.schedule import BaseSchedule
from v2gsim.game.realized_payoffs import fleet_ev_payoffs, realized_ev_payoffs
from v2gsim.sim.agents.driver import DriverPopulation
from v2gsim.sim.agents.grid_company import GridCompanyAgent
from v2gsim.sim.day import GAME_COLUMNS
from v2gsim.specs.run import GameSpec

__all__ = ["GameDay"]


class GameDay:
    """One day's record of the fleet for the game's payoffs (module docstring).

    Args:
        spec: the game's settings.
        fleet_size: number of EVs M.
    """

    def __init__(self, spec: GameSpec, fleet_size: int) -> None:
        self.spec = spec
        self.realized = spec.payoffs == "realized"
        self.charged_kwh = np.zeros(fleet_size)
        self.discharged_kwh = np.zeros(fleet_size)
        self.rebates_usd = np.zeros(fleet_size)

    def peak_schedule(self, strategies: np.ndarray, pg_cooperates, hours: int,
                      discharge_kw: np.ndarray) -> BaseSchedule | None:
        """The grid company's peak-discharge program of the day (``[game] peak_hours``; ours).

        Every cooperating driver matched with a cooperating grid company is asked to discharge
        ``E_d`` over the peak hours, ``E_d / n`` kWh in each of the ``n`` hours (at most its
        discharge limit); it has no plan in the other hours (baseline charging). None without a
        program or without such a driver.

        Args:
            strategies: (M,) True = cooperate.
            pg_cooperates: the grid company's realized action(s), a bool or one per driver.
            hours: hours of the day.
            discharge_kw: (M,) each EV's discharge limit (kW, grid side; 0 when not V2G).
        """
        peak = list(self.spec.peak_hours)
        if not peak:
            return None
        s = np.asarray(strategies, dtype=bool)
        ev = np.flatnonzero(s & np.broadcast_to(np.asarray(pg_cooperates, dtype=bool), s.shape))
        if ev.size == 0:
            return None
        power = np.full((ev.size, hours), np.nan)
        rate = float(self.spec.params["E_d"]) / len(peak)
        power[:, peak] = -np.minimum(rate, np.asarray(discharge_kw, dtype=float)[ev])[:, None]
        return BaseSchedule(ev=ev, power_kw=power, slot_minutes=60)

    def start(self) -> None:
        """A new day: nothing exchanged yet."""
        for a in (self.charged_kwh, self.discharged_kwh, self.rebates_usd):
            a.fill(0.0)

    def add_hour(self, grid_kwh: np.ndarray, rebate_usd: float, plugged: np.ndarray) -> None:
        """Add one settled hour: each EV's grid energy (kWh, + = import) and the rebate per plugged
        EV-hour ($) of the hour."""
        if not self.realized:
            return
        g = np.asarray(grid_kwh, dtype=float)
        self.charged_kwh += np.maximum(g, 0.0)
        self.discharged_kwh += np.maximum(-g, 0.0)
        self.rebates_usd += rebate_usd * np.asarray(plugged, dtype=float)

    def close(self, population: DriverPopulation, gc: GridCompanyAgent, pg_actions) -> dict[str, float]:
        """End of day: payoffs, the grid company's update, the drivers' imitation; the game columns."""
        g = self.spec
        if self.realized:
            payoffs = fleet_ev_payoffs(population.strategies, pg_actions, gc.day_params(), self.charged_kwh,
                                       self.discharged_kwh, self.rebates_usd * g.yuan_per_usd)
        else:
            payoffs = realized_ev_payoffs(population.strategies, pg_actions, gc.day_params())
        gc.update(population.cooperation_share, float(payoffs.mean()))
        population.imitate(payoffs, g.imitation, g.imitation_rate, delta_max=gc.delta_max,
                           beta=g.fermi_beta, mutation=g.mutation)
        state = gc.state()
        return {k: state[k] for k in GAME_COLUMNS}

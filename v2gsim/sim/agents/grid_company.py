"""GridCompanyAgent: the power-grid company of seed 001, publishing the discharge price.

Thin: the state and every rule live in the pure modules. :class:`~v2gsim.game.price_dynamics.
GridCompanyState` holds the price mixture ``q`` and the cooperation share ``y`` and updates them
(exponential weights on the price fitness, replicator step (11)); :mod:`v2gsim.game.mean_field`
fixes the replicator time per day ``dt`` that matches the drivers' imitation rule, and the payoff
bound ``delta_max`` that proportional imitation needs (:mod:`v2gsim.game.realized_payoffs`); the
agent computes both once, so drivers and grid company run on the same clock.

Day protocol (phase 2 of ``V2GMarketModel.step``): :meth:`open_day` (:meth:`publish_price`, then
:meth:`realized_pg_cooperates`: one action for the day, or one per driver), and after the drivers'
payoffs are known :meth:`update` with the day's realized EV cooperation share.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from v2gsim.game.mean_field import replicator_dt_per_day
from v2gsim.game.params import GameParams
from v2gsim.game.payoffs import mean_payoff_pg
from v2gsim.game.price_dynamics import GridCompanyState, PriceMode, Response, price_grid
from v2gsim.game.realized_payoffs import payoff_gap_bound, sample_pg_actions

if TYPE_CHECKING:
    from v2gsim.specs.run import GameSpec

__all__ = ["GridCompanyAgent"]


class GridCompanyAgent(mesa.Agent):
    """The grid company (PG): discharge price, cooperation share, replicator step.

    Args:
        model: the Mesa model.
        cfg: the game's settings; ``cfg.price_response`` is the EV response the price fitness
            anticipates (``"replicator"``: (7); ``"participation"``: condition (16)) and
            ``cfg.price_mode`` ``"sample"`` (publish ``p_k ~ q``) or ``"mean"`` (its mean).
        rng: the agent's generator (price draws and PG actions).

    Attributes:
        params: game parameters (the scenario's ``p_d`` is not used: the price comes from ``q``).
        prices: the price grid (yuan/kWh).
        delta_max: payoff-difference bound of proportional imitation over the grid (yuan).
        dt: replicator time units per day (``rate / delta_max`` or ``rate * beta / 2``).
        dynamics: the pure state (``q``, ``y``, price in force).
    """

    def __init__(self, model: mesa.Model, cfg: GameSpec, rng: np.random.Generator):
        super().__init__(model)
        self.cfg = cfg
        self._rng = rng
        self.params = GameParams.from_mapping(cfg.params)
        self.prices = price_grid(*cfg.price_grid)
        self.delta_max = payoff_gap_bound(self.params, self.prices)
        self.dt = replicator_dt_per_day(cfg.imitation, cfg.imitation_rate,
                                        delta_max=self.delta_max, beta=cfg.fermi_beta)
        response: Response = cfg.price_response  # type: ignore[assignment]
        mode: PriceMode = cfg.price_mode  # type: ignore[assignment]
        self.dynamics = GridCompanyState.uniform(self.prices, cfg.y0, self.params, self.dt,
                                                 response=response, mode=mode)
        self._last: dict[str, float] = {"x": math.nan, "pg_payoff": math.nan,
                                        "ev_payoff_mean": math.nan, "pg_cooperates": math.nan}

    @property
    def y(self) -> float:
        """PG cooperation share in force (-)."""
        return self.dynamics.y

    @property
    def q(self) -> np.ndarray:
        """Mixed strategy over :attr:`prices` (-)."""
        return self.dynamics.q

    @property
    def price(self) -> float:
        """Discharge price in force today (yuan/kWh); NaN before the first publication."""
        return self.dynamics.price

    def publish_price(self) -> float:
        """Publish (and return) today's discharge price (yuan/kWh)."""
        return self.dynamics.publish(self._rng)

    def day_params(self) -> GameParams:
        """Game parameters with ``p_d`` = the price in force (for the drivers' payoffs (4), (5))."""
        return self.params.replace(p_d=self.price)

    def realized_pg_cooperates(self, size: int | None = None) -> bool | np.ndarray:
        """The PG's realized action(s), Bernoulli(y) with the agent's generator.

        Args:
            size: None for one action for the whole day (a bool shared by all drivers); an int
                ``M`` for one matched action per driver (random matching; the agent-level shares
                then converge to the mean field as ``M`` grows).
        """
        if size is None:
            coop = bool(sample_pg_actions(self.y, self._rng))
            self._last["pg_cooperates"] = float(coop)
            return coop
        acts = sample_pg_actions(self.y, self._rng, size=int(size))
        self._last["pg_cooperates"] = float(acts.mean()) if acts.size else math.nan
        return acts

    def open_day(self, fleet_size: int) -> bool | np.ndarray:
        """Phase 2: publish today's price and realize the PG's cooperation (per driver or per day)."""
        self.publish_price()
        size = fleet_size if self.cfg.pg_matching == "per_driver" else None
        return self.realized_pg_cooperates(size=size)

    def update(self, x_realized: float, ev_payoff_mean: float = math.nan) -> None:
        """End of day: update ``q`` and ``y`` from the day's realized EV cooperation share.

        Args:
            x_realized: share of drivers that cooperated today (-).
            ev_payoff_mean: the drivers' mean realized payoff (yuan), recorded in :meth:`state`.
        """
        if math.isnan(self.price):
            raise RuntimeError("GridCompanyAgent.update() before publish_price(): no price in force")
        y_day = self.y
        self._last.update(x=float(x_realized), ev_payoff_mean=float(ev_payoff_mean),
                          pg_payoff=float(mean_payoff_pg(x_realized, y_day, self.day_params())))
        self.dynamics.update(float(x_realized))

    def state(self) -> dict[str, float]:
        """Row for the model's daily table.

        Keys: ``x`` (last realized EV share), ``y`` (PG share now in force), ``price`` (price in
        force, yuan/kWh), ``price_mean``/``price_std`` (of ``q`` now in force, yuan/kWh),
        ``pg_payoff`` (PG mean payoff (10) of the last day at the realized ``x``, yuan),
        ``ev_payoff_mean`` (yuan), ``pg_cooperates`` (last realized PG action, or the share of
        cooperating matches).
        """
        mean, std = self.dynamics.moments()
        return {"x": self._last["x"], "y": self.y, "price": self.price, "price_mean": mean,
                "price_std": std, "pg_payoff": self._last["pg_payoff"],
                "ev_payoff_mean": self._last["ev_payoff_mean"],
                "pg_cooperates": self._last["pg_cooperates"]}

    def summary(self) -> dict[str, Any]:
        """Static description (grid, time scale) for the run summary."""
        return {"prices": self.prices.tolist(), "delta_max": self.delta_max, "dt": self.dt,
                "response": self.dynamics.response, "price_mode": self.dynamics.mode}

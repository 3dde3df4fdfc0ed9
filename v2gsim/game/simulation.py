"""Agent-level day loops of the discharge-price game (seed 001), vectorised over replications.

Two closed loops share one drivers' day (:func:`drivers_day`): the PG acts, drivers earn their
realized payoffs (4)/(5) (:mod:`v2gsim.game.realized_payoffs`), the realized cooperator share
``x`` is recorded and drivers revise by imitation (:mod:`v2gsim.game.imitation`).

* :func:`simulate_imitation_game`: at the fixed price ``params.p_d``; the PG updates its share by
  one replicator step of (11) per day.
* :func:`simulate_price_game`: the PG also learns the price, as in
  :class:`~v2gsim.game.price_dynamics.GridCompanyState`.

The replicator time per day ``dt`` comes from :func:`v2gsim.game.mean_field.replicator_dt_per_day`,
so the agent-level shares follow the mean field of :mod:`v2gsim.game.mean_field`. Equation numbers
refer to ``docs/models.md`` §2.2; money in yuan, prices in yuan/kWh, time in days. No Mesa (the
model's own day loop is :class:`v2gsim.sim.model.V2GMarketModel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.imitation import Rule, imitation_step, initial_strategies
from v2gsim.game.mean_field import replicator_dt_per_day
from v2gsim.game.params import GameParams, as_params
from v2gsim.game.price_dynamics import (
    PriceMode,
    Response,
    exponential_weights,
    price_fitness,
    price_moments,
    publish_price,
    update_pg_share,
)
from v2gsim.game.realized_payoffs import payoff_gap_bound, realized_ev_payoffs, sample_pg_actions
from v2gsim.game.replicator import pg_share_step

__all__ = [
    "ImitationRun",
    "PgDraw",
    "PriceGameRun",
    "drivers_day",
    "simulate_imitation_game",
    "simulate_price_game",
]

#: How the PG's daily actions are drawn: one per driver (``"matched"``) or one per replication.
PgDraw = Literal["matched", "common"]


def drivers_day(
    strategies: NDArray[np.bool_],
    y: NDArray[np.float64],
    params: GameParams,
    rng: np.random.Generator,
    *,
    rule: Rule,
    rate: float,
    delta_max: float | None,
    beta: float | None,
    pg_draw: PgDraw,
    noise_sd: float,
    p_d: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """One day of ``R`` driver populations: PG actions, realized payoffs, revision.

    The PG acts (``"common"``: one Bernoulli(y) draw per replication shared by all drivers;
    ``"matched"``: one draw per driver), drivers earn :func:`realized_ev_payoffs` (at the price
    ``p_d``, default ``params.p_d``), the realized share is taken, and drivers revise by ``rule``
    (:func:`~v2gsim.game.imitation.imitation_step`).

    Args:
        strategies: bool ``(R, M)``, True = cooperate.
        y: PG cooperation share of each replication, ``(R,)``.
        params: game parameters.
        rng: generator (draws in the order PG actions, payoff noise, revision).
        rule: imitation rule.
        rate: per-day revision probability.
        delta_max: proportional bound ``D`` (yuan).
        beta: Fermi selection intensity (1/yuan).
        pg_draw: ``"matched"`` or ``"common"``.
        noise_sd: idiosyncratic payoff noise (yuan).
        p_d: price in force per replication, ``(R, 1)`` (yuan/kWh); default ``params.p_d``.

    Returns:
        ``(x, strategies)``: the day's realized cooperator share ``(R,)`` (before revision) and the
        revised strategies.
    """
    size = strategies.shape if pg_draw == "matched" else (strategies.shape[0], 1)
    pg = sample_pg_actions(y[:, None], rng, size=size)
    pi = realized_ev_payoffs(strategies, pg, params, rng, noise_sd=noise_sd, p_d=p_d)
    x = strategies.mean(axis=-1)
    return x, imitation_step(strategies, pi, rule, rate, rng, delta_max=delta_max, beta=beta)


# ----------------------------------------------------------------------------------------------
# Agent-level simulation of the game at a fixed price (drivers + the PG's replicator step)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImitationRun:
    """Paths of :func:`simulate_imitation_game`.

    Attributes:
        x: realized cooperator share, shape ``(R, days + 1)`` (day 0 = initial).
        y: PG cooperation share, shape ``(R, days + 1)``.
        dt: replicator time per day (so day ``n`` is replicator time ``n * dt``).
        delta_max: the bound ``D`` used by proportional imitation (yuan), or None.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    dt: float
    delta_max: float | None


def simulate_imitation_game(
    params: GameParams | Mapping[str, Any],
    m: int,
    days: int,
    rule: Rule,
    rate: float,
    rng: np.random.Generator,
    *,
    x0: float = 0.5,
    y0: float = 0.5,
    replications: int = 1,
    beta: float | None = None,
    delta_max: float | None = None,
    pg_draw: PgDraw = "matched",
    noise_sd: float = 0.0,
) -> ImitationRun:
    """Agent-level day loop of the game at the fixed price ``params.p_d``, for R replications at once.

    Each day: the PG acts (``"common"``: one Bernoulli(y) draw per replication shared by all
    drivers; ``"matched"``: one draw per driver), drivers earn :func:`realized_ev_payoffs`, the
    realized share ``x`` is recorded, drivers revise by ``rule``, and the PG updates
    ``y <- clip(y + dt * ydot(x, y))`` (one replicator step of (11) from the day's realized ``x``,
    ``dt`` = :func:`replicator_dt_per_day`).

    Args:
        params: game parameters.
        m: drivers per replication.
        days: number of simulated days.
        rule: ``"proportional"`` or ``"fermi"``.
        rate: per-day revision probability.
        rng: generator (the only source of randomness).
        x0: initial cooperator share (exactly ``round(x0 m)`` cooperators).
        y0: initial PG cooperation share.
        replications: independent populations simulated together (batch axis).
        beta: Fermi selection intensity (1/yuan).
        delta_max: proportional bound ``D`` (yuan); default :func:`payoff_gap_bound` at ``p_d``.
        pg_draw: ``"matched"`` or ``"common"`` (see above).
        noise_sd: idiosyncratic payoff noise (yuan).

    Returns:
        :class:`ImitationRun`.
    """
    p = as_params(params)
    if rule == "proportional" and delta_max is None:
        delta_max = payoff_gap_bound(p)
    dt = replicator_dt_per_day(rule, rate, delta_max=delta_max, beta=beta)
    if pg_draw not in ("matched", "common"):
        raise ValueError(f"pg_draw must be 'matched' or 'common', got {pg_draw!r}")
    s = initial_strategies(m, x0, rng, batch=(replications,))
    y = np.full(replications, float(y0))
    xs = np.empty((replications, days + 1))
    ys = np.empty((replications, days + 1))
    xs[:, 0] = s.mean(axis=-1)
    ys[:, 0] = y
    for n in range(days):
        x_today, s = drivers_day(s, y, p, rng, rule=rule, rate=rate, delta_max=delta_max, beta=beta,
                                 pg_draw=pg_draw, noise_sd=noise_sd)
        y = pg_share_step(x_today, y, p, dt)
        xs[:, n + 1] = s.mean(axis=-1)
        ys[:, n + 1] = y
    return ImitationRun(x=xs, y=ys, dt=dt, delta_max=delta_max)


# ----------------------------------------------------------------------------------------------
# Closed loop: drivers imitate, the grid company learns price and share
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceGameRun:
    """Paths of :func:`simulate_price_game`, each ``(R, days)`` unless noted.

    Attributes:
        x: realized EV cooperation share of each day.
        y: PG share in force each day.
        price: published price (yuan/kWh).
        price_mean: mean of ``q`` in force (yuan/kWh).
        price_std: standard deviation of ``q`` in force (yuan/kWh).
        q_final: ``q`` after the last day, ``(R, K)``.
        prices: the grid ``(K,)``.
        dt: replicator time per day.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    price: NDArray[np.float64]
    price_mean: NDArray[np.float64]
    price_std: NDArray[np.float64]
    q_final: NDArray[np.float64]
    prices: NDArray[np.float64]
    dt: float


def simulate_price_game(
    params: GameParams | Mapping[str, Any],
    prices: ArrayLike,
    m: int,
    days: int,
    rule: Rule,
    rate: float,
    rng: np.random.Generator,
    *,
    x0: float = 0.5,
    y0: float = 0.5,
    replications: int = 1,
    beta: float | None = None,
    response: Response = "replicator",
    mode: PriceMode = "sample",
    pg_draw: PgDraw = "matched",
    eta: float | None = None,
    noise_sd: float = 0.0,
) -> PriceGameRun:
    """Closed loop of ``R`` independent markets: price learning + PG share + imitating drivers.

    Day loop: the PG publishes ``p ~ q`` (or the mean); PG actions are drawn from ``y``; drivers
    earn :func:`~v2gsim.game.realized_payoffs.realized_ev_payoffs` at ``p``; the realized share ``x`` is
    recorded; drivers revise by ``rule`` (proportional with ``D`` = the bound over the whole grid);
    the PG updates ``q`` (exponential weights of :func:`~v2gsim.game.price_dynamics.price_fitness`)
    and ``y`` (11). The same order as :class:`~v2gsim.game.price_dynamics.GridCompanyState`,
    vectorised over markets.

    Args:
        params: game parameters (``p_d`` unused).
        prices: price grid (yuan/kWh).
        m: drivers per market.
        days: simulated days.
        rule: imitation rule.
        rate: per-day revision probability.
        rng: generator.
        x0: initial EV cooperation share.
        y0: initial PG share.
        replications: number of independent markets ``R``.
        beta: Fermi selection intensity (1/yuan).
        response: EV response anticipated by the PG.
        mode: published price from ``q``.
        pg_draw: ``"matched"`` (a PG action per driver) or ``"common"`` (one per market and day).
        eta: price learning rate (default: the replicator ``dt``).
        noise_sd: idiosyncratic EV payoff noise (yuan).
    """
    p = as_params(params)
    pr = np.asarray(prices, dtype=float)
    delta_max = payoff_gap_bound(p, pr) if rule == "proportional" else None
    dt = replicator_dt_per_day(rule, rate, delta_max=delta_max, beta=beta)
    eta = dt if eta is None else float(eta)
    r = int(replications)
    q = np.full((r, pr.size), 1.0 / pr.size)
    y = np.full(r, float(y0))
    s = initial_strategies(m, x0, rng, batch=(r,))
    out = {k: np.empty((r, days)) for k in ("x", "y", "price", "price_mean", "price_std")}
    for n in range(days):
        price = publish_price(pr, q, rng, mode)
        mean, std = price_moments(pr, q)
        x, s = drivers_day(s, y, p, rng, rule=rule, rate=rate, delta_max=delta_max, beta=beta,
                           pg_draw=pg_draw, noise_sd=noise_sd, p_d=price[:, None])
        for key, val in (("x", x), ("y", y), ("price", price), ("price_mean", mean),
                         ("price_std", std)):
            out[key][:, n] = val
        q = exponential_weights(q, price_fitness(pr, x, y, p, response), eta)
        y = update_pg_share(y, x, price, p, dt)
    return PriceGameRun(q_final=q, prices=pr, dt=dt, **out)

"""The grid company's (PG's) state in the discharge-price game: a mixed price strategy and its share y.

Seed 001 (Lin, Feng & Lu 2020; ``docs/models.md`` §2) fixes the discharge price ``p_d`` and
studies the replicator dynamics (7), (11). In the agent-based model the grid company also *learns*
the price. Its state is

* ``q``: a mixed strategy (probability vector) over a grid of discharge prices ``p_k`` (yuan/kWh,
  :func:`price_grid` from the scenario's ``price_grid = [low, high, step]``);
* ``y``: the PG cooperation share (probability that the PG accepts discharge), as in (11).

Each day the PG **publishes** a price (:func:`publish_price`: by default it *draws* ``p_k ~ q``,
which is what playing a mixed strategy means and makes ``price_std`` the real day-to-day
dispersion; ``mode="mean"`` publishes the mean of ``q`` instead, an off-grid price. Both give the
same expected dynamics, because the payoffs (4), (8) are linear in ``p_d``). After the day it
**updates** from the day's realized EV cooperation share ``x``:

(i) ``y <- clip(y + dt * y (1 - y) (S_PG1(x; p) - U_PG))``: one explicit replicator step of (11)
    at the price ``p`` in force (the PG half of
    :func:`v2gsim.game.replicator.replicator_step`); ``S_PG1`` is (8) at the realized ``x``.

(ii) ``q_k <- q_k exp(eta f_k) / sum_j q_j exp(eta f_j)``: exponential weights, i.e. the exact
    solution over one day of the continuous replicator dynamics ``dq_k/dt = q_k (f_k - f_bar)``
    with the fitness ``f`` frozen during the day. By default ``eta = dt``, so prices and
    cooperation shares evolve on the same replicator clock.

Price fitness (the rule, and why)
---------------------------------
Scoring a price by the PG's payoff (8) at the realized ``x`` alone is self-defeating: (8)
decreases in ``p_d``, so the PG would slide to the bottom of the grid, below ``L_B``, where (7)
drives EVs out. Nor can a one-step look-ahead of (7) from the realized ``x`` fix this: the
replicator field vanishes at ``x = 1`` whatever the price (``x(1-x)`` factor), and imitation
without mutation never leaves an all-cooperator population, so the realized share carries no
information about the EVs' response exactly where it matters. The PG must reason about the EVs'
*incentive* instead. The chosen fitness anticipates the EV population's full response at the PG's
current reliability ``y``:

    g_k = S_EV1(y; p_k) - S_EV2 = y E_d (p_k - L_B) - (1 - y) L_EV          ((4) - (5); sign of (7))
    x_k = 1 if g_k > 0,  0 if g_k < 0,  x if g_k = 0                      (limit of (7) at fixed y)
    f_k = y S_PG1(x_k; p_k) + (1 - y) U_PG                                 ((10) at (x_k, y), yuan)

so a price "pays" only if it keeps EVs cooperating; among those, cheaper prices pay more. This
is parameter-free and equals the ``H -> inf`` limit of scoring by (10) after an ``H``-long
look-ahead of (7) at fixed ``y`` from an interior ``x``. With ``y`` fixed, ``g_k > 0`` iff
``p_k > p_hat(y) = L_B + (1 - y) L_EV / (y E_d)`` (:func:`threshold_price`): the PG pays just
enough to make cooperation worth it given how often it itself cooperates.

Option ``response="participation"`` replaces ``S_EV2`` by ``U_EV``: EVs are assumed to require
the individual-rationality condition (16) (cooperating beats the "normal income"), so
``p_hat(1) = L_B + E_c (p_c + L_B) / E_d`` = the price of point E (the seed's price floor). This
PG is more cautious than the replicator EVs of (7) require (models.md §2.2 flag: the seed's floor
is an IR range, not the ESS range).

Fixed points (documented and tested)
------------------------------------
* For frozen ``(x, y)``, ``q`` is a fixed point of (ii) iff ``f`` is constant on ``supp(q)``;
  from a full-support ``q`` (uniform by default), ``q`` converges geometrically to ``q(0)``
  restricted to ``argmax_k f_k`` and renormalised (ratio ``q_k/q_j`` decays like
  ``exp(-eta t (f_j - f_k))``). Ties only occur for prices on the same side of ``p_hat`` with
  ``g = 0`` or when ``y = 0`` (all ``f_k = U_PG``: no learning; the PG that never cooperates has
  no price experience).
* Joint fixed point at full cooperation C(1, 1): ``q = delta_{k*}`` with ``p_{k*}`` the lowest
  grid price above ``p_hat(1)`` (``L_B`` for the replicator response), :func:`fixed_point_price`.
  It is a stable rest point of (7), (11) and the price learning iff ``p_{k*}`` also satisfies
  the PG side of C's stability, ``E_d (E_G - p - P_PG) > E_c P_PG`` (models.md §2.2): then it is
  the lowest grid price that keeps C stable. Prices above ``p_{k*}`` are dominated; prices below
  it lose the EVs.
* O(0, 0) with any ``q``: a continuum of rest points (at ``y = 0`` nothing is learnt).

The closed loop with imitating drivers, vectorised over markets, is
:func:`v2gsim.game.simulation.simulate_price_game`. Equation numbers refer to
``docs/models.md`` §2.2. Pure numpy (no Mesa); vectorised over a leading batch axis of
independent grid companies where stated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams, as_params

__all__ = [
    "GridCompanyState",
    "PriceMode",
    "Response",
    "anticipated_ev_share",
    "ev_incentive",
    "exponential_weights",
    "fixed_point_price",
    "pg_advantage",
    "price_fitness",
    "price_grid",
    "price_moments",
    "publish_price",
    "threshold_price",
    "update_pg_share",
]

#: How the PG anticipates the EVs' response to a price (see the module docstring).
Response = Literal["replicator", "participation"]
#: How the published price is obtained from ``q``.
PriceMode = Literal["sample", "mean"]


def price_grid(low: float, high: float, step: float) -> NDArray[np.float64]:
    """The discharge prices ``low, low + step, ...`` up to ``high`` inclusive (yuan/kWh).

    ``high`` is included when it lies on the grid up to a relative rounding tolerance of 1e-9
    steps; the points are computed as ``low + k step`` (no accumulated rounding).

    Raises:
        ValueError: unless ``0 <= low <= high`` and ``step > 0``.
    """
    if not (0.0 <= low <= high and step > 0):
        raise ValueError(f"price grid needs 0 <= low <= high and step > 0; got {low}, {high}, {step}")
    n = math.floor((high - low) / step + 1e-9) + 1
    return low + step * np.arange(n, dtype=float)


def price_moments(prices: ArrayLike, q: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and standard deviation of the price distribution ``q`` over ``prices`` (yuan/kWh).

    Args:
        prices: grid ``(K,)``.
        q: probabilities ``(..., K)`` (each row sums to 1).

    Returns:
        ``(mean, std)`` with shape ``q.shape[:-1]`` (0-d arrays for a single ``q``).
    """
    pr = np.asarray(prices, dtype=float)
    q = np.asarray(q, dtype=float)
    mean = q @ pr
    var = q @ (pr**2) - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def publish_price(
    prices: ArrayLike, q: ArrayLike, rng: np.random.Generator | None = None, mode: PriceMode = "sample"
) -> NDArray[np.float64]:
    """The price in force today (yuan/kWh).

    Args:
        prices: grid ``(K,)``.
        q: probabilities ``(..., K)``.
        rng: generator (required for ``mode="sample"``).
        mode: ``"sample"``: draw ``p_k ~ q`` (one draw per row, by inverse CDF); ``"mean"``: the
            mean of ``q``.

    Returns:
        Array of shape ``q.shape[:-1]``.
    """
    pr = np.asarray(prices, dtype=float)
    q = np.asarray(q, dtype=float)
    if mode == "mean":
        return price_moments(pr, q)[0]
    if mode != "sample":
        raise ValueError(f"mode must be 'sample' or 'mean', got {mode!r}")
    if rng is None:
        raise ValueError("publish_price(mode='sample') needs rng")
    cdf = np.cumsum(q, axis=-1)
    u = rng.random(q.shape[:-1]) * cdf[..., -1]
    k = np.minimum((cdf <= u[..., None]).sum(axis=-1), pr.size - 1)
    return pr[k]


def ev_incentive(
    prices: ArrayLike, y: ArrayLike, params: GameParams | Mapping[str, Any], response: Response = "replicator"
) -> NDArray[np.float64]:
    """EV payoff advantage of cooperating at each price, given the PG share ``y`` (yuan).

    ``replicator``: ``S_EV1(y; p) - S_EV2 = y E_d (p - L_B) - (1 - y) L_EV`` ((4) - (5); the bracket
    of (7)). ``participation``: ``S_EV1(y; p) - U_EV`` (condition (16) at mixed ``y``).

    Args:
        prices: ``(K,)`` (yuan/kWh).
        y: PG share(s), shape ``(...)``.
        params: game parameters.
        response: see :data:`Response`.

    Returns:
        ``(..., K)``.
    """
    p = as_params(params)
    pr = np.asarray(prices, dtype=float)
    y = np.asarray(y, dtype=float)[..., None]
    g = y * p.E_d * (pr - p.L_B) - (1.0 - y) * p.L_EV
    if response == "participation":
        return g - p.ev_charge_cost
    if response != "replicator":
        raise ValueError(f"response must be 'replicator' or 'participation', got {response!r}")
    return g


def threshold_price(
    y: float, params: GameParams | Mapping[str, Any], response: Response = "replicator"
) -> float:
    """Price ``p_hat(y)`` at which :func:`ev_incentive` vanishes (yuan/kWh); inf for ``y = 0``.

    ``replicator``: ``L_B + (1 - y) L_EV / (y E_d)`` (``= L_B`` at ``y = 1``; ``y_D`` of (15)
    inverted). ``participation``: ``L_B + (E_c (p_c + L_B) + (1 - y) L_EV) / (y E_d)`` (``= p_E`` at
    ``y = 1``, point E of Fig. 2).
    """
    p = as_params(params)
    if y <= 0 or p.E_d == 0:
        return math.inf
    extra = p.ev_charge_cost if response == "participation" else 0.0
    if response not in ("replicator", "participation"):
        raise ValueError(f"response must be 'replicator' or 'participation', got {response!r}")
    return p.L_B + (extra + (1.0 - y) * p.L_EV) / (y * p.E_d)


def anticipated_ev_share(
    prices: ArrayLike, x: ArrayLike, y: ArrayLike, params: GameParams | Mapping[str, Any],
    response: Response = "replicator",
) -> NDArray[np.float64]:
    """Limit share of cooperating EVs under (7) at fixed ``y``: 1, 0, or ``x`` when indifferent.

    Args:
        prices: ``(K,)`` (yuan/kWh).
        x: realized cooperator share(s), shape ``(...)`` (used only at ties).
        y: PG share(s), shape ``(...)``.
        params: game parameters.
        response: see :data:`Response`.

    Returns:
        ``(..., K)``.
    """
    g = ev_incentive(prices, y, params, response)
    x = np.asarray(x, dtype=float)[..., None]
    return np.where(g > 0, 1.0, np.where(g < 0, 0.0, np.broadcast_to(x, g.shape)))


def pg_advantage(x: ArrayLike, p_d: ArrayLike, params: GameParams | Mapping[str, Any]) -> NDArray[np.float64]:
    """``S_PG1(x; p_d) - U_PG = b(p_d) x - c`` of (8) - (9) (yuan), the bracket of (11).

    ``b(p) = E_d (E_G - p - P_PG) + L_PG``, ``c = E_c P_PG + L_PG``; broadcasts ``x`` and ``p_d``.
    """
    p = as_params(params)
    x = np.asarray(x, dtype=float)
    b = p.pg_discharge_margin(p_d) + p.L_PG
    return b * x - p.c


def price_fitness(
    prices: ArrayLike, x: ArrayLike, y: ArrayLike, params: GameParams | Mapping[str, Any],
    response: Response = "replicator",
) -> NDArray[np.float64]:
    """Fitness of each price: the PG's mean payoff (10) at the anticipated EV share (yuan).

    ``f_k = U_PG + y (S_PG1(x_k; p_k) - U_PG)`` with ``x_k`` = :func:`anticipated_ev_share`.

    Returns:
        ``(..., K)`` for ``x``, ``y`` of shape ``(...)``.
    """
    p = as_params(params)
    pr = np.asarray(prices, dtype=float)
    xk = anticipated_ev_share(pr, x, y, p, response)
    y = np.asarray(y, dtype=float)[..., None]
    return p.U_PG + y * pg_advantage(xk, pr, p)


def exponential_weights(q: ArrayLike, fitness: ArrayLike, eta: float) -> NDArray[np.float64]:
    """``q_k exp(eta f_k) / sum_j q_j exp(eta f_j)`` along the last axis (shift-stable).

    The exact one-step solution of the replicator dynamics ``dq_k/dt = q_k (f_k - f_bar)`` over a
    time ``eta`` with frozen fitness ``f`` (yuan; ``eta`` in replicator time units = 1/yuan).
    """
    q = np.asarray(q, dtype=float)
    f = np.asarray(fitness, dtype=float)
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta!r}")
    z = eta * f
    z = z - np.max(z, axis=-1, keepdims=True)
    w = q * np.exp(z)
    return w / w.sum(axis=-1, keepdims=True)


def update_pg_share(
    y: ArrayLike, x: ArrayLike, p_d: ArrayLike, params: GameParams | Mapping[str, Any], dt: float
) -> NDArray[np.float64]:
    """One explicit replicator step of (11) at price ``p_d`` from the realized EV share ``x``.

    ``clip(y + dt * y (1 - y) (S_PG1(x; p_d) - U_PG), 0, 1)``; identical to the ``y`` half of
    :func:`v2gsim.game.replicator.replicator_step` with ``params.p_d = p_d``.
    """
    if dt < 0:
        raise ValueError(f"dt must be >= 0, got {dt!r}")
    y = np.asarray(y, dtype=float)
    return np.clip(y + dt * y * (1.0 - y) * pg_advantage(x, p_d, params), 0.0, 1.0)


def fixed_point_price(
    prices: ArrayLike, params: GameParams | Mapping[str, Any], response: Response = "replicator"
) -> float:
    """Price on which ``q`` concentrates at full cooperation (x = y = 1) (yuan/kWh).

    The lowest grid price strictly above ``p_hat(1)`` (:func:`threshold_price`); NaN if there is
    none (then every price loses the EVs, all ``f_k`` are equal and ``q`` does not move). Whether
    C is then stable also needs ``E_d (E_G - p - P_PG) > E_c P_PG`` (see the module docstring).
    """
    pr = np.sort(np.asarray(prices, dtype=float))
    above = pr[pr > threshold_price(1.0, params, response)]
    return float(above[0]) if above.size else math.nan


@dataclass
class GridCompanyState:
    """Mutable state of one grid company: price mixture ``q`` and cooperation share ``y``.

    Attributes:
        prices: price grid ``(K,)`` (yuan/kWh).
        q: mixed strategy over ``prices`` ``(K,)``.
        y: PG cooperation share in [0, 1].
        params: game parameters (``p_d`` is ignored: the price comes from ``q``).
        dt: replicator time per day of the ``y`` update (11) (see
            :func:`v2gsim.game.mean_field.replicator_dt_per_day`).
        eta: learning rate of ``q`` (1/yuan per day); default ``dt``.
        response: EV response anticipated by the price fitness.
        mode: how the published price is obtained from ``q``.
        price: the price in force (set by :meth:`publish`), NaN before the first publication.
        last_fitness: the price fitness of the last :meth:`update` (yuan), or None.
    """

    prices: NDArray[np.float64]
    q: NDArray[np.float64]
    y: float
    params: GameParams
    dt: float
    eta: float | None = None
    response: Response = "replicator"
    mode: PriceMode = "sample"
    price: float = math.nan
    last_fitness: NDArray[np.float64] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.prices = np.asarray(self.prices, dtype=float)
        self.q = np.asarray(self.q, dtype=float)
        if self.q.shape != self.prices.shape:
            raise ValueError(f"q must have the shape of prices {self.prices.shape}, got {self.q.shape}")
        if np.any(self.q < 0) or not math.isclose(float(self.q.sum()), 1.0, rel_tol=1e-9):
            raise ValueError("q must be a probability vector")
        if not 0.0 <= self.y <= 1.0:
            raise ValueError(f"y must be in [0, 1], got {self.y!r}")
        if self.dt < 0:
            raise ValueError(f"dt must be >= 0, got {self.dt!r}")
        if self.eta is None:
            self.eta = self.dt
        self.params = as_params(self.params)

    @classmethod
    def uniform(cls, prices: ArrayLike, y0: float, params: GameParams | Mapping[str, Any],
                dt: float, **kwargs: Any) -> GridCompanyState:
        """A grid company with the uniform mixture over ``prices`` and share ``y0``."""
        pr = np.asarray(prices, dtype=float)
        return cls(prices=pr, q=np.full(pr.size, 1.0 / pr.size), y=float(y0),
                   params=as_params(params), dt=dt, **kwargs)

    def publish(self, rng: np.random.Generator | None = None) -> float:
        """Set and return the price in force today (yuan/kWh), see :func:`publish_price`."""
        self.price = float(publish_price(self.prices, self.q, rng, self.mode))
        return self.price

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation of ``q`` (yuan/kWh)."""
        m, s = price_moments(self.prices, self.q)
        return float(m), float(s)

    def update(self, x: float) -> None:
        """End-of-day update from the realized EV cooperation share ``x`` at the price in force.

        Both updates use the ``y`` in force during the day (simultaneous): ``q`` by exponential
        weights with :func:`price_fitness`, then ``y`` by :func:`update_pg_share`.
        """
        if math.isnan(self.price):
            raise RuntimeError("update() before publish(): no price in force")
        f = price_fitness(self.prices, x, self.y, self.params, self.response)
        self.last_fitness = f
        self.q = exponential_weights(self.q, f, float(self.eta))  # type: ignore[arg-type]
        self.y = float(update_pg_share(self.y, x, self.price, self.params, self.dt))

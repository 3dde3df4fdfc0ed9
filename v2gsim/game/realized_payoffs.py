"""The day's realized PG actions and EV payoffs of the discharge-price game (seed 001).

A population of ``M`` drivers holds strategies ``s_i`` (True = cooperate = offers V2G discharge at
the published price ``p_d``; False = does not) and earns a realized payoff ``pi_i`` each day, from
(4)/(5) of ``docs/models.md`` §2.2 with the PG's *realized* action; the drivers then revise by
imitation (:mod:`v2gsim.game.imitation`). Money in yuan. Arrays of strategies have shape
``(..., M)`` (leading axes: independent replications). No Mesa.

PG action
---------
:func:`realized_ev_payoffs` evaluates (4) with the PG's *realized* action: ``pg_cooperates`` is one
boolean for the day (a single PG decision, shared by all drivers: a common shock whose variance does
not shrink with ``M``) or an array broadcast against the strategies (each driver matched with a PG
member/feeder that cooperates with probability ``y``: random matching, the population reading of
``y``, under which the agent shares converge to the mean field as ``M`` grows). Both have the same
expected drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams, as_params
from v2gsim.game.payoffs import payoff_ev_noncoop

__all__ = ["fleet_ev_payoffs", "payoff_gap_bound", "realized_ev_payoffs", "sample_pg_actions"]


def realized_ev_payoffs(
    strategies: ArrayLike,
    pg_cooperates: bool | ArrayLike,
    params: GameParams | Mapping[str, Any],
    rng: np.random.Generator | None = None,
    *,
    noise_sd: float = 0.0,
    p_d: float | ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Each driver's realized payoff of the day from (4)/(5) (yuan).

    A cooperator earns ``S_EV1`` of (4) evaluated at ``y = 1`` if its PG counterpart cooperated
    (``U_EV + E_d p_d - E_c p_c - (E_d + E_c) L_B``) and at ``y = 0`` if not
    (``U_EV - E_c p_c - E_c L_B - L_EV``); a non-cooperator earns ``S_EV2`` of (5)
    (``U_EV - E_c p_c - E_c L_B``) whatever the PG does.

    Args:
        strategies: bool array ``(..., M)``, True = cooperate.
        pg_cooperates: the PG's realized action: a bool for the day (shared by all drivers), or a
            bool array broadcastable to ``strategies`` (one matched PG action per driver, see
            :func:`sample_pg_actions`).
        params: game parameters (``p_d`` = the discharge price in force, yuan/kWh).
        rng: generator for the idiosyncratic noise (required when ``noise_sd > 0``).
        noise_sd: standard deviation of an i.i.d. Gaussian payoff shock added to every driver's
            payoff (yuan); 0 = none.
        p_d: override of ``params.p_d`` (yuan/kWh), e.g. the price published today; an array
            broadcasts against ``strategies`` (one price per replication).

    Returns:
        Float array with the broadcast shape of ``strategies`` and ``pg_cooperates``.
    """
    p = as_params(params)
    s = np.asarray(strategies, dtype=bool)
    pg = np.asarray(pg_cooperates, dtype=bool)
    base = float(payoff_ev_noncoop(0.0, p))  # S_EV2, (5)
    gain_both = p.ev_discharge_margin(p_d)  # S_EV1(y=1) - S_EV2
    out = base + np.where(s, np.where(pg, gain_both, -p.L_EV), 0.0)
    out = np.asarray(out, dtype=float)
    if noise_sd < 0:
        raise ValueError(f"noise_sd must be >= 0, got {noise_sd!r}")
    if noise_sd > 0:
        if rng is None:
            raise ValueError("realized_ev_payoffs needs rng when noise_sd > 0")
        out = out + rng.normal(0.0, noise_sd, size=out.shape)
    return out


def fleet_ev_payoffs(
    strategies: ArrayLike,
    pg_cooperates: bool | ArrayLike,
    params: GameParams | Mapping[str, Any],
    charged_kwh: ArrayLike,
    discharged_kwh: ArrayLike,
    rebates_yuan: ArrayLike = 0.0,
    *,
    p_d: float | None = None,
) -> NDArray[np.float64]:
    """Each driver's payoff of the day from what its EV did (issue 33 item 1; yuan).

    The seed's (4)/(5) with the lump sums replaced by the day's energies of the simulated battery
    (RECONSTRUCTED, ours): with ``c_i``, ``d_i`` the EV's charged and discharged grid energy,

    ``pi_i = U_EV - p_c c_i - L_B (c_i + d_i) + rebates_i + s_i [pg_i p_d d_i - (1 - pg_i) L_EV]``:

    a cooperator is paid the price for what it discharged only when its grid-company match
    cooperates, and loses ``L_EV`` when it does not; every EV pays for its charging and its
    battery wear. With ``c_i = E_c`` and ``d_i = E_d`` for a cooperator matched with a cooperating
    grid company (0 otherwise) and no rebates it is (4)/(5) exactly (tested).

    Args:
        strategies: (M,) True = cooperate.
        pg_cooperates: the grid company's realized action, a bool or one per driver.
        params: game parameters (``p_d`` the price in force unless ``p_d`` is given).
        charged_kwh, discharged_kwh: (M,) the EV's grid energy of the day, in and out (kWh, >= 0).
        rebates_yuan: (M,) or scalar rebates the driver received (yuan).
        p_d: the published price (yuan/kWh); default ``params.p_d``.

    Returns:
        (M,) payoffs (yuan).
    """
    p = as_params(params)
    price = p.p_d if p_d is None else float(p_d)
    s = np.asarray(strategies, dtype=bool)
    pg = np.broadcast_to(np.asarray(pg_cooperates, dtype=bool), s.shape)
    c = np.asarray(charged_kwh, dtype=float)
    d = np.asarray(discharged_kwh, dtype=float)
    base = p.U_EV - p.p_c * c - p.L_B * (c + d) + np.asarray(rebates_yuan, dtype=float)
    return base + np.where(s, np.where(pg, price * d, -p.L_EV), 0.0)


def sample_pg_actions(
    y: ArrayLike, rng: np.random.Generator, size: int | tuple[int, ...] | None = None
) -> NDArray[np.bool_]:
    """Draw PG actions Bernoulli(y): True = the PG accepts the discharge (cooperates).

    Args:
        y: PG cooperation share(s) in [0, 1]; broadcast against ``size``.
        rng: generator.
        size: output shape; ``None`` gives the shape of ``y`` (one action per PG).
    """
    y = np.asarray(y, dtype=float)
    shape = y.shape if size is None else size
    return rng.random(shape) < y


def payoff_gap_bound(params: GameParams | Mapping[str, Any], prices: ArrayLike | None = None) -> float:
    """Largest possible |payoff difference| between a cooperator and a defector, ``D`` (yuan).

    A C/D pair differs by ``Z = E_d (p_d - L_B)`` when the cooperator's PG counterpart cooperated
    and ``Z = -L_EV`` when not ((4) - (5)). Over a set of prices::

        D = max(max_k |E_d (p_k - L_B)|, L_EV)

    This is the normaliser of proportional imitation (the smallest one that keeps the switching
    probability linear, hence the fastest exact replicator time scale ``rate / D``). Idiosyncratic
    noise (unbounded) is not included.

    Args:
        params: game parameters.
        prices: discharge prices that can be in force (yuan/kWh); default ``[params.p_d]``.

    Raises:
        ValueError: if the bound is 0 (no payoff differences: the dynamics are frozen).
    """
    p = as_params(params)
    pr = np.atleast_1d(np.asarray([p.p_d] if prices is None else prices, dtype=float))
    d = max(float(np.max(np.abs(p.ev_discharge_margin(pr)))), p.L_EV)
    if not d > 0:
        raise ValueError("payoff differences are identically 0; no bound D > 0 exists")
    return d

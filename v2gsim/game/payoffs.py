"""Payoffs of the EV/PG evolutionary game (seed 001): (4), (5), (8), (9) and the averages (6), (10).

Expected payoffs of each pure strategy against the opponent population's cooperating share, in
yuan (lump-sum ``U``), as restated in ``docs/models.md`` §2.2. Pure numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams

__all__ = [
    "mean_payoff_ev",
    "mean_payoff_pg",
    "payoff_ev_coop",
    "payoff_ev_noncoop",
    "payoff_pg_coop",
    "payoff_pg_noncoop",
]


def payoff_ev_coop(y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a cooperating EV user, eq. (4) (yuan).

    ``S_EV1 = y[U_EV + E_d p_d - E_c p_c - (E_d + E_c) L_B]
    + (1 - y)[U_EV - E_c p_c - E_c L_B - L_EV]``

    Args:
        y: share of the PG population cooperating, in [0, 1].
        params: game parameters.
    """
    p = params
    y = np.asarray(y, dtype=float)
    both = p.U_EV + p.E_d * p.p_d - p.E_c * p.p_c - (p.E_d + p.E_c) * p.L_B
    alone = p.U_EV - p.E_c * p.p_c - p.E_c * p.L_B - p.L_EV
    return y * both + (1.0 - y) * alone


def payoff_ev_noncoop(y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a non-cooperating EV user, eq. (5) (yuan): ``U_EV - E_c p_c - E_c L_B``.

    Args:
        y: share of PG cooperating (the payoff does not depend on it; kept for broadcasting).
        params: game parameters.
    """
    p = params
    y = np.asarray(y, dtype=float)
    return np.full_like(y, p.U_EV - p.E_c * p.p_c - p.E_c * p.L_B)


def payoff_pg_coop(x: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a cooperating PG, eq. (8) (yuan).

    ``S_PG1 = x[U_PG + E_d E_G - E_d p_d - (E_d + E_c) P_PG] + (1 - x)[U_PG - E_c P_PG - L_PG]``

    Args:
        x: share of EV users cooperating, in [0, 1].
        params: game parameters.
    """
    p = params
    x = np.asarray(x, dtype=float)
    both = p.U_PG + p.E_d * p.E_G - p.E_d * p.p_d - (p.E_d + p.E_c) * p.P_PG
    alone = p.U_PG - p.pg_charge_cost - p.L_PG
    return x * both + (1.0 - x) * alone


def payoff_pg_noncoop(x: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Expected payoff of a non-cooperating PG, eq. (9) (yuan): ``S_PG2 = U_PG``.

    Args:
        x: share of EV users cooperating (no dependence; kept for broadcasting).
        params: game parameters.
    """
    x = np.asarray(x, dtype=float)
    return np.full_like(x, params.U_PG)


def mean_payoff_ev(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Average EV payoff, eq. (6) (yuan): ``x S_EV1 + (1 - x) S_EV2``."""
    x = np.asarray(x, dtype=float)
    return x * payoff_ev_coop(y, params) + (1.0 - x) * payoff_ev_noncoop(y, params)


def mean_payoff_pg(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """Average PG payoff, eq. (10) (yuan): ``y S_PG1 + (1 - y) U_PG``."""
    y = np.asarray(y, dtype=float)
    return y * payoff_pg_coop(x, params) + (1.0 - y) * payoff_pg_noncoop(x, params)

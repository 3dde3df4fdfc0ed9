"""Replicator dynamics (7), (11) of the EV/PG evolutionary game (seed 001).

The field is written in the factored form of :mod:`v2gsim.game.params`::

    dx/dt = x (1 - x) (a y - L_EV)      (7)
    dy/dt = y (1 - y) (b x - c)         (11)

so that the edges of the unit square are exactly invariant. :func:`ev_rate` and :func:`pg_rate`
are the two components for given coefficients (scalars or per-system arrays); every integrator of
the game (:func:`trajectory` here, the separatrix and the batch integrations of
:mod:`v2gsim.game.basins`) evaluates the field through them. Time is in replicator time units,
shares in [0, 1]. Equation numbers refer to ``docs/models.md`` §2.2. Pure numpy/scipy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp

from v2gsim.game.params import GameParams, as_params

__all__ = [
    "check_share",
    "ev_rate",
    "factored_field",
    "factored_field_jacobian",
    "field_coefficients",
    "pg_rate",
    "pg_share_step",
    "replicator_rhs",
    "replicator_step",
    "trajectory",
    "xdot",
    "ydot",
]


def ev_rate(x: Any, y: Any, a: Any, lev: Any) -> Any:
    """EV component of the factored field, eq. (7): ``x (1 - x) (a y - L_EV)`` (1/time).

    Args:
        x: share(s) of cooperating EV users.
        y: share(s) of PG cooperation.
        a: coefficient ``E_d (p_d - L_B) + L_EV`` (yuan), scalar or one per system.
        lev: ``L_EV`` (yuan), scalar or one per system.
    """
    return x * (1.0 - x) * (a * y - lev)


def pg_rate(x: Any, y: Any, b: Any, c: Any) -> Any:
    """PG component of the factored field, eq. (11): ``y (1 - y) (b x - c)`` (1/time).

    Args:
        x: share(s) of cooperating EV users.
        y: share(s) of PG cooperation.
        b: coefficient ``E_d (E_G - p_d - P_PG) + L_PG`` (yuan), scalar or one per system.
        c: coefficient ``E_c P_PG + L_PG`` (yuan), scalar or one per system.
    """
    return y * (1.0 - y) * (b * x - c)


def xdot(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """EV replicator dynamics, eq. (7) (1/time).

    ``x (1 - x) [y (E_d p_d - E_d L_B + L_EV) - L_EV]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return ev_rate(x, y, params.a, params.L_EV)


def ydot(x: ArrayLike, y: ArrayLike, params: GameParams) -> NDArray[np.float64]:
    """PG replicator dynamics, eq. (11) (1/time).

    ``y (1 - y) [x E_d E_G - x E_d p_d - x E_d P_PG - E_c P_PG - L_PG + x L_PG]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return pg_rate(x, y, params.b, params.c)


def replicator_rhs(
    t: float, z: ArrayLike, params: GameParams | Mapping[str, Any]
) -> NDArray[np.float64]:
    """Vector field of the replicator dynamics (7), (11), in the ``solve_ivp`` signature.

    Args:
        t: time (unused; the system is autonomous).
        z: state ``[x, y]`` (shares of cooperating EVs and PG); shape (2,) or (2, k).
        params: game parameters (or a mapping of them).

    Returns:
        ``[dx/dt, dy/dt]`` with the shape of ``z``.
    """
    p = as_params(params)
    z = np.asarray(z, dtype=float)
    return np.stack([xdot(z[0], z[1], p), ydot(z[0], z[1], p)])


def field_coefficients(p: GameParams) -> tuple[float, float, float, float]:
    """``(a, L_EV, b, c)`` of the factored field (7), (11) (yuan): the ``args`` of the integrators."""
    return (p.a, p.L_EV, p.b, p.c)


def factored_field(
    _t: float, z: NDArray[np.float64], a: float, lev: float, b: float, c: float
) -> Any:
    """Scalar (7), (11) in factored form, for the integrators (no array conversions)."""
    x, y = z[0], z[1]
    return np.array([ev_rate(x, y, a, lev), pg_rate(x, y, b, c)])


def factored_field_jacobian(
    _t: float, z: Any, a: float, lev: float, b: float, c: float
) -> Any:
    """Analytic Jacobian of :func:`factored_field` (1/time).

    ``[[(1-2x)(a y - L_EV), x(1-x) a], [y(1-y) b, (1-2y)(b x - c)]]``; used by the stiff-capable
    LSODA integrator and by :func:`v2gsim.game.stability.jacobian`.
    """
    x, y = z[0], z[1]
    return np.array(
        [
            [(1.0 - 2.0 * x) * (a * y - lev), x * (1.0 - x) * a],
            [y * (1.0 - y) * b, (1.0 - 2.0 * y) * (b * x - c)],
        ]
    )


def check_share(v: float, name: str) -> None:
    """Raise ValueError unless ``v`` is a share in [0, 1] (``name`` is the argument's name)."""
    if not (0.0 <= float(v) <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {v!r}")


def trajectory(
    params: GameParams | Mapping[str, Any], x0: float, y0: float, t: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Integrate the replicator dynamics (7), (11) and sample them at the times ``t``.

    Uses ``scipy.integrate.solve_ivp`` (LSODA with the analytic Jacobian, so long horizons near
    the stiff corner C stay cheap; rtol 1e-10, atol 1e-12) with dense output.

    Args:
        params: game parameters (or a mapping of them).
        x0: share of cooperating EV users at time ``t[0]``, in [0, 1].
        y0: share of PG cooperation at time ``t[0]``, in [0, 1].
        t: non-decreasing 1-D array of times (replicator time units).

    Returns:
        ``(x, y)``, arrays shaped like ``t``, clipped to [0, 1].
    """
    p = as_params(params)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError("t must be a non-empty 1-D array of times")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    check_share(x0, "x0")
    check_share(y0, "y0")
    if t[-1] == t[0]:
        return np.full(t.shape, float(x0)), np.full(t.shape, float(y0))
    sol = solve_ivp(
        factored_field,
        (t[0], t[-1]),
        [float(x0), float(y0)],
        method="LSODA",
        jac=factored_field_jacobian,
        dense_output=True,
        rtol=1e-10,
        atol=1e-12,
        args=field_coefficients(p),
    )
    if not sol.success:  # pragma: no cover - smooth bounded field
        raise RuntimeError(f"replicator integration failed: {sol.message}")
    z = np.clip(sol.sol(t), 0.0, 1.0)
    return z[0], z[1]


def replicator_step(
    x: ArrayLike, y: ArrayLike, params: GameParams | Mapping[str, Any], dt: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One explicit-Euler step of (7), (11), clipped to [0, 1] (for the agent-based grid company).

    Args:
        x: current share(s) of cooperating EV users.
        y: current share(s) of PG cooperation.
        params: game parameters (or a mapping of them).
        dt: step length (replicator time units, >= 0).

    Returns:
        ``(x + dt * dx/dt, y + dt * dy/dt)`` clipped to [0, 1].
    """
    if dt < 0:
        raise ValueError(f"dt must be >= 0, got {dt!r}")
    p = as_params(params)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xn = np.clip(x + dt * xdot(x, y, p), 0.0, 1.0)
    return xn, pg_share_step(x, y, p, dt)


def pg_share_step(
    x: ArrayLike, y: ArrayLike, params: GameParams, dt: float
) -> NDArray[np.float64]:
    """One explicit-Euler step of (11) alone, clipped to [0, 1]: the ``y`` half of :func:`replicator_step`.

    ``clip(y + dt * dy/dt, 0, 1)`` with ``dy/dt`` from the current shares ``(x, y)``.

    Args:
        x: current share(s) of cooperating EV users.
        y: current share(s) of PG cooperation.
        params: game parameters.
        dt: step length (replicator time units, >= 0; not checked here).
    """
    y = np.asarray(y, dtype=float)
    return np.clip(y + dt * ydot(x, y, params), 0.0, 1.0)

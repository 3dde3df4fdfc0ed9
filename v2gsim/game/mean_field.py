"""Mean-field limit of the drivers' imitation rules and its time scaling (seed 001).

The drivers of :mod:`v2gsim.game.imitation` revise with probability ``rate`` per day by
proportional imitation (bound ``D``, yuan) or by the Fermi rule (``beta``, 1/yuan). Equation
numbers ``(n)`` refer to ``docs/models.md`` §2.2; money is in yuan, time in days unless
"replicator time" is said. No Mesa.

Mean-field limit and time scaling
---------------------------------
Let ``x = N_C / M`` be the share of cooperators and ``Z`` the payoff difference "cooperator minus
defector" of a random C/D pair. Only mixed pairs can change the state: a defector turns into a
cooperator with probability ``rate * (N_C/(M-1)) * E[P(Z)]`` and a cooperator into a defector with
``rate * (N_D/(M-1)) * E[P(-Z)]``. Hence the exact expected one-day change is::

    E[dx | state] = rate * M/(M-1) * x (1 - x) * E[g(Z)],     g(z) = P(z) - P(-z) (odd)      (*)

* Proportional: ``g(z) = clip(z / D, -1, 1)``; with ``|Z| <= D`` this is ``z / D``, linear, and
  ``E[Z] = S_EV1(y) - S_EV2`` (eqs. (4), (5); ``E`` over the PG's Bernoulli(y) action), so::

      E[dx] = (rate / D) * M/(M-1) * x (1 - x) [a y - L_EV] = dt * M/(M-1) * dx/dt|_(7)

  one explicit-Euler step of the replicator equation (7) with step **dt = rate / D replicator
  time units per day** (Schlag's result; the factor ``M/(M-1)`` -> 1 comes from sampling *another*
  driver). A symmetric idiosyncratic payoff noise leaves (*) unchanged as long as ``|Z| <= D``
  (because ``z+ - (-z)+ = z``); beyond the bound the clipping shrinks the drift, and
  :func:`expected_share_change` gives the exact value for Gaussian noise.
* Fermi: ``g(z) = 1/(1+e^{-beta z}) - 1/(1+e^{beta z}) = tanh(beta z / 2)``, so::

      E[dx] = rate * M/(M-1) * x (1 - x) * E[tanh(beta Z / 2)]

  With the PG action realized (``Z = a B - L_EV``, ``B ~ Bernoulli(y)``) this is
  ``x(1-x)[y tanh(beta (a - L_EV)/2) - (1-y) tanh(beta L_EV/2)]``: a replicator-like field with
  the *saturating* payoff transform ``tanh``. Since ``tanh(u) = u - u^3/3 + ...``, for
  ``beta |Z| << 1`` it equals (7) to first order with **dt = rate * beta / 2** per day (relative
  error ``~ beta^2 Z^2 / 12``). For the seed's payoffs ``|Z|`` reaches ``E_d (p_d - L_B)`` ~ 18
  yuan, so ``beta`` must be well below 0.1/yuan for the Fermi rule to approximate (7); at
  ``beta = 1`` it saturates to ``x(1-x)[y - 0.46 (1-y)]`` (a different interior equilibrium).

The grid company's replicator step (11) must use the same ``dt`` (:func:`replicator_dt_per_day`),
otherwise the two populations run on different clocks and the agent-level shares do not follow
:func:`v2gsim.game.replicator.trajectory`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.special import ndtr

from v2gsim.game.imitation import Rule, unknown_rule
from v2gsim.game.params import GameParams, as_params
from v2gsim.game.replicator import pg_share_step, ydot

__all__ = [
    "expected_share_change",
    "mean_field_map",
    "mean_field_trajectory",
    "replicator_dt_per_day",
]

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(80)  # E[f(N(0,1))] quadrature
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2.0 * math.pi)


def replicator_dt_per_day(
    rule: Rule, rate: float, *, delta_max: float | None = None, beta: float | None = None
) -> float:
    """Replicator time elapsed per day of imitation: ``rate / D`` (proportional) or ``rate beta / 2``
    (Fermi, first order in ``beta``); the step the grid company must use in (11)."""
    if rule == "proportional":
        if delta_max is None or not delta_max > 0:
            raise ValueError("proportional imitation needs delta_max > 0 (yuan)")
        return float(rate) / float(delta_max)
    if rule == "fermi":
        if beta is None or not beta > 0:
            raise ValueError("Fermi imitation needs beta > 0 (1/yuan)")
        return float(rate) * float(beta) / 2.0
    raise unknown_rule(rule)


def _expected_clip(mean: NDArray[np.float64], sd: float) -> NDArray[np.float64]:
    """``E[clip(W, -1, 1)]`` for ``W ~ N(mean, sd^2)`` (closed form)."""
    if sd == 0:
        return np.clip(mean, -1.0, 1.0)
    a = (-1.0 - mean) / sd
    b = (1.0 - mean) / sd
    phi = lambda u: np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)  # noqa: E731
    return -ndtr(a) + (1.0 - ndtr(b)) + mean * (ndtr(b) - ndtr(a)) + sd * (phi(a) - phi(b))


def _expected_g(z: NDArray[np.float64], rule: Rule, delta_max: float | None, beta: float | None,
                noise_sd: float) -> NDArray[np.float64]:
    """``E[g(z + xi)]``, ``xi ~ N(0, 2 noise_sd^2)`` (difference of two drivers' shocks)."""
    s = math.sqrt(2.0) * noise_sd
    if rule == "proportional":
        if delta_max is None or not delta_max > 0:
            raise ValueError("proportional imitation needs delta_max > 0 (yuan)")
        return _expected_clip(z / delta_max, s / delta_max)
    if rule == "fermi":
        if beta is None or not beta >= 0:
            raise ValueError("Fermi imitation needs beta >= 0 (1/yuan)")
        if s == 0:
            return np.tanh(0.5 * beta * z)
        zz = z[..., None] + s * _GH_NODES
        return np.tanh(0.5 * beta * zz) @ _GH_WEIGHTS
    raise unknown_rule(rule)


def expected_share_change(
    x: ArrayLike,
    y: ArrayLike,
    params: GameParams | Mapping[str, Any],
    rule: Rule,
    rate: float,
    *,
    delta_max: float | None = None,
    beta: float | None = None,
    m: int | None = None,
    noise_sd: float = 0.0,
) -> NDArray[np.float64]:
    """Exact expected one-day change of the cooperator share, eq. (*) of the module docstring.

    ``E[dx] = rate * f_M * x (1 - x) * E[g(Z)]``, ``f_M = M/(M-1)`` (1 if ``m`` is None, the
    ``M -> inf`` limit), ``Z = a B - L_EV + xi`` with ``B ~ Bernoulli(y)`` the cooperator's
    realized PG action (common or matched: same expectation), ``a = E_d (p_d - L_B) + L_EV``, and
    ``xi ~ N(0, 2 noise_sd^2)``. ``g(z) = clip(z/D, -1, 1)`` (proportional) or
    ``tanh(beta z / 2)`` (Fermi). Without noise and with ``D`` >= :func:`payoff_gap_bound` the
    proportional value is exactly ``rate/D * f_M * xdot`` of (7).

    Args:
        x: cooperator share(s) in [0, 1] (``N_C / M`` for a finite population).
        y: PG cooperation share(s) in [0, 1].
        params: game parameters (``p_d`` = price in force).
        rule: ``"proportional"`` or ``"fermi"``.
        rate: per-day revision probability.
        delta_max: ``D`` (yuan), proportional rule.
        beta: selection intensity (1/yuan), Fermi rule.
        m: population size, or None for the infinite-population limit.
        noise_sd: idiosyncratic payoff noise of :func:`realized_ev_payoffs` (yuan).

    Returns:
        ``E[x' - x]`` (share per day), broadcast over ``x`` and ``y``.
    """
    p = as_params(params)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    f_m = 1.0 if m is None else m / (m - 1.0)
    z_pg = np.array(p.ev_discharge_margin())
    z_no = np.array(-p.L_EV)
    g1 = _expected_g(z_pg, rule, delta_max, beta, noise_sd)
    g0 = _expected_g(z_no, rule, delta_max, beta, noise_sd)
    return rate * f_m * x * (1.0 - x) * (y * g1 + (1.0 - y) * g0)


def mean_field_map(
    params: GameParams | Mapping[str, Any],
    x0: float,
    y0: float,
    days: int,
    rule: Rule,
    rate: float,
    *,
    delta_max: float | None = None,
    beta: float | None = None,
    m: int | None = None,
    noise_sd: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Deterministic skeleton of the agent-level day loop (the ``M -> inf`` map, one step per day).

    ``x_{n+1} = x_n + E[dx](x_n, y_n)`` (:func:`expected_share_change`) and
    ``y_{n+1} = clip(y_n + dt * ydot(x_n, y_n))`` (11) with ``dt`` = :func:`replicator_dt_per_day`.
    For the proportional rule without noise (and ``m`` None) this is exactly
    :func:`v2gsim.game.replicator.replicator_step` iterated with step ``rate / D``.

    Returns:
        ``(x, y)``, arrays of length ``days + 1`` (day 0 = initial shares).
    """
    p = as_params(params)
    dt = replicator_dt_per_day(rule, rate, delta_max=delta_max, beta=beta)
    xs = np.empty(days + 1)
    ys = np.empty(days + 1)
    xs[0], ys[0] = x0, y0
    for n in range(days):
        dx = expected_share_change(xs[n], ys[n], p, rule, rate, delta_max=delta_max, beta=beta,
                                   m=m, noise_sd=noise_sd)
        xs[n + 1] = np.clip(xs[n] + dx, 0.0, 1.0)
        ys[n + 1] = pg_share_step(xs[n], ys[n], p, dt)
    return xs, ys


def mean_field_trajectory(
    params: GameParams | Mapping[str, Any],
    x0: float,
    y0: float,
    days: ArrayLike,
    rule: Rule,
    rate: float,
    *,
    delta_max: float | None = None,
    beta: float | None = None,
    noise_sd: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Continuous-time mean-field ODE of the imitation rule, sampled at day numbers ``days``.

    ``dx/dtau = E[dx](x, y) / dt`` (infinite population), ``dy/dtau = ydot`` of (11), in replicator
    time ``tau = day * dt`` with ``dt`` = :func:`replicator_dt_per_day`. For the proportional rule
    without noise it coincides with :func:`v2gsim.game.replicator.trajectory` at ``tau``; for the
    Fermi rule it is the ``tanh`` field of the module docstring (-> (7) as ``beta -> 0``).

    Returns:
        ``(x, y)`` shaped like ``days``.
    """
    p = as_params(params)
    dt = replicator_dt_per_day(rule, rate, delta_max=delta_max, beta=beta)
    t = np.atleast_1d(np.asarray(days, dtype=float)) * dt

    def rhs(_t: float, z: NDArray[np.float64]) -> NDArray[np.float64]:
        dx = expected_share_change(z[0], z[1], p, rule, rate, delta_max=delta_max, beta=beta,
                                   noise_sd=noise_sd)
        return np.array([float(dx) / dt, float(ydot(z[0], z[1], p))])

    if t[-1] == t[0]:
        return np.full(t.shape, float(x0)), np.full(t.shape, float(y0))
    sol = solve_ivp(rhs, (t[0], t[-1]), [x0, y0], method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12)
    if not sol.success:  # pragma: no cover - smooth bounded field
        raise RuntimeError(f"mean-field integration failed: {sol.message}")
    z = np.clip(sol.y, 0.0, 1.0)
    return z[0], z[1]

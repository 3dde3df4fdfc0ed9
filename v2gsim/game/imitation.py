"""Individual-level strategy revision of EV drivers in the discharge-price game (seed 001).

A population of ``M`` drivers holds strategies ``s_i`` (True = cooperate = offers V2G discharge at
the published price ``p_d``; False = does not) and earns a realized payoff ``pi_i`` each day. At the
end of the day every driver revises independently with probability ``rate``: it samples one *other*
driver ``j`` uniformly (``j != i``) and, if ``s_j != s_i``, adopts ``s_j`` with a probability that
depends on the payoff difference ``pi_j - pi_i`` (yuan):

* **proportional imitation** (Schlag 1998; Helbing 1992): ``P = min(1, max(pi_j - pi_i, 0) / D)``
  with ``D`` (yuan) a bound on the payoff differences, so that ``P`` is a probability;
* **pairwise comparison with a Fermi function** (Szabo & Toke 1998; Traulsen et al. 2006):
  ``P = 1 / (1 + exp(-beta (pi_j - pi_i)))``, ``beta`` in 1/yuan.

Equation numbers ``(n)`` refer to ``design/models.md`` §2.2; money is in yuan, time in days unless
"replicator time" is said. Everything is vectorised over drivers and over any leading batch axes
(independent replications): arrays of strategies have shape ``(..., M)``. No Mesa.

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
:func:`v2gsim.game.evolutionary.trajectory`.

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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.special import ndtr

from v2gsim.game.evolutionary import GameParams, as_params, ydot

__all__ = [
    "ImitationRun",
    "Rule",
    "expected_share_change",
    "fermi_imitation",
    "fermi_switch_probability",
    "imitation_step",
    "initial_strategies",
    "mean_field_map",
    "mean_field_trajectory",
    "payoff_gap_bound",
    "proportional_imitation",
    "proportional_switch_probability",
    "realized_ev_payoffs",
    "replicator_dt_per_day",
    "sample_pg_actions",
    "simulate_imitation_game",
]

#: Strategy-revision rules (the ``[game] imitation`` values of the scenario).
Rule = Literal["proportional", "fermi"]

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(80)  # E[f(N(0,1))] quadrature
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# Payoffs of the day
# ----------------------------------------------------------------------------------------------


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
    price = p.p_d if p_d is None else np.asarray(p_d, dtype=float)
    s = np.asarray(strategies, dtype=bool)
    pg = np.asarray(pg_cooperates, dtype=bool)
    base = p.U_EV - p.E_c * p.p_c - p.E_c * p.L_B  # S_EV2, (5)
    gain_both = p.E_d * (price - p.L_B)  # S_EV1(y=1) - S_EV2
    out = base + np.where(s, np.where(pg, gain_both, -p.L_EV), 0.0)
    out = np.asarray(out, dtype=float)
    if noise_sd < 0:
        raise ValueError(f"noise_sd must be >= 0, got {noise_sd!r}")
    if noise_sd > 0:
        if rng is None:
            raise ValueError("realized_ev_payoffs needs rng when noise_sd > 0")
        out = out + rng.normal(0.0, noise_sd, size=out.shape)
    return out


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
    d = max(float(np.max(np.abs(p.E_d * (pr - p.L_B)))), p.L_EV)
    if not d > 0:
        raise ValueError("payoff differences are identically 0; no bound D > 0 exists")
    return d


# ----------------------------------------------------------------------------------------------
# Switching rules and one revision step
# ----------------------------------------------------------------------------------------------


def proportional_switch_probability(diff: ArrayLike, delta_max: float) -> NDArray[np.float64]:
    """Proportional imitation: ``min(1, max(diff, 0) / delta_max)`` (diff = pi_other - pi_self, yuan)."""
    if not delta_max > 0:
        raise ValueError(f"delta_max must be > 0 yuan, got {delta_max!r}")
    return np.clip(np.asarray(diff, dtype=float) / delta_max, 0.0, 1.0)


def fermi_switch_probability(diff: ArrayLike, beta: float) -> NDArray[np.float64]:
    """Fermi rule: ``1 / (1 + exp(-beta diff))`` (diff = pi_other - pi_self in yuan, beta in 1/yuan).

    Computed as ``(1 + tanh(beta diff / 2)) / 2`` (no overflow for large arguments).
    """
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0 (1/yuan), got {beta!r}")
    return 0.5 * (1.0 + np.tanh(0.5 * beta * np.asarray(diff, dtype=float)))


def _revise(
    strategies: ArrayLike,
    payoffs: ArrayLike,
    rate: float,
    rng: np.random.Generator,
    prob: Any,
) -> NDArray[np.bool_]:
    s = np.asarray(strategies, dtype=bool)
    pi = np.asarray(payoffs, dtype=float)
    if s.ndim == 0 or s.shape != pi.shape:
        raise ValueError(f"strategies and payoffs must have the same shape (..., M); got {s.shape} "
                         f"and {pi.shape}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a probability in [0, 1], got {rate!r}")
    m = s.shape[-1]
    if m < 2:
        return s.copy()
    # Partner j != i, uniform over the other M - 1 drivers of the same replication.
    partner = (np.arange(m) + rng.integers(1, m, size=s.shape)) % m
    s_other = np.take_along_axis(s, partner, axis=-1)
    pi_other = np.take_along_axis(pi, partner, axis=-1)
    revise = rng.random(s.shape) < rate
    switch = rng.random(s.shape) < prob(pi_other - pi)
    return np.where(revise & switch & (s_other != s), s_other, s)


def proportional_imitation(
    strategies: ArrayLike,
    payoffs: ArrayLike,
    rate: float,
    delta_max: float,
    rng: np.random.Generator,
) -> NDArray[np.bool_]:
    """One day of proportional imitation (Schlag 1998); mean field: replicator (7), dt = rate/D.

    Each driver revises with probability ``rate``, samples another driver ``j`` uniformly and
    adopts ``s_j`` with probability ``min(1, max(pi_j - pi_i, 0) / delta_max)``.

    Args:
        strategies: bool ``(..., M)``, True = cooperate; leading axes are independent populations.
        payoffs: realized payoffs of the day, same shape (yuan).
        rate: per-day revision probability (-).
        delta_max: bound ``D`` on payoff differences (yuan), see :func:`payoff_gap_bound`.
        rng: generator.

    Returns:
        The revised strategies (a new array).
    """
    return _revise(strategies, payoffs, rate, rng,
                   lambda d: proportional_switch_probability(d, delta_max))


def fermi_imitation(
    strategies: ArrayLike,
    payoffs: ArrayLike,
    rate: float,
    beta: float,
    rng: np.random.Generator,
) -> NDArray[np.bool_]:
    """One day of pairwise comparison with the Fermi function; mean field ``x(1-x)E[tanh(beta Z/2)]``.

    Each driver revises with probability ``rate``, samples another driver ``j`` uniformly and
    adopts ``s_j`` with probability ``1 / (1 + exp(-beta (pi_j - pi_i)))``.

    Args:
        strategies: bool ``(..., M)``, True = cooperate.
        payoffs: realized payoffs of the day, same shape (yuan).
        rate: per-day revision probability (-).
        beta: selection intensity (1/yuan).
        rng: generator.

    Returns:
        The revised strategies (a new array).
    """
    return _revise(strategies, payoffs, rate, rng, lambda d: fermi_switch_probability(d, beta))


def imitation_step(
    strategies: ArrayLike,
    payoffs: ArrayLike,
    rule: Rule,
    rate: float,
    rng: np.random.Generator,
    *,
    delta_max: float | None = None,
    beta: float | None = None,
) -> NDArray[np.bool_]:
    """Dispatch to :func:`proportional_imitation` (needs ``delta_max``) or :func:`fermi_imitation`
    (needs ``beta``) by the scenario's rule name."""
    if rule == "proportional":
        if delta_max is None:
            raise ValueError("proportional imitation needs delta_max (yuan)")
        return proportional_imitation(strategies, payoffs, rate, delta_max, rng)
    if rule == "fermi":
        if beta is None:
            raise ValueError("Fermi imitation needs beta (1/yuan)")
        return fermi_imitation(strategies, payoffs, rate, beta, rng)
    raise ValueError(f"unknown imitation rule {rule!r}; allowed: 'proportional', 'fermi'")


def initial_strategies(
    m: int, x0: float, rng: np.random.Generator, *, batch: tuple[int, ...] = (), exact: bool = True
) -> NDArray[np.bool_]:
    """Initial strategies of ``m`` drivers with cooperation share ``x0``.

    Args:
        m: number of drivers.
        x0: target share of cooperators in [0, 1].
        rng: generator.
        batch: leading shape (independent replications).
        exact: True: exactly ``round(x0 m)`` cooperators at random positions; False: i.i.d.
            Bernoulli(x0).

    Returns:
        Bool array ``(*batch, m)``.
    """
    if not 0.0 <= x0 <= 1.0:
        raise ValueError(f"x0 must be in [0, 1], got {x0!r}")
    shape = (*batch, int(m))
    if not exact:
        return rng.random(shape) < x0
    s = np.zeros(shape, dtype=bool)
    s[..., : round(x0 * m)] = True
    return rng.permuted(s, axis=-1)


# ----------------------------------------------------------------------------------------------
# Mean field
# ----------------------------------------------------------------------------------------------


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
    raise ValueError(f"unknown imitation rule {rule!r}; allowed: 'proportional', 'fermi'")


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
    raise ValueError(f"unknown imitation rule {rule!r}; allowed: 'proportional', 'fermi'")


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
    z_pg = np.array(p.E_d * (p.p_d - p.L_B))
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
    :func:`v2gsim.game.evolutionary.replicator_step` iterated with step ``rate / D``.

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
        ys[n + 1] = np.clip(ys[n] + dt * ydot(xs[n], ys[n], p), 0.0, 1.0)
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
    without noise it coincides with :func:`v2gsim.game.evolutionary.trajectory` at ``tau``; for the
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
    pg_draw: Literal["matched", "common"] = "matched",
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
        size = s.shape if pg_draw == "matched" else (replications, 1)
        pg = sample_pg_actions(y[:, None], rng, size=size)
        pi = realized_ev_payoffs(s, pg, p, rng, noise_sd=noise_sd)
        x_today = s.mean(axis=-1)
        s = imitation_step(s, pi, rule, rate, rng, delta_max=delta_max, beta=beta)
        y = np.clip(y + dt * ydot(x_today, y, p), 0.0, 1.0)
        xs[:, n + 1] = s.mean(axis=-1)
        ys[:, n + 1] = y
    return ImitationRun(x=xs, y=ys, dt=dt, delta_max=delta_max)

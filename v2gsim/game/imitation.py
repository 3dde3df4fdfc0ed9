"""Individual-level strategy revision of EV drivers in the discharge-price game (seed 001).

A population of ``M`` drivers holds strategies ``s_i`` (True = cooperate = offers V2G discharge at
the published price ``p_d``; False = does not) and earns a realized payoff ``pi_i`` each day
(:mod:`v2gsim.game.realized_payoffs`). At the end of the day every driver revises independently
with probability ``rate``: it samples one *other* driver ``j`` uniformly (``j != i``) and, if
``s_j != s_i``, adopts ``s_j`` with a probability that depends on the payoff difference
``pi_j - pi_i`` (yuan):

* **proportional imitation** (Schlag 1998; Helbing 1992): ``P = min(1, max(pi_j - pi_i, 0) / D)``
  with ``D`` (yuan) a bound on the payoff differences, so that ``P`` is a probability;
* **pairwise comparison with a Fermi function** (Szabo & Toke 1998; Traulsen et al. 2006):
  ``P = 1 / (1 + exp(-beta (pi_j - pi_i)))``, ``beta`` in 1/yuan.

The mean-field limit of both rules (the replicator equation (7) with a rule-dependent time step)
is derived in :mod:`v2gsim.game.mean_field`. Equation numbers ``(n)`` refer to
``docs/models.md`` §2.2; money is in yuan, time in days. Everything is vectorised over drivers
and over any leading batch axes (independent replications): arrays of strategies have shape
``(..., M)``. No Mesa.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Rule", "fermi_imitation", "fermi_switch_probability", "imitation_step", "initial_strategies",
           "mutate", "proportional_imitation", "proportional_switch_probability", "unknown_rule"]

#: Strategy-revision rules (the ``[game] imitation`` values of the scenario).
Rule = Literal["proportional", "fermi"]


def unknown_rule(rule: object) -> ValueError:
    """The error raised for a rule name other than ``"proportional"`` and ``"fermi"``."""
    return ValueError(f"unknown imitation rule {rule!r}; allowed: 'proportional', 'fermi'")


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
    raise unknown_rule(rule)


def mutate(strategies: ArrayLike, rate: float, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Exploration (issue 33 item 2): each driver independently, with probability ``rate``, takes
    a strategy drawn uniformly from {cooperate, defect} (so a share ``rate / 2`` switches), whatever
    the payoffs: no state of the population is absorbing when ``rate > 0``. ``rate = 0`` returns
    the strategies unchanged and draws nothing.

    Args:
        strategies: bool array ``(..., M)``.
        rate: mutation probability per driver and day in [0, 1].
        rng: generator (two uniforms per driver when ``rate > 0``).
    """
    s = np.asarray(strategies, dtype=bool)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"mutation rate must be in [0, 1], got {rate!r}")
    if rate == 0.0:
        return s
    explore = rng.random(s.shape) < rate
    return np.where(explore, rng.random(s.shape) < 0.5, s)


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

"""Static Bayesian game between EV users and the grid company (seed 001, comparison of Tab. 3).

The seed compares its evolutionary result with "the static Bayesian game" of its ref. [20] (Sun,
Wang & Zhao 2015), which is not available: its model and data are unknown, so the seed's Bayesian
gains (EV 0.1211, PG 0.3825, difference 0.2614 yuan) are NOT reproducible (models.md §2.3, §7).
This module implements the following formulation instead (a modelling choice, RECONSTRUCTED):

* **Players and actions.** Two players, EV (a representative EV user) and PG (the grid company),
  each choosing cooperate (1) or not (0) once, simultaneously.
* **Types.** Each player has a private type drawn from a finite prior that is common knowledge;
  the two priors are independent. By default the EV's type is its battery-loss cost ``L_B``
  (yuan/kWh) and the PG's type is its extra income ``E_G`` (yuan/kWh); any other field of
  :class:`~v2gsim.game.params.GameParams` may be used instead (``ev_field``/``pg_field``).
  If the type field enters the other player's payoff (e.g. ``E_d``), values are interdependent;
  the solver handles that.
* **Payoffs.** Those of the evolutionary game at pure strategy profiles: for EV type ``i`` and PG
  type ``j``, ``u_EV(1, 1) = S_EV1(y=1)`` (4), ``u_EV(1, 0) = S_EV1(y=0)`` (4),
  ``u_EV(0, .) = S_EV2`` (5); ``u_PG(1, 1) = S_PG1(x=1)`` (8), ``u_PG(0, 1) = S_PG1(x=0)`` (8),
  ``u_PG(., 0) = S_PG2 = U_PG`` (9), all in yuan with the parameters of types ``(i, j)``.
  Because (4) and (8) are linear in the opponent's share, mixed strategies give the same expected
  payoffs as the populations' shares do in the evolutionary game.
* **Solution.** Bayesian Nash equilibria (BNE) in the agent form (each type is an agent with two
  actions): all type-contingent pure strategy profiles are enumerated and kept when every type best
  responds; mixed BNE are found by support enumeration, i.e. for each set of ``k`` mixing EV types
  and ``k`` mixing PG types (``k = 1`` is the "2x2 per type" indifference condition) and each pure
  assignment of the other types, the indifference conditions (linear in the opponent's mixing
  probabilities) are solved and the solution is kept if it is a probability and every pure type
  best responds. This finds all BNE of a nondegenerate game; degenerate games (e.g. a type exactly
  indifferent between pure actions) may have continua, of which only the vertices found this way are
  returned.
* **Reported gain.** Each player's ex-ante expected payoff at a BNE (yuan, U as lump sum), to be
  compared with Tab. 3's evolutionary gains ``S_EV1, S_PG1`` at ``x = y = 1``. Non-cooperation
  (all types play 0) is always a BNE with the seed's signs; by default the BNE with the largest
  total expected gain is selected (``selection``). Note the scale: a non-cooperating EV still pays
  for its valley charge, ``S_EV2 = U_EV - E_c (p_c + L_B)`` = -13.37 yuan with the seed's inputs,
  so any BNE in which EVs meet a non-cooperating PG has large negative EV gains. With symmetric
  priors and everyone cooperating, the expected gains equal the evolutionary ones (payoffs are
  linear in ``L_B`` and ``E_G``), so a gap like the seed's 0.2614 needs asymmetric beliefs or
  partial cooperation.

With a single type per player the game is the complete-information 2x2 game, whose mixed Nash
equilibrium is the saddle point D of (14), (15).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams, as_params
from v2gsim.game.payoffs import (
    payoff_ev_coop,
    payoff_ev_noncoop,
    payoff_pg_coop,
    payoff_pg_noncoop,
)

__all__ = [
    "BNE",
    "BayesianGame",
    "bayesian_gains",
    "default_priors",
    "deviation_gains",
    "expected_gains",
    "is_bne",
    "select_bne",
    "solve_bne",
    "v2g_bayesian_game",
]

_MAX_TYPES = 8


@dataclass(frozen=True, eq=False)
class BayesianGame:
    """A two-player, two-action Bayesian game with independent finite type priors.

    Action 1 = cooperate, 0 = not. Payoff arrays are indexed ``[i, j, a_ev, a_pg]`` with ``i`` the
    EV type and ``j`` the PG type (yuan).

    Attributes:
        ev_payoff: EV payoffs, shape (n_ev, n_pg, 2, 2).
        pg_payoff: PG payoffs, shape (n_ev, n_pg, 2, 2).
        ev_prior: prior over EV types, shape (n_ev,), sums to 1.
        pg_prior: prior over PG types, shape (n_pg,), sums to 1.
        ev_types: type values (labels) of the EV, e.g. its L_B (yuan/kWh).
        pg_types: type values (labels) of the PG, e.g. its E_G (yuan/kWh).
    """

    ev_payoff: NDArray[np.float64]
    pg_payoff: NDArray[np.float64]
    ev_prior: NDArray[np.float64]
    pg_prior: NDArray[np.float64]
    ev_types: tuple[float, ...] = field(default=())
    pg_types: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        ue = np.asarray(self.ev_payoff, dtype=float)
        up = np.asarray(self.pg_payoff, dtype=float)
        pe = np.asarray(self.ev_prior, dtype=float).ravel()
        pp = np.asarray(self.pg_prior, dtype=float).ravel()
        n, m = pe.size, pp.size
        if not (1 <= n <= _MAX_TYPES and 1 <= m <= _MAX_TYPES):
            raise ValueError(f"1 to {_MAX_TYPES} types per player are supported, got {n} and {m}")
        for name, u in (("ev_payoff", ue), ("pg_payoff", up)):
            if u.shape != (n, m, 2, 2):
                raise ValueError(f"{name} must have shape {(n, m, 2, 2)}, got {u.shape}")
            if not np.all(np.isfinite(u)):
                raise ValueError(f"{name} must be finite")
        for name, pr in (("ev_prior", pe), ("pg_prior", pp)):
            if np.any(pr < 0) or not np.isclose(pr.sum(), 1.0, atol=1e-9):
                raise ValueError(f"{name} must be non-negative and sum to 1, got {pr.tolist()}")
        object.__setattr__(self, "ev_payoff", ue)
        object.__setattr__(self, "pg_payoff", up)
        object.__setattr__(self, "ev_prior", pe / pe.sum())
        object.__setattr__(self, "pg_prior", pp / pp.sum())
        for name, k in (("ev_types", n), ("pg_types", m)):
            labels = tuple(float(v) for v in getattr(self, name)) or tuple(
                float(i) for i in range(k)
            )
            if len(labels) != k:
                raise ValueError(f"{name} must have {k} entries")
            object.__setattr__(self, name, labels)

    @property
    def n_ev(self) -> int:
        """Number of EV types."""
        return self.ev_prior.size

    @property
    def n_pg(self) -> int:
        """Number of PG types."""
        return self.pg_prior.size


@dataclass(frozen=True)
class BNE:
    """A Bayesian Nash equilibrium in behavioural strategies.

    Attributes:
        sigma: probability that each EV type cooperates, shape (n_ev,).
        tau: probability that each PG type cooperates, shape (n_pg,).
        pure: True when every type with positive prior plays a pure action.
        ev_gain: EV ex-ante expected payoff (yuan).
        pg_gain: PG ex-ante expected payoff (yuan).
    """

    sigma: tuple[float, ...]
    tau: tuple[float, ...]
    pure: bool
    ev_gain: float
    pg_gain: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "sigma": list(self.sigma),
            "tau": list(self.tau),
            "pure": self.pure,
            "EV": self.ev_gain,
            "PG": self.pg_gain,
            "difference": self.pg_gain - self.ev_gain,
        }


def _types(spec: Mapping[float, float] | Sequence[tuple[float, float]]) -> tuple[NDArray, NDArray]:
    items = list(spec.items()) if isinstance(spec, Mapping) else [tuple(t) for t in spec]
    if not items:
        raise ValueError("a type prior needs at least one (value, probability) pair")
    values = np.array([float(v) for v, _ in items])
    probs = np.array([float(q) for _, q in items])
    return values, probs


def default_priors(
    params: GameParams | Mapping[str, Any],
    ev_spread: float = 0.2,
    pg_spread: float = 0.1,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Illustrative three-point priors around the nominal values (not from the seed or [20]).

    EV type ``L_B`` in ``{(1 - s_ev), 1, (1 + s_ev)} x L_B`` and PG type ``E_G`` in
    ``{(1 - s_pg), 1, (1 + s_pg)} x E_G``, each with probabilities (1/4, 1/2, 1/4).

    Args:
        params: nominal game parameters.
        ev_spread: relative spread of the EV's battery-loss cost L_B.
        pg_spread: relative spread of the PG's extra income E_G.

    Returns:
        ``(ev_types, pg_types)`` as lists of ``(value, probability)``.
    """
    p = as_params(params)
    w = (0.25, 0.5, 0.25)
    ev = [(p.L_B * f, q) for f, q in zip((1 - ev_spread, 1.0, 1 + ev_spread), w, strict=True)]
    pg = [(p.E_G * f, q) for f, q in zip((1 - pg_spread, 1.0, 1 + pg_spread), w, strict=True)]
    return ev, pg


def v2g_bayesian_game(
    params: GameParams | Mapping[str, Any],
    ev_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    pg_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    ev_field: str = "L_B",
    pg_field: str = "E_G",
) -> BayesianGame:
    """Build the V2G Bayesian game of the module docstring from (4), (5), (8), (9).

    Args:
        params: nominal parameters (discharge price ``p_d`` and energy ``E_d`` included).
        ev_types: EV type values of ``ev_field`` with prior probabilities, as a mapping
            ``{value: prob}`` or a list of ``(value, prob)``; default :func:`default_priors`.
        pg_types: same for the PG type (``pg_field``).
        ev_field: GameParams field that is the EV's private type (default ``L_B``, yuan/kWh).
        pg_field: GameParams field that is the PG's private type (default ``E_G``, yuan/kWh).

    Returns:
        The :class:`BayesianGame`.
    """
    p = as_params(params)
    names = GameParams.field_names()
    for f in (ev_field, pg_field):
        if f not in names:
            raise ValueError(f"unknown type field {f!r}; allowed: {', '.join(names)}")
    if ev_field == pg_field:
        raise ValueError("ev_field and pg_field must differ")
    dev, dpg = default_priors(p)
    ev_v, ev_q = _types(ev_types if ev_types is not None else dev)
    pg_v, pg_q = _types(pg_types if pg_types is not None else dpg)
    n, m = ev_v.size, pg_v.size
    ue = np.empty((n, m, 2, 2))
    up = np.empty((n, m, 2, 2))
    for i, j in itertools.product(range(n), range(m)):
        q = p.replace(**{ev_field: ev_v[i], pg_field: pg_v[j]})
        for a in (0, 1):
            ue[i, j, 1, a] = payoff_ev_coop(float(a), q)  # (4) with y = a
            ue[i, j, 0, a] = payoff_ev_noncoop(float(a), q)  # (5)
            up[i, j, a, 1] = payoff_pg_coop(float(a), q)  # (8) with x = a
            up[i, j, a, 0] = payoff_pg_noncoop(float(a), q)  # (9)
    return BayesianGame(ue, up, ev_q, pg_q, tuple(ev_v), tuple(pg_v))


# ----------------------------------------------------------------------------------------------
# Expected payoffs, best-response check
# ----------------------------------------------------------------------------------------------


def _action_probabilities(coop: NDArray[np.float64]) -> NDArray[np.float64]:
    """Behavioural strategy -> probabilities of the actions (0, 1): ``[1 - coop, coop]`` (last axis)."""
    return np.stack([1 - coop, coop], axis=-1)


def _action_values(
    game: BayesianGame, sigma: NDArray[np.float64], tau: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interim expected payoff of each action for each type: EV (n_ev, 2), PG (n_pg, 2) (yuan)."""
    tau2 = _action_probabilities(tau)  # (m, 2) over PG actions
    sig2 = _action_probabilities(sigma)  # (n, 2) over EV actions
    # EV type i, action a: sum_j rho_j sum_b tau_j(b) u[i, j, a, b]
    ev = np.einsum("j,jb,ijab->ia", game.pg_prior, tau2, game.ev_payoff)
    # PG type j, action b: sum_i pi_i sum_a sigma_i(a) u[i, j, a, b]
    pg = np.einsum("i,ia,ijab->jb", game.ev_prior, sig2, game.pg_payoff)
    return ev, pg


def deviation_gains(
    game: BayesianGame, sigma: ArrayLike, tau: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Best unilateral deviation gain of every type (yuan); all <= 0 at a BNE.

    For each type, ``max_a E[u | a] - E[u | its mixed action]`` given the opponent's strategy.

    Args:
        game: the Bayesian game.
        sigma: cooperation probability of each EV type.
        tau: cooperation probability of each PG type.

    Returns:
        ``(ev_gains, pg_gains)`` of shapes (n_ev,), (n_pg,).
    """
    s = np.asarray(sigma, dtype=float)
    t = np.asarray(tau, dtype=float)
    ev, pg = _action_values(game, s, t)
    ev_play = (1 - s) * ev[:, 0] + s * ev[:, 1]
    pg_play = (1 - t) * pg[:, 0] + t * pg[:, 1]
    return ev.max(axis=1) - ev_play, pg.max(axis=1) - pg_play


def is_bne(game: BayesianGame, sigma: ArrayLike, tau: ArrayLike, tol: float = 1e-9) -> bool:
    """True iff no type with positive prior gains more than ``tol`` (yuan) by deviating."""
    s = np.asarray(sigma, dtype=float)
    t = np.asarray(tau, dtype=float)
    if np.any((s < -tol) | (s > 1 + tol)) or np.any((t < -tol) | (t > 1 + tol)):
        return False
    ge, gp = deviation_gains(game, np.clip(s, 0, 1), np.clip(t, 0, 1))
    scale = tol * max(1.0, float(np.abs(game.ev_payoff).max()), float(np.abs(game.pg_payoff).max()))
    return bool(np.all(ge[game.ev_prior > 0] <= scale) and np.all(gp[game.pg_prior > 0] <= scale))


def expected_gains(game: BayesianGame, sigma: ArrayLike, tau: ArrayLike) -> tuple[float, float]:
    """Ex-ante expected payoffs ``(EV, PG)`` of a behavioural strategy profile (yuan)."""
    s = np.asarray(sigma, dtype=float)
    t = np.asarray(tau, dtype=float)
    s2 = _action_probabilities(s)
    t2 = _action_probabilities(t)
    w = np.einsum("i,j,ia,jb->ijab", game.ev_prior, game.pg_prior, s2, t2)
    return float(np.sum(w * game.ev_payoff)), float(np.sum(w * game.pg_payoff))


# ----------------------------------------------------------------------------------------------
# Solver
# ----------------------------------------------------------------------------------------------


def _make(game: BayesianGame, s: NDArray[np.float64], t: NDArray[np.float64]) -> BNE:
    e, g = expected_gains(game, s, t)
    pure = bool(
        np.all(np.isin(s[game.ev_prior > 0], (0.0, 1.0)))
        and np.all(np.isin(t[game.pg_prior > 0], (0.0, 1.0)))
    )
    return BNE(tuple(float(v) for v in s), tuple(float(v) for v in t), pure, e, g)


def solve_bne(game: BayesianGame, tol: float = 1e-9) -> list[BNE]:
    """All Bayesian Nash equilibria of a nondegenerate game (pure first, then mixed).

    Pure BNE: every type-contingent pure profile (2^n_ev x 2^n_pg) is checked for best responses.
    Mixed BNE: support enumeration over sets of ``k >= 1`` mixing EV types and ``k`` mixing PG
    types; the EV indifference conditions
    ``sum_j rho_j [tau_j D1_ij + (1 - tau_j) D0_ij] = 0``, with
    ``Db_ij = u_EV[i,j,1,b] - u_EV[i,j,0,b]``, are linear in the mixing PG probabilities (and
    symmetrically for PG), so each support gives a ``k x k`` linear system per side.
    Every returned profile passes :func:`is_bne`.

    Args:
        game: the Bayesian game.
        tol: tolerance (relative to the payoff scale) for best responses and probabilities.

    Returns:
        The equilibria, duplicates removed.
    """
    n, m = game.n_ev, game.n_pg
    out: list[BNE] = []
    seen: set[tuple[float, ...]] = set()

    def add(s: NDArray[np.float64], t: NDArray[np.float64]) -> None:
        s = np.clip(s, 0.0, 1.0)
        t = np.clip(t, 0.0, 1.0)
        s = np.where(game.ev_prior > 0, s, 0.0)
        t = np.where(game.pg_prior > 0, t, 0.0)
        key = tuple(np.round(np.concatenate([s, t]), 9))
        if key in seen or not is_bne(game, s, t, tol):
            return
        seen.add(key)
        out.append(_make(game, s, t))

    # Pure.
    for s_bits in itertools.product((0.0, 1.0), repeat=n):
        for t_bits in itertools.product((0.0, 1.0), repeat=m):
            add(np.array(s_bits), np.array(t_bits))

    # Mixed: support enumeration. EV indifference coefficients, linear in tau.
    d_ev = game.ev_payoff[:, :, 1, :] - game.ev_payoff[:, :, 0, :]  # (n, m, b)
    d_pg = game.pg_payoff[:, :, :, 1] - game.pg_payoff[:, :, :, 0]  # (n, m, a)
    ev_idx = [i for i in range(n) if game.ev_prior[i] > 0]
    pg_idx = [j for j in range(m) if game.pg_prior[j] > 0]
    d_pg_t = np.transpose(d_pg, (1, 0, 2))  # (m, n, a): PG agent j vs EV agent i
    for k in range(1, min(len(ev_idx), len(pg_idx)) + 1):
        for me in itertools.combinations(ev_idx, k):
            rest_e = [i for i in range(n) if i not in me]
            for mp in itertools.combinations(pg_idx, k):
                rest_p = [j for j in range(m) if j not in mp]
                taus = []
                for pp in itertools.product((0.0, 1.0), repeat=len(rest_p)):
                    t = np.zeros(m)
                    t[rest_p] = pp
                    # EV mixing types indifferent -> mixing probabilities of the mp PG types.
                    sol = _solve_indifference(game.pg_prior, d_ev, me, mp, rest_p, t, tol)
                    if sol is not None:
                        taus.append(sol)
                if not taus:
                    continue
                for pe in itertools.product((0.0, 1.0), repeat=len(rest_e)):
                    s = np.zeros(n)
                    s[rest_e] = pe
                    sig = _solve_indifference(game.ev_prior, d_pg_t, mp, me, rest_e, s, tol)
                    if sig is None:
                        continue
                    for tau in taus:
                        add(sig, tau)
    return out


def _solve_indifference(
    prior: NDArray[np.float64],
    d: NDArray[np.float64],
    rows: tuple[int, ...],
    cols: tuple[int, ...],
    rest: list[int],
    fixed: NDArray[np.float64],
    tol: float,
) -> NDArray[np.float64] | None:
    """Solve the indifference of the ``rows`` agents for the mixing probabilities of ``cols``.

    ``d[r, c, b]`` is the payoff difference (cooperate minus not) of row agent ``r`` when column
    agent ``c`` plays ``b``; ``prior`` is the prior over column agents; ``fixed`` holds the pure
    actions of the other column agents (``rest``). Returns the full column strategy, or None.
    """
    k = len(rows)
    a = np.empty((k, k))
    rhs = np.empty(k)
    for r_i, r in enumerate(rows):
        for c_i, c in enumerate(cols):
            a[r_i, c_i] = prior[c] * (d[r, c, 1] - d[r, c, 0])
        base = sum(prior[c] * d[r, c, 0] for c in cols)
        base += sum(prior[c] * (fixed[c] * d[r, c, 1] + (1 - fixed[c]) * d[r, c, 0]) for c in rest)
        rhs[r_i] = -base
    scale = max(1.0, float(np.abs(a).max()))
    if abs(np.linalg.det(a)) <= tol * scale**k:
        return None
    sol = np.linalg.solve(a, rhs)
    if np.any(sol < -tol) or np.any(sol > 1 + tol):
        return None
    full = fixed.astype(float).copy()
    full[list(cols)] = np.clip(sol, 0.0, 1.0)
    return full


def select_bne(equilibria: Sequence[BNE], selection: str = "max_total") -> BNE:
    """Pick one BNE.

    Args:
        equilibria: candidate equilibria (non-empty).
        selection: ``"max_total"`` (largest EV + PG expected gain; the payoff-dominant choice
            when one exists), ``"max_min"`` (largest smaller gain) or ``"min_difference"``
            (smallest |PG - EV|).
    """
    if not equilibria:
        raise ValueError("no equilibrium to select from")
    keys = {
        "max_total": lambda e: -(e.ev_gain + e.pg_gain),
        "max_min": lambda e: -min(e.ev_gain, e.pg_gain),
        "min_difference": lambda e: abs(e.pg_gain - e.ev_gain),
    }
    if selection not in keys:
        raise ValueError(f"selection must be one of {sorted(keys)}, got {selection!r}")
    return min(equilibria, key=keys[selection])


def bayesian_gains(
    params: GameParams | Mapping[str, Any],
    ev_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    pg_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    selection: str = "max_total",
    ev_field: str = "L_B",
    pg_field: str = "E_G",
) -> dict[str, Any]:
    """Each side's ex-ante expected gain at the selected BNE (yuan), to compare with Tab. 3.

    Args:
        params: game parameters; the gains are evaluated at ``params.p_d`` and ``params.E_d``.
        ev_types: EV type prior (see :func:`v2g_bayesian_game`); default :func:`default_priors`.
        pg_types: PG type prior.
        selection: equilibrium selection rule of :func:`select_bne`.
        ev_field: GameParams field that is the EV's type.
        pg_field: GameParams field that is the PG's type.

    Returns:
        ``{"EV", "PG", "difference" (PG - EV), "equilibrium" (sigma, tau, pure),
        "n_equilibria"}``.
    """
    game = v2g_bayesian_game(params, ev_types, pg_types, ev_field, pg_field)
    eqs = solve_bne(game)
    best = select_bne(eqs, selection)
    return {
        "EV": best.ev_gain,
        "PG": best.pg_gain,
        "difference": best.pg_gain - best.ev_gain,
        "equilibrium": {"sigma": list(best.sigma), "tau": list(best.tau), "pure": best.pure},
        "n_equilibria": len(eqs),
    }

"""Chance-constrained bids (models.md §1.4, (R1), (3), (4)): the problem (CP) and its solutions.

For hourly plug-in fractions ``y_t``, fleet size M, per-EV capability ψ and per-unit requirement
statistics ``r̄_t, σ_t`` (:mod:`v2gsim.market.requirement`), the platform's bid problem is

    max_{C >= 0}  Σ_t p̄_t C_t   s.t.  bound (3) or (4) and C_t <= ψ M y_t for every hour t,   (CP)

where bound (3) is ``r̄_t C_t - ψ M y_t + κ_f(η) sqrt(ψ² M v(y_t) + (σ^f_t C_t)²) <= 0`` and (4) the
same with κ_b(η), σ^b_t (:mod:`v2gsim.optimize.chance.bounds`), ``ψ M y_t`` the capability of the
EVs expected to be plugged in (the physical cap, ours: the bound alone admits more when
r̄_t + κσ_t < 1, e.g. for large η), and ``p̄_t`` the expected credit per kW of bid
(:func:`expected_price_per_kw`). (CP) separates by hour and p̄_t >= 0, so its solution is the
largest admitted bid of every hour with a positive expected price, in closed form
(:func:`closed_form_bids`: ``min(C*_t, ψ M y_t)``); :class:`ChanceBidProblem` is the cvxpy form
(built once with ``cp.Parameter`` s, DPP, re-solved with Clarabel) that the ``chance`` policy
checks it against. A quiet hour, where even C = 0 violates the bound (``y < κ²/(M + κ²)`` for
v = y(1-y)), gets C_t = 0 through the bound's explicit "no bid" switch instead of making the
problem infeasible.
"""

from __future__ import annotations

from typing import Literal

import cvxpy as cp
import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.core.solvers import SolveError, solve_checked
from v2gsim.market.settlement import KW_PER_MW, settlement_mileage
from v2gsim.optimize.chance.bounds import Bound, KDev, max_bid
from v2gsim.optimize.chance.cones import ChanceBound, bound_constraints

__all__ = ["ChanceBidProblem", "ChanceSolveError", "closed_form_bids", "expected_price_per_kw"]

_ZERO_BID_TOL = 1e-6
"""Solver bids below this fraction of the fleet capability ψM are reported as exactly 0 kW."""

_INTERIOR = 1e-7
"""Extra slack (fraction of ψM, kW) that gives degenerate hours an interior (:class:`ChanceBidProblem`)."""


class ChanceSolveError(SolveError):
    """The bid problem (CP) did not solve to optimality (status and inputs in the message)."""



def expected_price_per_kw(
    capability_price: ArrayLike,
    performance_price: ArrayLike,
    mean_mileage: ArrayLike,
    *,
    mileage_basis: Literal["signal", "ratio"] = "signal",
    rega_mileage: float = 6.58,
) -> NDArray[np.float64]:
    """Expected credit per kW of bid and hour, p̄_t (models.md §1.4, 1.1: capability + performance x mileage).

    ``p̄_t = (E[RMCCP_t] + E[RMPCP_t] · m_t) / 1000`` with ``m_t`` the expected settlement mileage of
    hour t (:func:`v2gsim.market.settlement.settlement_mileage` of the mean signal mileage). Negative
    or missing (NaN) values are returned as 0 (no bid pays then).

    Args:
        capability_price: ``(T,)`` expected capability price ($/MW-h).
        performance_price: ``(T,)`` expected performance price ($/ΔMW).
        mean_mileage: ``(T,)`` expected hourly signal mileage (ΔMW/MW).
        mileage_basis: ``"signal"`` or ``"ratio"`` (``market.mileage_basis``).
        rega_mileage: RegA benchmark mileage for the ratio basis (ΔMW/MW).

    Returns:
        ``(T,)`` expected price, $ per kW of bid per hour.
    """
    mil = settlement_mileage(np.asarray(mean_mileage, dtype=np.float64), mileage_basis,
                             rega_mileage=rega_mileage)
    p = (np.asarray(capability_price, dtype=np.float64)
         + np.asarray(performance_price, dtype=np.float64) * mil) / KW_PER_MW
    return np.maximum(np.nan_to_num(p, nan=0.0), 0.0)



def closed_form_bids(
    y: ArrayLike,
    M: float,
    psi: float,
    r_bar: ArrayLike,
    sigma: ArrayLike,
    price: ArrayLike,
    eta: float,
    bound: Bound = 3,
    k_dev: KDev = None,
) -> NDArray[np.float64]:
    """Solution of (CP) hour by hour: ``C_t = min(max_bid(...), ψ M y_t)`` where ``p̄_t > 0``, else 0.

    Args:
        y: ``(T,)`` predicted plug-in fractions (-).
        M: fleet size (EVs).
        psi: per-EV capability ψ (kW).
        r_bar: ``(T,)`` mean requirement (kW/kW).
        sigma: ``(T,)`` σ^f (bound 3) or σ^b (bound 4) of the requirement (kW/kW).
        price: ``(T,)`` expected price p̄_t ($/kW-h).
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: plug-in deviation, None/"variance" or "bernoulli".

    Returns:
        ``(T,)`` bids (kW), at most the plugged capability ``ψ M y_t``.
    """
    c = np.asarray(max_bid(y, M, psi, r_bar, sigma, eta, bound=bound, k_dev=k_dev, cap=True),
                   dtype=np.float64)
    c = np.broadcast_to(c, np.shape(price)).copy()
    c[np.asarray(price) <= 0.0] = 0.0
    return c


class ChanceBidProblem:
    """The cvxpy form of (CP), built once and re-solved with new parameters (DPP, Clarabel).

    ``max p̄ᵀC`` s.t. :func:`v2gsim.optimize.chance.cones.bound_constraints` with a constant-y parameter,
    the no-bid switch (a quiet hour admits exactly C_t = 0; the problem is always feasible) and the
    physical cap ``C_t <= ψ M y_t``.

    Numerics. The variable is the bid per unit of fleet capability, ``c = C / (ψ M)`` (about 0-1.2),
    so the problem is well scaled for any fleet. In a quiet hour (and an hour with y = 0) the switch
    admits the single point C_t = 0, a cone without interior, which interior-point solvers report as
    "optimal_inaccurate" when there are many such hours. Hours whose admitted interval is shorter
    than ``ε/r̄_t`` (left side at C = 0 above ``-ε``, ``ε = 1e-7 ψ M`` kW) therefore get ``ε`` of extra
    slack (and ``ε`` more room under the cap), which gives them an interior, and their bid is
    reported as 0 (the exact bid there is below ``ε/r̄_t``, since the left side grows at least like
    ``r̄ C``).

    The cap. On a day when no hour's bound admits more than ``ψ M y_t`` the cap cannot bind and
    the problem is solved without it; otherwise a second problem with the cap constraint (built on
    first need, :attr:`capped`) is solved. Both have the same solution where the cap does not bind;
    solving the plain one on such days keeps its results to the last digit (an unused constraint
    still moves an interior-point solver's iterates by ~1e-7 kW).

    Args:
        hours: number of hours T.
        M: fleet size (EVs).
        psi: per-EV capability ψ (kW).
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: plug-in deviation, None/"variance" or "bernoulli".
        solver: cvxpy solver name (default Clarabel).

    Attributes:
        problem: the ``cp.Problem`` without the cap.
        c: bid variable per unit of fleet capability ψM (-); the bid is ``C = ψ M c`` (kW).
        r_bar, sigma, price: parameters (kW/kW, kW/kW, $/kW-h).
        chance: the :class:`~v2gsim.optimize.chance.cones.ChanceBound` of ``problem`` (y, dev and
            slack parameters).
        capped: ``(problem, bound)`` with the cap ``C_t <= ψ M y_t``, None until a day needs it.
    """

    def __init__(self, hours: int, M: float, psi: float, eta: float, bound: Bound = 3,
                 k_dev: KDev = None, solver: str = cp.CLARABEL):
        self.hours, self.M, self.psi, self.eta = int(hours), float(M), float(psi), float(eta)
        self.bound, self.k_dev, self.solver = bound, k_dev, solver
        T = self.hours
        self.scale = self.psi * self.M  # kW per unit of c
        self.c = cp.Variable(T, name="bid_per_capability")
        self.r_bar = cp.Parameter(T, nonneg=True, name="r_bar")
        self.sigma = cp.Parameter(T, nonneg=True, name="sigma")
        self.price = cp.Parameter(T, nonneg=True, name="price")
        self.problem, self.chance = self._build(cap=False)
        self.capped: tuple[cp.Problem, ChanceBound] | None = None

    def _build(self, cap: bool) -> tuple[cp.Problem, ChanceBound]:
        """(CP) with the no-bid switch, with or without the cap (DPP)."""
        ch = bound_constraints(
            self.scale * self.c, np.zeros(self.hours), M=self.M, psi=self.psi, r_bar=self.r_bar,
            sigma=self.sigma, eta=self.eta, bound=self.bound, k_dev=self.k_dev, no_bid=True, cap=cap,
        )
        problem = cp.Problem(cp.Maximize(self.price @ self.c), ch.constraints)
        if not problem.is_dcp(dpp=True):  # pragma: no cover - guards future edits
            raise RuntimeError("the chance bid problem is not DPP")
        return problem, ch

    def _pick(self, y: NDArray, r_bar: NDArray, sigma: NDArray, price: NDArray
              ) -> tuple[cp.Problem, ChanceBound]:
        """The plain problem, or the capped one when some hour's bound admits more than ψ M y_t."""
        c_star = np.asarray(max_bid(y, self.M, self.psi, r_bar, sigma, self.eta, self.bound,
                                    self.k_dev), dtype=np.float64)
        if not np.any((c_star > self.scale * y) & (price > 0.0)):
            return self.problem, self.chance
        if self.capped is None:
            self.capped = self._build(cap=True)
        return self.capped

    def solve(
        self, y: ArrayLike, r_bar: ArrayLike, sigma: ArrayLike, price: ArrayLike
    ) -> NDArray[np.float64]:
        """Re-parameterise and solve; return the ``(T,)`` bids (kW), at most ``ψ M y_t``.

        Bids below ``1e-6 ψ M`` kW (solver noise around an exact 0), hours whose admitted interval is
        degenerate (see the class docstring) and hours with ``price <= 0`` (the objective does not
        pin their bid) are returned as 0.

        Raises:
            ValueError: on a zero requirement (r̄ = σ = 0 admits an unbounded bid) or bad shapes.
            ChanceSolveError: if the solver does not report an optimal solution.
        """
        T = self.hours
        ya, rb, sg, pr = (np.asarray(a, dtype=np.float64).reshape(T) for a in (y, r_bar, sigma, price))
        if np.any((rb <= 0) & (sg <= 0)):
            raise ValueError("r_bar = sigma = 0 in some hour: the bid would be unbounded")
        problem, ch = self._pick(ya, rb, sg, pr)
        ch.set_y(ya)
        assert ch.slack is not None and ch.dev is not None
        g0 = ch.kappa * ch.dev.value - self.scale * ya  # left side of the bound at C = 0 (kW)
        eps = _INTERIOR * self.scale
        degenerate = g0 > -eps
        ch.slack.value = ch.slack.value + np.where(degenerate, eps, 0.0)
        if ch.cap is not None:
            ch.cap.value = ch.cap.value + np.where(degenerate, eps, 0.0)
        if np.all(degenerate | (pr <= 0.0)):  # no hour admits a bid (or is paid): C = 0, exactly
            return np.zeros(T)
        self.r_bar.value, self.sigma.value, self.price.value = rb, sg, np.maximum(pr, 0.0)
        what = (f"chance bid problem (eta={self.eta}, bound={self.bound}, M={self.M:g}, "
                f"psi={self.psi:g} kW, y={np.round(ya, 4).tolist()})")
        try:
            report = solve_checked(problem, self.solver, name=what, diagnose=False, warn=False)
        except SolveError as exc:
            raise ChanceSolveError(str(exc), name=exc.name, solver=exc.solver, status=exc.status,
                                   summary=exc.summary) from exc
        if report.status != cp.OPTIMAL or self.c.value is None:
            raise ChanceSolveError(f"{what}: status {report.status!r}", name=what,
                                   solver=report.solver, status=report.status,
                                   summary=report.problem_class)
        bids = self.scale * np.asarray(self.c.value, dtype=np.float64)
        bids[degenerate | (bids < _ZERO_BID_TOL * self.scale) | (pr <= 0.0)] = 0.0
        return np.minimum(bids, self.scale * ya) if ch.cap is not None else bids

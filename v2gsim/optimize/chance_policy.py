"""Policy ``chance``: chance-constrained regulation bids without rebates (models.md §1.4, (R1), (3), (4)).

Every day the platform bids, hour by hour, the regulation capacity that maximises expected credits

    max_{C >= 0}  Σ_t p̄_t C_t   s.t.  bound (3) or (4) for every hour t,               (CP)

where bound (3) is ``r̄_t C_t - ψ M y_t + κ_f(η) sqrt(ψ² M v(y_t) + (σ^f_t C_t)²) <= 0`` and (4) the
same with κ_b(η), σ^b_t (:mod:`v2gsim.market.chance`). The ingredients:

* ``y_t``, the predicted fraction of the fleet plugged in during hour t: the persistency model's
  prediction ``obs.extra["plug_persistency"]`` when the observation carries it; otherwise the
  empirical plug-in frequency ``mean_d K_{d,t} / M`` over every observed day; otherwise (day 0) the
  scenario's ``platform.chance.prior_plug_fraction``. (``ChancePolicy(plug_source="history")``
  skips the persistency prediction; the validation study uses it to separate a persistency model
  that predicts plug-ins the sampled drivers do not make from the other effects.)
* ``ψ = obs.charger_kw`` (kW per EV) and ``M = obs.fleet_size``.
* ``r̄_t, σ^f_t, σ^b_t``: statistics of the per-unit requirement r̃_t at score target ``q = 1 - η``
  (:mod:`v2gsim.market.requirement`, eq. RQ), so that the event ``ψ K̃_t >= r̃_t C_t`` of (R1) is
  the event "hourly performance score >= 1 - η" (for a symmetric power window and no energy limit).
  They are estimated once per run from ``platform.chance.requirement_days`` synthetic RegD days
  (generator seeded by ``numpy.random.default_rng([scenario.seed, 4242])``, independent of the
  TSO's stream) or, when ``market.agc = "pjm_regd"``, from the PJM files the TSO replays.
* ``p̄_t`` ($ per kW-h): expected capability price + expected performance price x expected
  settlement mileage (the mean hourly signal mileage of hour t, or its ratio to the RegA benchmark
  with ``market.mileage_basis = "ratio"``), divided by 1000 because prices are per MW and bids in kW.
  The performance score multiplies both credits; it is >= 1 - η with probability >= 1 - η by
  construction and is left out of p̄ (a common factor close to 1).

(CP) separates by hour and p̄_t >= 0, so its solution is the largest admitted bid of every hour with a
positive expected price, given in closed form by :func:`v2gsim.market.chance.max_bid`. The policy
solves the cvxpy form of (CP) (:class:`ChanceBidProblem`: built once with ``cp.Parameter`` s for y,
r̄, σ and p̄, DPP, re-solved each day with Clarabel) and checks it against the closed form every
day (``Decision.info["max_gap_kw"]``). A quiet hour, where even C = 0 violates the bound
(``y < κ²/(M + κ²)`` for v = y(1-y)), gets C_t = 0 through the bound's explicit "no bid" switch
instead of making the problem infeasible. Hours whose expected price is not positive get no bid.

Baseline charging. In :mod:`v2gsim.fleet` a plugged EV charging at its baseline rate ``b`` offers
``ψ + b`` up and only ``ψ - b`` down, so the symmetric capability the bound assumes (``ψ K``) is
optimistic by up to ``ω K`` (``ω = drivers.baseline_charge_kw``) in the hours when EVs charge
(evenings, after the commute). ``ChancePolicy(reserve_kw=ω)`` plans with ``ψ - ω`` per EV, which
makes ``ψ_eff K >= r C`` a sufficient condition for score >= 1 - η in the fleet model (energy
limits aside). The registered policy follows the scenario schema (ψ = ``obs.charger_kw``, no
reserve); ``analysis/validate_chance_constraint.py`` measures both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import cvxpy as cp
import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.market.chance import Bound, KDev, kappa, max_bid, plugin_moments
from v2gsim.market.chance_cones import bound_constraints
from v2gsim.market.requirement import RequirementStats
from v2gsim.market.settlement import KW_PER_MW, settlement_mileage
from v2gsim.policies import Decision, Observation, Policy, register_policy

if TYPE_CHECKING:
    from v2gsim.config import Scenario

__all__ = [
    "REQUIREMENT_SEED_TAG",
    "ChanceBidProblem",
    "ChancePolicy",
    "ChanceSolveError",
    "closed_form_bids",
    "expected_price_per_kw",
    "policy_from_scenario",
    "predicted_plug_fraction",
    "requirement_stats_for",
]

REQUIREMENT_SEED_TAG = 4242
"""Second word of the seed ``[scenario.seed, 4242]`` of the synthetic requirement history."""

_ZERO_BID_TOL = 1e-6
"""Solver bids below this fraction of the fleet capability ψM are reported as exactly 0 kW."""

_INTERIOR = 1e-7
"""Extra slack (fraction of ψM, kW) that gives degenerate hours an interior (:class:`ChanceBidProblem`)."""


class ChanceSolveError(RuntimeError):
    """The bid problem (CP) did not solve to optimality (status and inputs in the message)."""


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------


def predicted_plug_fraction(
    obs: Observation, prior: float, source: Literal["auto", "history"] = "auto"
) -> tuple[NDArray[np.float64], str]:
    """Predicted fraction y_t of the fleet plugged in per hour, and where it came from.

    Order of preference: ``obs.extra["plug_persistency"]`` (persistency model, source
    ``"persistency"``; skipped with ``source="history"``), the mean observed plug-in count per hour
    over all of ``obs.plugged_history`` divided by ``obs.fleet_size`` (``"history"``), else
    ``prior`` for every hour (``"prior"``).

    Args:
        obs: the day-ahead observation.
        prior: plug-in probability used with no prediction and no history (-).
        source: ``"auto"`` (the order above) or ``"history"`` (ignore the persistency prediction).

    Returns:
        ``(y, source)``: ``(T,)`` fractions in [0, 1] and the source label.

    Raises:
        ValueError: if the persistency prediction is not a finite ``(T,)`` array.
    """
    if source not in ("auto", "history"):
        raise ValueError(f"source must be 'auto' or 'history', got {source!r}")
    T = obs.hours
    pred = obs.extra.get("plug_persistency") if obs.extra and source == "auto" else None
    if pred is not None:
        y = np.asarray(pred, dtype=np.float64).reshape(-1)
        if y.shape != (T,) or not np.all(np.isfinite(y)):
            raise ValueError(f"plug_persistency must be a finite ({T},) array, got shape {y.shape}")
        return np.clip(y, 0.0, 1.0), "persistency"
    hist = np.asarray(obs.plugged_history, dtype=np.float64)
    if hist.ndim == 2 and hist.shape[0] > 0:
        return np.clip(hist.mean(axis=0) / obs.fleet_size, 0.0, 1.0), "history"
    return np.full(T, float(prior)), "prior"


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


def policy_from_scenario(scenario: Scenario, **overrides: Any) -> ChancePolicy:
    """The ``chance`` policy of ``scenario`` (``[platform.chance]``, market settings), with overrides.

    Args:
        scenario: the scenario.
        **overrides: :class:`ChancePolicy` fields to replace (e.g. ``reserve_kw=3.3``,
            ``method="closed_form"``, ``stats=...``).

    Returns:
        The policy.
    """
    cfg = scenario.platform.chance
    kwargs: dict[str, Any] = {
        "eta": cfg.eta,
        "bound": cfg.bound,
        "k_dev": cfg.k_dev,
        "prior_plug_fraction": cfg.prior_plug_fraction,
        "mileage_basis": scenario.market.mileage_basis,
        "rega_mileage": scenario.market.rega_mileage,
        "plug_source": "auto" if cfg.plug_source == "persistency" else "history",
        "reserve_kw": scenario.drivers.baseline_charge_kw if cfg.capability == "headroom" else 0.0,
    }
    kwargs.update(overrides)
    if "stats" not in kwargs:
        kwargs["stats"] = requirement_stats_for(scenario, 1.0 - float(kwargs["eta"]))
    return ChancePolicy(**kwargs)


def requirement_stats_for(scenario: Scenario, score_target: float | None = None) -> RequirementStats:
    """The requirement statistics the ``chance`` policy uses for ``scenario``.

    PJM RegD files (``market.agc = "pjm_regd"``, every file of ``market.agc_files``, resolved
    relative to the scenario) or ``platform.chance.requirement_days`` synthetic days drawn with
    ``numpy.random.default_rng([scenario.seed, 4242])`` at ``market.mean_hourly_mileage``.

    Args:
        scenario: the scenario.
        score_target: score q of the requirement; default ``1 - platform.chance.eta``.

    Returns:
        Statistics for the first ``network.hours`` hours of the day.
    """
    cfg = scenario.platform.chance
    q = 1.0 - cfg.eta if score_target is None else float(score_target)
    hours = scenario.network.hours
    if scenario.market.agc == "pjm_regd":
        paths = [scenario.resolve_path(p) for p in scenario.market.agc_files]
        return RequirementStats.from_pjm_files(paths, score_target=q, hours=hours)
    rng = np.random.default_rng([scenario.seed, REQUIREMENT_SEED_TAG])
    return RequirementStats.from_synthetic(
        rng, cfg.requirement_days, scenario.market.mean_hourly_mileage, score_target=q, hours=hours
    )


# ------------------------------------------------------------------------------------------------
# the two solution methods
# ------------------------------------------------------------------------------------------------


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
    """Solution of (CP) hour by hour: ``C_t = max_bid(...)`` where ``p̄_t > 0``, else 0 (kW).

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
        ``(T,)`` bids (kW).
    """
    c = np.asarray(max_bid(y, M, psi, r_bar, sigma, eta, bound=bound, k_dev=k_dev), dtype=np.float64)
    c = np.broadcast_to(c, np.shape(price)).copy()
    c[np.asarray(price) <= 0.0] = 0.0
    return c


class ChanceBidProblem:
    """The cvxpy form of (CP), built once and re-solved with new parameters (DPP, Clarabel).

    ``max p̄ᵀC`` s.t. :func:`v2gsim.market.chance.bound_constraints` with a constant-y parameter and
    the no-bid switch (a quiet hour admits exactly C_t = 0; the problem is always feasible).

    Numerics. The variable is the bid per unit of fleet capability, ``c = C / (ψ M)`` (about 0-1.2),
    so the problem is well scaled for any fleet. In a quiet hour (and an hour with y = 0) the switch
    admits the single point C_t = 0, a cone without interior, which interior-point solvers report as
    "optimal_inaccurate" when there are many such hours. Hours whose admitted interval is shorter
    than ``ε/r̄_t`` (left side at C = 0 above ``-ε``, ``ε = 1e-7 ψ M`` kW) therefore get ``ε`` of extra
    slack, which gives them an interior, and their bid is reported as 0 (the exact bid there is
    below ``ε/r̄_t``, since the left side grows at least like ``r̄ C``).

    Args:
        hours: number of hours T.
        M: fleet size (EVs).
        psi: per-EV capability ψ (kW).
        eta: allowed violation probability η.
        bound: 3 or 4.
        k_dev: plug-in deviation, None/"variance" or "bernoulli".
        solver: cvxpy solver name (default Clarabel).

    Attributes:
        problem: the ``cp.Problem``.
        c: bid variable per unit of fleet capability ψM (-); the bid is ``C = ψ M c`` (kW).
        r_bar, sigma, price: parameters (kW/kW, kW/kW, $/kW-h).
        chance: the :class:`~v2gsim.market.chance.ChanceBound` (y, dev and slack parameters).
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
        self.chance = bound_constraints(
            self.scale * self.c, np.zeros(T), M=self.M, psi=self.psi, r_bar=self.r_bar,
            sigma=self.sigma, eta=self.eta, bound=bound, k_dev=k_dev, no_bid=True,
        )
        self.problem = cp.Problem(cp.Maximize(self.price @ self.c), self.chance.constraints)
        if not self.problem.is_dcp(dpp=True):  # pragma: no cover - guards future edits
            raise RuntimeError("the chance bid problem is not DPP")

    def solve(
        self, y: ArrayLike, r_bar: ArrayLike, sigma: ArrayLike, price: ArrayLike
    ) -> NDArray[np.float64]:
        """Re-parameterise and solve; return the ``(T,)`` bids (kW).

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
        ch = self.chance
        ch.set_y(ya)
        assert ch.slack is not None and ch.dev is not None
        g0 = ch.kappa * ch.dev.value - self.scale * ya  # left side of the bound at C = 0 (kW)
        eps = _INTERIOR * self.scale
        degenerate = g0 > -eps
        ch.slack.value = ch.slack.value + np.where(degenerate, eps, 0.0)
        self.r_bar.value, self.sigma.value, self.price.value = rb, sg, np.maximum(pr, 0.0)
        try:
            self.problem.solve(solver=self.solver)
        except cp.SolverError as exc:
            raise ChanceSolveError(f"{self.solver} failed on the chance bid problem: {exc}") from exc
        if self.problem.status != cp.OPTIMAL or self.c.value is None:
            raise ChanceSolveError(
                f"chance bid problem status {self.problem.status!r} (eta={self.eta}, bound="
                f"{self.bound}, M={self.M:g}, psi={self.psi:g} kW, y={np.round(ya, 4).tolist()})"
            )
        bids = self.scale * np.asarray(self.c.value, dtype=np.float64)
        bids[degenerate | (bids < _ZERO_BID_TOL * self.scale) | (pr <= 0.0)] = 0.0
        return bids


# ------------------------------------------------------------------------------------------------
# the policy
# ------------------------------------------------------------------------------------------------


@dataclass
class ChancePolicy:
    """No rebates; bid the expected-credit-maximising capacity admitted by bound (3) or (4).

    Args:
        stats: requirement statistics per hour of day (at score target ``1 - eta`` normally).
        eta: allowed violation probability η.
        bound: 3 or 4 (models.md §1.4).
        k_dev: ``"variance"`` (v = y(1-y), as in the paper) or ``"bernoulli"`` (exact deviation).
        prior_plug_fraction: y used on day 0 without a persistency prediction (-).
        mileage_basis: settlement mileage basis (``market.mileage_basis``).
        rega_mileage: RegA benchmark mileage for the ratio basis (ΔMW/MW).
        method: ``"cvxpy"`` (solve :class:`ChanceBidProblem`, check against the closed form) or
            ``"closed_form"``.
        reserve_kw: per-EV power held back from the bound for baseline charging (kW); the bound
            uses ``ψ = obs.charger_kw - reserve_kw`` (see the module docstring).
        plug_source: ``"auto"`` (persistency prediction, else history, else prior) or
            ``"history"`` (never the persistency prediction), see :func:`predicted_plug_fraction`.
    """

    stats: RequirementStats
    eta: float
    bound: Bound = 3
    k_dev: Literal["variance", "bernoulli"] = "variance"
    prior_plug_fraction: float = 0.3
    mileage_basis: Literal["signal", "ratio"] = "signal"
    rega_mileage: float = 6.58
    method: Literal["cvxpy", "closed_form"] = "cvxpy"
    reserve_kw: float = 0.0
    plug_source: Literal["auto", "history"] = "auto"
    name: str = "chance"
    _problem: ChanceBidProblem | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.eta < 1.0:
            raise ValueError(f"eta must lie in (0, 1), got {self.eta}")
        if self.bound not in (3, 4):
            raise ValueError(f"bound must be 3 or 4, got {self.bound!r}")
        if self.method not in ("cvxpy", "closed_form"):
            raise ValueError(f"method must be 'cvxpy' or 'closed_form', got {self.method!r}")
        if not self.reserve_kw >= 0.0:
            raise ValueError(f"reserve_kw must be >= 0 kW, got {self.reserve_kw}")
        if np.any(self.stats.r_bar <= 0.0):
            raise ValueError("the requirement statistics have r_bar <= 0 (a signal without mileage)")

    def problem(self, hours: int, M: float, psi: float) -> ChanceBidProblem:
        """The cvxpy problem for (T, M, ψ), built on first use and kept while they do not change."""
        p = self._problem
        if p is None or (p.hours, p.M, p.psi) != (hours, float(M), float(psi)):
            self._problem = ChanceBidProblem(hours, M, psi, self.eta, self.bound, self.k_dev)
        return self._problem

    def decide(self, obs: Observation) -> Decision:
        """Tomorrow's bids (kW) and zero rebates, with diagnostics in ``Decision.info``.

        ``info``: ``y_source`` (persistency | history | prior), ``y_mean``, ``hours_no_bid`` (hours
        with C_t = 0), ``hours_quiet`` (hours where the bound admits no positive bid),
        ``expected_credit`` ($, Σ p̄_t C_t), ``kappa``, ``score_target``, ``method``,
        ``max_gap_kw`` (cvxpy vs closed form; 0 for the closed form) and ``solve_s``.
        """
        T = obs.hours
        if self.stats.hours < T:
            raise ValueError(f"requirement statistics cover {self.stats.hours} hours, the day has {T}")
        M, psi = float(obs.fleet_size), float(obs.charger_kw) - self.reserve_kw
        if not psi > 0.0:
            raise ValueError(f"reserve_kw ({self.reserve_kw} kW) leaves no capability of {obs.charger_kw} kW")
        y, source = predicted_plug_fraction(obs, self.prior_plug_fraction, self.plug_source)
        r_bar = self.stats.r_bar[:T]
        sigma = self.stats.sigma(self.bound)[:T]
        price = expected_price_per_kw(
            obs.capability_price, obs.performance_price, self.stats.mean_mileage[:T],
            mileage_basis=self.mileage_basis, rega_mileage=self.rega_mileage,
        )
        closed = closed_form_bids(y, M, psi, r_bar, sigma, price, self.eta, self.bound, self.k_dev)
        t0 = time.perf_counter()
        if self.method == "cvxpy":
            bids = self.problem(T, M, psi).solve(y, r_bar, sigma, price)
            gap = float(np.max(np.abs(bids - closed)))
        else:
            bids, gap = closed, 0.0
        solve_s = time.perf_counter() - t0
        mean, dev_sq = plugin_moments(y, M, bound=self.bound, k_dev=self.k_dev)
        k = float(kappa(self.eta, self.bound))
        quiet = psi * mean <= k * psi * np.sqrt(dev_sq)  # the bound admits no positive bid
        info: dict[str, Any] = {
            "y_source": source,
            "y_mean": float(y.mean()),
            "hours_no_bid": int(np.count_nonzero(bids == 0.0)),
            "hours_quiet": int(np.count_nonzero(quiet)),
            "expected_credit": float(price @ bids),
            "kappa": k,
            "score_target": float(self.stats.score_target),
            "method": self.method,
            "max_gap_kw": gap,
            "solve_s": solve_s,
        }
        return Decision(rebate=np.zeros(T), bid_kw=bids, info=info)


@register_policy("chance")
def _make_chance(scenario: Scenario) -> Policy:
    """Factory for ``[platform] policy = "chance"`` (settings in ``[platform.chance]``)."""
    return policy_from_scenario(scenario)

"""Policy ``chance``: chance-constrained regulation bids without rebates (models.md §1.4, (R1), (3), (4)).

Every day the platform bids, hour by hour, the regulation capacity that maximises expected credits

    max_{C >= 0}  Σ_t p̄_t C_t   s.t.  bound (3) or (4) and C_t <= ψ M y_t for every hour t,   (CP)

where bound (3) is ``r̄_t C_t - ψ M y_t + κ_f(η) sqrt(ψ² M v(y_t) + (σ^f_t C_t)²) <= 0`` and (4) the
same with κ_b(η), σ^b_t (:mod:`v2gsim.optimize.chance.bounds`), and ``ψ M y_t`` the capability of
the EVs expected to be plugged in: no bid exceeds it, whatever η (the physical cap; the bound alone
admits more when r̄_t + κσ_t < 1, e.g. 12 times more at η = 0.9). The ingredients:

* ``y_t``, the predicted fraction of the fleet plugged in during hour t: the persistency model's
  prediction ``obs.beliefs.plug_fraction`` when the observation carries beliefs; otherwise the
  empirical plug-in frequency ``mean_d K_{d,t} / M`` over every observed day; otherwise (day 0) the
  scenario's ``platform.chance.prior_plug_fraction``. (``ChancePolicy(plug_source="history")``
  skips the persistency prediction; the validation study uses it to separate a persistency model
  that predicts plug-ins the sampled drivers do not make from the other effects.)
  With the seed-001 game (``obs.cooperation_share`` = x) only the cooperating plugged EVs are
  offered, so the policy plans for the offered EVs: each EV is offered with probability ``x y_t``
  (its strategy independent of its plug-in; the beliefs are calibrated on all plugged EVs and
  scaled by x). Without it, 27 % of the bid hours of ``lin2020``'s first days scored below the
  target and, from x0 = 0.3, 96 % over 40 days (issue 33).
* ``ψ = obs.charger_kw`` (kW per EV) and ``M = obs.fleet_size``.
* ``r̄_t, σ^f_t, σ^b_t``: statistics of the per-unit requirement r̃_t at score target ``q = 1 - η``
  (:mod:`v2gsim.market.requirement`, eq. RQ), so that the event ``ψ K̃_t >= r̃_t C_t`` of (R1) is
  the event "hourly performance score >= 1 - η" (for a symmetric power window and no energy limit).
  They are per clock hour: hour t of a day of T hours (2-48) uses the statistics of clock hour
  ``t mod H`` of the H hours they were estimated for (:meth:`RequirementStats.at_hours`).
  They are given to the policy (:class:`~v2gsim.policies.base.PolicyInputs`): the run estimates
  them once from its AGC history (``platform.chance.requirement_days`` synthetic RegD days of the
  history stream :func:`v2gsim.core.rng.history_rng`, independent of the TSO's stream, or, when
  ``market.agc = "pjm_regd"``, the PJM files the TSO replays).
* ``p̄_t`` ($ per kW-h): expected capability price + expected performance price x expected
  settlement mileage (the mean hourly signal mileage of hour t, or its ratio to the RegA benchmark
  with ``market.mileage_basis = "ratio"``), divided by 1000 because prices are per MW and bids in kW.
  The performance score multiplies both credits; it is >= 1 - η with probability >= 1 - η by
  construction and is left out of p̄ (a common factor close to 1).

(CP) separates by hour and p̄_t >= 0, so its solution is the largest admitted bid of every hour with a
positive expected price, capped, given in closed form by :func:`v2gsim.optimize.chance.bounds.max_bid`
(``cap=True``). The policy
solves the cvxpy form of (CP) (:class:`~v2gsim.optimize.chance.bids.ChanceBidProblem`: built once
with ``cp.Parameter`` s for y, r̄, σ and p̄, DPP, re-solved each day with Clarabel) and checks it
against the closed form every day (``Decision.info["max_gap_kw"]``). A quiet hour, where even
C = 0 violates the bound (``y < κ²/(M + κ²)`` for v = y(1-y)), gets C_t = 0 through the bound's
explicit "no bid" switch instead of making the problem infeasible. Hours whose expected price is
not positive get no bid.

Baseline charging. In :mod:`v2gsim.core.fleet` a plugged EV charging at its baseline rate ``b`` offers
``ψ + b`` up and only ``ψ - b`` down, so the symmetric capability the bound assumes (``ψ K``) is
optimistic by up to ``ω K`` (``ω = drivers.baseline_charge_kw``) in the hours when EVs charge
(evenings, after the commute). ``ChancePolicy(reserve_kw=ω)`` plans with ``ψ - ω`` per EV, which
makes ``ψ_eff K >= r C`` a sufficient condition for score >= 1 - η in the fleet model (energy
limits aside). The scenario's ``platform.chance.capability`` chooses: ``"headroom"`` (the default)
plans with ``ψ - ω``, ``"charger"`` with ``ψ``; ``analysis/validate_chance_constraint.py`` measures
both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from v2gsim.market.requirement import RequirementStats
from v2gsim.optimize.chance.bids import ChanceBidProblem, closed_form_bids, expected_price_per_kw
from v2gsim.optimize.chance.bounds import ETA_MAX, ETA_MIN, Bound, kappa, max_bid, plugin_moments
from v2gsim.policies.base import Decision, Observation, PolicyInputs

__all__ = ["ChancePolicy", "ChanceSpec", "make_chance", "predicted_plug_fraction"]


@dataclass(frozen=True)
class ChanceSpec:
    """Settings of ``chance`` (``[platform.chance]`` with the market's mileage settings).

    Built by :func:`v2gsim.specs.build.chance_spec`; the table's defaults are the schema's
    (:class:`v2gsim.config.platform.ChanceConfig`). Only ``method``, which no scenario sets, has one.

    Attributes:
        eta: allowed violation probability η of hourly performance (-).
        bound: 3 or 4 (models.md §1.4).
        k_dev: ``"variance"`` or ``"bernoulli"`` spread of the plug-in count.
        prior_plug_fraction: y used before any day has been observed, without a prediction (-).
        plug_source: ``"auto"`` (persistency prediction, else history, else prior) or
            ``"history"`` (never the persistency prediction).
        reserve_kw: per-EV power held back for baseline charging (kW): ω with capability
            ``"headroom"``, 0 with ``"charger"``.
        mileage_basis: settlement mileage basis (``market.mileage_basis``).
        rega_mileage: RegA benchmark mileage of the ratio basis (ΔMW/MW).
        requirement_days: synthetic AGC days of the history the requirement is estimated on.
        method: ``"cvxpy"`` or ``"closed_form"``.
    """

    eta: float
    bound: Bound
    k_dev: Literal["variance", "bernoulli"]
    prior_plug_fraction: float
    plug_source: Literal["auto", "history"]
    reserve_kw: float
    mileage_basis: Literal["signal", "ratio"]
    rega_mileage: float
    requirement_days: int
    method: Literal["cvxpy", "closed_form"] = "cvxpy"
    name: str = "chance"

    @property
    def score_target(self) -> float:
        """Score q = 1 - η the requirement statistics must be computed at."""
        return 1.0 - self.eta


def predicted_plug_fraction(
    obs: Observation, prior: float, source: Literal["auto", "history"] = "auto"
) -> tuple[NDArray[np.float64], str]:
    """Predicted fraction y_t of the fleet plugged in per hour, and where it came from.

    Order of preference: ``obs.beliefs.plug_fraction`` (persistency model, source
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
    pred = obs.beliefs.plug_fraction if obs.beliefs is not None and source == "auto" else None
    if pred is not None:
        y = np.asarray(pred, dtype=np.float64).reshape(-1)
        if y.shape != (T,) or not np.all(np.isfinite(y)):
            raise ValueError(f"plug_fraction must be a finite ({T},) array, got shape {y.shape}")
        return np.clip(y, 0.0, 1.0), "persistency"
    hist = np.asarray(obs.plugged_history, dtype=np.float64)
    if hist.ndim == 2 and hist.shape[0] > 0:
        return np.clip(hist.mean(axis=0) / obs.fleet_size, 0.0, 1.0), "history"
    return np.full(T, float(prior)), "prior"


@dataclass
class ChancePolicy:
    """No rebates; bid the expected-credit-maximising capacity admitted by bound (3) or (4).

    Args:
        stats: requirement statistics per hour of day (at score target ``1 - eta`` normally).
        eta: allowed violation probability η, in [1e-6, 1/2] (:data:`~v2gsim.optimize.chance.bounds.ETA_MIN`,
            :data:`~v2gsim.optimize.chance.bounds.ETA_MAX`).
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
        if not ETA_MIN <= self.eta <= ETA_MAX:
            raise ValueError(f"eta must lie in [{ETA_MIN:g}, {ETA_MAX}], got {self.eta}: past 1/2 "
                             "bounds (3)/(4) stop being a guarantee, below 1e-6 no fleet can bid "
                             "(v2gsim.optimize.chance.bounds)")
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
        ``hours_capped`` (hours whose bid is the plugged capability ψ M y_t, not the bound's),
        ``expected_credit`` ($, Σ p̄_t C_t), ``kappa``, ``score_target``, ``method``,
        ``max_gap_kw`` (cvxpy vs closed form; 0 for the closed form) and ``solve_s``.
        """
        T = obs.hours
        M, psi = float(obs.fleet_size), float(obs.charger_kw) - self.reserve_kw
        if not psi > 0.0:
            raise ValueError(f"reserve_kw ({self.reserve_kw} kW) leaves no capability of {obs.charger_kw} kW")
        y, source = predicted_plug_fraction(obs, self.prior_plug_fraction, self.plug_source)
        if obs.cooperation_share is not None:  # only the cooperating plugged EVs are offered
            y = y * float(obs.cooperation_share)
        stats = self.stats.at_hours(T)
        r_bar, sigma = stats.r_bar, stats.sigma(self.bound)
        price = expected_price_per_kw(
            obs.capability_price, obs.performance_price, stats.mean_mileage,
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
        bound_only = max_bid(y, M, psi, r_bar, sigma, self.eta, self.bound, self.k_dev)
        capped = (price > 0.0) & (np.asarray(bound_only) > psi * mean) & (psi * mean > 0.0)
        info: dict[str, Any] = {
            "y_source": source,
            "y_mean": float(y.mean()),
            "hours_no_bid": int(np.count_nonzero(bids == 0.0)),
            "hours_quiet": int(np.count_nonzero(quiet)),
            "hours_capped": int(np.count_nonzero(capped)),
            "expected_credit": float(price @ bids),
            "kappa": k,
            "score_target": float(self.stats.score_target),
            "method": self.method,
            "max_gap_kw": gap,
            "solve_s": solve_s,
        }
        return Decision(rebate=np.zeros(T), bid_kw=bids, predicted_profit=info["expected_credit"],
                        info=info)



def make_chance(spec: ChanceSpec, inputs: PolicyInputs) -> ChancePolicy:
    """Build ``chance`` from its settings and the requirement statistics of the run's AGC history.

    Raises:
        ValueError: ``inputs.requirement`` is missing.
    """
    if inputs.requirement is None:
        raise ValueError("policy 'chance' needs requirement statistics (PolicyInputs.requirement)")
    return ChancePolicy(
        stats=inputs.requirement, eta=spec.eta, bound=spec.bound, k_dev=spec.k_dev,
        prior_plug_fraction=spec.prior_plug_fraction, mileage_basis=spec.mileage_basis,
        rega_mileage=spec.rega_mileage, method=spec.method, reserve_kw=spec.reserve_kw,
        plug_source=spec.plug_source,
    )

"""PlatformAgent: the aggregator. plan (observe -> policy) -> predict -> dispatch -> record the day.

It plans tomorrow's rebates and bids with its policy (:mod:`v2gsim.policies`), given at creation,
and, during the day, allocates the AGC signal across the plugged-in EVs within their power and SOC
limits (:func:`v2gsim.market.agc.follow_signal`). Its beliefs about the drivers are one persistency
model per cluster (:class:`~v2gsim.behavior.beliefs.ClusterBeliefs`); the policy sees a snapshot of
them (:class:`~v2gsim.policies.base.PlugBeliefs`), never the live object.

When the persistency solve of the beliefs fails (a typed
:class:`~v2gsim.core.solvers.SolveError`, e.g. ``PersistencySolveError`` when the damped
Newton on (D4) and the conic fallback do not converge for extreme utilities), the platform falls
back instead of stopping the run: it keeps its last prediction, or goes without one (the policy
then sees no beliefs; the day's predicted plug-ins are NaN), and records the reason
(:attr:`PlatformAgent.fallbacks`; the daily table's ``policy_status`` and ``fallback_reason`` read
``belief fallback: ...`` on such a day). The same holds for the evening's re-calibration of
calibrated beliefs (phase ``recalibrate``, e.g. Newton on (D4) not converging for a plug-in
utility of almost no spread): the beliefs stay yesterday's, all of them (no cluster is half
re-calibrated), and the day's ``belief_error`` is NaN. Only the ``extremal`` utility
distribution, which samples from the persistency solution itself, cannot go without one: it stops
with the typed error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import mesa
import numpy as np

from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.persistency import ClusterPersistency
from v2gsim.core.solvers import SolveError
from v2gsim.market.agc import FollowResult, follow_signal
from v2gsim.policies.base import Decision, Observation, PlugBeliefs, Policy

if TYPE_CHECKING:
    from v2gsim.behavior.mobility.core import Sessions
    from v2gsim.core.fleet import HourFlows
    from v2gsim.specs.run import BeliefSpec

__all__ = ["PlatformAgent"]


class PlatformAgent(mesa.Agent):
    """The V2G aggregator platform.

    Args:
        model: the model.
        policy: the decision policy.
        beliefs: persistency models of the driver clusters (what the platform expects drivers to do).
        belief_spec: how the beliefs are kept (re-calibration).
        fleet_size: number of EVs M.
        charger_kw: per-EV regulation capability psi (kW).
        hours: hours of a day T.

    Attributes:
        plugged_history: list of (T,) realized plugged-in counts, one per past day.
        score_history: list of (T,) performance scores of the TSO, one per past day (NaN in an hour
            without a bid).
        decision: the decision in force today.
        fallbacks: ``(day, phase, reason)`` of every failed belief solve (phase ``observe``: the
            day-ahead prediction without rebates; ``predict``: the prediction under the day's
            rebates; ``recalibrate``: the evening's re-calibration to the observed plug-ins).
    """

    def __init__(self, model: mesa.Model, policy: Policy, beliefs: ClusterBeliefs,
                 belief_spec: BeliefSpec, fleet_size: int, charger_kw: float, hours: int):
        super().__init__(model)
        self.policy = policy
        self.beliefs = beliefs
        self.belief_spec = belief_spec
        self.fleet_size = int(fleet_size)
        self.charger_kw = float(charger_kw)
        self.hours = int(hours)
        self.plugged_history: list[np.ndarray] = []
        self.score_history: list[np.ndarray] = []
        self.detail_history: list[dict[tuple[int, str], np.ndarray]] = []
        self.rebate_history: list[np.ndarray] = []
        self.decision: Decision | None = None
        self.fallbacks: list[tuple[int, str, str]] = []
        self._today: list[str] = []
        self._day = 0
        self._base: PlugBeliefs | None = None
        self._prediction: ClusterPersistency | None = None

    def _fallback(self, phase: str, exc: SolveError) -> None:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        self.fallbacks.append((self._day, phase, reason))
        self._today.append(f"{phase}: {reason}")

    def status(self, policy_status: str) -> str:
        """The day's ``policy_status``: the policy's, prefixed by ``belief fallback: ...`` when a
        belief solve failed today (unchanged otherwise)."""
        if not self._today:
            return policy_status
        note = "belief fallback: " + "; ".join(self._today)
        return f"{note}; {policy_status}" if policy_status else note

    def fallback_reason(self, decision: Decision) -> str:
        """The day's ``fallback_reason``: failed belief solves and the policy's own fallback."""
        parts = [f"belief fallback: {note}" for note in self._today]
        if decision.fallback_reason:
            parts.append(f"policy fallback: {decision.fallback_reason}")
        return "; ".join(parts)

    def observe(self, day: int, capability_price: np.ndarray, performance_price: np.ndarray,
                energy_kwh: np.ndarray | None = None, energy_price: np.ndarray | None = None,
                energy_sell_price: np.ndarray | None = None, sessions: Sessions | None = None,
                cooperation_share: float | None = None) -> Observation:
        """The platform's day-ahead information (history, price forecast, a snapshot of beliefs,
        the fleet's stored energy and the day's energy prices when given).

        With ``sessions`` (a session model drives the loop) the observation carries no beliefs: the
        drivers' path model does not say who plugs in then, so a policy plans from the declared
        sessions or the observed plug-in history instead.
        """
        hist = (np.vstack(self.plugged_history) if self.plugged_history
                else np.zeros((0, self.hours)))
        if day != self._day:
            self._day, self._today = day, []
        if sessions is not None:
            beliefs = None
        else:
            beliefs = self._belief_snapshot()
        return Observation(
            day=day, hours=self.hours, fleet_size=self.fleet_size, charger_kw=self.charger_kw,
            plugged_history=hist, capability_price=capability_price,
            performance_price=performance_price, beliefs=beliefs, energy_kwh=energy_kwh,
            energy_price=energy_price, energy_sell_price=energy_sell_price, sessions=sessions,
            score_history=(np.vstack(self.score_history) if self.score_history
                           else np.zeros((0, self.hours))),
            cooperation_share=cooperation_share,
        )

    def _belief_snapshot(self) -> PlugBeliefs | None:
        """Today's beliefs without rebates (the last ones, or None, when the prediction fails)."""
        try:
            base = self.beliefs.predict()
        except SolveError as exc:  # keep the last prediction, or none (module docstring)
            self._fallback("observe", exc)
            beliefs = (None if self._base is None else
                       replace(self._base, networks=tuple(self.beliefs.networks)))
        else:
            beliefs = PlugBeliefs(
                networks=tuple(self.beliefs.networks), sizes=np.array(self.beliefs.sizes),
                plug_fraction=base.expected / self.fleet_size, cluster_plug_fraction=base.y,
            )
            self._base = beliefs
        return beliefs

    def decide(self, obs: Observation) -> Decision:
        """Call the policy and keep its decision for today.

        Raises:
            ValueError: the policy returned arrays of the wrong shape.
        """
        decision = self.policy.decide(obs)
        hours = obs.hours
        if decision.bid_kw.shape != (hours,) or decision.rebate.shape != (hours,):
            raise ValueError(
                f"policy {self.policy.name!r} must return ({hours},) rebates and bids, got "
                f"{decision.rebate.shape} and {decision.bid_kw.shape}"
            )
        self.decision = decision
        return decision

    def plan(self, day: int, capability_price: np.ndarray, performance_price: np.ndarray,
             **known: np.ndarray) -> Decision:
        """Phase 1: observe and decide tomorrow's rebates and bids (``known``: the further
        :meth:`observe` arguments)."""
        return self.decide(self.observe(day, capability_price, performance_price, **known))

    def predict(self, rebate: np.ndarray, required: bool = False) -> ClusterPersistency:
        """Predicted plug-ins (persistency model) under the day's rebates.

        On a failed solve: the last prediction, else (no prediction yet) one with NaN plug-ins
        and no arc solutions; the reason is recorded (module docstring).

        Args:
            rebate: (T,) rebates ($ per plugged EV-hour).
            required: the caller needs the arc solutions (``extremal`` utilities): a failure with
                no earlier prediction re-raises.

        Raises:
            SolveError: the solve failed, no earlier prediction exists and ``required`` is set.
        """
        try:
            self._prediction = self.beliefs.predict(rebate)
        except SolveError as exc:
            if self._prediction is None and required:
                raise
            self._fallback("predict", exc)
            if self._prediction is None:
                k = len(self.beliefs.networks)
                return ClusterPersistency(results=(), weights=np.array(self.beliefs.sizes),
                                          y=np.full((k, self.hours), np.nan))
        return self._prediction

    def dispatch(self, signal_hour: np.ndarray, bid_kw: float, flows: HourFlows) -> FollowResult:
        """Follow one hour of AGC with the plugged fleet's aggregate capability."""
        return follow_signal(
            signal_hour[None, :],
            np.array([bid_kw]),
            np.array([flows.p_up_kw]),
            np.array([flows.p_down_kw]),
            np.array([flows.e_up_kwh]),
            np.array([flows.e_down_kwh]),
            dt_s=2.0,
        )

    def record_scores(self, scores: np.ndarray) -> None:
        """Remember the day's (T,) performance scores per hour (NaN in an hour without a bid)."""
        self.score_history.append(np.asarray(scores, dtype=float))

    def record_day(self, plugged_counts: np.ndarray,
                   detail: dict[tuple[int, str], np.ndarray] | None = None,
                   rebate: np.ndarray | None = None) -> float:
        """Remember the day's realized plug-ins; re-calibrate the beliefs when it is time.

        Args:
            plugged_counts: (T,) EVs plugged in (and offered to the platform) per hour.
            detail: (cluster, charger place) -> (T,) plugged counts.
            rebate: (T,) rebates paid per plugged EV-hour ($).

        Returns:
            The largest calibration error max |y - observed| when the beliefs were re-calibrated
            today (with beliefs ``"calibrated"``), else NaN (also when the re-calibration failed
            with a typed solver error: the beliefs stay yesterday's and the day records a belief
            fallback, phase ``recalibrate``).
        """
        self.plugged_history.append(np.asarray(plugged_counts, dtype=float))
        self.detail_history.append(dict(detail or {}))
        self.rebate_history.append(np.zeros(self.hours) if rebate is None else np.asarray(rebate))
        cfg = self.belief_spec
        if cfg.mode != "calibrated" or len(self.plugged_history) % cfg.recalibrate_every:
            return float("nan")
        window = self.detail_history[-cfg.calibration_days:]
        sizes = self.beliefs.sizes
        observed = {key: np.mean([d[key] for d in window], axis=0) / sizes[key[0]]
                    for key in window[-1]}
        reb = np.mean(self.rebate_history[-cfg.calibration_days:], axis=0)
        try:
            errors = self.beliefs.recalibrate(observed, reb)
        except SolveError as exc:  # keep yesterday's beliefs (module docstring)
            self._fallback("recalibrate", exc)
            return float("nan")
        return max(errors.values(), default=float("nan"))

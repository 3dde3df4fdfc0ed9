"""PlatformAgent: the aggregator. plan (observe -> policy) -> predict -> dispatch -> record the day.

It plans tomorrow's rebates and bids with its policy (:mod:`v2gsim.policies`), given at creation,
and, during the day, allocates the AGC signal across the plugged-in EVs within their power and SOC
limits (:func:`v2gsim.market.agc.follow_signal`). Its beliefs about the drivers are one persistency
model per cluster (:class:`~v2gsim.behavior.beliefs.ClusterBeliefs`); the policy sees a snapshot of
them (:class:`~v2gsim.policies.base.PlugBeliefs`), never the live object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.persistency import ClusterPersistency
from v2gsim.market.agc import FollowResult, follow_signal
from v2gsim.policies.base import Decision, Observation, PlugBeliefs, Policy

if TYPE_CHECKING:
    from v2gsim.fleet import HourFlows
    from v2gsim.specs import BeliefSpec

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
        decision: the decision in force today.
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
        self.detail_history: list[dict[tuple[int, str], np.ndarray]] = []
        self.rebate_history: list[np.ndarray] = []
        self.decision: Decision | None = None

    def observe(self, day: int, capability_price: np.ndarray,
                performance_price: np.ndarray) -> Observation:
        """The platform's day-ahead information (history, price forecast, a snapshot of beliefs)."""
        hist = (np.vstack(self.plugged_history) if self.plugged_history
                else np.zeros((0, self.hours)))
        base = self.beliefs.predict()
        beliefs = PlugBeliefs(
            networks=tuple(self.beliefs.networks), sizes=np.array(self.beliefs.sizes),
            plug_fraction=base.expected / self.fleet_size, cluster_plug_fraction=base.y,
        )
        return Observation(
            day=day, hours=self.hours, fleet_size=self.fleet_size, charger_kw=self.charger_kw,
            plugged_history=hist, capability_price=capability_price,
            performance_price=performance_price, beliefs=beliefs,
        )

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

    def plan(self, day: int, capability_price: np.ndarray, performance_price: np.ndarray) -> Decision:
        """Phase 1: observe and decide tomorrow's rebates and bids."""
        return self.decide(self.observe(day, capability_price, performance_price))

    def predict(self, rebate: np.ndarray) -> ClusterPersistency:
        """Predicted plug-ins (persistency model) under the day's rebates."""
        return self.beliefs.predict(rebate)

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
            today (with beliefs ``"calibrated"``), else NaN.
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
        errors = self.beliefs.recalibrate(observed, reb)
        return max(errors.values(), default=float("nan"))

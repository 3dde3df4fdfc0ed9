"""PlatformAgent: the aggregator. observe -> decide (policy by name) -> dispatch.

It plans tomorrow's rebates and bids with its policy (:mod:`v2gsim.policies`) and, during the day,
allocates the AGC signal across the plugged-in EVs within their power and SOC limits
(:func:`v2gsim.market.agc.follow_signal`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.persistency import ClusterPersistency as PlugPrediction
from v2gsim.market.agc import FollowResult, follow_signal
from v2gsim.policies import Decision, Observation, make_policy

if TYPE_CHECKING:
    from v2gsim.config import Scenario
    from v2gsim.fleet import HourFlows

__all__ = ["PlatformAgent"]


class PlatformAgent(mesa.Agent):
    """The V2G aggregator platform.

    Attributes:
        beliefs: persistency models of the driver clusters (what the platform expects drivers to do).
        policy: the decision policy named in the scenario.
        plugged_history: list of (T,) realized plugged-in counts, one per past day.
        decision: the decision in force today.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, beliefs: ClusterBeliefs):
        super().__init__(model)
        self.scenario = scenario
        self.beliefs = beliefs
        self.policy = make_policy(scenario)
        self.plugged_history: list[np.ndarray] = []
        self.detail_history: list[dict[tuple[int, str], np.ndarray]] = []
        self.rebate_history: list[np.ndarray] = []
        self.decision: Decision | None = None

    def observe(self, day: int, capability_price: np.ndarray,
                performance_price: np.ndarray, **extra) -> Observation:
        """The platform's day-ahead information."""
        hours = self.scenario.network.hours
        hist = (np.vstack(self.plugged_history) if self.plugged_history
                else np.zeros((0, hours)))
        base = self.beliefs.predict()
        extra = {
            "plug_persistency": base.expected / self.scenario.drivers.count,
            "cluster_plug_persistency": base.y,
            "cluster_sizes": self.beliefs.sizes,
            "beliefs": self.beliefs,
            **extra,
        }
        return Observation(
            day=day,
            hours=hours,
            fleet_size=self.scenario.drivers.count,
            charger_kw=self.scenario.drivers.charger_kw,
            plugged_history=hist,
            capability_price=capability_price,
            performance_price=performance_price,
            extra=extra,
        )

    def decide(self, obs: Observation) -> Decision:
        """Call the policy and keep its decision for today."""
        decision = self.policy.decide(obs)
        hours = obs.hours
        if decision.bid_kw.shape != (hours,) or decision.rebate.shape != (hours,):
            raise ValueError(
                f"policy {self.policy.name!r} must return ({hours},) rebates and bids, got "
                f"{decision.rebate.shape} and {decision.bid_kw.shape}"
            )
        self.decision = decision
        return decision

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

    def predict(self, rebate: np.ndarray) -> PlugPrediction:
        """Predicted plug-ins (persistency model) under the day's rebates."""
        return self.beliefs.predict(rebate)

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
            today (with ``[platform] beliefs = "calibrated"``), else NaN.
        """
        self.plugged_history.append(np.asarray(plugged_counts, dtype=float))
        self.detail_history.append(dict(detail or {}))
        hours = self.scenario.network.hours
        self.rebate_history.append(np.zeros(hours) if rebate is None else np.asarray(rebate))
        cfg = self.scenario.platform
        if cfg.beliefs != "calibrated" or len(self.plugged_history) % cfg.recalibrate_every:
            return float("nan")
        window = self.detail_history[-cfg.calibration_days:]
        sizes = self.beliefs.sizes
        observed = {key: np.mean([d[key] for d in window], axis=0) / sizes[key[0]]
                    for key in window[-1]}
        reb = np.mean(self.rebate_history[-cfg.calibration_days:], axis=0)
        errors = self.beliefs.recalibrate(observed, reb)
        return max(errors.values(), default=float("nan"))

"""The typed boundary between the platform agent and its policy: what it observes, what it decides.

A policy is an object with ``name`` and ``decide(obs: Observation) -> Decision``, built once per run
from its spec (plain settings) and :class:`PolicyInputs` (data computed before the run: requirement
statistics of the AGC history, a seeded generator). A policy does no file I/O and never sees live
agent state: the platform hands it value objects (arrays, immutable networks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from v2gsim.behavior.mobility.core import Sessions
    from v2gsim.core.fleet import Fleet
    from v2gsim.core.network import ActivityNetwork
    from v2gsim.core.schedule import BaseSchedule, ExecutedSchedule
    from v2gsim.market.requirement import RequirementStats

__all__ = [
    "DayOutcome",
    "Decision",
    "NetDischargeStats",
    "Observation",
    "PlugBeliefs",
    "Policy",
    "PolicyInputs",
    "SchedulingPolicy",
    "SettlingPolicy",
    "require_clock_day",
]


@dataclass(frozen=True)
class PlugBeliefs:
    """The platform's beliefs about its drivers on the evening before a day (a snapshot).

    Attributes:
        networks: one activity network per driver cluster, carrying the believed utilities ($).
        sizes: (K,) drivers per cluster M_c.
        plug_fraction: (T,) persistency prediction of the fleet plugged in per hour without rebates,
            sum_c M_c y_ct / M (-).
        cluster_plug_fraction: (K, T) the same per cluster, y_ct (-).
    """

    networks: tuple[ActivityNetwork, ...]
    sizes: np.ndarray
    plug_fraction: np.ndarray
    cluster_plug_fraction: np.ndarray


@dataclass(frozen=True)
class Observation:
    """What the platform knows the evening before day ``day``.

    Attributes:
        day: index of the day being planned (0-based).
        hours: hourly slots T.
        fleet_size: number of EVs M.
        charger_kw: per-EV regulation capability psi (kW).
        plugged_history: (D, T) realized plugged-in counts of the previous D days (D may be 0).
        capability_price: (T,) expected capability price for the day ($/MW-h).
        performance_price: (T,) expected performance price for the day ($/ΔMW).
        beliefs: the persistency model's prediction and the believed networks, or None when the
            platform has no driver model.
        energy_kwh: (M,) energy stored in each EV that evening (kWh), or None when not given.
        energy_price: (T,) the day's grid energy purchase price, known day-ahead (USD/kWh), or
            None when the scenario has no energy market.
        energy_sell_price: (T,) the day's energy sale (export) price (USD/kWh), or None.
        sessions: the day's declared sessions when a session model drives the loop (one per EV,
            ``ev`` = fleet row; :mod:`v2gsim.behavior.mobility.daily`): the forecast a site plans
            with; the realized ones may differ. None when the drivers' paths drive the loop.
        score_history: (D, T) the TSO's performance score of each past day and hour (-; NaN in an
            hour without a bid), the same D days as ``plugged_history``.
        cooperation_share: the share of drivers cooperating with the grid company this evening
            (seed 001; only cooperating plugged EVs are offered to the platform), or None without
            the game.
    """

    day: int
    hours: int
    fleet_size: int
    charger_kw: float
    plugged_history: np.ndarray
    capability_price: np.ndarray
    performance_price: np.ndarray
    beliefs: PlugBeliefs | None = None
    energy_kwh: np.ndarray | None = None
    energy_price: np.ndarray | None = None
    energy_sell_price: np.ndarray | None = None
    sessions: Sessions | None = None
    score_history: np.ndarray | None = None
    cooperation_share: float | None = None


@dataclass(frozen=True)
class Decision:
    """The platform's plan for one day.

    Attributes:
        rebate: (T,) rebate per plugged-in EV-hour ($).
        bid_kw: (T,) regulation capacity bid C_t (kW).
        status: how the decision was reached (e.g. ``optimal``, ``time_limit``, ``fallback: ...``);
            empty for policies that solve nothing.
        solve_time_s: wall-clock time of the day's solve (s), NaN when not measured.
        gap: relative optimality gap of the day's solve (-), NaN when not applicable.
        predicted_profit: the profit the policy expects from the decision ($), NaN if none.
        fallback_reason: why the policy fell back to a previous or simpler decision today (the
            typed error), empty when it did not.
        info: further diagnostics of the policy (never read by the model).
        schedule: the day's base-point schedule (:class:`~v2gsim.core.schedule.BaseSchedule`:
            grid-side kW per covered EV and slot), which the fleet executes within what its
            batteries allow; None (the default): every EV keeps its baseline charging. Only a
            policy with ``schedules = True`` may return one (the model then adds the schedule
            columns to its tables).
    """

    rebate: np.ndarray
    bid_kw: np.ndarray
    status: str = ""
    solve_time_s: float = math.nan
    gap: float = math.nan
    predicted_profit: float = math.nan
    fallback_reason: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    schedule: BaseSchedule | None = None

    def __post_init__(self) -> None:
        if np.any(np.asarray(self.bid_kw) < 0):
            raise ValueError("bids must be >= 0 kW")
        if np.any(np.asarray(self.rebate) < 0):
            raise ValueError("rebates must be >= 0 $")


class Policy(Protocol):
    """A platform policy: ``decide(observation) -> Decision``."""

    name: str

    def decide(self, obs: Observation) -> Decision:
        """Return tomorrow's rebates and bids."""
        ...


@dataclass(frozen=True)
class DayOutcome:
    """What the sampled drivers, signals and prices did on a day: what a policy settles against.

    Handed to :meth:`SettlingPolicy.settle` after the day's last hour, so that a policy whose plan
    is richer than rebates and bids (site schedules, incentives, reserves) can compare its promise
    with the realization.

    Attributes:
        day: the day (0-based).
        decision: the policy's decision for the day (its ``info`` holds the plan).
        plugged: (M, T) realized plugged-in indicator of every EV and hour.
        travel_kwh: (M, T) realized travel energy per EV and hour (kWh).
        energy_start_kwh: (M,) energy stored at the start of the day (kWh).
        hourly: the day's rows of the hourly table, column -> (T,) array.
        sessions_at: ``sessions_at(place)`` -> today's realized sessions at a charger place (first
            to last plug-in hour there, arrival energy = stored energy at the start of the day;
            :meth:`v2gsim.sim.agents.driver.DriverPopulation.sessions`); raises ValueError for a
            place no network has. It reads the drivers' live paths: call it during ``settle``.
        plugged_at: ``plugged_at(place)`` -> (M, T) realized plugged-in indicator at that place
            (all False for a place no network has; a snapshot of the day).
        stored_kwh: (M, T) energy stored in each simulated battery at the end of each hour (kWh);
            given to a policy that returns schedules (``schedules = True``) and when sessions
            drive the loop, else None.
        executed: the day's schedule as executed (:class:`~v2gsim.core.schedule.ExecutedSchedule`:
            the plan, the TSO's reserve requests, the executed power per covered EV and slot), or
            None without a schedule.
        sessions: the day's realized sessions when a session model drives the loop, else None.
    """

    day: int
    decision: Decision
    plugged: np.ndarray
    travel_kwh: np.ndarray
    energy_start_kwh: np.ndarray
    hourly: Mapping[str, np.ndarray]
    sessions_at: Callable[[str], Sessions]
    plugged_at: Callable[[str], np.ndarray]
    stored_kwh: np.ndarray | None = None
    executed: ExecutedSchedule | None = None
    sessions: Sessions | None = None


class SchedulingPolicy(Policy, Protocol):
    """A policy whose decisions may carry a base-point schedule (``Decision.schedule``).

    ``schedules`` is True; the model then records, beside every hour, the planned and executed
    base energy of the covered EVs and their deviation, and per day the deviation's total
    (``v2gsim.sim.day.SCHEDULE_DAILY_COLUMNS``), also on days without a schedule (0).
    """

    schedules: bool


class SettlingPolicy(Policy, Protocol):
    """A policy that also settles its own plan against the day's outcome.

    ``daily_keys`` names the columns ``settle`` returns; the model adds them to the daily table
    (after the built-in columns), every day, in that order.
    """

    daily_keys: tuple[str, ...]

    def settle(self, outcome: DayOutcome) -> Mapping[str, float]:
        """Planned vs realized figures of the day, one value per name in ``daily_keys``."""
        ...


@dataclass(frozen=True)
class NetDischargeStats:
    """Statistics of the per-unit net regulation discharge per hour of day (models.md E3).

    Attributes:
        gamma_bar: (H,) mean net discharge per kW of bid (kWh/kW).
        sigma: (H,) its forward deviation (kWh/kW).
    """

    gamma_bar: np.ndarray
    sigma: np.ndarray


@dataclass(frozen=True)
class PolicyInputs:
    """Data a policy is built with (computed by the run before day 0).

    Attributes:
        rng: the policy's own generator (the run's ``policy`` stream).
        requirement: per-unit requirement statistics of the AGC history at the policy's score
            target (:class:`~v2gsim.market.requirement.RequirementStats`), or None when the policy
            needs none.
        net_discharge: net-discharge statistics of the same history (state-of-charge guarantee),
            or None.
        fleet: a copy of the fleet as built before day 0 (battery, charger and efficiency
            parameters per EV; its stored energy is the initial one and is never updated), or
            None when the policy was built without it.
        hours: hours T of the simulated day (``network.hours``), or None when not given; the
            seed policies planned on a 24-hour clock day (``eva``, ``v2a``, ``robust``) refuse
            any other (:func:`require_clock_day`).
    """

    rng: np.random.Generator
    requirement: RequirementStats | None = None
    net_discharge: NetDischargeStats | None = None
    fleet: Fleet | None = None
    hours: int | None = None


def require_clock_day(policy: str, hours: int | None, seed: str) -> None:
    """Refuse a day of other than 24 hours for a policy whose plan is one clock day.

    Args:
        policy: the policy's name.
        hours: the day's hours T (None: not known, nothing is checked).
        seed: the seed document whose model fixes the 24-hour clock day (for the message).

    Raises:
        ValueError: ``hours`` is given and is not 24 (the message names ``network.hours``).
    """
    if hours is not None and int(hours) != 24:
        raise ValueError(f"network.hours: policy {policy!r} plans one 24-hour clock day ({seed}); "
                         f"it needs network.hours = 24, got {hours}")

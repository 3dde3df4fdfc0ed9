"""Plain specs of a run: what :class:`~v2gsim.sim.model.V2GMarketModel` is built from.

:func:`v2gsim.specs.build.run_spec` turns a validated scenario into a :class:`RunSpec`; nothing
below the model reads the scenario schema. The pieces are frozen dataclasses owned by the modules
that use them (:class:`~v2gsim.core.network.NetworkTemplate`, :class:`~v2gsim.core.fleet.FleetSpec`,
:class:`~v2gsim.market.sources.MarketSpec`, the policy specs of :mod:`v2gsim.policies`); this
module adds the run-level ones. None of them has defaults: every value comes from the adapter, and
the defaults a scenario gets are the schema's (:mod:`v2gsim.config`), written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from v2gsim.core.fleet import FleetSpec
from v2gsim.core.network import NetworkTemplate
from v2gsim.market.sources import MarketSpec

__all__ = ["BeliefSpec", "ClusterSpec", "GameSpec", "RunSpec"]


@dataclass(frozen=True)
class ClusterSpec:
    """A class of drivers sharing one activity network (models.md E1).

    Attributes:
        name: cluster name.
        share: population share (-).
        network: the cluster's network template.
    """

    name: str
    share: float
    network: NetworkTemplate


@dataclass(frozen=True)
class BeliefSpec:
    """How the platform's driver model is kept.

    Attributes:
        mode: ``"scenario"`` (the scenario's utilities) or ``"calibrated"`` (plug-in utilities
            re-fitted to observed plug-ins, C1-C4).
        calibration_days: observation window of a re-calibration (days).
        recalibrate_every: days between re-calibrations (days).
    """

    mode: Literal["scenario", "calibrated"]
    calibration_days: int
    recalibrate_every: int


@dataclass(frozen=True)
class GameSpec:
    """The seed-001 game in the model: grid-company agent and drivers' imitation (models.md §2).

    Attributes:
        params: payoff parameters (the names of :class:`~v2gsim.game.params.GameParams`).
        x0: initial share of cooperating EVs (-).
        y0: initial grid-company cooperation share (-).
        imitation: ``"fermi"`` or ``"proportional"``.
        imitation_rate: per-day revision probability of a driver (-).
        fermi_beta: selection intensity of the Fermi rule (1/yuan).
        pg_matching: ``"per_driver"`` or ``"per_day"``.
        price_response: ``"replicator"`` or ``"participation"``.
        price_mode: ``"sample"`` or ``"mean"``.
        price_grid: (low, high, step) of the discharge prices (yuan/kWh).
        payoffs: ``"seed"`` (the lump sums (4)/(5)) or ``"realized"`` (from the fleet's day).
        mutation: the drivers' daily exploration probability (-).
        peak_hours: hours of the grid company's peak-discharge program (empty: none).
        yuan_per_usd: yuan per $ of the rebates in realized payoffs.
    """

    params: Mapping[str, float]
    x0: float
    y0: float
    imitation: str
    imitation_rate: float
    fermi_beta: float
    pg_matching: str
    price_response: str
    price_mode: str
    price_grid: tuple[float, float, float]
    payoffs: str
    yuan_per_usd: float
    mutation: float
    peak_hours: tuple[int, ...]


@dataclass(frozen=True)
class RunSpec:
    """Everything one simulation run needs, as plain data.

    Attributes:
        name: scenario name (table tag).
        seed: root seed of the run's SeedSequence.
        days: simulated days.
        hours: hourly slots of a day T.
        distribution: sampled utility distribution of the drivers (``normal``, ``uniform``,
            ``two_point`` or ``extremal``).
        clusters: the driver clusters (shares sum to 1).
        fleet: the fleet's batteries and chargers.
        sampler: ``compiled`` (the counter-based kernel, :mod:`v2gsim.behavior.compiled`) or
            ``numpy`` (the reference: :func:`~v2gsim.behavior.sampling.sample_utilities` from the
            drivers' generator, then the vectorized DP).
        market: AGC and price sources, settlement mileage.
        policy: the platform policy's settings (``policy.name`` names it).
        beliefs: how the platform keeps its driver model.
        game: the seed-001 game, or None when it is off.
        sessions: the session model driving the loop's plug-ins
            (:class:`~v2gsim.behavior.mobility.daily.SessionDriveSpec`), or None: the drivers'
            paths drive it.
        reserve_pi: ``(pi_up, pi_down)``, the TSO's probabilities of calling upward / downward
            reserve in a slot (seed 004), or None without a reserve market.
    """

    name: str
    seed: int
    days: int
    hours: int
    distribution: str
    clusters: tuple[ClusterSpec, ...]
    fleet: FleetSpec
    market: MarketSpec
    policy: Any
    beliefs: BeliefSpec
    game: GameSpec | None
    sampler: str
    sessions: Any
    reserve_pi: tuple[float, float] | None

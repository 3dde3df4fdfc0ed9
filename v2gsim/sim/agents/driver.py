"""Drivers: the population that chooses paths (vectorized per cluster) and the per-driver agents.

The fleet is simulated with arrays (:class:`v2gsim.core.fleet.Fleet`, :mod:`v2gsim.behavior.sampling`):

* :class:`DriverGroup` - the drivers of one cluster (models.md E1): their activity network, their
  rows in the fleet arrays and today's path choice.
* :class:`DriverPopulation` - all groups, the utility distribution, the drivers' random streams
  and (seed 001) their cooperation strategies. It owns the drivers' phases: :meth:`~DriverPopulation.choose`
  (sample utilities, longest paths: one vectorized programme per cluster) and
  :meth:`~DriverPopulation.imitate` (strategy revision, eqs. (4)/(5) payoffs).
* :class:`DriverAgent` - one EV owner, so users can inspect (and subclass) individual drivers: its
  properties read the fleet arrays and its group's choice at its row, so they are always current
  and cost nothing per step. It gets its fleet and group when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

from v2gsim.behavior.compiled import KERNEL_DISTRIBUTIONS, choose_paths
from v2gsim.behavior.extremal import sample_extremal
from v2gsim.behavior.mobility.core import Sessions
from v2gsim.behavior.mobility.paths import sessions_from_paths
from v2gsim.behavior.sampling import PathChoice, longest_paths, sample_utilities
from v2gsim.core.network import PLUG, ActivityNetwork
from v2gsim.game.imitation import imitation_step, mutate

if TYPE_CHECKING:
    from v2gsim.behavior.persistency import ClusterPersistency
    from v2gsim.core.fleet import Fleet

__all__ = ["CHOICE_CHUNK", "DayChoice", "DriverAgent", "DriverGroup", "DriverPopulation", "chunk_sizes",
           "cluster_sizes"]


#: Drivers of the ``extremal`` population whose utilities are sampled and solved at once (one
#: (arcs x drivers) float32 array, its DP tables and temporaries: about 1.5 kB per driver on the
#: default network, so ~200 MB per chunk). Groups up to this size draw exactly as one block; larger
#: groups draw chunk after chunk from the same stream, which bounds memory for fleets of millions
#: (issue #16, item 9). The other distributions need no chunks: the compiled kernel keeps no
#: (arcs x drivers) array.
CHOICE_CHUNK = 131_072


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Sizes of consecutive chunks of at most ``chunk`` covering ``total`` (one chunk when small).

    >>> chunk_sizes(300_000, 131_072)
    [131072, 131072, 37856]
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    full, rest = divmod(int(total), int(chunk))
    sizes = [int(chunk)] * full + ([rest] if rest else [])
    return sizes or [0]


def cluster_sizes(shares: list[float], total: int) -> np.ndarray:
    """Split ``total`` drivers by ``shares`` (largest remainder; sizes sum to ``total``).

    A cluster may get no driver (share 0.01 of 20 drivers, or 0.5 of 1): the model drops such a
    cluster (:attr:`v2gsim.sim.model.V2GMarketModel.empty_clusters`).
    """
    raw = np.asarray(shares, dtype=float) * total
    size = np.floor(raw).astype(int)
    rest = total - size.sum()
    size[np.argsort(-(raw - size), kind="stable")[:rest]] += 1
    return size


@dataclass
class DriverGroup:
    """The drivers of one cluster, sharing one activity network (models.md E1).

    Attributes:
        index: position of the group among the population's groups.
        name: cluster name.
        share: population share (-).
        network: the cluster's activity network.
        drivers: indices of its drivers in the fleet arrays (a contiguous range).
        last_choice: today's chosen paths (None before the first day).
    """

    index: int
    name: str
    share: float
    network: ActivityNetwork
    drivers: np.ndarray
    last_choice: PathChoice | None = None

    def choose(self, rng: np.random.Generator, rebate: np.ndarray, distribution: str,
               persistency=None, sampler: str = "compiled") -> PathChoice:
        """Sample today's utilities and choose longest paths for every driver of the group.

        ``normal``, ``uniform`` and ``two_point`` utilities are drawn and solved by the compiled
        kernel (:func:`v2gsim.behavior.compiled.choose_paths`): the group draws the day's two
        32-bit key words from ``rng`` and driver j's utilities come from its own counter-based
        stream under that key, so no (arcs x drivers) array is formed. ``extremal`` utilities, and
        every distribution with ``sampler = "numpy"`` (the reference implementation), are sampled
        with numpy from ``rng`` in chunks of :data:`CHOICE_CHUNK` drivers and solved by the
        vectorized DP.

        Args:
            rng: the drivers' generator.
            rebate: (T,) hourly rebates ($ per plugged EV-hour), added to the plug-in arcs.
            distribution: ``normal``, ``uniform``, ``two_point`` (independent arc utilities) or
                ``extremal`` (the path-correlated population attaining the persistency bound).
            persistency: the cluster's persistency solution at today's rebates (``extremal`` only).
            sampler: ``compiled`` or ``numpy`` (see above).
        """
        net = self.network
        arc_rebate = np.where(net.kind == PLUG, rebate[net.hour], 0.0)
        if sampler not in ("compiled", "numpy"):
            raise ValueError(f"unknown sampler {sampler!r}; allowed: compiled, numpy")
        if distribution in KERNEL_DISTRIBUTIONS and sampler == "compiled":
            key = rng.integers(0, 2**32, size=2, dtype=np.uint64)
            self.last_choice = choose_paths(key, net, self.drivers.size, distribution, rebate=arc_rebate)
            return self.last_choice
        parts = [self._choose_numpy(rng, n, arc_rebate, distribution, persistency)
                 for n in chunk_sizes(self.drivers.size, CHOICE_CHUNK)]
        if len(parts) == 1:
            self.last_choice = parts[0]
        else:
            self.last_choice = PathChoice(value=np.concatenate([p.value for p in parts]),
                                          arc_at_hour=np.concatenate([p.arc_at_hour for p in parts]))
        return self.last_choice

    def _choose_numpy(self, rng: np.random.Generator, n: int, arc_rebate: np.ndarray,
                      distribution: str, persistency) -> PathChoice:
        """Sample the utilities of ``n`` drivers with numpy and solve their longest paths (one DP)."""
        net = self.network
        if distribution == "extremal":
            v = sample_extremal(rng, n, net.incidence, net.supply, net.mu, net.sigma,
                                persistency, rebate=arc_rebate, dtype=np.float32).T
        else:
            v = sample_utilities(rng, net, n, distribution, rebate=arc_rebate)
        return longest_paths(net, v)


@dataclass(frozen=True)
class DayChoice:
    """What the drivers chose for one day.

    Attributes:
        plugged: (M, T) plugged-in indicator.
        travel_kwh: (M, T) travel energy consumed in each hour (kWh).
        detail: (group index, charger place) -> (T,) plugged-in counts.
    """

    plugged: np.ndarray
    travel_kwh: np.ndarray
    detail: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)


class DriverPopulation:
    """All drivers: their groups, random streams and (seed 001) cooperation strategies.

    Args:
        groups: the driver groups, covering fleet rows 0..M-1 in order.
        distribution: sampled utility distribution (see :meth:`DriverGroup.choose`).
        rng: the drivers' path-choice generator (the run's ``drivers`` stream).
        strategies: (M,) True = cooperates with the grid company (all True without the game).
        rng_game: generator of the strategy revisions (the run's ``game_drivers`` stream).
        sampler: ``compiled`` (default) or ``numpy`` (see :meth:`DriverGroup.choose`).
    """

    def __init__(self, groups: list[DriverGroup], distribution: str, rng: np.random.Generator,
                 strategies: np.ndarray, rng_game: np.random.Generator | None = None,
                 sampler: str = "compiled"):
        self.groups = groups
        self.distribution = distribution
        self.sampler = sampler
        self.size = int(sum(g.drivers.size for g in groups))
        self.hours = groups[0].network.hours
        self.strategies = strategies
        self._rng = rng
        self._rng_game = rng_game

    def group_of(self, driver: int) -> tuple[DriverGroup, int]:
        """(group, row within the group) of a driver."""
        for g in self.groups:
            if g.drivers.size and g.drivers[0] <= driver <= g.drivers[-1]:
                return g, int(driver - g.drivers[0])
        raise IndexError(f"driver {driver} out of range")

    def choose(self, rebate: np.ndarray, prediction: ClusterPersistency | None = None) -> DayChoice:
        """Phase 3: every group samples utilities and chooses paths under today's ``rebate``.

        With ``distribution = "extremal"`` the utilities are drawn from the joint distribution that
        attains the persistency bound (``prediction`` holds the persistency solutions at today's
        rebates), otherwise independently per arc.
        """
        plugged = np.zeros((self.size, self.hours), dtype=bool)
        travel = np.zeros((self.size, self.hours))
        detail: dict[tuple[int, str], np.ndarray] = {}
        for g in self.groups:
            net = g.network
            res = prediction.results[g.index] if self.distribution == "extremal" else None
            choice = g.choose(self._rng, rebate, self.distribution, res, self.sampler)
            per_hour = np.where(net.duration > 0, net.energy_kwh / net.duration, 0.0)
            plug_g = choice.plugged(net)
            plugged[g.drivers] = plug_g
            travel[g.drivers] = per_hour[choice.arc_at_hour]
            place_g = choice.place(net)
            for p in np.unique(net.place[net.kind == PLUG]):
                detail[(g.index, net.place_names[p])] = (plug_g & (place_g == p)).sum(axis=0)
        return DayChoice(plugged=plugged, travel_kwh=travel, detail=detail)

    def plugged_at(self, place: str) -> np.ndarray:
        """(M, T) True where a driver is plugged in at ``place`` in today's chosen paths.

        Raises:
            ValueError: no group has chosen paths yet.
        """
        out = np.zeros((self.size, self.hours), dtype=bool)
        chosen = [g for g in self.groups if g.last_choice is not None]
        if not chosen:
            raise ValueError("no group has chosen paths (run choose() first)")
        for g in chosen:
            net = g.network
            if place not in net.place_names:
                continue
            p = net.place_names.index(place)
            at = g.last_choice.arc_at_hour
            out[g.drivers] = (net.kind[at] == PLUG) & (net.place[at] == p)
        return out

    def sessions(self, place: str, soc_kwh: np.ndarray, wanted_kwh: np.ndarray | float | None = None,
                 day: int = 0) -> Sessions:
        """Today's sessions at ``place`` of every group's chosen paths (first to last plug-in hour
        there; :func:`v2gsim.behavior.mobility.paths.sessions_from_paths`).

        Args:
            place: place name; groups whose network lacks it contribute no session.
            soc_kwh: (M,) stored energy of the fleet at the start of the day (kWh).
            wanted_kwh: (M,) or scalar energy wanted at departure (kWh); default the arrival energy.
            day: day index written into the sessions.

        Returns:
            The sessions, ``ev`` = fleet row, in fleet order.
        """
        soc_kwh = np.asarray(soc_kwh, dtype=float)
        wanted = None if wanted_kwh is None else np.broadcast_to(np.asarray(wanted_kwh, float), (self.size,))
        parts = [sessions_from_paths(g.last_choice, g.network, place, soc_kwh[g.drivers],
                                     wanted_kwh=None if wanted is None else wanted[g.drivers],
                                     evs=g.drivers, day=day)
                 for g in self.groups if g.last_choice is not None and place in g.network.place_names]
        if not parts:
            raise ValueError(f"no group has chosen paths with place {place!r} (run choose() first; "
                             f"places: {sorted({n for g in self.groups for n in g.network.place_names})})")
        return Sessions.concat(parts)

    @property
    def cooperation_share(self) -> float:
        """Share of drivers whose strategy is "cooperate" (-)."""
        return float(self.strategies.mean())

    def imitate(self, payoffs: np.ndarray, rule: str, rate: float, *, delta_max: float,
                beta: float, mutation: float = 0.0) -> None:
        """End of day (seed 001): revise strategies by imitation of realized payoffs (models.md §2),
        then explore with probability ``mutation`` (:func:`v2gsim.game.imitation.mutate`)."""
        self.strategies = imitation_step(self.strategies, payoffs, rule, rate, self._rng_game,
                                         delta_max=delta_max, beta=beta)
        self.strategies = mutate(self.strategies, mutation, self._rng_game)


class DriverAgent(mesa.Agent):
    """One driver/EV: a view into the fleet arrays and its group's choice.

    Attributes:
        idx: row of this driver in the fleet arrays.
        group: the driver's cluster.
        row: row of this driver within its group.
    """

    def __init__(self, model: mesa.Model, idx: int, fleet: Fleet, group: DriverGroup):
        super().__init__(model)
        self.idx = int(idx)
        self.fleet = fleet
        self.group = group
        self.row = int(idx - group.drivers[0])

    @property
    def soc(self) -> float:
        """Current state of charge (-)."""
        return float(self.fleet.soc[self.idx])

    @property
    def energy_kwh(self) -> float:
        """Stored energy (kWh)."""
        return float(self.fleet.energy_kwh[self.idx])

    @property
    def capacity_kwh(self) -> float:
        """Battery capacity (kWh)."""
        return float(self.fleet.capacity_kwh[self.idx])

    @property
    def cluster(self) -> str:
        """Name of the driver's cluster."""
        return self.group.name

    @property
    def path(self) -> list[str]:
        """Labels of the arcs of today's chosen path, hour by hour (empty before the first day)."""
        choice = self.group.last_choice
        if choice is None:
            return []
        labels = self.group.network.arc_labels()
        return [labels[a] for a in choice.arc_at_hour[self.row]]

    @property
    def plugged_today(self) -> np.ndarray:
        """(T,) boolean: plugged in during each hour of the last simulated day."""
        choice = self.group.last_choice
        if choice is None:
            return np.zeros(self.group.network.hours, dtype=bool)
        return self.group.network.kind[choice.arc_at_hour[self.row]] == PLUG

"""Time-space activity network (models.md §1.1): a DAG of (place, hour) nodes.

Nodes are (place, clock hour) pairs for hours 0..T. Arcs advance time:

* **stay**: (p, h) -> (p, h+1), the driver spends hour h at place p, unplugged;
* **plug**: (p, h) -> (p, h+1) in parallel with the stay arc at places with a charger, the driver
  spends hour h plugged in (a charging arc t in A' of the seed; one per hour and place);
* **travel**: (p, h) -> (q, h+tau) for q != p, a trip of tau hours that consumes battery energy.

The source is (start_place, 0) and the sink (start_place, T). Nodes outside a place's window and every
node or arc not on some source-sink path are pruned, so the checks of :meth:`ActivityNetwork.check`
hold by construction for built networks; networks given directly by arrays are checked the same way.

Incidence convention (used by every model of :mod:`v2gsim.behavior`): ``B[n, a] = +1`` if arc ``a``
leaves node ``n`` (its tail) and ``-1`` if it enters ``n`` (its head); supply ``f = +1`` at the source,
``-1`` at the sink, so a unit source-sink flow satisfies ``B y = f`` (eq. S2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from v2gsim.core.graph import CycleError, topological_order

__all__ = [
    "ARC_KINDS",
    "ActivityNetwork",
    "NetworkError",
    "NetworkTemplate",
    "PlaceSpec",
    "TravelSpec",
    "build_network",
]

#: Arc kind codes stored in :attr:`ActivityNetwork.kind`.
ARC_KINDS = ("stay", "plug", "travel")
STAY, PLUG, TRAVEL = 0, 1, 2


class NetworkError(ValueError):
    """The activity network violates a structural requirement (cycle, several sources, ...)."""


@dataclass(frozen=True)
class PlaceSpec:
    """One place of the network template (a row of (place, hour) nodes).

    Attributes:
        name: place name.
        window: (arrival, departure) clock hours between which a driver may be here (h).
        charger: whether plug-in arcs exist here.
        utility: (T,) mean utility of staying one hour, per starting hour ($/h).
        sigma: (T,) standard deviation of a stay arc's utility ($/h).
        plug_utility: (T,) mean extra utility of a plugged-in hour ($/h).
        plug_sigma: (T,) standard deviation of a plug-in arc's utility ($/h).
    """

    name: str
    window: tuple[int, int]
    charger: bool
    utility: tuple[float, ...]
    sigma: tuple[float, ...]
    plug_utility: tuple[float, ...]
    plug_sigma: tuple[float, ...]


@dataclass(frozen=True)
class TravelSpec:
    """Travel arcs between every pair of distinct places.

    Attributes:
        hours: duration of one trip (h).
        utility: mean utility of one trip ($).
        sigma: standard deviation of a trip's utility ($).
        energy_kwh: battery energy one trip consumes (kWh).
    """

    hours: int
    utility: float
    sigma: float
    energy_kwh: float


@dataclass(frozen=True)
class NetworkTemplate:
    """Declarative template of the time-space activity network (plain data, see
    :func:`build_network`; :func:`v2gsim.specs.build.network_template` makes one from a scenario).

    Attributes:
        hours: hourly slots T of one day.
        start_place: place where every day starts (source) and ends (sink).
        places: the places.
        travel: the travel arcs.
    """

    hours: int
    start_place: str
    places: tuple[PlaceSpec, ...]
    travel: TravelSpec


@dataclass(frozen=True, eq=False)
class ActivityNetwork:
    """A DAG with arc attributes, as arrays.

    Attributes:
        tail: (A,) tail node of each arc.
        head: (A,) head node of each arc.
        n_nodes: number of nodes N.
        mu: (A,) mean arc utilities ($).
        sigma: (A,) standard deviations of arc utilities ($).
        kind: (A,) arc kind code (0 stay, 1 plug, 2 travel).
        place: (A,) place index of the arc's tail.
        hour: (A,) clock hour in which the arc starts (h).
        duration: (A,) hours the arc spans (h).
        energy_kwh: (A,) battery energy the arc consumes (kWh).
        hours: number of hourly slots T.
        place_names: names of the places, indexed by ``place``.
        node_place: (N,) place index of each node (-1 when not a place node).
        node_hour: (N,) clock hour of each node.
    """

    tail: np.ndarray
    head: np.ndarray
    n_nodes: int
    mu: np.ndarray
    sigma: np.ndarray
    kind: np.ndarray
    place: np.ndarray
    hour: np.ndarray
    duration: np.ndarray
    energy_kwh: np.ndarray
    hours: int
    place_names: tuple[str, ...] = ()
    node_place: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    node_hour: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arcs(
        cls,
        tail: np.ndarray,
        head: np.ndarray,
        n_nodes: int,
        mu: np.ndarray | None = None,
        sigma: np.ndarray | None = None,
        kind: np.ndarray | None = None,
    ) -> ActivityNetwork:
        """A bare DAG from tail/head arrays (for tests and user-defined networks).

        Hours are the nodes' topological depth, durations the depth difference.
        """
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        a = tail.size
        order = _topological_order(tail, head, n_nodes)
        depth = np.zeros(n_nodes, dtype=np.int64)
        for n in order:
            out = tail == n
            if out.any():
                depth[head[out]] = np.maximum(depth[head[out]], depth[n] + 1)
        net = cls(
            tail=tail,
            head=head,
            n_nodes=int(n_nodes),
            mu=np.zeros(a) if mu is None else np.asarray(mu, dtype=float),
            sigma=np.ones(a) if sigma is None else np.asarray(sigma, dtype=float),
            kind=np.zeros(a, dtype=np.int64) if kind is None else np.asarray(kind, dtype=np.int64),
            place=np.zeros(a, dtype=np.int64),
            hour=depth[tail],
            duration=depth[head] - depth[tail],
            energy_kwh=np.zeros(a),
            hours=int(depth.max()) if n_nodes else 0,
            place_names=("node",),
            node_place=np.zeros(n_nodes, dtype=np.int64),
            node_hour=depth,
        )
        net.check()
        return net

    # ------------------------------------------------------------------ structure
    @property
    def n_arcs(self) -> int:
        """Number of arcs A."""
        return int(self.tail.size)

    @cached_property
    def incidence(self) -> np.ndarray:
        """Node-arc incidence matrix B (N x A): +1 at the tail, -1 at the head (eq. S2)."""
        b = np.zeros((self.n_nodes, self.n_arcs))
        cols = np.arange(self.n_arcs)
        b[self.tail, cols] = 1.0
        b[self.head, cols] = -1.0
        return b

    @cached_property
    def source(self) -> int:
        """The unique node without incoming arcs."""
        return int(np.flatnonzero(np.bincount(self.head, minlength=self.n_nodes) == 0)[0])

    @cached_property
    def sink(self) -> int:
        """The unique node without outgoing arcs."""
        return int(np.flatnonzero(np.bincount(self.tail, minlength=self.n_nodes) == 0)[0])

    @cached_property
    def supply(self) -> np.ndarray:
        """Net supply f (N,): +1 at the source, -1 at the sink (eq. S2)."""
        f = np.zeros(self.n_nodes)
        f[self.source] = 1.0
        f[self.sink] = -1.0
        return f

    @cached_property
    def topological_order(self) -> np.ndarray:
        """Nodes in an order where every arc goes from an earlier to a later node."""
        return _topological_order(self.tail, self.head, self.n_nodes)

    @cached_property
    def in_arcs(self) -> list[np.ndarray]:
        """Incoming arc indices of every node."""
        bounds, order = self.in_csr
        return [order[bounds[n] : bounds[n + 1]] for n in range(self.n_nodes)]

    @cached_property
    def in_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Incoming arcs in compressed form: node n's are ``arcs[ptr[n]:ptr[n + 1]]`` (int64, ascending)."""
        order = np.argsort(self.head, kind="stable").astype(np.int64)
        bounds = np.searchsorted(self.head[order], np.arange(self.n_nodes + 1)).astype(np.int64)
        return bounds, order

    @cached_property
    def plug_hours(self) -> np.ndarray:
        """Boolean (T, A): arc a is a plug-in arc occupying hour t."""
        return self.occupancy & (self.kind == PLUG)[None, :]

    @cached_property
    def occupancy(self) -> np.ndarray:
        """Boolean (T, A): arc a spans clock hour t."""
        t = np.arange(self.hours)[:, None]
        return (t >= self.hour[None, :]) & (t < (self.hour + self.duration)[None, :])

    def plug_arcs(self, hour: int, place: str | None = None) -> np.ndarray:
        """Indices of the plug-in arcs of ``hour`` (optionally at one ``place``)."""
        mask = self.plug_hours[hour]
        if place is not None:
            mask = mask & (self.place == self.place_names.index(place))
        return np.flatnonzero(mask)

    def arc_labels(self) -> list[str]:
        """Human-readable arc labels, e.g. ``plug@home[18]`` or ``travel home->work[7]``."""
        labels = []
        for a in range(self.n_arcs):
            k = ARC_KINDS[self.kind[a]]
            p = self.place_names[self.place[a]] if self.place_names else str(self.place[a])
            if self.kind[a] == TRAVEL and self.node_place.size:
                q = self.place_names[self.node_place[self.head[a]]]
                labels.append(f"travel {p}->{q}[{self.hour[a]}]")
            else:
                labels.append(f"{k}@{p}[{self.hour[a]}]")
        return labels

    def check(self) -> None:
        """Structural checks: acyclic, one source, one sink, every arc on a source-sink path.

        Raises:
            NetworkError: naming the violated requirement.
        """
        n = self.n_nodes
        if self.n_arcs == 0:
            raise NetworkError("network has no arcs")
        if self.tail.min() < 0 or max(self.tail.max(), self.head.max()) >= n:
            raise NetworkError("arc endpoints must be node indices in [0, n_nodes)")
        _topological_order(self.tail, self.head, n)  # raises on a cycle
        indeg = np.bincount(self.head, minlength=n)
        outdeg = np.bincount(self.tail, minlength=n)
        sources = np.flatnonzero(indeg == 0)
        sinks = np.flatnonzero(outdeg == 0)
        if sources.size != 1:
            raise NetworkError(f"network must have one source, found {sources.size}: {sources}")
        if sinks.size != 1:
            raise NetworkError(f"network must have one sink, found {sinks.size}: {sinks}")
        fwd = _reachable(self.tail, self.head, n, int(sources[0]))
        bwd = _reachable(self.head, self.tail, n, int(sinks[0]))
        bad = np.flatnonzero(~(fwd[self.tail] & bwd[self.head]))
        if bad.size:
            raise NetworkError(f"arcs not on any source-sink path: {bad.tolist()}")
        for name in ("mu", "sigma", "kind", "hour", "duration", "energy_kwh", "place"):
            if getattr(self, name).shape != (self.n_arcs,):
                raise NetworkError(f"{name} must have one entry per arc ({self.n_arcs})")
        if np.any(self.sigma < 0):
            raise NetworkError("sigma must be >= 0 on every arc")

    def with_utilities(self, mu: np.ndarray, sigma: np.ndarray | None = None) -> ActivityNetwork:
        """A copy with other mean utilities (and standard deviations)."""
        from dataclasses import replace

        return replace(
            self,
            mu=np.asarray(mu, dtype=float),
            sigma=self.sigma if sigma is None else np.asarray(sigma, dtype=float),
        )


def _topological_order(tail: np.ndarray, head: np.ndarray, n: int) -> np.ndarray:
    """Kahn's algorithm (:func:`v2gsim.core.graph.topological_order`).

    Raises:
        NetworkError: the arcs have a cycle.
    """
    try:
        return topological_order(tail, head, n)
    except CycleError:
        raise NetworkError("network has a cycle (it must be a DAG)") from None


def _reachable(tail: np.ndarray, head: np.ndarray, n: int, start: int) -> np.ndarray:
    seen = np.zeros(n, dtype=bool)
    seen[start] = True
    frontier = np.array([start])
    while frontier.size:
        nxt = head[np.isin(tail, frontier)]
        nxt = np.unique(nxt[~seen[nxt]])
        seen[nxt] = True
        frontier = nxt
    return seen


def _check_template(cfg: NetworkTemplate) -> None:
    """Raise :class:`NetworkError` on a template the builder cannot use."""
    names = [p.name for p in cfg.places]
    if cfg.start_place not in names:
        raise NetworkError(f"start_place {cfg.start_place!r} is not a place; places: {names}")
    for p in cfg.places:
        for field_name in ("utility", "sigma", "plug_utility", "plug_sigma"):
            if len(getattr(p, field_name)) != cfg.hours:
                raise NetworkError(f"place {p.name!r}: {field_name} needs {cfg.hours} hourly values, "
                                   f"got {len(getattr(p, field_name))}")


def build_network(cfg: NetworkTemplate) -> ActivityNetwork:
    """Build the activity network of a template (models.md §1.1).

    Arc utilities (means and standard deviations, $): stay arcs take the place's ``utility`` and
    ``sigma`` for the hour they start in; plug arcs take ``utility + plug_utility`` and
    ``plug_sigma``; travel arcs take the travel ``utility`` and ``sigma`` and consume
    ``travel.energy_kwh``.
    """
    _check_template(cfg)
    t_max = cfg.hours
    places = cfg.places
    n_places = len(places)
    start = [p.name for p in places].index(cfg.start_place)
    util = [np.array(p.utility, dtype=float) for p in places]
    sig = [np.array(p.sigma, dtype=float) for p in places]
    putil = [np.array(p.plug_utility, dtype=float) for p in places]
    psig = [np.array(p.plug_sigma, dtype=float) for p in places]

    def allowed(p: int, h: int) -> bool:
        if h in (0, t_max):
            return p == start
        lo, hi = places[p].window
        return lo <= h <= hi

    node_id: dict[tuple[int, int], int] = {}
    for h in range(t_max + 1):
        for p in range(n_places):
            if allowed(p, h):
                node_id[(p, h)] = len(node_id)
    rows: list[tuple[int, int, float, float, int, int, int, int, float]] = []
    tau = cfg.travel.hours
    for (p, h), u in node_id.items():
        if h >= t_max:
            continue
        if (p, h + 1) in node_id:
            v = node_id[(p, h + 1)]
            rows.append((u, v, util[p][h], sig[p][h], STAY, p, h, 1, 0.0))
            if places[p].charger:
                rows.append((u, v, util[p][h] + putil[p][h], psig[p][h], PLUG, p, h, 1, 0.0))
        for q in range(n_places):
            if q != p and (q, h + tau) in node_id:
                rows.append(
                    (u, node_id[(q, h + tau)], cfg.travel.utility, cfg.travel.sigma, TRAVEL, p, h,
                     tau, cfg.travel.energy_kwh)
                )
    arr = np.array(rows, dtype=float)
    tail, head = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    n = len(node_id)
    # Prune nodes/arcs that are on no source-sink path.
    src, snk = node_id[(start, 0)], node_id[(start, t_max)]
    keep_node = _reachable(tail, head, n, src) & _reachable(head, tail, n, snk)
    keep_arc = keep_node[tail] & keep_node[head]
    new_id = np.cumsum(keep_node) - 1
    arr = arr[keep_arc]
    keys = [k for k, i in node_id.items() if keep_node[i]]
    net = ActivityNetwork(
        tail=new_id[arr[:, 0].astype(np.int64)],
        head=new_id[arr[:, 1].astype(np.int64)],
        n_nodes=int(keep_node.sum()),
        mu=arr[:, 2].copy(),
        sigma=arr[:, 3].copy(),
        kind=arr[:, 4].astype(np.int64),
        place=arr[:, 5].astype(np.int64),
        hour=arr[:, 6].astype(np.int64),
        duration=arr[:, 7].astype(np.int64),
        energy_kwh=arr[:, 8].copy(),
        hours=t_max,
        place_names=tuple(p.name for p in places),
        node_place=np.array([k[0] for k in keys], dtype=np.int64),
        node_hour=np.array([k[1] for k in keys], dtype=np.int64),
    )
    net.check()
    return net

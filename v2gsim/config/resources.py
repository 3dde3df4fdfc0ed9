"""The peak memory of a run, estimated from a validated scenario before anything is allocated.

A run that does not fit in memory must be refused with a message naming the field to change, not
killed by the operating system half-way (or left swapping). :func:`estimate_memory` adds up what a
run holds at its peak; :func:`memory_problems` compares it with the memory of this machine
(:func:`memory_limit`). The terms, in bytes (M drivers, T hours, A arcs and N nodes of the largest
cluster network; counts of :func:`network_size`, an upper bound of the built network):

* **fleet** ``M * (AGENT + 9 T + 27 T)``: the driver agents and fleet arrays (``AGENT``), the
  day's plugged/travel arrays (9 T), and the per-hour gathers of
  :meth:`v2gsim.sim.agents.driver.DriverPopulation.choose` (27 T), which exceed the compiled kernel's
  own result (int32 arc per hour, :mod:`v2gsim.behavior.compiled`: it keeps no (A, M) array). The
  ``extremal`` population is sampled with numpy instead, so its term is
  ``max(c_dist A, 4 A + 8 N + 4 T, 27 T)``: the (A, M) utilities (float32 plus the sampler's
  temporaries, ``c_dist`` bytes per arc), the numpy longest-path programme (float32 utilities,
  float32 distances and int32 predecessors per node, int32 arcs per hour) or the gathers.
* **tables** ``days * T * ROW``: the hourly and daily rows the model collects.
* **history** ``requirement_days * 43200 * 48``: the synthetic AGC history of the ``chance`` and
  ``bilevel`` policies (2-s samples, the generator's working arrays).
* **network** ``64 N A + 400 A + 2 T A`` per cluster (dense incidence matrices of the persistency
  models, the arc list while building), times ``1 + levels`` for ``bilevel``.
* **fixed** ``BASE``: the interpreter and the libraries.

The constants were measured on the default network (170 arcs, 57 nodes, 24 h; peak RSS of 1-day
runs of 10,000 and 40,000 EVs: 1.8-2.0 kB per EV with normal utilities, 2.6 kB two-point, 3.2 kB
uniform, of which 0.6 kB agents and fleet; 1.4 kB per hourly row; 22 B per history sample) and
rounded up: the estimate is an upper bound within a factor of about 1.5
(``tests/test_hardening.py`` checks it against a measured run).
Standard library only (validation imports no numpy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from v2gsim.config.network import NetworkConfig
    from v2gsim.config.scenario import Scenario

__all__ = [
    "MEMORY_LIMIT_ENV",
    "MemoryEstimate",
    "NetworkSize",
    "estimate_memory",
    "memory_limit",
    "memory_problems",
    "network_size",
]

#: Environment variable that lowers the memory a run may use (bytes, or with a K/M/G/T suffix),
#: e.g. on a machine shared with other jobs.
MEMORY_LIMIT_ENV = "V2GSIM_MEMORY_LIMIT"

BASE_BYTES = 400e6
AGENT_BYTES = 900.0
ROW_BYTES = 2000.0
HISTORY_BYTES_PER_SAMPLE = 48.0
SAMPLES_PER_DAY = 43200  # 2-s AGC samples
#: Bytes per arc and driver of sampling the ``extremal`` utilities with numpy (float32 rows plus signs).
SAMPLE_BYTES_PER_ARC = {"extremal": 12.0}
#: Distributions the compiled kernel draws (no (arcs x drivers) array; v2gsim.behavior.compiled).
KERNEL_DISTRIBUTIONS = ("normal", "uniform", "two_point")


@dataclass(frozen=True)
class NetworkSize:
    """Nodes and arcs of an activity network before pruning (an upper bound of the built one)."""

    nodes: int
    arcs: int


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory of a run (bytes), by term (module docstring).

    Attributes:
        total: sum of the terms (B).
        parts: term -> bytes (``fleet``, ``tables``, ``history``, ``network``, ``fixed``).
        per_driver: bytes of the fleet term per driver (B).
        size: the largest cluster network.
    """

    total: float
    parts: dict[str, float] = field(default_factory=dict)
    per_driver: float = 0.0
    size: NetworkSize = NetworkSize(0, 0)


def network_size(net: NetworkConfig) -> NetworkSize:
    """Nodes and arcs :func:`v2gsim.core.network.build_network` creates before pruning.

    Mirrors its rule (reconstructed here so that validation needs no numpy): node (p, h) exists
    for the start place at hours 0 and T and for every place inside its window at the hours in
    between; a stay arc (and a plug arc at a charger) joins (p, h) to (p, h + 1), a travel arc
    (p, h) to every (q, h + tau), q != p. O(places x hours).
    """
    T, tau = net.hours, net.travel.hours
    start = next(k for k, p in enumerate(net.places) if p.name == net.start_place)

    def allowed(k: int, h: int) -> bool:
        if h in (0, T):
            return k == start
        lo, hi = net.places[k].window
        return lo <= h <= hi

    at = [[allowed(k, h) for k in range(len(net.places))] for h in range(T + 1)]
    count = [sum(row) for row in at]
    arcs = 0
    for h in range(T):
        for k, place in enumerate(net.places):
            if not at[h][k]:
                continue
            if at[h + 1][k]:
                arcs += 2 if place.charger else 1
            if h + tau <= T:
                arcs += count[h + tau] - int(at[h + tau][k])
    return NetworkSize(nodes=sum(count), arcs=arcs)


def estimate_memory(scenario: Scenario) -> MemoryEstimate:
    """Peak memory of a run of ``scenario`` (module docstring), in bytes."""
    nets = [cfg for _, _, cfg in scenario.cluster_networks()]
    sizes = [network_size(n) for n in nets]
    big = max(sizes, key=lambda s: s.arcs)
    a, n, t = float(big.arcs), float(big.nodes), float(scenario.network.hours)
    if scenario.drivers.distribution in KERNEL_DISTRIBUTIONS:
        per_driver = AGENT_BYTES + 9 * t + 27 * t
    else:
        c = SAMPLE_BYTES_PER_ARC.get(scenario.drivers.distribution, 16.0)
        per_driver = AGENT_BYTES + 9 * t + max(c * a, 4 * a + 8 * n + 4 * t, 27 * t)
    platform = scenario.platform
    copies = 1 + (len(platform.bilevel.levels) if platform.policy == "bilevel" else 0)
    history_days = (platform.chance.requirement_days
                    if platform.policy in ("chance", "bilevel") and scenario.market.agc == "synthetic"
                    else 0)
    parts = {
        "fleet": scenario.drivers.count * per_driver,
        "tables": float(scenario.days) * t * ROW_BYTES,
        "history": history_days * SAMPLES_PER_DAY * HISTORY_BYTES_PER_SAMPLE,
        "network": sum((64.0 * s.nodes * s.arcs * copies + 400.0 * s.arcs + 2 * t * s.arcs)
                       for s in sizes),
        "fixed": BASE_BYTES,
    }
    return MemoryEstimate(total=sum(parts.values()), parts=parts, per_driver=per_driver, size=big)


def _parse_bytes(text: str) -> float | None:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}.get(text[-1:], 1.0)
    try:
        value = float(text[:-1] if scale != 1.0 else text) * scale
    except ValueError:
        return None
    return value if value > 0 else None


def memory_limit() -> float:
    """Memory a run may use on this machine (bytes): the physical memory, lowered by a cgroup
    limit (``/sys/fs/cgroup/memory.max``) and by :data:`MEMORY_LIMIT_ENV` when set."""
    limits = []
    try:
        limits.append(float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")))
    except (AttributeError, OSError, ValueError):
        pass
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            limits.append(float(text))
    except OSError:
        pass
    env = _parse_bytes(os.environ.get(MEMORY_LIMIT_ENV, ""))
    if env is not None:
        limits.append(env)
    return min(limits) if limits else float("inf")


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f} GB" if x >= 1e8 else f"{x / 1e6:.0f} MB"


def memory_problems(scenario: Scenario, limit: float | None = None) -> list[tuple[str, str]]:
    """``(field, message)`` when the estimated peak memory exceeds ``limit`` (default
    :func:`memory_limit`): the field is the one behind the largest term, the message gives the
    estimate, its terms and the largest value of that field that fits."""
    limit = memory_limit() if limit is None else limit
    est = estimate_memory(scenario)
    if est.total <= limit:
        return []
    p = est.parts
    term = max(("fleet", "tables", "history", "network"), key=lambda k: p[k])
    room = limit - (est.total - p[term])
    m, days = scenario.drivers.count, scenario.days
    if term == "fleet":
        fld, unit = "drivers.count", est.per_driver
        what = f"{m} EVs x {est.per_driver:,.0f} B on a network of {est.size.arcs} arcs"
    elif term == "tables":
        fld, unit = "days", p["tables"] / days
        what = f"{days} days of hourly tables"
    elif term == "history":
        fld, unit = "platform.chance.requirement_days", SAMPLES_PER_DAY * HISTORY_BYTES_PER_SAMPLE
        what = f"{scenario.platform.chance.requirement_days} days of synthetic AGC history"
    else:
        fld, unit = "network.places", 0.0
        what = f"networks of up to {est.size.nodes} nodes and {est.size.arcs} arcs"
    allowed = (f"at most {max(int(room // unit), 0):,}" if unit > 0
               else "fewer places or hours (a smaller network)")
    parts = ", ".join(f"{k} {_gb(v)}" for k, v in p.items() if v > 0)
    return [(fld, f"a run needs about {_gb(est.total)} of memory at its peak ({what}; {parts}), "
                  f"more than the {_gb(limit)} this machine allows; allowed here: {allowed} "
                  f"(the limit is the physical memory, or ${MEMORY_LIMIT_ENV})")]

"""Explicit randomness: one ``numpy.random.SeedSequence`` per run, children per component.

No module of v2gsim touches global random state. A run's root sequence is
``SeedSequence(entropy=seed, spawn_key=(replication,))``; each component (drivers, fleet, AGC, prices,
...) gets its own child, keyed by a stable name so adding a component never shifts the others' streams.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["COMPONENTS", "component_rng", "run_seed_sequence"]

#: Components with their own streams. New components append here; the key is a hash of the name.
COMPONENTS = ("fleet", "drivers", "agc", "prices", "platform", "grid_company")


def run_seed_sequence(
    seed: int, replication: int = 0, point: int | None = None
) -> np.random.SeedSequence:
    """Root seed sequence of one run.

    A plain run (``v2gsim run``) uses spawn key ``(replication,)``; task ``(point, replication)`` of
    a sweep uses ``(point, replication)``. The sequence depends on nothing else, so a task gives
    the same numbers serially, in a process pool or on a Dask cluster.
    """
    key = (int(replication),) if point is None else (int(point), int(replication))
    return np.random.SeedSequence(entropy=int(seed), spawn_key=key)


def component_rng(root: np.random.SeedSequence, name: str) -> np.random.Generator:
    """Independent generator for component ``name`` derived from ``root``.

    The child's spawn key extends ``root``'s with a CRC32 of ``name``, so streams depend only on
    (seed, replication, component name), not on the order in which components are created.
    """
    key = zlib.crc32(name.encode("utf-8"))
    child = np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, key))
    return np.random.Generator(np.random.PCG64(child))

"""Explicit randomness: one ``numpy.random.SeedSequence`` per run, children per component.

No module of v2gsim touches global random state. A run's root sequence is
``SeedSequence(entropy=seed, spawn_key=(replication,))`` (a sweep task adds its point:
``spawn_key=(point, replication)``); each component gets its own child, keyed by a stable name, so
adding a component never shifts the others' streams. The components (:data:`COMPONENTS`):

* ``fleet`` - initial states of charge;
* ``drivers`` - sampled arc utilities (path choices): with the compiled sampler each cluster draws
  two 32-bit key words a day from it, and driver j's utilities are the Philox4x32-10 stream of
  (key, j) (:mod:`v2gsim.behavior.philox`), so they do not depend on threads or chunking; with
  ``drivers.sampler = "numpy"`` the utilities are drawn from it directly;
* ``agc`` - synthetic AGC days;
* ``prices`` - synthetic regulation prices;
* ``policy`` - the generator a platform policy is given (the built-in policies draw nothing);
* ``grid_company`` - the grid company's published price and realized actions (seed 001);
* ``game_drivers`` - initial strategies and imitation of the drivers (seed 001);
* ``mesa`` - Mesa's own ``model.rng`` / ``model.random`` (no phase of the model uses them);
* ``energy_prices`` - synthetic energy prices (``[market.energy] source = "synthetic"``).
* ``sessions`` - declared and realized sessions of a session model driving the loop
  (:mod:`v2gsim.behavior.mobility.daily`).
* ``reserve`` - the TSO's daily reserve requests (seed 004, :func:`v2gsim.core.schedule.sample_requests`).

One stream is deliberately not a child of the run's root: the **AGC history** the platform knows
before the run (:func:`history_rng`, ``SeedSequence([seed, 4242])``), from which the policies'
requirement and net-discharge statistics are estimated. It depends on the scenario seed only, so
every replication of a scenario plans with the same history (it is the platform's record of past
signals, not a draw of the run) and the statistics are computed once per scenario.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = [
    "COMPONENTS",
    "HISTORY_SEED_TAG",
    "component_rng",
    "component_seed_sequence",
    "history_rng",
    "run_seed_sequence",
]

#: Components with their own streams. New components append here; the key is a hash of the name.
COMPONENTS = ("fleet", "drivers", "agc", "prices", "policy", "grid_company", "game_drivers", "mesa",
              "energy_prices", "sessions", "reserve")

HISTORY_SEED_TAG = 4242
"""Second word of the seed ``[scenario.seed, 4242]`` of the AGC history (see the module docstring)."""


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


def component_seed_sequence(root: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """Child sequence of component ``name`` (one of :data:`COMPONENTS`) derived from ``root``.

    The child's spawn key extends ``root``'s with a CRC32 of ``name``, so streams depend only on
    (seed, replication, component name), not on the order in which components are created.

    Raises:
        ValueError: ``name`` is not in :data:`COMPONENTS`.
    """
    if name not in COMPONENTS:
        raise ValueError(f"unknown random component {name!r}; known: {', '.join(COMPONENTS)}")
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, key))


def component_rng(root: np.random.SeedSequence, name: str) -> np.random.Generator:
    """Independent generator for component ``name`` (see :func:`component_seed_sequence`)."""
    return np.random.Generator(np.random.PCG64(component_seed_sequence(root, name)))


def history_rng(seed: int) -> np.random.Generator:
    """Generator of the AGC history known before a run of scenario seed ``seed``.

    ``numpy.random.default_rng([seed, 4242])``: the same for every replication (module docstring).
    """
    return np.random.default_rng([int(seed), HISTORY_SEED_TAG])

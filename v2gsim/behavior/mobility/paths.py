"""Sessions of the drivers' chosen paths in the agent loop (models.md §1.1-1.2, eq. D1).

A driver's longest path (:func:`v2gsim.behavior.sampling.longest_paths`) occupies one arc per clock
hour. Its session at a place is the span of its plug-in hours there:

* arrival = the first hour t with a plug-in arc at the place, departure = the last such hour + 1
  (the end of that hour; slots of 60 min, so ``arrival_slot = t`` and ``departure_slot = last + 1``
  exactly). Hours in between that the driver spends elsewhere or unplugged are inside the span:
  this is a one-session-per-day summary, not the path's plug-in mask (``PathChoice.plugged``);
* drivers that never plug in at the place have no session (the result holds the others only);
* energy at arrival = the given stored energy minus the travel energy of the path's arcs before the
  arrival hour (``subtract_travel``; clipped at 0, ignoring any charging elsewhere on the way), or
  the given energy itself; energy wanted = ``wanted_kwh`` (default: the arrival energy, no net
  requirement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.mobility.core import SessionError, Sessions
from v2gsim.behavior.sampling import PathChoice
from v2gsim.core.network import PLUG, ActivityNetwork

__all__ = ["PathSessionSpec", "place_index", "sessions_from_paths"]


@dataclass(frozen=True)
class PathSessionSpec:
    """Sessions taken from the drivers' chosen paths (plain data for the model).

    Attributes:
        place: the place of the sessions (a network place with a charger).
        wanted_soc: SOC wanted at departure (-); ``None``: the arrival energy (no requirement).
    """

    place: str
    wanted_soc: float | None = None


def place_index(net: ActivityNetwork, place: str | int) -> int:
    """Index of ``place`` (a name or an index) in ``net.place_names``.

    Raises:
        SessionError: an unknown place (the message lists the network's places).
    """
    names = list(net.place_names)
    if isinstance(place, str):
        if place not in names:
            raise SessionError(f"place {place!r} is not in the network; places: {names}")
        return names.index(place)
    if not 0 <= int(place) < max(len(names), 1):
        raise SessionError(f"place index {place} out of range; places: {names}")
    return int(place)


def _per_driver(values: ArrayLike, m: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        return np.full(m, float(v))
    if v.shape != (m,):
        raise SessionError(f"{name} must be a scalar or have one value per driver ({m}), got {v.shape}")
    return v


def sessions_from_paths(choice: PathChoice, net: ActivityNetwork, place: str | int,
                        energy_kwh: ArrayLike, *, wanted_kwh: ArrayLike | None = None,
                        evs: ArrayLike | None = None, day: int = 0,
                        subtract_travel: bool = True) -> Sessions:
    """Per driver, the session of its chosen path at ``place`` (module docstring).

    Args:
        choice: the drivers' paths on ``net`` (M drivers, T hours).
        net: their activity network (hourly arcs).
        place: place name or index.
        energy_kwh: (M,) or scalar stored energy at the start of the day (kWh).
        wanted_kwh: (M,) or scalar energy wanted at departure (kWh); default the arrival energy.
        evs: (M,) EV index of each driver (e.g. its fleet row); default 0..M-1.
        day: day index of the sessions.
        subtract_travel: subtract the path's travel energy before arrival from ``energy_kwh``.

    Returns:
        The sessions (60-min slots) of the drivers that plug in at the place, in driver order.
    """
    arcs = np.asarray(choice.arc_at_hour)
    m, hours = arcs.shape
    p = place_index(net, place)
    at_place = (net.kind[arcs] == PLUG) & (net.place[arcs] == p)
    has = at_place.any(axis=1)
    first = at_place.argmax(axis=1)
    last = hours - 1 - at_place[:, ::-1].argmax(axis=1)
    e = _per_driver(energy_kwh, m, "energy_kwh")
    if subtract_travel:
        per_hour = np.where(net.duration > 0, net.energy_kwh / np.maximum(net.duration, 1), 0.0)
        used = per_hour[arcs]  # (M, T) travel energy of each hour
        before = np.take_along_axis(np.cumsum(used, axis=1) - used, first[:, None], axis=1)[:, 0]
        e = np.maximum(e - before, 0.0)
    wanted = e if wanted_kwh is None else _per_driver(wanted_kwh, m, "wanted_kwh")
    ev = np.arange(m) if evs is None else np.asarray(evs, dtype=np.int64)
    if ev.shape != (m,):
        raise SessionError(f"evs must have one index per driver ({m}), got {ev.shape}")
    rows = np.flatnonzero(has)
    return Sessions(
        ev=ev[rows], day=np.full(rows.size, day, dtype=np.int64),
        arrival_h=first[rows].astype(float), departure_h=last[rows] + 1.0,
        energy_arrival_kwh=e[rows], energy_wanted_kwh=wanted[rows],
        slot_minutes=60, rule="half", place=place if isinstance(place, str) else net.place_names[p],
    )

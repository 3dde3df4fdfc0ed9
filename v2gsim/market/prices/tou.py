"""Time-of-use tariffs in the acnportal JSON format (:func:`read_tou_tariff`, :class:`TouTariff`).

Format (acnportal 0.3.3 ``signals/tariffs/tariff_schedules/*.json``; the files of
``../shared/data/us_utility_tou_tariffs_acnportal/``, California tariffs in $/kWh)::

    {"name": "SCE TOU-EV-4", "effective": "2019-3-1", "link": "...",
     "schedule": [{"id": "Summer-Weekday", "effective_start": "06-01", "effective_end": "09-30",
                   "dow_mask": "WEEKDAYS", "times": [0, 8, 12, 18, 23],
                   "tariffs": [0.05623, 0.0925, 0.26668, 0.0925, 0.05623],
                   "demand_charge": 15.51}, ...]}

Rules used here (stated because the format leaves them open):

* A schedule applies on the days from ``effective_start`` to ``effective_end`` (``M-D``,
  inclusive; a range with end before start wraps over the new year, e.g. ``10-01`` .. ``05-31``)
  whose weekday is in ``dow_mask`` (``WEEKDAYS`` Mon-Fri, ``WEEKENDS`` Sat-Sun, ``ALL``). The first
  schedule in file order that applies is used. A schedule that can never apply (an earlier one
  covers all its days) is reported with a :class:`UserWarning`: PG&E A-10's ``Winter-Weekend`` is
  such a case (its ``Winter-Weekday`` has ``dow_mask`` ALL in the file).
* ``times`` are the start hours of the energy-charge periods (``tariffs[i]`` applies from
  ``times[i]`` to the next time, the last until 24 h); they may be fractional (PG&E A-10: 8.5 =
  08:30). acnportal 0.3.3 truncates them to whole hours (``int(8.5) = 8``); here they are kept.
* A slot that straddles a period boundary gets the time-weighted mean of the periods (the exact
  price per kWh of energy spread evenly over the slot).
* Holidays are not known to the format and are treated as ordinary days. Demand charges ($/kW per
  month) are read but are not part of the energy price.

Pure standard library and numpy.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from v2gsim.core.datafiles import read_json
from v2gsim.market.prices.energy import SLOT_MINUTES, EnergyPriceFileError, EnergyPrices

__all__ = ["MAX_FOLDER_FILES", "MAX_PERIODS", "MAX_SCHEDULES", "TouSchedule", "TouTariff",
           "find_tou_tariff", "read_tou_tariff"]

#: Most schedules a tariff file may hold (the acnportal tariffs have 2 to 6).
MAX_SCHEDULES = 64
#: Most energy-charge periods a schedule may hold (96 = one per 15 min).
MAX_PERIODS = 96
#: Most ``*.json`` files :func:`find_tou_tariff` looks at in a folder.
MAX_FOLDER_FILES = 200
WHAT = "TOU tariff JSON file"

_MASKS = {"WEEKDAYS": frozenset(range(5)), "WEEKENDS": frozenset({5, 6}),
          "ALL": frozenset(range(7))}


@dataclass(frozen=True)
class TouSchedule:
    """One schedule of a TOU tariff (a season and a set of weekdays).

    Attributes:
        id: the schedule's ``id``.
        start: (month, day) of the first day it applies.
        end: (month, day) of the last day (before ``start``: the range wraps over the new year).
        dow_mask: ``"WEEKDAYS"``, ``"WEEKENDS"`` or ``"ALL"``.
        times: start hours of the periods (h since midnight, increasing, the first 0).
        tariffs: energy charge of each period ($/kWh).
        demand_charge: demand charge ($/kW per month), not part of the energy price.
    """

    id: str
    start: tuple[int, int]
    end: tuple[int, int]
    dow_mask: str
    times: tuple[float, ...]
    tariffs: tuple[float, ...]
    demand_charge: float

    def applies(self, day: dt.date) -> bool:
        """Whether the schedule covers ``day`` (season and weekday)."""
        return self.covers((day.month, day.day), day.weekday())

    def covers(self, month_day: tuple[int, int], weekday: int) -> bool:
        """Whether the schedule covers a (month, day) falling on ``weekday`` (0 = Monday)."""
        if weekday not in _MASKS[self.dow_mask]:
            return False
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end

    def price_at(self, hour: float) -> float:
        """Energy charge ($/kWh) at clock time ``hour`` (h since midnight, in [0, 24))."""
        i = int(np.searchsorted(self.times, hour, side="right")) - 1
        return self.tariffs[i]

    def mean_price(self, a: float, b: float) -> float:
        """Time-weighted mean energy charge over ``[a, b)`` h (``0 <= a < b <= 24``)."""
        edges = np.concatenate([self.times, [24.0]])
        lo, hi = np.maximum(edges[:-1], a), np.minimum(edges[1:], b)
        w = np.clip(hi - lo, 0.0, None)
        return float(np.dot(w, self.tariffs) / (b - a))


@dataclass(frozen=True)
class TouTariff:
    """A time-of-use tariff: named schedules of energy charges by season, weekday and hour.

    Attributes:
        name: the tariff's ``name`` (e.g. ``"SCE TOU-EV-4"``).
        effective: the file's ``effective`` date, as written.
        link: the utility's tariff document.
        schedules: the schedules in file order.
        path: the file read.
    """

    name: str
    effective: str
    link: str
    schedules: tuple[TouSchedule, ...]
    path: Path

    def schedule_for(self, day: dt.date) -> TouSchedule:
        """The first schedule in file order that covers ``day``."""
        for s in self.schedules:
            if s.applies(day):
                return s
        raise ValueError(f"{self.path}: tariff {self.name!r} has no schedule for {day.isoformat()}")

    def price_at(self, when: dt.datetime) -> float:
        """Energy charge ($/kWh) in force at ``when`` (local time)."""
        hour = when.hour + when.minute / 60.0 + when.second / 3600.0
        return self.schedule_for(when.date()).price_at(hour)

    def prices(self, start: dt.date, days: int, slot_minutes: int = 60) -> EnergyPrices:
        """The buy price of every slot of ``days`` days from ``start`` (USD/kWh, sell = buy).

        A slot straddling a period boundary gets the time-weighted mean (module docstring).
        """
        if slot_minutes not in SLOT_MINUTES:
            raise ValueError(f"slot_minutes must be one of {SLOT_MINUTES}, got {slot_minutes!r}")
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        n = 1440 // slot_minutes
        dates = [start + dt.timedelta(days=k) for k in range(int(days))]
        h = slot_minutes / 60.0
        buy = np.array([[self.schedule_for(d).mean_price(s * h, (s + 1) * h) for s in range(n)]
                        for d in dates])
        return EnergyPrices(buy=buy, sell=buy, slot_minutes=slot_minutes, currency="USD",
                            dates=tuple(d.isoformat() for d in dates),
                            source=f"{self.name} ({self.path.name})")


def _month_day(value: Any, where: str) -> tuple[int, int]:
    try:
        if not isinstance(value, str) or len(value) > 5:
            raise ValueError
        m, d = (int(x) for x in value.split("-"))
        dt.date(2000, m, d)  # a leap year: 02-29 is valid
    except (ValueError, TypeError):
        raise ValueError(f"{where} must be 'MM-DD' (a string)") from None
    return m, d


def _numbers(doc: dict[str, Any], key: str, where: str) -> tuple[float, ...]:
    """``doc[key]``: a list of 1 to :data:`MAX_PERIODS` JSON numbers."""
    v = doc[key]
    if (not isinstance(v, list) or not 1 <= len(v) <= MAX_PERIODS
            or not all(isinstance(t, int | float) and not isinstance(t, bool) for t in v)):
        raise ValueError(f"{where}.{key} must be a list of 1 to {MAX_PERIODS} numbers")
    return tuple(float(t) for t in v)


def _schedule(doc: Any, k: int) -> TouSchedule:
    """One ``schedule`` entry, checked; ValueError naming the entry and field otherwise."""
    where = f"schedule[{k}]"
    if not isinstance(doc, dict):
        raise ValueError(f"{where} must be an object")
    missing = [f for f in ("id", "effective_start", "effective_end", "dow_mask", "times",
                           "tariffs") if f not in doc]
    if missing:
        raise ValueError(f"{where} is missing {missing}")
    if not isinstance(doc["dow_mask"], str) or doc["dow_mask"] not in _MASKS:
        raise ValueError(f"{where}.dow_mask must be one of {sorted(_MASKS)}")
    if not isinstance(doc["id"], str | int) or isinstance(doc["id"], bool) or len(str(doc["id"])) > 100:
        raise ValueError(f"{where}.id must be a string of at most 100 characters")
    times, tariffs = _numbers(doc, "times", where), _numbers(doc, "tariffs", where)
    demand = doc.get("demand_charge", 0.0)
    if not isinstance(demand, int | float) or isinstance(demand, bool):
        raise ValueError(f"{where}.demand_charge must be a number")
    demand = float(demand)
    if len(times) != len(tariffs):
        raise ValueError(f"{where}: {len(times)} times and {len(tariffs)} tariffs; need as many, >= 1")
    if times[0] != 0 or any(b <= a for a, b in itertools.pairwise(times)) or times[-1] >= 24:
        raise ValueError(f"{where}.times must increase from 0 and stay below 24 h")
    if not all(math.isfinite(t) and t >= 0 for t in (*tariffs, demand)):
        raise ValueError(f"{where}: tariffs and demand_charge must be finite and >= 0")
    return TouSchedule(id=str(doc["id"]), start=_month_day(doc["effective_start"], f"{where}."
                       "effective_start"), end=_month_day(doc["effective_end"], f"{where}."
                       "effective_end"), dow_mask=doc["dow_mask"], times=times, tariffs=tariffs,
                       demand_charge=demand)


def _check_coverage(tariff: TouTariff) -> None:
    """Every day of a leap year on every weekday has a schedule; warn on schedules never used."""
    used: set[str] = set()
    for k in range(366):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=k)  # a leap year: 02-29 included
        md = (day.month, day.day)
        for weekday in range(7):
            first = next((s for s in tariff.schedules if s.covers(md, weekday)), None)
            if first is None:
                raise ValueError(f"no schedule covers {day.strftime('%m-%d')} on a "
                                 f"{dt.date(2024, 1, 1 + weekday).strftime('%A')}")
            used.add(first.id)
    for s in tariff.schedules:
        if s.id not in used:
            warnings.warn(f"{tariff.path}: schedule {s.id!r} of {tariff.name!r} never applies: an "
                          "earlier schedule covers all its days (the first match in file order "
                          "is used)", UserWarning, stacklevel=3)


def read_tou_tariff(path: str | Path) -> TouTariff:
    """Read a TOU tariff in the acnportal JSON format (module docstring).

    The file is opened by :func:`v2gsim.core.datafiles.read_json`: a regular UTF-8 file of at most
    :data:`~v2gsim.core.datafiles.MAX_JSON_BYTES`, valid JSON. At most :data:`MAX_SCHEDULES`
    schedules of at most :data:`MAX_PERIODS` periods each.

    Raises:
        EnergyPriceFileError: naming the file: missing, not a regular file, too large, not JSON, a
            missing or malformed field, periods that do not start at 0 h or do not increase, or a
            day of the year no schedule covers.
    """
    path = Path(path)
    doc = read_json(path, what=WHAT, error=EnergyPriceFileError)
    try:
        if not isinstance(doc, dict) or "name" not in doc or "schedule" not in doc:
            raise ValueError("need an object with 'name' and 'schedule'")
        if not isinstance(doc["name"], str) or not 0 < len(doc["name"]) <= 200:
            raise ValueError("'name' must be a string of 1 to 200 characters")
        if not isinstance(doc["schedule"], list) or not 0 < len(doc["schedule"]) <= MAX_SCHEDULES:
            raise ValueError(f"'schedule' must be a list of 1 to {MAX_SCHEDULES} schedules")
        schedules = tuple(_schedule(s, k) for k, s in enumerate(doc["schedule"]))
        ids = [s.id for s in schedules]
        if len(set(ids)) != len(ids):
            raise ValueError("schedule ids repeat")
        tariff = TouTariff(name=doc["name"], effective=str(doc.get("effective", ""))[:100],
                           link=str(doc.get("link", ""))[:500], schedules=schedules, path=path)
        _check_coverage(tariff)
    except ValueError as e:
        raise EnergyPriceFileError(path, f"not a TOU tariff in the acnportal format: {e}") from None
    return tariff


def find_tou_tariff(folder: str | Path, name: str) -> Path:
    """The one ``*.json`` tariff file of ``folder`` whose ``name`` is ``name``.

    Only regular files that are valid tariffs (:func:`read_tou_tariff`) count; other ``*.json``
    files are skipped. At most :data:`MAX_FOLDER_FILES` ``*.json`` files are looked at.

    Raises:
        EnergyPriceFileError: ``folder`` is not a folder, holds too many ``*.json`` files, or no
            tariff or several tariffs have that name (the message lists the valid tariffs' names).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EnergyPriceFileError(folder, "no such folder (a folder of TOU tariff JSON files is "
                                   "expected)")
    try:
        files = sorted(itertools.islice(folder.glob("*.json"), MAX_FOLDER_FILES + 1))
    except OSError as exc:
        raise EnergyPriceFileError(folder, f"cannot list the folder ({exc.strerror})") from None
    if len(files) > MAX_FOLDER_FILES:
        raise EnergyPriceFileError(folder, f"holds more than {MAX_FOLDER_FILES} *.json files; "
                                   "give the tariff file instead")
    found: dict[str, list[Path]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unused schedules: warned when read
        for p in files:
            try:
                found.setdefault(read_tou_tariff(p).name, []).append(p)
            except EnergyPriceFileError:
                continue
    hits = found.get(name, [])
    if len(hits) != 1:
        what = "no tariff" if not hits else f"{len(hits)} files ({', '.join(p.name for p in hits)})"
        raise EnergyPriceFileError(folder, f"{what} named {name!r}; tariffs there: "
                                   f"{sorted(found)}" + ("; give the file instead" if hits else ""))
    return hits[0]

"""Readers for Italian GME market results: the PUN day-ahead price and the MSD balancing prices.

Files (``../shared/data/italy_gme_pun_msd_nord_2019-08_10/``, see its SOURCE.md):

* ``pun_2019-08_10.csv``: ``date`` (YYYYMMDD), ``hour`` (GME hour number 1-24, hour ending, Italian
  local time; 1-25 on the autumn daylight-saving day, 1-23 on the spring one), ``pun_eur_mwh``
  (Prezzo Unico Nazionale, the MGP day-ahead national single price, EUR/MWh).
* ``msd_nord_avg_prices_2019-08_10.csv``: ``date``, ``hour``, ``pmed_down_eur_mwh`` and
  ``pmed_up_eur_mwh`` (average prices of the accepted downward / upward MSD offers of the NORD
  zone, EUR/MWh). 615 of its 2 208 upward prices (and 4 downward ones) are 0.00, probably hours
  with no accepted offers (SOURCE.md: not verified); they are kept as 0.

:func:`gme_energy_prices` turns them into an :class:`~v2gsim.market.prices.energy.EnergyPrices`
in EUR/kWh (divided by 1000): buy = sell = spot = PUN, up/down = MSD. Pure pandas/numpy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from v2gsim.core.datafiles import numeric_column, read_csv
from v2gsim.market.prices.energy import (
    EnergyPriceFileError,
    EnergyPrices,
    per_mwh_to_per_kwh,
    wall_clock_hours,
)

__all__ = ["PRICE_LIMIT", "gme_energy_prices", "read_gme_msd", "read_gme_pun", "read_price_csv"]

#: Largest absolute wholesale price a price file may hold (currency/MWh); GME's PUN cap is
#: 4000 EUR/MWh, PJM's energy offer cap 2000 $/MWh (shortage pricing higher).
PRICE_LIMIT = 100_000.0

PUN_COLUMNS = ("date", "hour", "pun_eur_mwh")
_ROME = ZoneInfo("Europe/Rome")  # GME hours are Italian local time
MSD_COLUMNS = ("date", "hour", "pmed_down_eur_mwh", "pmed_up_eur_mwh")


def read_price_csv(path: str | Path, columns: tuple[str, ...], dtype: dict[str, type] | None = None,
                   *, optional: tuple[str, ...] = (), what: str = "price file") -> pd.DataFrame:
    """Read a price CSV that must have ``columns`` (:func:`v2gsim.core.datafiles.read_csv`: a
    regular UTF-8 file of at most :data:`~v2gsim.core.datafiles.MAX_CSV_BYTES`, every line
    complete, at least one data row); ``optional`` columns are kept when present.

    Raises:
        EnergyPriceFileError: naming the file: missing, not a regular file, too large, not UTF-8,
            malformed CSV, a missing column, no data rows.
    """
    return read_csv(path, columns, optional=optional, dtype=dtype, what=what,
                    error=EnergyPriceFileError)


def _numeric(raw: pd.DataFrame, column: str, path: Path, low: float = -PRICE_LIMIT,
             high: float = PRICE_LIMIT) -> pd.Series:
    """A finite numeric column in ``[low, high]``; the first bad row (file line number) in the error."""
    return numeric_column(raw, column, path, low=low, high=high, error=EnergyPriceFileError)


def _hours_of(iso_day: str) -> int:
    """Hours of a calendar day in Italy (Europe/Rome): 23 or 25 on the daylight-saving days."""
    day = dt.date.fromisoformat(iso_day)
    start = dt.datetime.combine(day, dt.time(), tzinfo=_ROME)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=_ROME)
    return round((end - start.astimezone(dt.UTC)).total_seconds() / 3600)


def _clock_hours(raw: pd.DataFrame, path: Path) -> tuple[pd.Series, pd.Series, pd.Series]:
    """ISO dates, GME hour numbers and wall-clock start hours of the rows.

    A day of ``n`` hours numbers them 1..n. ``n = 24``: hour ``h`` starts at ``h - 1``.
    ``n = 25`` (clocks go back at 03:00 CEST): hours 3 and 4 both start at 02:00 wall clock,
    hour ``h >= 4`` at ``h - 2``. ``n = 23`` (clocks go forward at 02:00): hour ``h >= 3`` starts
    at ``h`` (02:00 does not exist).
    """
    date_s = raw["date"].astype(str).str.strip()
    parsed = pd.to_datetime(date_s, format="%Y%m%d", errors="coerce")
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise EnergyPriceFileError(path, f"line {i + 2}: date is not YYYYMMDD")
    hour = _numeric(raw, "hour", path, low=1, high=25)
    if (hour != hour.round()).any():
        i = int(np.flatnonzero((hour != hour.round()).to_numpy())[0])
        raise EnergyPriceFileError(path, f"line {i + 2}: hour is not an integer")
    hour = hour.astype(np.int64)
    iso = parsed.dt.strftime("%Y-%m-%d")
    n = hour.groupby(iso).transform("size")
    for day, hs in hour.groupby(iso):
        if len(hs) not in (23, 24, 25) or sorted(hs) != list(range(1, len(hs) + 1)):
            raise EnergyPriceFileError(path, f"day {day} has hours that are not 1..24 (1..23 / "
                                       "1..25 on a daylight-saving day): missing or repeated hours")
        if len(hs) != 24 and len(hs) != _hours_of(str(day)):
            raise EnergyPriceFileError(path, f"day {day} has {len(hs)} hours but is not a "
                                       f"daylight-saving day in Italy (it has {_hours_of(str(day))})"
                                       ": missing or repeated hours")
    clock = hour - 1
    clock = clock.where(~((n == 25) & (hour >= 4)), hour - 2)
    clock = clock.where(~((n == 23) & (hour >= 3)), hour)
    return iso, hour, clock


def read_gme_pun(path: str | Path) -> pd.DataFrame:
    """Read a GME PUN file (columns ``date``, ``hour``, ``pun_eur_mwh``).

    Returns:
        One row per file row: ``date`` (ISO ``YYYY-MM-DD``), ``hour`` (GME hour number, 1-25, as
        in the file), ``clock_hour`` (local wall-clock start hour 0-23, see :func:`_clock_hours`),
        ``pun_eur_mwh`` (EUR/MWh).

    Raises:
        EnergyPriceFileError: naming the file and the problem (not a readable CSV, a missing
            column, a bad date, hour or price, a day whose hours are not 1..n).
    """
    path = Path(path)
    raw = read_price_csv(path, PUN_COLUMNS, dtype={"date": str}, what="GME PUN file")
    iso, hour, clock = _clock_hours(raw, path)
    return pd.DataFrame({"date": iso, "hour": hour, "clock_hour": clock,
                         "pun_eur_mwh": _numeric(raw, "pun_eur_mwh", path)})


def read_gme_msd(path: str | Path) -> pd.DataFrame:
    """Read a GME MSD average-price file (``date``, ``hour``, ``pmed_down_eur_mwh``,
    ``pmed_up_eur_mwh``).

    Returns:
        ``date``, ``hour``, ``clock_hour`` as :func:`read_gme_pun`; ``msd_down_eur_mwh`` and
        ``msd_up_eur_mwh`` (average accepted downward / upward offer price, EUR/MWh).

    Raises:
        EnergyPriceFileError: as :func:`read_gme_pun`.
    """
    path = Path(path)
    raw = read_price_csv(path, MSD_COLUMNS, dtype={"date": str}, what="GME MSD file")
    iso, hour, clock = _clock_hours(raw, path)
    return pd.DataFrame({"date": iso, "hour": hour, "clock_hour": clock,
                         "msd_down_eur_mwh": _numeric(raw, "pmed_down_eur_mwh", path),
                         "msd_up_eur_mwh": _numeric(raw, "pmed_up_eur_mwh", path)})


def gme_energy_prices(pun_path: str | Path, msd_path: str | Path | None = None) -> EnergyPrices:
    """Hourly energy prices of the days of a GME PUN file, in EUR/kWh.

    buy = sell = spot = PUN / 1000; with ``msd_path`` the NORD MSD averages give ``up`` (Pmed-UP)
    and ``down`` (Pmed-DOWN), NaN on days the MSD file lacks. The PUN of a 25-hour day's repeated
    wall-clock hour is the mean of its two hours; a 23-hour day's missing one the mean of its
    neighbours (:func:`~v2gsim.market.prices.energy.wall_clock_hours`). Apply a sell rule with
    :func:`~v2gsim.market.prices.energy.apply_sell_rule`.

    Raises:
        EnergyPriceFileError: from the readers.
    """
    pun = read_gme_pun(pun_path)
    dates, arr = wall_clock_hours(pun["date"], pun["clock_hour"], pun[["pun_eur_mwh"]], pun_path)
    price = per_mwh_to_per_kwh(arr["pun_eur_mwh"])
    up = down = None
    source = Path(pun_path).name
    if msd_path is not None:
        msd = read_gme_msd(msd_path)
        m_dates, m = wall_clock_hours(msd["date"], msd["clock_hour"],
                                      msd[["msd_down_eur_mwh", "msd_up_eur_mwh"]], msd_path)
        pos = {d: i for i, d in enumerate(m_dates)}
        idx = np.array([pos.get(d, -1) for d in dates])
        up, down = (np.full_like(price, np.nan) for _ in range(2))
        have = idx >= 0
        up[have] = per_mwh_to_per_kwh(m["msd_up_eur_mwh"][idx[have]])
        down[have] = per_mwh_to_per_kwh(m["msd_down_eur_mwh"][idx[have]])
        source += f" + {Path(msd_path).name}"
    return EnergyPrices(buy=price, sell=price, spot=price, up=up, down=down, slot_minutes=60,
                        currency="EUR", dates=dates, source=f"GME {source}")

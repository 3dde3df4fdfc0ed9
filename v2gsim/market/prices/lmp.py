"""PJM day-ahead LMPs: the Data Miner ``da_hrl_lmps`` reader, calibration statistics, 2016 constants.

:func:`read_pjm_da_lmp` reads a Data Miner 2 ``da_hrl_lmps`` export (e.g.
``../shared/data/pjm_reg_market_2016/da_hrl_lmps_pjm-rto_2016.csv``, pnode PJM-RTO; columns
``datetime_beginning_utc``, ``datetime_beginning_ept``, ``pnode_name``, ``total_lmp_da`` in $/MWh).
:func:`pjm_da_energy_prices` makes an :class:`~v2gsim.market.prices.energy.EnergyPrices` of it in
USD/kWh. :func:`energy_price_statistics` computes what the synthetic generator
(:mod:`~v2gsim.market.prices.energy_synthetic`) is calibrated to; :data:`PJM2016_DA_LMP` holds them
for PJM-RTO 2016, computed once with::

    .venv/bin/python -c "from v2gsim.market.prices.lmp import *; \\
    p = pjm_da_energy_prices('../shared/data/pjm_reg_market_2016/da_hrl_lmps_pjm-rto_2016.csv'); \\
    print(energy_price_statistics(p.buy * 1000))"

and rounded (mean and std to 3 decimals, the rest to 4). ``tests/test_energy_prices.py`` re-derives
them from the file when it is present. The same year as the regulation-price constants
(:data:`~v2gsim.market.prices.profiles.PJM2016_CAPABILITY`), so the two calibrations agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from v2gsim.core.datafiles import numeric_column
from v2gsim.market.prices.energy import (
    EnergyPriceFileError,
    EnergyPrices,
    per_mwh_to_per_kwh,
    wall_clock_hours,
)
from v2gsim.market.prices.gme import PRICE_LIMIT, read_price_csv

__all__ = [
    "PJM2016_DA_LMP",
    "EnergyPriceStatistics",
    "energy_price_statistics",
    "pjm_da_energy_prices",
    "read_pjm_da_lmp",
]

LMP_COLUMNS = ("datetime_beginning_utc", "datetime_beginning_ept", "total_lmp_da")
_TIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def _times(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    best = None
    for fmt in _TIME_FORMATS:
        t = pd.to_datetime(raw[column], format=fmt, errors="coerce")
        if t.notna().all():
            return t
        best = t if best is None or t.notna().sum() > best.notna().sum() else best
    i = int(np.flatnonzero(best.isna().to_numpy())[0]) if best is not None else 0
    raise EnergyPriceFileError(path, f"line {int(raw.index[i]) + 2}: column {column!r} is not a "
                               f"timestamp in any of the formats {', '.join(_TIME_FORMATS)}")


def read_pjm_da_lmp(path: str | Path, pnode: str | None = None) -> pd.DataFrame:
    """Read a PJM Data Miner ``da_hrl_lmps`` export.

    The file is opened by :func:`v2gsim.core.datafiles.read_csv` (a regular UTF-8 file of at most
    :data:`~v2gsim.core.datafiles.MAX_CSV_BYTES`, every line complete, at least one data row).

    Args:
        path: the CSV.
        pnode: keep the rows of this ``pnode_name`` (needed when the file holds several).

    Returns:
        Sorted by UTC hour: ``time_utc`` (tz-aware), ``date`` (ISO, EPT), ``hour`` (EPT hour
        beginning 0-23; one repeats in November, one is missing in March), ``lmp_usd_mwh`` (total
        day-ahead LMP, $/MWh).

    Raises:
        EnergyPriceFileError: not a readable CSV, a missing column, unparseable times, a day whose
            hours are not consecutive UTC hours (a missing or repeated hour), an LMP that is not a
            number within +-:data:`~v2gsim.market.prices.gme.PRICE_LIMIT`, several pnodes without
            ``pnode``, or an unknown ``pnode``.
    """
    path = Path(path)
    raw = read_price_csv(path, LMP_COLUMNS, optional=("pnode_name",), what="PJM da_hrl_lmps file")
    if "pnode_name" in raw.columns:
        names = raw["pnode_name"].astype(str)
        count = names.nunique()
        if pnode is not None:
            if not (names == pnode).any():
                raise EnergyPriceFileError(path, f"no pnode {pnode!r} (the file has {count} "
                                           "pnode(s))")
            raw = raw[names == pnode]
        elif count > 1:
            raise EnergyPriceFileError(path, f"{count} pnodes; name one")
    lmp = numeric_column(raw, "total_lmp_da", path, low=-PRICE_LIMIT, high=PRICE_LIMIT,
                         error=EnergyPriceFileError)
    ept = _times(raw, "datetime_beginning_ept", path)
    out = pd.DataFrame({
        "time_utc": _times(raw, "datetime_beginning_utc", path).dt.tz_localize("UTC"),
        "date": ept.dt.strftime("%Y-%m-%d"), "hour": ept.dt.hour.astype(np.int64),
        "lmp_usd_mwh": lmp.astype(np.float64),
    })
    out = out.sort_values("time_utc", kind="stable").reset_index(drop=True)
    same_day = out["date"].eq(out["date"].shift())
    gap = same_day & out["time_utc"].diff().ne(pd.Timedelta(hours=1))
    if gap.any():  # a daylight-saving day's EPT hours are still consecutive UTC hours
        raise EnergyPriceFileError(path, f"day {out['date'][_first(gap)]}: its hours are not "
                                   "consecutive UTC hours (a missing or repeated hour)")
    return out


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def pjm_da_energy_prices(path: str | Path, pnode: str | None = None) -> EnergyPrices:
    """Hourly day-ahead prices of a ``da_hrl_lmps`` file in USD/kWh (buy = sell = spot = LMP).

    EPT wall clock; the repeated November hour is averaged, the missing March hour is the mean of
    its neighbours (:func:`~v2gsim.market.prices.energy.wall_clock_hours`).
    """
    df = read_pjm_da_lmp(path, pnode)
    dates, arr = wall_clock_hours(df["date"], df["hour"], df[["lmp_usd_mwh"]], path)
    p = per_mwh_to_per_kwh(arr["lmp_usd_mwh"])
    return EnergyPrices(buy=p, sell=p, spot=p, slot_minutes=60, currency="USD", dates=dates,
                        source=f"PJM DA LMP {Path(path).name}")


@dataclass(frozen=True)
class EnergyPriceStatistics:
    """What the synthetic energy price generator is calibrated to (one hourly price series).

    Attributes:
        mean: mean over all day-hours, price unit (e.g. $/MWh).
        std: sample standard deviation over all day-hours (ddof=1), price unit.
        hour_shape: 24 factors: mean price of each wall-clock hour over the mean of the 24 (they
            average to 1).
        day_log_share: share of the day-to-day component in the variance of the log price around
            its hour-of-day mean: with ``r[d,h] = log p[d,h] - mean_d log p[:,h]``, day effect
            ``b_d = mean_h r[d,:]`` and residual ``e = r - b``: ``var(b) / (var(b) + var(e))``.
        day_autocorrelation: lag-1 correlation of the day effects ``b_d`` (consecutive days).
        hour_autocorrelation: lag-1 correlation of the residuals ``e`` (consecutive hours of a day).
    """

    mean: float
    std: float
    hour_shape: tuple[float, ...]
    day_log_share: float
    day_autocorrelation: float
    hour_autocorrelation: float


def _lag1(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def energy_price_statistics(prices: ArrayLike) -> EnergyPriceStatistics:
    """The :class:`EnergyPriceStatistics` of a (days, 24) array of hourly prices.

    Raises:
        ValueError: not (days >= 3, 24), or a price <= 0 (the calibration is log-normal).
    """
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 24 or p.shape[0] < 3:
        raise ValueError(f"need a (days >= 3, 24) array of hourly prices, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or (p <= 0).any():
        raise ValueError("the log-normal calibration needs finite positive prices")
    hour_mean = p.mean(axis=0)
    r = np.log(p) - np.log(p).mean(axis=0)
    b = r.mean(axis=1)
    e = r - b[:, None]
    vb, ve = float(b.var(ddof=1)), float(e.var(ddof=1))
    return EnergyPriceStatistics(
        mean=float(p.mean()), std=float(p.std(ddof=1)),
        hour_shape=tuple(float(x) for x in hour_mean / hour_mean.mean()),
        day_log_share=vb / (vb + ve), day_autocorrelation=_lag1(b[:-1], b[1:]),
        hour_autocorrelation=_lag1(e[:, :-1].ravel(), e[:, 1:].ravel()),
    )


#: PJM-RTO 2016 day-ahead total LMP ($/MWh), 366 days x 24 EPT wall-clock hours of
#: ``da_hrl_lmps_pjm-rto_2016.csv`` (SOURCE.md: mean 30.01, min 3.43, max 124.67 $/MWh); see the
#: module docstring for the command.
PJM2016_DA_LMP = EnergyPriceStatistics(
    mean=30.007,
    std=11.578,
    hour_shape=(
        0.7324, 0.7038, 0.6693, 0.6496, 0.6756, 0.7697, 0.9940, 1.0470,
        1.0143, 1.0355, 1.0695, 1.0836, 1.1040, 1.1402, 1.1690, 1.2115,
        1.2902, 1.3421, 1.2507, 1.2048, 1.1745, 1.0322, 0.8610, 0.7755,
    ),
    day_log_share=0.4938,
    day_autocorrelation=0.7145,
    hour_autocorrelation=0.8663,
)  # fmt: skip

"""Readers for PJM Data Miner regulation-market exports (:func:`read_pjm_regulation_prices`).

Units: capability price (RMCCP) in $/MW-h, performance price (RMPCP) in $/ΔMW, mileage in ΔMW/MW
(per-unit). Pure pandas/numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from v2gsim.core.datafiles import DataFileError, numeric_column, read_csv_format

__all__ = ["PRICE_COLUMNS", "VALUE_COLUMNS", "read_pjm_regulation_prices"]

#: Columns of the tidy hourly frame returned by :func:`read_pjm_regulation_prices`.
PRICE_COLUMNS = (
    "time_utc",
    "time_ept",
    "hour",
    "month",
    "capability_price",
    "performance_price",
    "regd_mileage",
    "rega_mileage",
    "perf_score",
)
#: The value columns of :data:`PRICE_COLUMNS` (all but the times, hour and month).
VALUE_COLUMNS = PRICE_COLUMNS[4:]

_TIME_COLS = ("datetime_beginning_utc", "datetime_beginning_ept")
# Data Miner 2 feed ``reg_market_results``: hourly mileage and performance score, no prices.
_MILEAGE_FORMAT = (*_TIME_COLS, "regd_hourly", "rega_hourly", "rto_perfscore")
# Data Miner 2 feed ``reg_zone_prelim_bill``: RMCCP / RMPCP.
_BILL_FORMAT = (*_TIME_COLS, "rmccp", "rmpcp")
# Data Miner 2 feed ``reserve_market_results`` (service REG): reg_ccp / reg_pcp, hourly or 5-min.
_RESERVE_FORMAT = (*_TIME_COLS, "reg_ccp", "reg_pcp")

_TIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")

# Value columns of a mileage file (none of them is in a price file).
_MILEAGE_VALUES = ("regd_mileage", "rega_mileage", "perf_score")


#: Formats by their required columns, in the order they are tried.
_FORMATS = {
    "reg_market_results (mileage)": _MILEAGE_FORMAT,
    "reg_zone_prelim_bill (RMCCP/RMPCP)": _BILL_FORMAT,
    "reserve_market_results (reg_ccp/reg_pcp)": _RESERVE_FORMAT,
}
WHAT = "regulation-market file"

# Range of each tidy value column: prices ($/MW-h, $/ΔMW), hourly mileage (ΔMW/MW), score (-).
_RANGES = {"capability_price": (0.0, 1e5), "performance_price": (0.0, 1e5),
           "regd_mileage": (0.0, 1e4), "rega_mileage": (0.0, 1e4), "perf_score": (0.0, 1.0)}


def _parse_time(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Parse a Data Miner timestamp column, trying the formats PJM exports use."""
    best = None
    for fmt in _TIME_FORMATS:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            return parsed
        best = parsed if best is None or parsed.notna().sum() > best.notna().sum() else best
    pos = int(np.flatnonzero(best.isna().to_numpy())[0]) if best is not None else 0
    line = int(values.index[pos]) + 2  # the frame's index is the data row of the file
    raise DataFileError(path, f"line {line}: column {column!r} is not a timestamp in any of the "
                        f"formats {', '.join(_TIME_FORMATS)}")


def _frame_from(raw: pd.DataFrame, path: Path, mapping: dict[str, str]) -> pd.DataFrame:
    """Tidy frame keyed by UTC hour start, value columns renamed by ``mapping`` (source -> tidy).

    Values may be missing (PJM's placeholder rows); present ones must be finite numbers in range.
    """
    out = pd.DataFrame(
        {
            "time_utc": _parse_time(
                raw["datetime_beginning_utc"], path, "datetime_beginning_utc"
            ).dt.tz_localize("UTC"),
            "time_ept": _parse_time(raw["datetime_beginning_ept"], path, "datetime_beginning_ept"),
        }
    )
    for src, dst in mapping.items():
        low, high = _RANGES[dst]
        out[dst] = numeric_column(raw, src, path, low=low, high=high, missing_ok=True)
    return out


def _to_hourly(df: pd.DataFrame) -> pd.DataFrame:
    """Average sub-hourly rows (e.g. 5-min reserve-market results) over each UTC clock hour."""
    if len(df) < 2:
        return df
    step = df["time_utc"].sort_values().diff().median()
    if step >= pd.Timedelta(hours=1):
        return df
    df = df.assign(time_utc=df["time_utc"].dt.floor("h"), time_ept=df["time_ept"].dt.floor("h"))
    values = [c for c in df.columns if c not in ("time_utc", "time_ept")]
    agg = {"time_ept": "first", **{c: "mean" for c in values}}
    return df.groupby("time_utc", as_index=False, sort=True).agg(agg)


def _find_bill_sibling(path: Path) -> Path | None:
    """The ``reg_zone_prelim_bill*.csv`` next to a ``reg_market_results*.csv`` file, if any.

    Prefers the sibling with the same suffix (``reg_market_results_2016.csv`` ->
    ``reg_zone_prelim_bill_2016.csv``), else the only ``reg_zone_prelim_bill*.csv`` of the folder.
    """
    stem = path.stem
    suffix = stem[len("reg_market_results") :] if stem.startswith("reg_market_results") else None
    if suffix is not None:
        same = path.with_name(f"reg_zone_prelim_bill{suffix}.csv")
        if same.exists():
            return same
    candidates = sorted(path.parent.glob("reg_zone_prelim_bill*.csv"))
    return candidates[0] if len(candidates) == 1 else None


def _join_bill(df: pd.DataFrame, bill: Path) -> pd.DataFrame:
    """Outer-join the RMCCP/RMPCP of the price file ``bill`` to a mileage frame by UTC hour."""
    prices = read_pjm_regulation_prices(bill, join_prices=False)
    if prices[list(_MILEAGE_VALUES)].notna().any().any():
        raise DataFileError(bill, "expected a price (reg_zone_prelim_bill) file, found a file "
                            "with mileage columns")
    df = df.drop_duplicates("time_utc", keep="last")
    df = df.merge(
        prices[["time_utc", "time_ept", "capability_price", "performance_price"]],
        on="time_utc",
        how="outer",
        suffixes=("", "_prices"),
    )
    df["time_ept"] = df["time_ept"].fillna(df.pop("time_ept_prices"))
    return df


def _read_mileage(
    raw: pd.DataFrame, path: Path, prices_path: str | Path | None, join_prices: bool
) -> pd.DataFrame:
    """A ``reg_market_results`` file: mileage and score, with the prices of its bill file joined."""
    df = _frame_from(
        raw,
        path,
        {
            "regd_hourly": "regd_mileage",
            "rega_hourly": "rega_mileage",
            "rto_perfscore": "perf_score",
        },
    )
    df = df.dropna(subset=list(_MILEAGE_VALUES), how="all")
    bill = Path(prices_path) if prices_path is not None else None
    if bill is None and join_prices:
        bill = _find_bill_sibling(path)
    if bill is not None:
        df = _join_bill(df, bill)
    return df


def _read_reserve(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A ``reserve_market_results`` file: the REG rows' prices, averaged over each UTC hour."""
    if "service" in raw.columns:
        raw = raw[raw["service"].astype(str).str.upper() == "REG"]
        if raw.empty:
            raise DataFileError(path, "no rows with service == 'REG'")
    df = _frame_from(raw, path, {"reg_ccp": "capability_price", "reg_pcp": "performance_price"})
    return _to_hourly(df)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """All :data:`PRICE_COLUMNS`, empty rows dropped, one row per UTC hour (the last), sorted."""
    for col in VALUE_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df = df.dropna(subset=list(VALUE_COLUMNS), how="all")
    df = df.sort_values("time_utc", kind="stable").drop_duplicates("time_utc", keep="last")
    df["hour"] = df["time_ept"].dt.hour.astype(np.int64)
    df["month"] = df["time_ept"].dt.month.astype(np.int64)
    return df.loc[:, list(PRICE_COLUMNS)].reset_index(drop=True)


def read_pjm_regulation_prices(
    path: str | Path, *, prices_path: str | Path | None = None, join_prices: bool = True
) -> pd.DataFrame:
    """Read a PJM regulation-market export into a tidy hourly frame.

    Recognized formats (by their columns):

    * ``reg_market_results`` (e.g. ``pjm_reg_market_2016/reg_market_results_2016.csv``,
      ``pjm_reg_market_2023-04_2024-08/reg_market_results_2023-04.csv``): hourly RegD/RegA mileage
      (``regd_hourly``/``rega_hourly``, the actual mileage of the signal in the hour) and the RTO
      performance score. It carries no prices: the clearing prices RMCCP/RMPCP are joined by UTC
      hour from ``prices_path`` or, when ``join_prices`` is true, from the
      ``reg_zone_prelim_bill*.csv`` found in the same folder (an outer join, so an hour missing in
      either file keeps the other's values). Without a price file the price columns are NaN.
    * ``reg_zone_prelim_bill``: RMCCP (``rmccp``) and RMPCP (``rmpcp``), no mileage.
    * ``reserve_market_results`` / ``regulation_market_results`` with ``reg_ccp`` (RMCCP) and
      ``reg_pcp`` (RMPCP) (``pjm_reg_market_2022-07``, hourly; ``..._REG_5min_2024-08``, 5-min,
      averaged over each UTC hour). Rows of other services are dropped when a ``service`` column is
      present.

    Rows whose value columns are all NaN (PJM's unapproved placeholder rows) are dropped; if a UTC
    hour still appears twice, the last row is kept. Times: ``time_utc`` is tz-aware UTC (the unique
    key); ``time_ept`` is the file's naive Eastern Prevailing Time wall clock (one hour repeats in
    November and one is missing in March).

    Args:
        path: CSV file of one of the formats above.
        prices_path: Explicit ``reg_zone_prelim_bill`` CSV to join to a mileage file.
        join_prices: Look for the sibling price file of a mileage file automatically.

    Returns:
        DataFrame with the columns :data:`PRICE_COLUMNS`: ``time_utc``, ``time_ept``, ``hour``
        (0–23, EPT hour beginning), ``month`` (1–12, EPT), ``capability_price`` ($/MW-h),
        ``performance_price`` ($/ΔMW), ``regd_mileage`` and ``rega_mileage`` (hourly signal mileage,
        ΔMW/MW), ``perf_score`` (RTO average performance score, 0–1), sorted by ``time_utc``.
        Columns the file does not carry are NaN.

    The file (and a joined price file) is opened by
    :func:`v2gsim.core.datafiles.read_csv_format`: a regular UTF-8 file of at most
    :data:`~v2gsim.core.datafiles.MAX_CSV_BYTES`, the columns of one format, every line complete.

    Raises:
        DataFileError: Naming the file: not a readable CSV, no format's columns, a timestamp that
            does not parse, a value that is not a finite number in range (prices 0-1e5, mileage
            0-1e4, score 0-1; missing values are allowed), no data rows.
    """
    path = Path(path)
    fmt, raw = read_csv_format(path, _FORMATS, optional=("service",), what=WHAT)
    if fmt == "reg_market_results (mileage)":
        df = _read_mileage(raw, path, prices_path, join_prices)
    elif fmt == "reg_zone_prelim_bill (RMCCP/RMPCP)":
        df = _frame_from(raw, path, {"rmccp": "capability_price", "rmpcp": "performance_price"})
    else:
        df = _read_reserve(raw, path)
    return _tidy(df)

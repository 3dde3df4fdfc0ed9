"""Regulation price series: readers for PJM Data Miner exports, hour-of-day profiles, and a
synthetic hourly price generator calibrated to PJM 2016.

Units: capability price (RMCCP) in $/MW-h (dollars per MW of regulation capability per hour),
performance price (RMPCP) in $/ΔMW (dollars per MW of signal mileage), mileage in ΔMW/MW (per-unit).

Constants of the synthetic generator (:data:`PJM2016_CAPABILITY`, :data:`PJM2016_PERFORMANCE`) were
computed once from ``../shared/data/pjm_reg_market_2016`` with::

    .venv/bin/python -c "from v2gsim.market.prices import *; \\
    df = read_pjm_regulation_prices( \\
        '../shared/data/pjm_reg_market_2016/reg_market_results_2016.csv'); \\
    print(price_statistics(df, 'capability_price')); \\
    print(price_statistics(df, 'performance_price'))"

and rounded (means and standard deviations to 3 decimals, zero fractions and hour shapes to 4).
``tests/test_prices.py`` re-derives them from the file when it is present.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import lfilter

__all__ = [
    "PJM2016_CAPABILITY",
    "PJM2016_PERFORMANCE",
    "PRICE_COLUMNS",
    "PriceStatistics",
    "hourly_price_profile",
    "price_statistics",
    "read_pjm_regulation_prices",
    "synthetic_regulation_prices",
]

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
_VALUE_COLUMNS = PRICE_COLUMNS[4:]

_TIME_COLS = ("datetime_beginning_utc", "datetime_beginning_ept")
# Data Miner 2 feed ``reg_market_results``: hourly mileage and performance score, no prices.
_MILEAGE_FORMAT = (*_TIME_COLS, "regd_hourly", "rega_hourly", "rto_perfscore")
# Data Miner 2 feed ``reg_zone_prelim_bill``: RMCCP / RMPCP.
_BILL_FORMAT = (*_TIME_COLS, "rmccp", "rmpcp")
# Data Miner 2 feed ``reserve_market_results`` (service REG): reg_ccp / reg_pcp, hourly or 5-min.
_RESERVE_FORMAT = (*_TIME_COLS, "reg_ccp", "reg_pcp")

_TIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


def _parse_time(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Parse a Data Miner timestamp column, trying the formats PJM exports use."""
    for fmt in _TIME_FORMATS:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            return parsed
    raise ValueError(
        f"{path}: cannot parse column {column!r} as timestamps "
        f"(tried {', '.join(_TIME_FORMATS)}); first value {values.iloc[0]!r}"
    )


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return pd.read_csv(path)


def _frame_from(raw: pd.DataFrame, path: Path, mapping: dict[str, str]) -> pd.DataFrame:
    """Tidy frame keyed by UTC hour start, value columns renamed by ``mapping`` (source -> tidy)."""
    out = pd.DataFrame(
        {
            "time_utc": _parse_time(
                raw["datetime_beginning_utc"], path, "datetime_beginning_utc"
            ).dt.tz_localize("UTC"),
            "time_ept": _parse_time(raw["datetime_beginning_ept"], path, "datetime_beginning_ept"),
        }
    )
    for src, dst in mapping.items():
        out[dst] = pd.to_numeric(raw[src], errors="coerce").astype(np.float64)
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


def _format_error(path: Path, columns: Sequence[str]) -> ValueError:
    have = set(columns)
    parts = []
    for name, cols in (
        ("reg_market_results (mileage)", _MILEAGE_FORMAT),
        ("reg_zone_prelim_bill (RMCCP/RMPCP)", _BILL_FORMAT),
        ("reserve_market_results (reg_ccp/reg_pcp)", _RESERVE_FORMAT),
    ):
        parts.append(f"{name} is missing {[c for c in cols if c not in have]}")
    return ValueError(
        f"{path}: unrecognized regulation-market file format; "
        + "; ".join(parts)
        + f". Columns found: {list(columns)}"
    )


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

    Raises:
        ValueError: Naming the file and the missing columns when the format is not recognized, or
            when timestamps cannot be parsed.
        FileNotFoundError: If ``path`` (or ``prices_path``) does not exist.
    """
    path = Path(path)
    raw = _read_csv(path)
    cols = set(raw.columns)
    if set(_MILEAGE_FORMAT) <= cols:
        df = _frame_from(
            raw,
            path,
            {
                "regd_hourly": "regd_mileage",
                "rega_hourly": "rega_mileage",
                "rto_perfscore": "perf_score",
            },
        )
        df = df.dropna(subset=["regd_mileage", "rega_mileage", "perf_score"], how="all")
        bill = Path(prices_path) if prices_path is not None else None
        if bill is None and join_prices:
            bill = _find_bill_sibling(path)
        if bill is not None:
            prices = read_pjm_regulation_prices(bill, join_prices=False)
            if prices[["regd_mileage", "rega_mileage", "perf_score"]].notna().any().any():
                raise ValueError(f"{bill}: expected a price (reg_zone_prelim_bill) file")
            df = df.drop_duplicates("time_utc", keep="last")
            df = df.merge(
                prices[["time_utc", "time_ept", "capability_price", "performance_price"]],
                on="time_utc",
                how="outer",
                suffixes=("", "_prices"),
            )
            df["time_ept"] = df["time_ept"].fillna(df.pop("time_ept_prices"))
    elif set(_BILL_FORMAT) <= cols:
        df = _frame_from(raw, path, {"rmccp": "capability_price", "rmpcp": "performance_price"})
    elif set(_RESERVE_FORMAT) <= cols:
        if "service" in cols:
            raw = raw[raw["service"].astype(str).str.upper() == "REG"]
            if raw.empty:
                raise ValueError(f"{path}: no rows with service == 'REG'")
        df = _frame_from(raw, path, {"reg_ccp": "capability_price", "reg_pcp": "performance_price"})
        df = _to_hourly(df)
    else:
        raise _format_error(path, list(raw.columns))

    for col in _VALUE_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df = df.dropna(subset=list(_VALUE_COLUMNS), how="all")
    df = df.sort_values("time_utc", kind="stable").drop_duplicates("time_utc", keep="last")
    df["hour"] = df["time_ept"].dt.hour.astype(np.int64)
    df["month"] = df["time_ept"].dt.month.astype(np.int64)
    return df.loc[:, list(PRICE_COLUMNS)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# profiles and statistics
# --------------------------------------------------------------------------------------------------


def hourly_price_profile(df: pd.DataFrame, by: Sequence[str] = ("hour",)) -> pd.DataFrame:
    """Mean and standard deviation of prices and mileage by hour of day (optionally by month too).

    Args:
        df: Frame from :func:`read_pjm_regulation_prices` (or any frame with the grouping columns
            and some of ``capability_price``, ``performance_price``, ``regd_mileage``,
            ``rega_mileage``, ``perf_score``).
        by: Grouping columns, e.g. ``("hour",)`` or ``("month", "hour")``.

    Returns:
        One row per group with the grouping columns, ``n`` (rows in the group) and, for every value
        column present, ``<column>_mean`` and ``<column>_std`` (sample std, ddof=1; NaNs ignored).
        Units as in the input ($/MW-h, $/ΔMW, ΔMW/MW).

    Raises:
        ValueError: If a grouping column or all value columns are missing.
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(
            f"grouping column(s) {missing} not in the frame (columns {list(df.columns)})"
        )
    values = [c for c in _VALUE_COLUMNS if c in df.columns]
    if not values:
        raise ValueError(f"no value columns among {list(_VALUE_COLUMNS)} in the frame")
    grouped = df.groupby(by, sort=True)
    out = grouped[values].agg(["mean", "std"])
    out.columns = [f"{col}_{stat}" for col, stat in out.columns]
    out.insert(0, "n", grouped.size())
    return out.reset_index()


@dataclass(frozen=True)
class PriceStatistics:
    """Calibration statistics of one hourly price series.

    Attributes:
        mean: Mean over all hours, in the price unit.
        std: Sample standard deviation over all hours (ddof=1), in the price unit.
        zero_fraction: Fraction of hours with a price of exactly 0.
        hour_shape: 24 factors (EPT hour beginning 0..23): mean price of the hour of day divided by
            the average of the 24 hourly means (so the factors average to 1).
    """

    mean: float
    std: float
    zero_fraction: float
    hour_shape: tuple[float, ...]


def price_statistics(df: pd.DataFrame, column: str) -> PriceStatistics:
    """Compute the :class:`PriceStatistics` of ``df[column]`` (NaN rows ignored).

    Args:
        df: Frame with ``hour`` and ``column``, e.g. from :func:`read_pjm_regulation_prices`.
        column: ``"capability_price"`` or ``"performance_price"``.

    Returns:
        The statistics (unrounded).

    Raises:
        ValueError: If a column is missing or an hour of day has no data.
    """
    for c in ("hour", column):
        if c not in df.columns:
            raise ValueError(f"column {c!r} not in the frame")
    d = df[["hour", column]].dropna()
    by_hour = d.groupby("hour")[column].mean().reindex(range(24))
    if by_hour.isna().any():
        raise ValueError(f"no {column} data for hour(s) {list(by_hour[by_hour.isna()].index)}")
    shape = by_hour.to_numpy() / by_hour.mean()
    return PriceStatistics(
        mean=float(d[column].mean()),
        std=float(d[column].std(ddof=1)),
        zero_fraction=float((d[column] == 0).mean()),
        hour_shape=tuple(float(x) for x in shape),
    )


#: PJM 2016 RMCCP (capability price, $/MW-h) statistics, from ``reg_zone_prelim_bill_2016.csv``
#: (8 784 hours); see the module docstring for the command.
PJM2016_CAPABILITY = PriceStatistics(
    mean=13.937,
    std=18.519,
    zero_fraction=0.0039,
    hour_shape=(
        0.6621, 0.6541, 0.6252, 0.5676, 0.5705, 0.8944, 1.4367, 1.1501,
        0.9013, 1.0639, 1.0946, 1.1956, 1.1294, 1.0663, 1.0327, 1.0927,
        1.2624, 1.2285, 1.0613, 1.0036, 1.1977, 1.2278, 1.0313, 0.8501,
    ),
)  # fmt: skip

#: PJM 2016 RMPCP (performance price, $/ΔMW) statistics, from ``reg_zone_prelim_bill_2016.csv``.
PJM2016_PERFORMANCE = PriceStatistics(
    mean=1.563,
    std=2.270,
    zero_fraction=0.2538,
    hour_shape=(
        0.9095, 0.7904, 0.8727, 0.8345, 0.8098, 1.1278, 1.0228, 0.9718,
        0.9075, 1.0844, 1.1351, 1.2232, 1.1390, 1.0947, 0.9752, 0.9206,
        0.8227, 0.6681, 0.4030, 0.5335, 0.8780, 1.4663, 1.6637, 1.7458,
    ),
)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# synthetic prices
# --------------------------------------------------------------------------------------------------


def _lognormal_sigma(
    mean: float, std: float, zero_fraction: float, shape: NDArray[np.float64]
) -> float:
    """σ of the log-noise such that the zero-inflated shaped lognormal model has the given std.

    Model: ``p = mean · shape_h · B · exp(σZ - σ²/2) / (1 - π)`` with ``B ~ Bernoulli(1 - π)`` and
    ``Z ~ N(0, 1)``. Then ``E[p] = mean`` (the shape averages to 1 over the hours) and
    ``E[p²] = mean² · mean_h(shape_h²) · exp(σ²) / (1 - π)``, so
    ``exp(σ²) = (1 + cv²)(1 - π) / mean_h(shape_h²)`` with ``cv = std / mean``.
    """
    cv = std / mean
    ratio = (1.0 + cv**2) * (1.0 - zero_fraction) / float(np.mean(shape**2))
    if ratio < 1.0:
        raise ValueError(
            f"std={std} is too small for mean={mean}, zero_fraction={zero_fraction} and the hour "
            f"shape: the shape and the zeros alone give a larger standard deviation"
        )
    return math.sqrt(math.log(ratio))


def _unit_noise(
    rng: np.random.Generator, n: int, sigma: float, zero_fraction: float, rho: float
) -> NDArray[np.float64]:
    """``B · exp(σZ - σ²/2) / (1 - π)`` with mean 1; ``Z`` a stationary AR(1) N(0,1) series."""
    z = rng.standard_normal(n)
    if rho > 0:
        # z_t = ρ z_{t-1} + √(1-ρ²) ε_t with z_0 = ε_0 ~ N(0,1): stationary N(0,1) marginals.
        z[1:] *= math.sqrt(1.0 - rho**2)
        z = lfilter([1.0], [1.0, -rho], z)
    noise = np.exp(sigma * z - 0.5 * sigma**2)
    if zero_fraction > 0:
        noise *= (rng.random(n) >= zero_fraction) / (1.0 - zero_fraction)
    return noise


def _match_moments(
    base: NDArray[np.float64], noise_z: NDArray[np.float64], mean: float, std: float
) -> NDArray[np.float64]:
    """Rescale so that the sample mean and std are exactly ``mean`` and ``std``.

    ``p = c · base · noise^k``: the sample coefficient of variation grows with the exponent ``k``,
    so ``k`` is found by bisection on ``log`` scale and ``c`` then fixes the mean.
    """
    target_cv = std / mean
    positive = noise_z > 0
    log_noise = np.zeros_like(noise_z)
    log_noise[positive] = np.log(noise_z[positive])

    def cv(k: float) -> float:
        p = base * np.where(positive, np.exp(k * log_noise), 0.0)
        return float(p.std(ddof=1) / p.mean())

    lo, hi = 0.0, 1.0
    while cv(hi) < target_cv:
        hi *= 2.0
        if hi > 64:
            raise ValueError("cannot match the requested standard deviation")
    if cv(lo) > target_cv:
        raise ValueError("cannot match the requested standard deviation (shape alone too large)")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cv(mid) < target_cv else (lo, mid)
    k = 0.5 * (lo + hi)
    p = base * np.where(positive, np.exp(k * log_noise), 0.0)
    return p * (mean / p.mean())


def synthetic_regulation_prices(
    rng: np.random.Generator,
    days: int,
    *,
    mean_capability: float = 13.94,
    mean_performance: float = 1.56,
    std_capability: float = PJM2016_CAPABILITY.std,
    std_performance: float = PJM2016_PERFORMANCE.std,
    zero_fraction_capability: float = PJM2016_CAPABILITY.zero_fraction,
    zero_fraction_performance: float = PJM2016_PERFORMANCE.zero_fraction,
    capability_shape: Sequence[float] = PJM2016_CAPABILITY.hour_shape,
    performance_shape: Sequence[float] = PJM2016_PERFORMANCE.hour_shape,
    log_autocorrelation: float = 0.5,
    match_moments: bool = False,
) -> pd.DataFrame:
    """Hourly synthetic regulation prices: hour-of-day shape times zero-inflated lognormal noise.

    For each price, ``p[d, h] = mean · shape_h · B · exp(σZ - σ²/2) / (1 - π)``: ``shape_h`` is the
    hour-of-day profile (normalized to average 1), ``B ~ Bernoulli(1 - π)`` puts a fraction ``π`` of
    hours at exactly 0 (2016: 25 % of RMPCP hours are 0), and ``Z ~ N(0, 1)``, optionally an AR(1)
    series across consecutive hours with lag-1 correlation ``log_autocorrelation`` (marginals
    unchanged; the default 0.5 gives a lag-1 autocorrelation of the capability price of about 0.38,
    2016: 0.39). ``σ`` is the closed-form solution of ``E[p] = mean`` and ``std[p] = std`` for the
    model (see :func:`_lognormal_sigma`), so the *population* mean and standard deviation match the
    targets; a single simulated year scatters around them (one standard deviation: 2 % for the
    means, 6 % / 5 % for the RMCCP / RMPCP standard deviations, whose distributions are
    heavy-tailed; 20 years: about 1 %). With ``match_moments=True`` the noise exponent and scale are
    adjusted on the realized sample so that its mean and std match the targets exactly.
    Capability and performance noise are independent (2016 correlation of the two: 0.10).

    Defaults reproduce PJM 2016 (:data:`PJM2016_CAPABILITY`, :data:`PJM2016_PERFORMANCE`; published
    means 13.94 $/MW-h and 1.56 $/ΔMW).

    Args:
        rng: Source of all randomness.
        days: Number of days (≥ 1).
        mean_capability: Mean capability price, $/MW-h.
        mean_performance: Mean performance price, $/ΔMW.
        std_capability: Standard deviation of the capability price over all hours, $/MW-h.
        std_performance: Standard deviation of the performance price, $/ΔMW.
        zero_fraction_capability: Fraction of hours with a zero capability price, in ``[0, 1)``.
        zero_fraction_performance: Fraction of hours with a zero performance price, in ``[0, 1)``.
        capability_shape: 24 non-negative hour-of-day factors (EPT hour 0..23), rescaled to mean 1.
        performance_shape: Same for the performance price.
        log_autocorrelation: Lag-1 correlation of the log-noise across consecutive hours, in
            ``[0, 1)``.
        match_moments: Force the realized sample mean and std to the targets exactly.

    Returns:
        DataFrame with ``days * 24`` rows and columns ``day`` (0-based), ``hour`` (0–23),
        ``capability_price`` ($/MW-h), ``performance_price`` ($/ΔMW).

    Raises:
        ValueError: On invalid arguments (non-positive days, means or stds, bad shapes or fractions,
            or a std too small for the shape and zero fraction).
    """
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    if not 0.0 <= log_autocorrelation < 1.0:
        raise ValueError(f"log_autocorrelation must lie in [0, 1), got {log_autocorrelation!r}")
    n = int(days) * 24
    out = {"day": np.repeat(np.arange(int(days)), 24), "hour": np.tile(np.arange(24), int(days))}
    specs = (
        ("capability_price", mean_capability, std_capability, zero_fraction_capability,
         capability_shape),
        ("performance_price", mean_performance, std_performance, zero_fraction_performance,
         performance_shape),
    )  # fmt: skip
    for name, mean, std, zero_fraction, shape_in in specs:
        shape = np.asarray(shape_in, dtype=np.float64)
        if shape.shape != (24,) or not np.all(np.isfinite(shape)) or (shape < 0).any():
            raise ValueError(f"{name}: the hour shape must be 24 non-negative finite numbers")
        if shape.mean() <= 0:
            raise ValueError(f"{name}: the hour shape must not be all zero")
        if not (mean > 0 and std > 0 and math.isfinite(mean) and math.isfinite(std)):
            raise ValueError(f"{name}: mean and std must be positive, got {mean}, {std}")
        if not 0.0 <= zero_fraction < 1.0:
            raise ValueError(f"{name}: zero fraction must lie in [0, 1), got {zero_fraction}")
        shape = shape / shape.mean()
        sigma = _lognormal_sigma(mean, std, zero_fraction, shape)
        noise = _unit_noise(rng, n, sigma, zero_fraction, log_autocorrelation)
        base = mean * np.tile(shape, int(days))
        out[name] = _match_moments(base, noise, mean, std) if match_moments else base * noise
    return pd.DataFrame(out)

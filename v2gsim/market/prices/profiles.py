"""Hour-of-day profiles and calibration statistics of regulation prices; the PJM 2016 constants.

Units as in :mod:`v2gsim.market.prices.io`: $/MW-h (capability), $/ΔMW (performance), ΔMW/MW
(mileage). How :data:`PJM2016_CAPABILITY` and :data:`PJM2016_PERFORMANCE` were computed: see
:mod:`v2gsim.market.prices`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from v2gsim.market.prices.io import VALUE_COLUMNS

__all__ = [
    "PJM2016_CAPABILITY",
    "PJM2016_PERFORMANCE",
    "PriceStatistics",
    "hourly_price_profile",
    "price_statistics",
]


def hourly_price_profile(df: pd.DataFrame, by: Sequence[str] = ("hour",)) -> pd.DataFrame:
    """Mean and standard deviation of prices and mileage by hour of day (optionally by month too).

    Args:
        df: Frame from :func:`~v2gsim.market.prices.io.read_pjm_regulation_prices` (or any frame
            with the grouping columns and some of ``capability_price``, ``performance_price``,
            ``regd_mileage``, ``rega_mileage``, ``perf_score``).
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
    values = [c for c in VALUE_COLUMNS if c in df.columns]
    if not values:
        raise ValueError(f"no value columns among {list(VALUE_COLUMNS)} in the frame")
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
        df: Frame with ``hour`` and ``column``, e.g. from
            :func:`~v2gsim.market.prices.io.read_pjm_regulation_prices`.
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
#: (8 784 hours); see :mod:`v2gsim.market.prices` for the command.
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

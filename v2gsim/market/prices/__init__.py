"""Regulation price series: readers for PJM Data Miner exports, hour-of-day profiles, and a
synthetic hourly price generator calibrated to PJM 2016.

Modules: :mod:`~v2gsim.market.prices.io` (reading), :mod:`~v2gsim.market.prices.profiles`
(profiles, statistics and the PJM 2016 constants), :mod:`~v2gsim.market.prices.synthetic` (the
generator). This package re-exports their public API.

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

from v2gsim.market.prices.io import PRICE_COLUMNS, read_pjm_regulation_prices
from v2gsim.market.prices.profiles import (
    PJM2016_CAPABILITY,
    PJM2016_PERFORMANCE,
    PriceStatistics,
    hourly_price_profile,
    price_statistics,
)
from v2gsim.market.prices.synthetic import synthetic_regulation_prices

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

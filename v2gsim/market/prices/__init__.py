"""Regulation price series: readers for PJM Data Miner exports, hour-of-day profiles, and a
synthetic hourly price generator calibrated to PJM 2016. Energy price series: the
:class:`~v2gsim.market.prices.energy.EnergyPrices` type (buy, sell, balancing and spot prices per
slot, with their currency), readers for GME PUN/MSD (:mod:`~v2gsim.market.prices.gme`), PJM
day-ahead LMPs (:mod:`~v2gsim.market.prices.lmp`) and acnportal TOU tariffs
(:mod:`~v2gsim.market.prices.tou`), and a synthetic generator calibrated to the PJM-RTO 2016
day-ahead LMP (:mod:`~v2gsim.market.prices.energy_synthetic`).

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

from v2gsim.market.prices.energy import EnergyPriceFileError, EnergyPrices, apply_sell_rule
from v2gsim.market.prices.energy_synthetic import synthetic_energy_prices
from v2gsim.market.prices.gme import gme_energy_prices, read_gme_msd, read_gme_pun
from v2gsim.market.prices.io import PRICE_COLUMNS, read_pjm_regulation_prices
from v2gsim.market.prices.lmp import (
    PJM2016_DA_LMP,
    EnergyPriceStatistics,
    energy_price_statistics,
    pjm_da_energy_prices,
    read_pjm_da_lmp,
)
from v2gsim.market.prices.profiles import (
    PJM2016_CAPABILITY,
    PJM2016_PERFORMANCE,
    PriceStatistics,
    hourly_price_profile,
    price_statistics,
)
from v2gsim.market.prices.synthetic import synthetic_regulation_prices
from v2gsim.market.prices.tou import TouSchedule, TouTariff, find_tou_tariff, read_tou_tariff

__all__ = [
    "PJM2016_CAPABILITY",
    "PJM2016_DA_LMP",
    "PJM2016_PERFORMANCE",
    "PRICE_COLUMNS",
    "EnergyPriceFileError",
    "EnergyPriceStatistics",
    "EnergyPrices",
    "PriceStatistics",
    "TouSchedule",
    "TouTariff",
    "apply_sell_rule",
    "energy_price_statistics",
    "find_tou_tariff",
    "gme_energy_prices",
    "hourly_price_profile",
    "pjm_da_energy_prices",
    "price_statistics",
    "read_gme_msd",
    "read_gme_pun",
    "read_pjm_da_lmp",
    "read_pjm_regulation_prices",
    "read_tou_tariff",
    "synthetic_energy_prices",
    "synthetic_regulation_prices",
]

"""Where a run's energy prices come from: :class:`EnergySpec` and the run's energy price table.

An :class:`EnergySpec` (plain data; :func:`v2gsim.specs.build.market_spec` makes one from
``[market.energy]``) names the source; :func:`energy_prices` turns it into an
:class:`~v2gsim.market.prices.energy.EnergyPrices` of the run's calendar days (in the source's
currency, at the spec's slot length, buy adder and sell rule applied), and
:func:`energy_price_table` into the hourly table the model prices its grid energy with, in USD (the
currency of the regulation credits) after the explicit exchange rate.

Sources: ``"synthetic"`` (:func:`~v2gsim.market.prices.energy_synthetic.synthetic_energy_prices`,
PJM-RTO 2016 calibration), ``"gme"`` (PUN and MSD files, EUR), ``"pjm_lmp"`` (a PJM day-ahead LMP
file), ``"tou"`` (an acnportal-format TOU tariff). Files are replayed from ``start_date`` (default
their first day) and cycled when the run is longer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from v2gsim.market.prices.energy import EnergyPriceFileError, EnergyPrices, apply_sell_rule
from v2gsim.market.prices.energy_synthetic import PJM2016_MEAN_PER_KWH, synthetic_energy_prices
from v2gsim.market.prices.gme import gme_energy_prices
from v2gsim.market.prices.lmp import pjm_da_energy_prices
from v2gsim.market.prices.tou import find_tou_tariff, read_tou_tariff

__all__ = ["ENERGY_TABLE_COLUMNS", "RUN_CURRENCY", "EnergySpec", "energy_price_table",
           "energy_prices", "in_run_currency"]

#: Currency of the run's money (regulation credits, rebates, energy cost in the tables).
RUN_CURRENCY = "USD"

#: Columns of :func:`energy_price_table`.
ENERGY_TABLE_COLUMNS = ("day", "hour", "energy_price", "energy_sell_price")


@dataclass(frozen=True)
class EnergySpec:
    """The energy market of a run (plain data).

    Attributes:
        source: ``"synthetic"``, ``"gme"``, ``"pjm_lmp"`` or ``"tou"``.
        slot_minutes: slot length of the price series, 15, 30 or 60 min.
        price_path: gme: the PUN CSV; pjm_lmp: the ``da_hrl_lmps`` CSV.
        balancing_path: gme: the MSD CSV of up/down balancing prices, or None.
        tariff_path: tou: the tariff JSON, or a folder holding it (then ``tariff`` names it).
        tariff: tou: the tariff's ``name``; checked against the file when both are given.
        start_date: calendar date of day 0 (ISO); files: default their first day; tou: required.
        mean_price: synthetic: mean price (USD/kWh); the standard deviation keeps the 2016
            coefficient of variation.
        buy_adder: added to every buy price (source currency/kWh), e.g. network charges.
        sell: ``"fraction"`` (sell = ``sell_fraction`` x buy) or ``"spot"`` (sell = the wholesale
            price; not for tou).
        sell_fraction: the fraction of the ``"fraction"`` rule (-).
        exchange_rate: USD per unit of the source's currency; needed for EUR (gme) prices.
        metering: ``"net"`` or ``"gross"`` (:func:`v2gsim.market.energy_settlement.settle_energy`).
    """

    source: Literal["synthetic", "gme", "pjm_lmp", "tou"] = "synthetic"
    slot_minutes: int = 60
    price_path: Path | None = None
    balancing_path: Path | None = None
    tariff_path: Path | None = None
    tariff: str = ""
    start_date: str = ""
    mean_price: float = PJM2016_MEAN_PER_KWH
    buy_adder: float = 0.0
    sell: Literal["fraction", "spot"] = "fraction"
    sell_fraction: float = 1.0
    exchange_rate: float | None = None
    metering: Literal["net", "gross"] = "net"


def _need(path: Path | None, what: str, spec: EnergySpec) -> Path:
    if path is None:
        raise ValueError(f"energy source {spec.source!r} needs {what}")
    return path


def _replayed(prices: EnergyPrices, spec: EnergySpec, days: int, path: Path) -> EnergyPrices:
    """``days`` days of a file's prices from ``spec.start_date`` (default its first day), cycled."""
    start = 0
    if spec.start_date:
        if spec.start_date not in prices.dates:
            raise EnergyPriceFileError(path, f"start_date {spec.start_date} is not in the file "
                                       f"(its days: {prices.dates[0]} .. {prices.dates[-1]})")
        start = prices.dates.index(spec.start_date)
    return prices.cycled(days, start)


def _tariff_prices(spec: EnergySpec, days: int) -> EnergyPrices:
    path = _need(spec.tariff_path, "a tariff file", spec)
    if path.is_dir():
        if not spec.tariff:
            raise EnergyPriceFileError(path, "is a folder: name the tariff of it to use (tariff = "
                                       "'...', the name in the tariff's JSON file), or give the "
                                       "tariff's file")
        path = find_tou_tariff(path, spec.tariff)
    tariff = read_tou_tariff(path)
    if spec.tariff and tariff.name != spec.tariff:
        raise EnergyPriceFileError(path, f"the tariff is {tariff.name!r}, not {spec.tariff!r}")
    if not spec.start_date:
        raise ValueError("energy source 'tou' needs start_date (the calendar date of day 0: the "
                         "tariff's seasons and weekday periods depend on it)")
    return tariff.prices(dt.date.fromisoformat(spec.start_date), days, spec.slot_minutes)


def energy_prices(spec: EnergySpec, rng: np.random.Generator, days: int) -> EnergyPrices:
    """The run's energy prices: ``days`` calendar days at ``spec.slot_minutes``, source currency.

    Buy = source price + ``buy_adder``; then the sell rule
    (:func:`~v2gsim.market.prices.energy.apply_sell_rule`). Files are read here.

    Args:
        spec: the energy market.
        rng: generator of the synthetic prices (the run's ``energy_prices`` stream; unused
            otherwise).
        days: calendar days needed.

    Raises:
        EnergyPriceFileError: (a :class:`~v2gsim.core.datafiles.DataFileError`) from the readers
            (:mod:`v2gsim.core.datafiles` opens every file); ``start_date`` outside a file; a
            tariff folder without a tariff name, or a tariff of another name.
        ValueError: a missing path or start date (the schema requires them).
    """
    if spec.source == "synthetic":
        prices = synthetic_energy_prices(rng, days, slot_minutes=spec.slot_minutes,
                                         mean=spec.mean_price)
    elif spec.source == "gme":
        path = _need(spec.price_path, "a PUN file", spec)
        prices = _replayed(gme_energy_prices(path, spec.balancing_path), spec, days, path)
    elif spec.source == "pjm_lmp":
        path = _need(spec.price_path, "an LMP file", spec)
        prices = _replayed(pjm_da_energy_prices(path), spec, days, path)
    elif spec.source == "tou":
        prices = _tariff_prices(spec, days)
    else:
        raise ValueError(f"unknown energy source {spec.source!r}; allowed: synthetic, gme, "
                         "pjm_lmp, tou")
    prices = prices.to_slots(spec.slot_minutes)
    if spec.buy_adder:
        prices = replace(prices, buy=prices.buy + spec.buy_adder)
    return apply_sell_rule(prices, spec.sell, spec.sell_fraction)


def in_run_currency(prices: EnergyPrices, exchange_rate: float | None) -> EnergyPrices:
    """``prices`` in :data:`RUN_CURRENCY`, converted only with an explicitly given rate.

    Raises:
        ValueError: prices in another currency and no rate, or a rate for prices already in USD.
    """
    if prices.currency == RUN_CURRENCY:
        if exchange_rate not in (None, 1.0):
            raise ValueError(f"{prices.source} prices are in {RUN_CURRENCY}: exchange_rate "
                             f"{exchange_rate} does not apply")
        return prices
    if exchange_rate is None:
        raise ValueError(f"{prices.source} prices are in {prices.currency} and the run's money in "
                         f"{RUN_CURRENCY}: give exchange_rate ({RUN_CURRENCY} per "
                         f"{prices.currency})")
    return prices.converted(exchange_rate, RUN_CURRENCY)


def energy_price_table(spec: EnergySpec, rng: np.random.Generator, days: int,
                       hours: int) -> pd.DataFrame:
    """Hourly buy and sell prices in USD/kWh for every simulated day and hour.

    Hour ``t`` of simulated day ``d`` is clock hour ``t`` from the start of calendar day ``d``
    (for a day of more than 24 h the later hours run into the next calendar day). With slots
    shorter than an hour, the hour's price is the mean of its slots: the exact price of energy
    drawn evenly over the hour (the model's baseline charging is constant within the hour).

    Returns:
        :data:`ENERGY_TABLE_COLUMNS`: ``day``, ``hour``, ``energy_price`` (buy, USD/kWh),
        ``energy_sell_price`` (USD/kWh); ``days * hours`` rows.
    """
    calendar_days = int(days) + (int(hours) - 1) // 24
    prices = in_run_currency(energy_prices(spec, rng, calendar_days), spec.exchange_rate).hourly()
    flat = np.arange(int(days))[:, None] * 24 + np.arange(int(hours))[None, :]
    return pd.DataFrame({
        "day": np.repeat(np.arange(int(days)), int(hours)),
        "hour": np.tile(np.arange(int(hours)), int(days)),
        "energy_price": prices.buy.ravel()[flat.ravel()],
        "energy_sell_price": prices.sell.ravel()[flat.ravel()],
    })

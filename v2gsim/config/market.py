"""Schema of the market (``[market]``): AGC source, regulation prices, mileage basis, score; the
energy prices and their settlement (``[market.energy]``)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from v2gsim.config.base import DataPath, Strict

__all__ = [
    "PJM_SCORE_THRESHOLD",
    "SYNTHETIC_MILEAGE_RANGE",
    "SYNTHETIC_PRICE_RANGE",
    "EnergyConfig",
    "MarketConfig",
]

#: Mean hourly mileages the synthetic AGC generator reaches with the settings of a run (per-unit/h):
#: :data:`v2gsim.market.agc.synthetic.REACHABLE_MILEAGE` (derived there; a test keeps them equal).
SYNTHETIC_MILEAGE_RANGE = (12.0, 1200.0)

#: Mean prices the synthetic price generator (:func:`v2gsim.market.prices.synthetic_regulation_prices`
#: with the PJM 2016 standard deviations, zero fractions and hour shapes of a run) can produce:
#: its lognormal noise needs ``(1 + (std/mean)²)(1 - π) >= mean_h(shape_h²)``, i.e. a mean of at
#: most ``std / sqrt(mean_h(shape_h²) / (1 - π) - 1)`` = 76.67 $/MW-h (capability: std 18.519,
#: π = 0.0039) and 3.334 $/ΔMW (performance: std 2.27, π = 0.2538); a positive lower bound keeps
#: ``std / mean`` finite. Rounded inwards; a test recomputes the bounds from the profiles. Other
#: price levels: ``prices = "pjm"`` with a price file.
SYNTHETIC_PRICE_RANGE = {"capability_price": (1e-3, 76.0), "performance_price": (1e-3, 3.3)}

PJM_SCORE_THRESHOLD = 0.40
"""PJM's performance score threshold (Manual 11), the default forfeiture level of the composite."""

# Which source reads which file field (the cross-field check names them).
_FILE_FIELDS = {"price_file": ("gme", "pjm_lmp"), "balancing_file": ("gme",),
                "tariff_file": ("tou",), "tariff": ("tou",)}


class EnergyConfig(Strict):
    """Energy prices of the grid energy the fleet draws and feeds back, and its settlement.

    Off by default (``source = "none"``): no energy columns in the tables. Money of the tables is
    USD; prices in another currency (gme: EUR) are converted with ``exchange_rate`` only.
    """

    source: Literal["none", "synthetic", "gme", "pjm_lmp", "tou"] = Field(
        default="none",
        description="Energy prices: none (off), synthetic (PJM-RTO 2016 day-ahead calibration, "
        "USD), gme (Italian PUN and MSD files, EUR), pjm_lmp (a PJM da_hrl_lmps file, USD), tou "
        "(an acnportal-format time-of-use tariff, USD).",
    )
    slot_minutes: Literal[15, 30, 60] = Field(
        default=60, description="Slot length of the price series (min); the model prices each "
        "hour at the mean of its slots.",
    )
    price_file: DataPath = Field(
        default="", description="gme: PUN CSV; pjm_lmp: da_hrl_lmps CSV (relative to the "
        "scenario file).",
    )
    balancing_file: DataPath = Field(
        default="", description="gme: MSD CSV of up/down balancing prices (relative to the "
        "scenario file; optional).",
    )
    tariff_file: DataPath = Field(
        default="", description="tou: tariff JSON, or a folder of them with `tariff` naming one "
        "(relative to the scenario file).",
    )
    tariff: str = Field(
        default="", description="tou: the tariff's name as in its file, e.g. 'SCE TOU-EV-4'.")
    start_date: str = Field(
        default="", description="Calendar date of day 0 (YYYY-MM-DD); files: default their "
        "first day; tou: required (seasons, weekdays).",
    )
    mean_price: float = Field(
        default=0.030007, gt=0, description="synthetic: mean energy price ($/kWh); the standard "
        "deviation keeps the 2016 coefficient of variation (0.386).",
    )
    buy_adder: float = Field(
        default=0.0, description="Added to every buy price (source currency/kWh), e.g. network "
        "charges.",
    )
    sell: Literal["fraction", "spot"] = Field(
        default="fraction", description="Sell price: fraction (sell_fraction x buy price) or "
        "spot (the wholesale price: PUN, LMP or synthetic; not for tou).",
    )
    sell_fraction: float = Field(
        default=1.0, ge=0, description="Sell price as a fraction of the buy price (-).")
    exchange_rate: float | None = Field(
        default=None, gt=0, description="USD per unit of the source's currency; required for "
        "gme (EUR); unset (or 1) for the USD sources.",
    )
    metering: Literal["net", "gross"] = Field(
        default="net", description="net: import and export of an hour net out before pricing; "
        "gross: both are priced.",
    )

    @model_validator(mode="after")
    def _check(self) -> EnergyConfig:
        src = self.source
        if src == "none":
            return self
        for name, sources in _FILE_FIELDS.items():
            if getattr(self, name) and src not in sources:
                raise ValueError(f"{name} is read by source {' or '.join(sources)} only, not "
                                 f"{src!r}")
        if src in ("gme", "pjm_lmp") and not self.price_file:
            what = "a PUN CSV" if src == "gme" else "a da_hrl_lmps CSV"
            raise ValueError(f"source = {src!r} needs price_file ({what})")
        if src == "tou" and not (self.tariff_file and self.start_date):
            raise ValueError("source = 'tou' needs tariff_file (a tariff JSON or a folder with "
                             "tariff = name) and start_date (YYYY-MM-DD of day 0)")
        if self.start_date:
            try:
                dt.date.fromisoformat(self.start_date)
            except ValueError:
                raise ValueError(f"start_date must be YYYY-MM-DD, got {self.start_date!r}") from None
        if src == "tou" and self.sell == "spot":
            raise ValueError("sell = 'spot' needs a wholesale price (source synthetic, gme or "
                             "pjm_lmp); a tou tariff has none: use sell = 'fraction'")
        if src == "gme" and self.exchange_rate is None:
            raise ValueError("source = 'gme' prices are in EUR and the run's money in USD: give "
                             "exchange_rate (USD per EUR, e.g. 1.11)")
        if src != "gme" and self.exchange_rate not in (None, 1.0):
            raise ValueError(f"source = {src!r} prices are in USD: exchange_rate does not apply")
        if not math.isfinite(self.buy_adder):
            raise ValueError("buy_adder must be finite")
        return self


class MarketConfig(Strict):
    """AGC signal and regulation prices."""

    agc: Literal["synthetic", "pjm_regd"] = Field(
        default="synthetic",
        description="AGC source: synthetic RegD-like generator, or PJM RegD CSV files (agc_files).",
    )
    agc_files: list[DataPath] = Field(
        default_factory=list,
        description="PJM 2-s RegD CSVs (paths relative to the scenario file), cycled day by day.",
    )
    mean_hourly_mileage: float = Field(
        default=25.0, gt=0,
        description="Synthetic AGC: mean hourly mileage (per-unit/h), within the range the "
        "generator reaches (SYNTHETIC_MILEAGE_RANGE: 12 to 1200; real RegD about 25-33).",
    )
    prices: Literal["synthetic", "pjm"] = Field(
        default="synthetic", description="Regulation prices: synthetic, or a PJM file (price_file)."
    )
    price_file: DataPath = Field(
        default="", description="PJM regulation-market CSV (relative to the scenario file)."
    )
    capability_price: float = Field(
        default=13.94, ge=SYNTHETIC_PRICE_RANGE["capability_price"][0],
        le=SYNTHETIC_PRICE_RANGE["capability_price"][1],
        description="Synthetic mean capability price RMCCP ($/MW-h), at most 76 (the generator "
        "keeps PJM 2016's spread, 18.5 $/MW-h; see SYNTHETIC_PRICE_RANGE).",
    )
    performance_price: float = Field(
        default=1.56, ge=SYNTHETIC_PRICE_RANGE["performance_price"][0],
        le=SYNTHETIC_PRICE_RANGE["performance_price"][1],
        description="Synthetic mean performance price RMPCP ($/ΔMW), at most 3.3 (the generator "
        "keeps PJM 2016's spread, 2.27 $/ΔMW; see SYNTHETIC_PRICE_RANGE).",
    )
    mileage_basis: Literal["signal", "ratio"] = Field(
        default="signal",
        description="Mileage in the performance credit: the hour's signal mileage (per-unit), or "
        "PJM's RegD/RegA mileage ratio with rega_mileage as the benchmark.",
    )
    rega_mileage: float = Field(
        default=6.58, gt=0, le=1e4, description="RegA benchmark hourly mileage for the ratio basis (-)."
    )
    score: Literal["mileage_ratio", "pjm_composite"] = Field(
        default="mileage_ratio",
        description="Hourly performance score (-, 0-1): the seed's mileage ratio (fulfilled / "
        "requested mileage), or PJM's composite of accuracy, delay and precision (Manual 12), "
        "which adds those three columns to the hourly table.",
    )
    score_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Performance score (-, 0-1) below which an hour earns no capability and no "
        "performance credit; unset = 0.40 (PJM Manual 11) with score = 'pjm_composite', 0 (no "
        "forfeiture) with 'mileage_ratio'.",
    )
    energy: EnergyConfig = Field(
        default_factory=EnergyConfig, description="Energy prices and settlement (off by default)."
    )

    @field_validator("mean_hourly_mileage")
    @classmethod
    def _reachable(cls, v: float) -> float:
        lo, hi = SYNTHETIC_MILEAGE_RANGE
        if not lo <= v <= hi:
            raise ValueError(
                f"must lie in [{lo:g}, {hi:g}] per-unit/h, the range the synthetic AGC generator "
                "reaches at 2-s resolution with 13 % saturation and 15-min energy neutrality")
        return v

    @model_validator(mode="after")
    def _check(self) -> MarketConfig:
        if self.agc == "pjm_regd" and not self.agc_files:
            raise ValueError("agc = 'pjm_regd' needs agc_files (one or more PJM RegD CSV paths)")
        if self.prices == "pjm" and not self.price_file:
            raise ValueError("prices = 'pjm' needs price_file (a PJM regulation-market CSV path)")
        return self

    def resolved_score_threshold(self) -> float:
        """``score_threshold``, or its default for the chosen score (0.40 composite, 0 ratio)."""
        if self.score_threshold is not None:
            return float(self.score_threshold)
        return PJM_SCORE_THRESHOLD if self.score == "pjm_composite" else 0.0


"""Schema of the market (``[market]``): AGC source, regulation prices, mileage basis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from v2gsim.config.base import Strict

__all__ = ["SYNTHETIC_MILEAGE_RANGE", "SYNTHETIC_PRICE_RANGE", "MarketConfig"]

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


class MarketConfig(Strict):
    """AGC signal and regulation prices."""

    agc: Literal["synthetic", "pjm_regd"] = Field(
        default="synthetic",
        description="AGC source: synthetic RegD-like generator, or PJM RegD CSV files (agc_files).",
    )
    agc_files: list[str] = Field(
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
    price_file: str = Field(
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



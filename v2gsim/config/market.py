"""Schema of the market (``[market]``): AGC source, regulation prices, mileage basis, score."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import Strict

__all__ = ["PJM_SCORE_THRESHOLD", "MarketConfig"]

PJM_SCORE_THRESHOLD = 0.40
"""PJM's performance score threshold (Manual 11), the default forfeiture level of the composite."""


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
        default=25.0, gt=0, description="Synthetic AGC: mean hourly mileage (per-unit/h)."
    )
    prices: Literal["synthetic", "pjm"] = Field(
        default="synthetic", description="Regulation prices: synthetic, or a PJM file (price_file)."
    )
    price_file: str = Field(
        default="", description="PJM regulation-market CSV (relative to the scenario file)."
    )
    capability_price: float = Field(
        default=13.94, ge=0, description="Synthetic mean capability price RMCCP ($/MW-h)."
    )
    performance_price: float = Field(
        default=1.56, ge=0, description="Synthetic mean performance price RMPCP ($/ΔMW)."
    )
    mileage_basis: Literal["signal", "ratio"] = Field(
        default="signal",
        description="Mileage in the performance credit: the hour's signal mileage (per-unit), or "
        "PJM's RegD/RegA mileage ratio with rega_mileage as the benchmark.",
    )
    rega_mileage: float = Field(
        default=6.58, gt=0, description="RegA benchmark hourly mileage for the ratio basis (-)."
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


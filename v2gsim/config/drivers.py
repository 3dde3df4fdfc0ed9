"""Schema of the fleet (``[drivers]``): number of drivers, utility distribution, batteries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import Strict
from v2gsim.config.network import ClusterConfig

__all__ = ["DriversConfig"]


class DriversConfig(Strict):
    """The fleet: number of drivers, utility distribution, batteries and chargers."""

    count: int = Field(default=200, ge=1, le=5_000_000, description="Number of drivers/EVs M.")
    distribution: Literal["normal", "uniform", "two_point", "extremal"] = Field(
        default="normal",
        description="Distribution of sampled arc utilities, each with mean mu_a and standard "
        "deviation sigma_a: independent normal, uniform or two_point (mu +- sigma with "
        "probability 1/2), or extremal (path-correlated two-point utilities that attain the "
        "persistency bound, models.md D2).",
    )
    battery_kwh: float = Field(default=60.0, gt=0, le=1e4,
                               description="Battery capacity per EV (kWh), at most 10 MWh.")
    charger_kw: float = Field(
        default=10.0, gt=0, le=1e4,
        description="Charger power per EV (kW) = regulation capability psi, at most 10 MW.",
    )
    baseline_charge_kw: float = Field(
        default=3.3, ge=0, description="Baseline charging rate omega while below target SOC (kW)."
    )
    soc_min: float = Field(default=0.2, ge=0, le=1, description="SOC floor for V2G discharge (-).")
    soc_max: float = Field(default=0.95, ge=0, le=1, description="SOC ceiling (-).")
    soc_target: float = Field(default=0.8, ge=0, le=1, description="Baseline charging target (-).")
    soc_init: tuple[float, float] = Field(
        default=(0.5, 0.8), description="Initial SOC drawn uniformly from [low, high] (-)."
    )
    clusters: list[ClusterConfig] = Field(
        default_factory=list,
        description="Driver clusters with shares summing to 1; empty = one cluster using "
        "[network] as it is.",
    )

    @model_validator(mode="after")
    def _check(self) -> DriversConfig:
        if self.clusters:
            total = sum(c.share for c in self.clusters)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"cluster shares must sum to 1, got {total:.6g}")
            names = [c.name for c in self.clusters]
            if len(set(names)) != len(names):
                raise ValueError(f"cluster names must be unique, got {names}")
        lo, hi = self.soc_init
        if not (0.0 <= lo <= hi <= 1.0):
            raise ValueError(f"soc_init must satisfy 0 <= low <= high <= 1, got [{lo}, {hi}]")
        if not (self.soc_min <= self.soc_target <= self.soc_max):
            raise ValueError(
                "SOC bounds must satisfy soc_min <= soc_target <= soc_max, got "
                f"{self.soc_min} <= {self.soc_target} <= {self.soc_max}"
            )
        if self.baseline_charge_kw > self.charger_kw:
            raise ValueError(
                f"baseline_charge_kw ({self.baseline_charge_kw} kW) must not exceed charger_kw "
                f"({self.charger_kw} kW)"
            )
        return self



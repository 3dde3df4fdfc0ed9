"""Schema of ``[platform.eva]``: the seed-003 aggregator (Ma, Liu, Tian, Peng 2025), RECONSTRUCTED.

The model (models.md §4.2 (F1)-(F3), (W), (O), (a)-(e)) is reconstructed; no number of the seed's
extraction is a parameter, so every default here is ours, and stated only here: the adapter
:func:`v2gsim.specs.build.eva_spec` turns the table into the plain
:class:`v2gsim.optimize.eva.spec.EvaSpec`, whose fields have no defaults.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from v2gsim.config.base import MAX_SEED, Strict, field_error, increasing_from_zero

__all__ = ["EvaConfig", "EvaPopulationConfig", "WillingnessConfig"]

_PEAK = [0.55] * 6 + [1.05] * 4 + [0.75] * 2 + [0.3] * 7 + [0.75] * 5  # 12:00 .. 11:00 next day


class WillingnessConfig(Strict):
    """One response-probability form (W): ``linear`` (dead, saturation, pi_max) or ``logit``."""

    kind: Literal["linear", "logit"] = Field(default="linear", description="Form of pi(delta).")
    dead: float = Field(default=0.02, ge=0, le=10, description="Dead zone delta_0 (currency/kWh).")
    saturation: float = Field(default=0.2, gt=0, le=10, description="Saturation delta_s (currency/kWh).")
    pi_max: float = Field(default=0.8, ge=0, le=1, description="Largest response share (-).")
    beta0: float = Field(default=-3.0, ge=-100, le=100, description="Logit intercept (-).")
    beta1: float = Field(default=20.0, ge=0, le=1e4, description="Logit slope (per currency/kWh).")
    beta2: float = Field(default=1.0, ge=0, le=100, description="Logit weight of inconvenience (-).")
    inconvenience: float = Field(default=0.0, ge=0, le=100, description="Inconvenience (-).")

    @model_validator(mode="after")
    def _order(self) -> WillingnessConfig:
        if self.kind == "linear" and self.saturation <= self.dead:
            raise field_error("saturation", f"must exceed dead ({self.dead}), got {self.saturation}")
        return self


class EvaPopulationConfig(Strict):
    """Distributions of the sampled EVs (hours after 12:00; slot 0 = 12:00-13:00)."""

    arrival_mean_h: float = Field(default=6.5, ge=0, le=24, description="Mean arrival (h after noon).")
    arrival_sd_h: float = Field(default=1.5, ge=0, le=12, description="Arrival s.d. (h).")
    stay_mean_h: float = Field(default=13.0, gt=0, le=24, description="Mean stay (h).")
    stay_sd_h: float = Field(default=1.5, ge=0, le=12, description="Stay s.d. (h).")
    capacity_kwh: float = Field(default=60.0, gt=0, le=1000, description="Battery capacity (kWh).")
    soc_min: float = Field(default=0.2, ge=0, lt=1, description="Lowest SOC (-).")
    soc_max: float = Field(default=0.95, gt=0, le=1, description="Highest SOC (-).")
    soc_req: float = Field(default=0.8, ge=0, le=1, description="SOC wanted at departure (-).")
    mileage_mu: float = Field(default=3.4, ge=-5, le=8, description="Log-mean of daily km.")
    mileage_sigma: float = Field(default=0.5, ge=0, le=3, description="Log-s.d. of daily km.")
    kwh_per_km: float = Field(default=0.16, gt=0, le=2, description="Consumption (kWh/km).")
    soc_start: float = Field(default=0.85, ge=0, le=1, description="SOC before the day's driving (-).")
    p_c_kw: float = Field(default=7.0, gt=0, le=1000, description="Charger power (kW).")
    p_d_kw: float = Field(default=7.0, ge=0, le=1000, description="Discharge power (kW).")
    eta_c: float = Field(default=0.92, gt=0, le=1, description="Charging efficiency (-).")
    eta_d: float = Field(default=0.92, gt=0, le=1, description="Discharging efficiency (-).")

    @model_validator(mode="after")
    def _soc(self) -> EvaPopulationConfig:
        if not self.soc_min < self.soc_max:
            raise field_error("soc_max", f"must exceed soc_min ({self.soc_min})")
        return self


class EvaConfig(Strict):
    """Settings of the ``eva`` policy and of ``v2gsim eva`` (24 hourly slots from 12:00)."""

    mode: Literal["cbdr", "dbdr", "hybrid"] = Field(default="hybrid", description="Instruments offered.")
    evs: int = Field(default=200, ge=1, le=100_000, description="EVs sampled for the plan.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED,
                      description="Seed of the plan's sampled fleet (0 to 2^63 - 1).")
    population: EvaPopulationConfig = Field(default_factory=EvaPopulationConfig,
                                            description="Distributions of the sampled EVs.")
    r_da: list[float] = Field(default_factory=lambda: list(_PEAK), description="DA price (cur/kWh), 24.")
    r_up: list[float] = Field(default_factory=lambda: [0.8] * 24, description="Up-regulation price, 24.")
    r_down: list[float] = Field(default_factory=lambda: [0.4] * 24, description="Down-regulation price.")
    r_cap: list[float] = Field(default_factory=lambda: [0.1] * 24, description="Capacity price (cur/kW-h).")
    c_reg: list[float] = Field(default_factory=lambda: [0.12] * 24, description="Regulation cost (cur/kWh).")
    up_hours: list[int] = Field(default_factory=lambda: [6, 7, 8, 9], description="Slots asking up.")
    down_hours: list[int] = Field(default_factory=lambda: [12, 13, 14, 15, 16, 17],
                                  description="Slots asking down.")
    req_kw: float = Field(default=1000.0, ge=0, le=1e7, description="TSO's largest request (kW).")
    discount_levels: list[float] = Field(
        default_factory=lambda: [0.0, 0.05, 0.1, 0.15, 0.2],
        description="Charging discount levels, increasing from 0 (currency/kWh; CBDR).")
    subsidy_levels: list[float] = Field(
        default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4],
        description="Discharging subsidy levels, increasing from 0 (currency/kWh; DBDR).")
    discount_willingness: dict[str, WillingnessConfig] = Field(
        default_factory=lambda: {"all": WillingnessConfig()}, description="Form per cluster (CBDR).")
    subsidy_willingness: dict[str, WillingnessConfig] = Field(
        default_factory=lambda: {"all": WillingnessConfig(dead=0.05, saturation=0.4, pi_max=0.6)},
        description="Form per cluster (DBDR).")
    cluster_weights: dict[str, float] = Field(default_factory=lambda: {"all": 1.0},
                                              description="Share of the fleet per cluster (-).")
    discount_in_purchase: bool = Field(default=True, description="Net discounts into purchase cost.")
    drivers_see: Literal["none", "rebate"] = Field(
        default="none", description="How the announced incentives reach the drivers' plug-in choice "
        "(policy eva): none (only the EVs that draw a response follow the plan), or rebate (the "
        "expected incentive per EV at home in each hour, times exchange_rate, is the day's rebate per "
        "plugged EV-hour: the drivers' paths see it and the platform pays it instead of the per-kWh "
        "incentives).")
    exchange_rate: float = Field(default=1.0, gt=0, le=1e6,
                                 description="$ per unit of the prices' currency (drivers_see = rebate).")

    @field_validator("discount_levels", "subsidy_levels")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        return increasing_from_zero(v)

    @model_validator(mode="after")
    def _shapes(self) -> EvaConfig:
        for name in ("r_da", "r_up", "r_down", "r_cap", "c_reg"):
            v = getattr(self, name)
            if len(v) != 24 or not all(math.isfinite(x) for x in v):
                raise field_error(name, f"needs 24 finite hourly values, got {len(v)}")
        for name in ("up_hours", "down_hours"):
            if any(not 0 <= h < 24 for h in getattr(self, name)):
                raise field_error(name, "slots must lie in 0..23")
        if set(self.up_hours) & set(self.down_hours):
            both = sorted(set(self.up_hours) & set(self.down_hours))
            raise field_error("down_hours", f"overlaps up_hours at {both}")
        for name in ("discount_willingness", "subsidy_willingness"):
            missing = set(self.cluster_weights) - set(getattr(self, name))
            if missing:
                raise field_error(name, f"no form for cluster(s) {sorted(missing)} of cluster_weights")
        if any(w < 0 for w in self.cluster_weights.values()) or sum(self.cluster_weights.values()) <= 0:
            raise field_error("cluster_weights", "weights must be >= 0 with a positive sum")
        return self

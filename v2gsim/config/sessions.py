"""Schema of the EV sessions at a site (``[sessions]``, issue #11 item 3). Off by default; no part
of the model reads it yet (the adapter :func:`v2gsim.specs.build.sessions_spec` turns it into the
specs of :mod:`v2gsim.behavior.mobility`).

Example (seed 004's parking lot, 15-min slots)::

    [sessions]
    enabled = true
    model = "preset"
    preset = "bianchi2023_uniform"

or explicit windows (a law with ``mean`` and ``std`` is a truncated Gaussian, else uniform)::

    [sessions]
    enabled = true
    model = "parametric"
    arrival_h = { low = 8.0, high = 15.0, mean = 11.5, std = 1.75 }
    departure_h = { low = 13.0, high = 22.0, mean = 17.5, std = 2.25 }
    energy_arrival = { low = 0.2, high = 0.65 }
    energy_wanted = { low = 0.6, high = 0.95 }
    energy_unit = "soc"
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import Strict

__all__ = ["PRESET_NAMES", "LawConfig", "SessionsConfig"]

#: Session presets of :data:`v2gsim.behavior.mobility.PRESETS` (a test keeps the two equal).
PRESET_NAMES = ("bianchi2023_uniform", "mao2018_building", "mao2018_household", "mao2018_station")


class LawConfig(Strict):
    """A bounded law: uniform on [low, high], or a Gaussian (mean, std) truncated to it."""

    low: float = Field(description="Lower bound (unit of the field: h, kWh or SOC).")
    high: float = Field(description="Upper bound (same unit).")
    mean: float | None = Field(default=None, description="Truncated Gaussian: parent mean (same unit).")
    std: float | None = Field(default=None, gt=0, description="Truncated Gaussian: parent std (same unit).")

    @model_validator(mode="after")
    def _check(self) -> LawConfig:
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std (truncated Gaussian) or neither (uniform)")
        if not self.low <= self.high or (self.mean is not None and self.low == self.high):
            raise ValueError(f"need low <= high (low < high for a truncated Gaussian), "
                             f"got [{self.low}, {self.high}]")
        return self


class SessionsConfig(Strict):
    """Per EV and day an arrival, a departure, the energy at arrival and the energy wanted."""

    enabled: bool = Field(default=False, description="Build the session spec (nothing uses it yet).")
    model: Literal["preset", "parametric", "empirical", "paths"] = Field(
        default="preset",
        description="preset: a named seed case; parametric: the laws below; empirical: resample "
        "the real sessions of `file`; paths: the drivers' chosen paths at `place`.",
    )
    preset: Literal[PRESET_NAMES] = Field(  # type: ignore[valid-type]
        default="bianchi2023_uniform", description=f"Named seed case, one of {list(PRESET_NAMES)}.")
    slot_minutes: Literal[15, 30, 60] | None = Field(
        default=None, description="Slot length (min); default the preset's, else 60.")
    rule: Literal["half", "inner", "outer"] = Field(
        default="half", description="Times -> slots: half (>= half a slot), inner (whole slots), "
        "outer (any overlap).")
    n_evs: int | None = Field(default=None, ge=1, le=5_000_000,
                              description="EVs at the site per day; default the preset's, else "
                              "drivers.count.")
    arrival_h: LawConfig | None = Field(default=None, description="parametric: arrival time (h).")
    departure_h: LawConfig | None = Field(
        default=None, description="parametric: departure time (h; next day with overnight).")
    energy_arrival: LawConfig | None = Field(
        default=None, description="parametric: energy at arrival (kWh, or SOC with energy_unit).")
    energy_wanted: LawConfig | None = Field(
        default=None, description="parametric: energy wanted at departure (kWh or SOC).")
    energy_unit: Literal["kwh", "soc"] = Field(
        default="kwh", description="parametric: unit of the energy laws (kWh or SOC -).")
    overnight: bool = Field(default=False, description="parametric: departure on the next day.")
    min_stay_h: float = Field(default=1.0, gt=0, description="parametric: shortest stay (h).")
    capacity_kwh: float | None = Field(
        default=None, gt=0, description="Battery capacity for SOCs (kWh); default drivers.battery_kwh.")
    file: str = Field(default="", description="empirical: session CSV (ACN flat CSV or EV WATTS "
                      "VehicleChargingSessions.csv), relative to the scenario file.")
    source: Literal["auto", "acn", "evwatts"] = Field(default="auto",
                                                      description="empirical: file format.")
    energy_column: Literal["kwh_delivered", "kwh_requested"] = Field(
        default="kwh_delivered", description="empirical: ACN energy column (kWh).")
    arrival_soc: LawConfig = Field(
        default_factory=lambda: LawConfig(low=0.2, high=0.65, mean=0.425, std=0.1125),
        description="empirical: SOC at arrival (-).")
    fill_kw: float | None = Field(default=None, gt=0, description="empirical: charging power "
                                  "standing for missing energies (kW; EV WATTS).")
    max_sojourn_h: float | None = Field(default=24.0, gt=0,
                                        description="empirical: longest stay kept (h).")
    weekdays_only: bool = Field(default=False, description="empirical: Monday-Friday only.")
    place: str = Field(default="", description="paths: place of the sessions ([network] place).")
    wanted_soc: float | None = Field(
        default=None, ge=0, le=1, description="paths: SOC wanted at departure (-); default "
        "drivers.soc_target.")

    @model_validator(mode="after")
    def _check(self) -> SessionsConfig:
        if not self.enabled:
            return self
        if self.model == "parametric":
            missing = [f for f in ("arrival_h", "departure_h", "energy_arrival", "energy_wanted")
                       if getattr(self, f) is None]
            if missing:
                raise ValueError(f"model = 'parametric' needs {missing} (tables with low, high "
                                 "and optionally mean, std)")
        if self.model == "empirical" and not self.file:
            raise ValueError("model = 'empirical' needs file (an ACN or EV WATTS session CSV)")
        if self.model == "empirical" and not 0 <= self.arrival_soc.low <= self.arrival_soc.high <= 1:
            raise ValueError("arrival_soc must lie in [0, 1] (SOC)")
        if self.model == "paths" and not self.place:
            raise ValueError("model = 'paths' needs place (a [network] place with a charger)")
        return self

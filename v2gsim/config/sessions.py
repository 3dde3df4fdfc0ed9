"""Schema of the EV sessions at a site (``[sessions]``, issue #11 item 3). Off by default. The
adapter :func:`v2gsim.specs.build.sessions_spec` turns it into the specs of
:mod:`v2gsim.behavior.mobility`; with ``drive`` (default for policy ``robust``) the session model
also drives the loop's plug-ins (:mod:`v2gsim.behavior.mobility.daily`, issue #32).

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

import math
from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import DataPath, Strict, field_error

__all__ = ["PRESET_ENERGY", "PRESET_NAMES", "LawConfig", "SessionsConfig"]

#: Session presets of :data:`v2gsim.behavior.mobility.PRESETS` (a test keeps the two equal).
PRESET_NAMES = ("bianchi2023_uniform", "mao2018_building", "mao2018_household", "mao2018_station")

#: Per preset: the unit of its energy laws, their largest value and the preset's battery (kWh).
#: A preset in kWh needs ``capacity_kwh`` >= that value (``tests/test_sessions_config.py`` keeps
#: this table equal to :data:`v2gsim.behavior.mobility.PRESETS`).
PRESET_ENERGY: dict[str, tuple[str, float, float]] = {
    "bianchi2023_uniform": ("kwh", 40.0, 50.0),
    "mao2018_building": ("soc", 0.95, 24.0),
    "mao2018_household": ("soc", 0.95, 24.0),
    "mao2018_station": ("soc", 0.95, 24.0),
}

#: Smallest probability mass a truncated Gaussian may hold on its interval. The sampler's inverse
#: CDF needs a mass above 0 in double precision (the interval within ~37 std of the mean); this
#: bound keeps a margin of a few ulps over that limit.
MIN_TRUNCATED_MASS = 1e-300


def truncated_mass(low: float, high: float, mean: float, std: float) -> float:
    """Probability that N(mean, std^2) lies in [low, high], computed as the sampler does (an
    interval in the upper tail reflected to the lower tail, where Phi keeps its accuracy)."""
    a, b = (low - mean) / std, (high - mean) / std
    if a > 0:
        a, b = -b, -a
    return 0.5 * (math.erfc(-b / math.sqrt(2.0)) - math.erfc(-a / math.sqrt(2.0)))


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
        if self.mean is not None and self.std is not None and not (
                truncated_mass(self.low, self.high, self.mean, self.std) >= MIN_TRUNCATED_MASS):
            raise ValueError(f"the Gaussian (mean {self.mean}, std {self.std}) has no probability "
                             f"mass on [{self.low}, {self.high}] in double precision: the interval "
                             "must lie within ~37 std of the mean (move mean or raise std)")
        return self


class SessionsConfig(Strict):
    """Per EV and day an arrival, a departure, the energy at arrival and the energy wanted."""

    enabled: bool = Field(default=False, description="Build the session spec (the offline tools "
                          "use it; with drive it also drives the loop).")
    drive: bool | None = Field(
        default=None, description="The session model drives the loop: every EV of the fleet has one "
        "session per day at `place` (declared the evening before, then realized), instead of the "
        "drivers' paths. Default: on for policy robust, off otherwise. Needs model preset, "
        "parametric or empirical and network.hours = 24.")
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
    file: DataPath = Field(default="", description="empirical: session CSV (ACN flat CSV or EV WATTS "
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
    place: str = Field(default="", description="paths: place of the sessions ([network] place); "
                       "drive: the charger place the sessions are at (home, work or other; default work).")
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
        if self.model == "parametric":
            self._check_parametric()
        return self

    def _check_parametric(self) -> None:
        """What :class:`v2gsim.behavior.mobility.ParametricSessionSpec` refuses (and the sampler
        needs): arrival and departure windows on the clock, a departure after the latest arrival,
        energies in their unit's range."""
        a, d = self.arrival_h, self.departure_h
        assert a is not None and d is not None  # checked by _check
        if not 0 <= a.low <= a.high < 24:
            raise field_error("arrival_h", f"[{a.low}, {a.high}] h must lie in [0, 24) h (a clock "
                              "time on the day of arrival)")
        if not 0 <= d.low <= d.high <= 48:
            raise field_error("departure_h", f"[{d.low}, {d.high}] h must lie in [0, 48] h")
        if self.overnight and not d.low + 24 > a.high:
            raise field_error("departure_h.low", f"with overnight = true the earliest departure "
                              f"{d.low} h + 24 h must come after the latest arrival {a.high} h")
        if not self.overnight and not a.high + self.min_stay_h < d.high:
            raise field_error("departure_h.high", f"the latest departure {d.high} h must come after "
                              f"the latest arrival {a.high} h + min_stay_h {self.min_stay_h} h (or "
                              "set overnight = true for a departure on the next day)")
        for name in ("energy_arrival", "energy_wanted"):
            law = getattr(self, name)
            if self.energy_unit == "soc" and not 0 <= law.low <= law.high <= 1:
                raise field_error(name, f"[{law.low}, {law.high}] must lie in [0, 1] "
                                  "(energy_unit = 'soc')")
            if self.energy_unit == "kwh" and law.low < 0:
                raise field_error(f"{name}.low", f"must be >= 0 kWh, got {law.low}")

    def capacity_problem(self, battery_kwh: float) -> tuple[str, str] | None:
        """``(field, problem)`` when the energies of a parametric model or preset in kWh exceed the
        battery the sessions use (``capacity_kwh``; default ``drivers.battery_kwh``, or the
        preset's), else None."""
        if not self.enabled or self.model not in ("parametric", "preset"):
            return None
        if self.model == "preset":
            unit, top, cap = PRESET_ENERGY[self.preset]
            cap = self.capacity_kwh or cap
            if unit == "kwh" and top > cap:
                return ("capacity_kwh", f"preset {self.preset!r} draws energies up to {top:g} kWh, "
                        f"more than capacity_kwh = {cap:g} kWh; allowed: >= {top:g} kWh")
            return None
        if self.energy_unit != "kwh":
            return None
        cap = battery_kwh if self.capacity_kwh is None else self.capacity_kwh
        for name in ("energy_arrival", "energy_wanted"):
            law = getattr(self, name)
            if law.high > cap:
                source = ("capacity_kwh" if self.capacity_kwh is not None
                          else "capacity_kwh, default drivers.battery_kwh")
                return (f"{name}.high", f"energies up to {law.high:g} kWh exceed the battery of "
                        f"{cap:g} kWh ({source}); allowed: at most {cap:g} kWh")
        return None

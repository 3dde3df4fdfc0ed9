"""Schema of the fleet (``[drivers]``): number of drivers, utility distribution, batteries.

``[[drivers.models]]`` makes the fleet heterogeneous (EV models with shares, their own batteries,
power limits, efficiencies, self-discharge, SOC window and V2G capability, optionally a row of the
shipped catalog :mod:`v2gsim.config.catalog`); ``[drivers.degradation]`` prices battery wear. Both
are off by default: an empty list is the homogeneous fleet of the ``[drivers]`` fields.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from v2gsim.config.base import Strict
from v2gsim.config.catalog import ev_catalog
from v2gsim.config.network import ClusterConfig

__all__ = ["DegradationConfig", "DriversConfig", "EVModelConfig"]


class DegradationConfig(Strict):
    """Battery degradation cost (``[drivers.degradation]``); both terms 0 = off."""

    throughput_cost: float = Field(
        default=0.0, ge=0,
        description="Wear cost per kWh cycled through the battery ($/kWh): energy stored by "
        "charging plus energy taken out by V2G discharge, battery side (driving excluded).",
    )
    cycle_cost: float = Field(
        default=0.0, ge=0,
        description="Cost per charge/discharge switch ($/switch): seed 002's lambda term, a switch "
        "being a change of the charging or of the discharging status between consecutive "
        "plugged-in hours (models.md 3.2 (6), status 0 before plug-in).",
    )


class EVModelConfig(Strict):
    """One EV model of a heterogeneous fleet (``[[drivers.models]]``).

    A field left out comes from the catalog row named by ``catalog`` when there is one, else from
    the ``[drivers]`` fields (battery_kwh, charger_kw, soc_min, soc_max; V2G capable).
    """

    name: str = Field(min_length=1, description="Model name (unique), written to the fleet table.")
    share: float = Field(gt=0, le=1, description="Share of the fleet (-); shares sum to 1.")
    catalog: str | None = Field(
        default=None,
        description="Name of a row of the shipped catalog v2gsim/data/ev_models.csv whose usable "
        "capacity, AC charging power and bidirectional flag are the defaults of this model.",
    )
    battery_kwh: float | None = Field(default=None, gt=0, description="Usable capacity (kWh).")
    max_charge_kw: float | None = Field(
        default=None, gt=0,
        description="Largest charging power of the car (kW, grid side); the EV draws at most "
        "min(this, [drivers] charger_kw).",
    )
    max_discharge_kw: float | None = Field(
        default=None, ge=0,
        description="Largest V2G discharge power (kW, grid side), limited by [drivers] "
        "charger_kw too; default max_charge_kw when v2g, else 0.",
    )
    charge_efficiency: float = Field(
        default=1.0, gt=0, le=1,
        description="eta_c in (0, 1] (-): stored energy = eta_c * grid energy while charging.",
    )
    discharge_efficiency: float = Field(
        default=1.0, gt=0, le=1,
        description="eta_d in (0, 1] (-): grid energy = eta_d * energy taken from the battery.",
    )
    self_discharge_per_h: float = Field(
        default=0.0, ge=0, lt=1,
        description="Self-discharge, fraction of the stored energy lost per hour (1/h).",
    )
    soc_min: float | None = Field(
        default=None, ge=0, le=1,
        description="Lower end of the usable SOC window (-): V2G never discharges below it.",
    )
    soc_max: float | None = Field(
        default=None, ge=0, le=1, description="Upper end of the usable SOC window (-)."
    )
    v2g: bool | None = Field(
        default=None,
        description="V2G capable (default: the catalog's bidirectional flag, else true). An EV "
        "that is not only modulates its charging.",
    )

    @field_validator("catalog")
    @classmethod
    def _known_catalog(cls, v: str | None) -> str | None:
        if v is not None and v not in ev_catalog():
            raise ValueError(f"unknown catalog model {v!r}; allowed: {', '.join(ev_catalog())}")
        return v

    def resolved(self, drivers: DriversConfig) -> dict[str, Any]:
        """Every field of the model with its default filled in (the fields of
        :class:`v2gsim.core.fleet.EVModelSpec`).

        Raises:
            ValueError: the resolved model is inconsistent (message names the model).
        """
        row = ev_catalog()[self.catalog] if self.catalog else None

        def pick(own: Any, column: str, fallback: Any) -> Any:
            """The model's own value, else the catalog row's ``column``, else ``fallback``."""
            if own is not None:
                return own
            return getattr(row, column) if row is not None else fallback

        v2g = pick(self.v2g, "bidirectional", True)
        charge = pick(self.max_charge_kw, "ac_kw", drivers.charger_kw)
        discharge = self.max_discharge_kw if self.max_discharge_kw is not None else (
            charge if v2g else 0.0)
        out = {
            "name": self.name, "share": self.share,
            "battery_kwh": float(pick(self.battery_kwh, "usable_kwh", drivers.battery_kwh)),
            "max_charge_kw": float(charge), "max_discharge_kw": float(discharge),
            "charge_efficiency": self.charge_efficiency,
            "discharge_efficiency": self.discharge_efficiency,
            "self_discharge_per_h": self.self_discharge_per_h,
            "soc_min": drivers.soc_min if self.soc_min is None else self.soc_min,
            "soc_max": drivers.soc_max if self.soc_max is None else self.soc_max,
            "v2g": bool(v2g),
        }
        where = f"models {self.name!r}"
        if not v2g and discharge > 0:
            raise ValueError(f"{where}: max_discharge_kw must be 0 (or left out) when v2g = false, "
                             f"got {discharge} kW")
        if v2g and discharge == 0:
            raise ValueError(f"{where}: v2g = true needs max_discharge_kw > 0 (or v2g = false)")
        if not out["soc_min"] < out["soc_max"]:
            raise ValueError(f"{where}: soc_min ({out['soc_min']}) must be < soc_max "
                             f"({out['soc_max']})")
        if not out["soc_min"] <= drivers.soc_target <= out["soc_max"]:
            raise ValueError(f"{where}: drivers.soc_target {drivers.soc_target} must lie in the "
                             f"model's SOC window [{out['soc_min']}, {out['soc_max']}]")
        return out


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
    sampler: Literal["compiled", "numpy"] = Field(
        default="compiled",
        description="How normal, uniform and two_point utilities are drawn and solved: compiled "
        "(every driver's own Philox stream, drawn and solved in a numba kernel; fast, no "
        "(arcs x drivers) array) or numpy (the reference implementation: numpy's generator and "
        "the vectorized longest-path DP, as before issue #16). Same model, different draws.",
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
    models: list[EVModelConfig] = Field(
        default_factory=list,
        description="EV models with shares summing to 1 (a heterogeneous fleet); empty = every "
        "EV is the battery and charger of the fields above.",
    )
    degradation: DegradationConfig = Field(
        default_factory=DegradationConfig, description="Battery degradation cost ($)."
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
        if self.models:
            self.resolved_models()
        if self.baseline_charge_kw > self.charger_kw:
            raise ValueError(
                f"baseline_charge_kw ({self.baseline_charge_kw} kW) must not exceed charger_kw "
                f"({self.charger_kw} kW)"
            )
        return self

    def resolved_models(self) -> list[dict[str, Any]]:
        """The ``[[drivers.models]]`` with every default filled in (empty: homogeneous fleet).

        Raises:
            ValueError: shares do not sum to 1, names repeat, or a model is inconsistent.
        """
        if not self.models:
            return []
        total = sum(m.share for m in self.models)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"models shares must sum to 1, got {total:.6g}")
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"models names must be unique, got {names}")
        return [m.resolved(self) for m in self.models]

    def model_sizes(self) -> list[int]:
        """EVs per model: the largest-remainder split of ``count`` by the shares, ties to the first
        (the rule of :func:`v2gsim.core.fleet.split_by_share`, in plain Python); empty when
        homogeneous."""
        raw = [m.share * self.count for m in self.models]
        size = [math.floor(r) for r in raw]
        rest = self.count - sum(size)
        for k in sorted(range(len(raw)), key=lambda k: -(raw[k] - size[k]))[:rest]:
            size[k] += 1
        return size

    def regulation_kw(self) -> float:
        """Mean symmetric regulation capability per EV psi (kW) a policy plans with: ``charger_kw``
        for the homogeneous fleet, else the mean over the EVs of ``min(P_ch, P_dis)`` capped by the
        charger (0 for an EV without V2G), as :attr:`v2gsim.core.fleet.FleetSpec.regulation_kw`."""
        if not self.models:
            return self.charger_kw
        cap = self.charger_kw
        psi = [min(m["max_charge_kw"], cap, m["max_discharge_kw"] if m["v2g"] else 0.0)
               for m in self.resolved_models()]
        return math.fsum(n * p for n, p in zip(self.model_sizes(), psi, strict=True)) / self.count

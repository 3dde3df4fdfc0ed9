"""Schema of the seed-002 V2A site settings (``[platform.v2a]``, issue #12; models.md §3).

One site type per table: the place decides the modes (home {c, H, G}, building {c, B, G}, station
{c, V, G}); the hourly prices and the base load are given on the clock (index 0 = 00:00-01:00) and
the MILP's slot axis starts at ``start_hour`` (12 for an overnight household). The EVs' windows and
SOCs come from the scenario's ``[sessions]`` (the ``mao2018_*`` presets).

:class:`V2AConfig` is the one description of the table and holds its defaults. The adapter
(:mod:`v2gsim.specs.build`) turns its site fields into :class:`v2gsim.optimize.v2a.site.V2ASiteSpec`
and its fields marked "Policy v2a" into :class:`v2gsim.policies.v2a.V2APolicySpec`, which composes
the site spec; neither plain spec has defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from v2gsim.config.base import MAX_SEED, Strict

__all__ = ["V2AConfig"]


def _hourly(v: list[float], name: str, low: float) -> list[float]:
    if len(v) != 24:
        raise ValueError(f"{name} has {len(v)} values; give exactly 24 (one per clock hour)")
    if min(v) < low:
        raise ValueError(f"{name} values must be >= {low}")
    return v


class V2AConfig(Strict):
    """A V2A site (seed 002): prices, base load and the penalties of (10)."""

    place: Literal["home", "building", "station"] = Field(
        default="home", description="Site type: home {c,H,G}, building {c,B,G}, station {c,V,G}.")
    start_hour: int = Field(default=0, ge=0, le=23,
                            description="Clock hour of the first slot of the site's day (h).")
    load_price: list[float] = Field(description="24 load prices theta_L by clock hour (p.u./kWh).")
    v2g_price: list[float] = Field(description="24 V2G prices theta_V2G by clock hour (p.u./kWh).")
    base_load_kw: list[float] = Field(description="24 base loads P^B of the site by clock hour (kW).")
    rho: float = Field(default=1.5, ge=0, le=1e6,
                       description="Energy-wish penalty per SOC percentage point (p.u./pp; seed 1.5).")
    lam: float = Field(default=0.15, ge=0, le=1e6, description="Cycle penalty per cycle (p.u.; seed 0.15).")
    penalty: Literal["plus", "square"] = Field(default="plus", description="Form of D in (10).")
    cycles: Literal["switches", "discharge_episodes"] = Field(
        default="switches", description="Cycle count of (6).")
    power_kw: float = Field(default=3.3, gt=0, le=1000, description="Rated charge/discharge power (kW).")
    eta_c: float = Field(default=0.98, gt=0, le=1, description="Charging efficiency (-).")
    eta_d: float = Field(default=0.98, gt=0, le=1, description="Discharging efficiency (-).")
    soc_min: float = Field(default=0.2, ge=0, le=1, description="Lower SOC limit (-).")
    soc_max: float = Field(default=0.9, ge=0, le=1, description="Upper SOC limit (-).")
    charging_fee: float = Field(default=0.0, ge=0, le=1e3,
                                description="Station fee per kWh charged (p.u./kWh; ours, seed none).")
    seed: int = Field(default=2018, ge=0, le=MAX_SEED,
                      description="Seed of the one-day session draw of `v2gsim v2a` (0 to 2^63 - 1).")
    work_load_kw: list[float] | None = Field(
        default=None,
        description="Policy v2a: 24 base loads of the building at `work` (kW); default base_load_kw.")
    other_load_kw: list[float] | None = Field(
        default=None,
        description="Policy v2a: 24 base loads of the station at `other` (kW); default base_load_kw.")
    offer_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Policy v2a: share of planned V2G power bid for regulation (-).")
    time_limit_s: float = Field(default=5.0, gt=0, le=3600,
                                description="Policy v2a: HiGHS limit per site-day (s).")
    gap: float = Field(default=1e-3, ge=0, le=1, description="Policy v2a: relative MIP gap (-).")

    @field_validator("load_price", "v2g_price")
    @classmethod
    def _prices(cls, v: list[float], info) -> list[float]:
        return _hourly(v, info.field_name, -1e3)

    @field_validator("base_load_kw", "work_load_kw", "other_load_kw")
    @classmethod
    def _load(cls, v: list[float] | None, info) -> list[float] | None:
        return None if v is None else _hourly(v, info.field_name, 0.0)

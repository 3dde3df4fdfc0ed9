"""Sessions drawn from parametric distributions: truncated Gaussians (seed 002) or uniforms (seed 004).

Per EV and day, four independent draws by the inverse CDF of one uniform each (a block
``rng.random((4, N))``, so a given generator gives the same continuous times on every slot grid):

1. arrival ``a ~ F_a`` (clock hours);
2. departure: with ``overnight`` the departure window is on the next day, ``d = 24 + D``, ``D ~ F_d``
   (the household of seed 002, home overnight); otherwise ``d ~ F_d`` *conditioned on* ``d ≥ a +
   min_stay_h``, i.e. drawn from F_d truncated further to [max(l_d, a + min_stay_h), h_d]. This is how
   departure > arrival is enforced where the windows overlap (seed 002's building/station: start ∈
   [8, 15] h, end ∈ [13, 22] h): the arrival keeps its configured law exactly; the departure's law is
   the configured one given the arrival, and its marginal is ``∫ f_a(a) F_d(· | d ≥ a + m) da``
   (equal to F_d when the windows are disjoint, as in seed 004);
3. energy at arrival, 4. energy wanted at departure: in kWh, or as SOCs times ``capacity_kwh``
   (``energy_unit = "soc"``). They are independent, so the wanted energy can be below the arrival
   energy where their ranges overlap (seed 002: [0.2, 0.65] and [0.6, 0.95]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from v2gsim.behavior.mobility.core import SLOT_MINUTES, SessionError, Sessions, SlotRule
from v2gsim.behavior.mobility.distributions import Distribution, TruncNormal, Uniform

__all__ = ["ParametricSessionSpec", "sample_parametric"]

EnergyUnit = Literal["kwh", "soc"]


@dataclass(frozen=True)
class ParametricSessionSpec:
    """Distributions of one site's sessions (module docstring for how they combine).

    Attributes:
        name: label of the spec (a preset's name).
        arrival_h: law of the arrival clock time (h), support inside [0, 24).
        departure_h: law of the departure clock time (h; on the next day with ``overnight``).
        energy_arrival: law of the energy at arrival (kWh, or SOC with ``energy_unit="soc"``).
        energy_wanted: law of the energy wanted at departure (same unit).
        energy_unit: ``"kwh"`` or ``"soc"`` (SOCs are multiplied by ``capacity_kwh``).
        capacity_kwh: battery capacity C (kWh); required with ``energy_unit="soc"``; with kWh
            energies an optional bound on them (and the capacity of the SOC view).
        overnight: the departure window is on the day after the arrival (+24 h).
        min_stay_h: shortest stay (h, > 0) where the windows overlap (departure ≥ arrival + this).
        slot_minutes: slot grid of the sessions (15, 30 or 60 min).
        n_evs: EVs of the seed case (the sampler's default fleet size).
    """

    name: str
    arrival_h: Distribution
    departure_h: Distribution
    energy_arrival: Distribution
    energy_wanted: Distribution
    energy_unit: EnergyUnit = "kwh"
    capacity_kwh: float | None = None
    overnight: bool = False
    min_stay_h: float = 1.0
    slot_minutes: int = 60
    n_evs: int = 1

    def __post_init__(self) -> None:
        where = f"session spec {self.name!r}"
        if self.capacity_kwh is not None and not self.capacity_kwh > 0:
            raise SessionError(f"{where}: capacity_kwh must be > 0 kWh, got {self.capacity_kwh}")
        for field in ("arrival_h", "departure_h", "energy_arrival", "energy_wanted"):
            if not isinstance(getattr(self, field), TruncNormal | Uniform):
                raise SessionError(f"{where}: {field} must be a TruncNormal or Uniform")
        a, d = self.arrival_h, self.departure_h
        if a.low < 0 or a.high >= 24:
            raise SessionError(f"{where}: arrival_h support [{a.low}, {a.high}] must lie in [0, 24) h")
        if not 0 <= d.low <= d.high <= 48:
            raise SessionError(f"{where}: departure_h support [{d.low}, {d.high}] must lie in [0, 48] h")
        if not self.min_stay_h > 0:
            raise SessionError(f"{where}: min_stay_h must be > 0 h, got {self.min_stay_h}")
        if self.overnight and d.low + 24 <= a.high:
            raise SessionError(f"{where}: overnight departure {d.low} h + 24 h must follow the "
                               f"latest arrival {a.high} h")
        if not self.overnight and a.high + self.min_stay_h >= d.high:
            raise SessionError(f"{where}: the latest arrival {a.high} h + min_stay_h "
                               f"{self.min_stay_h} h must be before the latest departure {d.high} h")
        if self.energy_unit not in ("kwh", "soc"):
            raise SessionError(f"{where}: energy_unit must be 'kwh' or 'soc', got {self.energy_unit!r}")
        if self.energy_unit == "soc":
            if self.capacity_kwh is None:
                raise SessionError(f"{where}: energy_unit='soc' needs capacity_kwh > 0 (kWh)")
            for field in ("energy_arrival", "energy_wanted"):
                lo, hi = getattr(self, field).low, getattr(self, field).high
                if lo < 0 or hi > 1:
                    raise SessionError(f"{where}: {field} SOC support [{lo}, {hi}] must lie in [0, 1]")
        else:
            e_lo = min(self.energy_arrival.low, self.energy_wanted.low)
            e_hi = max(self.energy_arrival.high, self.energy_wanted.high)
            if e_lo < 0:
                raise SessionError(f"{where}: energies must be >= 0 kWh")
            if self.capacity_kwh is not None and e_hi > self.capacity_kwh:
                raise SessionError(f"{where}: energies up to {e_hi} kWh exceed capacity_kwh "
                                   f"{self.capacity_kwh} kWh")
        if self.slot_minutes not in SLOT_MINUTES:
            raise SessionError(f"{where}: slot_minutes must be one of {list(SLOT_MINUTES)}")
        if self.n_evs < 1:
            raise SessionError(f"{where}: n_evs must be >= 1, got {self.n_evs}")

    @property
    def energy_scale_kwh(self) -> float:
        """kWh per unit of the energy draws (C for SOCs, 1 for kWh)."""
        return float(self.capacity_kwh) if self.energy_unit == "soc" else 1.0

    def sample(self, rng: np.random.Generator, n_evs: int | None = None, days: int = 1, *,
               first_day: int = 0, slot_minutes: int | None = None,
               rule: SlotRule = "half") -> Sessions:
        """:func:`sample_parametric` of this spec."""
        return sample_parametric(rng, self, n_evs, days, first_day=first_day,
                                 slot_minutes=slot_minutes, rule=rule)


def sample_parametric(rng: np.random.Generator, spec: ParametricSessionSpec,
                      n_evs: int | None = None, days: int = 1, *, first_day: int = 0,
                      slot_minutes: int | None = None, rule: SlotRule = "half") -> Sessions:
    """Draw ``n_evs × days`` sessions from ``spec`` (module docstring), vectorized.

    Args:
        rng: the generator (one ``rng.random((4, N))`` block is drawn).
        spec: the distributions.
        n_evs: EVs per day (default ``spec.n_evs``).
        days: number of days; rows are day-major (day 0's EVs 0..n-1, then day 1's, ...).
        first_day: index of the first day.
        slot_minutes: slot grid (default ``spec.slot_minutes``).
        rule: rounding of times to slots (:func:`v2gsim.behavior.mobility.core.hours_to_slots`).

    Returns:
        The sessions, energies in kWh.
    """
    n_evs = spec.n_evs if n_evs is None else int(n_evs)
    if n_evs < 1 or days < 1:
        raise SessionError(f"n_evs and days must be >= 1, got {n_evs}, {days}")
    n = n_evs * days
    u = rng.random((4, n))
    arrival = spec.arrival_h.ppf(u[0])
    if spec.overnight:
        departure = 24.0 + spec.departure_h.ppf(u[1])
    else:
        departure = spec.departure_h.ppf(u[1], lower=arrival + spec.min_stay_h)
    scale = spec.energy_scale_kwh
    return Sessions(
        ev=np.tile(np.arange(n_evs), days),
        day=np.repeat(np.arange(first_day, first_day + days), n_evs),
        arrival_h=arrival,
        departure_h=departure,
        energy_arrival_kwh=scale * spec.energy_arrival.ppf(u[2]),
        energy_wanted_kwh=scale * spec.energy_wanted.ppf(u[3]),
        slot_minutes=spec.slot_minutes if slot_minutes is None else slot_minutes,
        rule=rule,
    )

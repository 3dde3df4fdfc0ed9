"""Named session presets of the seed cases (plain specs; what each takes from its seed and what is
RECONSTRUCTED).

**Seed 002, Mao, Zhang & Zhou (2018), Table 1 and §4.1** (models.md §3.1). Legible: "Truncated
Gaussian Distribution is used to simulate the charging activities", with the *ranges* t_start ∈
[8:00, 15:00], t_end ∈ [13:00, 22:00] (building and station, daytime parking), SOC_ini ∈ [0.2, 0.65],
SOC_exp ∈ [0.6, 0.95]; 24 kWh, 3.3 kW, η = 0.98, SOC limits 0.2/0.9, hourly slots, 1 EV
(household), 5 (building), 10 (station). The household "plugs in during the night"; its plug times
are not given. Lost in the extraction: the means and standard deviations inside each range, and the
household window. RECONSTRUCTED here:

* mean = the range's midpoint, standard deviation = a quarter of its width (the range is ±2σ of
  the parent Gaussian, 95.4 % of its mass): arrival μ = 11.5 h, σ = 1.75 h; departure μ = 17.5 h,
  σ = 2.25 h; SOC_ini μ = 0.425, σ = 0.1125; SOC_exp μ = 0.775, σ = 0.0875.
* household: arrival on [15:00, 21:00] (μ 18:00, σ 1.5 h), departure the next morning on [6:00,
  9:00] (μ 7:30, σ 0.75 h). Chosen to contain the plugged-in hours of the paper's Fig. 10 schedule
  (charging 16-17 h and 2-4 h, V2H 18-20 h, V2G at 21 h), on the reading that the 24 slots are one
  periodic day (``Sessions.connected(wrap=True)``).
* the building and the station share Table 1's windows (the table has one pair); departure after
  arrival is enforced by conditioning the departure on ``d ≥ a + 1 h``
  (:mod:`v2gsim.behavior.mobility.parametric`).

**Seed 004, Bianchi, Falsone & Vignali (2023), §4** (models.md §5.6). Legible: a company parking
lot, 24 h horizon, arrival uniform on [6:00, 8:00], departure uniform on [16:00, 20:00]; energy at
arrival and energy wanted at departure uniform (ranges lost); slots of 15 min (the slot length is
lost in the extraction; 15 min is this issue's reading). RECONSTRUCTED: e^0 uniform on [10, 25]
kWh, e^dep uniform on [30, 40] kWh for a 50 kWh battery (so e^dep > e^0 always, a required energy
e̲ = e^dep − e^0 of 5-30 kWh, and room ē = 50 − e^0 ≥ e̲ as the reduced problem (12) needs), and 10
EVs (N is lost).
"""

from __future__ import annotations

from v2gsim.behavior.mobility.distributions import TruncNormal, Uniform
from v2gsim.behavior.mobility.parametric import ParametricSessionSpec

__all__ = ["PRESETS", "preset"]


def _range_gaussian(low: float, high: float) -> TruncNormal:
    """Truncated Gaussian on [low, high], mean at the midpoint, σ a quarter of the width (RECONSTRUCTED)."""
    return TruncNormal(low=low, high=high, mean=0.5 * (low + high), std=0.25 * (high - low))


_SOC_INI = _range_gaussian(0.2, 0.65)
_SOC_EXP = _range_gaussian(0.6, 0.95)


def _mao2018_daytime(name: str, n_evs: int) -> ParametricSessionSpec:
    return ParametricSessionSpec(
        name=name, arrival_h=_range_gaussian(8.0, 15.0), departure_h=_range_gaussian(13.0, 22.0),
        energy_arrival=_SOC_INI, energy_wanted=_SOC_EXP, energy_unit="soc", capacity_kwh=24.0,
        overnight=False, min_stay_h=1.0, slot_minutes=60, n_evs=n_evs,
    )


#: The seed cases by name.
PRESETS: dict[str, ParametricSessionSpec] = {
    "mao2018_household": ParametricSessionSpec(
        name="mao2018_household",
        arrival_h=TruncNormal(low=15.0, high=21.0, mean=18.0, std=1.5),
        departure_h=TruncNormal(low=6.0, high=9.0, mean=7.5, std=0.75),
        energy_arrival=_SOC_INI, energy_wanted=_SOC_EXP, energy_unit="soc", capacity_kwh=24.0,
        overnight=True, slot_minutes=60, n_evs=1,
    ),
    "mao2018_building": _mao2018_daytime("mao2018_building", 5),
    "mao2018_station": _mao2018_daytime("mao2018_station", 10),
    "bianchi2023_uniform": ParametricSessionSpec(
        name="bianchi2023_uniform",
        arrival_h=Uniform(6.0, 8.0), departure_h=Uniform(16.0, 20.0),
        energy_arrival=Uniform(10.0, 25.0), energy_wanted=Uniform(30.0, 40.0), energy_unit="kwh",
        capacity_kwh=50.0, slot_minutes=15, n_evs=10,
    ),
}


def preset(name: str) -> ParametricSessionSpec:
    """The preset called ``name``.

    Raises:
        KeyError: an unknown name (the message lists the presets).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown session preset {name!r}; allowed: {sorted(PRESETS)}") from None

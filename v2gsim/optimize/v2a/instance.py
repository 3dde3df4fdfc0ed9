"""Inputs of one site-day of the V2A model (models.md §3.1), validated into NumPy arrays.

Slots are the columns ``0..T-1`` of the site's day axis (which may start at any clock hour, e.g.
noon for an overnight household); EV ``i`` is plugged in the slots ``arrival[i] <= t < departure[i]``
(the window T_i of the seed). Modes are coded as in :data:`MODE_CODES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DISCHARGE_MODES", "LOCAL_MODES", "MODES", "MODE_CODES", "PLACE_MODES", "SiteInstance"]

#: Modes of one slot besides idle (code 0): charging and the four V2A discharges.
MODES: tuple[str, ...] = ("c", "H", "B", "V", "G")
#: Integer code of each mode in a schedule's (N, T) mode matrix; 0 means idle.
MODE_CODES: dict[str, int] = {m: k + 1 for k, m in enumerate(MODES)}
#: Modes allowed at each place (seed §2): home {c, H, G}, building {c, B, G}, station {c, V, G}.
PLACE_MODES: dict[str, tuple[str, ...]] = {
    "home": ("c", "H", "G"),
    "building": ("c", "B", "G"),
    "station": ("c", "V", "G"),
}
#: Discharging modes (7) and the local ones whose energy must stay on site (11).
DISCHARGE_MODES: tuple[str, ...] = ("H", "B", "V", "G")
LOCAL_MODES: tuple[str, ...] = ("H", "B", "V")


def _vec(name: str, value, n: int) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr}")
    return arr


@dataclass(frozen=True)
class SiteInstance:
    """One site-day: the EVs plugged at a place, the prices and the base load.

    Scalars broadcast to all EVs. Energies in kWh, powers in kW, prices in cost units (p.u.) per kWh,
    SOC as fractions of capacity.

    Attributes:
        place: ``"home"``, ``"building"`` or ``"station"`` (decides the local discharge mode).
        load_price: (T,) load price theta_L,t (p.u./kWh), paid for the site's net grid import (9).
        v2g_price: (T,) V2G price theta_V2G,t (p.u./kWh), earned on V2G energy (9).
        base_load: (T,) basic load P^B_t of the site (kW).
        arrival: (N,) first plugged slot of each EV (t_start).
        departure: (N,) first slot after the window (t_end + 1); ``arrival < departure <= T``.
        soc_ini: (N,) SOC at plug-in; soc_exp: (N,) wished SOC at plug-out (4).
        capacity_kwh, power_kw, eta_c, eta_d, soc_min, soc_max: (N,) battery data.
        rho: (N,) energy-wish penalty per unit of D (10); the deviation is in SOC percentage points.
        lam: (N,) cycle penalty per counted cycle (6), (10).
        dt_h: slot length (h).
        allow_discharge: if False, every discharging mode is fixed to 0 (the seed's comparison case).
        penalty: ``"plus"`` for D(x) = max(x, 0), ``"square"`` for D(x) = x**2 (outer approximation).
        cycles: ``"switches"`` (6): count of charge and discharge on/off switches, or
            ``"discharge_episodes"``: count of discharge starts.
        hard_wish: if True, (4) is a hard constraint instead of a penalty.
        charging_fee: fee per kWh charged (station revenue; ours, the seed gives none).
        square_pieces: number of tangents of the square's outer approximation.
        group: (N,) sub-site of each EV (default all 0): (8) and (11) hold per sub-site, each with
            the base load ``base_load``; e.g. one group per household solves many homes in one MILP.
    """

    place: str
    load_price: np.ndarray
    v2g_price: np.ndarray
    base_load: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    soc_ini: np.ndarray
    soc_exp: np.ndarray
    capacity_kwh: np.ndarray | float = 24.0
    power_kw: np.ndarray | float = 3.3
    eta_c: np.ndarray | float = 0.98
    eta_d: np.ndarray | float = 0.98
    soc_min: np.ndarray | float = 0.2
    soc_max: np.ndarray | float = 0.9
    rho: np.ndarray | float = 1.5
    lam: np.ndarray | float = 0.15
    dt_h: float = 1.0
    allow_discharge: bool = True
    penalty: str = "plus"
    cycles: str = "switches"
    hard_wish: bool = False
    charging_fee: float = 0.0
    square_pieces: int = 201
    group: np.ndarray | None = None
    modes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.place not in PLACE_MODES:
            raise ValueError(f"place must be one of {sorted(PLACE_MODES)}, got {self.place!r}")
        if self.penalty not in ("plus", "square"):
            raise ValueError(f"penalty must be 'plus' or 'square', got {self.penalty!r}")
        if self.cycles not in ("switches", "discharge_episodes"):
            raise ValueError(f"cycles must be 'switches' or 'discharge_episodes', got {self.cycles!r}")
        set_ = object.__setattr__
        for name in ("load_price", "v2g_price", "base_load"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be a finite 1-D array")
            set_(self, name, arr)
        T = self.load_price.size
        if self.v2g_price.size != T or self.base_load.size != T:
            raise ValueError(f"load_price, v2g_price and base_load must have the same length {T}")
        arr_ = np.atleast_1d(np.asarray(self.arrival, dtype=int))
        dep = np.atleast_1d(np.asarray(self.departure, dtype=int))
        n = arr_.size
        if dep.size != n or np.any(arr_ < 0) or np.any(dep > T) or np.any(arr_ >= dep):
            raise ValueError(f"need 0 <= arrival < departure <= T={T} per EV, got {arr_} and {dep}")
        grp = np.zeros(n, dtype=int) if self.group is None else np.asarray(self.group, dtype=int).ravel()
        if grp.size != n or np.any(grp < 0):
            raise ValueError(f"group must hold {n} integers >= 0")
        set_(self, "group", grp)
        set_(self, "arrival", arr_)
        set_(self, "departure", dep)
        for name in ("soc_ini", "soc_exp", "capacity_kwh", "power_kw", "eta_c", "eta_d",
                     "soc_min", "soc_max", "rho", "lam"):
            set_(self, name, _vec(name, getattr(self, name), n))
        if np.any(self.capacity_kwh <= 0) or np.any(self.power_kw < 0):
            raise ValueError("capacity_kwh must be > 0 and power_kw >= 0")
        if np.any((self.eta_c <= 0) | (self.eta_c > 1) | (self.eta_d <= 0) | (self.eta_d > 1)):
            raise ValueError("efficiencies must lie in (0, 1]")
        if np.any(self.rho < 0) or np.any(self.lam < 0):
            raise ValueError("rho and lam must be >= 0")
        if self.dt_h <= 0 or self.square_pieces < 2:
            raise ValueError("dt_h must be > 0 and square_pieces >= 2")
        modes = PLACE_MODES[self.place] if self.allow_discharge else ("c",)
        set_(self, "modes", tuple(modes))

    @property
    def n_ev(self) -> int:
        """Number of EVs N."""
        return int(self.arrival.size)

    @property
    def n_groups(self) -> int:
        """Number of sub-sites G (each carries the base load)."""
        return int(self.group.max(initial=-1)) + 1 if self.n_ev else 1

    @property
    def n_slots(self) -> int:
        """Number of slots T."""
        return int(self.load_price.size)

    @property
    def window(self) -> np.ndarray:
        """(N, T) bool: EV i is plugged in slot t (the window T_i)."""
        t = np.arange(self.n_slots)
        return (t[None, :] >= self.arrival[:, None]) & (t[None, :] < self.departure[:, None])

    @property
    def charge_step(self) -> np.ndarray:
        """(N,) SOC gained by one charging slot, eta_c P dt / Cap (1)."""
        return self.eta_c * self.power_kw * self.dt_h / self.capacity_kwh

    @property
    def discharge_step(self) -> np.ndarray:
        """(N,) SOC lost by one discharging slot, P dt / (eta_d Cap) (1)."""
        return self.power_kw * self.dt_h / (self.eta_d * self.capacity_kwh)

    def subset(self, idx) -> SiteInstance:
        """The same site with only the EVs ``idx`` (used by the infeasibility diagnosis)."""
        idx = np.atleast_1d(np.asarray(idx, dtype=int))
        per_ev = {k: getattr(self, k)[idx] for k in (
            "arrival", "departure", "soc_ini", "soc_exp", "capacity_kwh", "power_kw", "eta_c",
            "eta_d", "soc_min", "soc_max", "rho", "lam")}
        per_ev["group"] = np.unique(self.group[idx], return_inverse=True)[1]  # groups renumbered 0..
        return SiteInstance(
            place=self.place, load_price=self.load_price, v2g_price=self.v2g_price,
            base_load=self.base_load, dt_h=self.dt_h, allow_discharge=self.allow_discharge,
            penalty=self.penalty, cycles=self.cycles, hard_wish=self.hard_wish,
            charging_fee=self.charging_fee, square_pieces=self.square_pieces, **per_ev)

    def replace(self, **changes) -> SiteInstance:
        """A copy with some fields changed (re-parameterization: prices, lambda, discharge)."""
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "modes"}
        fields.update(changes)
        return SiteInstance(**fields)

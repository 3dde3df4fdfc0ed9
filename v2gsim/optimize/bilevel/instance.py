"""Instance data of seed 000's bilevel problem (models.md §1.1–1.2, §1.5): driver clusters, one day.

:class:`BilevelInstance` holds one day's leader data (driver clusters - the persistency side's
:class:`~v2gsim.behavior.persistency.clusters.DriverCluster` - shares, fleet size, capability,
rebate levels, prices, requirement statistics, chance bound, optional state-of-charge guarantee E3);
:func:`top_rebates` gives the largest rebate vector.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.clusters import DriverCluster
from v2gsim.optimize.bilevel.bids import SOCBound
from v2gsim.optimize.chance.bounds import Bound, kappa

__all__ = ["BilevelInstance", "top_rebates"]


def top_rebates(levels: NDArray[np.float64], free: NDArray[np.bool_]) -> NDArray[np.float64]:
    """(T,) the top rebate level on every free hour, 0 on the others ($ per plugged EV-hour)."""
    return np.where(free, levels[-1], 0.0)


def _vec(x: ArrayLike, T: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(x, dtype=float)
    if v.ndim == 0:
        v = np.full(T, float(v))
    if v.shape != (T,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite scalar or ({T},) array, got shape {v.shape}")
    return v


@dataclass(frozen=True, eq=False)
class BilevelInstance:
    """Data of one day's bilevel problem (models.md §1.5).

    Attributes:
        clusters: the driver clusters.
        shares: (n_clusters,) population shares π_c (sum to 1).
        fleet_size: M, number of EVs.
        psi: per-EV regulation capability ψ (kW).
        levels: (H,) rebate levels ŝ_h ($ per plugged EV-hour), increasing, the first 0.
        price: (T,) expected regulation price p̄_t ($ per kW of bid per hour).
        r_bar: (T,) mean requirement r̄_t per kW of bid (kW/kW), > 0.
        sigma_dev: (T,) deviation of the requirement (kW/kW): σ^f_t for bound 3, σ^b_t for bound 4.
        eta: allowed violation probability η.
        bound: 3 or 4 (models.md §1.4).
        free_hours: (T,) hours whose rebate may be non-zero (others fixed at 0); default all.
        soc: optional state-of-charge guarantee (models.md E3); then ``psi`` is the headroom
            ψ − ω and the bids also satisfy :class:`~v2gsim.optimize.bilevel.bids.SOCBound`.
            Supported by the search methods, not by the MISOCP.
    """

    clusters: tuple[DriverCluster, ...]
    shares: NDArray[np.float64]
    fleet_size: float
    psi: float
    levels: NDArray[np.float64]
    price: NDArray[np.float64]
    r_bar: NDArray[np.float64]
    sigma_dev: NDArray[np.float64]
    eta: float = 0.05
    bound: Bound = 3
    free_hours: NDArray[np.bool_] | None = None
    soc: SOCBound | None = None

    def __post_init__(self) -> None:
        clusters = tuple(self.clusters)
        if not clusters:
            raise ValueError("need at least one driver cluster")
        object.__setattr__(self, "clusters", clusters)
        price = np.asarray(self.price, dtype=float).ravel()
        T = price.shape[0]
        if T < 1 or not np.all(np.isfinite(price)):
            raise ValueError("price must be a finite (T,) array")
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "r_bar", _vec(self.r_bar, T, "r_bar"))
        object.__setattr__(self, "sigma_dev", _vec(self.sigma_dev, T, "sigma_dev"))
        if np.any(self.r_bar <= 0) or np.any(self.sigma_dev < 0):
            raise ValueError("r_bar must be > 0 and sigma_dev >= 0 (kW/kW)")
        sh = np.asarray(self.shares, dtype=float).ravel()
        if sh.shape != (len(clusters),) or np.any(sh <= 0) or not np.isclose(sh.sum(), 1.0, atol=1e-9):
            raise ValueError(f"shares must be {len(clusters)} positive numbers summing to 1, got {sh}")
        object.__setattr__(self, "shares", sh)
        lv = np.asarray(self.levels, dtype=float).ravel()
        if lv.size < 1 or lv[0] != 0.0 or np.any(np.diff(lv) <= 0):
            raise ValueError(f"levels must be increasing and start at 0 ($), got {lv}")
        object.__setattr__(self, "levels", lv)
        if not (self.fleet_size > 0 and self.psi > 0):
            raise ValueError("fleet_size and psi must be > 0")
        if not 0 < self.eta < 1:
            raise ValueError(f"eta must lie in (0, 1), got {self.eta}")
        if self.bound not in (3, 4):
            raise ValueError(f"bound must be 3 or 4, got {self.bound}")
        fh = np.ones(T, dtype=bool) if self.free_hours is None else np.asarray(self.free_hours, bool)
        if fh.shape != (T,):
            raise ValueError(f"free_hours must have shape ({T},)")
        object.__setattr__(self, "free_hours", fh)
        for c in clusters:
            if np.any(c.plug_hour >= T):
                raise ValueError(f"cluster {c.name!r} has plug-in arcs beyond hour {T - 1}")

    @property
    def hours(self) -> int:
        """Number of hours T."""
        return int(self.price.shape[0])

    @property
    def n_clusters(self) -> int:
        """Number of driver clusters."""
        return len(self.clusters)

    @property
    def cluster_sizes(self) -> NDArray[np.float64]:
        """M_c = π_c M (EVs)."""
        return self.shares * float(self.fleet_size)

    @property
    def kappa(self) -> float:
        """Multiplier κ of the chance bound (models.md §1.4)."""
        return float(kappa(self.eta, self.bound))

    @property
    def free(self) -> NDArray[np.bool_]:
        """(T,) hours whose rebate may be non-zero."""
        assert self.free_hours is not None
        return self.free_hours

    def level_index(self, rebates: ArrayLike) -> NDArray[np.int64]:
        """(T,) index of the level nearest to each rebate ($), 0 on the hours that are not free.

        Raises:
            ValueError: if ``rebates`` does not have shape (T,).
        """
        s = np.asarray(rebates, dtype=float).ravel()
        if s.shape != (self.hours,):
            raise ValueError(f"rebates must have shape ({self.hours},)")
        idx = np.abs(s[:, None] - self.levels[None, :]).argmin(axis=1).astype(np.int64)
        idx[~self.free] = 0
        return idx

    def replace(self, **changes: Any) -> BilevelInstance:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)


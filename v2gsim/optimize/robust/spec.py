"""Plain inputs of the full robust framework (1)-(10), (P) of seed 004 (models.md §5.1).

Slots k = 0..K-1 of length ``delta`` h; a vehicle connected over slots a..d (inclusive) leaves with
the energy at index d + 1. Box uncertainty set (all RECONSTRUCTED, models.md §6 item 11):
``a in [a_lo, a_hi]``, ``d in [d_lo, d_hi]``, ``e0 in [e0_lo, e0_hi]`` per vehicle and
``w_k in [-1, 1]`` per slot (w > 0 downward request, w < 0 upward).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DayPrices", "FleetDay", "Realizations", "RobustPlan"]


def _arr(x, n: int, name: str) -> np.ndarray:
    a = np.broadcast_to(np.asarray(x, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


@dataclass(frozen=True)
class FleetDay:
    """One day's fleet and uncertainty box (arrays (N,); energies kWh, powers kW, slots int).

    Attributes:
        delta: slot length (h).
        n_slots: K.
        a_lo, a_hi, d_lo, d_hi: bounds of the first/last connected slot.
        e0_lo, e0_hi: bounds of the energy at arrival.
        e_min, e_max: battery limits (3); e_dep: departure requirement (6).
        p_max: charger limit (4a); eta_c, eta_d: efficiencies (2); alpha: self-discharge factor (1).
        p_plant: plant limit P-bar (5), kW.
    """

    delta: float
    n_slots: int
    a_lo: np.ndarray
    a_hi: np.ndarray
    d_lo: np.ndarray
    d_hi: np.ndarray
    e0_lo: np.ndarray
    e0_hi: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    e_dep: np.ndarray
    p_max: np.ndarray
    eta_c: np.ndarray
    eta_d: np.ndarray
    alpha: np.ndarray
    p_plant: float

    @classmethod
    def build(cls, *, delta: float, n_slots: int, a_lo, a_hi, d_lo, d_hi, e0_lo, e0_hi, e_min, e_max,
              e_dep, p_max, eta_c=1.0, eta_d=1.0, alpha=1.0, p_plant: float = float("inf")) -> FleetDay:
        """Broadcast and check the inputs (ValueError naming the field and what is allowed)."""
        n = int(np.size(a_lo))
        ints = {k: np.broadcast_to(np.asarray(v), (n,)).astype(int).copy()
                for k, v in dict(a_lo=a_lo, a_hi=a_hi, d_lo=d_lo, d_hi=d_hi).items()}
        fl = {k: _arr(v, n, k) for k, v in dict(e0_lo=e0_lo, e0_hi=e0_hi, e_min=e_min, e_max=e_max,
                                                e_dep=e_dep, p_max=p_max, eta_c=eta_c, eta_d=eta_d,
                                                alpha=alpha).items()}
        day = cls(float(delta), int(n_slots), p_plant=float(p_plant), **ints, **fl)
        day.validate()
        return day

    @property
    def n(self) -> int:
        """Number of vehicles N."""
        return int(self.a_lo.size)

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        k = self.n_slots
        checks = [
            (self.delta > 0 and k > 0, "delta > 0 h and n_slots > 0"),
            (np.all((0 <= self.a_lo) & (self.a_lo <= self.a_hi)), "0 <= a_lo <= a_hi"),
            (np.all(self.a_hi <= self.d_lo), "a_hi <= d_lo (a sure connection window)"),
            (np.all((self.d_lo <= self.d_hi) & (self.d_hi < k)), "d_lo <= d_hi < n_slots"),
            (np.all((0 <= self.e_min) & (self.e_min <= self.e_max)), "0 <= e_min <= e_max"),
            (np.all((self.e_min <= self.e0_lo) & (self.e0_lo <= self.e0_hi) & (self.e0_hi <= self.e_max)),
             "e_min <= e0_lo <= e0_hi <= e_max"),
            (np.all(self.e_dep <= self.e_max), "e_dep <= e_max"),
            (np.all(self.p_max >= 0), "p_max >= 0"),
            (np.all((self.eta_c > 0) & (self.eta_c <= 1) & (self.eta_d > 0) & (self.eta_d <= 1)),
             "0 < eta_c, eta_d <= 1"),
            (np.all((self.alpha > 0) & (self.alpha <= 1)), "0 < alpha <= 1"),
            (self.p_plant >= 0, "p_plant >= 0"),
        ]
        for ok, what in checks:
            if not ok:
                raise ValueError(f"robust fleet day: need {what}")


@dataclass(frozen=True)
class DayPrices:
    """Prices of one day, each (K,) (EUR/kWh), and the TSO acceptance probabilities.

    Attributes:
        c_plus, c_minus: DAM purchase / selling price (7).
        c_up, c_down: upward revenue / downward price (9).
        pi_up, pi_down: P(w_k = -1), P(w_k = +1) of the 3-point signal w_k in {-1, 0, +1}
            (so E[w^-] = pi_up, E[w^+] = pi_down; RECONSTRUCTED distribution).
        c_ch, c_dis: PC prices to the vehicle owner (10); None for FC.
    """

    c_plus: np.ndarray
    c_minus: np.ndarray
    c_up: np.ndarray
    c_down: np.ndarray
    pi_up: np.ndarray
    pi_down: np.ndarray
    c_ch: np.ndarray | None = None
    c_dis: np.ndarray | None = None

    @classmethod
    def build(cls, n_slots: int, *, c_plus, c_minus, c_up, c_down, pi_up, pi_down, c_ch=None,
              c_dis=None) -> DayPrices:
        """Broadcast each to (K,) and check (ValueError naming the field)."""
        f = {k: _arr(v, n_slots, k) for k, v in dict(c_plus=c_plus, c_minus=c_minus, c_up=c_up,
                                                     c_down=c_down, pi_up=pi_up, pi_down=pi_down).items()}
        ch = None if c_ch is None else _arr(c_ch, n_slots, "c_ch")
        dis = None if ch is None else (ch.copy() if c_dis is None else _arr(c_dis, n_slots, "c_dis"))
        if np.any(f["pi_up"] < 0) or np.any(f["pi_down"] < 0) or np.any(f["pi_up"] + f["pi_down"] > 1):
            raise ValueError("prices: need pi_up, pi_down >= 0 and pi_up + pi_down <= 1")
        if np.any(f["c_plus"] < f["c_minus"]):
            raise ValueError("prices: need c_plus >= c_minus (J_DAM (7) convex)")
        if ch is not None and dis is not None and np.any(dis < ch):
            raise ValueError("prices: need c_dis >= c_ch (J_EV (10) convex)")
        return cls(**f, c_ch=ch, c_dis=dis)


@dataclass(frozen=True)
class Realizations:
    """Sampled realizations of the uncertain data, arrays (S, N) and w (S, K)."""

    a: np.ndarray
    d: np.ndarray
    e0: np.ndarray
    w: np.ndarray

    @property
    def size(self) -> int:
        """Number of realizations S."""
        return int(self.a.shape[0])


@dataclass(frozen=True)
class RobustPlan:
    """Optimal plan (arrays (N, K), kW) and its expected cost (EUR).

    Attributes:
        p_dam: day-ahead power per vehicle (charge > 0).
        r_up, r_down: upward / downward reserve per vehicle.
        cost: expected cost J (P); j_dam, j_asm, j_ev: its parts (7), (9), (10).
        solve_seconds: HiGHS run time.
        gains: disturbance-feedback gains G (N, K, K) kW per unit of w, lower triangular
            (:mod:`v2gsim.optimize.robust.feedback_lp`); None for the open-loop plan.
        j_retrade: expected re-trade and unbalance cost (EUR), part of ``cost`` (0 open loop).
    """

    p_dam: np.ndarray
    r_up: np.ndarray
    r_down: np.ndarray
    cost: float
    j_dam: float
    j_asm: float
    j_ev: float
    solve_seconds: float
    gains: np.ndarray | None = None
    j_retrade: float = 0.0

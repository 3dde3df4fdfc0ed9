"""Closed-form leader bids of the bilevel problem: chance bound (3)/(4) and state-of-charge cap (E3).

For fixed hourly persistencies the leader's best bid is the closed form of the chance bound
(models.md §1.4, :func:`v2gsim.optimize.chance.bounds.max_bid`), written here in the mixture terms of E1,
``b = ψ Σ_c M_c y_ct`` (kW) and ``a = ψ² Σ_c M_c y_ct(1 − y_ct)`` (kW²):

    C*_t = (b² − κ²a) / (b r̄_t + κ √(σ_t²(b² − κ²a) + a r̄_t²)),   0 when b² < κ²a (no bid),

capped by the capability of the EVs expected to be plugged in, ``C_t <= b_t = ψ Σ_c M_c y_ct``
(the physical cap of :func:`v2gsim.optimize.chance.bounds.capability_cap`: the bound alone admits
more when r̄_t + κσ_t < 1), optionally by the state-of-charge guarantee (models.md E3,
:class:`SOCBound`), and set to 0 in hours without a positive expected price. The caps only lower
the leader's value, so the branch-and-bound's upper bounds built on C* alone
(:mod:`v2gsim.optimize.bilevel.bounds`) stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SOCBound", "cstar", "leader_bids", "mixture_terms"]


def cstar(
    b: ArrayLike, a: ArrayLike, r_bar: ArrayLike, sigma: ArrayLike, kappa: float
) -> NDArray[np.float64]:
    """Largest bid admitted by bound (3)/(4) given its mean and spread terms (kW).

    Same closed form as :func:`v2gsim.optimize.chance.bounds.max_bid`, written in ``b = ψ Σ_c M_c y_c`` (kW)
    and ``a = ψ² Σ_c M_c y_c(1 − y_c)`` (kW²): increasing in b and decreasing in a.

    Args:
        b: mean plugged-in capability (kW).
        a: squared spread of the plugged-in capability (kW²).
        r_bar: mean requirement per kW of bid (kW/kW), > 0.
        sigma: deviation of the requirement (kW/kW), >= 0.
        kappa: multiplier κ of the bound.

    Returns:
        C* (kW), broadcast.
    """
    b, a, rb, sg = np.broadcast_arrays(
        np.asarray(b, float), np.asarray(a, float), np.asarray(r_bar, float), np.asarray(sigma, float)
    )
    num = b * b - kappa * kappa * a
    with np.errstate(invalid="ignore", divide="ignore"):
        den = b * rb + kappa * np.sqrt(np.maximum(sg * sg * num + a * rb * rb, 0.0))
        c = np.where((num > 0.0) & (den > 0.0), num / den, 0.0)
    return c


@dataclass(frozen=True)
class SOCBound:
    """State-of-charge guarantee (models.md E3, RECONSTRUCTED SOCP form):
    ``γ̄_t C_t − ω M y_t + κ̂ sqrt(ω² M y_t(1 − y_t) + (σ_γ,t C_t)²) ≤ 0``.

    Attributes:
        omega: guaranteed average (baseline) charging rate per plugged EV ω (kW).
        gamma_bar: (T,) mean net discharge per kW of bid over the hour γ̄_t (kWh/kW).
        sigma_gamma: (T,) forward deviation of that net discharge (kWh/kW).
        kappa: multiplier κ̂ = sqrt(−2 ln η̂) (-).
    """

    omega: float
    gamma_bar: NDArray[np.float64]
    sigma_gamma: NDArray[np.float64]
    kappa: float

    def cap(self, b: NDArray, a: NDArray, psi: float, hours_axis: int = -1) -> NDArray[np.float64]:
        """Largest bid the guarantee admits, for the mean/spread terms ``b``, ``a`` of capability ψ.

        The guarantee has the form of bound (3) with ω in place of ψ, so with ``b_ω = b ω/ψ`` and
        ``a_ω = a (ω/ψ)²`` its largest bid is :func:`cstar`; it never binds (``inf``) when
        ``γ̄ + κ̂ σ_γ ≤ 0`` (the fleet charges on average faster than regulation can drain it).
        ``hours_axis`` is the axis of ``b`` that runs over the hours.
        """
        nd = max(np.ndim(b), 1)
        shape = [1] * nd
        shape[hours_axis] = -1
        gb = self.gamma_bar.reshape(shape)
        sg = self.sigma_gamma.reshape(shape)
        ratio = self.omega / psi
        free = gb + self.kappa * sg <= 0.0
        c = cstar(b * ratio, a * ratio * ratio, np.where(free, 1.0, gb), sg, self.kappa)
        num = (b * ratio) ** 2 - self.kappa**2 * a * ratio * ratio
        return np.where(free & (num > 0.0), np.inf, c)

    def slope(self) -> NDArray[np.float64]:
        """Upper bound of d cap / d n per EV (kW per EV), ``ω / γ̄`` (inf when γ̄ <= 0)."""
        with np.errstate(divide="ignore"):
            return np.where(self.gamma_bar > 0.0, self.omega / self.gamma_bar, np.inf)


def mixture_terms(
    Y: NDArray[np.float64], M: NDArray[np.float64], psi: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and spread terms of the cluster mixture (E1) for persistencies Y (..., T, n_clusters).

    Args:
        Y: hourly plug-in persistencies, clusters on the last axis.
        M: (n_clusters,) cluster sizes M_c (EVs).
        psi: per-EV regulation capability ψ (kW).

    Returns:
        ``(b, a)``: ``b = ψ Σ_c M_c y_c`` (kW) and ``a = ψ² Σ_c M_c y_c(1 − y_c)`` (kW²), (..., T).
    """
    return psi * (Y @ M), psi**2 * ((Y * (1.0 - Y)) @ M)


def leader_bids(
    c: NDArray[np.float64], b: NDArray[np.float64], a: NDArray[np.float64], psi: float,
    price: NDArray[np.float64], soc: SOCBound | None,
) -> NDArray[np.float64]:
    """Final bids from the chance-bound bids ``c`` (kW): capped by the plugged capability ``b`` and
    the E3 guarantee, 0 where p̄_t <= 0.

    Args:
        c: (..., T) largest bids of the chance bound (kW).
        b: (..., T) mean term of :func:`mixture_terms` (kW).
        a: (..., T) spread term of :func:`mixture_terms` (kW²).
        psi: per-EV regulation capability ψ (kW).
        price: (T,) expected regulation price p̄_t ($ per kW of bid per hour).
        soc: the state-of-charge guarantee, or None.

    Returns:
        (..., T) bids (kW), at most ``b``.
    """
    c = np.minimum(c, b)  # the physical cap: the plugged EVs' capability
    if soc is not None:  # E3: the bid must also satisfy the state-of-charge guarantee
        c = np.minimum(c, soc.cap(b, a, psi))
    return np.where(price > 0.0, c, 0.0)

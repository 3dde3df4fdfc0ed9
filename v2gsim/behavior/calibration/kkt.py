"""The parameterisation of the calibration and its linear KKT (ε = 0) conditions (models.md C1-C4).

For arcs with ``0 < ŷ_a < 1``, ``ε = 0`` holds iff ``μ_a − (ρ_tail − ρ_head) = σ_a g_a`` with
``g_a = (2ŷ_a − 1) / (2√(ŷ_a(1−ŷ_a)))``; an arc with ``ŷ_a ∈ {0, 1}`` not fixed by the network needs
``σ_a = 0``. With the affine parameterisation ``μ = Mμ θμ + mμ``, ``σ = Mσ θσ + mσ`` these are linear
equations in ``(θμ, θσ, ρ)``: :func:`identification` counts their solutions and :func:`polish`
projects a conic solution onto them (see :mod:`v2gsim.behavior.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency.arrays import NetworkArrays, network_arrays, reduced_utilities

__all__ = [
    "Identification",
    "Parameterisation",
    "identification",
    "identify",
    "kkt_system",
    "parameterisation",
    "polish_kkt",
    "tie_map",
]


def tie_map(groups: ArrayLike) -> NDArray[np.float64]:
    """0/1 parameter map tying arcs with equal labels.

    Args:
        groups: (n_arcs,) integer labels; arcs with the same label share one parameter. Labels
            are mapped to columns in sorted order.

    Returns:
        (n_arcs, n_groups) matrix ``M`` with ``M[a, k] = 1`` iff arc ``a`` has the ``k``-th label,
        so that ``param = M @ theta``.
    """
    g = np.asarray(groups).ravel()
    labels, inv = np.unique(g, return_inverse=True)
    M = np.zeros((g.size, labels.size))
    M[np.arange(g.size), inv] = 1.0
    return M


@dataclass(frozen=True)
class Identification:
    """Dimension count of the (μ, σ) consistent with ``ŷ`` at ε = 0 (linear KKT conditions).

    Attributes:
        n_unknowns: number of free parameters ``θ_μ, θ_σ`` plus node potentials (sink fixed).
        n_equations: KKT equations plus normalisation rows.
        null_dim: dimension of the solution set in the full unknown space.
        param_null_dim: dimension of its image in (μ, σ); 0 means (μ, σ) is identified.
        consistent: whether the equations have a solution at all (least-squares residual ≈ 0),
            ignoring ``σ ≥ 0``.
    """

    n_unknowns: int
    n_equations: int
    null_dim: int
    param_null_dim: int
    consistent: bool

    @property
    def identified(self) -> bool:
        """True when (μ, σ) is uniquely determined by ``ŷ`` and the normalisation."""
        return self.param_null_dim == 0


@dataclass(frozen=True)
class Parameterisation:
    """Affine parameterisation ``μ = Mμ θμ + mμ``, ``σ = Mσ θσ + mσ``."""

    Mmu: NDArray
    mmu: NDArray
    Msig: NDArray
    msig: NDArray


def parameterisation(
    n_arcs: int,
    mu_map: ArrayLike | None,
    mu_offset: ArrayLike | None,
    sigma: ArrayLike | None,
    sigma_map: ArrayLike | None,
) -> Parameterisation:
    Mmu = np.eye(n_arcs) if mu_map is None else np.asarray(mu_map, dtype=float)
    if Mmu.ndim != 2 or Mmu.shape[0] != n_arcs:
        raise ValueError(f"mu_map must have shape ({n_arcs}, k), got {Mmu.shape}")
    mmu = np.zeros(n_arcs) if mu_offset is None else np.asarray(mu_offset, float).ravel()
    if mmu.shape != (n_arcs,):
        raise ValueError(f"mu_offset must have shape ({n_arcs},)")
    if sigma is not None and sigma_map is not None:
        raise ValueError("give either a known sigma or a sigma_map, not both")
    if sigma is not None:
        msig = np.broadcast_to(np.asarray(sigma, float), (n_arcs,)).copy()
        if np.any(msig < 0):
            raise ValueError("sigma must be >= 0")
        Msig = np.zeros((n_arcs, 0))
    else:
        Msig = np.eye(n_arcs) if sigma_map is None else np.asarray(sigma_map, dtype=float)
        if Msig.ndim != 2 or Msig.shape[0] != n_arcs:
            raise ValueError(f"sigma_map must have shape ({n_arcs}, k), got {Msig.shape}")
        msig = np.zeros(n_arcs)
    return Parameterisation(Mmu, mmu, Msig, msig)


def kkt_system(
    net: NetworkArrays,
    y_hat: NDArray,
    par: Parameterisation,
    reference_arc: int | None,
    reference_value: float,
    interior_tol: float,
) -> tuple[NDArray, NDArray, int, int]:
    """Linear ε = 0 conditions ``A z = c`` in ``z = (θμ, θσ, ρ_keep)``.

    Rows: ``μ_a − σ_a g_a − (ρ_tail − ρ_head) = 0`` for free arcs with interior ``ŷ_a``;
    ``σ_a = 0`` for free arcs with ``ŷ_a ∈ {0, 1}``; the reference row.
    """
    kmu, ksig, nk = par.Mmu.shape[1], par.Msig.shape[1], len(net.keep)
    Bk = net.B[net.keep]
    free = net.free
    interior = free & (y_hat > interior_tol) & (y_hat < 1 - interior_tol)
    boundary = free & ~interior
    yi = y_hat[interior]
    g = (2 * yi - 1) / (2 * np.sqrt(yi * (1 - yi)))
    rows = [np.hstack([par.Mmu[interior], -g[:, None] * par.Msig[interior], -Bk[:, interior].T])]
    rhs = [-(par.mmu[interior] - g * par.msig[interior])]
    if boundary.any():
        rows.append(
            np.hstack(
                [
                    np.zeros((boundary.sum(), kmu)),
                    par.Msig[boundary],
                    np.zeros((boundary.sum(), nk)),
                ]
            )
        )
        rhs.append(-par.msig[boundary])
    if reference_arc is not None:
        rows.append(np.hstack([par.Mmu[reference_arc], np.zeros(ksig + nk)])[None, :])
        rhs.append(np.array([reference_value - par.mmu[reference_arc]]))
    return np.vstack(rows), np.concatenate(rhs), kmu, ksig


def identification(
    B: ArrayLike,
    f: ArrayLike,
    y_hat: ArrayLike,
    *,
    reference_arc: int | None = None,
    reference_value: float = 200.0,
    mu_map: ArrayLike | None = None,
    mu_offset: ArrayLike | None = None,
    sigma: ArrayLike | None = None,
    sigma_map: ArrayLike | None = None,
    interior_tol: float = 1e-9,
) -> Identification:
    """Count the (μ, σ) that reproduce ``ŷ`` exactly, for a parameterisation (see module doc).

    Uses the linear KKT conditions at ``ŷ`` (ignoring the inequalities ``σ ≥ 0`` and the signs on
    boundary arcs, which can only shrink the set), so ``param_null_dim == 0`` guarantees a unique
    calibration; arcs on every path (forced) give no equation, so their μ is identified only
    through ``mu_map``/``mu_offset``.

    Args:
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        y_hat: (n_arcs,) observed feasible flow.
        reference_arc: arc whose μ is fixed to ``reference_value`` (C4), or None.
        reference_value: the reference utility ($).
        mu_map, mu_offset, sigma, sigma_map: the parameterisation, as in :func:`calibrate`.
        interior_tol: ŷ within this of 0 or 1 counts as on the boundary.

    Returns:
        The :class:`Identification`.
    """
    net = network_arrays(B, f)
    yh = np.asarray(y_hat, float).ravel()
    par = parameterisation(net.n_arcs, mu_map, mu_offset, sigma, sigma_map)
    return identify(net, yh, par, reference_arc, reference_value, interior_tol)


def identify(
    net: NetworkArrays,
    yh: NDArray,
    par: Parameterisation,
    reference_arc: int | None,
    reference_value: float,
    interior_tol: float,
) -> Identification:
    A, c, kmu, ksig = kkt_system(net, yh, par, reference_arc, reference_value, interior_tol)
    n_unk = A.shape[1]
    scale = max(1.0, float(np.abs(A).max()))
    _, s, Vt = np.linalg.svd(A, full_matrices=True)
    tol = max(A.shape) * np.finfo(float).eps * scale * 1e3
    rank = int(np.sum(s > tol))
    null = Vt[rank:].T  # (n_unk, null_dim)
    # image of the null space in (mu, sigma)
    img = np.vstack([par.Mmu @ null[:kmu], par.Msig @ null[kmu : kmu + ksig]])
    if img.size:
        si = np.linalg.svd(img, compute_uv=False)
        pdim = int(np.sum(si > 1e-8 * max(1.0, float(si.max()) if si.size else 1.0)))
    else:
        pdim = 0
    z = np.linalg.lstsq(A, c, rcond=None)[0]
    resid = float(np.abs(A @ z - c).max()) if A.size else 0.0
    return Identification(
        n_unknowns=n_unk,
        n_equations=A.shape[0],
        null_dim=n_unk - rank,
        param_null_dim=pdim,
        consistent=resid <= 1e-8 * max(1.0, float(np.abs(c).max(initial=0.0))),
    )


def polish_kkt(
    net: NetworkArrays,
    yh: NDArray,
    par: Parameterisation,
    reference_arc: int | None,
    reference_value: float,
    theta_mu: NDArray,
    theta_sig: NDArray,
    rho: NDArray,
) -> tuple[NDArray, NDArray, NDArray] | None:
    """Nearest point of the linear KKT set ``A z = c`` to the SOCP solution, if admissible."""
    A, c, kmu, ksig = kkt_system(net, yh, par, reference_arc, reference_value, 1e-9)
    z0 = np.concatenate([theta_mu, theta_sig, rho[net.keep]])
    # z = z0 + A^+ (c − A z0): the minimum-norm correction
    dz = sla.lstsq(A, c - A @ z0, lapack_driver="gelsd")[0]
    z = z0 + dz
    if np.abs(A @ z - c).max() > 1e-8 * max(1.0, float(np.abs(c).max(initial=0.0))):
        return None  # inconsistent: ŷ is not reproducible exactly
    th_mu, th_sig = z[:kmu], z[kmu : kmu + ksig]
    sig = par.Msig @ th_sig + par.msig
    if np.any(sig < -1e-9 * max(1.0, float(np.abs(sig).max(initial=0.0)))):
        return None
    rho_new = np.zeros(net.n_nodes)
    rho_new[net.keep] = z[kmu + ksig :]
    # sign conditions on free arcs with ŷ on the boundary (σ = 0 there): λ ≥ 0 at 1, ≤ 0 at 0
    mu = par.Mmu @ th_mu + par.mmu
    lam = reduced_utilities(net, mu, rho_new)
    bnd1 = net.free & (yh >= 1 - 1e-9)
    bnd0 = net.free & (yh <= 1e-9)
    if np.any(lam[bnd1] < -1e-7) or np.any(lam[bnd0] > 1e-7):
        return None
    return th_mu, th_sig, rho_new

"""Compiled upper bound of one hour's value over a range of expected plugged EVs (issue #17).

:func:`~v2gsim.optimize.bilevel.bounds.hour_bound` bounds ``g(n) = p̄⁺ C*(ψn, a) − ℓ n`` over
``n_lo <= n <= n_hi`` for fixed spread a, where C* is the chance-bound bid (models.md §1.4, bound
(3); :func:`~v2gsim.optimize.bilevel.bids.cstar`): 0 below the no-bid threshold ``n0 = κ√a/ψ``
and concave above it (C*(b) is the largest C of a convex set in (C, b)). Without the
state-of-charge cap this kernel does it element by element with the derivative

    dC*/db = (2b·den − num·(r̄ + κσ²b/q)) / den²,   num = b² − κ²a,  q = √(σ²num + a r̄²),
    den = b r̄ + κq,

so the maximum over ``[n_lo, n_hi]`` is ``max(g(n_lo), max over [a', n_hi])`` with
``a' = clip(n0, n_lo, n_hi)``: ``g(n_hi)`` where ``g'(n_hi) >= 0``, ``g(a')`` where ``g'(a') <= 0``,
and otherwise bisection on the sign of g' with the tangents at the two bracket ends, whose
intersection is a rigorous upper bound of a concave function on the bracket (ours; it replaces
60 golden-section steps plus a Lipschitz term and stops when the tangent bound is within
:data:`TANGENT_TOL` of the best value found). A small relative margin covers rounding.

:func:`slab_spreads` is the compiled form of the slab minima of the spread
``a = ψ² Σ_c M_c y_c (1 − y_c)`` that :func:`~v2gsim.optimize.bilevel.bounds.sliced_hour_bound`
takes over a box of persistencies cut into slabs of ``n = Σ_c M_c y_c`` (the same vertices, the
same tolerance; it replaces a Python loop over clusters and box corners).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from v2gsim.core.jit import njit_cached

__all__ = ["TANGENT_TOL", "hour_value_bound", "slab_spreads"]

TANGENT_TOL = 1e-9
"""Bisection stops when the tangent bound exceeds the best evaluated value by at most this ($)."""
_ROUND = 1e-12
"""Relative rounding margin added to every returned bound."""


@njit_cached(inline="always")
def _value_slope(n, a, p, lv, rb, sg, psi, kappa):
    """g(n) and its right derivative g'(n) ($, $ per EV)."""
    b = psi * n
    num = b * b - kappa * kappa * a
    numc = max(num, 0.0)
    q = math.sqrt(max(sg * sg * numc + a * rb * rb, 0.0))
    den = b * rb + kappa * q
    if den <= 0.0:
        return -lv * n, p * psi / (rb + kappa * sg) - lv  # b = a = 0: C* = b / (r̄ + κσ) near 0
    c = num / den if num > 0.0 else 0.0
    dq = kappa * sg * sg * b / q if q > 0.0 else kappa * sg
    dc = (2.0 * b * den - numc * (rb + dq)) / (den * den)
    return p * c - lv * n, p * psi * dc - lv


@njit_cached(nogil=True)
def _kernel(lo, hi, am, p, lv, rb, sg, psi, kappa, out):
    """Bounds of every element i into out[i] (see the module docstring)."""
    for i in range(lo.size):
        nlo = lo[i]
        nhi = max(hi[i], nlo)
        a = am[i]
        best, _ = _value_slope(nlo, a, p[i], lv[i], rb[i], sg[i], psi, kappa)
        n0 = kappa * math.sqrt(max(a, 0.0)) / psi
        left = min(max(n0, nlo), nhi)
        gl, dl = _value_slope(left, a, p[i], lv[i], rb[i], sg[i], psi, kappa)
        gr, dr = _value_slope(nhi, a, p[i], lv[i], rb[i], sg[i], psi, kappa)
        top = max(gl, gr)
        if dl <= 0.0 or dr >= 0.0 or nhi <= left:
            bound = top
        else:
            L, R = left, nhi
            bound = top
            for _ in range(200):
                # tangents at L (slope dl >= 0) and R (slope dr <= 0) meet above the maximum
                x = (gr - gl + dl * L - dr * R) / (dl - dr)
                x = min(max(x, L), R)
                bound = gl + dl * (x - L)
                if bound - top <= TANGENT_TOL or R - L <= 1e-15 * max(1.0, R):
                    break
                m = 0.5 * (L + R)
                gm, dm = _value_slope(m, a, p[i], lv[i], rb[i], sg[i], psi, kappa)
                top = max(top, gm)
                if dm >= 0.0:
                    L, gl, dl = m, gm, dm
                else:
                    R, gr, dr = m, gm, dm
            bound = max(bound, top)
        v = max(best, bound)
        out[i] = v + _ROUND * max(1.0, abs(v))


def hour_value_bound(
    n_lo: NDArray[np.float64], n_hi: NDArray[np.float64], a_min: NDArray[np.float64],
    price: NDArray[np.float64], level: NDArray[np.float64], r_bar: NDArray[np.float64],
    sigma: NDArray[np.float64], psi: float, kappa: float,
) -> NDArray[np.float64]:
    """Upper bound of ``p̄⁺ C*(ψn, a_min) − ℓ n`` over ``n_lo <= n <= n_hi``, elementwise ($).

    All array arguments broadcast to one shape: ranges of expected plugged EVs ``n_lo``, ``n_hi``
    (EVs), smallest spread ``a_min`` (kW²), price ``p̄⁺ >= 0`` ($/kW), rebate level ℓ ($ per EV),
    mean requirement ``r̄ > 0`` and its deviation σ (kW/kW); ψ (kW) and κ scalars.
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                 for x in (n_lo, n_hi, a_min, price, level, r_bar, sigma)))
    shape = arrs[0].shape
    flat = [np.ascontiguousarray(x).ravel() for x in arrs]
    out = np.empty(flat[0].size)
    _kernel(*flat, float(psi), float(kappa), out)
    return out.reshape(shape)


@njit_cached(inline="always")
def _spread(y, M, psi2):
    """a = ψ² Σ_c M_c y_c (1 − y_c) of one persistency vector (kW²)."""
    a = 0.0
    for c in range(y.size):
        a += M[c] * y[c] * (1.0 - y[c])
    return psi2 * a


@njit_cached(inline="always")
def _min_at_plane(lo, hi, M, psi2, n, y):
    """min of a over the box [lo, hi] ∩ {Σ_c M_c y_c = n}, at its box edges (+inf if none)."""
    nc = lo.size
    best = np.inf
    for c in range(nc):
        for mask in range(1 << (nc - 1)):
            rest = 0.0
            bit = 0
            for k in range(nc):
                if k == c:
                    continue
                y[k] = hi[k] if (mask >> bit) & 1 else lo[k]
                rest += y[k] * M[k]
                bit += 1
            yc = (n - rest) / M[c]
            tol = 1e-12 * (1.0 + abs(yc))
            if yc >= lo[c] - tol and yc <= hi[c] + tol:
                y[c] = min(max(yc, lo[c]), hi[c])
                best = min(best, _spread(y, M, psi2))
    return best


@njit_cached(nogil=True)
def _slab_kernel(ylo, yhi, M, psi, cuts, amin):
    """Cuts (N, P + 1) and slab minima (N, P) of every row of the (N, n_c) boxes."""
    nrow, nc = ylo.shape
    pieces = amin.shape[1]
    psi2 = psi * psi
    y = np.empty(nc)
    at = np.empty(pieces + 1)
    for i in range(nrow):
        lo, hi = ylo[i], yhi[i]
        nlo = 0.0
        nhi = 0.0
        for c in range(nc):
            nlo += lo[c] * M[c]
            nhi += hi[c] * M[c]
        for k in range(pieces + 1):
            cuts[i, k] = nhi if k == pieces else nlo + (nhi - nlo) * (k / pieces)
            at[k] = _min_at_plane(lo, hi, M, psi2, cuts[i, k], y)
        for k in range(pieces):
            amin[i, k] = min(at[k], at[k + 1])
        for mask in range(1 << nc):  # box vertices inside a slab
            nv = 0.0
            for c in range(nc):
                y[c] = hi[c] if (mask >> c) & 1 else lo[c]
                nv += y[c] * M[c]
            av = _spread(y, M, psi2)
            for k in range(pieces):
                if nv >= cuts[i, k] and nv <= cuts[i, k + 1]:
                    amin[i, k] = min(amin[i, k], av)
        for k in range(pieces):
            if not np.isfinite(amin[i, k]):
                amin[i, k] = 0.0  # no vertex found (round-off): the weakest a


def slab_spreads(
    ylo: NDArray[np.float64], yhi: NDArray[np.float64], M: NDArray[np.float64], psi: float, pieces: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Slab cuts of the expected plugged EVs and the smallest spread on every slab.

    Args:
        ylo, yhi: (..., n_clusters) persistency boxes.
        M: (n_clusters,) cluster sizes (EVs).
        psi: charger power ψ (kW).
        pieces: number of slabs P between ``n̲ = Σ M y̲`` and ``n̄ = Σ M ȳ``.

    Returns:
        ``(cuts (..., P + 1) in EVs, a_min (..., P) in kW²)``: slab k is ``cuts_k <= n <= cuts_k+1``
        and ``a_min_k`` the minimum of a over box ∩ slab (0 where round-off left no vertex).
    """
    shape = ylo.shape[:-1]
    nc = ylo.shape[-1]
    lo = np.ascontiguousarray(ylo, dtype=np.float64).reshape(-1, nc)
    hi = np.ascontiguousarray(yhi, dtype=np.float64).reshape(-1, nc)
    cuts = np.empty((lo.shape[0], pieces + 1))
    amin = np.empty((lo.shape[0], pieces))
    _slab_kernel(lo, hi, np.ascontiguousarray(M, dtype=np.float64), float(psi), cuts, amin)
    return cuts.reshape(*shape, pieces + 1), amin.reshape(*shape, pieces)

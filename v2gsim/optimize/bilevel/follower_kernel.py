"""Compiled damped Newton on the dual (D4) of the persistency follower, one batch row at a time.

The hot path of the bilevel branch-and-bound (issue #17): every node bound solves the follower
(D5) for hundreds to thousands of rebate vectors per cluster. :class:`~v2gsim.optimize.bilevel.
follower.BatchFollower` vectorises :func:`~v2gsim.behavior.persistency.newton.damped_newton` over
the batch with numpy; on the default networks (56 reduced nodes, 170 arcs, Laplacian bandwidth 5
after reverse Cuthill-McKee) the per-call overhead of the many small numpy operations dominates.
This numba kernel runs the same method row by row (models.md §1.2 D4, D3):

    min_ρ  F(ρ) = Σ_a ½(λ_a + √(λ_a² + σ_a²)) + fᵀρ,   λ = u − Bᵀρ,   ρ_sink = 0,

gradient ``f − B y`` (``y_a = (h_a + λ_a)/(2 h_a)``, ``h_a = √(λ_a² + σ_a²)``), Hessian the banded
Laplacian ``B diag(σ²/(2h³)) Bᵀ`` factorised by banded Cholesky, and the same per-row Armijo
backtracking, flat-objective rule, give-up rule and constants (:data:`~v2gsim.behavior.persistency.
newton.ARMIJO_C`, ``FLAT_RTOL``, ``MIN_STEP``, ``GIVE_UP_FACTOR``). Results agree with the numpy
path to rounding (the sums are taken in a different order). Only networks without forced (cut)
arcs and with σ > 0 on every arc use it; a row whose Hessian is not numerically positive definite
is reported back and re-solved by the numpy path (least-squares directions).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from v2gsim.behavior.persistency.newton import ARMIJO_C, FLAT_RTOL, GIVE_UP_FACTOR, MIN_STEP
from v2gsim.core.jit import njit_cached

__all__ = ["NEEDS_FALLBACK", "newton_rows"]

CONVERGED, FAILED, NEEDS_FALLBACK = 0, 1, 2
"""Row status codes of :func:`newton_rows`."""


@njit_cached(nogil=True)
def _evaluate(r, u, sigma, tp, hp, fk, g, h):
    """Objective F at potentials r; fills the gradient g (nk,) and h (m,) in place."""
    F = 0.0
    for i in range(r.size):
        g[i] = fk[i]
        F += fk[i] * r[i]
    for a in range(u.size):
        rt = r[tp[a]] if tp[a] >= 0 else 0.0
        rh = r[hp[a]] if hp[a] >= 0 else 0.0
        lam = u[a] - (rt - rh)
        s = sigma[a]
        ha = math.hypot(lam, s)
        if lam >= 0.0:
            hpl = ha + lam
        else:
            dd = ha - lam
            hpl = s * s / dd if dd > 0.0 else 0.0
        F += 0.5 * hpl
        y = hpl / (2.0 * ha) if ha > 0.0 else 0.0
        if tp[a] >= 0:
            g[tp[a]] -= y
        if hp[a] >= 0:
            g[hp[a]] += y
        h[a] = ha
    return F


@njit_cached(nogil=True)
def _persistencies(r, u, sigma, tp, hp, y):
    """Arc persistencies y (D3) at potentials r, clipped to [0, 1], into y (m,). The per-arc
    arithmetic repeats :func:`_evaluate`'s: a shared helper returning (h, h + λ) made the kernel
    about 35 % slower (measured), so it is written out in both."""
    for a in range(u.size):
        rt = r[tp[a]] if tp[a] >= 0 else 0.0
        rh = r[hp[a]] if hp[a] >= 0 else 0.0
        lam = u[a] - (rt - rh)
        s = sigma[a]
        ha = math.hypot(lam, s)
        if lam >= 0.0:
            hpl = ha + lam
        else:
            dd = ha - lam
            hpl = s * s / dd if dd > 0.0 else 0.0
        y[a] = min(max(hpl / (2.0 * ha) if ha > 0.0 else 0.0, 0.0), 1.0)


@njit_cached(nogil=True)
def _direction(h, g, sigma, tp, hp, w, A, z):
    """Newton direction ``−H⁻¹ g`` into z by banded Cholesky of H (band storage A, (n + w, w + 1),
    ``A[j, i] = H[j + i, j]``); False if a pivot is not positive."""
    n = g.size
    A[:, :] = 0.0
    for a in range(h.size):
        d = 0.5 * sigma[a] * sigma[a] / (h[a] * h[a] * h[a])
        p, q = tp[a], hp[a]
        if p >= 0:
            A[p, 0] += d
        if q >= 0:
            A[q, 0] += d
        if p >= 0 and q >= 0:
            lo, hi = min(p, q), max(p, q)
            A[lo, hi - lo] -= d
    for j in range(n):
        piv = A[j, 0]
        if not piv > 0.0:
            return False
        dj = math.sqrt(piv)
        A[j, 0] = dj
        for i in range(1, w + 1):
            A[j, i] /= dj
        for i in range(1, w + 1):
            ci = A[j, i]
            if ci != 0.0:
                for ll in range(i, w + 1):
                    A[j + i, ll - i] -= ci * A[j, ll]
    for j in range(n):
        z[j] = -g[j]
    for j in range(n):
        z[j] /= A[j, 0]
        for i in range(1, min(w, n - 1 - j) + 1):
            z[j + i] -= A[j, i] * z[j]
    for j in range(n - 1, -1, -1):
        acc = z[j]
        for i in range(1, min(w, n - 1 - j) + 1):
            acc -= A[j, i] * z[j + i]
        z[j] = acc / A[j, 0]
    return True


@njit_cached(nogil=True)
def _newton_kernel(R, U, sigma, tp, hp, fk, w, tol, max_iter, status, iters, Y):
    """Damped Newton for every row of R (in place): status, iterations and the arc
    persistencies (D3, clipped to [0, 1]) per row."""
    n = R.shape[1]
    m = U.shape[1]
    g = np.empty(n)
    gn = np.empty(n)
    h = np.empty(m)
    hn = np.empty(m)
    step = np.empty(n)
    xn = np.empty(n)
    A = np.zeros((n + w, w + 1))
    for k in range(R.shape[0]):
        x = R[k]
        u = U[k]
        F = _evaluate(x, u, sigma, tp, hp, fk, g, h)
        gnorm = 0.0
        for i in range(n):
            gnorm = max(gnorm, abs(g[i]))
        status[k] = CONVERGED
        it = 0
        if gnorm <= tol:
            iters[k] = 0
            _persistencies(x, u, sigma, tp, hp, Y[k])
            continue
        status[k] = FAILED
        while it < max_iter:
            it += 1
            if not _direction(h, g, sigma, tp, hp, w, A, step):
                status[k] = NEEDS_FALLBACK
                break
            slope = 0.0
            for i in range(n):
                slope += g[i] * step[i]
            if not slope < 0.0:  # numerical breakdown: steepest descent
                slope = 0.0
                for i in range(n):
                    step[i] = -g[i]
                    slope -= g[i] * g[i]
            t = 1.0
            gave_up = False
            while True:
                for i in range(n):
                    xn[i] = x[i] + t * step[i]
                Fn = _evaluate(xn, u, sigma, tp, hp, fk, gn, hn)
                gnn = 0.0
                for i in range(n):
                    gnn = max(gnn, abs(gn[i]))
                if abs(Fn - F) <= FLAT_RTOL * max(1.0, abs(F)):
                    acc = gnn < gnorm
                else:
                    acc = Fn <= F + ARMIJO_C * t * slope
                if acc:
                    break
                t *= 0.5
                if t < MIN_STEP:
                    gave_up = True
                    break
            if gave_up:
                status[k] = CONVERGED if gnorm <= GIVE_UP_FACTOR * tol else FAILED
                break
            for i in range(n):
                x[i] = xn[i]
                g[i] = gn[i]
            for a in range(m):
                h[a] = hn[a]
            F = Fn
            gnorm = gnn
            if gnorm <= tol:
                status[k] = CONVERGED
                break
        iters[k] = it
        _persistencies(x, u, sigma, tp, hp, Y[k])


def newton_rows(
    r0: NDArray[np.float64], util: NDArray[np.float64], sigma: NDArray[np.float64],
    tail: NDArray[np.intp], head: NDArray[np.intp], fk: NDArray[np.float64], width: int,
    *, tol: float, max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Damped Newton on (D4) for a batch, in the band (permuted) order of the reduced nodes.

    Args:
        r0: (K, n) starting potentials of the reduced nodes ($), band order.
        util: (K, m) arc utilities ``μ + P s`` ($).
        sigma: (m,) standard deviations ($, > 0).
        tail, head: (m,) band position of each arc's tail and head, −1 for the sink.
        fk: (n,) supplies of the reduced nodes, band order.
        width: Laplacian bandwidth w (``|tail − head| <= w``).
        tol: gradient tolerance (∞-norm).
        max_iter: iteration limit per row.

    Returns:
        ``(r, y, status, iterations)``: (K, n) final potentials, (K, m) arc persistencies (D3),
        per-row status (0 converged, 1 failed, :data:`NEEDS_FALLBACK` Hessian not positive
        definite) and iterations.
    """
    R = np.array(r0, dtype=np.float64, order="C")
    U = np.ascontiguousarray(util, dtype=np.float64)
    K = R.shape[0]
    status = np.empty(K, dtype=np.int64)
    iters = np.zeros(K, dtype=np.int64)
    Y = np.empty_like(U)
    args = (np.ascontiguousarray(sigma, dtype=np.float64), np.ascontiguousarray(tail, dtype=np.int64),
            np.ascontiguousarray(head, dtype=np.int64), np.ascontiguousarray(fk, dtype=np.float64),
            int(width), float(tol), int(max_iter), status, iters, Y)
    _newton_kernel(R, U, *args)
    return R, Y, status, iters

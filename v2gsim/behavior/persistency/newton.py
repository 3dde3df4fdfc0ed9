"""Damped Newton method on the dual (D4) of the persistency model (models.md §1.2).

(D4) is smooth, convex and unconstrained in the node potentials when ``σ_a > 0`` on every free arc:

    min_ρ  F(ρ) = Σ_a φ_a(λ_a) + fᵀρ,   λ = μ + s − Bᵀρ,   ρ_sink = 0,

with ``φ_a = ½(λ_a + h_a)`` (``h_a = √(λ_a²+σ_a²)``) on free arcs and ``φ_a = λ_a`` on forced arcs;
``∇F = f − B y`` (the flow-conservation residual, y from D3) and ``∇²F = B diag(σ²/(2h³)) Bᵀ`` (a
weighted graph Laplacian). It converges in 5-20 iterations to machine precision.

:func:`damped_newton` is the one Newton driver of v2gsim: it minimises a batch of K such problems at
once (per-row Armijo backtracking) and is parameterised by the problem's pieces, the objective, the
curvature data ``h`` and the gradient at given potentials, and a Newton-direction solver. One network
and one utility vector (K = 1, dense Cholesky) is :func:`newton_dual`, used by
:class:`~v2gsim.behavior.persistency.socp.PersistencyModel`; the bilevel follower
(:class:`v2gsim.optimize.bilevel.follower.BatchFollower`) solves K rebate vectors with a banded
Cholesky direction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

from v2gsim.behavior.persistency.arrays import NetworkArrays, normalize_forced, reduced_utilities
from v2gsim.behavior.persistency.closed_form import stable_h_plus_lam
from v2gsim.core.graph import longest_path_to_sink

__all__ = [
    "ARMIJO_C",
    "FLAT_RTOL",
    "GIVE_UP_FACTOR",
    "MIN_STEP",
    "DualNewtonProblem",
    "NewtonOutcome",
    "damped_newton",
    "newton_dual",
]

ARMIJO_C = 1e-4
"""Sufficient-decrease constant of the Armijo rule ``F(x + t d) <= F(x) + c t ∇Fᵀd``."""
FLAT_RTOL = 1e-13
"""``|ΔF| <= FLAT_RTOL · max(1, |F|)`` counts as flat: the step is then judged by the gradient."""
MIN_STEP = 1e-10
"""Backtracking gives up once the step length falls below this."""
GIVE_UP_FACTOR = 1e3
"""A row that gives up counts as converged when its gradient norm is within this factor of ``tol``."""

Parts = Callable[[NDArray[np.float64], NDArray[np.intp]], tuple[NDArray, NDArray, NDArray]]
"""``parts(x, rows) -> (F, h, g)``: objective (k,), curvature data (k, ...) and gradient (k, n) at
the (k, n) points ``x`` of the batch rows ``rows``."""
Direction = Callable[[NDArray, NDArray[np.float64], NDArray[np.intp]], NDArray[np.float64]]
"""``direction(h, g, rows) -> step``: Newton directions ``−H⁻¹ g`` (k, n) from the curvature data and
gradients of the batch rows ``rows``."""


class NewtonOutcome(NamedTuple):
    """Result of :func:`damped_newton`.

    Attributes:
        x: (K, n) final points.
        iterations: Newton iterations of the batch (the slowest row).
        converged: (K,) rows whose gradient met the tolerance (or came within
            :data:`GIVE_UP_FACTOR` of it when the line search gave up).
    """

    x: NDArray[np.float64]
    iterations: int
    converged: NDArray[np.bool_]


def _descent(direction: Direction, h: NDArray, g: NDArray, rows: NDArray[np.intp]) -> tuple[NDArray, NDArray]:
    """Newton directions and slopes ``gᵀd``; rows without descent fall back to steepest descent."""
    step = direction(h, g, rows)
    slope = np.einsum("ij,ij->i", g, step)
    bad_dir = ~(slope < 0)
    if bad_dir.any():  # numerical breakdown: steepest descent
        step[bad_dir] = -g[bad_dir]
        slope[bad_dir] = -np.einsum("ij,ij->i", g[bad_dir], g[bad_dir])
    return step, slope


def _backtrack(
    parts: Parts, x: NDArray, F: NDArray, gnorm: NDArray, step: NDArray, slope: NDArray,
    act: NDArray[np.intp], h_act: NDArray, g_act: NDArray,
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray[np.bool_]]:
    """Per-row backtracking line search from ``x[act]`` along ``step``.

    A step is accepted by the Armijo rule, or, where ``F`` is flat at rounding level near the
    optimum, when it lowers the gradient norm. Halving stops below :data:`MIN_STEP` (give up).

    Returns:
        ``(t, F_new, h_new, g_new, gave_up)`` per active row; ``t = 0`` where the row gave up.
    """
    t = np.ones(len(act))
    pending = np.ones(len(act), dtype=bool)
    gave_up = np.zeros(len(act), dtype=bool)
    F_new, h_new, g_new = F[act].copy(), h_act.copy(), g_act.copy()
    while pending.any():
        p = np.flatnonzero(pending)
        Fp, hp, gp = parts(x[act[p]] + t[p, None] * step[p], act[p])
        Fold = F[act[p]]
        flat = np.abs(Fp - Fold) <= FLAT_RTOL * np.maximum(1.0, np.abs(Fold))
        gn = np.abs(gp).max(axis=1)
        acc = np.where(flat, gn < gnorm[act[p]], Fp <= Fold + ARMIJO_C * t[p] * slope[p])
        ap = p[acc]
        F_new[ap], h_new[ap], g_new[ap] = Fp[acc], hp[acc], gp[acc]
        pending[ap] = False
        t[p[~acc]] *= 0.5
        give_up = pending & (t < MIN_STEP)
        if give_up.any():
            gave_up |= give_up
            pending[give_up] = False
            t[give_up] = 0.0
    return t, F_new, h_new, g_new, gave_up


def damped_newton(
    x0: NDArray[np.float64], parts: Parts, direction: Direction, *, tol: float, max_iter: int
) -> NewtonOutcome:
    """Damped Newton method for a batch of K smooth convex problems, with per-row Armijo backtracking.

    Every iteration computes Newton directions for the rows not yet done (steepest descent where
    the direction is not a descent direction), backtracks each row separately (:func:`_backtrack`)
    and moves the rows that found a step. A row is done when ``‖∇F‖∞ <= tol``; a row whose line
    search gives up is done if ``‖∇F‖∞ <= GIVE_UP_FACTOR · tol`` and failed otherwise.

    Args:
        x0: (K, n) starting points (not modified).
        parts: objective, curvature data and gradient at given points, see :data:`Parts`.
        direction: Newton-direction solver, see :data:`Direction`.
        tol: gradient tolerance (∞-norm).
        max_iter: iteration limit.

    Returns:
        The :class:`NewtonOutcome`.
    """
    x = np.array(x0, dtype=float)
    K = x.shape[0]
    F, h, g = parts(x, np.arange(K))
    gnorm = np.abs(g).max(axis=1) if g.shape[1] else np.zeros(K)
    done = gnorm <= tol
    failed = np.zeros(K, dtype=bool)
    it = 0
    while it < max_iter and not (done | failed).all():
        it += 1
        act = np.flatnonzero(~(done | failed))
        step, slope = _descent(direction, h[act], g[act], act)
        t, F_new, h_new, g_new, gave_up = _backtrack(parts, x, F, gnorm, step, slope, act, h[act], g[act])
        if gave_up.any():
            rows = act[gave_up]
            done[rows] = gnorm[rows] <= GIVE_UP_FACTOR * tol
            failed[rows] = ~done[rows]
        moved = t > 0
        rows = act[moved]
        x[rows] = x[rows] + t[moved, None] * step[moved]
        F[rows], h[rows], g[rows] = F_new[moved], h_new[moved], g_new[moved]
        gnorm[rows] = np.abs(g[rows]).max(axis=1)
        done[rows] |= gnorm[rows] <= tol
    return NewtonOutcome(x, it, done)


class DualNewtonProblem:
    """The pieces of (D4) on one network for :func:`damped_newton` (dense Cholesky directions).

    Minimises ``F(ρ) = Σ_a φ_a(λ_a) + fᵀρ`` over the potentials of the non-sink nodes (``ρ_sink =
    0``), for one utility vector per batch row. Forced arcs make the Hessian singular along the
    indicator of the node set upstream of each of them, a direction in which ``F`` is constant;
    ``D Dᵀ`` with those indicators is added to the Hessian. Index arithmetic instead of dense
    ``B`` products: tiny BLAS calls are slow when OpenBLAS threads compete for cores, and the
    Laplacian is assembled in O(n_arcs).

    Args:
        net: the network (``σ_a > 0`` on every free arc).
        util: (K, n_arcs) arc utilities ``μ + s`` ($), one row per problem.
        sigma: (n_arcs,) standard deviations ($).
    """

    def __init__(self, net: NetworkArrays, util: NDArray, sigma: NDArray) -> None:
        self.net = net
        self.util = util
        self.sigma = sigma
        n = net.n_nodes
        keep = net.keep
        self._fk = net.f[keep]
        D = net.upstream[:, keep].T.astype(float)
        self._DDt = D @ D.T if D.shape[1] else np.zeros((len(keep), len(keep)))
        lap_rows = np.concatenate([net.tail, net.head, net.tail, net.head])
        lap_cols = np.concatenate([net.tail, net.head, net.head, net.tail])
        self._lap_flat = lap_rows * n + lap_cols
        self._full = np.zeros(n)

    def _one(self, r: NDArray, util: NDArray) -> tuple[float, NDArray, NDArray]:
        """Objective, h, and gradient f − B y at reduced potentials r."""
        net, sigma, full = self.net, self.sigma, self._full
        n, tail, head, free, forced = net.n_nodes, net.tail, net.head, net.free, net.forced
        full[net.keep] = r
        lam = reduced_utilities(net, util, full)
        h, hpl = stable_h_plus_lam(lam, sigma)
        F = float(np.sum(np.where(forced, lam, 0.5 * hpl)) + self._fk @ r)
        y = np.where(forced, 1.0, np.where(free, hpl / (2.0 * np.where(free, h, 1.0)), 0.0))
        By = np.bincount(tail, y, minlength=n) - np.bincount(head, y, minlength=n)
        return F, h, self._fk - By[net.keep]

    def parts(self, r: NDArray, rows: NDArray[np.intp]) -> tuple[NDArray, NDArray, NDArray]:
        """Objective (k,), h (k, n_arcs) and gradient (k, n_nodes − 1) at reduced potentials r."""
        out = [self._one(ri, self.util[k]) for ri, k in zip(r, rows, strict=True)]
        return np.array([o[0] for o in out]), np.stack([o[1] for o in out]), np.stack([o[2] for o in out])

    def direction(self, h: NDArray, g: NDArray, rows: NDArray[np.intp]) -> NDArray:
        """Newton directions ``−H⁻¹ g`` (Cholesky; least squares if it fails), one row at a time."""
        net, n, keep = self.net, self.net.n_nodes, self.net.keep
        steps = []
        for hk, gk in zip(h, g, strict=True):
            d = np.where(net.free, 0.5 * self.sigma**2 / np.where(net.free, hk, 1.0) ** 3, 0.0)
            vals = np.concatenate([d, d, -d, -d])
            L = np.bincount(self._lap_flat, vals, minlength=n * n).reshape(n, n)
            H = L[np.ix_(keep, keep)] + self._DDt
            try:
                step = -sla.cho_solve(sla.cho_factor(H, check_finite=False), gk, check_finite=False)
            except np.linalg.LinAlgError:
                step = -np.linalg.lstsq(H, gk, rcond=None)[0]
            steps.append(step)
        return np.stack(steps)


def newton_dual(
    net: NetworkArrays,
    util: NDArray,
    sigma: NDArray,
    rho0: NDArray | None = None,
    tol: float = 1e-11,
    max_iter: int = 200,
) -> tuple[NDArray, int, bool]:
    """Damped Newton method for (D4) on one network, ``σ_a > 0`` on every free arc.

    :func:`damped_newton` with K = 1 on :class:`DualNewtonProblem`, from the longest-path
    potentials (or ``rho0``); iteration stops when ``‖f − B y‖_∞ <= tol``. The potentials are
    normalised so that forced arcs have λ = 0.

    Args:
        net: the network.
        util: (n_arcs,) arc utilities ``μ + s`` ($).
        sigma: (n_arcs,) standard deviations ($).
        rho0: optional (n_nodes,) starting potentials ($).
        tol: gradient tolerance.
        max_iter: iteration limit.

    Returns:
        ``(rho, iterations, converged)`` with ``rho`` of length n_nodes and ``rho[sink] = 0``.
    """
    if rho0 is None:
        rho = longest_path_to_sink(net.tail, net.head, util, net.order, net.sink)
    else:
        rho = np.asarray(rho0, float).copy()
    rho = rho - rho[net.sink]
    problem = DualNewtonProblem(net, util[None, :], sigma)
    out = damped_newton(rho[net.keep][None, :], problem.parts, problem.direction, tol=tol,
                        max_iter=max_iter)
    rho = np.zeros(net.n_nodes)
    rho[net.keep] = out.x[0]
    return normalize_forced(net, rho, util), out.iterations, bool(out.converged[0])

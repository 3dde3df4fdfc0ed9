"""Inverse-optimisation calibration of (μ, σ) from observed persistencies (models.md §1.3, C1-C4).

Given observed arc frequencies ``ŷ`` (e.g. from travel diaries), find arc utility moments under
which ``ŷ`` is (as nearly as possible) the persistency-model optimum (D2):

    (C1)  min_{μ, σ, ε, ρ, λ}  ε
    (C2)  s.t.  Σ_a (μ_a ŷ_a + σ_a √(ŷ_a(1−ŷ_a))) + ε  ≥  ½ Σ_a (λ_a + √(λ_a²+σ_a²)) + Σ_n f_n ρ_n
    (C3)        λ_a = μ_a − Σ_n b_na ρ_n
    (C4)        σ ≥ 0 and a normalisation (RECONSTRUCTED, see below).

The left of (C2) is the primal objective at ``ŷ`` and the right the dual (D4) at ``ρ``; by weak
duality ``ε ≥ 0`` is the duality gap of ``ŷ``, zero exactly when ``ŷ`` is optimal for (μ, σ). The
problem is an SOCP (``t_a ≥ ‖(λ_a, σ_a)‖``). ``ŷ`` must be a feasible flow (``B ŷ = f``,
``0 ≤ ŷ ≤ 1``); otherwise (C1)-(C3) is unbounded below.

**What ``ŷ`` identifies.** For arcs with ``0 < ŷ_a < 1``, ``ε = 0`` holds iff the KKT conditions
of (D2) hold:  ``μ_a − (ρ_tail − ρ_head) = σ_a g_a`` with ``g_a = (2ŷ_a − 1) / (2√(ŷ_a(1−ŷ_a)))``
(an arc with ``ŷ_a ∈ {0, 1}`` not fixed by the network needs ``σ_a = 0`` and ``λ_a`` of the
matching sign). These are ``n_arcs`` linear equations in ``(μ, σ, ρ)``, so the ε = 0 set is a
polyhedron, and it is never a single point without restrictions:

* *gauge*: ``μ → μ + Bᵀφ`` for any node potentials ``φ`` adds the same constant ``φ_s − φ_t`` to
  every path and changes no choice (``n_nodes − 1`` dimensions);
* *scale*: ``(μ, σ) → c (μ, σ)``, ``c > 0``, changes no choice;
* with ``σ`` free per arc, ``σ`` itself: any ``σ ≥ 0`` works with ``μ = σ∘g + Bᵀρ``, e.g. ``σ = 0``
  with ``μ = Bᵀρ`` (all paths equally good) reproduces *every* feasible ``ŷ``.

The data have ``n_arcs − n_nodes + 1`` degrees of freedom (the dimension of the flow polytope), so
at most that many parameters, plus one for the scale, can be recovered. The normalisation (C4) and
the parameterisation are therefore arguments:

* ``mu_map`` / ``mu_offset``: ``μ = mu_map θ_μ + mu_offset`` (default: every arc free), e.g. tie
  arcs of the same activity and hour, or fix utilities known a priori (travel costs);
* ``sigma`` (a known vector) *or* ``sigma_map``: ``σ = sigma_map θ_σ ≥ 0`` (default: every arc
  free), e.g. one σ per activity type (:func:`tie_map`);
* ``reference_arc`` / ``reference_value``: ``μ_ref = reference_value`` (the seed's baseline
  utility μ̄ = $200). It fixes the scale when σ is estimated, or one gauge direction when σ is
  known.

:func:`identification` reports the dimension of the set of (μ, σ) consistent with ``ŷ`` at ε = 0
for a parameterisation (0 means the calibration recovers (μ, σ) uniquely). When it is not 0, the
calibration still returns an ε-optimal (μ, σ), selected by minimum distance to a prior
(``selection="min_norm"``, default prior 0) so that the answer does not depend on the solver. Two
identified designs (both tested): ``σ`` known and ``μ`` fixed on a spanning tree of arcs (removes
the gauge), everything else free; ``σ`` tied to ``k_σ`` groups and ``μ = mu_offset + mu_map θ``
with ``d + 1 − k_σ`` generic columns (``d = n_arcs − n_nodes + 1``), plus one reference arc. Check a
design of your own with :func:`identification` before trusting the calibrated values.

After the SOCP, if ``ε`` is below ``polish_tol``, the solution is projected onto the linear KKT set
above (nearest point; σ ≥ 0 and the boundary signs are checked, else the SOCP point is kept). This
removes the interior-point solver's error (~1e-4 relative on μ without it, machine precision with
it); ``CalibrationResult.polished`` says whether it was applied.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency import (
    CLARABEL_DEFAULTS,
    NetworkArrays,
    PersistencySolveError,
    dual_objective,
    network_arrays,
    persistency_objective,
)

__all__ = [
    "CalibrationResult",
    "Identification",
    "calibrate",
    "duality_gap",
    "identification",
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


def duality_gap(
    B: ArrayLike | NetworkArrays,
    f: ArrayLike | None,
    y_hat: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
    rho: ArrayLike,
) -> float:
    """Duality gap (D4 at ``rho``) − (D2 objective at ``ŷ``) ($); the ε of (C2) for given values.

    Args:
        B: (n_nodes, n_arcs) incidence, or a :class:`NetworkArrays`.
        f: (n_nodes,) supply; ignored for a :class:`NetworkArrays`.
        y_hat: (n_arcs,) feasible flow.
        mu: (n_arcs,) mean utilities ($).
        sigma: (n_arcs,) standard deviations ($).
        rho: (n_nodes,) node potentials ($).

    Returns:
        The gap ($), ≥ 0 up to rounding when ``y_hat`` is a feasible flow.
    """
    net = B if isinstance(B, NetworkArrays) else network_arrays(B, f)
    return dual_objective(net, None, rho, mu, sigma) - persistency_objective(y_hat, mu, sigma)


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
class CalibrationResult:
    """Calibrated arc utility moments.

    Attributes:
        mu: (n_arcs,) mean utilities ($).
        sigma: (n_arcs,) standard deviations ($).
        epsilon: ε of (C2) at the returned point ($): dual (D4) at ``rho`` minus the primal
            objective at ``ŷ``; ≈ 0 iff ``ŷ`` is a persistency optimum for (mu, sigma).
        epsilon_socp: optimal value of the ε stage (C1) as reported by the solver ($).
        rho: (n_nodes,) node potentials ($), ``rho[sink] = 0``.
        lam: (n_arcs,) reduced utilities ``mu − Bᵀrho`` ($).
        theta_mu: free μ parameters.
        theta_sigma: free σ parameters (empty when σ was given).
        status: solver status of the ε stage.
        identification: :class:`Identification` of the parameterisation at ``ŷ``.
        polished: whether the KKT projection was applied.
        solve_time_s: total solve time (s).
    """

    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]
    epsilon: float
    epsilon_socp: float
    rho: NDArray[np.float64]
    lam: NDArray[np.float64]
    theta_mu: NDArray[np.float64]
    theta_sigma: NDArray[np.float64]
    status: str
    identification: Identification
    polished: bool
    solve_time_s: float


@dataclass(frozen=True)
class _Param:
    """Affine parameterisation ``μ = Mμ θμ + mμ``, ``σ = Mσ θσ + mσ``."""

    Mmu: NDArray
    mmu: NDArray
    Msig: NDArray
    msig: NDArray


def _parameterisation(
    n_arcs: int,
    mu_map: ArrayLike | None,
    mu_offset: ArrayLike | None,
    sigma: ArrayLike | None,
    sigma_map: ArrayLike | None,
) -> _Param:
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
    return _Param(Mmu, mmu, Msig, msig)


def _kkt_system(
    net: NetworkArrays,
    y_hat: NDArray,
    par: _Param,
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
    par = _parameterisation(net.n_arcs, mu_map, mu_offset, sigma, sigma_map)
    return _identify(net, yh, par, reference_arc, reference_value, interior_tol)


def _identify(
    net: NetworkArrays,
    yh: NDArray,
    par: _Param,
    reference_arc: int | None,
    reference_value: float,
    interior_tol: float,
) -> Identification:
    A, c, kmu, ksig = _kkt_system(net, yh, par, reference_arc, reference_value, interior_tol)
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


def calibrate(
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
    selection: Literal["min_norm", "none"] = "min_norm",
    theta_prior: tuple[ArrayLike, ArrayLike] | None = None,
    polish: bool = True,
    polish_tol: float = 1e-5,
    flow_tol: float = 1e-6,
    solver: str | None = None,
    solver_options: dict[str, Any] | None = None,
) -> CalibrationResult:
    """Calibrate (μ, σ) from observed persistencies by inverse optimisation (C1)-(C4).

    Args:
        B: (n_nodes, n_arcs) incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        y_hat: (n_arcs,) observed arc frequencies; a feasible flow (``|Bŷ − f| ≤ flow_tol``).
        reference_arc: arc whose mean utility is fixed (C4 normalisation), or None (only allowed
            with a known ``sigma``, which already fixes the scale).
        reference_value: its mean utility ($); the seed's baseline utility μ̄ = 200.
        mu_map: (n_arcs, k_mu) map ``μ = mu_map θ_μ + mu_offset``; default identity (all free).
        mu_offset: (n_arcs,) fixed part of μ ($); default 0.
        sigma: known (n_arcs,) standard deviations ($); then only μ (and ρ) are calibrated.
        sigma_map: (n_arcs, k_sigma) map ``σ = sigma_map θ_σ`` (with ``σ ≥ 0``); default identity.
            Use :func:`tie_map` to share one σ among arcs.
        selection: ``"min_norm"``: when (μ, σ) is not identified (:func:`identification`),
            re-solve with ε fixed at its optimum (plus 1e-9 relative slack) and minimise
            ``‖θ − θ_prior‖²``, giving a solver-independent answer; ``"none"``: return the
            ε-stage solution.
        theta_prior: ``(θ_μ prior, θ_σ prior)`` for the selection; default zeros.
        polish: project onto the exact KKT set when ε ≤ ``polish_tol`` (see module doc).
        polish_tol: ε threshold ($) for polishing.
        flow_tol: tolerance of the feasibility check of ``ŷ``.
        solver: cvxpy solver (default Clarabel).
        solver_options: extra options for ``Problem.solve``.

    Returns:
        The :class:`CalibrationResult`.

    Raises:
        ValueError: on an infeasible ``ŷ`` or a missing normalisation.
        PersistencySolveError: if the SOCP is not solved.
    """
    t_start = time.perf_counter()
    net = network_arrays(B, f)
    m = net.n_arcs
    yh = np.asarray(y_hat, dtype=float).ravel()
    if yh.shape != (m,):
        raise ValueError(f"y_hat must have shape ({m},), got {yh.shape}")
    if np.any(yh < -flow_tol) or np.any(yh > 1 + flow_tol):
        raise ValueError("y_hat must lie in [0, 1]")
    resid = np.abs(net.B @ yh - net.f).max()
    if resid > flow_tol:
        raise ValueError(
            f"y_hat is not a feasible flow (max |B y_hat - f| = {resid:.2e}); (C1)-(C3) would be "
            "unbounded. Project the observed frequencies onto the flow polytope first."
        )
    if np.any(yh[~net.on_path] > flow_tol) or np.any(yh[net.forced] < 1 - flow_tol):
        raise ValueError("y_hat must be 0 on arcs on no source-sink path and 1 on forced arcs")
    yh = np.clip(yh, 0.0, 1.0)
    par = _parameterisation(m, mu_map, mu_offset, sigma, sigma_map)
    if reference_arc is None and sigma is None:
        raise ValueError(
            "normalisation (C4) missing: with sigma estimated, give reference_arc (e.g. the arc "
            "of the baseline activity with reference_value = 200)"
        )
    if reference_arc is not None and not 0 <= reference_arc < m:
        raise ValueError(f"reference_arc must be in [0, {m})")
    kmu, ksig = par.Mmu.shape[1], par.Msig.shape[1]
    free = np.flatnonzero(net.free)
    forced = np.flatnonzero(net.forced)
    keep = net.keep

    th_mu = cp.Variable(kmu, name="theta_mu")
    th_sig = cp.Variable(ksig, name="theta_sigma") if ksig else None
    rho = cp.Variable(len(keep), name="rho")
    eps = cp.Variable(name="epsilon")
    mu_e = par.Mmu @ th_mu + par.mmu
    sig_e = par.msig + (par.Msig @ th_sig if th_sig is not None else 0.0)
    lam = mu_e - sps.csr_matrix(net.B[keep].T) @ rho  # (C3)
    s_hat = np.sqrt(yh * (1.0 - yh))
    lhs = yh @ mu_e + s_hat @ sig_e  # primal objective at y_hat (affine in mu, sigma)
    rhs = net.f[keep] @ rho
    cons: list[cp.Constraint] = []
    if len(free):
        t = cp.Variable(len(free), name="t")
        sig_free = sig_e[free] if th_sig is not None else par.msig[free]
        cons.append(cp.SOC(t, cp.vstack([lam[free], sig_free]), axis=0))
        rhs = rhs + 0.5 * cp.sum(lam[free] + t)
    if len(forced):
        rhs = rhs + cp.sum(lam[forced])
    cons.append(lhs + eps >= rhs)  # (C2)
    if th_sig is not None:
        cons.append(sig_e >= 0)  # (C4)
    if reference_arc is not None:
        cons.append(mu_e[reference_arc] == reference_value)  # (C4)
    slv = solver or cp.CLARABEL
    opts = dict(CLARABEL_DEFAULTS) if slv == cp.CLARABEL else {}
    opts.update(solver_options or {})

    def run(prob: cp.Problem) -> str:
        try:
            with warnings.catch_warnings():
                # reported through the status "optimal_inaccurate" instead
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prob.solve(solver=slv, **opts)
        except cp.error.SolverError as exc:
            raise PersistencySolveError(f"calibration SOCP failed with {slv}: {exc}") from exc
        if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise PersistencySolveError(f"calibration SOCP not solved: status {prob.status!r}")
        return str(prob.status)

    ident = _identify(net, yh, par, reference_arc, reference_value, 1e-9)
    stage1 = cp.Problem(cp.Minimize(eps), cons)
    status = run(stage1)
    eps_star = float(eps.value)
    if selection not in ("min_norm", "none"):
        raise ValueError(f"selection must be 'min_norm' or 'none', got {selection!r}")
    if selection == "min_norm" and not (ident.identified and ident.consistent):
        p_mu = np.zeros(kmu) if theta_prior is None else np.asarray(theta_prior[0], float)
        p_sig = np.zeros(ksig) if theta_prior is None else np.asarray(theta_prior[1], float)
        obj = cp.sum_squares(th_mu - p_mu)
        if th_sig is not None:
            obj = obj + cp.sum_squares(th_sig - p_sig)
        slack = 1e-9 * max(1.0, abs(reference_value), float(np.abs(par.mmu).max(initial=0.0)))
        stage2 = cp.Problem(cp.Minimize(obj), [*cons, eps <= max(eps_star, 0.0) + slack])
        run(stage2)

    theta_mu = np.asarray(th_mu.value, float)
    theta_sig = np.asarray(th_sig.value, float) if th_sig is not None else np.zeros(0)
    rho_full = np.zeros(net.n_nodes)
    rho_full[keep] = np.asarray(rho.value, float)

    polished = False
    if polish and eps_star <= polish_tol:
        out = _polish(net, yh, par, reference_arc, reference_value, theta_mu, theta_sig, rho_full)
        if out is not None:
            theta_mu, theta_sig, rho_full = out
            polished = True

    mu_v = par.Mmu @ theta_mu + par.mmu
    sig_v = np.clip(par.Msig @ theta_sig + par.msig, 0.0, None)
    # epsilon reported = the (C2) slack of the returned point: dual(rho) - primal(y_hat)
    epsilon = max(duality_gap(net, None, yh, mu_v, sig_v, rho_full), 0.0)
    lam_v = mu_v - (rho_full[net.tail] - rho_full[net.head])
    return CalibrationResult(
        mu=mu_v,
        sigma=sig_v,
        epsilon=float(epsilon),
        epsilon_socp=eps_star,
        rho=rho_full,
        lam=lam_v,
        theta_mu=theta_mu,
        theta_sigma=theta_sig,
        status=status,
        identification=ident,
        polished=polished,
        solve_time_s=time.perf_counter() - t_start,
    )


def _polish(
    net: NetworkArrays,
    yh: NDArray,
    par: _Param,
    reference_arc: int | None,
    reference_value: float,
    theta_mu: NDArray,
    theta_sig: NDArray,
    rho: NDArray,
) -> tuple[NDArray, NDArray, NDArray] | None:
    """Nearest point of the linear KKT set ``A z = c`` to the SOCP solution, if admissible."""
    A, c, kmu, ksig = _kkt_system(net, yh, par, reference_arc, reference_value, 1e-9)
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
    lam = mu - (rho_new[net.tail] - rho_new[net.head])
    bnd1 = net.free & (yh >= 1 - 1e-9)
    bnd0 = net.free & (yh <= 1e-9)
    if np.any(lam[bnd1] < -1e-7) or np.any(lam[bnd0] > 1e-7):
        return None
    return th_mu, th_sig, rho_new

"""Inverse-optimisation calibration of (μ, σ) from observed persistencies: the SOCP (C1)-(C4).

See :mod:`v2gsim.behavior.calibration` for the model, what ``ŷ`` identifies and the normalisation.
The ε stage (C1) minimises the duality gap of ``ŷ``; the selection stage picks the minimum-norm
parameters among the ε-optimal ones; the solution is then polished onto the KKT set
(:func:`v2gsim.behavior.calibration.kkt.polish_kkt`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.calibration.kkt import (
    Identification,
    Parameterisation,
    identify,
    parameterisation,
    polish_kkt,
)
from v2gsim.behavior.calibration.program import calibration_program
from v2gsim.behavior.persistency.arrays import (
    NetworkArrays,
    as_network,
    network_arrays,
    reduced_utilities,
)
from v2gsim.behavior.persistency.closed_form import dual_objective, persistency_objective
from v2gsim.behavior.persistency.conic import solve_conic, solver_settings
from v2gsim.behavior.persistency.socp import dual_expression

__all__ = ["CalibrationResult", "calibrate", "duality_gap"]


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
    net = as_network(B, f)
    return dual_objective(net, None, rho, mu, sigma) - persistency_objective(y_hat, mu, sigma)


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


def _check_observation(net: NetworkArrays, y_hat: ArrayLike, flow_tol: float) -> NDArray:
    """``ŷ`` as a feasible flow in [0, 1] (clipped), or a ValueError saying why it is not one."""
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
    return np.clip(yh, 0.0, 1.0)


@dataclass(frozen=True)
class _EpsilonStage:
    """The variables and constraints (C2)-(C4) of the ε stage (C1)."""

    th_mu: cp.Variable
    th_sig: cp.Variable | None
    rho: cp.Variable
    eps: cp.Variable
    cons: list[cp.Constraint]


def _epsilon_stage(
    net: NetworkArrays, yh: NDArray, par: Parameterisation, reference_arc: int | None, reference_value: float
) -> _EpsilonStage:
    """Build (C2)-(C4): primal objective at ``ŷ`` plus ε at least the dual (D4) at ``ρ``."""
    kmu, ksig = par.Mmu.shape[1], par.Msig.shape[1]
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
    rhs, cons = dual_expression(net, lam, sig_e if th_sig is not None else par.msig, rho)
    cons.append(lhs + eps >= rhs)  # (C2)
    if th_sig is not None:
        cons.append(sig_e >= 0)  # (C4)
    if reference_arc is not None:
        cons.append(mu_e[reference_arc] == reference_value)  # (C4)
    return _EpsilonStage(th_mu, th_sig, rho, eps, cons)


def _min_norm_stage(
    st: _EpsilonStage, par: Parameterisation, eps_star: float, reference_value: float,
    theta_prior: tuple[ArrayLike, ArrayLike] | None,
) -> cp.Problem:
    """Selection: ``min ‖θ − θ_prior‖²`` with ε fixed at its optimum (plus 1e-9 relative slack)."""
    kmu, ksig = par.Mmu.shape[1], par.Msig.shape[1]
    p_mu = np.zeros(kmu) if theta_prior is None else np.asarray(theta_prior[0], float)
    p_sig = np.zeros(ksig) if theta_prior is None else np.asarray(theta_prior[1], float)
    obj = cp.sum_squares(st.th_mu - p_mu)
    if st.th_sig is not None:
        obj = obj + cp.sum_squares(st.th_sig - p_sig)
    slack = 1e-9 * max(1.0, abs(reference_value), float(np.abs(par.mmu).max(initial=0.0)))
    return cp.Problem(cp.Minimize(obj), [*st.cons, st.eps <= max(eps_star, 0.0) + slack])


def _check_options(
    n_arcs: int, sigma: ArrayLike | None, reference_arc: int | None, selection: str
) -> None:
    """The normalisation (C4) and the selection rule, or a ValueError naming what is wrong."""
    if reference_arc is None and sigma is None:
        raise ValueError(
            "normalisation (C4) missing: with sigma estimated, give reference_arc (e.g. the arc "
            "of the baseline activity with reference_value = 200)"
        )
    if reference_arc is not None and not 0 <= reference_arc < n_arcs:
        raise ValueError(f"reference_arc must be in [0, {n_arcs})")
    if selection not in ("min_norm", "none"):
        raise ValueError(f"selection must be 'min_norm' or 'none', got {selection!r}")


def _solve_stages(
    st: _EpsilonStage, par: Parameterisation, what: str, settings: tuple[str, dict[str, Any]],
    select: bool, reference_value: float, theta_prior: tuple[ArrayLike, ArrayLike] | None,
) -> tuple[str, float]:
    """Solve the ε stage (C1), then the min-norm selection if ``select``; ``(status, ε*)``."""
    slv, opts = settings
    # Both stages are built afresh for every fit and have no cvxpy Parameters: the DPP
    # canonicalisation (for fast re-solves) would only cost time, about half of each solve.
    opts = {"ignore_dpp": True, **opts}
    status = solve_conic(cp.Problem(cp.Minimize(st.eps), st.cons), slv, opts, what).status
    eps_star = float(st.eps.value)
    if select:
        stage2 = _min_norm_stage(st, par, eps_star, reference_value, theta_prior)
        solve_conic(stage2, slv, opts, f"{what}, min-norm selection")
    return status, eps_star


def _fit(
    net: NetworkArrays, yh: NDArray, par: Parameterisation, reference_arc: int | None,
    reference_value: float, select: bool, theta_prior: tuple[ArrayLike, ArrayLike] | None,
    settings: tuple[str, dict[str, Any]], what: str, cached: bool,
) -> tuple[str, float, NDArray, NDArray, NDArray]:
    """Solve the ε stage (C1)-(C4) and, if ``select``, the min-norm selection.

    With ``cached`` (a known σ) the stages of the cached, re-parameterized
    :func:`~v2gsim.behavior.calibration.program.calibration_program` are solved; otherwise both
    stages are built afresh (:func:`_epsilon_stage`, the reference path).

    Returns:
        ``(status, ε*, θμ, θσ, ρ)``: the ε stage's solver status, its optimal ε ($), the free μ and
        σ parameters (θσ empty with a known σ) and the potentials ρ over the kept nodes ($).
    """
    if cached:
        prior = np.zeros(par.Mmu.shape[1]) if theta_prior is None else np.asarray(theta_prior[0], float)
        prog = calibration_program(net, par.Mmu, reference_arc)
        status, eps_star, th_mu, rho = prog.solve(yh, par.mmu, par.msig, reference_value, select,
                                                  prior, settings, what)
        th_sig = np.zeros(0)
    else:
        st = _epsilon_stage(net, yh, par, reference_arc, reference_value)
        status, eps_star = _solve_stages(st, par, what, settings, select, reference_value, theta_prior)
        th_mu = np.asarray(st.th_mu.value, float)
        th_sig = np.asarray(st.th_sig.value, float) if st.th_sig is not None else np.zeros(0)
        rho = np.asarray(st.rho.value, float)
    return status, eps_star, th_mu, th_sig, rho


def _solution(
    theta_mu: NDArray, theta_sig: NDArray, rho: NDArray, net: NetworkArrays, yh: NDArray,
    par: Parameterisation, reference_arc: int | None, reference_value: float, polish: bool,
) -> tuple[NDArray, NDArray, NDArray, bool]:
    """``(θμ, θσ, ρ, polished)`` of the solved stages (``rho`` over the kept nodes), projected onto
    the KKT set if ``polish``."""
    rho_full = np.zeros(net.n_nodes)
    rho_full[net.keep] = rho
    if polish:
        out = polish_kkt(net, yh, par, reference_arc, reference_value, theta_mu, theta_sig, rho_full)
        if out is not None:
            return *out, True
    return theta_mu, theta_sig, rho_full, False


def _result(
    net: NetworkArrays, yh: NDArray, par: Parameterisation, theta_mu: NDArray, theta_sig: NDArray,
    rho_full: NDArray, status: str, eps_star: float, ident: Identification, polished: bool,
    t_start: float,
) -> CalibrationResult:
    """The :class:`CalibrationResult` of the final parameters: μ = Mμ θμ + mμ, σ = Mσ θσ + mσ
    (clipped at 0), and the ε of (C2) at the returned point; ``t_start`` is the
    ``time.perf_counter()`` value at the start of the calibration."""
    mu_v = par.Mmu @ theta_mu + par.mmu
    sig_v = np.clip(par.Msig @ theta_sig + par.msig, 0.0, None)
    # epsilon reported = the (C2) slack of the returned point: dual(rho) - primal(y_hat)
    epsilon = max(duality_gap(net, None, yh, mu_v, sig_v, rho_full), 0.0)
    return CalibrationResult(
        mu=mu_v, sigma=sig_v, epsilon=float(epsilon), epsilon_socp=eps_star, rho=rho_full,
        lam=reduced_utilities(net, mu_v, rho_full), theta_mu=theta_mu, theta_sigma=theta_sig,
        status=status, identification=ident, polished=polished,
        solve_time_s=time.perf_counter() - t_start,
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
    reuse: bool = True,
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
        solver_options: extra options for the solve.
        reuse: with a known ``sigma``, solve the cached, re-parameterized stages of
            :func:`~v2gsim.behavior.calibration.program.calibration_program` (built once per
            network and map); False builds both stages afresh (the reference path).

    Returns:
        The :class:`CalibrationResult`.

    Raises:
        ValueError: on an infeasible ``ŷ``, a missing normalisation or an unknown ``selection``.
        PersistencySolveError: if the SOCP is not solved.
    """
    t_start = time.perf_counter()
    net = network_arrays(B, f)
    yh = _check_observation(net, y_hat, flow_tol)
    par = parameterisation(net.n_arcs, mu_map, mu_offset, sigma, sigma_map)
    _check_options(net.n_arcs, sigma, reference_arc, selection)
    ident = identify(net, yh, par, reference_arc, reference_value, 1e-9)
    what = f"calibration SOCP ({net.n_nodes} nodes, {net.n_arcs} arcs)"
    select = selection == "min_norm" and not (ident.identified and ident.consistent)
    settings = solver_settings(solver, solver_options)
    status, eps_star, th_mu, th_sig, rho = _fit(
        net, yh, par, reference_arc, reference_value, select, theta_prior, settings, what,
        reuse and par.Msig.shape[1] == 0,
    )
    theta_mu, theta_sig, rho_full, polished = _solution(
        th_mu, th_sig, rho, net, yh, par, reference_arc, reference_value,
        polish and eps_star <= polish_tol,
    )
    return _result(net, yh, par, theta_mu, theta_sig, rho_full, status, eps_star, ident, polished,
                   t_start)

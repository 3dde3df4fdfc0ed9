"""The persistency model (D2)/(D4)/(D5) on one network, built once and re-solved (models.md §1.2).

:class:`PersistencyModel` offers the three solution methods of the package (primal SOCP, dual SOCP,
Newton on the dual); :func:`solve_persistency` caches one model per network. The cvxpy problems are
built on first use with ``cp.Parameter``s (DPP) and only re-parameterised on re-solve; they are solved
by :func:`~v2gsim.behavior.persistency.conic.solve_conic`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from v2gsim.behavior.persistency.arrays import (
    NetworkArrays,
    arc_vector,
    network_arrays,
    normalize_forced,
    reduced_utilities,
)
from v2gsim.behavior.persistency.closed_form import dual_terms, inner_closed_form
from v2gsim.behavior.persistency.conic import PersistencySolveError, solve_conic, solver_settings
from v2gsim.behavior.persistency.newton import newton_dual
from v2gsim.behavior.persistency.result import PersistencyResult
from v2gsim.core.graph import as_dense

__all__ = ["Method", "PersistencyModel", "cached_model", "dual_expression", "solve_persistency"]

Method = Literal["primal", "dual", "newton"]


def dual_expression(
    net: NetworkArrays, lam: cp.Expression, sigma: Any, rho: cp.Variable
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """The dual objective (D4) as a cvxpy expression with its cone constraints.

    ``fᵀρ + ½ Σ_free (λ_a + t_a) + Σ_forced λ_a`` with ``t_a ≥ ‖(λ_a, σ_a)‖₂`` (so ``t_a ≥ h_a``);
    forced arcs contribute λ_a (the limit of (D4) as λ_a → ∞), arcs on no path nothing.

    Args:
        net: the network.
        lam: (n_arcs,) reduced utilities ``μ + s − Bᵀρ`` (C3), affine in the variables.
        sigma: (n_arcs,) standard deviations: an array, a parameter or an affine expression.
        rho: (n_nodes − 1,) potentials of the non-sink nodes.

    Returns:
        ``(expression, constraints)``.
    """
    free = np.flatnonzero(net.free)
    forced = np.flatnonzero(net.forced)
    expr = net.f[net.keep] @ rho
    cons: list[cp.Constraint] = []
    if len(free):
        t = cp.Variable(len(free), name="t")
        lam_f = lam[free]
        # t_a >= sqrt(lam_a^2 + sigma_a^2)
        cons.append(cp.SOC(t, cp.vstack([lam_f, sigma[free]]), axis=0))
        expr = expr + 0.5 * cp.sum(lam_f + t)  # (D4)
    if len(forced):
        expr = expr + cp.sum(lam[forced])
    return expr, cons


def _flow_completion(net: NetworkArrays, y: NDArray, undetermined: NDArray[np.bool_]) -> NDArray:
    """Complete a flow whose undetermined arcs are free in [0, 1] (L1-closest to conservation).

    Solves ``min ‖B_U y_U − (f − B_D y_D)‖₁`` s.t. ``0 ≤ y_U ≤ 1`` with HiGHS.
    """
    if not undetermined.any():
        return y
    U = np.flatnonzero(undetermined)
    D = np.flatnonzero(~undetermined)
    rhs = net.f - net.B[:, D] @ y[D]
    BU = net.B[:, U]
    n, k = BU.shape
    c = np.r_[np.zeros(k), np.ones(2 * n)]
    A_eq = np.hstack([BU, np.eye(n), -np.eye(n)])
    bounds = [(0.0, 1.0)] * k + [(0.0, None)] * (2 * n)
    res = linprog(c, A_eq=A_eq, b_eq=rhs, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise PersistencySolveError(
            f"flow-completion LP failed: {res.message}", name="flow-completion LP", solver="HIGHS",
            status=str(res.status), summary=f"LP, {k + 2 * n} variables",
        )
    out = y.copy()
    out[U] = res.x[:k]
    return out


def _y_from_duals(net: NetworkArrays, lam: NDArray, sigma: NDArray, lam_tol: float) -> NDArray:
    """Recover persistencies from reduced utilities via (D3).

    For ``σ_a > 0``: ``y_a = ½(1 + λ_a/√(λ_a²+σ_a²))``. For ``σ_a = 0`` the limit is used:
    ``y_a = 1`` if ``λ_a > lam_tol``, ``0`` if ``λ_a < −lam_tol``; arcs with ``|λ_a| ≤ lam_tol`` are
    undetermined by the dual (every split of flow among them is optimal: they add nothing to
    ``Σ λ y + σ w``) and are filled by a flow-completion LP. Forced (cut) arcs get ``y = 1``.
    """
    _, y = inner_closed_form(lam, sigma)
    zero = sigma == 0.0
    y = np.where(zero & (lam > lam_tol), 1.0, y)
    y = np.where(zero & (lam < -lam_tol), 0.0, y)
    und = zero & (np.abs(lam) <= lam_tol) & net.free
    y = np.where(und, 0.0, y)
    y = np.where(net.forced, 1.0, y)
    y = np.where(net.on_path, y, 0.0)
    return _flow_completion(net, y, und)


class PersistencyModel:
    """Persistency model (D2)/(D4)/(D5) on one network, built once and re-solved.

    The cvxpy problem is built on first use with ``cp.Parameter``s for ``mu``, ``rebate`` and
    ``sigma`` (all DPP: the parameters enter as ``(μ + s)ᵀ y + σᵀ w`` in the primal and through
    ``λ = μ + s − Bᵀρ`` and ``‖(λ_a, σ_a)‖`` in the dual), so subsequent solves only
    re-parameterise.

    Degenerate arcs are handled explicitly, because interior-point solvers lose accuracy on them:

    * an arc on no source-sink path has ``y = 0`` in every feasible flow; it is fixed to 0 and left
      out of the disk cone (the dual methods reject such networks: their (D4) is not attained);
    * a *forced* arc (a cut arc, on every source-sink path) has ``y = 1``; it is left out of the
      disk cone (``w = 0``), and in the dual it contributes ``λ_a`` instead of ``½(λ_a + h_a)``
      (the limit λ_a → ∞ at which (D4) is approached but not attained). Its potentials are then
      normalised so that ``λ_a = 0``; on such arcs ``y = ½(1 + λ/h)`` does not hold.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence matrix (+1 tail, −1 head), numpy or scipy.sparse.
        f: (n_nodes,) supply vector (+1 source, −1 sink).
        sigma: optional default (n_arcs,) standard deviations ($) used when ``solve`` gets none.
        method: ``"primal"`` (D2/D5 SOCP), ``"dual"`` (D4 SOCP) or ``"newton"`` (D4 by Newton; needs
            ``σ > 0`` on every free arc, otherwise the primal SOCP is used and reported in
            ``PersistencyResult.method``).
        solver: cvxpy solver name (default Clarabel).
        solver_options: extra keyword arguments for the solve; for Clarabel the defaults
            are :data:`~v2gsim.behavior.persistency.conic.CLARABEL_DEFAULTS`.
        lam_tol: |λ| ($) below which an arc with σ = 0 is treated as indifferent when recovering
            ``y`` from the dual.
    """

    def __init__(
        self,
        B: ArrayLike,
        f: ArrayLike,
        sigma: ArrayLike | None = None,
        *,
        method: Method = "primal",
        solver: str | None = None,
        solver_options: dict[str, Any] | None = None,
        lam_tol: float = 1e-6,
    ) -> None:
        if method not in ("primal", "dual", "newton"):
            raise ValueError(f"method must be 'primal', 'dual' or 'newton', got {method!r}")
        self.net = network_arrays(B, f)
        self.method: Method = method
        self.solver, self.solver_options = solver_settings(solver, solver_options)
        self.lam_tol = lam_tol
        self.default_sigma = (
            None if sigma is None else self._check_sigma(arc_vector(sigma, self.n_arcs, "sigma"))
        )
        self._primal: tuple[cp.Problem, dict[str, Any]] | None = None
        self._dual: tuple[cp.Problem, dict[str, Any]] | None = None
        if method in ("dual", "newton"):
            self._require_on_path()

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return self.net.n_arcs

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.net.n_nodes

    def _require_on_path(self) -> None:
        if not self.net.on_path.all():
            bad = np.flatnonzero(~self.net.on_path)[:5].tolist()
            raise ValueError(
                f"arcs {bad} lie on no source-sink path: the dual (D4) is not attained; prune the "
                "network or use method='primal'"
            )

    @staticmethod
    def _check_sigma(sigma: NDArray) -> NDArray:
        if np.any(sigma < 0):
            raise ValueError("sigma must be >= 0")
        return sigma

    # -- problem construction -------------------------------------------------------------------

    def _build_primal(self) -> tuple[cp.Problem, dict[str, Any]]:
        m = self.n_arcs
        net = self.net
        free = np.flatnonzero(net.free)
        off = np.flatnonzero(~net.on_path)
        Bk = sps.csr_matrix(net.B[net.keep])
        y = cp.Variable(m, name="y")
        mu = cp.Parameter(m, name="mu")
        reb = cp.Parameter(m, name="rebate")
        sig = cp.Parameter(m, name="sigma", nonneg=True)
        flow = Bk @ y == net.f[net.keep]
        cons: list[cp.Constraint] = [flow]
        obj = (mu + reb) @ y
        if len(free):
            w = cp.Variable(len(free), name="w")
            # disk cone ||(w_a, y_a - 1/2)|| <= 1/2  <=>  w_a^2 <= y_a(1 - y_a), 0 <= y_a <= 1  (S5)
            yf = y[free]
            cons.append(cp.SOC(np.full(len(free), 0.5), cp.vstack([w, yf - 0.5]), axis=0))
            obj = obj + sig[free] @ w
        if len(off):
            cons.append(y[off] == 0)
        prob = cp.Problem(cp.Maximize(obj), cons)
        return prob, {"y": y, "mu": mu, "rebate": reb, "sigma": sig, "flow": flow}

    def _build_dual(self) -> tuple[cp.Problem, dict[str, Any]]:
        m = self.n_arcs
        net = self.net
        BkT = sps.csr_matrix(net.B[net.keep].T)
        rho = cp.Variable(len(net.keep), name="rho")
        mu = cp.Parameter(m, name="mu")
        reb = cp.Parameter(m, name="rebate")
        sig = cp.Parameter(m, name="sigma", nonneg=True)
        lam = mu + reb - BkT @ rho  # (C3)/(S3)
        obj, cons = dual_expression(net, lam, sig, rho)
        prob = cp.Problem(cp.Minimize(obj), cons)
        return prob, {"rho": rho, "mu": mu, "rebate": reb, "sigma": sig}

    # -- solving -------------------------------------------------------------------------------

    def _inputs(
        self, mu: ArrayLike, sigma: ArrayLike | None, rebate: ArrayLike | None
    ) -> tuple[NDArray, NDArray, NDArray]:
        m = self.n_arcs
        mu_v = arc_vector(mu, m, "mu")
        if sigma is None:
            if self.default_sigma is None:
                raise ValueError("sigma was given neither to the model nor to solve()")
            sig_v = self.default_sigma
        else:
            sig_v = self._check_sigma(arc_vector(sigma, m, "sigma"))
        reb_v = arc_vector(rebate, m, "rebate")
        return mu_v, sig_v, reb_v

    def _run(self, prob: cp.Problem, form: str) -> tuple[str, float, int]:
        what = f"persistency {form} SOCP ({self.n_nodes} nodes, {self.n_arcs} arcs)"
        report = solve_conic(prob, self.solver, self.solver_options, what)
        iters = -1
        stats = prob.solver_stats
        if stats is not None and stats.num_iters is not None:
            iters = int(stats.num_iters)
        return report.status, report.solve_time_s, iters

    def solve(
        self,
        mu: ArrayLike,
        sigma: ArrayLike | None = None,
        rebate: ArrayLike | None = None,
        *,
        method: Method | None = None,
    ) -> PersistencyResult:
        """Solve the persistency model for new parameters.

        Args:
            mu: (n_arcs,) mean arc utilities ($).
            sigma: (n_arcs,) standard deviations ($, ≥ 0); defaults to the model's ``sigma``.
            rebate: (n_arcs,) rebates added to ``mu`` ($; zero on non-charging arcs), (D5).
            method: override the model's method for this call.

        Returns:
            The :class:`PersistencyResult`.

        Raises:
            PersistencySolveError: if the solver does not report an optimal solution.
        """
        mu_v, sig_v, reb_v = self._inputs(mu, sigma, rebate)
        meth = method or self.method
        if meth in ("dual", "newton"):
            self._require_on_path()
        if meth == "newton":
            if np.all(sig_v[self.net.free] > 0):
                return self._solve_newton(mu_v, sig_v, reb_v)
            meth = "primal"
        if meth == "primal":
            return self._solve_primal(mu_v, sig_v, reb_v)
        if meth == "dual":
            return self._solve_dual(mu_v, sig_v, reb_v)
        raise ValueError(f"unknown method {meth!r}")

    def _result(
        self,
        y: NDArray,
        rho: NDArray,
        util: NDArray,
        value: float,
        status: str,
        dt: float,
        method: str,
        iters: int,
    ) -> PersistencyResult:
        y = np.clip(y, 0.0, 1.0)
        return PersistencyResult(
            y=y,
            w=np.sqrt(y * (1.0 - y)),
            value=value,
            rho=rho,
            lam=reduced_utilities(self.net, util, rho),
            status=status,
            solve_time_s=dt,
            method=method,
            iterations=iters,
        )

    def _solve_primal(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        if self._primal is None:
            self._primal = self._build_primal()
        prob, v = self._primal
        v["mu"].value, v["sigma"].value, v["rebate"].value = mu, sigma, reb
        status, dt, iters = self._run(prob, "primal")
        y = np.asarray(v["y"].value, float)
        y = np.where(self.net.forced, 1.0, np.where(self.net.on_path, y, 0.0))
        rho = np.zeros(self.n_nodes)
        rho[self.net.keep] = np.asarray(v["flow"].dual_value, float)
        rho = normalize_forced(self.net, rho, mu + reb)
        return self._result(y, rho, mu + reb, float(prob.value), status, dt, "primal", iters)

    def _solve_dual(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        if self._dual is None:
            self._dual = self._build_dual()
        prob, v = self._dual
        v["mu"].value, v["sigma"].value, v["rebate"].value = mu, sigma, reb
        status, dt, iters = self._run(prob, "dual")
        t0 = time.perf_counter()
        rho = np.zeros(self.n_nodes)
        rho[self.net.keep] = np.asarray(v["rho"].value, float)
        rho = normalize_forced(self.net, rho, mu + reb)
        lam = reduced_utilities(self.net, mu + reb, rho)
        y = _y_from_duals(self.net, lam, sigma, self.lam_tol)
        dt += time.perf_counter() - t0
        return self._result(y, rho, mu + reb, float(prob.value), status, dt, "dual", iters)

    def _solve_newton(self, mu: NDArray, sigma: NDArray, reb: NDArray) -> PersistencyResult:
        t0 = time.perf_counter()
        util = mu + reb
        rho, iters, ok = newton_dual(self.net, util, sigma)
        lam = reduced_utilities(self.net, util, rho)
        _, y = inner_closed_form(lam, sigma)
        y = np.where(self.net.forced, 1.0, y)
        value = float(dual_terms(self.net, lam, sigma).sum() + self.net.f @ rho)
        dt = time.perf_counter() - t0
        if not ok:
            raise PersistencySolveError(
                f"Newton method on (D4) did not converge in {iters} iterations "
                f"({self.n_nodes} nodes, {self.n_arcs} arcs); use method='primal'",
                name="persistency Newton on (D4)", solver="newton", status="not_converged",
                summary=f"{self.n_nodes} nodes, {self.n_arcs} arcs",
            )
        return self._result(y, rho, util, value, "optimal", dt, "newton", iters)


# --------------------------------------------------------------------------------------------------
# One cached model per network
# --------------------------------------------------------------------------------------------------

_MODEL_CACHE: OrderedDict[tuple, PersistencyModel] = OrderedDict()
_MODEL_CACHE_SIZE = 32


def cached_model(B: ArrayLike, f: ArrayLike, method: Method, solver: str | None) -> PersistencyModel:
    """The :class:`PersistencyModel` of ``(B, f, method, solver)`` from an LRU cache (32 entries)."""
    Bd = np.ascontiguousarray(as_dense(B))
    fd = np.ascontiguousarray(np.asarray(f, dtype=float))
    key = (Bd.shape, Bd.tobytes(), fd.tobytes(), method, solver)
    model = _MODEL_CACHE.get(key)
    if model is None:
        model = PersistencyModel(Bd, fd, method=method, solver=solver)
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    else:
        _MODEL_CACHE.move_to_end(key)
    return model


def solve_persistency(
    B: ArrayLike,
    f: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
    rebate: ArrayLike | None = None,
    *,
    method: Method = "primal",
    solver: str | None = None,
) -> PersistencyResult:
    """Solve the persistency model (D2) — with rebates (D5) — on one network.

    A :class:`PersistencyModel` per ``(B, f, method, solver)`` is cached (LRU, 32 entries), so
    repeated calls on the same network only re-parameterise the cvxpy problem.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        mu: (n_arcs,) mean arc utilities ($).
        sigma: (n_arcs,) standard deviations of arc utilities ($, ≥ 0).
        rebate: (n_arcs,) rebate added to ``mu`` ($; zero on non-charging arcs), (D5).
        method: ``"primal"`` (D2/D5 SOCP with the disk cone), ``"dual"`` ((D4) SOCP; ``y`` from
            (D3), arcs with σ = 0 and λ = 0 completed by a flow LP) or ``"newton"`` ((D4) by damped
            Newton; requires σ > 0 on free arcs, else falls back to the primal).
        solver: cvxpy solver (default Clarabel).

    Returns:
        The :class:`PersistencyResult`.
    """
    return cached_model(B, f, method, solver).solve(mu, sigma, rebate)

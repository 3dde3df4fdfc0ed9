"""Batched exact follower for the bilevel rebate problem (models.md §1.2 D4/D5, §1.5 B1).

The leader of the bilevel model (:mod:`v2gsim.optimize.bilevel`) needs the drivers' persistencies
``y(s)`` for many hourly rebate vectors ``s``: every move of a local search and every bound of the
branch-and-bound evaluates the follower (D5) exactly. :class:`BatchFollower` solves (D5) for a batch
of K rebate vectors of one driver cluster at once, by the damped Newton method on the dual (D4)
that :mod:`v2gsim.behavior.persistency` uses for one vector, vectorised over the batch:

    min_ρ  Σ_a φ_a(λ_a) + fᵀρ,   λ = μ + P s − Bᵀρ,   φ_a(λ) = ½(λ + √(λ² + σ_a²)),

with gradient ``f − B y`` (y from the closed form D3, ``y_a = ½(1 + λ_a/√(λ_a²+σ_a²))``) and Hessian
``B diag(σ²/(2h³)) Bᵀ`` (``h = √(λ²+σ²)``), a weighted graph Laplacian assembled by index
arithmetic. ``P`` maps hours to charging (plug-in) arcs: the rebate ``s_t`` ($ per plugged
EV-hour) is added to the mean utility of every plug-in arc of hour t.

The same Laplacian gives the exact Jacobian of the hourly plug-in persistencies,

    J = ∂y_hours/∂s = A (D − D Bᵀ L⁻¹ B D) Aᵀ,   D = diag(σ²/(2h³)),  L = B D Bᵀ,

(``A`` sums the plug-in arcs of each hour), which
:func:`~v2gsim.optimize.bilevel.substitution.substitution_report` uses to check the
Granot–Veinott complementarity of the charging arcs (models.md B3): the valid inequalities (B3) and
the box bounds of the branch-and-bound hold when raising one hour's rebate never lowers another
hour's persistency, i.e. when ``J`` has no negative off-diagonal entry.

Networks with zero-σ free arcs (where (D4) is not smooth) are solved one vector at a time by
:class:`v2gsim.behavior.persistency.PersistencyModel` (primal SOCP), which is exact but slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import reverse_cuthill_mckee

from v2gsim.behavior.persistency import PersistencyModel, PersistencySolveError, network_arrays
from v2gsim.behavior.persistency.closed_form import stable_h_plus_lam
from v2gsim.behavior.persistency.newton import damped_newton
from v2gsim.core.graph import longest_path_to_sink
from v2gsim.optimize.bilevel.follower_kernel import NEEDS_FALLBACK, newton_rows

_BAND_MIN_BATCH = 48
"""Batches at least this large use the banded Cholesky solver (smaller ones: dense LAPACK)."""

ENGINES = ("compiled", "numpy")
"""Newton engines of :class:`BatchFollower`: the numba kernel (:mod:`~v2gsim.optimize.bilevel.
follower_kernel`, banded networks without forced arcs) or the vectorised numpy reference."""

__all__ = ["ENGINES", "BatchFollower", "FollowerBatch"]


@dataclass(frozen=True)
class FollowerBatch:
    """Persistencies of one cluster for a batch of K rebate vectors.

    Attributes:
        y: (K, n_arcs) arc persistencies.
        y_hours: (K, T) plug-in persistency per hour (sum over the plug-in arcs of the hour).
        rho: (K, n_nodes) node potentials ($) with ``rho[:, sink] = 0``; reusable as warm starts.
        iterations: Newton iterations of the batch (the slowest member); 0 for the fallback.
    """

    y: NDArray[np.float64]
    y_hours: NDArray[np.float64]
    rho: NDArray[np.float64]
    iterations: int


def _band_cholesky_solve(Ab: NDArray, rhs: NDArray, pairs: tuple[NDArray, NDArray]) -> NDArray:
    """Solve K symmetric positive definite banded systems at once (Cholesky, loops over columns).

    Args:
        Ab: (K, n + w, w + 1) lower band storage, ``Ab[k, j, i] = H_k[j + i, j]``, zero padded below.
        rhs: (K, n) right-hand sides.
        pairs: index arrays ``(i, l)``, ``1 <= i <= l <= w``, of the trailing update.

    Returns:
        (K, n) solutions.

    Raises:
        np.linalg.LinAlgError: if a pivot is not positive.
    """
    A = Ab.copy()
    K, npad, w1 = A.shape
    w = w1 - 1
    n = npad - w
    ii, ll = pairs
    for j in range(n):
        piv = A[:, j, 0]
        if not np.all(piv > 0):
            raise np.linalg.LinAlgError("banded Cholesky: matrix not positive definite")
        d = np.sqrt(piv)
        A[:, j, 0] = d
        col = A[:, j, 1:] / d[:, None]
        A[:, j, 1:] = col
        A[:, j + ii, ll - ii] -= col[:, ii - 1] * col[:, ll - 1]
    z = np.concatenate([rhs, np.zeros((K, w))], axis=1)
    for j in range(n):
        z[:, j] /= A[:, j, 0]
        z[:, j + 1 : j + 1 + w] -= A[:, j, 1:] * z[:, j : j + 1]
    for j in range(n - 1, -1, -1):
        z[:, j] = (z[:, j] - np.einsum("ki,ki->k", A[:, j, 1:], z[:, j + 1 : j + 1 + w])) / A[:, j, 0]
    return z[:, :n]


class BatchFollower:
    """Persistency follower (D5) of one driver cluster, solved for batches of hourly rebates.

    Args:
        B: (n_nodes, n_arcs) node-arc incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        mu: (n_arcs,) mean arc utilities ($).
        sigma: (n_arcs,) standard deviations of the arc utilities ($, ≥ 0).
        plug_hour: (n_arcs,) hour index t of each charging (plug-in) arc, −1 for other arcs.
        hours: number of hours T.
        tol: Newton stops when the flow-conservation residual ``‖f − B y‖∞ <= tol``.
        max_iter: Newton iteration limit.
        engine: ``"compiled"`` (default) runs the Newton iterations in the numba kernel of
            :mod:`~v2gsim.optimize.bilevel.follower_kernel` where the network allows it (banded
            Laplacian, no forced arcs, σ > 0); ``"numpy"`` always uses the vectorised reference.
            Both give the same solution to rounding.

    Raises:
        ValueError: on malformed inputs, or an arc on no source-sink path.
    """

    def __init__(
        self,
        B: ArrayLike,
        f: ArrayLike,
        mu: ArrayLike,
        sigma: ArrayLike,
        plug_hour: ArrayLike,
        hours: int,
        *,
        tol: float = 1e-10,
        max_iter: int = 100,
        engine: str = "compiled",
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.engine = engine
        self.net = network_arrays(B, f)
        if not self.net.on_path.all():
            bad = np.flatnonzero(~self.net.on_path)[:5].tolist()
            raise ValueError(f"arcs {bad} lie on no source-sink path; prune the network first")
        m, n = self.net.n_arcs, self.net.n_nodes
        ph = np.asarray(plug_hour, dtype=np.int64).ravel()
        if ph.shape != (m,):
            raise ValueError(f"plug_hour must have shape ({m},), got {ph.shape}")
        self.hours = int(hours)
        if np.any(ph >= self.hours) or np.any(ph < -1):
            raise ValueError(f"plug_hour entries must be -1 or an hour in [0, {self.hours})")
        self.plug_hour = ph
        self.plug = np.flatnonzero(ph >= 0)
        A = np.zeros((self.hours, m))
        A[ph[self.plug], self.plug] = 1.0
        self.A = A
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        net = self.net
        self._keep = net.keep
        self._Bk_T = np.ascontiguousarray(net.B[net.keep].T)
        self._fk = net.f[net.keep]
        D = net.upstream[:, net.keep].T.astype(float)
        self._DDt = D @ D.T if D.shape[1] else np.zeros((len(net.keep), len(net.keep)))
        # Scatter matrix G ((n-1)^2, m): vec(B_k diag(d) B_kᵀ) = G d, entries in the reduced (keep) rows
        pos = np.full(n, -1)
        pos[net.keep] = np.arange(len(net.keep))
        nk = len(net.keep)
        rows = np.concatenate([net.tail, net.head, net.tail, net.head])
        cols = np.concatenate([net.tail, net.head, net.head, net.tail])
        sign = np.concatenate([np.ones(2 * m), -np.ones(2 * m)])
        arcs = np.tile(np.arange(m), 4)
        ok = (pos[rows] >= 0) & (pos[cols] >= 0)
        self._G = sps.csr_matrix(
            (sign[ok], (pos[rows[ok]] * nk + pos[cols[ok]], arcs[ok])), shape=(nk * nk, m)
        )
        self._n = n
        self._setup_band(pos, nk)
        self._fallback: PersistencyModel | None = None
        self.set_utilities(mu, sigma)

    def _setup_band(self, pos: NDArray[np.intp], nk: int) -> None:
        """Banded storage of the reduced Laplacian in reverse Cuthill-McKee order (no forced arcs)."""
        net = self.net
        m = net.n_arcs
        self._band: dict | None = None
        if net.forced.any() or nk < 8:
            return
        pt0 = np.where(pos[net.tail] >= 0, pos[net.tail], nk)  # the sink goes to row nk, dropped
        ph0 = np.where(pos[net.head] >= 0, pos[net.head], nk)
        pat = sps.csr_matrix(
            (np.ones(2 * m), (np.r_[pt0, ph0], np.r_[ph0, pt0])), shape=(nk + 1, nk + 1)
        )[:nk, :nk]
        perm = reverse_cuthill_mckee(sps.csr_matrix(pat + sps.eye(nk)), symmetric_mode=True)
        where = np.empty(nk, dtype=np.intp)
        where[perm] = np.arange(nk)
        pt = np.where(pos[net.tail] >= 0, where[np.maximum(pos[net.tail], 0)], -1)
        phd = np.where(pos[net.head] >= 0, where[np.maximum(pos[net.head], 0)], -1)
        both = (pt >= 0) & (phd >= 0)
        w = int(np.max(np.abs(pt[both] - phd[both]))) if both.any() else 0
        if w == 0 or w > nk // 4:
            return
        rows, cols, vals = [], [], []
        arcs = np.arange(m)
        for end in (pt, phd):  # diagonal entries
            ok = end >= 0
            rows.append(end[ok] * (w + 1))
            cols.append(arcs[ok])
            vals.append(np.ones(ok.sum()))
        lo_, hi_ = np.minimum(pt, phd), np.maximum(pt, phd)
        rows.append(lo_[both] * (w + 1) + (hi_[both] - lo_[both]))
        cols.append(arcs[both])
        vals.append(-np.ones(both.sum()))
        G = sps.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=((nk + w) * (w + 1), m),
        )
        ii, ll = np.triu_indices(w, 0)
        self._band = {
            "G": G, "w": w, "perm": perm, "pairs": (ii + 1, ll + 1), "nk": nk,
            "tail": pt, "head": phd,
        }

    def _newton_step(self, h: NDArray, g: NDArray) -> NDArray:
        """Newton directions ``−H⁻¹ g`` for a batch (banded Cholesky for large batches)."""
        band = self._band
        if band is not None and h.shape[0] >= _BAND_MIN_BATCH:
            K = h.shape[0]
            nk, w = band["nk"], band["w"]
            d = self._weights(h)
            Ab = np.asarray(band["G"] @ d.T).T.reshape(K, nk + w, w + 1)
            perm = band["perm"]
            x = _band_cholesky_solve(Ab, -g[:, perm], band["pairs"])
            out = np.empty_like(x)
            out[:, perm] = x
            return out
        H = self._hessian(h)
        return -np.linalg.solve(H, g[:, :, None])[:, :, 0]

    # -- parameters ------------------------------------------------------------------------------

    def set_utilities(self, mu: ArrayLike, sigma: ArrayLike) -> None:
        """Replace the mean utilities and standard deviations ($) and re-solve the base (s = 0).

        Args:
            mu: (n_arcs,) mean arc utilities ($).
            sigma: (n_arcs,) standard deviations ($, ≥ 0).
        """
        m = self.net.n_arcs
        mu_v = np.asarray(mu, dtype=float).ravel()
        sig_v = np.asarray(sigma, dtype=float).ravel()
        if mu_v.shape != (m,) or sig_v.shape != (m,):
            raise ValueError(f"mu and sigma must have shape ({m},)")
        if not (np.all(np.isfinite(mu_v)) and np.all(np.isfinite(sig_v))) or np.any(sig_v < 0):
            raise ValueError("mu and sigma must be finite and sigma >= 0")
        self.mu = mu_v
        self.sigma = sig_v
        self.smooth = bool(np.all(sig_v[self.net.free] > 0))
        if not self.smooth and self._fallback is None:
            self._fallback = PersistencyModel(self.net.B, self.net.f, method="primal")
        self._base_rho: NDArray[np.float64] | None = None
        base = self.solve(np.zeros((1, self.hours)), rho0=self._longest_path_rho())
        self._base_rho = base.rho[0]

    @property
    def base_rho(self) -> NDArray[np.float64]:
        """Potentials of the solution without rebates ($), the default warm start."""
        assert self._base_rho is not None
        return self._base_rho

    def _longest_path_rho(self) -> NDArray[np.float64]:
        net = self.net
        return longest_path_to_sink(net.tail, net.head, self.mu, net.order, net.sink)

    # -- solving -----------------------------------------------------------------------------------

    def hourly(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """(K, T) plug-in persistency per hour (sum over the plug-in arcs of the hour) from (K, n_arcs) y."""
        return y @ self.A.T

    def utilities(self, S: NDArray[np.float64]) -> NDArray[np.float64]:
        """Arc utilities ``μ + P s`` ($) for a (K, T) batch of hourly rebates: (K, n_arcs)."""
        return self.mu[None, :] + S @ self.A

    def solve(self, S: ArrayLike, rho0: ArrayLike | None = None) -> FollowerBatch:
        """Solve (D5) for every row of ``S``.

        Args:
            S: (K, T) or (T,) hourly rebates ($ per plugged EV-hour).
            rho0: warm-start potentials, (n_nodes,) or (K, n_nodes); default the solution at s = 0.

        Returns:
            The :class:`FollowerBatch`.

        Raises:
            PersistencySolveError: if Newton does not converge for some row (not observed on valid
                inputs).
        """
        Sa = np.atleast_2d(np.asarray(S, dtype=float))
        if Sa.ndim != 2 or Sa.shape[1] != self.hours:
            raise ValueError(f"S must have shape (K, {self.hours}), got {Sa.shape}")
        util = self.utilities(Sa)
        if not self.smooth:
            return self._solve_fallback(util)
        K = Sa.shape[0]
        if rho0 is None:
            rho0 = self._base_rho if self._base_rho is not None else self._longest_path_rho()
        r0 = np.broadcast_to(np.asarray(rho0, dtype=float), (K, self._n))
        r0 = r0 - r0[:, [self.net.sink]]
        r = np.ascontiguousarray(r0[:, self._keep])
        y = None
        if self.engine == "compiled" and self._band is not None:
            r, y, iters, ok = self._newton_compiled(r, util)
        else:
            r, iters, ok = self._newton(r, util)
        if not ok.all():
            bad = np.flatnonzero(~ok)[:3].tolist()
            size = f"{self.net.n_nodes} nodes, {self.net.n_arcs} arcs"
            raise PersistencySolveError(
                f"batched Newton on (D4) did not converge for rows {bad} of {K} ({size})",
                name="batched follower (D5)", solver="batched-newton", status="not_converged",
                summary=size,
            )
        rho = np.zeros((K, self._n))
        rho[:, self._keep] = r
        if y is None:
            y = self._y(rho, util)
        return FollowerBatch(y=y, y_hours=self.hourly(y), rho=rho, iterations=iters)

    def _solve_fallback(self, util: NDArray) -> FollowerBatch:
        assert self._fallback is not None
        ys, rhos = [], []
        for u in util:
            res = self._fallback.solve(u, self.sigma)
            ys.append(res.y)
            rhos.append(res.rho)
        y = np.asarray(ys)
        return FollowerBatch(y=y, y_hours=self.hourly(y), rho=np.asarray(rhos), iterations=0)

    def _lam(self, rho: NDArray, util: NDArray) -> NDArray:
        return util - (rho[:, self.net.tail] - rho[:, self.net.head])

    def _closed_form_y(self, h: NDArray, hpl: NDArray) -> NDArray:
        """Arc persistencies of the closed form (D3) from ``h`` and ``h + λ``: 1 on forced arcs."""
        net = self.net
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(net.free[None, :], hpl / (2.0 * np.where(h > 0, h, 1.0)), 0.0)
        return np.where(net.forced[None, :], 1.0, y)

    def _weights(self, h: NDArray) -> NDArray:
        """Laplacian weights ``σ²/(2h³)`` of the free arcs (0 elsewhere): (K, n_arcs)."""
        return np.where(self.net.free[None, :], 0.5 * self.sigma[None, :] ** 2 / h**3, 0.0)

    def _y(self, rho: NDArray, util: NDArray) -> NDArray:
        h, hpl = stable_h_plus_lam(self._lam(rho, util), self.sigma[None, :])
        return np.clip(self._closed_form_y(h, hpl), 0.0, 1.0)

    def _parts(self, r: NDArray, util: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Objective (K,), h (K, m) and gradient (K, n−1) at reduced potentials r."""
        full = np.zeros((r.shape[0], self._n))
        full[:, self._keep] = r
        lam = self._lam(full, util)
        h, hpl = stable_h_plus_lam(lam, self.sigma[None, :])
        F = np.where(self.net.forced[None, :], lam, 0.5 * hpl).sum(axis=1) + r @ self._fk
        y = self._closed_form_y(h, hpl)
        return F, h, self._fk[None, :] - y @ self._Bk_T

    def _hessian(self, h: NDArray) -> NDArray:
        """Reduced Laplacians ``B_k diag(σ²/(2h³)) B_kᵀ + DDᵀ``: (K, n−1, n−1)."""
        K = h.shape[0]
        nk = len(self._keep)
        d = self._weights(h)
        H = np.asarray(self._G @ d.T).T.reshape(K, nk, nk)
        return H + self._DDt[None, :, :]

    def _newton(self, r: NDArray, util: NDArray) -> tuple[NDArray, int, NDArray]:
        """Batched damped Newton (:func:`v2gsim.behavior.persistency.newton.damped_newton`) on (D4)
        for every row of ``util``; returns (r, iterations, converged)."""

        def parts(x: NDArray, rows: NDArray) -> tuple[NDArray, NDArray, NDArray]:
            return self._parts(x, util[rows])

        def direction(h: NDArray, g: NDArray, rows: NDArray) -> NDArray:
            try:
                return self._newton_step(h, g)
            except np.linalg.LinAlgError:
                H = self._hessian(h)
                return np.stack([-np.linalg.lstsq(Hk, gk, rcond=None)[0]
                                 for Hk, gk in zip(H, g, strict=True)])

        out = damped_newton(r, parts, direction, tol=self.tol, max_iter=self.max_iter)
        return out.x, out.iterations, out.converged

    def _newton_compiled(self, r: NDArray, util: NDArray) -> tuple[NDArray, NDArray, int, NDArray]:
        """The compiled kernel in band order: ``(r, y, iterations, converged)``; rows it cannot
        factor go to :meth:`_newton`."""
        band = self._band
        assert band is not None
        perm = band["perm"]
        rp, y, status, iters = newton_rows(
            r[:, perm], util, self.sigma, band["tail"], band["head"], self._fk[perm], band["w"],
            tol=self.tol, max_iter=self.max_iter,
        )
        out = np.empty_like(rp)
        out[:, perm] = rp
        ok = status == 0
        it = int(iters.max()) if iters.size else 0
        back = np.flatnonzero(status == NEEDS_FALLBACK)
        if back.size:
            out[back], it_b, ok[back] = self._newton(r[back], util[back])
            full = np.zeros((back.size, self._n))
            full[:, self._keep] = out[back]
            y[back] = self._y(full, util[back])
            it = max(it, it_b)
        return out, y, it, ok

    # -- sensitivities -----------------------------------------------------------------------------

    def jacobian(self, S: ArrayLike, rho: ArrayLike | None = None) -> NDArray[np.float64]:
        """Exact Jacobian ``∂y_hours/∂s`` (1/$) at each row of ``S``: (K, T, T).

        Entry ``[k, t, t']`` is the change of the hour-t plug-in persistency per $ of rebate in
        hour t'. The diagonal is non-negative (the follower value is convex in s); a negative
        off-diagonal entry means hours t and t' are substitutes (models.md B3 remark).

        Args:
            S: (K, T) or (T,) hourly rebates ($).
            rho: optional potentials of the solution (K, n_nodes); solved when omitted.

        Returns:
            (K, T, T) Jacobians.
        """
        Sa = np.atleast_2d(np.asarray(S, dtype=float))
        if rho is None:
            rho_a = self.solve(Sa).rho
        else:
            rho_a = np.atleast_2d(np.asarray(rho, dtype=float))
        util = self.utilities(Sa)
        lam = self._lam(rho_a, util)
        h = np.hypot(lam, self.sigma[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(h > 0, self._weights(h), 0.0)
        H = self._hessian(np.where(h > 0, h, 1.0))
        # columns of B_k D A^T: (K, n-1, T)
        BD = self._Bk_T.T[None, :, :] * d[:, None, :]
        BDA = BD @ self.A.T
        X = np.linalg.solve(H, BDA)
        ADA = np.einsum("tm,km,sm->kts", self.A, d, self.A)
        return ADA - np.swapaxes(BDA, 1, 2) @ X

    def rho_sensitivity(self, s: ArrayLike, rho: ArrayLike) -> NDArray[np.float64]:
        """Derivative of the optimal potentials in the hourly rebates, (n_nodes, T) ($/$).

        From the optimality condition ``f − B y(λ) = 0`` of (D4): ``∂ρ/∂s = L⁻¹ B D Aᵀ`` on the
        reduced nodes (0 at the sink), with D and L as in :meth:`jacobian`. Used for first-order
        warm starts ``ρ(s') ≈ ρ(s) + ∂ρ/∂s (s' − s)`` of batches near one solved vector.

        Args:
            s: (T,) hourly rebates ($) of the solved vector.
            rho: (n_nodes,) its potentials.
        """
        Sa = np.asarray(s, dtype=float).reshape(1, -1)
        rho_a = np.asarray(rho, dtype=float).reshape(1, -1)
        lam = self._lam(rho_a, self.utilities(Sa))
        h = np.hypot(lam, self.sigma[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(h > 0, self._weights(h), 0.0)
        H = self._hessian(np.where(h > 0, h, 1.0))[0]
        BDA = (self._Bk_T.T * d[0][None, :]) @ self.A.T
        out = np.zeros((self._n, self.hours))
        out[self._keep] = np.linalg.solve(H, BDA)
        return out

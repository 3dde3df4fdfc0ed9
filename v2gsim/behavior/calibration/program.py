"""The calibration SOCP (C1)-(C4) with known σ, built once per network and re-parameterized.

The platform re-calibrates its beliefs every day (:meth:`v2gsim.behavior.beliefs.ClusterBeliefs.recalibrate`),
several fixed-point rounds per place, each solving the ε stage (C1) and often the min-norm
selection. The problems differ only in data: the completed flow ``ŷ``, the fixed part ``mμ`` of
μ, σ, the prior and ε*. :class:`CalibrationProgram` builds both stages once for a network and a
parameterisation structure (``μ = Mμ θμ + mμ``, σ known, optional reference arc) with cvxpy
Parameters in DPP form, so cvxpy canonicalises each stage once and later solves only refill the
problem data (about 60 % of a calibration's time was the canonicalisation of freshly built
problems). The constraints are those of :func:`v2gsim.behavior.calibration.inverse.calibrate`:

* (C3) ``λ = Mμ θμ + mμ − B_keepᵀ ρ``;
* (C2) ``gᵀθμ + c0 + ε ≥ f_keepᵀρ + ½ Σ_free (λ_a + t_a) + Σ_forced λ_a`` with ``t_a ≥ ‖(λ_a, σ_a)‖``
  (D4), where ``g = Mμᵀŷ`` and ``c0 = ŷᵀmμ + ŝᵀσ``, ``ŝ = √(ŷ(1 − ŷ))`` (the primal objective at
  ŷ, written with one parameter per product so that the problem stays DPP);
* (C4) ``μ_ref = reference_value`` when a reference arc is given.

Programs are cached (:func:`calibration_program`, least recently used, keyed by the network, the
map ``Mμ`` and the reference arc); each has a lock, so threads sharing one are serialised.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sps
from numpy.typing import NDArray

from v2gsim.behavior.persistency.arrays import NetworkArrays
from v2gsim.behavior.persistency.conic import solve_conic

__all__ = ["CalibrationProgram", "calibration_program"]

_CACHE: OrderedDict[str, CalibrationProgram] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 64


class CalibrationProgram:
    """The ε stage and the min-norm selection of (C1)-(C4) with known σ, as DPP problems.

    Args:
        net: the network arrays.
        mu_map: (n_arcs, k) the map ``Mμ`` of the free μ parameters.
        reference_arc: arc whose μ is fixed (C4), or None.
    """

    def __init__(self, net: NetworkArrays, mu_map: NDArray, reference_arc: int | None):
        self.net = net
        self.mu_map = np.asarray(mu_map, dtype=float)
        n_arcs, k = self.mu_map.shape
        self.lock = threading.Lock()
        self.th_mu = cp.Variable(k, name="theta_mu")
        self.rho = cp.Variable(len(net.keep), name="rho")
        self.eps = cp.Variable(name="epsilon")
        self.g = cp.Parameter(k, name="g")
        self.c0 = cp.Parameter(name="c0")
        self.mmu = cp.Parameter(n_arcs, name="mu_offset")
        self.sigma = cp.Parameter(n_arcs, name="sigma", nonneg=True)
        self.ref_value = cp.Parameter(name="reference_value")
        self.prior = cp.Parameter(k, name="theta_prior")
        self.eps_max = cp.Parameter(name="epsilon_max")
        mu_e = sps.csr_matrix(self.mu_map) @ self.th_mu + self.mmu
        lam = mu_e - sps.csr_matrix(net.B[net.keep].T) @ self.rho  # (C3)
        free, forced = np.flatnonzero(net.free), np.flatnonzero(net.forced)
        rhs = net.f[net.keep] @ self.rho
        cons: list[cp.Constraint] = []
        if len(free):
            t = cp.Variable(len(free), name="t")
            cons.append(cp.SOC(t, cp.vstack([lam[free], self.sigma[free]]), axis=0))
            rhs = rhs + 0.5 * cp.sum(lam[free] + t)  # (D4)
        if len(forced):
            rhs = rhs + cp.sum(lam[forced])
        cons.append(self.g @ self.th_mu + self.c0 + self.eps >= rhs)  # (C2)
        if reference_arc is not None:
            cons.append(mu_e[reference_arc] == self.ref_value)  # (C4)
        self.stage1 = cp.Problem(cp.Minimize(self.eps), cons)
        self.stage2 = cp.Problem(cp.Minimize(cp.sum_squares(self.th_mu - self.prior)),
                                 [*cons, self.eps <= self.eps_max])

    def solve(self, yh: NDArray, mu_offset: NDArray, sigma: NDArray, reference_value: float,
              select: bool, prior: NDArray, settings: tuple[str, dict[str, Any]], what: str
              ) -> tuple[str, float, NDArray, NDArray]:
        """Solve the ε stage, then the selection if ``select``.

        Args:
            yh: (n_arcs,) the completed observed flow ŷ.
            mu_offset: (n_arcs,) the fixed part mμ of μ ($).
            sigma: (n_arcs,) the known standard deviations ($).
            reference_value: μ of the reference arc ($), unused without one.
            select: whether to run the min-norm selection.
            prior: (k,) θμ prior of the selection.
            settings: (solver, options) for the solves.
            what: the problem, for error messages.

        Returns:
            ``(status of the ε stage, ε*, θμ, ρ over the kept nodes)``.
        """
        slv, opts = settings
        s_hat = np.sqrt(yh * (1.0 - yh))
        with self.lock:
            self.g.value = self.mu_map.T @ yh
            self.c0.value = float(yh @ mu_offset + s_hat @ sigma)
            self.mmu.value = np.asarray(mu_offset, dtype=float)
            self.sigma.value = np.asarray(sigma, dtype=float)
            self.ref_value.value = float(reference_value)
            status = solve_conic(self.stage1, slv, opts, what).status
            eps_star = float(self.eps.value)
            if select:
                slack = 1e-9 * max(1.0, abs(reference_value),
                                   float(np.abs(mu_offset).max(initial=0.0)))
                self.prior.value = np.asarray(prior, dtype=float)
                self.eps_max.value = max(eps_star, 0.0) + slack
                solve_conic(self.stage2, slv, opts, f"{what}, min-norm selection")
            return (status, eps_star, np.asarray(self.th_mu.value, dtype=float).copy(),
                    np.asarray(self.rho.value, dtype=float).copy())


def calibration_program(net: NetworkArrays, mu_map: NDArray, reference_arc: int | None
                        ) -> CalibrationProgram:
    """The cached :class:`CalibrationProgram` of this network, map and reference arc (built once)."""
    h = hashlib.sha256()
    for a in (net.B, net.f, np.asarray(mu_map, dtype=float)):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(reference_arc).encode())
    key = h.hexdigest()
    with _CACHE_LOCK:
        prog = _CACHE.get(key)
        if prog is not None:
            _CACHE.move_to_end(key)
            return prog
    prog = CalibrationProgram(net, mu_map, reference_arc)
    with _CACHE_LOCK:
        _CACHE[key] = prog
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return prog

"""Persistency (marginal-moment) choice model on an activity DAG (seed 000, models.md §1.2).

Drivers choose a source-sink path through an acyclic time-expanded activity network. Arc ``a``
has a random utility ṽ_a ($) with mean ``mu[a]`` and standard deviation ``sigma[a]``; nothing else
about the joint distribution is known. Over all joint distributions with those marginal moments,
the largest expected longest-path utility is (Natarajan, Song & Teo 2009)

    (D2)  sup E[Π(ṽ)] = max_{y ∈ conv(Λ)} Σ_a ( μ_a y_a + σ_a √(y_a(1−y_a)) ),

with conv(Λ) = {y : B y = f, 0 ≤ y ≤ 1}. The maximiser ``y`` gives the arc *persistencies*
P(x_a = 1) under the extremal (worst-case, path-correlated) distribution, see
:mod:`v2gsim.behavior.extremal`. It is **not** the arc-choice probability of a population of drivers
with independent utilities (for that see :mod:`v2gsim.behavior.logit`).

Conventions (plain arrays; only :meth:`DriverCluster.from_network` reads a
:class:`v2gsim.core.network.ActivityNetwork`):

* ``B`` (n_nodes × n_arcs): node-arc incidence, ``B[n, a] = +1`` if arc ``a`` leaves ``n`` (tail),
  ``−1`` if it enters ``n`` (head).
* ``f`` (n_nodes,): ``+1`` at the single source, ``−1`` at the single sink, ``0`` elsewhere.
* ``mu``, ``sigma``, ``rebate`` (n_arcs,), in $ (utility units); ``sigma >= 0``.
* Node duals ``rho`` are defined up to an additive constant; they are fixed by ``rho[sink] = 0``.
  Reduced utilities are ``lam = mu + rebate − Bᵀ rho`` (C3/S3), i.e.
  ``lam_a = mu_a + s_a − (rho_tail(a) − rho_head(a))``.

Three solution methods are offered (they agree to ~1e-9 in value):

* ``"primal"``: the SOCP (D2)/(D5) with the disk cone ``‖(w_a, y_a − ½)‖₂ ≤ ½`` (equivalent to
  ``w_a ≤ √(y_a(1−y_a))``, models.md S5), solved by cvxpy (Clarabel by default); ``y`` to ~1e-6.
* ``"dual"``: the SOCP (D4) in the node potentials, solved by cvxpy; ``y`` is recovered from (D3)
  (to ~1e-5, so it conserves flow only to that accuracy).
* ``"newton"``: (D4) is smooth, convex and unconstrained in ``rho`` when ``sigma_a > 0`` on every
  free arc; a damped Newton method on it (gradient ``f − B y``, Hessian ``B diag(σ²/(2h³)) Bᵀ``
  with ``h = √(λ²+σ²)``, a weighted graph Laplacian) converges in 5-20 iterations to machine
  precision, needs no problem compilation and is several times faster than a re-parameterised conic
  solve (``analysis/benchmarks/bench_behavior.py``). With some σ_a = 0 it falls back to the primal.

All cvxpy problems are built once with ``cp.Parameter`` (DPP) and only re-parameterised on re-solve;
see :class:`PersistencyModel`, which also documents how arcs whose persistency is fixed by the
network (on every path: ``y = 1``; on no path: ``y = 0``) are handled.

Modules:

* :mod:`~v2gsim.behavior.persistency.arrays`: the validated plain-array view of the network
  (:class:`NetworkArrays`) and array helpers;
* :mod:`~v2gsim.behavior.persistency.closed_form`: the inner maximisation (D3) and the objectives;
* :mod:`~v2gsim.behavior.persistency.newton`: the batched damped Newton method on (D4);
* :mod:`~v2gsim.behavior.persistency.conic`: the checked conic solve and :class:`PersistencySolveError`;
* :mod:`~v2gsim.behavior.persistency.socp`: :class:`PersistencyModel` and :func:`solve_persistency`;
* :mod:`~v2gsim.behavior.persistency.clusters`: :class:`DriverCluster` and the multi-cluster solve;
* :mod:`~v2gsim.behavior.persistency.result`: :class:`PersistencyResult`.
"""

from v2gsim.behavior.persistency.arrays import NetworkArrays, network_arrays
from v2gsim.behavior.persistency.closed_form import (
    dual_objective,
    inner_closed_form,
    persistency_objective,
    stable_h_plus_lam,
)
from v2gsim.behavior.persistency.clusters import (
    ClusterPersistency,
    DriverCluster,
    solve_clusters,
    solve_persistency_clusters,
)
from v2gsim.behavior.persistency.conic import CLARABEL_DEFAULTS, PersistencySolveError
from v2gsim.behavior.persistency.newton import damped_newton
from v2gsim.behavior.persistency.result import PersistencyResult
from v2gsim.behavior.persistency.socp import PersistencyModel, solve_persistency

__all__ = [
    "CLARABEL_DEFAULTS",
    "ClusterPersistency",
    "DriverCluster",
    "NetworkArrays",
    "PersistencyModel",
    "PersistencyResult",
    "PersistencySolveError",
    "damped_newton",
    "dual_objective",
    "inner_closed_form",
    "network_arrays",
    "persistency_objective",
    "solve_clusters",
    "solve_persistency",
    "solve_persistency_clusters",
    "stable_h_plus_lam",
]

"""Single-level MISOCP of seed 000's bilevel problem (models.md §1.5, B2: S1–S6, optional B3), SCIP.

The follower (D5) of every driver cluster is replaced by its optimality conditions: primal
feasibility (S2, S5), dual feasibility (S3) and strong duality written as primal >= dual (S1); the
rebates are discretised and their products with the persistencies linearised (S6); the chance bound
(S4) couples the clusters' mixture (E1) with the bids. Every constraint family is added by one
``define_*`` function (in the order the problem lists them) into a mapping ``family -> constraints``
that :func:`v2gsim.core.solvers.solve_checked` uses to explain infeasibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sps
from numpy.typing import NDArray

from v2gsim.behavior.persistency import NetworkArrays, network_arrays
from v2gsim.core.solvers import solve_checked
from v2gsim.optimize.bilevel.instance import BilevelInstance, DriverCluster
from v2gsim.optimize.chance.cones import bound_constraints

__all__ = [
    "FAMILIES",
    "BilevelMISOCP",
    "define_chance_constraints",
    "define_cutoff_constraint",
    "define_disaggregation_constraints",
    "define_disk_constraints",
    "define_dual_constraints",
    "define_flow_constraints",
    "define_level_constraints",
    "define_strong_duality_constraints",
    "define_valid_inequalities",
]

_SCIP_FEASTOL = 1e-8
"""SCIP's numerics/feastol for the MISOCP: looser values let y drift from the follower's answer."""

FAMILIES = ("levels", "flow", "disk", "dual", "dual_cone", "strong_duality", "disaggregation",
            "chance", "valid_inequalities", "cutoff")
"""Constraint families of the MISOCP, in the order of the problem's constraints."""

Families = dict[str, list[cp.Constraint]]


@dataclass
class _ClusterModel:
    """Variables, parameters and network data of one cluster's follower in the MISOCP.

    Attributes:
        net: the cluster's network arrays.
        F: free arcs (on some but not every path); Fo: forced arcs (y = 1).
        plug: plug-in arcs; hrs: their hours.
        mu, sigma: utility Parameters ($); y: arc persistencies; w: deviations of the free arcs;
        lam, tau: reduced utilities and their cone bounds (free arcs); rho: node potentials.
        BkT: transposed incidence of the kept nodes; s_arc: rebate of every arc (expression, $).
    """

    net: NetworkArrays
    F: NDArray[np.intp]
    Fo: NDArray[np.intp]
    plug: NDArray[np.intp]
    hrs: NDArray[np.int64]
    mu: cp.Parameter
    sigma: cp.Parameter
    y: cp.Variable
    w: cp.Variable
    lam: cp.Variable
    tau: cp.Variable
    rho: cp.Variable
    BkT: sps.csr_matrix
    s_arc: cp.Expression


def _cluster_model(c: int, cl: DriverCluster, T: int, s: cp.Expression) -> _ClusterModel:
    """Check one cluster's network and create its Parameters and variables (rebates ``s``, (T,)).

    Raises:
        ValueError: for arcs on no source-sink path, or several plug-in arcs in one hour.
    """
    net = network_arrays(cl.B, cl.f)
    if not net.on_path.all():
        raise ValueError(f"cluster {cl.name!r}: arcs on no source-sink path; prune them")
    m = net.n_arcs
    F = np.flatnonzero(net.free)
    plug = np.flatnonzero(cl.plug_hour >= 0)
    hrs = cl.plug_hour[plug]
    if len(np.unique(hrs)) != len(hrs):
        raise ValueError(
            f"cluster {cl.name!r}: the MISOCP needs at most one plug-in arc per hour; use the "
            "search methods for networks with several (E1)"
        )
    mu = cp.Parameter(m, name=f"mu_{c}")
    sig = cp.Parameter(m, nonneg=True, name=f"sigma_{c}")
    y = cp.Variable(m, name=f"y_{c}")
    w = cp.Variable(len(F), name=f"w_{c}")
    lam = cp.Variable(len(F), name=f"lam_{c}")
    tau = cp.Variable(len(F), name=f"tau_{c}")
    rho = cp.Variable(len(net.keep), name=f"rho_{c}")
    P = sps.csr_matrix((np.ones(len(plug)), (plug, hrs)), shape=(m, T))  # arc <- hour
    return _ClusterModel(
        net=net, F=F, Fo=np.flatnonzero(net.forced), plug=plug, hrs=hrs, mu=mu, sigma=sig, y=y,
        w=w, lam=lam, tau=tau, rho=rho, BkT=sps.csr_matrix(net.B[net.keep].T), s_arc=P @ s,
    )


def define_level_constraints(fam: Families, z: cp.Variable, free: NDArray[np.bool_]) -> None:
    """(S6, first part) one level per hour, ``Σ_h z_th = 1``; level 0 on the hours that are not free."""
    fam["levels"].append(cp.sum(z, axis=1) == 1)
    fixed = np.flatnonzero(~free)
    if len(fixed):
        fam["levels"].append(z[fixed, 0] == 1)


def define_flow_constraints(fam: Families, cm: _ClusterModel) -> None:
    """(S2) primal feasibility ``B y = f`` (sink row dropped) and ``y_a = 1`` on forced arcs."""
    net = cm.net
    fam["flow"].append(sps.csr_matrix(net.B[net.keep]) @ cm.y == net.f[net.keep])
    if len(cm.Fo):
        fam["flow"].append(cm.y[cm.Fo] == 1)


def define_disk_constraints(fam: Families, cm: _ClusterModel) -> None:
    """(S5) disk cones ``‖(w_a, y_a − ½)‖ <= ½`` (i.e. ``w_a <= √(y_a(1 − y_a))``) on free arcs."""
    fam["disk"].append(cp.SOC(np.full(len(cm.F), 0.5), cp.vstack([cm.w, cm.y[cm.F] - 0.5]), axis=0))


def define_dual_constraints(fam: Families, cm: _ClusterModel) -> None:
    """(S3) reduced utilities ``λ_a = μ_a + s_a − (Bᵀρ)_a`` of the free arcs, and (for the dual side
    of S1) the cones ``τ_a >= ‖(λ_a, σ_a)‖ = √(λ_a² + σ_a²)``."""
    F = cm.F
    fam["dual"].append(cm.lam == cm.mu[F] + cm.s_arc[F] - cm.BkT[F] @ cm.rho)
    fam["dual_cone"].append(cp.SOC(cm.tau, cp.vstack([cm.lam, cm.sigma[F]]), axis=0))


def define_disaggregation_constraints(
    fam: Families, c: int, cm: _ClusterModel, z: cp.Variable, levels: NDArray[np.float64]
) -> tuple[cp.Variable, cp.Expression]:
    """(S6, RECONSTRUCTED) disaggregation of every plug-in arc p of hour t by level:
    ``0 <= y_ph <= z_th``, ``Σ_h y_ph = y_p``; the products ``u_p = Σ_h ŝ_h y_ph`` (= s_t y_p).

    Returns:
        ``(y_ph, u)``: the (n_plug, H) disaggregated persistencies and the (n_plug,) products.
    """
    yd = cp.Variable((len(cm.plug), levels.size), nonneg=True, name=f"ydis_{c}")
    fam["disaggregation"] += [yd <= z[cm.hrs, :], cp.sum(yd, axis=1) == cm.y[cm.plug]]
    return yd, yd @ levels


def define_strong_duality_constraints(fam: Families, cm: _ClusterModel, u: cp.Expression) -> None:
    """(S1) strong duality as primal >= dual:
    ``Σ μ y + Σ_F σ w + Σ u >= ½ Σ_F (λ + τ) + Σ_forced λ + fᵀρ``."""
    net, F, Fo = cm.net, cm.F, cm.Fo
    dual_rhs = 0.5 * cp.sum(cm.lam + cm.tau) + net.f[net.keep] @ cm.rho
    if len(Fo):
        dual_rhs = dual_rhs + cp.sum(cm.mu[Fo] + cm.s_arc[Fo] - cm.BkT[Fo] @ cm.rho)
    fam["strong_duality"].append(cm.mu @ cm.y + cm.sigma[F] @ cm.w + cp.sum(u) >= dual_rhs)


def define_valid_inequalities(
    fam: Families, c: int, cm: _ClusterModel, yd: cp.Variable, z: cp.Variable, T: int, H: int
) -> tuple[cp.Parameter, cp.Parameter]:
    """(B3) level-specific bounds ``y̲_cth z_th <= y_cth <= ȳ_cth z_th`` (Parameters, vacuous at first).

    Returns:
        The (T, H) Parameters ``(y̲_c, ȳ_c)``.
    """
    lo_p = cp.Parameter((T, H), nonneg=True, name=f"vi_lo_{c}")
    hi_p = cp.Parameter((T, H), nonneg=True, name=f"vi_hi_{c}")
    lo_p.value = np.zeros((T, H))
    hi_p.value = np.ones((T, H))
    hrs = cm.hrs
    fam["valid_inequalities"] += [
        yd >= cp.multiply(lo_p[hrs, :], z[hrs, :]),
        yd <= cp.multiply(hi_p[hrs, :], z[hrs, :]),
    ]
    return lo_p, hi_p


def _hourly(cm: _ClusterModel, T: int) -> tuple[cp.Expression, cp.Expression]:
    """(T,) hourly persistency and deviation of the cluster (0 for hours without a plug-in arc)."""
    m = cm.net.n_arcs
    Ah = sps.csr_matrix((np.ones(len(cm.plug)), (cm.hrs, cm.plug)), shape=(T, m))
    posF = np.full(m, -1)
    posF[cm.F] = np.arange(len(cm.F))
    wp = [(t, posF[p]) for p, t in zip(cm.plug, cm.hrs, strict=True) if posF[p] >= 0]
    Wmap = sps.csr_matrix(
        (np.ones(len(wp)), ([t for t, _ in wp], [k for _, k in wp])), shape=(T, len(cm.F))
    )
    return Ah @ cm.y, Wmap @ cm.w


def define_chance_constraints(
    fam: Families, C: cp.Variable, Y: cp.Expression, W: cp.Expression, instance: BilevelInstance,
    r_bar: cp.Parameter, sigma_dev: cp.Parameter,
) -> None:
    """(S4) bound (3)/(4) on the mixture ``Σ_c M_c y_ct``, ``Σ_c M_c w_ct²`` (E1) with the explicit
    no-bid switch and the physical cap ``C_t <= ψ Σ_c M_c y_ct``, through
    :func:`v2gsim.optimize.chance.cones.bound_constraints`."""
    ch = bound_constraints(
        C, Y, M=instance.cluster_sizes, psi=instance.psi, r_bar=r_bar,
        sigma=sigma_dev, eta=instance.eta, bound=instance.bound, w=W, disk=False,
        no_bid=True, cap=True,
    )
    fam["chance"] += ch.constraints


def define_cutoff_constraint(fam: Families, objective: cp.Expression, cutoff: cp.Parameter) -> None:
    """Objective cutoff ``objective >= cutoff`` (a known solution's value, $; −1e9 when unused)."""
    fam["cutoff"].append(objective >= cutoff)


class BilevelMISOCP:
    """Single-level MISOCP of the bilevel problem (models.md §1.5, S1–S6, S4 with no-bid switch).

    For every cluster c (network arrays B, f; free arcs F on some but not every path, forced arcs
    with y = 1):

    * (S2) ``B y = f``; (S5) disk cones ``‖(w_a, y_a − ½)‖ <= ½`` on free arcs;
    * (S3) ``λ_a = μ_a + s_a − (Bᵀρ)_a`` as variables, and cones ``τ_a >= ‖(λ_a, σ_a)‖``;
    * (S1) ``Σ μ y + Σ_F σ w + Σ u >= ½ Σ_F (λ + τ) + Σ_forced λ + fᵀρ`` (strong duality);
    * (S6) ``s_t = Σ_h ŝ_h z_th``, ``Σ_h z_th = 1``, and for every plug-in arc p of hour t,
      ``0 <= y_ph <= z_th``, ``Σ_h y_ph = y_p``, ``u_p = Σ_h ŝ_h y_ph`` (= s_t y_p);
    * (S4) bound (3)/(4) on the mixture ``Σ_c M_c y_ct``, ``Σ_c M_c w_ct²`` through
      :func:`v2gsim.optimize.chance.cones.bound_constraints` with the explicit no-bid switch, and
      the physical cap ``C_t <= ψ Σ_c M_c y_ct`` (as the closed-form leader bids);
    * optional (B3) level-specific bounds ``y̲_cth z_th <= y_cth <= ȳ_cth z_th`` (see
      :meth:`set_valid_inequalities`).

    Every cone is over plain variables (cvxpy's SCIP interface also introduces one variable per cone
    entry), so SCIP recognises them as second-order cones. μ, σ (per cluster), p̄, r̄, σ_t and the
    (B3) bounds are cvxpy Parameters; the structure (networks, M_c, ψ, η, levels) is fixed.
    Requires at most one plug-in arc per hour and cluster (the deviation w_ct of an hour with
    several plug-in arcs, E1 workplace charging, is not forced up by S1). S1 forces
    ``w_a = √(y_a(1 − y_a))`` only where σ_a > 0; a plug-in arc with σ = 0 would let the bound (S4)
    use a smaller w, a relaxation (the search methods are exact there).

    Args:
        instance: the instance.
        valid_inequalities: include the (B3) rows (their bounds are set by
            :meth:`set_valid_inequalities`; until then they are vacuous).

    Attributes:
        problem: the cvxpy problem.
        families: constraints by family name (for :func:`v2gsim.core.solvers.solve_checked`).
        z: (T, H) Boolean level choices; C: (T,) bids (kW); y: per-cluster arc persistencies.
    """

    def __init__(self, instance: BilevelInstance, *, valid_inequalities: bool = False) -> None:
        self.instance = instance
        T, H = instance.hours, instance.levels.size
        lv = instance.levels
        self.z = cp.Variable((T, H), boolean=True, name="z")
        self.C = cp.Variable(T, name="C")
        self.price = cp.Parameter(T, name="price")
        self.r_bar = cp.Parameter(T, nonneg=True, name="r_bar")
        self.sigma_dev = cp.Parameter(T, nonneg=True, name="sigma_dev")
        self.cutoff = cp.Parameter(name="cutoff")
        fam: Families = {k: [] for k in FAMILIES}
        define_level_constraints(fam, self.z, instance.free)
        s = self.z @ lv  # (T,) rebates
        self.mu: list[cp.Parameter] = []
        self.sigma: list[cp.Parameter] = []
        self.y: list[cp.Variable] = []
        self.vi_lo: list[cp.Parameter] = []
        self.vi_hi: list[cp.Parameter] = []
        y_cols, w_cols = [], []
        paid = 0
        for c, cl in enumerate(instance.clusters):
            cm = _cluster_model(c, cl, T, s)
            self.mu.append(cm.mu)
            self.sigma.append(cm.sigma)
            self.y.append(cm.y)
            define_flow_constraints(fam, cm)
            define_disk_constraints(fam, cm)
            define_dual_constraints(fam, cm)
            yd, u = define_disaggregation_constraints(fam, c, cm, self.z, lv)
            define_strong_duality_constraints(fam, cm, u)
            yh, wh = _hourly(cm, T)
            y_cols.append(yh)
            w_cols.append(wh)
            paid = paid + instance.cluster_sizes[c] * cp.sum(u)
            if valid_inequalities:
                lo_p, hi_p = define_valid_inequalities(fam, c, cm, yd, self.z, T, H)
                self.vi_lo.append(lo_p)
                self.vi_hi.append(hi_p)
        Y = cp.vstack(y_cols).T  # (T, n_c)
        W = cp.vstack(w_cols).T
        define_chance_constraints(fam, self.C, Y, W, instance, self.r_bar, self.sigma_dev)
        self.objective_expr = self.price @ self.C - paid
        define_cutoff_constraint(fam, self.objective_expr, self.cutoff)
        self.families = fam
        cons = [c for cs in fam.values() for c in cs]
        self.problem = cp.Problem(cp.Maximize(self.objective_expr), cons)
        self.valid_inequalities = valid_inequalities
        self.set_parameters(instance)
        self.cutoff.value = -1e9

    def set_parameters(self, instance: BilevelInstance) -> None:
        """Copy the instance's utilities, prices and requirement statistics into the Parameters."""
        self.instance = instance
        for c, cl in enumerate(instance.clusters):
            self.mu[c].value = cl.mu
            self.sigma[c].value = cl.sigma
        self.price.value = instance.price
        self.r_bar.value = instance.r_bar
        self.sigma_dev.value = instance.sigma_dev

    def set_valid_inequalities(self, lo: list[NDArray], hi: list[NDArray]) -> None:
        """Set the (B3) bounds: per cluster (T, H) arrays y̲_cth, ȳ_cth of the hourly persistency.

        Raises:
            ValueError: if the problem was built without valid inequalities.
        """
        if not self.valid_inequalities:
            raise ValueError("built without valid inequalities")
        for c in range(len(self.vi_lo)):
            self.vi_lo[c].value = np.clip(lo[c], 0.0, 1.0)
            self.vi_hi[c].value = np.clip(hi[c], 0.0, 1.0)

    def solve(
        self, *, time_limit: float, rel_gap: float = 1e-4, cutoff: float | None = None,
        scip_params: dict[str, Any] | None = None,
    ) -> tuple[NDArray[np.int64], list[NDArray[np.float64]], float | None, Any]:
        """Solve with SCIP.

        Args:
            time_limit: SCIP time limit (s).
            rel_gap: SCIP relative gap limit.
            cutoff: optional lower limit on the objective (a known solution's value, $).
            scip_params: extra SCIP parameters.

        Returns:
            ``(level_index, y_arcs per cluster, upper_bound or None, report)``.

        Raises:
            SolveError: from :func:`v2gsim.core.solvers.solve_checked`.
        """
        self.cutoff.value = -1e9 if cutoff is None else float(cutoff)
        params = {"numerics/feastol": _SCIP_FEASTOL}
        params.update(scip_params or {})
        rep = solve_checked(
            self.problem, "SCIP", name="bilevel MISOCP (S1-S6)", time_limit=time_limit,
            rel_gap=rel_gap, families=self.families, diagnose=False, warn=False, scip_params=params,
        )
        z = np.asarray(self.z.value, dtype=float)
        idx = np.argmax(z, axis=1).astype(np.int64)
        ys = [np.asarray(v.value, dtype=float) for v in self.y]
        return idx, ys, rep.dual_bound, rep

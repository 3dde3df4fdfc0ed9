"""Seed 000's bilevel rebate-and-bid problem (models.md §1.5, B1–B3, S1–S6, E1), solved fast.

The platform (leader) chooses hourly plug-in rebates ``s_t`` from discrete levels ŝ_h ($ per plugged
EV-hour) and regulation bids ``C_t`` (kW) to maximise expected credits minus rebates paid,

    max_{s, C}  Σ_t ( p̄_t C_t − s_t Σ_c M_c y_ct )                                              (B1)

subject to the chance bound (3) or (4) on C_t for every hour (with the no-bid switch for quiet
hours), knowing that every driver cluster c (share π_c, M_c = π_c M EVs) answers with the
persistencies y_c(s) of the persistency model with rebates (D5). Several clusters enter the bound as a
mixture (E1): mean Σ_c M_c y_ct, spread Σ_c M_c y_ct(1 − y_ct). The persistencies y are those of the
persistency model's extremal (worst-case, path-correlated) distribution of utilities, the
prediction the platform plans with (models.md D2), not plug-in frequencies of independent drivers.

Two formulations are offered:

* **Exact-follower search** (:mod:`v2gsim.optimize.bilevel_search`): for fixed s the best bids are
  the closed form of the bound, so the leader's value V(s) is an explicit function of the follower's
  response. A coordinate search (heuristic) and a branch-and-bound over level domains (exact, with
  bounds from the follower's monotone response, models.md B3) re-solve the follower exactly with
  a batched Newton method (:class:`v2gsim.optimize.bilevel_follower.BatchFollower`).
* **Single-level MISOCP** (:class:`BilevelMISOCP`, S1–S6 + S4 + no-bid switch, optional valid
  inequalities B3), built once with cvxpy Parameters and solved with SCIP.

Every returned solution is re-evaluated exactly: the follower is re-solved at the chosen rebates by
:class:`v2gsim.behavior.persistency.PersistencyModel` (Newton on D4), the bids are the closed form
(:func:`v2gsim.market.chance.max_bid`) at those persistencies and the reported objective is V(s) at
that point. The certificate is ``max |y − y_follower|`` over all arcs and clusters between the
persistencies the method worked with and the follower's (``certificate``), and against an
independent conic solve of the follower (Clarabel, ``certificate_primal``).

Daily re-solves. :class:`BilevelProblem` is built once per network set; :meth:`BilevelProblem.update`
re-parameterises it (prices, requirement statistics, utilities) and :meth:`BilevelProblem.solve`
takes yesterday's rebates as ``warm_start`` and a ``time_limit``; when the exact phase runs out of
time the best solution found is returned with its certified upper bound (status ``"time_limit"``),
and when it fails the best known solution (warm start, coordinate search or no rebates) is returned
with status ``"fallback"``. The objective is never below the no-rebate (``chance``) objective, which
is always evaluated as a candidate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import cvxpy as cp
import numpy as np
import scipy.sparse as sps
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.persistency import PersistencyModel, network_arrays
from v2gsim.market.chance import Bound, kappa, max_bid
from v2gsim.market.chance_cones import bound_constraints
from v2gsim.market.prices import PJM2016_CAPABILITY, PJM2016_PERFORMANCE
from v2gsim.market.settlement import KW_PER_MW
from v2gsim.network import PLUG, ActivityNetwork, build_network
from v2gsim.optimize.bilevel_follower import BatchFollower, SubstitutionReport, substitution_report
from v2gsim.optimize.bilevel_search import (
    Y_TOL,
    LeaderData,
    SearchResult,
    SOCBound,
    branch_and_bound,
    brute_force_search,
    coordinate_search,
)
from v2gsim.optimize.solvers import SolveError, solve_checked

__all__ = [
    "BilevelInstance",
    "BilevelMISOCP",
    "BilevelProblem",
    "BilevelSolution",
    "DriverCluster",
    "Method",
    "brute_force",
    "default_instance",
    "solve_bilevel",
]

Method = Literal["bnb", "coordinate", "misocp", "brute_force"]
"""Solution methods: exact branch-and-bound, coordinate search, SCIP on the MISOCP, enumeration."""

_SCIP_FEASTOL = 1e-8
"""SCIP's numerics/feastol for the MISOCP: looser values let y drift from the follower's answer."""


# --------------------------------------------------------------------------------------------------
# Instance
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DriverCluster:
    """One driver cluster: its activity network and arc utilities (models.md §1.1–1.2).

    Attributes:
        name: label.
        B: (n_nodes, n_arcs) node-arc incidence (+1 tail, −1 head).
        f: (n_nodes,) supply (+1 source, −1 sink).
        mu: (n_arcs,) mean arc utilities ($).
        sigma: (n_arcs,) standard deviations of the arc utilities ($, ≥ 0).
        plug_hour: (n_arcs,) hour t of each charging (plug-in) arc, −1 for other arcs; the rebate
            s_t is added to the utility of every plug-in arc of hour t (D5).
    """

    name: str
    B: NDArray[np.float64]
    f: NDArray[np.float64]
    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]
    plug_hour: NDArray[np.int64]

    def __post_init__(self) -> None:
        B = np.asarray(self.B.toarray() if sps.issparse(self.B) else self.B, dtype=float)
        object.__setattr__(self, "B", B)
        for name in ("f", "mu", "sigma"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float).ravel())
        object.__setattr__(self, "plug_hour", np.asarray(self.plug_hour, dtype=np.int64).ravel())
        n, m = B.shape
        if self.f.shape != (n,):
            raise ValueError(f"cluster {self.name!r}: f must have shape ({n},)")
        for name in ("mu", "sigma", "plug_hour"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"cluster {self.name!r}: {name} must have shape ({m},)")
        if np.any(self.sigma < 0):
            raise ValueError(f"cluster {self.name!r}: sigma must be >= 0")

    @classmethod
    def from_network(
        cls,
        net: ActivityNetwork,
        name: str = "cluster",
        mu: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> DriverCluster:
        """Cluster from an :class:`~v2gsim.network.ActivityNetwork` (plug arcs: ``kind == 1``).

        Args:
            net: the network.
            name: label.
            mu: mean utilities ($), default ``net.mu``.
            sigma: standard deviations ($), default ``net.sigma``.

        Raises:
            ValueError: if a plug-in arc spans more than one hour.
        """
        plug = net.kind == PLUG
        if np.any(net.duration[plug] != 1):
            raise ValueError("plug-in arcs must span exactly one hour")
        return cls(
            name=name,
            B=net.incidence,
            f=net.supply,
            mu=net.mu if mu is None else np.asarray(mu, float),
            sigma=net.sigma if sigma is None else np.asarray(sigma, float),
            plug_hour=np.where(plug, net.hour, -1),
        )

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return int(self.B.shape[1])


def _vec(x: ArrayLike, T: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(x, dtype=float)
    if v.ndim == 0:
        v = np.full(T, float(v))
    if v.shape != (T,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite scalar or ({T},) array, got shape {v.shape}")
    return v


@dataclass(frozen=True, eq=False)
class BilevelInstance:
    """Data of one day's bilevel problem (models.md §1.5).

    Attributes:
        clusters: the driver clusters.
        shares: (n_clusters,) population shares π_c (sum to 1).
        fleet_size: M, number of EVs.
        psi: per-EV regulation capability ψ (kW).
        levels: (H,) rebate levels ŝ_h ($ per plugged EV-hour), increasing, the first 0.
        price: (T,) expected regulation price p̄_t ($ per kW of bid per hour).
        r_bar: (T,) mean requirement r̄_t per kW of bid (kW/kW), > 0.
        sigma_dev: (T,) deviation of the requirement (kW/kW): σ^f_t for bound 3, σ^b_t for bound 4.
        eta: allowed violation probability η.
        bound: 3 or 4 (models.md §1.4).
        free_hours: (T,) hours whose rebate may be non-zero (others fixed at 0); default all.
        soc: optional state-of-charge guarantee (models.md E3); then ``psi`` is the headroom
            ψ − ω and the bids also satisfy :class:`~v2gsim.optimize.bilevel_search.SOCBound`.
            Supported by the search methods, not by the MISOCP.
    """

    clusters: tuple[DriverCluster, ...]
    shares: NDArray[np.float64]
    fleet_size: float
    psi: float
    levels: NDArray[np.float64]
    price: NDArray[np.float64]
    r_bar: NDArray[np.float64]
    sigma_dev: NDArray[np.float64]
    eta: float = 0.05
    bound: Bound = 3
    free_hours: NDArray[np.bool_] | None = None
    soc: SOCBound | None = None

    def __post_init__(self) -> None:
        clusters = tuple(self.clusters)
        if not clusters:
            raise ValueError("need at least one driver cluster")
        object.__setattr__(self, "clusters", clusters)
        price = np.asarray(self.price, dtype=float).ravel()
        T = price.shape[0]
        if T < 1 or not np.all(np.isfinite(price)):
            raise ValueError("price must be a finite (T,) array")
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "r_bar", _vec(self.r_bar, T, "r_bar"))
        object.__setattr__(self, "sigma_dev", _vec(self.sigma_dev, T, "sigma_dev"))
        if np.any(self.r_bar <= 0) or np.any(self.sigma_dev < 0):
            raise ValueError("r_bar must be > 0 and sigma_dev >= 0 (kW/kW)")
        sh = np.asarray(self.shares, dtype=float).ravel()
        if sh.shape != (len(clusters),) or np.any(sh <= 0) or not np.isclose(sh.sum(), 1.0, atol=1e-9):
            raise ValueError(f"shares must be {len(clusters)} positive numbers summing to 1, got {sh}")
        object.__setattr__(self, "shares", sh)
        lv = np.asarray(self.levels, dtype=float).ravel()
        if lv.size < 1 or lv[0] != 0.0 or np.any(np.diff(lv) <= 0):
            raise ValueError(f"levels must be increasing and start at 0 ($), got {lv}")
        object.__setattr__(self, "levels", lv)
        if not (self.fleet_size > 0 and self.psi > 0):
            raise ValueError("fleet_size and psi must be > 0")
        if not 0 < self.eta < 1:
            raise ValueError(f"eta must lie in (0, 1), got {self.eta}")
        if self.bound not in (3, 4):
            raise ValueError(f"bound must be 3 or 4, got {self.bound}")
        fh = np.ones(T, dtype=bool) if self.free_hours is None else np.asarray(self.free_hours, bool)
        if fh.shape != (T,):
            raise ValueError(f"free_hours must have shape ({T},)")
        object.__setattr__(self, "free_hours", fh)
        for c in clusters:
            if np.any(c.plug_hour >= T):
                raise ValueError(f"cluster {c.name!r} has plug-in arcs beyond hour {T - 1}")

    @property
    def hours(self) -> int:
        """Number of hours T."""
        return int(self.price.shape[0])

    @property
    def n_clusters(self) -> int:
        """Number of driver clusters."""
        return len(self.clusters)

    @property
    def cluster_sizes(self) -> NDArray[np.float64]:
        """M_c = π_c M (EVs)."""
        return self.shares * float(self.fleet_size)

    @property
    def kappa(self) -> float:
        """Multiplier κ of the chance bound (models.md §1.4)."""
        return float(kappa(self.eta, self.bound))

    @property
    def free(self) -> NDArray[np.bool_]:
        """(T,) hours whose rebate may be non-zero."""
        assert self.free_hours is not None
        return self.free_hours

    def replace(self, **changes: Any) -> BilevelInstance:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)


# --------------------------------------------------------------------------------------------------
# Solution
# --------------------------------------------------------------------------------------------------


@dataclass
class BilevelSolution:
    """A solution of the bilevel problem, re-evaluated exactly.

    Attributes:
        rebates: (T,) rebates s_t ($ per plugged EV-hour).
        level_index: (T,) index of each rebate in ``instance.levels``.
        bids: (T,) closed-form bids C_t (kW) at the follower's persistencies.
        y: (T, n_clusters) hourly plug-in persistency of every cluster (follower, exact).
        plug_fraction: (T,) predicted fraction of the whole fleet plugged in, ``Σ_c π_c y_ct``.
        objective: V(s) = credits − rebates ($ per day), exactly re-evaluated.
        credit: Σ_t p̄_t C_t ($).
        rebate_cost: Σ_t s_t Σ_c M_c y_ct ($).
        objective_no_rebates: V(0), the ``chance`` policy's objective ($).
        upper_bound: certified upper bound on the optimum ($); ``inf`` when none.
        gap: ``(upper_bound − objective) / |objective|``.
        solve_time_s: wall-clock time of the solve (s).
        method: method used (``bnb``, ``coordinate``, ``misocp``, ``brute_force``).
        solver: engine (``batched-newton`` for the search methods, ``SCIP`` for the MISOCP).
        status: ``optimal`` (gap within the requested tolerance), ``time_limit`` (best found at
            the limit), ``feasible`` (heuristic without proof), ``fallback`` (the exact phase
            failed, best known solution returned; see ``message``).
        certificate: max |y − y_follower| over all arcs and clusters (method vs Newton follower).
        certificate_primal: same against Clarabel's primal SOCP of the follower.
        nodes: branch-and-bound nodes.
        evaluations: follower solves (rebate vectors × clusters).
        substitution: largest sampled substitution effect between charging hours (1/$; 0 means
            the charging arcs behaved as complements, models.md B3).
        message: notes (fallback reason, solver status).
    """

    rebates: NDArray[np.float64]
    level_index: NDArray[np.int64]
    bids: NDArray[np.float64]
    y: NDArray[np.float64]
    plug_fraction: NDArray[np.float64]
    objective: float
    credit: float
    rebate_cost: float
    objective_no_rebates: float
    upper_bound: float
    gap: float
    solve_time_s: float
    method: str
    solver: str
    status: str
    certificate: float
    certificate_primal: float
    nodes: int = 0
    evaluations: int = 0
    substitution: float = 0.0
    message: str = ""

    @property
    def improvement(self) -> float:
        """Relative gain over no rebates, ``objective / objective_no_rebates − 1``."""
        return self.objective / self.objective_no_rebates - 1.0 if self.objective_no_rebates else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists for arrays)."""
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                out[k] = v.tolist()
            elif isinstance(v, (np.floating, np.integer)):
                out[k] = v.item()
            else:
                out[k] = v
        out["improvement"] = self.improvement
        return out


# --------------------------------------------------------------------------------------------------
# MISOCP (S1–S6)
# --------------------------------------------------------------------------------------------------


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
      :func:`v2gsim.market.chance_cones.bound_constraints` with the explicit no-bid switch;
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
        families: constraints by family name (for :func:`v2gsim.optimize.solvers.solve_checked`).
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
        fam: dict[str, list[cp.Constraint]] = {
            k: [] for k in ("levels", "flow", "disk", "dual", "dual_cone", "strong_duality",
                            "disaggregation", "chance", "valid_inequalities", "cutoff")
        }
        fam["levels"].append(cp.sum(self.z, axis=1) == 1)
        fixed = np.flatnonzero(~instance.free)
        if len(fixed):
            fam["levels"].append(self.z[fixed, 0] == 1)
        s = self.z @ lv  # (T,) rebates
        self.mu: list[cp.Parameter] = []
        self.sigma: list[cp.Parameter] = []
        self.y: list[cp.Variable] = []
        self.vi_lo: list[cp.Parameter] = []
        self.vi_hi: list[cp.Parameter] = []
        y_cols, w_cols = [], []
        paid = 0
        for c, cl in enumerate(instance.clusters):
            net = network_arrays(cl.B, cl.f)
            if not net.on_path.all():
                raise ValueError(f"cluster {cl.name!r}: arcs on no source-sink path; prune them")
            m = net.n_arcs
            F = np.flatnonzero(net.free)
            Fo = np.flatnonzero(net.forced)
            plug = np.flatnonzero(cl.plug_hour >= 0)
            hrs = cl.plug_hour[plug]
            if len(np.unique(hrs)) != len(hrs):
                raise ValueError(
                    f"cluster {cl.name!r}: the MISOCP needs at most one plug-in arc per hour; use the "
                    "search methods for networks with several (E1)"
                )
            mu = cp.Parameter(m, name=f"mu_{c}")
            sig = cp.Parameter(m, nonneg=True, name=f"sigma_{c}")
            self.mu.append(mu)
            self.sigma.append(sig)
            y = cp.Variable(m, name=f"y_{c}")
            w = cp.Variable(len(F), name=f"w_{c}")
            lam = cp.Variable(len(F), name=f"lam_{c}")
            tau = cp.Variable(len(F), name=f"tau_{c}")
            rho = cp.Variable(len(net.keep), name=f"rho_{c}")
            self.y.append(y)
            Bk = sps.csr_matrix(net.B[net.keep])
            BkT = sps.csr_matrix(net.B[net.keep].T)
            P = sps.csr_matrix((np.ones(len(plug)), (plug, hrs)), shape=(m, T))  # arc <- hour
            s_arc = P @ s
            fam["flow"].append(Bk @ y == net.f[net.keep])
            if len(Fo):
                fam["flow"].append(y[Fo] == 1)
            fam["disk"].append(cp.SOC(np.full(len(F), 0.5), cp.vstack([w, y[F] - 0.5]), axis=0))
            fam["dual"].append(lam == mu[F] + s_arc[F] - BkT[F] @ rho)
            fam["dual_cone"].append(cp.SOC(tau, cp.vstack([lam, sig[F]]), axis=0))
            # (S6) disaggregation of the plug-in arcs by level
            yd = cp.Variable((len(plug), H), nonneg=True, name=f"ydis_{c}")
            fam["disaggregation"] += [yd <= self.z[hrs, :], cp.sum(yd, axis=1) == y[plug]]
            u = yd @ lv  # (n_plug,) = s_t y_p
            dual_rhs = 0.5 * cp.sum(lam + tau) + net.f[net.keep] @ rho
            if len(Fo):
                dual_rhs = dual_rhs + cp.sum(mu[Fo] + s_arc[Fo] - BkT[Fo] @ rho)
            fam["strong_duality"].append(mu @ y + sig[F] @ w + cp.sum(u) >= dual_rhs)
            # hourly y and w of the cluster (0 for hours without a plug-in arc)
            Ah = sps.csr_matrix((np.ones(len(plug)), (hrs, plug)), shape=(T, m))
            y_cols.append(Ah @ y)
            posF = np.full(m, -1)
            posF[F] = np.arange(len(F))
            wp = [(t, posF[p]) for p, t in zip(plug, hrs, strict=True) if posF[p] >= 0]
            Wmap = sps.csr_matrix(
                (np.ones(len(wp)), ([t for t, _ in wp], [k for _, k in wp])), shape=(T, len(F))
            )
            w_cols.append(Wmap @ w)
            paid = paid + instance.cluster_sizes[c] * cp.sum(u)
            if valid_inequalities:
                lo_p = cp.Parameter((T, H), nonneg=True, name=f"vi_lo_{c}")
                hi_p = cp.Parameter((T, H), nonneg=True, name=f"vi_hi_{c}")
                lo_p.value = np.zeros((T, H))
                hi_p.value = np.ones((T, H))
                self.vi_lo.append(lo_p)
                self.vi_hi.append(hi_p)
                fam["valid_inequalities"] += [
                    yd >= cp.multiply(lo_p[hrs, :], self.z[hrs, :]),
                    yd <= cp.multiply(hi_p[hrs, :], self.z[hrs, :]),
                ]
        Y = cp.vstack(y_cols).T  # (T, n_c)
        W = cp.vstack(w_cols).T
        ch = bound_constraints(
            self.C, Y, M=instance.cluster_sizes, psi=instance.psi, r_bar=self.r_bar,
            sigma=self.sigma_dev, eta=instance.eta, bound=instance.bound, w=W, disk=False,
            no_bid=True,
        )
        fam["chance"] += ch.constraints
        self.objective_expr = self.price @ self.C - paid
        fam["cutoff"].append(self.objective_expr >= self.cutoff)
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
            SolveError: from :func:`v2gsim.optimize.solvers.solve_checked`.
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


# --------------------------------------------------------------------------------------------------
# Problem object (built once, re-parameterised daily)
# --------------------------------------------------------------------------------------------------


class BilevelProblem:
    """The bilevel problem of one set of networks, built once and re-solved.

    Args:
        instance: the instance.
        substitution_samples: rebate vectors at which the complementarity of the charging arcs is
            checked (the two extreme vectors plus random level vectors).
        safety: multiplier of the sampled substitution effects in the branch-and-bound margins and
            the (B3) rows.
        seed: seed of the random sample vectors.
    """

    def __init__(
        self,
        instance: BilevelInstance,
        *,
        substitution_samples: int = 32,
        safety: float = 2.0,
        seed: int = 0,
    ) -> None:
        self.substitution_samples = int(substitution_samples)
        self.safety = float(safety)
        self.seed = int(seed)
        T = instance.hours
        self._followers = [
            BatchFollower(cl.B, cl.f, cl.mu, cl.sigma, cl.plug_hour, T) for cl in instance.clusters
        ]
        self._reference = [PersistencyModel(cl.B, cl.f, method="newton") for cl in instance.clusters]
        self._primal = [PersistencyModel(cl.B, cl.f, method="primal") for cl in instance.clusters]
        self._misocp: dict[bool, BilevelMISOCP] = {}
        self._subst: list[SubstitutionReport] | None = None
        self.instance = instance
        self._ld = self._leader_data(instance)

    def _leader_data(self, inst: BilevelInstance) -> LeaderData:
        return LeaderData(
            followers=self._followers, M=inst.cluster_sizes, psi=float(inst.psi), kappa=inst.kappa,
            price=inst.price, r_bar=inst.r_bar, sigma_dev=inst.sigma_dev, levels=inst.levels,
            soc=inst.soc,
            free=inst.free, safety=self.safety,
        )

    # -- parameters ---------------------------------------------------------------------------------

    def update(self, instance: BilevelInstance | None = None, **changes: Any) -> None:
        """Re-parameterise for a new day: a new instance on the same networks, or changed fields.

        Args:
            instance: the new instance (same cluster networks: incidence and plug-in arcs).
            **changes: fields of the current instance to replace (``price``, ``r_bar``,
                ``sigma_dev``, ``shares``, ``fleet_size``, ``clusters`` with new utilities, ...).

        Raises:
            ValueError: if the networks changed (build a new problem then).
        """
        new = instance if instance is not None else self.instance.replace(**changes)
        old = self.instance
        if new.n_clusters != old.n_clusters or any(
            a.B.shape != b.B.shape
            or not np.array_equal(a.B, b.B)
            or not np.array_equal(a.plug_hour, b.plug_hour)
            for a, b in zip(new.clusters, old.clusters, strict=True)
        ):
            raise ValueError("the cluster networks changed: build a new BilevelProblem")
        if new.hours != old.hours:
            raise ValueError("the number of hours changed: build a new BilevelProblem")
        utilities_changed = False
        for fol, a, b in zip(self._followers, new.clusters, old.clusters, strict=True):
            if not (np.array_equal(a.mu, b.mu) and np.array_equal(a.sigma, b.sigma)):
                fol.set_utilities(a.mu, a.sigma)
                utilities_changed = True
        if utilities_changed:
            self._subst = None
        structural = (
            not np.array_equal(new.shares, old.shares) or new.fleet_size != old.fleet_size
            or new.psi != old.psi or new.eta != old.eta or new.bound != old.bound
            or not np.array_equal(new.levels, old.levels)
            or not np.array_equal(new.free, old.free)
        )
        if structural:
            self._misocp.clear()
        self.instance = new
        old_ld = self._ld
        self._ld = self._leader_data(new)
        if not utilities_changed:  # follower responses depend on the utilities only
            self._ld._cache = old_ld._cache

    def substitution(self) -> list[SubstitutionReport]:
        """Complementarity check of every cluster's charging arcs (cached until utilities change)."""
        if self._subst is None:
            inst = self.instance
            T = inst.hours
            rng = np.random.default_rng(self.seed)
            top = np.where(inst.free, inst.levels[-1], 0.0)
            k = max(self.substitution_samples - 2, 0)
            rand = inst.levels[rng.integers(0, inst.levels.size, size=(k, T))] * inst.free[None, :]
            S = np.vstack([np.zeros(T), top, rand])
            self._subst = [substitution_report(f, S) for f in self._followers]
        return self._subst

    def _nu(self) -> NDArray[np.float64]:
        return np.stack([r.pairwise for r in self.substitution()])

    # -- exact evaluation -----------------------------------------------------------------------

    def follower(
        self, rebates: ArrayLike, *, method: Literal["newton", "primal"] = "newton"
    ) -> list[NDArray]:
        """Arc persistencies of every cluster at hourly rebates ``rebates`` ($), solved exactly."""
        s = np.asarray(rebates, dtype=float).ravel()
        models = self._reference if method == "newton" else self._primal
        out = []
        for cl, mdl in zip(self.instance.clusters, models, strict=True):
            reb = np.where(cl.plug_hour >= 0, s[np.maximum(cl.plug_hour, 0)], 0.0)
            out.append(mdl.solve(cl.mu, cl.sigma, reb).y)
        return out

    def hourly(self, y_arcs: list[NDArray]) -> NDArray[np.float64]:
        """(T, n_clusters) hourly plug-in persistencies from per-cluster arc persistencies."""
        T = self.instance.hours
        cols = []
        for cl, y in zip(self.instance.clusters, y_arcs, strict=True):
            plug = cl.plug_hour >= 0
            cols.append(np.bincount(cl.plug_hour[plug], weights=y[plug], minlength=T))
        return np.stack(cols, axis=1)

    def value(self, rebates: ArrayLike, y_hours: NDArray[np.float64]) -> tuple[float, float, NDArray]:
        """``(credit, rebate_cost, bids)`` of rebates and hourly persistencies (B1, closed-form bids)."""
        inst = self.instance
        s = np.asarray(rebates, dtype=float).ravel()
        bids = np.asarray(
            max_bid(np.clip(y_hours, 0, 1), inst.cluster_sizes, inst.psi, inst.r_bar, inst.sigma_dev,
                    inst.eta, bound=inst.bound),
            dtype=float,
        )
        if inst.soc is not None:  # E3: the bid must also satisfy the state-of-charge guarantee
            yc = np.clip(y_hours, 0, 1)
            b = inst.psi * (yc @ inst.cluster_sizes)
            a = inst.psi**2 * ((yc * (1.0 - yc)) @ inst.cluster_sizes)
            bids = np.minimum(bids, inst.soc.cap(b, a, inst.psi))
        bids = np.where(inst.price > 0, bids, 0.0)
        credit = float(inst.price @ bids)
        paid = float(np.einsum("t,tc,c->", s, y_hours, inst.cluster_sizes))
        return credit, paid, bids

    def objective(self, rebates: ArrayLike) -> float:
        """Exact V(s) ($): follower re-solved (Newton), closed-form bids."""
        yh = self.hourly(self.follower(rebates))
        credit, paid, _ = self.value(rebates, yh)
        return credit - paid

    def _level_index(self, rebates: ArrayLike) -> NDArray[np.int64]:
        s = np.asarray(rebates, dtype=float).ravel()
        if s.shape != (self.instance.hours,):
            raise ValueError(f"rebates must have shape ({self.instance.hours},)")
        idx = np.abs(s[:, None] - self.instance.levels[None, :]).argmin(axis=1).astype(np.int64)
        idx[~self.instance.free] = 0
        return idx

    def _finish(
        self, idx: NDArray[np.int64], y_method: list[NDArray] | None, *, t0: float, method: str,
        solver: str, status: str, upper_bound: float, nodes: int = 0, evaluations: int = 0,
        message: str = "",
    ) -> BilevelSolution:
        """Re-evaluate the level choice ``idx`` exactly (reference follower) and package it."""
        inst = self.instance
        s = inst.levels[idx]
        y_ref = self.follower(s)
        y_pri = self.follower(s, method="primal")
        if y_method is None:
            y_method = [f.solve(s[None, :]).y[0] for f in self._followers]
        cert = max(float(np.max(np.abs(a - b))) for a, b in zip(y_method, y_ref, strict=True))
        cert_p = max(float(np.max(np.abs(a - b))) for a, b in zip(y_method, y_pri, strict=True))
        yh = self.hourly(y_ref)
        credit, paid, bids = self.value(s, yh)
        obj = credit - paid
        v0 = self.objective(np.zeros(inst.hours))
        if obj < v0 and np.any(idx != 0):  # never below the no-rebate (chance) objective
            message = (message + "; " if message else "") + "no rebates are better: returned s = 0"
            return self._finish(
                np.zeros(inst.hours, dtype=np.int64), None, t0=t0, method=method, solver=solver,
                status=status, upper_bound=upper_bound, nodes=nodes, evaluations=evaluations,
                message=message,
            )
        ub = max(float(upper_bound), obj)
        gap = (ub - obj) / max(abs(obj), 1e-9) if np.isfinite(ub) else float("inf")
        subst = max(r.nu for r in self._subst) if self._subst is not None else float("nan")
        return BilevelSolution(
            rebates=s, level_index=idx, bids=bids, y=yh, plug_fraction=yh @ inst.shares,
            objective=obj, credit=credit,
            rebate_cost=paid, objective_no_rebates=v0, upper_bound=ub, gap=gap,
            solve_time_s=time.perf_counter() - t0, method=method, solver=solver, status=status,
            certificate=cert, certificate_primal=cert_p, nodes=nodes, evaluations=evaluations,
            substitution=subst, message=message,
        )

    # -- solving ----------------------------------------------------------------------------------

    def solve(
        self,
        method: Method = "bnb",
        *,
        time_limit: float = 10.0,
        rel_gap: float = 1e-4,
        warm_start: ArrayLike | None = None,
        valid_inequalities: bool = False,
        max_vectors: int = 200_000,
    ) -> BilevelSolution:
        """Solve the bilevel problem.

        Args:
            method: ``"bnb"`` (coordinate search, then exact branch-and-bound), ``"coordinate"``
                (coordinate search, then one bounding round for a certified upper bound),
                ``"misocp"`` (SCIP on :class:`BilevelMISOCP`), ``"brute_force"`` (enumeration of
                the free hours, tiny instances only).
            time_limit: wall-clock limit (s) of the whole solve.
            rel_gap: relative gap at which the exact methods stop.
            warm_start: (T,) rebates ($) of a known solution, e.g. yesterday's; it starts the
                coordinate search and is always a candidate.
            valid_inequalities: add the (B3) rows to the MISOCP (bounds from the follower,
                widened by the sampled substitution effects).
            max_vectors: enumeration limit of ``"brute_force"``.

        Returns:
            The :class:`BilevelSolution` (objective exactly re-evaluated).
        """
        t0 = time.perf_counter()
        deadline = t0 + float(time_limit)
        inst = self.instance
        ld = self._ld
        ev0 = ld.evaluations
        zero = np.zeros(inst.hours, dtype=np.int64)
        v0 = float(ld.evaluate(inst.levels[zero][None, :])[0][0])
        best = SearchResult(levels_idx=zero, value=v0, upper_bound=np.inf)
        if warm_start is not None:
            ws = self._level_index(warm_start)
            vw = float(ld.evaluate(inst.levels[ws][None, :])[0][0])
            if vw > best.value:
                best = SearchResult(levels_idx=ws, value=vw, upper_bound=np.inf)
        if method == "brute_force":
            n = inst.levels.size ** int(inst.free.sum())
            if n > max_vectors:
                raise ValueError(f"brute force would enumerate {n} rebate vectors (> {max_vectors})")
            res = brute_force_search(ld)
            # enumeration proves optimality: the bound is the (exactly re-evaluated) optimum itself
            return self._finish(res.levels_idx, None, t0=t0, method=method, solver="batched-newton",
                                status="optimal", upper_bound=-np.inf,
                                evaluations=ld.evaluations - ev0)
        if method == "misocp":
            return self._solve_misocp(best, t0=t0, time_limit=time_limit, rel_gap=rel_gap,
                                      valid_inequalities=valid_inequalities)
        if method not in ("bnb", "coordinate"):
            raise ValueError(f"unknown method {method!r}")
        message = ""
        status = "feasible"
        ub = np.inf
        nodes = 0
        try:
            cs = coordinate_search(ld, best.levels_idx, deadline=deadline)
            if cs.value > best.value:
                best = cs
            ld.nu = self._nu()
            if method == "coordinate":
                root = branch_and_bound(ld, best, rel_gap=rel_gap, deadline=np.inf, max_nodes=1)
                ub = root.upper_bound
                best = root if root.value > best.value else best
                status = "optimal" if root.status == "optimal" else "feasible"
                nodes = root.nodes
            else:
                res = branch_and_bound(ld, best, rel_gap=rel_gap, deadline=deadline)
                ub, nodes = res.upper_bound, res.nodes
                if res.value >= best.value:
                    best = res
                status = "optimal" if res.status == "optimal" else "time_limit"
                if res.status != "optimal":
                    message = f"branch-and-bound stopped ({res.status}) after {res.nodes} nodes"
        except (RuntimeError, np.linalg.LinAlgError, ValueError) as exc:
            status = "fallback"
            message = f"exact phase failed ({type(exc).__name__}: {exc}); best known solution returned"
        return self._finish(
            np.asarray(best.levels_idx, dtype=np.int64), None, t0=t0, method=method,
            solver="batched-newton", status=status, upper_bound=ub, nodes=nodes,
            evaluations=ld.evaluations - ev0, message=message,
        )

    def valid_inequality_bounds(self) -> tuple[list[NDArray], list[NDArray]]:
        """Level-specific (B3) bounds of the hourly persistencies, per cluster (T, H) arrays.

        ``y̲_cth`` (``ȳ_cth``) is y_ct at s_t = ŝ_h with the other free hours at level 0 (at the top
        level), widened by ``safety · Σ_t' ν_c[t, t'] ŝ_max`` (sampled substitution effects) and the
        follower accuracy :data:`~v2gsim.optimize.bilevel_search.Y_TOL`. Valid for every rebate
        vector with s_t = ŝ_h when the charging arcs are complements up to the sampled ν.

        Returns:
            ``(lower, upper)``, lists of (T, H) arrays.
        """
        inst = self.instance
        T, H = inst.hours, inst.levels.size
        top = np.where(inst.free, inst.levels[-1], 0.0)
        lo_S = np.zeros((T * H, T))
        hi_S = np.repeat(top[None, :], T * H, axis=0)
        for t in range(T):
            for h in range(H):
                lv = inst.levels[h] if inst.free[t] else 0.0
                lo_S[t * H + h, t] = lv
                hi_S[t * H + h, t] = lv
        nu = self._nu()
        lo, hi = [], []
        for c, fol in enumerate(self._followers):
            ylo = fol.solve(lo_S).y_hours
            yhi = fol.solve(hi_S).y_hours
            idx = np.arange(T)
            margin = self.safety * (nu[c] @ top) + Y_TOL
            lo.append(ylo[np.arange(T * H), np.repeat(idx, H)].reshape(T, H) - margin[:, None])
            hi.append(yhi[np.arange(T * H), np.repeat(idx, H)].reshape(T, H) + margin[:, None])
        return lo, hi

    def misocp(self, valid_inequalities: bool = False) -> BilevelMISOCP:
        """The MISOCP (built on first use; parameters refreshed from the current instance)."""
        if self.instance.soc is not None:
            raise ValueError("the state-of-charge guarantee (E3) is supported by the search methods "
                             "(bnb, coordinate, brute_force), not by the MISOCP")
        mdl = self._misocp.get(valid_inequalities)
        if mdl is None:
            mdl = BilevelMISOCP(self.instance, valid_inequalities=valid_inequalities)
            self._misocp[valid_inequalities] = mdl
        else:
            mdl.set_parameters(self.instance)
        if valid_inequalities:
            mdl.set_valid_inequalities(*self.valid_inequality_bounds())
        return mdl

    def _solve_misocp(
        self, best: SearchResult, *, t0: float, time_limit: float, rel_gap: float,
        valid_inequalities: bool,
    ) -> BilevelSolution:
        mdl = self.misocp(valid_inequalities)
        remaining = max(time_limit - (time.perf_counter() - t0), 0.1)
        try:
            idx, ys, db, rep = mdl.solve(time_limit=remaining, rel_gap=rel_gap)
        except SolveError as exc:
            bound = getattr(exc, "dual_bound", None)
            return self._finish(
                np.asarray(best.levels_idx, dtype=np.int64), None, t0=t0, method="misocp",
                solver="SCIP", status="fallback", upper_bound=np.inf if bound is None else bound,
                message=f"SCIP returned no solution ({exc.status}); best known solution returned",
            )
        v = self.objective(self.instance.levels[idx])
        message = f"SCIP status {rep.solver_status}, SCIP gap {rep.gap}"
        if v < best.value:  # keep the better of SCIP's choice and the known solution
            idx, ys = np.asarray(best.levels_idx, dtype=np.int64), None
            message += "; the warm start (or no rebates) beats SCIP's rebates and is returned"
        status = "optimal" if not rep.limit_reached else "time_limit"
        ub = np.inf if db is None else db
        return self._finish(
            idx, ys, t0=t0, method="misocp", solver="SCIP", status=status, upper_bound=ub,
            nodes=rep.nodes or 0, message=message,
        )


def solve_bilevel(
    instance: BilevelInstance,
    method: Method = "bnb",
    *,
    time_limit: float = 10.0,
    rel_gap: float = 1e-4,
    warm_start: ArrayLike | None = None,
    valid_inequalities: bool = False,
) -> BilevelSolution:
    """Solve one bilevel instance (builds a :class:`BilevelProblem`; reuse one for daily re-solves).

    Args:
        instance: the instance.
        method: see :meth:`BilevelProblem.solve`.
        time_limit: wall-clock limit (s).
        rel_gap: relative gap tolerance of the exact methods.
        warm_start: (T,) rebates ($) of a known solution.
        valid_inequalities: (B3) rows in the MISOCP.

    Returns:
        The :class:`BilevelSolution`.
    """
    return BilevelProblem(instance).solve(
        method, time_limit=time_limit, rel_gap=rel_gap, warm_start=warm_start,
        valid_inequalities=valid_inequalities,
    )


def brute_force(instance: BilevelInstance, *, max_vectors: int = 200_000) -> BilevelSolution:
    """Enumerate every rebate vector over ``instance.free_hours`` (others 0), solving the follower.

    Meant for tiny instances (e.g. 5 free hours × 3 levels = 243 vectors), to cross-check the
    other methods.

    Raises:
        ValueError: if more than ``max_vectors`` vectors would be enumerated.
    """
    return BilevelProblem(instance).solve("brute_force", time_limit=np.inf, max_vectors=max_vectors)


# --------------------------------------------------------------------------------------------------
# Default instance
# --------------------------------------------------------------------------------------------------

#: Requirement statistics of the default instance at score target 0.95 (pooled over hours): the
#: values :meth:`v2gsim.market.requirement.RequirementStats.from_synthetic` gives for 14 synthetic
#: RegD days at 25 ΔMW/MW per hour with the default scenario's seed (r̄, σ^f, σ^b; kW/kW).
DEFAULT_REQUIREMENT = (0.88, 0.045, 0.064)


def _flexible_cluster(net_cfg: Any, shift: int = 2) -> Any:
    """Second cluster of :func:`default_instance`: late, rebate-responsive drivers."""
    from v2gsim.config import NetworkConfig

    d = net_cfg.model_dump()
    T = d["hours"]
    for p in d["places"]:
        if p["name"] == d["start_place"]:
            p["utility"] = list(np.roll(np.asarray(_hourly_list(p["utility"], T)), shift))
            p["sigma"] = 0.3
            p["plug_sigma"] = 0.2
        elif p["name"] == "work":
            p["utility"] = list(np.roll(np.asarray(_hourly_list(p["utility"], T)), shift))
            lo, hi = p["window"]
            p["window"] = (min(lo + shift, T - 1), min(hi + shift, T))
    return NetworkConfig.model_validate(d)


def _hourly_list(v: Any, T: int) -> list[float]:
    return [float(x) for x in v] if isinstance(v, list) else [float(v)] * T


def default_instance(
    shares: ArrayLike = (0.5, 0.5),
    *,
    fleet_size: float = 200.0,
    psi: float = 10.0,
    levels: ArrayLike = (0.0, 0.1, 0.2, 0.3, 0.4),
    eta: float = 0.05,
    bound: Bound = 3,
    scenario: str | Path | None = None,
    price_scale: ArrayLike = 1.0,
) -> BilevelInstance:
    """The default instance: 24 h, two clusters on the default scenario's network, 5 levels, 200 EVs.

    * Cluster ``commuters``: ``build_network(load_scenario(scenario).network)`` as is (home
      charger, work 6–20 h, other 7–23 h).
    * Cluster ``flexible``: the same template with the home and work utility profiles shifted two
      hours later (work window +2 h), home stays more predictable (σ = 0.3 $ instead of 0.6) and
      plug-in utilities more rebate-sensitive (plug σ = 0.2 $ instead of 0.6).
    * Prices: p̄_t = (capability_t + performance_t × 25 ΔMW/MW) / 1000 $ per kW-h with the
      scenario's mean prices (13.94 $/MW-h, 1.56 $/ΔMW) times the PJM 2016 hour-of-day shapes
      (:data:`v2gsim.market.prices.PJM2016_CAPABILITY`), times ``price_scale``.
    * Requirement: :data:`DEFAULT_REQUIREMENT` (r̄ = 0.88, σ^f = 0.045, σ^b = 0.064 kW/kW).
    * ψ = 10 kW, η = 0.05, bound (3), levels 0–0.4 $ per plugged EV-hour.

    Args:
        shares: population shares of (commuters, flexible).
        fleet_size: M (EVs).
        psi: ψ (kW).
        levels: rebate levels ($ per plugged EV-hour).
        eta: η.
        bound: 3 or 4.
        scenario: scenario file (default ``scenarios/default.toml``).
        price_scale: factor(s) on p̄_t (scalar or (24,)), e.g. for perturbed-price benchmarks.

    Returns:
        The :class:`BilevelInstance`.
    """
    from v2gsim.config import load_scenario
    from v2gsim.config.build import network_template

    sc = load_scenario(scenario)
    net1 = build_network(network_template(sc.network))
    net2 = build_network(network_template(_flexible_cluster(sc.network)))
    T = sc.network.hours
    cap_shape = np.asarray(PJM2016_CAPABILITY.hour_shape, float)
    perf_shape = np.asarray(PJM2016_PERFORMANCE.hour_shape, float)
    cap_shape = np.resize(cap_shape / cap_shape.mean(), T)
    perf_shape = np.resize(perf_shape / perf_shape.mean(), T)
    mileage = float(sc.market.mean_hourly_mileage)
    price = (sc.market.capability_price * cap_shape + sc.market.performance_price * perf_shape * mileage)
    price = price / KW_PER_MW * np.broadcast_to(np.asarray(price_scale, float), (T,))
    r_bar, sig_f, sig_b = DEFAULT_REQUIREMENT
    return BilevelInstance(
        clusters=(
            DriverCluster.from_network(net1, "commuters"),
            DriverCluster.from_network(net2, "flexible"),
        ),
        shares=np.asarray(shares, float),
        fleet_size=float(fleet_size),
        psi=float(psi),
        levels=np.asarray(levels, float),
        price=price,
        r_bar=np.full(T, r_bar),
        sigma_dev=np.full(T, sig_f if bound == 3 else sig_b),
        eta=float(eta),
        bound=bound,
    )


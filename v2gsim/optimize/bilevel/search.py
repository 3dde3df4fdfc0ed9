"""Search methods for the bilevel rebate problem that re-solve the follower exactly (models.md §1.5).

For a fixed hourly rebate vector s the leader's best bids are the closed form of the chance bound
(:func:`v2gsim.optimize.chance.bounds.max_bid`, hour by hour), so the leader's value is an explicit
function of s through the drivers' response y(s) (the persistency follower D5 of every cluster c):

    V(s) = Σ_t [ p̄_t⁺ C*_t(y_t(s)) − s_t Σ_c M_c y_ct(s) ],                              (B1)

with ``C*_t(y) = (b² − κ²a) / (b r̄_t + κ √(σ_t²(b² − κ²a) + a r̄_t²))`` for ``b = ψ Σ_c M_c y_ct``,
``a = ψ² Σ_c M_c y_ct(1 − y_ct)`` (bound (3) or (4), E1 mixture), 0 when ``b² < κ²a`` (no bid).
This module maximises V over s ∈ L^T (L the discrete rebate levels) with three methods:

* :func:`coordinate_search`: steepest ascent over single-hour level changes (plus the combination
  of the best change of every hour), every candidate evaluated exactly with the batched follower.
  A heuristic: no bound.
* :func:`branch_and_bound`: an exact method over level domains D_t ⊆ L. Its bound uses the
  monotone response of the follower (models.md B3, see :mod:`v2gsim.optimize.bilevel.bounds`),
  tightened by the chain bound (:mod:`v2gsim.optimize.bilevel.chain`: the monotone response applied
  outside a window of 2r + 1 consecutive hours, r = 1, or 2 where the node's windows fit in 1500
  rows, maximised over level sequences by dynamic programming; ours, issue #17) and the
  group-window bound (:mod:`v2gsim.optimize.bilevel.groups`: halves of the domains of the four
  neighbours; ours). Their per-level bounds (the best bound with s_t = ℓ) drive the filtering and
  the children's bounds, and their maximising sequences are incumbent candidates.
  Levels whose bound cannot beat the incumbent are filtered from the domains (reduced-cost fixing),
  which shrinks the box and tightens the bound again. The node is then split on the hour with the
  largest own ambiguity plus influence on the other hours (its rebate range times the cross
  effects ∂y_t'/∂s_t, weighted by the revenue slopes), into the lower and upper half of its
  domain; nodes are processed best-bound first. At a leaf (all domains single levels) the bound
  equals V exactly, so the method is exact up to the validity of the monotone bounds; each node
  also evaluates its two corners and its greedy point exactly as incumbent candidates, and a node
  whose box holds at most 512 level vectors is closed by evaluating all of them exactly.
* :func:`brute_force_search` (in :mod:`v2gsim.optimize.bilevel.enumeration`): enumeration of every
  level vector over the free hours (tiny instances, to cross-check the others).
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.optimize.bilevel.bounds import NodeBounds, domain_extremes, node_bounds
from v2gsim.optimize.bilevel.chain import chain_bounds, chain_rows, combine
from v2gsim.optimize.bilevel.enumeration import (
    brute_force_search,
    check_enumeration,
    domain_size,
    enumerate_domain,
    level_vectors,
    root_domain,
)
from v2gsim.optimize.bilevel.groups import GroupWindows, group_rows, group_windows
from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult, single_hour_changes

__all__ = [
    "branch_and_bound",
    "brute_force_search",
    "check_enumeration",
    "coordinate_search",
    "level_vectors",
]


# --------------------------------------------------------------------------------------------------
# Coordinate search
# --------------------------------------------------------------------------------------------------


def _improves(gain: float, best: float) -> bool:
    """Whether ``gain`` ($) is a real improvement of the value ``best`` ($), not round-off."""
    return bool(gain > 1e-12 * max(1.0, abs(best)))


def _combined_move(
    cur: NDArray[np.int64], cand: list[tuple[int, int]], gain: NDArray[np.float64],
    free: NDArray[np.intp], best: float,
) -> tuple[NDArray[np.int64], int]:
    """The best improving change of every free hour applied together, and how many hours changed."""
    combo = cur.copy()
    n_imp = 0
    for t in free:
        ks = [k for k, (tt, _) in enumerate(cand) if tt == t]
        kb = max(ks, key=lambda k: gain[k])
        if _improves(gain[kb], best):
            combo[t] = cand[kb][1]
            n_imp += 1
    return combo, n_imp


def coordinate_search(
    ld: LeaderData,
    start: ArrayLike | None = None,
    *,
    deadline: float = np.inf,
    max_iter: int = 1000,
) -> SearchResult:
    """Steepest ascent over single-hour rebate-level changes with exact follower re-solves.

    Each iteration evaluates, in one batch, every change of one free hour to another level, plus
    the combination of the best improving change of every hour; the best candidate is accepted if
    it improves V. Stops at a local optimum (no single-hour change improves), at ``max_iter``
    iterations or at ``deadline`` (a ``time.perf_counter()`` value).

    Args:
        ld: the leader data.
        start: (T,) initial level indices (default all 0, i.e. no rebates).
        deadline: wall-clock deadline (``time.perf_counter()`` seconds).
        max_iter: iteration limit.

    Returns:
        A :class:`SearchResult` with ``upper_bound = inf`` (no bound).
    """
    T, H = ld.hours, ld.n_levels
    cur = np.zeros(T, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64).copy()
    cur[~ld.free] = 0
    ev0 = ld.evaluations
    best, rho = ld.point(cur)
    free = np.flatnonzero(ld.free)
    moves = [(t, h) for t in free for h in range(H)]
    it = 0
    status = "local"
    while it < max_iter:
        if time.perf_counter() > deadline:
            status = "time_limit"
            break
        cand = [(t, h) for (t, h) in moves if cur[t] != h]
        if not cand:
            break
        S = single_hour_changes(ld.rebates(cur), [t for t, _ in cand], ld.levels[[h for _, h in cand]])
        v, _, rh = ld.evaluate(S, rho)
        gain = v - best
        combo, n_imp = _combined_move(cur, cand, gain, free, best)
        kbest = int(np.argmax(gain))
        new_idx, new_val, new_rho = None, best, rho
        if _improves(gain[kbest], best):
            new_idx = cur.copy()
            new_idx[cand[kbest][0]] = cand[kbest][1]
            new_val = float(v[kbest])
            new_rho = [r[kbest] for r in rh]
        if n_imp >= 2:
            vc, rc = ld.point(combo, rho)
            if vc > new_val:
                new_idx, new_val, new_rho = combo, vc, rc
        if new_idx is None:
            break
        cur, best, rho = new_idx, new_val, new_rho
        it += 1
    return SearchResult(
        levels_idx=cur, value=best, upper_bound=np.inf, evaluations=ld.evaluations - ev0,
        status=status, iterations=it,
    )


# --------------------------------------------------------------------------------------------------
# Branch-and-bound
# --------------------------------------------------------------------------------------------------


@dataclass(order=True)
class _Node:
    key: float
    seq: int
    dom: NDArray[np.bool_] = field(compare=False)
    bound: float = field(compare=False)
    rho_lo: list[NDArray] | None = field(compare=False, default=None)
    rho_hi: list[NDArray] | None = field(compare=False, default=None)
    W: NDArray[np.float64] | None = field(compare=False, default=None)
    W_rows: int = field(compare=False, default=0)
    W_radius: int = field(compare=False, default=1)
    base: tuple[NDArray[np.float64], NDArray[np.float64]] | None = field(compare=False, default=None)
    G: GroupWindows | None = field(compare=False, default=None)


@dataclass
class _Incumbent:
    """Best solution of a branch-and-bound so far, its pruning tolerance and the discarded bound.

    Attributes:
        idx: (T,) level indices of the incumbent.
        value: its exact value V ($).
        rel_gap: relative gap within which nodes are pruned.
        closed: largest bound of any part of the search space discarded so far ($).
    """

    idx: NDArray[np.int64]
    value: float
    rel_gap: float
    closed: float = -np.inf

    def tol(self) -> float:
        """Absolute pruning tolerance ($)."""
        return self.rel_gap * max(abs(self.value), 1e-9)

    def prunes(self, bound: float) -> bool:
        """Whether a part of the search space with this upper bound cannot beat the incumbent."""
        return bool(bound <= self.value + self.tol())

    def offer(self, idx: NDArray[np.int64], value: float) -> None:
        """Make ``idx`` the incumbent if its exact value ``value`` is better."""
        if value > self.value:
            self.value, self.idx = float(value), np.asarray(idx).copy()

    def close(self, bound: float) -> None:
        """Record the bound of a discarded part of the search space."""
        self.closed = max(self.closed, bound)


def _offer_candidates(
    ld: LeaderData, inc: _Incumbent, bnd: NodeBounds, paths: list[NDArray[np.int64] | None] | None = None
) -> None:
    """Incumbent update from a node's exact candidates: its corners, greedy point and the
    maximising sequences of the chain and group-window DPs."""
    greedy = np.argmax(bnd.U, axis=1)
    cands = [*bnd.cand_idx, greedy]
    cvals = [*bnd.cand_val.tolist(), ld.point(greedy, bnd.rho_lo)[0]]
    for path in paths or []:
        if path is not None and not any(np.array_equal(path, c) for c in cands):
            cands.append(path)
            cvals.append(ld.point(path, bnd.rho_lo)[0])
    k = int(np.argmax(cvals))
    inc.offer(cands[k], cvals[k])


def _filter_levels(
    inc: _Incumbent, dom: NDArray[np.bool_], L: NDArray[np.float64]
) -> NDArray[np.bool_] | None:
    """Reduced-cost fixing: the levels whose bound L (sub-box s_t = ℓ) can beat the incumbent;
    None if an hour has none."""
    keep = dom & (L > inc.value + inc.tol())
    if (dom & ~keep).any():
        inc.close(float(L[dom & ~keep].max()))
    return keep if keep.any(axis=1).all() else None


@dataclass
class _Bounded:
    """A bounded node: domains after filtering, bounds, per-level bounds L and the chain W."""

    dom: NDArray[np.bool_]
    bnd: NodeBounds
    L: NDArray[np.float64]
    W: NDArray[np.float64] | None
    W_rows: int
    W_radius: int
    G: GroupWindows | None = None


@dataclass(frozen=True)
class _ChainPolicy:
    """When the chain bound (:mod:`~v2gsim.optimize.bilevel.chain`) is used at a node.

    Attributes:
        on: use it at all (else the separable bound only).
        refresh: recompute the W of a node when its triple rows are at most this fraction of the
            rows of the W it inherited (0: only at the root; 1: at every node); otherwise the
            inherited W are re-masked (valid, as the box only shrinks).
        deadline: no new W after this ``time.perf_counter()`` value (the search stops then).
        max_radius: widest window radius; a node gets the widest whose rows fit in ``budget``
            (deep nodes have small domains, so wider windows become affordable).
        budget: row budget of a W with radius > 1.
        groups: radius of the group-window bound (:mod:`~v2gsim.optimize.bilevel.groups`) used
            beside the chain; 0: not used.
        group_refresh: recompute a node's group windows when its rows are at most this fraction of
            the rows of the inherited ones.
    """

    on: bool = True
    refresh: float = 0.75
    deadline: float = np.inf
    max_radius: int = 2
    budget: int = 1500
    groups: int = 2
    group_refresh: float = 0.75

    def radius(self, dom: NDArray[np.bool_]) -> int:
        """The widest window (radius <= ``max_radius``) with at most ``budget`` rows; at least 1."""
        r = 1
        while r < self.max_radius and chain_rows(dom, r + 1) <= self.budget:
            r += 1
        return r


def _chain_state(
    ld: LeaderData, inc: _Incumbent, dom: NDArray[np.bool_], bnd: NodeBounds,
    W: tuple[NDArray[np.float64] | None, int, int], policy: _ChainPolicy,
) -> tuple[NDArray[np.float64] | None, int, int]:
    """The chain ``(W, rows, radius)`` to use at this node: inherited, or recomputed per the policy."""
    if not policy.on or dom.shape[0] < 2 or inc.prunes(bnd.ub) or time.perf_counter() > policy.deadline:
        return W
    r = policy.radius(dom)
    if W[0] is None or r > W[2] or chain_rows(dom, W[2]) <= policy.refresh * W[1]:
        return chain_bounds(ld, dom, bnd.rho_lo, bnd.rho_hi, r).W, chain_rows(dom, r), r
    return W


def _group_state(
    ld: LeaderData, inc: _Incumbent, dom: NDArray[np.bool_], bnd: NodeBounds, G: GroupWindows | None,
    policy: _ChainPolicy,
) -> GroupWindows | None:
    """The group windows to use at this node: inherited, or recomputed per the policy."""
    if policy.groups < 1 or dom.shape[0] < 2 or inc.prunes(bnd.ub) or time.perf_counter() > policy.deadline:
        return G
    if G is None or group_rows(dom, policy.groups) <= policy.group_refresh * G.rows:
        return group_windows(ld, dom, bnd.rho_lo, bnd.rho_hi, policy.groups)
    return G


def _bound_node(
    ld: LeaderData, inc: _Incumbent, node: _Node, max_rounds: int, policy: _ChainPolicy
) -> tuple[_Bounded | None, int, tuple[list, list] | None]:
    """Bound a node, filter its domains and re-bound while the box shrinks (at most ``max_rounds``).

    The separable bound is recomputed when the box shrinks; the chain W (inherited or computed,
    :func:`_chain_state`) is re-masked after every filtering and the DP re-run.

    Returns:
        ``(the bounded node or None when it is pruned, bound rounds used, corner potentials of the
        first bound)``.
    """
    dom = node.dom.copy()
    rho_lo, rho_hi, base = node.rho_lo, node.rho_hi, node.base
    W = (node.W, node.W_rows, node.W_radius)
    G = node.G
    rounds = 0
    bnd: NodeBounds | None = None
    first: tuple[list, list] | None = None
    recompute = True
    while True:
        if recompute and (rounds < max_rounds or bnd is None):
            rounds += 1
            bnd = node_bounds(ld, dom, rho_lo, rho_hi, base)
            rho_lo, rho_hi, base = bnd.rho_lo, bnd.rho_hi, (bnd.s_lo, bnd.s_hi)
            if first is None:
                first = (bnd.rho_lo, bnd.rho_hi)
            W = _chain_state(ld, inc, dom, bnd, W, policy)
            G = _group_state(ld, inc, dom, bnd, G, policy)
        assert bnd is not None
        bnd.U = np.where(dom, bnd.U, -np.inf)
        ub, L, path = combine(bnd.U, dom, W[0], W[2])
        gpath = None
        if G is not None:
            ub_g, L_g, gpath = G.solve(dom)
            ub, L = min(ub, ub_g), np.where(dom, np.minimum(L, L_g), -np.inf)
        bnd.ub = ub
        _offer_candidates(ld, inc, bnd, [path, gpath])
        if inc.prunes(bnd.ub):
            inc.close(bnd.ub)
            return None, rounds, first
        keep = _filter_levels(inc, dom, L)
        if keep is None:
            return None, rounds, first
        if (keep == dom).all():
            break
        lo_old, hi_old = domain_extremes(dom)
        dom = keep
        lo_new, hi_new = domain_extremes(dom)
        recompute = bool((lo_old != lo_new).any() or (hi_old != hi_new).any())
    return _Bounded(dom, bnd, L, *W, G), rounds, first


def _influence(ld: LeaderData, dom: NDArray[np.bool_], rho_hi: list[NDArray]) -> NDArray[np.float64]:
    """(T,) rebate range of every hour times its revenue-weighted cross effects on the other hours.

    From the exact Jacobian of the follower at the node's upper corner.
    """
    lo_i, hi_i = domain_extremes(dom)
    width = ld.levels[hi_i] - ld.levels[lo_i]
    s_hi = ld.levels[hi_i]
    infl = np.zeros(ld.hours)
    for c, fol in enumerate(ld.followers):
        J = fol.jacobian(s_hi[None, :], rho_hi[c][None, :])[0]
        np.fill_diagonal(J, 0.0)
        slope = ld.psi * ld.M[c] / ld.r_bar * np.maximum(ld.price, 0.0)
        infl += width * (slope @ np.abs(J))
    return infl


def _split_domain(
    dom: NDArray[np.bool_], U: NDArray[np.float64], t: int, split: Literal["half", "best"]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """The two children's domains: hour t's domain cut in halves, or its best level against the rest."""
    d1 = dom.copy()
    d2 = dom.copy()
    if split == "half":
        members = np.flatnonzero(dom[t])
        half = members[: len(members) // 2]
        d1[t, :] = False
        d1[t, half] = True
        d2[t, half] = False
    else:
        lbest = int(np.nanargmax(U[t]))
        d1[t, :] = False
        d1[t, lbest] = True
        d2[t, lbest] = False
    return d1, d2


def _children(
    ld: LeaderData, nd: _Bounded, branching: Literal["influence", "ambiguity"],
    split: Literal["half", "best"],
) -> list[tuple[NDArray[np.bool_], float]]:
    """Branching: the hour to split (ambiguity, plus influence) and the two children with their
    bounds (the largest per-level bound L of the split hour over the child's domain)."""
    dom, bnd = nd.dom, nd.bnd
    sizes = dom.sum(axis=1)
    U = np.where(dom, bnd.U, np.nan)
    score = np.nanmax(U, axis=1) - np.nanmin(U, axis=1)  # spread of the hour's level bounds
    if branching == "influence":
        score = score + _influence(ld, dom, bnd.rho_hi)
    score = np.where(sizes > 1, score, -np.inf)
    t = int(np.argmax(score))
    d1, d2 = _split_domain(dom, U, t, split)
    return [(d, float(min(bnd.ub, np.max(np.where(d[t], nd.L[t], -np.inf))))) for d in (d1, d2)]


def _enumerated(
    ld: LeaderData, inc: _Incumbent, dom: NDArray[np.bool_], rho: list[NDArray] | None,
    base: tuple[NDArray[np.float64], NDArray[np.float64]] | None, limit: float,
) -> bool:
    """Close a box of at most ``limit`` level vectors by evaluating every one exactly (the best is
    offered to the incumbent); ``rho`` are potentials at the rebates ``base[0]`` (Newton starts)."""
    if domain_size(dom) > limit:
        return False
    inc.offer(*enumerate_domain(ld, dom, rho, None if base is None else base[0]))
    return True


def branch_and_bound(
    ld: LeaderData,
    incumbent: SearchResult | None = None,
    *,
    rel_gap: float = 1e-6,
    deadline: float = np.inf,
    max_nodes: int = 100_000,
    max_rounds: int = 4,
    branching: Literal["influence", "ambiguity"] = "influence",
    split: Literal["half", "best"] = "half",
    root_rho: tuple[list[NDArray], list[NDArray]] | None = None,
    chain: bool = True,
    chain_refresh: float = 0.75,
    chain_radius: int = 2,
    groups: int = 2,
    group_refresh: float = 0.75,
    enumerate_limit: int = 512,
) -> SearchResult:
    """Exact maximisation of V(s) over s ∈ L^T by branch-and-bound on level domains.

    See the module docstring for the method and :mod:`v2gsim.optimize.bilevel.bounds` for the
    bound. Nodes are processed best-bound first; at each node the bound is recomputed after every
    domain filtering whose result changes the box (at most ``max_rounds`` times) and the greedy
    point (best level of every hour by its bound) is evaluated exactly.

    Args:
        ld: the leader data (``ld.nu`` sets the substitution margins).
        incumbent: a known solution (e.g. from :func:`coordinate_search` or a warm start).
        rel_gap: stop when ``(UB − V)/max(|V|, 1e-9) <= rel_gap``; nodes within it are pruned.
        deadline: wall-clock deadline (``time.perf_counter()`` seconds).
        max_nodes: node limit.
        max_rounds: bound recomputations per node.
        branching: ``"influence"`` (default): split the hour with the largest spread of its level
            bounds plus its rebate range times its revenue-weighted cross effects (exact Jacobian
            at the node's upper corner); ``"ambiguity"``: the spread alone.
        split: ``"half"`` (default): lower and upper half of the hour's domain; ``"best"``: its
            best level against the rest.
        root_rho: Newton starts (per cluster) of the root's corners, e.g. yesterday's root's.
        chain: also use the chain bound (:mod:`~v2gsim.optimize.bilevel.chain`; W inherited).
        chain_refresh, chain_radius, groups, group_refresh: the :class:`_ChainPolicy` (when to
            recompute the chain W, its widest window radius; the radius of the group-window bound
            of :mod:`v2gsim.optimize.bilevel.groups`, 0 off, and when to recompute it).
        enumerate_limit: a node whose box holds at most this many level vectors is closed by
            evaluating every one exactly (one follower batch) instead of being bounded and split.

    Returns:
        A :class:`SearchResult` whose ``upper_bound`` is the largest bound of the open nodes and of
        every node or level discarded (at most the incumbent plus the tolerance when the tree is
        exhausted).
    """
    ev0 = ld.evaluations
    policy = _ChainPolicy(chain, chain_refresh, deadline, chain_radius, groups=groups,
                          group_refresh=group_refresh)
    if incumbent is None:
        idx0 = np.zeros(ld.hours, dtype=np.int64)
        incumbent = SearchResult(levels_idx=idx0, value=ld.point(idx0)[0], upper_bound=np.inf)
    inc = _Incumbent(np.asarray(incumbent.levels_idx, dtype=np.int64).copy(), float(incumbent.value),
                     rel_gap)
    seq = itertools.count()
    r_lo, r_hi = (None, None) if root_rho is None else root_rho
    heap: list[_Node] = [_Node(-np.inf, next(seq), root_domain(ld), np.inf, r_lo, r_hi)]
    root_out: tuple[list[NDArray], list[NDArray]] | None = None
    nodes = 0
    rounds = 0
    status = "optimal"
    while heap:
        if time.perf_counter() > deadline:
            status = "time_limit"
            break
        if nodes >= max_nodes:
            status = "node_limit"
            break
        node = heapq.heappop(heap)
        if inc.prunes(node.bound):
            inc.close(node.bound)
            continue
        nodes += 1
        if _enumerated(ld, inc, node.dom, node.rho_lo, node.base, enumerate_limit):
            continue
        bounded, used, rho_pair = _bound_node(ld, inc, node, max_rounds, policy)
        rounds += used
        if root_out is None:
            root_out = rho_pair
        if bounded is None:
            continue
        dom, bnd = bounded.dom, bounded.bnd
        if _enumerated(ld, inc, dom, bnd.rho_lo, (bnd.s_lo, bnd.s_hi), max(enumerate_limit, 1)):
            continue  # a leaf or a small box: every vector evaluated exactly
        for d, b in _children(ld, bounded, branching, split):
            if b > inc.value + inc.tol():
                heapq.heappush(heap, _Node(-b, next(seq), d, b, bnd.rho_lo, bnd.rho_hi, bounded.W,
                                           bounded.W_rows, bounded.W_radius, (bnd.s_lo, bnd.s_hi),
                                           bounded.G))
            else:
                inc.close(b)
    ub = max([inc.value, inc.closed] + [n.bound for n in heap])
    return SearchResult(
        levels_idx=inc.idx, value=inc.value, upper_bound=ub, nodes=nodes,
        evaluations=ld.evaluations - ev0, status=status, iterations=rounds, root_rho=root_out,
    )

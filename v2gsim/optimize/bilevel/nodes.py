"""The nodes of the bilevel branch-and-bound (:func:`v2gsim.optimize.bilevel.search.branch_and_bound`).

A node is a box of level domains D_t ⊆ L (one boolean row of rebate levels per hour). This module
bounds a node and branches it, models.md §1.5 (B1, B3):

* :func:`bound_node`: the separable bound of the follower's monotone response (B3,
  :func:`v2gsim.optimize.bilevel.bounds.node_bounds`), tightened by the chain bound
  (:mod:`v2gsim.optimize.bilevel.chain`, whose rows W a node inherits or recomputes per the
  :class:`ChainPolicy`) and the group-window bound (:mod:`v2gsim.optimize.bilevel.groups`). The
  per-level bounds L (the best bound with s_t = ℓ) filter the domains (reduced-cost fixing) and the
  box is re-bounded while it shrinks. The node's corners, greedy point and the maximising
  sequences of the DPs are offered to the :class:`Incumbent` as exact candidates.
* :func:`push_children`: the hour with the largest ambiguity (plus influence) is split into two
  children, queued best-bound first when their bound can beat the incumbent.
* :func:`enumerated`: a small box is closed by evaluating every level vector exactly.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from v2gsim.optimize.bilevel.bounds import NodeBounds, domain_extremes, node_bounds
from v2gsim.optimize.bilevel.chain import chain_bounds, chain_rows, combine
from v2gsim.optimize.bilevel.enumeration import domain_size, enumerate_domain
from v2gsim.optimize.bilevel.groups import GroupWindows, group_rows, group_windows
from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult

__all__ = [
    "Bounded",
    "ChainPolicy",
    "Incumbent",
    "Node",
    "bound_node",
    "children",
    "enumerated",
    "push_children",
]


@dataclass(order=True)
class Node:
    """An open node of the branch-and-bound queue, ordered by ``(key, seq)`` (best bound first).

    Attributes:
        key: ``-bound`` (heapq pops the smallest key).
        seq: creation number (ties broken first in, first out).
        dom: (T, H) level domains D_t of the node's box.
        bound: upper bound on V over the box ($), from the parent.
        rho_lo, rho_hi: per-cluster potentials at the parent's lower and upper corner (Newton
            starts), or None.
        W, W_rows, W_radius: the inherited chain bound rows, their count and window radius.
        base: the parent's corner rebates ``(s_lo, s_hi)`` ($ per plugged EV-hour), or None.
        G: the inherited group windows, or None.
    """

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
class Incumbent:
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

    @classmethod
    def start(cls, ld: LeaderData, known: SearchResult | None, rel_gap: float) -> Incumbent:
        """The first incumbent: a ``known`` solution, or no rebates (all level 0, evaluated exactly)."""
        if known is None:
            idx0 = np.zeros(ld.hours, dtype=np.int64)
            known = SearchResult(levels_idx=idx0, value=ld.point(idx0)[0], upper_bound=np.inf)
        return cls(np.asarray(known.levels_idx, dtype=np.int64).copy(), float(known.value), rel_gap)

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
    ld: LeaderData, inc: Incumbent, bnd: NodeBounds, paths: list[NDArray[np.int64] | None] | None = None
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
    inc: Incumbent, dom: NDArray[np.bool_], L: NDArray[np.float64]
) -> NDArray[np.bool_] | None:
    """Reduced-cost fixing: the levels whose bound L (sub-box s_t = ℓ) can beat the incumbent;
    None if an hour has none."""
    keep = dom & (L > inc.value + inc.tol())
    if (dom & ~keep).any():
        inc.close(float(L[dom & ~keep].max()))
    return keep if keep.any(axis=1).all() else None


@dataclass
class Bounded:
    """A bounded node: domains after filtering, bounds, per-level bounds L and the chain W."""

    dom: NDArray[np.bool_]
    bnd: NodeBounds
    L: NDArray[np.float64]
    W: NDArray[np.float64] | None
    W_rows: int
    W_radius: int
    G: GroupWindows | None = None


@dataclass(frozen=True)
class ChainPolicy:
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
    ld: LeaderData, inc: Incumbent, dom: NDArray[np.bool_], bnd: NodeBounds,
    W: tuple[NDArray[np.float64] | None, int, int], policy: ChainPolicy,
) -> tuple[NDArray[np.float64] | None, int, int]:
    """The chain ``(W, rows, radius)`` to use at this node: inherited, or recomputed per the policy."""
    if not policy.on or dom.shape[0] < 2 or inc.prunes(bnd.ub) or time.perf_counter() > policy.deadline:
        return W
    r = policy.radius(dom)
    if W[0] is None or r > W[2] or chain_rows(dom, W[2]) <= policy.refresh * W[1]:
        return chain_bounds(ld, dom, bnd.rho_lo, bnd.rho_hi, r).W, chain_rows(dom, r), r
    return W


def _group_state(
    ld: LeaderData, inc: Incumbent, dom: NDArray[np.bool_], bnd: NodeBounds, G: GroupWindows | None,
    policy: ChainPolicy,
) -> GroupWindows | None:
    """The group windows to use at this node: inherited, or recomputed per the policy."""
    if policy.groups < 1 or dom.shape[0] < 2 or inc.prunes(bnd.ub) or time.perf_counter() > policy.deadline:
        return G
    if G is None or group_rows(dom, policy.groups) <= policy.group_refresh * G.rows:
        return group_windows(ld, dom, bnd.rho_lo, bnd.rho_hi, policy.groups)
    return G


def bound_node(
    ld: LeaderData, inc: Incumbent, node: Node, max_rounds: int, policy: ChainPolicy
) -> tuple[Bounded | None, int, tuple[list, list] | None]:
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
    return Bounded(dom, bnd, L, *W, G), rounds, first


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


def children(
    ld: LeaderData, nd: Bounded, branching: Literal["influence", "ambiguity"],
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


def enumerated(
    ld: LeaderData, inc: Incumbent, dom: NDArray[np.bool_], rho: list[NDArray] | None,
    base: tuple[NDArray[np.float64], NDArray[np.float64]] | None, limit: float,
) -> bool:
    """Close a box of at most ``limit`` level vectors by evaluating every one exactly (the best is
    offered to the incumbent); ``rho`` are potentials at the rebates ``base[0]`` (Newton starts)."""
    if domain_size(dom) > limit:
        return False
    inc.offer(*enumerate_domain(ld, dom, rho, None if base is None else base[0]))
    return True


def push_children(
    ld: LeaderData, inc: Incumbent, heap: list[Node], seq: itertools.count, nd: Bounded,
    branching: Literal["influence", "ambiguity"], split: Literal["half", "best"],
) -> None:
    """Branch a bounded node (:func:`children`): queue the children whose bound can beat the
    incumbent (they inherit the node's potentials, chain W, rebate corners and group windows) and
    record the bound of the others as discarded."""
    bnd = nd.bnd
    for d, b in children(ld, nd, branching, split):
        if b > inc.value + inc.tol():
            heapq.heappush(heap, Node(-b, next(seq), d, b, bnd.rho_lo, bnd.rho_hi, nd.W,
                                      nd.W_rows, nd.W_radius, (bnd.s_lo, bnd.s_hi), nd.G))
        else:
            inc.close(b)

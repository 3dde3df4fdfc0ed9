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

Tuning of :func:`branch_and_bound` (its keyword arguments; the defaults are the method above):

* ``max_rounds`` (4): at each node the bound is recomputed after every domain filtering whose
  result changes the box, at most this many times; the greedy point (best level of every hour by
  its bound) is evaluated exactly.
* ``branching``: ``"influence"`` (default): split the hour with the largest spread of its level
  bounds plus its rebate range times its revenue-weighted cross effects (exact Jacobian at the
  node's upper corner); ``"ambiguity"``: the spread alone.
* ``split``: ``"half"`` (default): lower and upper half of the hour's domain; ``"best"``: its best
  level against the rest.
* ``chain`` (True): also use the chain bound (:mod:`~v2gsim.optimize.bilevel.chain`; W inherited).
  ``chain_refresh``, ``chain_radius``, ``groups``, ``group_refresh`` are the
  :class:`~v2gsim.optimize.bilevel.nodes.ChainPolicy`: when to recompute the chain W, its widest
  window radius; the radius of the group-window bound of :mod:`v2gsim.optimize.bilevel.groups`
  (0: off), and when to recompute it.
* ``enumerate_limit`` (512): a node whose box holds at most this many level vectors is closed by
  evaluating every one exactly (one follower batch) instead of being bounded and split.

The nodes (bounding, filtering, branching, enumeration of small boxes) are in
:mod:`v2gsim.optimize.bilevel.nodes`.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.optimize.bilevel.enumeration import (
    brute_force_search,
    check_enumeration,
    level_vectors,
    root_domain,
)
from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult, single_hour_changes
from v2gsim.optimize.bilevel.nodes import (
    ChainPolicy,
    Incumbent,
    Node,
    bound_node,
    enumerated,
    push_children,
)

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
    """Exact maximisation of V(s) (B1) over s ∈ L^T by branch-and-bound on level domains.

    See the module docstring for the method and its tuning (``max_rounds``, ``branching``,
    ``split``, ``chain``, ``chain_refresh``, ``chain_radius``, ``groups``, ``group_refresh``,
    ``enumerate_limit``) and :mod:`v2gsim.optimize.bilevel.bounds` for the bound (B3). Nodes are
    processed best-bound first.

    Args:
        ld: the leader data (``ld.nu`` sets the substitution margins).
        incumbent: a known solution (e.g. from :func:`coordinate_search` or a warm start).
        rel_gap: stop when ``(UB − V)/max(|V|, 1e-9) <= rel_gap``; nodes within it are pruned.
        deadline: wall-clock deadline (``time.perf_counter()`` seconds).
        max_nodes: node limit.
        root_rho: Newton starts (per cluster) of the root's corners, e.g. yesterday's root's.

    Returns:
        A :class:`SearchResult` whose ``upper_bound`` is the largest bound of the open nodes and of
        every node or level discarded (at most the incumbent plus the tolerance when the tree is
        exhausted).
    """
    ev0 = ld.evaluations
    policy = ChainPolicy(chain, chain_refresh, deadline, chain_radius, groups=groups,
                         group_refresh=group_refresh)
    inc = Incumbent.start(ld, incumbent, rel_gap)
    seq = itertools.count()
    r_lo, r_hi = (None, None) if root_rho is None else root_rho
    heap: list[Node] = [Node(-np.inf, next(seq), root_domain(ld), np.inf, r_lo, r_hi)]
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
        if enumerated(ld, inc, node.dom, node.rho_lo, node.base, enumerate_limit):
            continue
        bounded, used, rho_pair = bound_node(ld, inc, node, max_rounds, policy)
        rounds += used
        if root_out is None:
            root_out = rho_pair
        if bounded is None:
            continue
        bnd = bounded.bnd
        if enumerated(ld, inc, bounded.dom, bnd.rho_lo, (bnd.s_lo, bnd.s_hi), max(enumerate_limit, 1)):
            continue  # a leaf or a small box: every vector evaluated exactly
        push_children(ld, inc, heap, seq, bounded, branching, split)
    ub = max([inc.value, inc.closed] + [n.bound for n in heap])
    return SearchResult(
        levels_idx=inc.idx, value=inc.value, upper_bound=ub, nodes=nodes,
        evaluations=ld.evaluations - ev0, status=status, iterations=rounds, root_rho=root_out,
    )

"""Enumeration of rebate level vectors (tiny instances, to cross-check the exact search; §1.5 B1)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult

__all__ = [
    "brute_force_search", "check_enumeration", "domain_size", "enumerate_domain", "level_vectors",
    "root_domain",
]


def check_enumeration(n_levels: int, n_free: int, max_vectors: int) -> int:
    """Number ``n_levels ** n_free`` of rebate vectors an enumeration visits.

    Raises:
        ValueError: if it exceeds ``max_vectors``.
    """
    n = n_levels**n_free
    if n > max_vectors:
        raise ValueError(f"brute force would enumerate {n} rebate vectors (> {max_vectors})")
    return n


def level_vectors(
    hours: int, n_levels: int, free: NDArray[np.bool_], batch: int
) -> Iterator[NDArray[np.int64]]:
    """Every level-index vector over the free hours (others at level 0), ``batch`` rows at a time.

    Args:
        hours: number of hours T.
        n_levels: number of rebate levels H.
        free: (T,) hours whose level varies.
        batch: rows per chunk.

    Yields:
        (<= batch, T) level indices, in lexicographic order over the free hours.
    """
    fh = np.flatnonzero(free)
    combos = itertools.product(range(n_levels), repeat=len(fh))
    while chunk := list(itertools.islice(combos, batch)):
        idx = np.zeros((len(chunk), hours), dtype=np.int64)
        idx[:, fh] = np.asarray(chunk, dtype=np.int64).reshape(len(chunk), len(fh))
        yield idx


def brute_force_search(ld: LeaderData, *, batch: int = 512) -> SearchResult:
    """Enumerate every rebate vector over the free hours (others at level 0) exactly.

    Args:
        ld: the leader data.
        batch: rebate vectors per follower batch.

    Returns:
        The best :class:`SearchResult` (``upper_bound == value``, status ``"optimal"``).
    """
    ev0 = ld.evaluations
    best_idx, best_val = enumerate_domain(ld, root_domain(ld), batch=batch)
    return SearchResult(
        levels_idx=best_idx, value=best_val, upper_bound=best_val, evaluations=ld.evaluations - ev0,
        status="optimal",
    )


def root_domain(ld: LeaderData) -> NDArray[np.bool_]:
    """(T, H) level domains of the whole search space: every level on the free hours, level 0 elsewhere."""
    dom = np.zeros((ld.hours, ld.n_levels), dtype=bool)
    dom[ld.free, :] = True
    dom[~ld.free, 0] = True
    return dom


def domain_size(dom: NDArray[np.bool_]) -> float:
    """Number of level vectors in the box of level domains ``dom`` (T, H) (a float: it may be huge)."""
    return float(np.prod(dom.sum(axis=1).astype(float)))


def enumerate_domain(
    ld: LeaderData, dom: NDArray[np.bool_], rho: list[NDArray] | None = None,
    base: NDArray[np.float64] | None = None, *, batch: int = 1024,
) -> tuple[NDArray[np.int64], float]:
    """The best level vector of a box of level domains, every vector evaluated exactly (B1).

    Used by the branch-and-bound to close small nodes exactly instead of branching further.

    Args:
        ld: the leader data.
        dom: (T, H) level domains (every hour at least one level).
        rho: Newton warm-start potentials per cluster at the rebates ``base`` (e.g. the node's
            lower corner); with ``base`` the starts are first-order (``ld.taylor_starts``).
        base: (T,) rebates ($) at which ``rho`` was solved.
        batch: rebate vectors per follower batch.

    Returns:
        ``(level indices (T,), exact value V in $)`` of the best vector.
    """
    members = [np.flatnonzero(row) for row in dom]
    multi = [t for t, m in enumerate(members) if m.size > 1]
    idx0 = np.array([m[0] for m in members], dtype=np.int64)
    combos = itertools.product(*(members[t] for t in multi))
    best_val, best_idx = -np.inf, idx0
    while chunk := list(itertools.islice(combos, batch)):
        idx = np.repeat(idx0[None, :], len(chunk), axis=0)
        if multi:
            idx[:, multi] = np.asarray(chunk, dtype=np.int64).reshape(len(chunk), len(multi))
        S = ld.rebates(idx)
        starts = rho if base is None or rho is None else ld.taylor_starts(base, S, rho)
        v, _, _ = ld.evaluate(S, starts)
        k = int(np.argmax(v))
        if v[k] > best_val:
            best_val, best_idx = float(v[k]), idx[k].copy()
    return best_idx, best_val

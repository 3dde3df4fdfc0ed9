"""Enumeration of rebate level vectors (tiny instances, to cross-check the exact search; §1.5 B1)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from v2gsim.optimize.bilevel.leader import LeaderData, SearchResult

__all__ = ["brute_force_search", "check_enumeration", "level_vectors"]


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
    best_val, best_idx = -np.inf, np.zeros(ld.hours, dtype=np.int64)
    for idx in level_vectors(ld.hours, ld.n_levels, ld.free, batch):
        v, _, _ = ld.evaluate(ld.rebates(idx))
        k = int(np.argmax(v))
        if v[k] > best_val:
            best_val, best_idx = float(v[k]), idx[k].copy()
    return SearchResult(
        levels_idx=best_idx, value=best_val, upper_bound=best_val, evaluations=ld.evaluations - ev0,
        status="optimal",
    )

"""Compiled kernels of the package: ``numba.njit`` with a cache where numba can keep one.

Every numba kernel of v2gsim (the drivers' path choice, the Philox streams, the bilevel follower and
hour bounds) is decorated with :func:`njit_cached`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numba

__all__ = ["CACHE_NOTICE", "njit_cached"]

CACHE_NOTICE = (
    "v2gsim: numba cannot cache compiled kernels here (no writable __pycache__ beside the package, "
    "NUMBA_CACHE_DIR or user cache directory); compiling them at each start (set NUMBA_CACHE_DIR "
    "to a writable directory to cache them)"
)
"""The one line written to stderr (once per process) when the kernels are compiled without a cache."""

_notified = False


def njit_cached(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, or without the cache where numba cannot keep one.

    numba caches a kernel in ``__pycache__`` beside its module, else in ``NUMBA_CACHE_DIR``, else in
    the user's cache directory (under ``HOME``); when none is writable (a read-only install and no
    writable ``HOME``) ``cache=True`` fails at import with "cannot cache function ...". The kernel
    is then compiled without a cache (on first call, in every process) and :data:`CACHE_NOTICE` is
    written to stderr once. Every compiled kernel of the package uses this decorator. It never
    falls back to a shared temporary directory: numba's cache files are pickles, and a directory
    other users can write would let them plant code.

    Args:
        **options: further ``numba.njit`` options (``nogil``, ``inline``, ...).

    Returns:
        The decorator.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        global _notified
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:
            if "cannot cache" not in str(exc):
                raise
            if not _notified:
                _notified = True
                print(CACHE_NOTICE, file=sys.stderr)
            return numba.njit(cache=False, **options)(func)

    return decorate

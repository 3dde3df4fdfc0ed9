"""Compiled kernels of the package: ``numba.njit`` with an on-disk cache where numba can keep one.

Every numba kernel of v2gsim (the drivers' path choice, the Philox streams, the bilevel follower and
hour bounds) is decorated with :func:`njit_cached`. A kernel is compiled on its first call (a few
seconds for the drivers' kernels) and the machine code is cached on disk, so later processes load it
instead (:func:`njit_cached`). The library prints nothing about it; the command line asks, with
:func:`announce_compilation`, for one line on stderr when a run compiles (:data:`COMPILE_NOTICE`: a
cold cache, after installing or upgrading), and none when the cache is warm.

numba itself is imported by the first decorated kernel, not by this module: the command line can
ask for the notice before it imports anything heavy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["CACHE_NOTICE", "COMPILE_NOTICE", "announce_compilation", "njit_cached"]

CACHE_NOTICE = (
    "v2gsim: numba cannot cache compiled kernels here (no writable __pycache__ beside the package, "
    "NUMBA_CACHE_DIR or user cache directory); compiling them at each start (set NUMBA_CACHE_DIR "
    "to a writable directory to cache them)"
)
"""The one line written to stderr (once per process) when the kernels are compiled without a cache."""

COMPILE_NOTICE = (
    "v2gsim: compiling the simulation kernels (once after installing or upgrading; later runs load "
    "them from the cache)"
)
"""The one line written to stderr, once per process, when :func:`announce_compilation` was asked for
and a kernel of the package is compiled rather than loaded from the cache."""

_notified = False
_announce = False
_listener: Any = None


def announce_compilation() -> None:
    """Write :data:`COMPILE_NOTICE` to stderr the first time a kernel of this package compiles.

    For the command line (the library stays quiet): a warm cache loads every kernel and prints
    nothing. Cheap to call before numba is imported; the listener (numba's ``numba:compile`` event,
    fired only on a cache miss) is installed when numba is, or at once if it already is.
    """
    global _announce
    _announce = True
    if "numba" in sys.modules:
        _install_listener()


def _install_listener() -> None:
    """Install the ``numba:compile`` listener of :func:`announce_compilation` (once)."""
    global _listener
    if _listener is not None:
        return
    from numba.core import event

    class _CompileNotice(event.Listener):
        """Prints :data:`COMPILE_NOTICE` at the first compilation of a v2gsim kernel."""

        done = False

        def on_start(self, ev: Any) -> None:
            dispatcher = (ev.data or {}).get("dispatcher")
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
            if not self.done and module.startswith("v2gsim."):
                self.done = True
                _say(COMPILE_NOTICE)

        def on_end(self, ev: Any) -> None:
            pass

    _listener = _CompileNotice()
    event.register("numba:compile", _listener)


def _say(line: str) -> None:
    """Write ``line`` to stderr; above a tqdm progress bar when one is shown (not inside it)."""
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


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
        import numba

        if _announce:
            _install_listener()
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

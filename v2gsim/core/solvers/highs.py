"""A quiet ``highspy.Highs`` instance.

highspy prints its banner ("Running HiGHS ... Copyright ...") to the C-level standard output the
first time a ``Highs`` object is constructed in a process, before any option can be set. The
first construction therefore runs with file descriptor 1 pointed at ``os.devnull`` (the C buffer
is flushed before it is restored); later constructions print nothing anyway. Every instance comes
with ``output_flag = False``.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import highspy

__all__ = ["quiet_highs"]

_LOCK = threading.Lock()
_BANNER_DONE = False


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library handle on this platform
        pass


def quiet_highs() -> highspy.Highs:
    """A new ``highspy.Highs`` with its output off and without the banner on standard output."""
    global _BANNER_DONE
    with _LOCK:
        if _BANNER_DONE:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            _flush_c_stdout()
            saved = os.dup(1)
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, 1)
                h = highspy.Highs()
                _flush_c_stdout()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(null)
            _BANNER_DONE = True
    h.setOptionValue("output_flag", False)
    return h

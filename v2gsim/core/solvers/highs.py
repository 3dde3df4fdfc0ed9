"""A quiet ``highspy.Highs`` instance.

highspy prints its banner ("Running HiGHS ... Copyright ...") to the C-level standard output the
first time a ``Highs`` object is constructed in a process, before any option can be set. The
first construction therefore runs with file descriptor 1 pointed at ``os.devnull`` (the C buffer
is flushed before it is restored); later constructions print nothing anyway. Every instance comes
with ``output_flag = False``.

:func:`silenced_c_stdout` does the same around any block: HiGHS 1.12 and later (also the copy inside
``scipy.optimize.milp``) print the debug line
``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` with ``printf`` whatever
``output_flag`` says (ERGO-Code/HiGHS issue 2783), so no solver option keeps it off a JSON on stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator

import highspy

__all__ = ["quiet_highs", "silenced_c_stdout"]

_LOCK = threading.Lock()
_FD_LOCK = threading.RLock()
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
            with silenced_c_stdout():  # the banner goes to the C-level standard output
                h = highspy.Highs()
            _BANNER_DONE = True
    h.setOptionValue("output_flag", False)
    return h


@contextlib.contextmanager
def silenced_c_stdout() -> Iterator[None]:
    """Point file descriptor 1 (the C-level standard output) at ``os.devnull`` inside the block.

    For solver calls whose C code prints to the standard output whatever its options say (HiGHS's
    ``transformNewIntegerFeasibleSolution`` debug line, module docstring). Python's ``sys.stdout`` is
    flushed before and the C ``stdout`` buffer before the descriptor is restored, so nothing written
    inside the block reaches the real standard output later. Everything written to file descriptor 1
    inside the block is lost, Python's own prints included once flushed: print results after it. The
    standard error is untouched. The descriptor is process-wide: blocks nest, and threads take turns.
    """
    with _FD_LOCK:
        sys.stdout.flush()
        _flush_c_stdout()
        saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            yield
        finally:
            with contextlib.suppress(ValueError):  # sys.stdout closed inside the block
                sys.stdout.flush()
            _flush_c_stdout()
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)

"""Energy-wish penalty D of (10) (RECONSTRUCTED, models.md §3.2 item (10)).

The deviation is ``x = 100 (SOC^exp - SOC^end)`` in SOC percentage points (our unit choice: the seed
does not say how rho is scaled). Two forms:

* ``"plus"``: D(x) = max(x, 0), a shortfall is penalized linearly, a surplus is free.
* ``"square"``: D(x) = x**2 on both sides. HiGHS solves MILPs and continuous QPs but not MIQPs, so the
  MILP replaces the square by its piecewise-linear OUTER approximation: the maximum of the tangents at
  ``K`` equally spaced breakpoints of [-100, 100]. It equals x**2 at the breakpoints and
  under-estimates it by at most h**2 / 4 between them (h the breakpoint spacing; 0.25 pp**2 for the
  default 201 breakpoints). :func:`wish_penalty` with ``exact=False`` returns the same approximation,
  so the MILP's objective and an evaluation of its schedule agree exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["square_breakpoints", "wish_penalty"]


def square_breakpoints(pieces: int) -> np.ndarray:
    """Breakpoints x_k (SOC percentage points) of the tangents of the square's outer approximation."""
    return np.linspace(-100.0, 100.0, int(pieces))


def wish_penalty(dev_pp, form: str, pieces: int = 201, exact: bool = False) -> np.ndarray:
    """D(x) of (10) for deviations ``dev_pp`` = 100 (SOC^exp - SOC^end) (pp).

    Args:
        dev_pp: deviations in SOC percentage points (any shape).
        form: ``"plus"`` or ``"square"``.
        pieces: breakpoints of the square's outer approximation.
        exact: for ``"square"``, return x**2 instead of the approximation the MILP uses.

    Returns:
        D(x), same shape as ``dev_pp`` (pp for ``plus``, pp**2 for ``square``).
    """
    x = np.asarray(dev_pp, dtype=float)
    if form == "plus":
        return np.maximum(x, 0.0)
    if form != "square":
        raise ValueError(f"form must be 'plus' or 'square', got {form!r}")
    if exact:
        return x**2
    xk = square_breakpoints(pieces)
    return np.max(2.0 * xk * x[..., None] - xk**2, axis=-1)

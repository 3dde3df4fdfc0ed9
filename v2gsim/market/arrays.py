"""Return convention of the market layer's vectorized functions: a float for scalar input."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["float_or_array"]


def float_or_array(a: ArrayLike) -> float | np.ndarray:
    """Return a Python float for 0-d results, otherwise the float array."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a

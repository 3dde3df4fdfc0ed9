"""Sampled complementarity check of the charging arcs (models.md B3) from the follower's Jacobian.

The valid inequalities (B3) and the box bounds of the branch-and-bound hold when raising one hour's
rebate never lowers another hour's plug-in persistency (the charging arcs are complements,
Granot–Veinott). :func:`substitution_report` evaluates the exact Jacobian
(:meth:`v2gsim.optimize.bilevel.follower.BatchFollower.jacobian`) at sampled rebate vectors and
reports the largest substitution effect found (at the vectors of :func:`sample_rebates`); the
bounds are widened by a multiple of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.optimize.bilevel.follower import BatchFollower
from v2gsim.optimize.bilevel.instance import top_rebates

__all__ = ["SubstitutionReport", "sample_rebates", "substitution_report"]


def sample_rebates(
    levels: NDArray[np.float64], free: NDArray[np.bool_], n: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Rebate vectors at which to check complementarity: the two extremes plus random level vectors.

    Args:
        levels: (H,) rebate levels ($ per plugged EV-hour), levels[0] = 0.
        free: (T,) hours whose rebate may be non-zero.
        n: number of vectors (at least the two extremes are returned).
        rng: source of the random level vectors.

    Returns:
        (max(n, 2), T) rebates ($): no rebates, the top level on every free hour, then n − 2 random
        level vectors (0 on the hours that are not free).
    """
    T = free.shape[0]
    k = max(n - 2, 0)
    rand = levels[rng.integers(0, levels.size, size=(k, T))] * free[None, :]
    return np.vstack([np.zeros(T), top_rebates(levels, free), rand])


@dataclass(frozen=True)
class SubstitutionReport:
    """Result of the complementarity check of the charging arcs (models.md B3).

    Attributes:
        nu: largest substitution effect found, ``max(0, −J[t, t'])`` over sampled rebate vectors
            and hour pairs t ≠ t' (persistency per $ of rebate, 1/$); entries below 1e-12 times
            the largest own-hour effect are round-off and count as 0. 0 means the charging arcs
            behaved as complements at every sample.
        relative: ``nu`` relative to the geometric mean of the two diagonal entries (-).
        pair: the hour pair (t, t') where it was found, or None.
        samples: number of rebate vectors checked.
        max_complement: largest positive off-diagonal entry (1/$), for scale.
        pairwise: (T, T) largest substitution effect per hour pair, ``max(0, −J[t, t'])`` over
            the samples (zero diagonal), 1/$.
    """

    nu: float
    relative: float
    pair: tuple[int, int] | None
    samples: int
    max_complement: float
    pairwise: NDArray[np.float64]

    @property
    def complements(self) -> bool:
        """True when no substitution effect above round-off was found at the samples."""
        return self.nu == 0.0


def substitution_report(follower: BatchFollower, S: ArrayLike) -> SubstitutionReport:
    """Check numerically whether raising one hour's rebate ever lowers another hour's persistency.

    Evaluates the exact Jacobian (:meth:`BatchFollower.jacobian`) at every row of ``S`` and reports
    the most negative off-diagonal entry. This is a sampled check, not a proof: the box bounds of
    the branch-and-bound and the valid inequalities (B3) are widened by a multiple of ``nu``.

    Args:
        follower: the cluster's follower.
        S: (K, T) rebate vectors to check ($).

    Returns:
        The :class:`SubstitutionReport`.
    """
    Sa = np.atleast_2d(np.asarray(S, dtype=float))
    J = follower.jacobian(Sa)
    T = follower.hours
    off = J.copy()
    idx = np.arange(T)
    off[:, idx, idx] = 0.0
    diag = np.maximum(J[:, idx, idx], 1e-300)
    noise = 1e-12 * float(diag.max())  # round-off level of the Laplacian solves
    neg = np.where(-off > noise, -off, 0.0)
    nu = float(neg.max()) if neg.size else 0.0
    pair = None
    rel = 0.0
    if nu > 0:
        k, t, tp = np.unravel_index(int(np.argmax(neg)), neg.shape)
        pair = (int(t), int(tp))
        rel = float(nu / np.sqrt(diag[k, t] * diag[k, tp]))
    return SubstitutionReport(
        nu=nu, relative=rel, pair=pair, samples=Sa.shape[0],
        max_complement=float(max(0.0, off.max())), pairwise=neg.max(axis=0),
    )

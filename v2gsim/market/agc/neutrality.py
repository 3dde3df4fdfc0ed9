"""Energy neutrality of a synthetic AGC signal: zero mean over every block of samples.

Steps 2 and 4 of :func:`v2gsim.market.agc.synthetic.synthetic_regd` (see
:mod:`v2gsim.market.agc.synthetic` for the whole construction): :func:`project_block_means` removes
the block means of the latent process by subtracting a smooth trend (:class:`BlockTrend`), and
:func:`neutralize_clipped` restores neutrality after the signal has been clipped to ``[-1, 1]``.
Pure numpy/scipy; the only loop is over correction passes, never over samples.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import solve_banded

__all__ = ["BlockTrend", "neutralize_clipped", "project_block_means"]


class BlockTrend:
    """Smooth trend with prescribed block means (mean-preserving piecewise-linear interpolation).

    The trend is the piecewise-linear interpolant through knot values ``m_i`` placed at the centres
    of consecutive blocks of ``block`` samples, held flat before the first and after the last centre
    (``numpy.interp`` semantics). Its mean over block ``i`` is
    ``(1 - 2w) m_i + w (m_{i-1} + m_{i+1})`` in the interior and ``(1 - w) m_0 + w m_1`` (mirror
    at the end), where ``w`` is the mean hat weight of a neighbouring knot over one block
    (``w = 1/8`` for an even block length). Given the desired block means ``b``, the knot values
    solve the diagonally dominant tridiagonal system ``A m = b``. Subtracting the trend therefore
    makes every block mean exactly zero while staying continuous.
    """

    def __init__(self, n_blocks: int, block: int) -> None:
        self.n_blocks = n_blocks
        self.block = block
        u = np.arange(block, dtype=np.float64) - (block - 1) / 2.0
        w_left = np.maximum(-u, 0.0) / block  # weight of the previous knot within a block
        w_right = np.maximum(u, 0.0) / block  # weight of the next knot within a block
        # trend block i = m_i + (m_{i-1} - m_i) w_left + (m_{i+1} - m_i) w_right = K_i @ basis
        self._basis = np.stack((np.ones(block), w_left, w_right))
        w = float(w_left.mean())
        ab = np.zeros((3, n_blocks))
        if n_blocks == 1:
            ab[1, 0] = 1.0
        else:
            ab[0, 1:] = w  # super-diagonal
            ab[1, :] = 1.0 - 2.0 * w
            ab[1, 0] = ab[1, -1] = 1.0 - w
            ab[2, :-1] = w  # sub-diagonal
        self._ab = ab

    def coefficients(self, block_means: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-block coefficients ``K`` (``(n_blocks, 3)``) of the trend ``K @ basis``."""
        if self.n_blocks == 1:
            return np.array([[float(block_means[0]), 0.0, 0.0]])
        m = solve_banded((1, 1), self._ab, block_means)
        coef = np.empty((self.n_blocks, 3))
        coef[:, 0] = m
        coef[0, 1] = 0.0
        coef[1:, 1] = m[:-1] - m[1:]
        coef[:-1, 2] = m[1:] - m[:-1]
        coef[-1, 2] = 0.0
        return coef

    def trend(self, block_means: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the trend, shape ``(n_blocks, block)``, with block means ``block_means``."""
        return self.coefficients(block_means) @ self._basis

    def subtract_sparse(
        self, blocks: NDArray[np.float64], block_means: NDArray[np.float64], tiny: float
    ) -> NDArray[np.intp]:
        """Subtract the trend in place from the rows of ``blocks`` where it exceeds ``tiny``.

        The knot values of a sparse right-hand side decay geometrically (factor ≈ 0.17 per block)
        away from its non-zeros, so only a few rows change. Returns the indices of the changed rows.
        """
        coef = self.coefficients(block_means)
        rows = np.flatnonzero(np.abs(coef).max(axis=1) > tiny)
        if rows.size > self.n_blocks // 2:  # dense update: avoid fancy-index copies
            blocks -= coef @ self._basis
            return np.arange(self.n_blocks)
        blocks[rows] -= coef[rows] @ self._basis
        return rows


def project_block_means(y: NDArray[np.float64], trend: BlockTrend) -> None:
    """Step 2 (linear projection): subtract in place the trend of the block means of ``y``.

    Afterwards every block of ``trend.block`` samples of ``y`` has mean exactly 0 (up to round-off)
    and ``y`` stays continuous.
    """
    yb = y.reshape(trend.n_blocks, trend.block)
    yb -= trend.trend(yb.mean(axis=1))


def neutralize_clipped(
    y: NDArray[np.float64], s: NDArray[np.float64], trend: BlockTrend, neutral_tol: float
) -> None:
    """Step 4 (neutrality after clipping): shift ``y`` and re-clip into ``s`` until neutral.

    ``s`` is ``clip(y, -1, 1)`` on entry. Clipping shifts block means; the trend of the clipped
    signal's block means is subtracted from the pre-clip signal ``y`` and the signal re-clipped,
    repeated until every block mean of ``s`` is below ``neutral_tol`` (a contraction: each pass
    removes the residual on the unsaturated samples, typically 3–8 passes). Both arrays are updated
    in place.

    Raises:
        ValueError: If 200 passes do not reach the tolerance.
    """
    yb = y.reshape(trend.n_blocks, trend.block)
    sb = s.reshape(trend.n_blocks, trend.block)
    bm = sb.mean(axis=1)
    for _ in range(200):
        if float(np.abs(bm).max()) < neutral_tol:
            break
        # Newton step: a shift of the pre-clip signal moves a block mean by the block's
        # unsaturated fraction times the shift (gain capped at 4 for nearly saturated
        # blocks). Blocks already well inside the tolerance get a zero target, which keeps
        # the update sparse: only rows near offending blocks are touched and re-clipped.
        hot = np.flatnonzero(np.abs(bm) >= 0.5 * neutral_tol)
        free = np.count_nonzero(np.abs(sb[hot]) < 1.0, axis=1) / trend.block
        target = np.zeros_like(bm)
        target[hot] = bm[hot] / np.maximum(free, 0.25)
        rows = trend.subtract_sparse(yb, target, 1e-6 * neutral_tol)
        if rows.size == trend.n_blocks:
            np.clip(y, -1.0, 1.0, out=s)
            bm = sb.mean(axis=1)
        else:
            sb[rows] = np.clip(yb[rows], -1.0, 1.0)
            bm[rows] = sb[rows].mean(axis=1)
    else:  # pragma: no cover - the contraction converges far earlier in practice
        raise ValueError("energy-neutrality correction did not converge")

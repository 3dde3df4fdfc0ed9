"""Compiled kernels of the bilevel search (issue #17) against their numpy references.

* the follower's Newton kernel (:mod:`v2gsim.optimize.bilevel.follower_kernel`) against the
  vectorised numpy engine of :class:`BatchFollower` (same solutions to rounding, same iterations)
  and against the flow-conservation optimality condition;
* the hour-value bound (:mod:`v2gsim.optimize.bilevel.hour_kernel`) against a dense grid of the
  function it bounds (never below) and the golden-section path of
  :func:`~v2gsim.optimize.bilevel.bounds.hour_bound` (never above it by more than rounding);
* the slab minima of the spread (:func:`~v2gsim.optimize.bilevel.hour_kernel.slab_spreads`) against
  the numpy path of :func:`~v2gsim.optimize.bilevel.bounds.sliced_hour_bound` and a sampled minimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim.optimize.bilevel import BilevelProblem
from v2gsim.optimize.bilevel.bids import cstar
from v2gsim.optimize.bilevel.bounds import hour_bound, sliced_hour_bound
from v2gsim.optimize.bilevel.follower import BatchFollower
from v2gsim.optimize.bilevel.hour_kernel import hour_value_bound, slab_spreads
from v2gsim.specs.build import default_instance


@pytest.fixture(scope="module")
def hard_problem() -> BilevelProblem:
    return BilevelProblem(default_instance((0.6, 0.4), psi=20.0, fleet_size=400.0))


def test_compiled_follower_matches_numpy(hard_problem: BilevelProblem) -> None:
    ld = hard_problem._ld
    rng = np.random.default_rng(0)
    S = ld.levels[rng.integers(ld.levels.size, size=(300, ld.hours))]
    S[:5] = 0.0
    for f in ld.followers:
        assert f._band is not None  # the default networks take the compiled path
        f.engine = "numpy"
        ref = f.solve(S)
        f.engine = "compiled"
        out = f.solve(S)
        np.testing.assert_allclose(out.y, ref.y, atol=1e-12)
        np.testing.assert_allclose(out.rho, ref.rho, atol=1e-10)
        assert abs(out.iterations - ref.iterations) <= 1
        # optimality of (D4): flow conservation f − B y = 0 at the returned potentials
        y = f._y(out.rho, f.utilities(S))
        resid = f.net.f[f.net.keep][None, :] - y @ f._Bk_T
        assert np.abs(resid).max() <= 1e-9
        warm = f.solve(S, out.rho + 0.01 * rng.normal(size=out.rho.shape))
        np.testing.assert_allclose(warm.y, ref.y, atol=1e-9)


def test_follower_engine_is_validated() -> None:
    B = np.array([[1.0, 1.0], [-1.0, -1.0]])
    with pytest.raises(ValueError, match="engine"):
        BatchFollower(B, [1.0, -1.0], [0.0, 0.1], [1.0, 1.0], [0, -1], 1, engine="fortran")


def _grid_max(lo, hi, a, p, lv, rb, sg, psi, kappa, points=2001):
    n = lo[..., None] + (hi - lo)[..., None] * np.linspace(0.0, 1.0, points)
    g = p[..., None] * cstar(psi * n, a[..., None], rb[..., None], sg[..., None], kappa) - lv[..., None] * n
    return g.max(axis=-1)


def test_hour_kernel_bounds_the_hour_value_tightly() -> None:
    rng = np.random.default_rng(4)
    N, psi, kappa = 4000, 20.0, 2.45
    lo = rng.uniform(0.0, 200.0, N)
    hi = lo + rng.uniform(0.0, 100.0, N) * (rng.uniform(size=N) < 0.9)  # some degenerate ranges
    a = rng.uniform(0.0, 4e5, N) * (rng.uniform(size=N) < 0.95)  # some without spread
    p = rng.uniform(0.0, 60.0, N) * (rng.uniform(size=N) < 0.95)
    lv = rng.choice([0.0, 0.1, 0.2, 0.3, 0.4], N)
    rb, sg = rng.uniform(0.1, 0.6, N), rng.uniform(0.0, 0.3, N)
    U = hour_value_bound(lo, hi, a, p, lv, rb, sg, psi, kappa)
    gm = _grid_max(lo, hi, a, p, lv, rb, sg, psi, kappa)
    assert np.all(U >= gm - 1e-9 * (1.0 + np.abs(gm)))
    assert np.all(U <= gm + 1e-4 * (1.0 + np.abs(gm)))  # only the grid's resolution above it
    assert np.median(U - gm) < 1e-5


def test_hour_kernel_agrees_with_golden_section(hard_problem: BilevelProblem) -> None:
    ld = hard_problem._ld
    rng = np.random.default_rng(5)
    T, H, nc = ld.hours, ld.n_levels, len(ld.followers)
    a, b = rng.uniform(0.02, 0.98, (2, T, H, 3, nc))
    ylo, yhi = np.minimum(a, b), np.maximum(a, b)
    a_min = ld.psi**2 * (np.minimum(ylo * (1 - ylo), yhi * (1 - yhi)) @ ld.M)
    fast = hour_bound(ld, ylo @ ld.M, yhi @ ld.M, a_min)
    gold = hour_bound(ld, ylo @ ld.M, yhi @ ld.M, a_min, golden=True)
    assert fast.shape == gold.shape == (T, H, 3)
    scale = 1e-9 * (1.0 + np.abs(gold))
    assert np.all(fast <= gold + scale)  # tangents are at least as tight as the Lipschitz term
    assert np.all(fast >= gold - 1e-6 * (1.0 + np.abs(gold)))  # and both bound the same maximum


def test_compiled_slab_spreads_match_numpy(hard_problem: BilevelProblem) -> None:
    ld = hard_problem._ld
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.0, 1.0, (2, ld.hours, ld.n_levels, len(ld.followers)))
    ylo, yhi = np.minimum(a, b), np.maximum(a, b)
    ylo[0, 0] = yhi[0, 0]  # a degenerate box (a point)
    for pieces in (1, 4):
        ref = sliced_hour_bound(ld, ylo, yhi, pieces, compiled=False)
        out = sliced_hour_bound(ld, ylo, yhi, pieces)
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-9)


def test_slab_minimum_closed_form_for_one_cluster() -> None:
    """One cluster: slab k is y in [y_k, y_k+1] and a concave, so a_min = ψ²M min(f(y_k), f(y_k+1))."""
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.0, 1.0, (2, 30, 1))
    ylo, yhi = np.minimum(a, b), np.maximum(a, b)
    cuts, amin = slab_spreads(ylo, yhi, np.array([150.0]), 20.0, 3)
    ys = ylo + (yhi - ylo) * np.linspace(0.0, 1.0, 4)[None, :]  # (30, 4) slab ends
    np.testing.assert_allclose(cuts, 150.0 * ys, rtol=1e-12)
    f = 400.0 * 150.0 * ys * (1.0 - ys)
    np.testing.assert_allclose(amin, np.minimum(f[:, :-1], f[:, 1:]), rtol=1e-12, atol=1e-9)


def test_slab_minimum_is_below_every_sampled_spread() -> None:
    """Three clusters: a_min of every slab lies below a at sampled points of box ∩ slab."""
    rng = np.random.default_rng(3)
    M = rng.uniform(50.0, 200.0, 3)
    a, b = rng.uniform(0.0, 1.0, (2, 40, 3))
    ylo, yhi = np.minimum(a, b), np.maximum(a, b)
    cuts, amin = slab_spreads(ylo, yhi, M, 20.0, 3)
    y = ylo[:, None, :] + (yhi - ylo)[:, None, :] * rng.uniform(size=(40, 4000, 3))
    n = y @ M
    spread = 400.0 * ((y * (1.0 - y)) @ M)
    for k in range(3):
        inside = (n >= cuts[:, k, None]) & (n <= cuts[:, k + 1, None])
        assert inside.any(axis=1).all()
        low = np.where(inside, spread, np.inf).min(axis=1)
        assert np.all(amin[:, k] <= low + 1e-9)
        assert np.all(amin[:, k] > 0.0)

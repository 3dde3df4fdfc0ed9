"""The group-window bound of the bilevel branch-and-bound (issue #17): DP and validity.

The DP is checked against enumeration of every level sequence on random factors; validity against
brute force: on random boxes of tiny instances every rebate vector of the box is evaluated exactly,
each hour's value must lie below W_t(s_t, groups of its neighbours), and the node bound and the
per-level bounds of :meth:`GroupWindows.solve` must lie above the box's (per-level) optimum, also
for the windows of a larger box solved on a smaller one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_bilevel import tiny_instance
from test_bilevel_chain import _box_values, _prepared, _random_domain
from test_bilevel_pay import paying_instance

from v2gsim.optimize.bilevel import BilevelProblem
from v2gsim.optimize.bilevel.chain import padded_domain
from v2gsim.optimize.bilevel.groups import GroupWindows, _halves, group_rows, group_windows
from v2gsim.optimize.bilevel.search import branch_and_bound


def _combo_index(seq: list[int], t: int, group: np.ndarray, R: int) -> int:
    """Column of W for hour t: the groups of hours t−R..t−1, t+1..t+R (outside the day: group 0)."""
    T = len(seq)
    gs = []
    for o in [*range(-R, 0), *range(1, R + 1)]:
        k = t + o
        gs.append(int(group[k + R, seq[k]]) if 0 <= k < T else 0)
    return int(np.ravel_multi_index(tuple(gs), (2,) * (2 * R)))


def _seq_value(W: np.ndarray, group: np.ndarray, seq: list[int], R: int) -> float:
    return float(sum(W[t, seq[t], _combo_index(seq, t, group, R)] for t in range(len(seq))))


@pytest.mark.parametrize("radius", [1, 2])
def test_group_dp_matches_enumeration(radius: int) -> None:
    rng = np.random.default_rng(7 + radius)
    for T, H in ((2, 3), (4, 4), (6, 3)):
        dom = rng.uniform(size=(T, H)) < 0.7
        dom[np.arange(T), rng.integers(H, size=T)] = True
        group, _, _ = _halves(padded_domain(dom, radius))
        W = rng.normal(size=(T, H, 2 ** (2 * radius)))
        gw = GroupWindows(radius=radius, group=group, W=W, rows=0)
        sub = dom & (rng.uniform(size=(T, H)) < 0.8)
        sub[np.arange(T), [int(np.flatnonzero(d)[0]) for d in dom]] = True
        for box in (dom, sub):
            best = np.full((T, H), -np.inf)
            top = -np.inf
            for seq in itertools.product(*[np.flatnonzero(d) for d in box]):
                v = _seq_value(W, group, list(seq), radius)
                top = max(top, v)
                for t in range(T):
                    best[t, seq[t]] = max(best[t, seq[t]], v)
            ub, L, path = gw.solve(box)
            assert ub == pytest.approx(top, abs=1e-12)
            np.testing.assert_allclose(L, best, atol=1e-12)
            p = [int(x) for x in path]
            assert all(box[t, p[t]] for t in range(T))
            assert _seq_value(W, group, p, radius) == pytest.approx(top, abs=1e-12)


def _check_groups(prob: BilevelProblem, dom: np.ndarray, gw: GroupWindows, box: np.ndarray) -> None:
    """Hour values of every vector of ``box`` (inside ``dom``, the box of ``gw``) below W, and the
    bounds of ``gw.solve(box)`` above the box's optimum and per-level optima."""
    T, _ = box.shape
    idx, vt = _box_values(prob, box)
    V = vt.sum(axis=1)
    scale = 1e-9 * max(1.0, float(np.abs(V).max()))
    R = gw.radius
    Wv = np.array([[gw.W[t, row[t], _combo_index(list(row), t, gw.group, R)] for t in range(T)]
                   for row in idx])
    assert np.all(vt <= Wv + scale), "an hour's value exceeds its group-window bound"
    ub, L, _ = gw.solve(box)
    assert ub >= V.max() - scale
    for tt in range(T):
        for h in np.flatnonzero(box[tt]):
            assert L[tt, h] >= V[idx[:, tt] == h].max() - scale
    assert np.all(np.isneginf(L[~box]))


@pytest.mark.parametrize("seed", range(5))
def test_group_bound_is_valid_on_tiny_instances(seed: int) -> None:
    inst = tiny_instance(seed)
    prob, rng = _prepared(inst), np.random.default_rng(300 + seed)
    for k in range(3):
        radius = 1 + k % 2
        dom = _random_domain(rng, inst, root=k == 0)
        gw = group_windows(prob._ld, dom, None, None, radius)
        assert gw.radius == radius and gw.rows == group_rows(dom, radius) > 0
        _check_groups(prob, dom, gw, dom)
        sub = dom & _random_domain(rng, inst, root=False)  # a smaller box: the windows stay valid
        if sub.any(axis=1).all():
            _check_groups(prob, dom, gw, sub)


@pytest.mark.parametrize("seed", [0, 5, 11])
def test_group_bound_is_valid_where_rebates_pay(seed: int) -> None:
    inst = paying_instance(seed)
    prob, rng = _prepared(inst), np.random.default_rng(400 + seed)
    for k in range(2):
        dom = _random_domain(rng, inst, root=k == 0)
        _check_groups(prob, dom, group_windows(prob._ld, dom, None, None, 2), dom)


@pytest.mark.parametrize("seed", range(4))
def test_branch_and_bound_with_groups_agrees_with_brute_force(seed: int) -> None:
    inst = paying_instance(seed)
    prob = BilevelProblem(inst)
    ld = prob._ld
    ld.nu = prob._nu()
    bf = prob.solve("brute_force")
    for groups, chain in ((1, True), (2, False)):
        res = branch_and_bound(ld, None, rel_gap=1e-9, chain=chain, groups=groups, group_refresh=1.0,
                               enumerate_limit=0)
        assert res.status == "optimal"
        assert res.value == pytest.approx(bf.objective, rel=1e-7)
        assert res.upper_bound >= bf.objective - 1e-9 * abs(bf.objective)

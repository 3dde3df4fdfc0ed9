"""Branch-and-bound against brute force on tiny instances where rebates pay (issue #17).

The default instance's network (24 h, two clusters) at chargers of 15-40 kW, the seed's cluster
compositions and fleets of 100-400 EVs, with rebates allowed in four night or evening hours only (the
others fixed at 0), so enumeration visits 5^4 = 625 rebate vectors. Every instance is checked to
have a non-zero level in its enumerated optimum, and the exact search must find the same value with a
valid upper bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim.optimize.bilevel import BilevelInstance, BilevelProblem
from v2gsim.optimize.bilevel.enumeration import domain_size, enumerate_domain, level_vectors
from v2gsim.optimize.bilevel.search import branch_and_bound
from v2gsim.specs.build import default_instance

#: Hours where the full search puts rebates at 15-40 kW (night and evening charging at home).
REBATE_HOURS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 19, 20, 21, 22, 23)


def paying_instance(seed: int) -> BilevelInstance:
    """Tiny instance number ``seed``: charger, composition, fleet and four free hours drawn at random."""
    rng = np.random.default_rng(1700 + seed)
    psi = float(rng.choice([15.0, 20.0, 30.0, 40.0]))
    share = float(rng.choice([0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]))
    fleet = float(rng.choice([100.0, 200.0, 300.0, 400.0]))
    inst = default_instance((share, 1.0 - share), psi=psi, fleet_size=fleet)
    free = np.zeros(inst.hours, dtype=bool)
    free[rng.choice(REBATE_HOURS, 4, replace=False)] = True
    return inst.replace(free_hours=free)


@pytest.mark.parametrize("seed", range(20))
def test_branch_and_bound_matches_brute_force_where_rebates_pay(seed: int) -> None:
    inst = paying_instance(seed)
    prob = BilevelProblem(inst)
    bf = prob.solve("brute_force")
    assert np.any(bf.level_index > 0), "rebates must pay in this instance"
    assert bf.objective > bf.objective_no_rebates
    bb = BilevelProblem(inst).solve("bnb", rel_gap=1e-9, time_limit=120.0)
    scale = max(abs(bf.objective), 1.0)
    assert bb.status == "optimal"
    assert abs(bb.objective - bf.objective) <= 1e-7 * scale
    assert bb.upper_bound >= bf.objective - 1e-9 * scale  # every reported bound is valid
    assert np.all(bb.rebates[~inst.free] == 0)
    # the bounds alone (no enumeration of small boxes) reach the same optimum with a valid bound
    ld = prob._ld
    ld.nu = prob._nu()
    pure = branch_and_bound(ld, None, rel_gap=1e-9, enumerate_limit=0)
    assert pure.status == "optimal" and pure.value == pytest.approx(bf.objective, rel=1e-7)
    assert pure.upper_bound >= bf.objective - 1e-9 * scale
    # a 0.5 s limit: still a valid bound, and never a worse value than no rebates
    short = BilevelProblem(inst).solve("bnb", rel_gap=1e-9, time_limit=0.5)
    assert short.upper_bound >= bf.objective - 1e-9 * scale
    assert short.objective <= bf.objective + 1e-9 * scale


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_enumerate_domain_is_the_best_vector_of_its_box(seed: int) -> None:
    """The exact closing of small branch-and-bound nodes against a brute-force mask of all vectors."""
    inst = paying_instance(seed)
    ld = BilevelProblem(inst)._ld
    idx = np.concatenate(list(level_vectors(inst.hours, inst.levels.size, inst.free, 1000)))
    values = ld.evaluate(ld.rebates(idx))[0]
    rng = np.random.default_rng(seed)
    for _ in range(4):
        dom = np.zeros((inst.hours, inst.levels.size), dtype=bool)
        dom[:, 0] = True
        for t in np.flatnonzero(inst.free):
            dom[t] = rng.random(inst.levels.size) < 0.5
            dom[t, rng.integers(inst.levels.size)] = True
        inside = dom[np.arange(inst.hours)[None, :], idx].all(axis=1)
        assert inside.sum() == domain_size(dom)
        best_idx, best = enumerate_domain(ld, dom, batch=7)  # several batches
        assert dom[np.arange(inst.hours), best_idx].all()
        assert best == pytest.approx(values[inside].max(), rel=1e-9)


def test_unchanged_instance_reuses_the_proven_solution() -> None:
    inst = paying_instance(0)
    prob = BilevelProblem(inst)
    first = prob.solve("bnb", rel_gap=1e-6, time_limit=60.0)
    prob.update(inst.replace())  # same data: the proven solution is reused
    again = prob.solve("bnb", rel_gap=1e-6, time_limit=60.0, warm_start=first.rebates)
    assert again.nodes == 0 and "unchanged" in again.message
    assert np.array_equal(again.rebates, first.rebates) and again.objective == first.objective
    prob.update(price=inst.price * 1.01)  # changed prices: solved again
    moved = prob.solve("bnb", rel_gap=1e-6, time_limit=60.0, warm_start=first.rebates)
    assert moved.nodes > 0 and "unchanged" not in moved.message
    assert moved.objective == pytest.approx(BilevelProblem(inst.replace(price=inst.price * 1.01)).solve(
        "brute_force").objective, rel=1e-6)


def test_sliced_hour_bound_is_valid_and_tighter() -> None:
    """Sliced bound >= the hour value at random persistencies in the box, <= the plain bound."""
    from v2gsim.optimize.bilevel.bids import cstar
    from v2gsim.optimize.bilevel.bounds import hour_bound, sliced_hour_bound

    inst = default_instance((0.6, 0.4), psi=30.0, fleet_size=400.0)
    ld = BilevelProblem(inst)._ld
    rng = np.random.default_rng(7)
    T, H, nc = inst.hours, inst.levels.size, inst.n_clusters
    a, b = rng.uniform(0.05, 0.95, (2, T, H, nc))
    ylo, yhi = np.minimum(a, b), np.maximum(a, b)
    U = sliced_hour_bound(ld, ylo, yhi, 4)
    a_min = ld.psi**2 * (np.minimum(ylo * (1 - ylo), yhi * (1 - yhi)) @ ld.M)
    plain = hour_bound(ld, ylo @ ld.M, yhi @ ld.M, a_min)
    assert np.all(U <= plain + 1e-9 * np.abs(plain).max())
    assert np.any(U < plain - 1e-6)
    p = np.maximum(ld.price, 0.0)[:, None]
    for _ in range(200):
        y = ylo + (yhi - ylo) * rng.uniform(size=ylo.shape)
        n = y @ ld.M
        val = p * cstar(ld.psi * n, ld.psi**2 * ((y * (1 - y)) @ ld.M), ld.r_bar[:, None],
                        ld.sigma_dev[:, None], ld.kappa) - ld.levels[None, :] * n
        assert np.all(val <= U + 1e-9 * (1.0 + np.abs(U)))

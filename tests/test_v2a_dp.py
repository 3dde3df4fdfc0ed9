"""The households' dynamic program equals the MILP (seed 002, one EV per sub-site)."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim.optimize.v2a import SiteInstance, solve_site
from v2gsim.optimize.v2a.dp import solve_single_ev_sites


@pytest.mark.parametrize("seed", range(8))
def test_dp_equals_milp(seed):
    rng = np.random.default_rng(seed)
    n, t = 6, 24
    arr = rng.integers(0, 14, n)
    dep = np.minimum(arr + rng.integers(1, 12, n), t)
    inst = SiteInstance("home", load_price=0.5 + 2 * rng.random(t), v2g_price=2 * rng.random(t),
                        base_load=4 * rng.random(t), arrival=arr, departure=dep,
                        soc_ini=rng.uniform(0.2, 0.65, n), soc_exp=rng.uniform(0.6, 0.95, n),
                        capacity_kwh=rng.choice([12.0, 24.0], n), lam=[0.0, 0.15, 0.5, 2.0][seed % 4],
                        penalty=["plus", "square"][seed % 2],
                        cycles=["switches", "discharge_episodes"][(seed // 2) % 2],
                        allow_discharge=seed != 7, group=np.arange(n), square_pieces=41)
    dp = solve_single_ev_sites(inst)
    # one single-EV MILP per household (the grouped MILP is the same problem but slow to prove)
    milp = sum(solve_site(inst.subset([i]), gap=0.0).costs["objective"] for i in range(n))
    assert dp.costs["objective"] == pytest.approx(milp, rel=1e-9, abs=1e-9)
    assert dp.info["dp_objective"] == pytest.approx(dp.costs["objective"], rel=1e-9)
    assert dp.violations == ()

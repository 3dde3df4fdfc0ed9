"""Tests of the seed-001 game math in v2gsim.game (params, payoffs, replicator, stability, price range,
basins; models.md §2).

Reference values are hand-computed from the closed forms of models.md §2.2-2.3, or checked by an
independent method (finite differences, logistic closed forms, separatrix area vs grid integration).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from v2gsim.game.basins import (
    basin_of_cooperation,
    convergence_time,
    convergence_time_grid,
    separatrix,
)
from v2gsim.game.params import GameParams
from v2gsim.game.payoffs import (
    mean_payoff_ev,
    mean_payoff_pg,
    payoff_ev_coop,
    payoff_ev_noncoop,
    payoff_pg_coop,
    payoff_pg_noncoop,
)
from v2gsim.game.price_range import (
    REGION_EQUILIBRIUM,
    SEED_PRINTED,
    curve1,
    curve2,
    ev_participates,
    fig2_points,
    line3,
    pg_participates,
    price_bounds,
    price_range,
    region,
    tab3_gains,
)
from v2gsim.game.replicator import replicator_rhs, replicator_step, trajectory
from v2gsim.game.stability import classify_eigenvalues, equilibria, jacobian, saddle_point

SEED = GameParams.lin2020()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def by_name(eqs):
    return {e["name"]: e for e in eqs}


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def test_lin2020_values():
    p = SEED
    assert (p.U_EV, p.U_PG, p.E_c, p.E_max, p.p_c, p.L_B, p.P_PG) == (
        0.5374,
        0.4985,
        20.0,
        20.0,
        0.2856,
        0.41,
        0.0355,
    )
    assert p.E_G == pytest.approx(1.552083333, abs=1e-9)
    assert p.E_d == 20.0 and p.L_EV == 1.0 and p.L_PG == 1.0


def test_from_mapping_roundtrip_and_errors():
    d = SEED.to_dict()
    assert GameParams.from_mapping(d) == SEED
    with pytest.raises(ValueError, match="bogus") as exc:
        GameParams.from_mapping({**d, "bogus": 1.0, "zzz": 2})
    assert "zzz" in str(exc.value)
    partial = dict(d)
    del partial["L_EV"]
    with pytest.raises(ValueError, match="L_EV"):
        GameParams.from_mapping(partial)
    assert GameParams.from_mapping({"p_d": 1.4}, base=SEED).p_d == 1.4
    assert GameParams.lin2020(p_d=1.2).p_d == 1.2
    with pytest.raises(ValueError, match="L_B"):
        SEED.replace(L_B=-0.1)
    with pytest.raises(ValueError, match="E_max"):
        SEED.replace(E_max=0.0)
    with pytest.raises(ValueError, match="finite"):
        SEED.replace(p_d=float("nan"))


# ---------------------------------------------------------------------------------------------
# Acceptance: points E, F, G, price range, Tab. 3
# ---------------------------------------------------------------------------------------------


def test_points_E_F_G_seed():
    pts = fig2_points(SEED)
    assert pts["E"] == pytest.approx((1.1056, 20.0), abs=1e-4)
    assert pts["F"] == pytest.approx((1.4811, 20.0), abs=1e-4)
    assert pts["G"] == pytest.approx((1.4629, 13.2136), abs=1e-4)
    # With p_c = 0.286 the seed's printed E is exact (p = 2 L_B + p_c at E_c = E_max).
    assert fig2_points(SEED.replace(p_c=0.286))["E"] == pytest.approx((1.1060, 20.0), abs=1e-4)
    assert price_range(SEED) == pytest.approx((1.1056, 1.4811), abs=1e-4)


def test_points_lie_on_their_curves():
    pts = fig2_points(SEED)
    pe, ee = pts["E"]
    pf, ef = pts["F"]
    pg, eg = pts["G"]
    assert float(curve1(pe, SEED)) == pytest.approx(ee, rel=1e-12)
    assert float(curve2(pf, SEED)) == pytest.approx(ef, rel=1e-12)
    assert float(curve1(pg, SEED)) == pytest.approx(eg, rel=1e-12)
    assert float(curve2(pg, SEED)) == pytest.approx(eg, rel=1e-12)
    assert ee == ef == line3(SEED)
    # The seed's printed G lies on neither curve (off by ~0.05 kWh or more).
    gp, ge = SEED_PRINTED["G"]
    assert abs(float(curve1(gp, SEED)) - ge) > 0.04
    assert abs(float(curve2(gp, SEED)) - ge) > 0.04


def test_tab3_at_seed_printed_G():
    gp, ge = SEED_PRINTED["G"]
    g = tab3_gains(SEED, p_d=gp, E_d=ge)
    assert g["EV"] == pytest.approx(0.4878, abs=1e-4)
    assert g["PG"] == pytest.approx(0.4911, abs=1e-4)
    assert g["difference"] == pytest.approx(0.0033, abs=1e-4)
    g2 = tab3_gains(SEED.replace(P_PG=0.035515), p_d=gp, E_d=ge)
    assert g2["PG"] == pytest.approx(0.4906, abs=1e-4)
    assert g2["difference"] == pytest.approx(0.0028, abs=1e-4)


def test_tab3_at_exact_G_is_U():
    # On both break-even curves, (16) and (17) hold with equality: S_EV1 = U_EV, S_PG1 = U_PG.
    pg, eg = fig2_points(SEED)["G"]
    g = tab3_gains(SEED, p_d=pg, E_d=eg)
    assert g["EV"] == pytest.approx(SEED.U_EV, abs=1e-12)
    assert g["PG"] == pytest.approx(SEED.U_PG, abs=1e-12)
    assert g["difference"] == pytest.approx(-0.0389, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# Payoffs (4)-(11)
# ---------------------------------------------------------------------------------------------


def test_payoffs_hand_computed():
    # lin2020: p_d = 1.3, E_d = 20.
    assert float(payoff_ev_coop(1.0, SEED)) == pytest.approx(0.5374 + 26 - 5.712 - 16.4, abs=1e-12)
    assert float(payoff_ev_coop(0.0, SEED)) == pytest.approx(0.5374 - 5.712 - 8.2 - 1, abs=1e-12)
    assert float(payoff_ev_noncoop(0.3, SEED)) == pytest.approx(0.5374 - 5.712 - 8.2, abs=1e-12)
    assert float(payoff_pg_coop(1.0, SEED)) == pytest.approx(
        0.4985 + 20 * 14900 / 9600 - 26 - 40 * 0.0355, abs=1e-12
    )
    assert float(payoff_pg_coop(0.0, SEED)) == pytest.approx(0.4985 - 0.71 - 1, abs=1e-12)
    assert float(payoff_pg_noncoop(0.7, SEED)) == 0.4985
    x, y = 0.3, 0.6
    s1 = y * 4.4254 + (1 - y) * (-14.3746)
    assert float(mean_payoff_ev(x, y, SEED)) == pytest.approx(x * s1 + (1 - x) * -13.3746)
    t1 = x * (0.4985 + 20 * 14900 / 9600 - 26 - 1.42) + (1 - x) * (-1.2115)
    assert float(mean_payoff_pg(x, y, SEED)) == pytest.approx(y * t1 + (1 - y) * 0.4985)


@FAST
@given(x=st.floats(0, 1), y=st.floats(0, 1), p_d=st.floats(0.0, 2.0), e_d=st.floats(0.0, 30.0))
def test_replicator_equals_definition(x, y, p_d, e_d):
    # (3): dx/dt = x (S_EV1 - S̄_EV), dy/dt = y (S_PG1 - S̄_PG), and the legible fragment of (11).
    p = SEED.replace(p_d=p_d, E_d=e_d)
    f = replicator_rhs(0.0, [x, y], p)
    dx = x * (payoff_ev_coop(y, p) - mean_payoff_ev(x, y, p))
    dy = y * (payoff_pg_coop(x, p) - mean_payoff_pg(x, y, p))
    assert f[0] == pytest.approx(float(dx), abs=1e-9)
    assert f[1] == pytest.approx(float(dy), abs=1e-9)
    frag = x * e_d * p.E_G - x * e_d * p_d - x * e_d * p.P_PG - p.E_c * p.P_PG - p.L_PG + x * p.L_PG
    assert f[1] == pytest.approx(y * (1 - y) * frag, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Trajectories and the discrete step
# ---------------------------------------------------------------------------------------------


def test_trajectory_on_edges_is_logistic():
    t = np.linspace(0.0, 2.0, 21)
    # y = 1 is invariant; there dx/dt = r x (1 - x) with r = E_d (p_d - L_B) = 17.8.
    x, y = trajectory(SEED, 0.2, 1.0, t)
    r = 20 * (1.3 - 0.41)
    expected = 1.0 / (1.0 + (0.8 / 0.2) * np.exp(-r * t))
    np.testing.assert_allclose(x, expected, atol=1e-8)
    np.testing.assert_array_equal(y, 1.0)
    # x = 1 is invariant; there dy/dt = s y (1 - y) with s = E_d (E_G - p_d - P_PG) - E_c P_PG.
    s = 20 * (14900 / 9600 - 1.3 - 0.0355) - 0.71
    x, y = trajectory(SEED.to_dict(), 1.0, 0.3, t)  # a mapping is accepted too
    np.testing.assert_allclose(y, 1.0 / (1.0 + (0.7 / 0.3) * np.exp(-s * t)), atol=1e-8)


def test_trajectory_validation_and_bounds():
    t = np.linspace(0, 40, 200)
    x, y = trajectory(SEED, 0.05, 0.9, t)
    assert x[0] == 0.05 and y[0] == 0.9
    # (the values are clipped to [0, 1] by construction) it starts above the separatrix, so it
    # ends at C(1, 1)
    sx, sy = separatrix(SEED)
    order = np.argsort(sx)
    assert 0.9 > float(np.interp(0.05, sx[order], sy[order]))
    assert (x[-1], y[-1]) == pytest.approx((1.0, 1.0), abs=1e-6)
    with pytest.raises(ValueError):
        trajectory(SEED, 1.5, 0.5, t)
    with pytest.raises(ValueError):
        trajectory(SEED, 0.5, 0.5, t[::-1])


def test_replicator_step_hand_computed():
    # a = 18.8, b = 20 (E_G - 1.3 - 0.0355) + 1, c = 1.71.
    b = 20 * (14900 / 9600 - 1.3 - 0.0355) + 1
    x1, y1 = replicator_step(0.5, 0.5, SEED, 0.1)
    assert float(x1) == pytest.approx(0.5 + 0.1 * 0.25 * (18.8 * 0.5 - 1), abs=1e-12)
    assert float(y1) == pytest.approx(0.5 + 0.1 * 0.25 * (b * 0.5 - 1.71), abs=1e-12)
    assert float(x1) == pytest.approx(0.71, abs=1e-12)
    x2, y2 = replicator_step(0.5, 0.5, SEED, 10.0)  # huge step: clipped
    assert float(x2) == 1.0 and float(y2) == 1.0
    xs, ys = replicator_step(np.array([0.0, 1.0, 0.2]), np.array([0.4, 1.0, 0.01]), SEED, 0.05)
    assert xs[0] == 0.0 and xs[1] == 1.0 and ys[1] == 1.0
    with pytest.raises(ValueError):
        replicator_step(0.5, 0.5, SEED, -1.0)


def test_euler_converges_to_ode_solution():
    dt, n = 1e-4, 10_000
    x, y = 0.3, 0.4
    for _ in range(n):
        x, y = replicator_step(x, y, SEED, dt)
    xt, yt = trajectory(SEED, 0.3, 0.4, [0.0, n * dt])
    assert float(x) == pytest.approx(xt[-1], abs=2e-3)
    assert float(y) == pytest.approx(yt[-1], abs=2e-3)


# ---------------------------------------------------------------------------------------------
# Equilibria and stability
# ---------------------------------------------------------------------------------------------


def test_models_md_check_values():
    # models.md §2.2 check values (L_EV = L_PG = 1) are reproduced at p_d = 1.4632 (the seed's
    # printed G price) with E_d = E_max = 20.
    eq = by_name(equilibria(SEED.replace(p_d=1.4632, E_d=20.0)))
    assert eq["O"]["eigenvalues"] == pytest.approx([-1.0, -1.71], abs=1e-12)
    assert eq["C"]["eigenvalues"] == pytest.approx([-21.06, -0.36], abs=5e-3)
    assert sorted(eq["D"]["eigenvalues"]) == pytest.approx([-0.53, 0.53], abs=5e-3)
    assert [eq[k]["label"] for k in "OABCD"] == [
        "stable",
        "unstable",
        "unstable",
        "stable",
        "saddle",
    ]


def test_saddle_point_closed_form():
    p = SEED
    d = saddle_point(p)
    assert d == pytest.approx(
        (1.71 / (20 * (14900 / 9600 - 1.3 - 0.0355) + 1), 1 / (20 * (1.3 - 0.41) + 1)), rel=1e-12
    )
    np.testing.assert_allclose(replicator_rhs(0.0, d, p), 0.0, atol=1e-14)
    # Below L_B the EV never gains from cooperating: no interior saddle, C unstable.
    q = SEED.replace(p_d=0.3)
    assert saddle_point(q) is None
    eq = by_name(equilibria(q))
    assert "D" not in eq and eq["C"]["label"] != "stable" and eq["O"]["label"] == "stable"


params_strategy = st.builds(
    GameParams,
    U_EV=st.floats(-1, 1),
    U_PG=st.floats(-1, 1),
    E_c=st.floats(0.5, 30),
    E_d=st.floats(0.5, 30),
    E_max=st.just(30.0),
    p_c=st.floats(0.0, 1.0),
    p_d=st.floats(0.0, 2.0),
    L_B=st.floats(0.0, 1.0),
    L_EV=st.floats(0.01, 5.0),
    L_PG=st.floats(0.01, 5.0),
    E_G=st.floats(0.0, 3.0),
    P_PG=st.floats(0.0, 0.2),
)


@FAST
@given(p=params_strategy)
def test_labels_agree_with_finite_difference_jacobian(p):
    h = 1e-6
    for e in equilibria(p):
        z = np.array([e["x"], e["y"]])
        assert np.allclose(replicator_rhs(0.0, z, p), 0.0, atol=1e-10)
        jac = np.empty((2, 2))
        for k in range(2):
            dz = np.zeros(2)
            dz[k] = h
            jac[:, k] = (replicator_rhs(0.0, z + dz, p) - replicator_rhs(0.0, z - dz, p)) / (2 * h)
        ev_fd = np.linalg.eigvals(jac)
        scale = max(1.0, float(np.abs(jac).max()))
        assume(np.min(np.abs(ev_fd.real)) > 1e-4 * scale)
        assert classify_eigenvalues(ev_fd) == e["label"]
        np.testing.assert_allclose(jac, jacobian(e["x"], e["y"], p), atol=1e-6 * scale)
        np.testing.assert_allclose(
            np.sort_complex(ev_fd),
            np.sort_complex(np.asarray(e["eigenvalues"], dtype=complex)),
            atol=1e-5 * scale,
        )


@FAST
@given(p=params_strategy)
def test_corner_stability_closed_forms(p):
    # models.md: O always stable; A, B never stable; C stable iff p_d > L_B and
    # E_d (E_G - p_d - P_PG) > E_c P_PG; D (when interior) is a saddle.
    eq = by_name(equilibria(p))
    assert eq["O"]["label"] == "stable"
    assert eq["A"]["label"] != "stable" and eq["B"]["label"] != "stable"
    c_margin = min(p.p_d - p.L_B, p.E_d * (p.E_G - p.p_d - p.P_PG) - p.E_c * p.P_PG)
    assume(abs(c_margin) > 1e-9)
    assert (eq["C"]["label"] == "stable") == (c_margin > 0)
    if "D" in eq:
        assert eq["D"]["label"] == "saddle"


def test_classify_eigenvalues():
    assert classify_eigenvalues([-1, -2]) == "stable"
    assert classify_eigenvalues([1, 2]) == "unstable"
    assert classify_eigenvalues([1, -2]) == "saddle"
    assert classify_eigenvalues([0.0, -2]) == "non-hyperbolic"
    assert classify_eigenvalues([-1 + 2j, -1 - 2j]) == "stable"


# ---------------------------------------------------------------------------------------------
# Basins, separatrix, convergence time
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p_d", [0.8, 1.3, 1.4632])
def test_trajectories_on_either_side_of_separatrix(p_d):
    p = SEED.replace(p_d=p_d)
    sx, sy = separatrix(p)
    assert (sx[0], sy[0]) == (1.0, 0.0) and (sx[-1], sy[-1]) == (0.0, 1.0)
    assert np.all(np.diff(sx) <= 1e-9)  # a decreasing graph from A to B (up to round-off)
    np.testing.assert_allclose(replicator_rhs(0.0, saddle_point(p), p), 0.0, atol=1e-13)
    t = np.array([0.0, 400.0])
    order = np.argsort(sx)
    for x0 in (0.1, 0.3, 0.5, 0.7, 0.9):
        h = float(np.interp(x0, sx[order], sy[order]))
        for y0, target in ((h + 0.02, (1.0, 1.0)), (h - 0.02, (0.0, 0.0))):
            if not 0.0 < y0 < 1.0:
                continue
            x, y = trajectory(p, x0, y0, t)
            assert (x[-1], y[-1]) == pytest.approx(target, abs=1e-6)


def test_basin_grid_matches_separatrix_area():
    for p_d in (1.0, 1.4632):
        p = SEED.replace(p_d=p_d)
        exact = basin_of_cooperation(p, method="separatrix")
        assert basin_of_cooperation(p, n=41) == pytest.approx(exact, abs=5e-3)
    # The seed: the larger L_EV and L_PG, the closer D is to C, so the smaller C's basin.
    small = basin_of_cooperation(SEED.replace(L_EV=5.0, L_PG=5.0), method="separatrix")
    assert small < basin_of_cooperation(SEED, method="separatrix")
    # Below L_B (C unstable) nothing converges to C; no interior saddle.
    assert basin_of_cooperation(SEED.replace(p_d=0.3), n=11) == 0.0
    with pytest.raises(ValueError):
        basin_of_cooperation(SEED, method="nope")


def test_convergence_time_closed_form_on_edge():
    # On y = 1, x is logistic with rate r; it reaches 1 - tol at
    # t = ln[(1 - x0)(1 - tol) / (x0 tol)] / r.
    r = 20 * (1.3 - 0.41)
    for x0, tol in ((0.2, 1e-3), (0.6, 1e-4)):
        expected = math.log((1 - x0) * (1 - tol) / (x0 * tol)) / r
        assert convergence_time(SEED, x0, 1.0, tol=tol) == pytest.approx(expected, rel=1e-7)
        grid = convergence_time_grid(SEED, 1.3, x0, 1.0, tol=tol)
        assert float(grid) == pytest.approx(expected, rel=1e-4)
    assert convergence_time(SEED, 1.0, 1.0) == 0.0
    assert convergence_time(SEED, 0.0005, 0.0) == 0.0


def test_convergence_time_grid_matches_scalar():
    prices = np.array([0.3, 1.0, 1.3, 1.47])
    x0 = np.array([0.15, 0.5, 0.85])[:, None]
    times, limits = convergence_time_grid(SEED, prices, x0, 0.3, return_limit=True)
    for i in range(x0.shape[0]):
        for j, q in enumerate(prices):
            scalar = convergence_time(SEED.replace(p_d=float(q)), float(x0[i, 0]), 0.3)
            assert times[i, j] == pytest.approx(scalar, rel=1e-4)
            xe, _ = trajectory(SEED.replace(p_d=float(q)), float(x0[i, 0]), 0.3, [0, 3000.0])
            assert limits[i, j] == ("C" if xe[-1] > 0.5 else "O")


# ---------------------------------------------------------------------------------------------
# Conditions (16)-(20), regions a-d
# ---------------------------------------------------------------------------------------------


@FAST
@given(p_d=st.floats(0.0, 2.0), e_d=st.floats(0.1, 30.0))
def test_conditions_16_to_20_are_equivalent(p_d, e_d):
    p = SEED
    ev = bool(ev_participates(p_d, e_d, p))
    pg = bool(pg_participates(p_d, e_d, p))
    # (16) literally.
    assert ev == (p.U_EV + e_d * p_d - p.E_c * p.p_c - (p.E_c + e_d) * p.L_B > p.U_EV + 1e-12) or (
        abs(e_d * (p_d - p.L_B) - p.E_c * (p.p_c + p.L_B)) < 1e-9
    )
    # (18) and (19) as "above curve 1 / curve 2".
    c1, c2 = float(curve1(p_d, p)), float(curve2(p_d, p))
    assume(abs(e_d - c1) > 1e-9 and abs(e_d - c2) > 1e-9)
    assert ev == (e_d > c1)
    assert pg == (e_d > c2)
    # (20): both hold iff p_d lies strictly inside the price bounds at this E_d.
    low, high = price_bounds(e_d, p)
    assume(abs(p_d - low) > 1e-9 and abs(p_d - high) > 1e-9)
    assert (ev and pg) == (low < p_d < high)


def test_regions_hand_picked():
    # curve1(1.5) = 13.912/1.09 = 12.76, curve2(1.5) = 0.71/0.016583 = 42.8.
    assert region(1.3, 19.0, SEED) == "d"
    assert region(1.5, 19.0, SEED) == "a"
    assert region(1.0, 10.0, SEED) == "b"  # curve1(1.0) = 23.6 > 10 > curve2(1.0) = 1.375
    assert region(1.5, 5.0, SEED) == "c"
    assert region(1.3, 21.0, SEED) is None  # above line 3
    assert [REGION_EQUILIBRIUM[k] for k in "abcd"] == ["A", "B", "O", "C"]
    # Just below line 3, region d is exactly the price range (E, F).
    low, high = price_range(SEED)
    for q in np.linspace(0.9, 1.6, 57):
        assert (region(q, SEED.E_max, SEED) == "d") == (low < q < high)

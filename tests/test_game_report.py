"""Tests of v2gsim.game.report and v2gsim.game.figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from v2gsim.game.figures import (
    convergence_map,
    phase_portrait,
    regions_caption,
    regions_figure,
)
from v2gsim.game.params import GameParams
from v2gsim.game.replicator import trajectory
from v2gsim.game.report import FIGURE_NAMES, game_report, write_game_figures
from v2gsim.game.stability import jacobian, saddle_point

SEED = GameParams.lin2020()


def all_text(fig: Figure) -> str:
    parts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        parts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        parts += [ax.get_title(), *(t.get_text() for t in ax.texts)]
    return "\n".join(parts)


def test_game_report_structure_and_values():
    rep = game_report(SEED)
    assert json.loads(json.dumps(rep)) == rep  # JSON-serialisable as it is
    assert rep["points"]["E"] == pytest.approx([1.1056, 20.0], abs=1e-4)
    assert rep["points"]["F"] == pytest.approx([1.4811, 20.0], abs=1e-4)
    assert rep["points"]["G"] == pytest.approx([1.4629, 13.2136], abs=1e-4)
    assert rep["price_range"] == pytest.approx([1.1056, 1.4811], abs=1e-4)
    assert rep["operating_point"] == [SEED.p_d, SEED.E_d]
    # the corners and their eigenvalues by hand (models.md §2.2, L_EV = L_PG = 1): r = E_d (p_d - L_B),
    # s = E_d (E_G - p_d - P_PG) - E_c P_PG, c = E_c P_PG + L_PG
    r = 20 * (1.3 - 0.41)
    s = 20 * (14900 / 9600 - 1.3 - 0.0355) - 20 * 0.0355
    c = 20 * 0.0355 + 1.0
    corners = {"O": ((0, 0), [-c, -1.0], "stable"), "A": ((1, 0), [1.0, s], "unstable"),
               "B": ((0, 1), [c, r], "unstable"), "C": ((1, 1), [-r, -s], "stable")}
    eqs = {e["name"]: e for e in rep["equilibria"]}
    assert list(eqs) == ["O", "A", "B", "C", "D"]
    for name, (xy, eig, label) in corners.items():
        e = eqs[name]
        assert (e["x"], e["y"]) == xy and e["label"] == label
        assert sorted(e["eigenvalues"]) == pytest.approx(sorted(eig), rel=1e-12), name
    # the interior saddle D: its closed form, and the eigenvalues of the Jacobian there
    d = eqs["D"]
    assert (d["x"], d["y"]) == pytest.approx(saddle_point(SEED), rel=1e-12) and d["label"] == "saddle"
    eig = np.sort(np.linalg.eigvals(jacobian(d["x"], d["y"], SEED)).real)
    assert sorted(d["eigenvalues"]) == pytest.approx(eig, rel=1e-9)
    assert eig[0] < 0 < eig[1]
    # Tab. 3 at the seed's (p_d, E_d) = (1.3, 20): S_EV1 (4) and S_PG1 (8) at x = y = 1; the
    # Bayesian game with the default symmetric priors gives the same expected gains
    ev = 0.5374 + 20 * 1.3 - 20 * 0.2856 - 40 * 0.41
    pg = 0.4985 + 20 * 14900 / 9600 - 20 * 1.3 - 40 * 0.0355
    assert list(rep["gains"]) == ["evolutionary", "bayesian_stand_in"]
    assert "stand-in" in rep["bayesian_stand_in"] and "not the seed's" in rep["bayesian_stand_in"]
    for side in rep["gains"].values():
        assert (side["EV"], side["PG"]) == pytest.approx((ev, pg), rel=1e-12)
        assert side["difference"] == pytest.approx(pg - ev, rel=1e-9)


def test_game_report_at_seed_printed_G():
    rep = game_report(SEED.to_dict(), at=(1.4632, 13.1622))
    evo = rep["gains"]["evolutionary"]
    assert evo["EV"] == pytest.approx(0.4878, abs=1e-4)
    assert evo["PG"] == pytest.approx(0.4911, abs=1e-4)
    assert rep["operating_point"] == [1.4632, 13.1622]
    rep2 = game_report(SEED.replace(P_PG=0.035515), at=(1.4632, 13.1622))
    assert rep2["gains"]["evolutionary"]["PG"] == pytest.approx(0.4906, abs=1e-4)


def test_fig2_caption_flags_the_printed_G():
    fig = regions_figure(SEED, resolution=60)
    text = " ".join(all_text(fig).split())
    assert "(1.4632, 13.1622) does not lie on its own curves" in text
    assert "correct intersection is G = (1.4629, 13.2136)" in text
    for name in ("E (1.1056", "F (1.4811", "G (1.4629"):
        assert name in text
    assert "does not lie on its own curves" in regions_caption(SEED)


def test_figures_are_figures_without_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    starts = [(0.2, 0.8), (0.5, 0.05)]
    fig1 = phase_portrait(SEED, starts=starts, t_end=10)
    fig3 = convergence_map(SEED, y0_values=(0.5,), n_price=8, n_x0=6, t_max=200)
    assert "D (saddle)" in all_text(fig1)
    # the drawn trajectories are the replicator's from the given starts
    drawn = [ln for ln in fig1.axes[0].lines if len(ln.get_xdata()) == 600]  # t = linspace(0, 10, 600)
    for x0, y0 in starts:
        x, y = trajectory(SEED, x0, y0, np.linspace(0.0, 10, 600))
        assert any(np.allclose(ln.get_xdata(), x) and np.allclose(ln.get_ydata(), y) for ln in drawn)
    assert [ax.get_title() for ax in fig3.axes if ax.get_title()] == ["y0 = 0.5"]
    assert plt.get_fignums() == before


def test_write_game_figures(tmp_path):
    paths = write_game_figures(
        SEED,
        tmp_path / "figs",
        dpi=50,
        convergence_kwargs={"n_price": 8, "n_x0": 6, "y0_values": (0.2, 0.8), "t_max": 200},
    )
    assert [p.name for p in paths] == list(FIGURE_NAMES)
    assert list(FIGURE_NAMES) == [
        "fig1_phase_portrait.png",
        "fig2_regions.png",
        "convergence_map.png",
    ]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

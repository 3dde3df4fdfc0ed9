"""Tests of v2gsim.game.report and v2gsim.game.figures."""

from __future__ import annotations

import json

import pytest
from matplotlib.figure import Figure

from v2gsim.game.figures import (
    convergence_map,
    phase_portrait,
    regions_caption,
    regions_figure,
)
from v2gsim.game.params import GameParams
from v2gsim.game.report import FIGURE_NAMES, game_report, write_game_figures

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
    json.dumps(rep)  # JSON-serialisable
    assert set(rep) >= {"points", "price_range", "equilibria", "gains"}
    assert rep["points"]["E"] == pytest.approx([1.1056, 20.0], abs=1e-4)
    assert rep["points"]["F"] == pytest.approx([1.4811, 20.0], abs=1e-4)
    assert rep["points"]["G"] == pytest.approx([1.4629, 13.2136], abs=1e-4)
    assert rep["price_range"] == pytest.approx([1.1056, 1.4811], abs=1e-4)
    names = [e["name"] for e in rep["equilibria"]]
    assert names == ["O", "A", "B", "C", "D"]
    for e in rep["equilibria"]:
        assert set(e) == {"name", "x", "y", "eigenvalues", "label"}
        assert all(isinstance(v, float) for v in e["eigenvalues"])
    assert set(rep["gains"]) == {"evolutionary", "bayesian"}
    for side in rep["gains"].values():
        assert set(side) == {"EV", "PG", "difference"}
        assert side["difference"] == pytest.approx(side["PG"] - side["EV"])


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
    assert isinstance(fig, Figure)
    text = " ".join(all_text(fig).split())
    assert "(1.4632, 13.1622) does not lie on its own curves" in text
    assert "correct intersection is G = (1.4629, 13.2136)" in text
    for name in ("E (1.1056", "F (1.4811", "G (1.4629"):
        assert name in text
    assert "does not lie on its own curves" in regions_caption(SEED)


def test_figures_are_figures_without_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig1 = phase_portrait(SEED, starts=[(0.2, 0.8), (0.5, 0.05)], t_end=10)
    fig3 = convergence_map(SEED, y0_values=(0.5,), n_price=8, n_x0=6, t_max=200)
    assert isinstance(fig1, Figure) and isinstance(fig3, Figure)
    assert "D (saddle)" in all_text(fig1)
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

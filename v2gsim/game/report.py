"""JSON report and figure files for the evolutionary discharge-price game (seed 001).

:func:`game_report` gathers the reproducible quantities of Lin, Feng & Lu (2020) (models.md
§2.3): Fig. 2's points E, F, G, the price range (20) at ``E_d = E_max``, the five equilibria of
Fig. 1 with their Jacobian eigenvalues, and the Tab. 3 comparison of the evolutionary gains
(``S_EV1``, ``S_PG1`` at ``x = y = 1``, eqs. (4), (8)) with the static Bayesian game of
:mod:`v2gsim.game.bayesian`. :func:`write_game_figures` writes the three figures of
:mod:`v2gsim.game.figures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from v2gsim.game.bayesian import bayesian_gains
from v2gsim.game.figures import convergence_map, phase_portrait, regions_figure
from v2gsim.game.params import GameParams, as_params
from v2gsim.game.price_range import SEED_PRINTED, fig2_points, price_range, tab3_gains
from v2gsim.game.stability import equilibria

__all__ = ["FIGURE_NAMES", "game_report", "write_game_figures"]

#: File names written by :func:`write_game_figures`, in order.
FIGURE_NAMES = ("fig1_phase_portrait.png", "fig2_regions.png", "convergence_map.png")


def _json_points(points: Mapping[str, tuple[float, float]]) -> dict[str, list[float]]:
    """``{name: (p_d, E_d)}`` -> ``{name: [p_d, E_d]}`` with plain floats."""
    return {k: [float(v[0]), float(v[1])] for k, v in points.items()}


def _json_number(v: Any) -> float | list[float]:
    """A float, or ``[re, im]`` for a genuinely complex eigenvalue."""
    c = complex(v)
    return float(c.real) if c.imag == 0 else [float(c.real), float(c.imag)]


#: What the Bayesian comparison is (issue 33 item 6): a stand-in, not the seed's reference [20].
BAYESIAN_NOTE = ("a stand-in for the seed's static Bayesian game of ref. [20] (gains 0.1211 / 0.3825 "
                 "there, not reproducible: no model or data): a static Bayesian game on our "
                 "illustrative three-point type priors (EV battery-loss cost L_B and PG extra income "
                 "E_G at -20 %/0/+20 % and -10 %/0/+10 % with probabilities 1/4, 1/2, 1/4), not the "
                 "seed's or its reference's")


def game_report(
    params: GameParams | Mapping[str, Any],
    at: tuple[float, float] | None = None,
    ev_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    pg_types: Mapping[float, float] | Sequence[tuple[float, float]] | None = None,
    selection: str = "max_total",
) -> dict[str, Any]:
    """Summary of the game as a JSON-serialisable dict.

    Args:
        params: game parameters (a :class:`GameParams` or a complete mapping of its fields).
        at: operating point ``(p_d, E_d)`` (yuan/kWh, kWh) at which the Tab. 3 gains and the
            Bayesian game are evaluated; default ``(params.p_d, params.E_d)``. The seed evaluates
            Tab. 3 at its printed G (1.4632, 13.1622); at the exact G the evolutionary gains equal
            ``U_EV`` and ``U_PG`` (models.md §2.3).
        ev_types: EV type prior of the Bayesian game (default: :func:`~v2gsim.game.bayesian.
            default_priors`).
        pg_types: PG type prior of the Bayesian game.
        selection: BNE selection rule (:func:`~v2gsim.game.bayesian.select_bne`).

    Returns:
        ``{"points": {"E", "F", "G": [p_d, E_d]}, "price_range": [low, high],
        "equilibria": [{name, x, y, eigenvalues, label}], "gains": {"evolutionary": {EV, PG,
        difference}, "bayesian_stand_in": {EV, PG, difference}}, "bayesian_stand_in": {the note
        saying what it is}, "operating_point": [p_d, E_d],
        "seed_printed": {...}}``. Money in yuan, prices in yuan/kWh, energies in kWh;
        ``difference`` is PG minus EV, as in the seed.
    """
    p = as_params(params)
    if at is not None:
        p = p.replace(p_d=float(at[0]), E_d=float(at[1]))
    points = _json_points(fig2_points(p))
    low, high = price_range(p)
    eqs = [
        {
            "name": e["name"],
            "x": float(e["x"]),
            "y": float(e["y"]),
            "eigenvalues": [_json_number(v) for v in e["eigenvalues"]],
            "label": e["label"],
        }
        for e in equilibria(p)
    ]
    evo = tab3_gains(p)
    bay = bayesian_gains(p, ev_types=ev_types, pg_types=pg_types, selection=selection)
    return {
        "points": points,
        "price_range": [float(low), float(high)],
        "equilibria": eqs,
        "gains": {
            "evolutionary": {k: float(evo[k]) for k in ("EV", "PG", "difference")},
            "bayesian_stand_in": {k: float(bay[k]) for k in ("EV", "PG", "difference")},
        },
        "bayesian_stand_in": BAYESIAN_NOTE,
        "operating_point": [float(p.p_d), float(p.E_d)],
        "seed_printed": _json_points(SEED_PRINTED),
    }


def write_game_figures(
    params: GameParams | Mapping[str, Any],
    outdir: str | Path,
    dpi: int = 120,
    convergence_kwargs: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write Fig. 1, Fig. 2 and the convergence map as PNG files.

    Args:
        params: game parameters.
        outdir: output directory (created if missing).
        dpi: resolution.
        convergence_kwargs: keyword arguments of :func:`~v2gsim.game.figures.convergence_map`
            (e.g. ``n_price``, ``n_x0``, ``y0_values``, ``t_max``).

    Returns:
        Paths of ``fig1_phase_portrait.png``, ``fig2_regions.png``, ``convergence_map.png``.
    """
    p = as_params(params)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ckw = dict(convergence_kwargs or {})
    makers = (
        lambda: phase_portrait(p),
        lambda: regions_figure(p),
        lambda: convergence_map(p, **ckw),
    )
    paths = []
    for name, make in zip(FIGURE_NAMES, makers, strict=True):
        fig = make()
        path = out / name
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths

"""Figures of the evolutionary discharge-price game (seed 001): Fig. 1, Fig. 2, convergence map.

Every function returns a :class:`matplotlib.figure.Figure` attached to an Agg canvas
(``FigureCanvasAgg``; no pyplot state, no global backend switch, never ``plt.show``).
Units: prices in yuan/kWh, energies in kWh, time in replicator time
units. Equation numbers refer to ``docs/models.md`` §2.2.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure

from v2gsim.game.basins import convergence_time_grid, separatrix
from v2gsim.game.params import GameParams, as_params
from v2gsim.game.price_range import SEED_PRINTED, curve1, curve2, fig2_points, point_E, point_F, region_codes
from v2gsim.game.replicator import trajectory, xdot, ydot
from v2gsim.game.stability import equilibria, saddle_point

__all__ = [
    "convergence_map",
    "default_price_window",
    "phase_portrait",
    "regions_caption",
    "regions_figure",
]

_LABEL_COLOR = {"stable": "tab:green", "unstable": "tab:red", "saddle": "tab:orange"}
_REGION_COLORS = ("#fdd9b5", "#c6dbef", "#e0e0e0", "#c7e9c0")  # a, b, c, d


def _figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def default_price_window(params: GameParams | Mapping[str, Any]) -> tuple[float, float]:
    """Discharge-price window (yuan/kWh) showing E, F, G and both poles of curves (23), (24).

    From halfway between ``L_B`` and E to a quarter of the E-F width beyond ``E_G - P_PG``.
    """
    p = as_params(params)
    pe, pf = point_E(p)[0], point_F(p)[0]
    width = max(pf - pe, 0.1)
    lo = max(p.L_B, pe - 0.5 * width, 0.0)
    hi = p.E_G - p.P_PG + 0.25 * width
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def _price_axis(p: GameParams, p_range: tuple[float, float] | None) -> tuple[float, float]:
    """The discharge-price axis (yuan/kWh): ``p_range``, or :func:`default_price_window`."""
    return p_range if p_range is not None else default_price_window(p)


def _mark_printed_g(ax: Any, **kwargs: Any) -> None:
    """Mark the seed's printed G (which does not lie on its own curves, models.md §2.3)."""
    ax.plot(*SEED_PRINTED["G"], "x", color="tab:purple", ms=8, mew=2, **kwargs)


# ----------------------------------------------------------------------------------------------
# Fig. 1: phase portrait
# ----------------------------------------------------------------------------------------------


def _shade_basins(ax: Any, p: GameParams) -> None:
    """Shade the basins of C(1,1) and O(0,0) and draw the separatrix through D (if D exists)."""
    sep = separatrix(p)
    if sep is None:
        return
    sx, sy = sep
    for corner, color, alpha, label in (
        (1.0, "tab:green", 0.15, "basin of C(1,1)"),
        (0.0, "tab:red", 0.12, "basin of O(0,0)"),
    ):
        ax.fill(
            np.concatenate([sx, [corner]]),
            np.concatenate([sy, [corner]]),
            color=color,
            alpha=alpha,
            lw=0,
            label=label,
        )
    ax.plot(sx, sy, color="k", lw=1.6, label="separatrix through D")


def _draw_flow(ax: Any, p: GameParams, density: float) -> None:
    """Streamlines of the field (7), (11), shaded by the log of the speed."""
    g = np.linspace(0.0, 1.0, 41)
    X, Y = np.meshgrid(g, g)
    U, V = xdot(X, Y, p), ydot(X, Y, p)
    speed = np.hypot(U, V)
    ax.streamplot(
        X, Y, U, V, density=density, color=np.log10(speed + 1e-12), cmap="Greys", linewidth=0.7
    )


def _draw_trajectories(
    ax: Any, p: GameParams, starts: Sequence[tuple[float, float]] | None, t_end: float
) -> None:
    """Trajectories of (7), (11) from ``starts`` (default a ring of 12 points) over ``[0, t_end]``."""
    if starts is None:
        ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        starts = [(0.5 + 0.42 * np.cos(a), 0.5 + 0.42 * np.sin(a)) for a in ang]
    t = np.linspace(0.0, t_end, 600)
    for i, (x0, y0) in enumerate(starts):
        x, y = trajectory(p, x0, y0, t)
        ax.plot(x, y, color="tab:blue", lw=1.0, label="trajectories" if i == 0 else None)
        ax.plot([x0], [y0], "o", ms=3, color="tab:blue")


def _draw_equilibria(ax: Any, p: GameParams) -> None:
    """The equilibria, coloured by stability and annotated with label and eigenvalues."""
    for e in equilibria(p):
        color = _LABEL_COLOR.get(e["label"], "tab:purple")
        ax.plot(e["x"], e["y"], "o", ms=9, color=color, mec="k", clip_on=False, zorder=5)
        ev = ", ".join(f"{float(np.real(v)):.3g}" for v in e["eigenvalues"])
        dx = -0.02 if e["x"] > 0.5 else 0.02
        dy = -0.05 if e["y"] > 0.5 else 0.03
        ax.annotate(
            f"{e['name']} ({e['label']})\nλ = {ev}",
            (e["x"], e["y"]),
            xytext=(e["x"] + dx, e["y"] + dy),
            ha="right" if e["x"] > 0.5 else "left",
            fontsize=8,
            zorder=6,
        )


def phase_portrait(
    params: GameParams | Mapping[str, Any],
    starts: Sequence[tuple[float, float]] | None = None,
    t_end: float = 30.0,
    density: float = 1.2,
) -> Figure:
    """Fig. 1: phase portrait of the replicator dynamics (7), (11) on the unit square.

    Shows the vector field (streamlines), the basins of O(0,0) and C(1,1) shaded, the separatrix
    (stable manifold of the saddle D, (14), (15)), the equilibria coloured by stability and a few
    trajectories.

    Args:
        params: game parameters.
        starts: initial ``(x0, y0)`` of the drawn trajectories; default a ring of 12 points.
        t_end: length of the drawn trajectories (replicator time units).
        density: streamplot density.
    """
    p = as_params(params)
    fig = _figure((6.4, 5.6))
    ax = fig.add_subplot()
    _shade_basins(ax, p)
    _draw_flow(ax, p, density)
    _draw_trajectories(ax, p, starts, t_end)
    _draw_equilibria(ax, p)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("x: share of EV users cooperating")
    ax.set_ylabel("y: share of grid-company cooperation")
    ax.set_title(
        f"Fig. 1 phase portrait, eqs. (7), (11): p_d = {p.p_d:.4g} yuan/kWh, E_d = {p.E_d:.4g} kWh,"
        f"\nL_EV = {p.L_EV:.3g}, L_PG = {p.L_PG:.3g} yuan",
        fontsize=9,
    )
    ax.legend(loc="center left", fontsize=7, framealpha=0.8)
    return fig


# ----------------------------------------------------------------------------------------------
# Fig. 2: curves 1-2, line 3, regions a-d, points E, F, G
# ----------------------------------------------------------------------------------------------


def regions_caption(params: GameParams | Mapping[str, Any]) -> str:
    """Caption of Fig. 2, including the note on the seed's printed G (models.md §2.3)."""
    p = as_params(params)
    seed_g = fig2_points(GameParams.lin2020())["G"]
    pts = fig2_points(p)
    printed = SEED_PRINTED["G"]
    return (
        "Curve 1 (23): EV break-even discharge E_c(p_c+L_B)/(p_d-L_B); curve 2 (24): PG break-even "
        "discharge E_c P_PG/(E_G-P_PG-p_d); line 3: E_d = E_max. Regions (Tab. 2): a EV only -> "
        "A(1,0), b PG only -> B(0,1), c neither -> O(0,0), d both -> C(1,1). "
        f"Here E = ({pts['E'][0]:.4f}, {pts['E'][1]:.4g}), F = ({pts['F'][0]:.4f}, "
        f"{pts['F'][1]:.4g}), G = ({pts['G'][0]:.4f}, {pts['G'][1]:.4f}). "
        f"Note: the seed's printed G ({printed[0]:.4f}, {printed[1]:.4f}) does not lie on its own "
        f"curves; the correct intersection is G = ({seed_g[0]:.4f}, {seed_g[1]:.4f}) "
        "(seed inputs)."
    )


def _shade_regions(
    ax: Any,
    p: GameParams,
    window: tuple[float, float, float, float],
    resolution: int,
) -> None:
    """Regions a-d of (16), (17) and ``E_d <= E_max`` on ``window = (plo, phi, elo, ehi)``, lettered."""
    plo, phi, elo, ehi = window
    P, E = np.meshgrid(np.linspace(plo, phi, resolution), np.linspace(elo, ehi, resolution))
    codes = region_codes(P, E, p).astype(float)
    codes[codes < 0] = np.nan
    cmap = ListedColormap(_REGION_COLORS)
    ax.pcolormesh(P, E, codes, cmap=cmap, vmin=-0.5, vmax=3.5, shading="auto", rasterized=True)
    for k, letter in enumerate("abcd"):
        mask = codes == k
        if mask.sum() < 20:
            continue
        cp, ce = P[mask].mean(), E[mask].mean()
        i = np.argmin(
            (P[mask] - cp) ** 2 / (phi - plo) ** 2 + (E[mask] - ce) ** 2 / (ehi - elo) ** 2
        )
        ax.text(
            P[mask][i], E[mask][i], letter, fontsize=16, weight="bold", ha="center", va="center"
        )


def _draw_break_even(ax: Any, p: GameParams, plo: float, phi: float) -> None:
    """Curves 1 (23) and 2 (24) (finite parts) and line 3."""
    fine = np.linspace(plo, phi, 2000)
    with np.errstate(invalid="ignore"):
        c1 = np.where(np.isfinite(curve1(fine, p)), curve1(fine, p), np.nan)
        c2 = np.where(np.isfinite(curve2(fine, p)), curve2(fine, p), np.nan)
    ax.plot(
        fine, c1, color="tab:blue", lw=1.8, label="curve 1 (23): EV, E_d = E_c(p_c+L_B)/(p_d-L_B)"
    )
    ax.plot(
        fine, c2, color="tab:red", lw=1.8, label="curve 2 (24): PG, E_d = E_c P_PG/(E_G-P_PG-p_d)"
    )
    ax.axhline(p.E_max, color="k", lw=1.4, ls="--", label=f"line 3: E_d = E_max = {p.E_max:.4g}")


def _draw_points(ax: Any, pts: Mapping[str, tuple[float, float]]) -> None:
    """Points E, F, G (the finite ones), annotated with their coordinates, and the printed G."""
    for name, (px, py) in pts.items():
        if not (np.isfinite(px) and np.isfinite(py)):
            continue
        ax.plot(px, py, "o", color="k", ms=6, zorder=5)
        ax.annotate(
            f"{name} ({px:.4f}, {py:.4f})",
            (px, py),
            xytext=(-8, 10) if name != "G" else (-95, -22),
            textcoords="offset points",
            fontsize=8,
        )
    _mark_printed_g(ax, zorder=6, label="seed's printed G")


def _zoom_on_g(ax: Any, p: GameParams, g: tuple[float, float], plo: float, phi: float) -> None:
    """Inset zooming on G = ``g`` and the seed's printed G (only if G is inside the price axis)."""
    gx, gy = g
    if not (np.isfinite(gx) and plo < gx < phi):
        return
    ins = ax.inset_axes((0.09, 0.12, 0.22, 0.27))
    zp = np.linspace(gx - 0.004, gx + 0.004, 200)
    ins.plot(zp, curve1(zp, p), color="tab:blue")
    ins.plot(zp, curve2(zp, p), color="tab:red")
    ins.plot(gx, gy, "o", color="k")
    _mark_printed_g(ins)
    ins.set_xlim(zp[0], zp[-1])
    ins.set_ylim(gy - 0.15, gy + 0.15)
    ins.tick_params(labelsize=6)
    ins.set_title("zoom on G", fontsize=7)


def regions_figure(
    params: GameParams | Mapping[str, Any],
    p_range: tuple[float, float] | None = None,
    e_range: tuple[float, float] | None = None,
    resolution: int = 400,
) -> Figure:
    """Fig. 2: discharge price vs discharged energy, curves 1-2 (23), (24), line 3, regions a-d.

    Regions come from the participation conditions (16), (17) and ``E_d <= E_max``. Points E, F, G
    are annotated; the seed's printed G is marked too (an inset zooms on G). The caption states
    that the printed G does not lie on the seed's curves.

    Args:
        params: game parameters.
        p_range: discharge-price axis (yuan/kWh); default :func:`default_price_window`.
        e_range: energy axis (kWh); default ``(0, 1.25 E_max)``.
        resolution: grid points per axis for the region shading.
    """
    p = as_params(params)
    plo, phi = _price_axis(p, p_range)
    elo, ehi = e_range if e_range is not None else (0.0, 1.25 * p.E_max)
    fig = _figure((7.2, 6.4))
    ax = fig.add_subplot()
    _shade_regions(ax, p, (plo, phi, elo, ehi), resolution)
    _draw_break_even(ax, p, plo, phi)
    pts = fig2_points(p)
    _draw_points(ax, pts)
    ax.set_xlim(plo, phi)
    ax.set_ylim(elo, ehi)
    ax.set_xlabel("discharge price p_d (yuan/kWh)")
    ax.set_ylabel("discharged energy E_d (kWh)")
    ax.set_title("Fig. 2: break-even curves and regions a-d (seed 001)", fontsize=10)
    ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    _zoom_on_g(ax, p, pts["G"], plo, phi)
    fig.text(
        0.01,
        0.0,
        textwrap.fill(regions_caption(p), 120),
        fontsize=7,
        va="bottom",
        ha="left",
    )
    fig.get_layout_engine().set(rect=(0, 0.12, 1, 0.88))
    return fig


# ----------------------------------------------------------------------------------------------
# Convergence-time map
# ----------------------------------------------------------------------------------------------


def _log_norm(times: Sequence[np.ndarray]) -> LogNorm:
    """Common logarithmic colour scale of the finite, positive convergence times of all panels."""
    finite = np.concatenate([t[np.isfinite(t) & (t > 0)] for t in times] or [np.array([1.0])])
    vmin = float(finite.min()) if finite.size else 1e-2
    vmax = float(finite.max()) if finite.size else 1.0
    return LogNorm(vmin=max(vmin, 1e-3), vmax=max(vmax, vmin * 1.01, 1e-3 * 1.01))


def _saddle_x(p: GameParams, prices: np.ndarray) -> np.ndarray:
    """``x_D`` of (14) at each price (NaN where D is not inside the unit square)."""
    return np.array(
        [
            (d[0] if (d := saddle_point(p.replace(p_d=float(q)))) is not None else np.nan)
            for q in prices
        ]
    )


def _convergence_panel(
    ax: Any, grid: tuple[np.ndarray, np.ndarray], run: tuple[np.ndarray, np.ndarray], norm: LogNorm
) -> Any:
    """One panel: convergence times on the ``(p_d, x0)`` grid and the C/O basin boundary."""
    P, X0 = grid
    t, lim = run
    tt = np.where(np.isfinite(t) & (t > 0), t, np.nan)
    ax.set_facecolor("0.75")
    mesh = ax.pcolormesh(P, X0, tt, norm=norm, cmap="viridis", shading="auto", rasterized=True)
    limit = (lim == "C").astype(float)
    if 0 < limit.mean() < 1:
        ax.contour(P, X0, limit, levels=[0.5], colors="k", linewidths=1.2)
    return mesh


def _mark_prices(ax: Any, marks: Sequence[tuple[float, str]], plo: float, phi: float) -> None:
    """Dashed vertical lines at the named prices inside ``[plo, phi]``, labelled above the axes."""
    for q, name in marks:
        if plo <= q <= phi:
            ax.axvline(q, color="w", ls="--", lw=1)
            ax.text(q, 1.01, name, ha="center", va="bottom", fontsize=8)


def convergence_map(
    params: GameParams | Mapping[str, Any],
    y0_values: Sequence[float] = (0.1, 0.5, 0.9),
    p_range: tuple[float, float] | None = None,
    n_price: int = 60,
    n_x0: int = 40,
    tol: float = 1e-3,
    t_max: float = 500.0,
) -> Figure:
    """Convergence time of (7), (11) over (p_d, x0) for a few fixed y0 (one panel per y0).

    Colour: time to come within ``tol`` (max-norm) of a stable equilibrium (log scale; grey = not
    reached by ``t_max``, e.g. trajectories lingering near C just beyond F, where C has turned
    into a weakly repelling saddle). The black contour separates initial states converging to
    C(1,1) from those converging to O(0,0); dashed lines mark the prices of E and F (the price
    range (20) at ``E_d = E_max``); the dotted line is ``x_D`` of (14) as a function of p_d.

    Args:
        params: game parameters (``p_d`` varies along the horizontal axis).
        y0_values: initial PG cooperation share of each panel.
        p_range: discharge-price axis (yuan/kWh); default :func:`default_price_window`.
        n_price: grid points along p_d.
        n_x0: grid points along x0 (cell midpoints of [0, 1]).
        tol: convergence tolerance on the shares.
        t_max: horizon (replicator time units).
    """
    p = as_params(params)
    plo, phi = _price_axis(p, p_range)
    prices = np.linspace(plo, phi, n_price)
    x0 = (np.arange(n_x0) + 0.5) / n_x0
    ny = len(y0_values)
    fig = _figure((4.0 * ny + 1.0, 4.2))
    axes = fig.subplots(1, ny, sharey=True, squeeze=False)[0]
    P, X0 = np.meshgrid(prices, x0)
    runs = [
        convergence_time_grid(p, P, X0, float(y0), tol=tol, t_max=t_max, return_limit=True)
        for y0 in y0_values
    ]
    norm = _log_norm([r[0] for r in runs])
    mesh = None
    marks = ((point_E(p)[0], "E"), (point_F(p)[0], "F"))
    xd = _saddle_x(p, prices)
    for ax, y0, run in zip(axes, y0_values, runs, strict=True):
        mesh = _convergence_panel(ax, (P, X0), run, norm)
        _mark_prices(ax, marks, plo, phi)
        ax.plot(prices, xd, ":", color="w", lw=1)
        ax.set_title(f"y0 = {y0:g}", fontsize=9, pad=12)
        ax.set_xlabel("discharge price p_d (yuan/kWh)")
    axes[0].set_ylabel("initial EV cooperation share x0")
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), label=f"time to within {tol:g} of O or C")
    fig.suptitle(
        f"Convergence time of the replicator dynamics (7), (11); E_d = {p.E_d:.4g} kWh, "
        f"L_EV = {p.L_EV:.3g}, L_PG = {p.L_PG:.3g}; black line: C/O basin boundary; "
        f"dotted: x_D (14); grey: not converged by t = {t_max:g}",
        fontsize=9,
    )
    return fig

"""Figures of a V2A site-day (seed 002, Figs. 10-13 style).

:func:`schedule_plot` draws the figure (a plain :class:`~matplotlib.figure.Figure`, nothing kept open
by pyplot); :func:`schedule_figure` draws and saves it. Every power panel's y-axis spans its data
(the stacked base load and charging above zero, the stacked discharging below, the optimized load)
with a margin, and the one legend sits below the panels, outside every axes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from v2gsim.optimize.v2a import MODES, SiteInstance, SiteSchedule

__all__ = ["power_limits", "schedule_figure", "schedule_plot"]

_COLORS = {"c": "tab:blue", "H": "tab:orange", "B": "tab:green", "V": "tab:purple", "G": "tab:red"}
#: Share of a panel's data span left free above (and below, when it goes negative) the data (-).
MARGIN = 0.08


def power_limits(up: np.ndarray, down: np.ndarray, load: np.ndarray) -> tuple[float, float]:
    """y-limits of a power panel that hold all its data with a margin (kW).

    Args:
        up: (T,) top of the stacked bars above zero (base load plus charging, kW).
        down: (T,) depth of the stacked discharging bars below zero (kW, >= 0).
        load: (T,) the optimized site load drawn as a line (kW).

    Returns:
        ``(bottom, top)``: ``top`` is :data:`MARGIN` of the span above the largest value; ``bottom``
        is 0 when nothing is negative, else the same margin below the lowest value.
    """
    hi = max(float(np.max(up, initial=0.0)), float(np.max(load, initial=0.0)), 0.0)
    lo = min(-float(np.max(down, initial=0.0)), float(np.min(load, initial=0.0)), 0.0)
    pad = MARGIN * (hi - lo) if hi > lo else 1.0
    return (lo - pad if lo < 0 else 0.0), hi + pad


def _power_panel(ax: Axes, inst: SiteInstance, s: SiteSchedule, x: np.ndarray) -> None:
    """Base load, stacked charging above it, stacked discharging below zero, the optimized load."""
    ax.bar(x, inst.base_load, color="0.8", label="base load")
    up = inst.base_load.astype(float).copy()
    down = np.zeros(inst.n_slots)
    p = np.broadcast_to(np.asarray(inst.power_kw, dtype=float), (inst.n_ev,))[:, None]
    for m in inst.modes:
        kw = ((s.modes == MODES.index(m) + 1) * p).sum(axis=0)
        if m == "c":
            ax.bar(x, kw, bottom=up, color=_COLORS[m], label="charging")
            up = up + kw
        else:
            ax.bar(x, -kw, bottom=-down, color=_COLORS[m], label=f"V2{m}")
            down = down + kw
    ax.step(x, s.site_load, where="mid", color="k", label="optimized load")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylim(*power_limits(up, down, s.site_load))
    ax.set_ylabel("kW")


def schedule_plot(inst: SiteInstance, scheds: dict[str, SiteSchedule], hours: np.ndarray,
                  title: str) -> Figure:
    """Stacked EV power per mode over the base load (one panel per case) and the SOC trajectories.

    Args:
        inst: the site-day.
        scheds: case label -> schedule (e.g. ``"with discharge"``, ``"without discharge"``).
        hours: (T,) clock hour of each slot (h).
        title: the panels' title prefix (the scenario name).

    Returns:
        The figure; its one legend (the power panels' entries) is below the panels.
    """
    fig = Figure(figsize=(9, 3.0 * (len(scheds) + 1) + 0.5), layout="constrained")
    axes = fig.subplots(len(scheds) + 1, 1, sharex=True)
    x = np.arange(inst.n_slots)
    for ax, (label, s) in zip(axes, scheds.items(), strict=False):
        _power_panel(ax, inst, s, x)
        c = s.costs
        ax.set_title(f"{title}: {label} (cost {c['cost']:.2f} p.u., objective {c['objective']:.2f})")
    entries: dict[str, object] = {}
    for ax in axes[:-1]:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(text, handle)
    ax = axes[-1]
    first = next(iter(scheds.values()))
    soc = np.where(inst.window, first.soc, np.nan)
    for i in range(inst.n_ev):
        ax.plot(x, soc[i], marker=".")
    for level in (float(np.min(inst.soc_min)), float(np.max(inst.soc_max))):
        ax.axhline(level, color="k", ls=":", lw=0.8)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel(f"SOC ({next(iter(scheds))}, -)")
    ax.set_xticks(x, [str(h) for h in hours], fontsize=7)
    ax.set_xlabel(f"clock hour of slot ({inst.n_ev} EV{'' if inst.n_ev == 1 else 's'}; "
                  "dotted: SOC limits)")
    fig.legend(list(entries.values()), list(entries), loc="outside lower center",
               ncol=len(entries), fontsize=8)
    return fig


def schedule_figure(inst: SiteInstance, scheds: dict[str, SiteSchedule], hours: np.ndarray, title: str,
                    path: Path) -> Path:
    """Draw :func:`schedule_plot` and save it to ``path`` (folders created).

    Returns:
        ``path``.
    """
    fig = schedule_plot(inst, scheds, hours, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path

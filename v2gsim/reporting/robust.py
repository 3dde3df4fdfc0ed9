"""Figure of the (gamma_down, gamma_up) plane of seed 004 (models.md §5.4, like its Figs. 1 and 3)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

__all__ = ["plane_figure"]


def plane_figure(points: Sequence[tuple[str, float, float]], title: str = "") -> Figure:
    """The PC regions (none: both gammas <= 0; downward: gamma_down > max(0, gamma_up); upward:
    gamma_up > 0 and gamma_up >= gamma_down) with labelled working points (label, gamma_down,
    gamma_up), price currency/kWh."""
    g = np.array([[p[1], p[2]] for p in points]) if points else np.zeros((1, 2))
    span = max(0.05, 1.3 * float(np.abs(g).max()))
    x = np.linspace(-span, span, 401)
    gx, gy = np.meshgrid(x, x)
    region = np.where((gx > 0) & (gx > gy), 1, np.where(gy > 0, 2, 0))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.pcolormesh(gx, gy, region, cmap=ListedColormap(["#dddddd", "#9ecae1", "#fdae6b"]), shading="auto")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(0, color="k", lw=0.8)
    ax.plot([0, span], [0, span], "k--", lw=0.8)
    for txt, (tx, ty) in (("none (day-ahead only)", (-0.95, -0.9)), ("downward", (0.35, -0.9)),
                          ("upward", (-0.95, 0.85))):
        ax.text(tx * span, ty * span, txt, fontsize=9)
    for label, gd, gu in points:
        ax.plot(gd, gu, "ko")
        ax.annotate(label, (gd, gu), textcoords="offset points", xytext=(5, 5), fontsize=9)
    ax.set_xlabel("gamma_down (currency/kWh)")
    ax.set_ylabel("gamma_up (currency/kWh)")
    ax.set_title(title or "When reserve pays (paid charge)")
    fig.tight_layout()
    return fig

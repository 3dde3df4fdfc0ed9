"""Figure of the (gamma_down, gamma_up) plane of seed 004 (models.md §5.4, like its Figs. 1 and 3).

The gammas are prices per kWh in the currency of the site's energy prices: the caller passes that
currency (``v2gsim profitability`` prints it from :func:`v2gsim.studies.robust.site_report`'s
``currency``), so the figure's axes and the console say the same unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

__all__ = ["plane_figure", "price_unit"]


def price_unit(currency: str | None) -> str:
    """The axis unit of a price per kWh: ``"USD/kWh"`` for ``"USD"``; ``None`` (currency not known)
    gives the generic ``"currency/kWh"``."""
    return f"{currency or 'currency'}/kWh"


def plane_figure(points: Sequence[tuple[str, float, float]], title: str = "", *,
                 currency: str | None = None) -> Figure:
    """The PC regions of the (gamma_down, gamma_up) plane with labelled working points.

    Regions: none (both gammas <= 0), downward (gamma_down > max(0, gamma_up)), upward (gamma_up > 0
    and gamma_up >= gamma_down).

    Args:
        points: ``(label, gamma_down, gamma_up)`` working points (``currency``/kWh).
        title: the axes' title (default: "When reserve pays (paid charge)").
        currency: ISO 4217 code of the prices (``site_report(...)["currency"]``, e.g. ``"USD"``);
            the axis labels read ``<currency>/kWh``.

    Returns:
        A plain :class:`~matplotlib.figure.Figure` (nothing kept open by pyplot).
    """
    g = np.array([[p[1], p[2]] for p in points]) if points else np.zeros((1, 2))
    span = max(0.05, 1.3 * float(np.abs(g).max()))
    x = np.linspace(-span, span, 401)
    gx, gy = np.meshgrid(x, x)
    region = np.where((gx > 0) & (gx > gy), 1, np.where(gy > 0, 2, 0))
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
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
    unit = price_unit(currency)
    ax.set_xlabel(f"gamma_down ({unit})")
    ax.set_ylabel(f"gamma_up ({unit})")
    ax.set_title(title or "When reserve pays (paid charge)")
    return fig

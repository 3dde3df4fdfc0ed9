"""Figures of a V2A site-day (seed 002, Figs. 10-13 style)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from v2gsim.optimize.v2a import MODES, SiteInstance, SiteSchedule

__all__ = ["schedule_figure"]

_COLORS = {"c": "tab:blue", "H": "tab:orange", "B": "tab:green", "V": "tab:purple", "G": "tab:red"}


def schedule_figure(inst: SiteInstance, scheds: dict[str, SiteSchedule], hours: np.ndarray, title: str,
                    path: Path) -> Path:
    """Stacked EV power per mode over the base load (one panel per case) and the SOC trajectories."""
    fig, axes = plt.subplots(len(scheds) + 1, 1, figsize=(9, 3.0 * (len(scheds) + 1)), sharex=True)
    x = np.arange(inst.n_slots)
    for ax, (label, s) in zip(axes, scheds.items(), strict=False):
        ax.bar(x, inst.base_load, color="0.8", label="base load")
        up = inst.base_load.copy()
        p = inst.power_kw[:, None]
        for m in inst.modes:
            kw = ((s.modes == MODES.index(m) + 1) * p).sum(axis=0)
            if m == "c":
                ax.bar(x, kw, bottom=up, color=_COLORS[m], label="charging")
                up = up + kw
            else:
                ax.bar(x, -kw, bottom=0.0, color=_COLORS[m], label=f"V2{m}")
        ax.step(x, s.site_load, where="mid", color="k", label="optimized load")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("kW")
        c = s.costs
        ax.set_title(f"{title}: {label} (cost {c['cost']:.2f} p.u., objective {c['objective']:.2f})")
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    ax = axes[-1]
    first = next(iter(scheds.values()))
    soc = np.where(inst.window, first.soc, np.nan)
    for i in range(inst.n_ev):
        ax.plot(x, soc[i], marker=".", label=f"EV {i}")
    ax.axhline(float(inst.soc_min.min()), color="k", ls=":", lw=0.8)
    ax.axhline(float(inst.soc_max.max()), color="k", ls=":", lw=0.8)
    ax.set_ylabel(f"SOC ({next(iter(scheds))})")
    ax.set_xticks(x, [str(h) for h in hours], fontsize=7)
    ax.set_xlabel("clock hour of slot")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

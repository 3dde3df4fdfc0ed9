"""The seed-002 schedule figure and the seed-004 plane figure show their data (issue 31, item 10).

* V2A schedule: every power panel's y-axis holds all its bars and the optimized load with a margin
  (the household's 4.2 kW base load used to touch the frame), and the one legend sits outside every
  axes;
* profitability plane: the axes' price unit is the currency the console prints.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from v2gsim.config import load_scenario
from v2gsim.reporting.robust import plane_figure, price_unit
from v2gsim.reporting.v2a import MARGIN, power_limits, schedule_figure, schedule_plot
from v2gsim.studies.v2a import site_day


@pytest.fixture(scope="module", params=["mao2018_household", "mao2018_station"])
def day(request) -> dict:
    return {"name": request.param, **site_day(load_scenario(request.param))}


def test_power_limits_by_hand():
    # data from -3.3 (discharge) to 4.2 (base load): span 7.5, margin 0.08 * 7.5 = 0.6 on both sides
    lo, hi = power_limits(np.array([1.0, 4.2]), np.array([0.0, 3.3]), np.array([1.0, 0.7]))
    assert MARGIN == 0.08
    assert lo == pytest.approx(-3.9) and hi == pytest.approx(4.8)
    # nothing negative: the axis starts at 0; the load line above the bars sets the top
    assert power_limits(np.array([2.0]), np.array([0.0]), np.array([5.0])) == (0.0, pytest.approx(5.4))
    assert power_limits(np.zeros(3), np.zeros(3), np.zeros(3)) == (0.0, 1.0)


def _drawn(fig) -> None:
    fig.savefig(io.BytesIO(), format="png", dpi=60)  # lays out the figure (constrained layout)


def test_schedule_panels_hold_their_data(day):
    scheds = {"with discharge": day["with"], "without discharge": day["without"]}
    fig = schedule_plot(day["instance"], scheds, day["hours"], day["name"])
    _drawn(fig)
    power_axes = fig.axes[:2]
    for ax, s in zip(power_axes, scheds.values(), strict=True):
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        tops = [max(b.get_y(), b.get_y() + b.get_height()) for b in bars]
        bottoms = [min(b.get_y(), b.get_y() + b.get_height()) for b in bars]
        line = np.concatenate([ln.get_ydata() for ln in ax.get_lines() if len(ln.get_ydata()) > 2])
        data_hi, data_lo = max(max(tops), line.max()), min(min(bottoms), line.min(), 0.0)
        lo, hi = ax.get_ylim()
        span = data_hi - data_lo
        assert hi >= data_hi + 0.5 * MARGIN * span, (day["name"], hi, data_hi)
        assert lo <= data_lo
        # the base load is drawn in full: its largest bar is below the top
        assert data_hi >= float(day["instance"].base_load.max())
        np.testing.assert_allclose(line.max(), np.max(s.site_load))
    soc_ax = fig.axes[2]
    assert soc_ax.get_ylim() == (0.0, 1.0)


def test_schedule_legend_is_outside_every_axes(day, tmp_path):
    fig = schedule_plot(day["instance"], {"with discharge": day["with"], "without discharge": day["without"]},
                        day["hours"], day["name"])
    _drawn(fig)
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert isinstance(legend, Legend)
    texts = [t.get_text() for t in legend.get_texts()]
    assert {"base load", "charging", "optimized load"} <= set(texts) and len(texts) == len(set(texts))
    box = legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent()), (day["name"], ax.get_title())
    assert box.y1 < min(ax.get_window_extent().y0 for ax in fig.axes)  # below the panels
    # the saving wrapper writes the same figure
    out = schedule_figure(day["instance"], {"with discharge": day["with"]}, day["hours"], day["name"],
                          tmp_path / "sub" / "fig.png")
    assert out.is_file() and out.stat().st_size > 0


def test_plane_figure_says_the_console_currency():
    fig = plane_figure([("site", -0.089, -0.002)], title="t", currency="USD")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "gamma_down (USD/kWh)" and ax.get_ylabel() == "gamma_up (USD/kWh)"
    eur = plane_figure([("site", 0.01, 0.02)], currency="EUR").axes[0]
    assert eur.get_xlabel() == "gamma_down (EUR/kWh)"
    assert price_unit(None) == "currency/kWh" and price_unit("USD") == "USD/kWh"
    # the working point is drawn where it is
    (point,) = [ln for ln in ax.get_lines() if isinstance(ln, Line2D) and ln.get_marker() == "o"]
    assert point.get_xydata().tolist() == [[-0.089, -0.002]]

"""The live view: its model and figures (always), the Solara page in headless Chromium (extra [view])."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from v2gsim.view.model import (
    FIGSIZE,
    ViewModel,
    day_label,
    rebate_levels,
    view_figures,
    view_header,
    view_state,
)

HAVE_SOLARA = importlib.util.find_spec("solara") is not None


def test_controls_reach_the_model() -> None:
    m = ViewModel("tiny", fleet_size=15, policy="bilevel", charger_kw=7.0, max_rebate=0.2)
    assert len(m.fleet.soc) == 15 and m.scenario.drivers.charger_kw == 7.0
    assert m.scenario.platform.policy == "bilevel"
    assert m.scenario.platform.bilevel.levels == [0.0, 0.05, 0.1, 0.15, 0.2] == rebate_levels(0.2)
    assert rebate_levels(0) == [0.0]


def test_step_changes_day_and_plots() -> None:
    m = ViewModel("tiny", fleet_size=20)
    s0 = view_state(m)
    assert s0["days_done"] == 0 and s0["last_day"] is None and s0["profit_to_date"] == 0.0
    assert list(view_figures(m)) == ["soc"]
    m.step()
    s1 = view_state(m)
    figs = view_figures(m)
    assert s1["days_done"] == 1 and s1["last_day"] == 0
    assert s1["profit_to_date"] == pytest.approx(float(m.daily_table()["profit"].sum()))
    assert set(figs) == {"plugged", "bids", "agc", "profit", "soc"}  # no game in tiny
    # each panel draws day 0's columns of the hourly table, hour by hour
    h = m.hourly_table()
    day0 = h[h.day == 0]
    for key, cols in (("plugged", ["plugged", "predicted_plugged"]),
                      ("bids", ["bid_kw", "p_up_kw", "p_down_kw"]),
                      ("agc", ["requested_mileage_kw", "delivered_mileage_kw"])):
        lines = figs[key].axes[0].lines
        assert len(lines) == len(cols), key
        for line, col in zip(lines, cols, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), day0["hour"].to_numpy())
            np.testing.assert_array_equal(line.get_ydata(), day0[col].to_numpy(), err_msg=f"{key}.{col}")
    # the SOC histogram counts every EV once, at its state after the day
    counts = [patch.get_height() for patch in figs["soc"].axes[0].patches]
    assert sum(counts) == 20
    np.testing.assert_array_equal(counts, np.histogram(m.fleet.soc, bins=np.linspace(0, 1, 21))[0])
    m.step()
    y = figs["profit"].axes[0].lines[0].get_ydata()
    y2 = view_figures(m)["profit"].axes[0].lines[0].get_ydata()
    assert len(y2) == len(y) + 1 and y2[-1] == pytest.approx(view_state(m)["profit_to_date"])


def test_game_panel_when_the_game_is_on() -> None:
    m = ViewModel("lin2020", fleet_size=20)
    m.step()
    game = view_figures(m)["game"]
    # the shares x, y and the discharge price of each simulated day
    d = m.daily_table()
    ax, twin = game.axes
    for line, col in zip([*ax.lines, *twin.lines], ["x", "y", "price"], strict=True):
        np.testing.assert_array_equal(line.get_xdata(), d["day"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), d[col].to_numpy(), err_msg=col)
    assert d[["x", "y", "price"]].notna().all().all()
    assert "game" not in view_figures(_stepped(ViewModel("tiny", fleet_size=20)))


def test_days_are_numbered_from_0_everywhere() -> None:
    """The header and every title name the last simulated day as the tables' ``day`` column does."""
    m = ViewModel("tiny", fleet_size=20)  # 3 days
    assert view_header(view_state(m)).startswith("**0 / 3 days simulated** | 20 EVs, naive | ")
    assert view_figures(m)["soc"].axes[0].get_title() == "SOC at the start (before day 0)"
    for k in (1, 2, 3):
        m.step()
        last = int(m.daily_table()["day"].iloc[-1])
        assert last == int(m.hourly_table()["day"].max()) == k - 1
        st = view_state(m)
        assert (st["days_done"], st["last_day"]) == (k, last)
        header = view_header(st)
        assert header.startswith(f"**{k} / 3 days simulated, last: day {last}** | 20 EVs, naive | ")
        assert f"profit to date **${st['profit_to_date']:.2f}**" in header
        titles = {key: fig.axes[0].get_title() for key, fig in view_figures(m).items()}
        assert titles["soc"] == f"SOC after {day_label(last)}" == f"SOC after day {k - 1}"
        for key in ("plugged", "bids", "agc"):
            assert titles[key].endswith(f" (day {k - 1})"), titles[key]
        # the profit panel's x axis is the daily table's day column: 0 .. k-1
        profit_x = view_figures(m)["profit"].axes[0].lines[0].get_xdata()
        np.testing.assert_array_equal(profit_x, np.arange(k))


def test_figures_have_one_size_and_nothing_cut() -> None:
    """Every panel is FIGSIZE with a constrained layout, and every label lies inside the picture."""
    figs = view_figures(_stepped(ViewModel("lin2020", fleet_size=20)))
    assert set(figs) == {"soc", "plugged", "bids", "agc", "profit", "game"}
    for key, fig in figs.items():
        assert tuple(fig.get_size_inches()) == pytest.approx(FIGSIZE), key
        assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine", key
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        box = fig.bbox
        for ax in fig.axes:
            # everything the axes draw (tick labels, axis labels, title, legend) within the picture
            ext = ax.get_tightbbox(renderer)
            inside = (ext.x0 >= box.x0 - 0.5 and ext.y0 >= box.y0 - 0.5 and ext.x1 <= box.x1 + 0.5
                      and ext.y1 <= box.y1 + 0.5)
            assert inside, (key, ext, box)
            assert ax.get_ylabel(), key
        assert fig.axes[0].get_xlabel() and fig.axes[0].get_title(), key


@pytest.mark.skipif(not HAVE_SOLARA, reason="needs the [view] extra (solara)")
def test_page_controls_show_values_and_panels_fill_their_columns() -> None:
    """The page rendered without a browser: slider labels carry their values, panels are as wide as
    their column, the header follows Step and Reset."""
    import ipyvuetify as v
    import ipywidgets
    import solara

    from v2gsim.view.page import IMAGE_WIDTH, PANEL_COLUMNS, PNG_DPI, ViewPage, figure_png, model_params

    def labels() -> list[str]:
        return [w.label for w in rc.find(v.Slider).widgets if w.label.split(":")[0] in names]

    def header() -> str:
        templates = [w.template or "" for w in rc.find(v.VuetifyTemplate).widgets]
        hits = [re.sub(r"<[^>]*>", "", t) for t in templates if "days simulated" in t]  # text, no tags
        assert len(hits) == 1
        return hits[0]

    names = {"fleet size", "charger", "largest rebate level"}
    _, rc = solara.render(solara.AppLayout(children=[ViewPage(model_params("tiny"))]), handle_error=False)
    assert labels() == ["fleet size: 20 EVs", "charger: 10.0 kW", "largest rebate level: $0.40/EV-h"]
    assert "0 / 3 days simulated" in header() and "20 EVs" in header()
    rc.find(v.Slider, label="fleet size: 20 EVs").widget.v_model = 40
    rc.find(v.Slider, label="charger: 10.0 kW").widget.v_model = 7.5
    assert labels() == ["fleet size: 40 EVs", "charger: 7.5 kW", "largest rebate level: $0.40/EV-h"]
    assert "20 EVs" in header()  # the model changes on Reset only
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert len(rc.find(ipywidgets.Image).widgets) == 5
    assert "1 / 3 days simulated, last: day 0" in header()
    for img in rc.find(ipywidgets.Image).widgets:
        assert img.layout.width == IMAGE_WIDTH == "100%" and img.format == "png"
    cols = rc.find(v.Col).widgets
    assert any((c.cols, c.lg, c.xl) == (PANEL_COLUMNS["default"], PANEL_COLUMNS["large"],
                                       PANEL_COLUMNS["xlarge"]) for c in cols)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "0 / 3 days simulated | 40 EVs, naive" in header()
    # a panel's PNG is FIGSIZE x PNG_DPI pixels (width, height in the PNG header)
    png = figure_png(view_figures(ViewModel("tiny"))["soc"])
    size = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert size == (round(FIGSIZE[0] * PNG_DPI), round(FIGSIZE[1] * PNG_DPI))


def _stepped(m: ViewModel) -> ViewModel:
    m.step()
    return m


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAVE_VIEW = all(importlib.util.find_spec(n) is not None for n in ("solara", "playwright"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not HAVE_VIEW or CHROMIUM is None,
                    reason="needs the [view] extra (solara, playwright) and Debian's chromium")
def test_browser_step(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from v2gsim.view.page import model_params, start_values
    from v2gsim.view.serve import view_command

    ref = ViewModel(**start_values(model_params("tiny")))  # the page's start model, stepped in step with it

    port = _free_port()
    env = {**os.environ, "V2GSIM_VIEW_SCENARIO": "tiny", "PYTHONPATH": os.pathsep.join(sys.path)}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(view_command(port, "127.0.0.1"), env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, timeout=120_000)
            page.get_by_text("0 / 3 days simulated").wait_for(timeout=120_000)
            # the sliders' labels show their values
            for label in ("fleet size: 20 EVs", "charger: 10.0 kW", "largest rebate level: $0.40/EV-h"):
                page.get_by_text(label).wait_for(timeout=10_000)
            shown = [page.get_by_text("profit to date").inner_text()]
            for k in (1, 2):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"{k} / 3 days simulated, last: day {k - 1}").wait_for(timeout=120_000)
                shown.append(page.get_by_text("profit to date").inner_text())
            # the page shows what the same model stepped in this process shows (a second computation)
            for k, text in enumerate(shown):
                assert " ".join(text.split()) == view_header(view_state(ref)).replace("**", ""), k
                if k < 2:
                    ref.step()
            # day 1 moved the SOC (naive bids nothing on day 0), day 2 the profit
            assert shown[0] != shown[1] != shown[2] and "profit to date $0.00" not in shown[2]
            panels = "document.querySelectorAll('img.solara-image').length == 5"
            page.wait_for_function(panels, timeout=60_000)
            # two panels a row at 1400 px, each about half the header's width (the main area's)
            width = page.get_by_text("profit to date").bounding_box()["width"]
            boxes = [img.bounding_box() for img in page.locator("img.solara-image").all()]
            assert all(0.4 * width < b["width"] <= 0.55 * width for b in boxes), (width, boxes)
            shot = tmp_path / "view.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
        assert shot.stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

"""The live view: its model and figures (always), the Solara page in headless Chromium (extra [view])."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from v2gsim.view.model import ViewModel, rebate_levels, view_figures, view_state


def test_controls_reach_the_model() -> None:
    m = ViewModel("tiny", fleet_size=15, policy="bilevel", charger_kw=7.0, max_rebate=0.2)
    assert len(m.fleet.soc) == 15 and m.scenario.drivers.charger_kw == 7.0
    assert m.scenario.platform.policy == "bilevel"
    assert m.scenario.platform.bilevel.levels == [0.0, 0.05, 0.1, 0.15, 0.2] == rebate_levels(0.2)
    assert rebate_levels(0) == [0.0]


def test_step_changes_day_and_plots() -> None:
    m = ViewModel("tiny", fleet_size=20)
    s0 = view_state(m)
    assert s0["day"] == 0 and s0["profit_to_date"] == 0.0 and list(view_figures(m)) == ["soc"]
    m.step()
    s1 = view_state(m)
    figs = view_figures(m)
    assert s1["day"] == 1
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

    from v2gsim.cli.view import view_command
    from v2gsim.view.page import model_params

    start = {k: (v["value"] if isinstance(v, dict) else v) for k, v in model_params("tiny").items()}
    ref = ViewModel(**start)  # the page's start model, stepped here in step with the page

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
            page = browser.new_page()
            page.goto(url, timeout=120_000)
            page.get_by_text("day 0 /").wait_for(timeout=120_000)
            n_img = page.locator("img").count()
            shown = [page.get_by_text("profit to date").inner_text()]
            for day in (1, 2):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"day {day} /").wait_for(timeout=120_000)
                shown.append(page.get_by_text("profit to date").inner_text())
            # the page shows what the same model stepped in this process shows (a second computation)
            for day, text in enumerate(shown):
                st = view_state(ref)
                assert f"day {day} / {st['days']}" in text
                assert f"profit to date ${st['profit_to_date']:.2f}" in text.replace("**", "")
                assert f"mean SOC {st['mean_soc']:.3f}" in text
                if day < 2:
                    ref.step()
            # day 1 moved the SOC (naive bids nothing on day 0), day 2 the profit
            assert shown[0] != shown[1] != shown[2] and "profit to date $0.00" not in shown[2]
            page.wait_for_function(f"document.querySelectorAll('img').length > {n_img}", timeout=60_000)
            shot = tmp_path / "view.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
        assert shot.stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

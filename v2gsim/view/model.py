"""The model behind ``v2gsim view``: a scenario with the view's controls as constructor arguments,
and its live figures (pure matplotlib: no solara here, so they are testable without the extra).

Controls (keyword arguments, what Mesa's SolaraViz passes on reset): ``fleet_size`` (EVs),
``policy`` (a registered name), ``charger_kw`` (kW), ``max_rebate`` ($ per plugged EV-hour: the
rebate levels become 0, max/4, ..., max; 0 = no rebates).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from v2gsim.config import load_scenario
from v2gsim.sim.model import V2GMarketModel

__all__ = ["ViewModel", "rebate_levels", "view_figures", "view_state"]


def rebate_levels(max_rebate: float, n: int = 5) -> list[float]:
    """``n`` equally spaced rebate levels from 0 to ``max_rebate`` ($); ``[0.0]`` when it is 0."""
    if max_rebate <= 0:
        return [0.0]
    return [round(float(x), 6) for x in np.linspace(0.0, float(max_rebate), n)]


class ViewModel(V2GMarketModel):
    """A :class:`~v2gsim.sim.model.V2GMarketModel` of ``scenario`` with the view's controls applied.

    Extra keyword arguments (Mesa's SolaraViz may pass e.g. ``rng``) are ignored; they must be named
    ``kwargs``: Mesa 3.3 rejects any other required-looking parameter it cannot fill.
    """

    def __init__(self, scenario: str | None = None, fleet_size: int | None = None, policy: str | None = None,
                 charger_kw: float | None = None, max_rebate: float | None = None, **kwargs: Any):
        sets = []
        if fleet_size is not None:
            sets.append(f"drivers.count={int(fleet_size)}")
        if policy is not None:
            sets.append(f'platform.policy="{policy}"')
        if charger_kw is not None:
            sets.append(f"drivers.charger_kw={float(charger_kw)}")
        if max_rebate is not None:
            sets.append(f"platform.bilevel.levels={rebate_levels(max_rebate)}")
        sc = load_scenario(scenario, sets)
        sc = sc.model_copy(update={"output": sc.output.model_copy(update={"progress": False})})
        super().__init__(sc)
        self.view_scenario = scenario


def view_state(model: V2GMarketModel) -> dict[str, Any]:
    """Day counter and headline numbers of the days simulated so far."""
    daily = model.daily_table() if model.steps else None
    return {
        "day": int(model.steps),
        "days": int(model.spec.days),
        "profit_to_date": float(daily["profit"].sum()) if daily is not None else 0.0,
        "rebates_to_date": float(daily["rebates_paid"].sum()) if daily is not None else 0.0,
        "mean_soc": float(np.mean(model.fleet.soc)),
    }


def _last_day(model: V2GMarketModel):
    h = model.hourly_table()
    return h[h["day"] == h["day"].max()]


def view_figures(model: V2GMarketModel) -> dict[str, Figure]:
    """The live figures: plugged vs predicted, bids vs capability, AGC request vs response (hourly
    mileage of the last simulated day), SOC distribution, profit to date, the game when it is on."""
    figs: dict[str, Figure] = {}
    soc = Figure(figsize=(4.2, 3))
    ax = soc.subplots()
    ax.hist(model.fleet.soc, bins=np.linspace(0, 1, 21))
    ax.set_xlabel("state of charge (-)")
    ax.set_ylabel("EVs")
    ax.set_title(f"SOC after day {model.steps}")
    figs["soc"] = soc
    if not model.steps:
        return figs
    h = _last_day(model)
    day = int(h["day"].iloc[0])
    for key, cols, ylabel, title in (
        ("plugged", [("plugged", "realized"), ("predicted_plugged", "predicted")], "EVs",
         "plugged-in EVs vs predicted"),
        ("bids", [("bid_kw", "bid C_t"), ("p_up_kw", "up capability"), ("p_down_kw", "down capability")],
         "kW", "bids vs capability"),
        ("agc", [("requested_mileage_kw", "requested"), ("delivered_mileage_kw", "delivered")],
         "mileage (kW)", "AGC request vs fleet response"),
    ):
        fig = Figure(figsize=(4.2, 3))
        ax = fig.subplots()
        for col, label in cols:
            ax.plot(h["hour"], h[col], marker=".", label=label)
        ax.set_xlabel("hour")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} (day {day})", fontsize=9)
        ax.legend(fontsize=7)
        figs[key] = fig
    d = model.daily_table()
    fig = Figure(figsize=(4.2, 3))
    ax = fig.subplots()
    ax.plot(d["day"], d["profit"].cumsum(), marker=".")
    ax.set_xlabel("day")
    ax.set_ylabel("profit to date ($)")
    figs["profit"] = fig
    if "x" in d.columns and d["x"].notna().any():
        fig = Figure(figsize=(4.2, 3))
        ax = fig.subplots()
        ax.plot(d["day"], d["x"], label="x (EV cooperation share)")
        ax.plot(d["day"], d["y"], label="y (grid company)")
        ax2 = ax.twinx()
        ax2.plot(d["day"], d["price"], "k:", label="price")
        ax2.set_ylabel("discharge price (yuan/kWh)")
        ax.set_xlabel("day")
        ax.legend(fontsize=7)
        figs["game"] = fig
    return figs

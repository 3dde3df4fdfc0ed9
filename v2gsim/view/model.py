"""The model behind ``v2gsim view``: a scenario with the view's controls as constructor arguments,
and its live figures (pure matplotlib: no solara here, so they are testable without the extra).

Controls (keyword arguments, what Mesa's SolaraViz passes on reset): ``fleet_size`` (EVs),
``policy`` (a registered name), ``charger_kw`` (kW), ``max_rebate`` ($ per plugged EV-hour: the
rebate levels become 0, max/4, ..., max; 0 = no rebates).

Days are numbered from 0, as in the ``day`` column of the run's tables: after ``k`` steps the view
says "k / N days simulated, last: day k-1", and every panel of the last day says "(day k-1)".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from v2gsim.config import load_scenario
from v2gsim.sim.model import V2GMarketModel

__all__ = ["FIGSIZE", "ViewModel", "day_label", "rebate_levels", "view_figures", "view_header", "view_state"]

#: Size of every live figure (inches, width x height); at 100 dpi a 560 x 350 px picture, the page
#: scales it to the width of its column.
FIGSIZE = (5.6, 3.5)


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


def day_label(day: int) -> str:
    """How the view names a simulated day: ``"day 0"`` is the first, as in the tables' ``day`` column.

    Args:
        day: the day's number (0-based, the ``day`` column of the daily and hourly tables).
    """
    return f"day {int(day)}"


def view_state(model: V2GMarketModel) -> dict[str, Any]:
    """Day counter and headline numbers of the days simulated so far.

    Returns:
        ``days_done`` (days simulated, = Mesa's ``steps``), ``days`` (the scenario's days),
        ``last_day`` (number of the last simulated day, 0-based; ``None`` before the first),
        ``evs`` (fleet size) and ``policy`` (its name) of the model, ``profit_to_date`` and
        ``rebates_to_date`` ($), ``mean_soc`` (-).
    """
    daily = model.daily_table() if model.steps else None
    return {
        "days_done": int(model.steps),
        "days": int(model.spec.days),
        "last_day": int(daily["day"].iloc[-1]) if daily is not None else None,
        "evs": len(model.fleet.soc),
        "policy": str(model.platform.policy.name),
        "profit_to_date": float(daily["profit"].sum()) if daily is not None else 0.0,
        "rebates_to_date": float(daily["rebates_paid"].sum()) if daily is not None else 0.0,
        "mean_soc": float(np.mean(model.fleet.soc)),
    }


def view_header(state: dict[str, Any]) -> str:
    """The page's header line (Markdown) of a :func:`view_state`, e.g. ``**3 / 30 days simulated, last:
    day 2** | 200 EVs, naive | profit to date **$57.99** | rebates paid $0.00 | mean SOC 0.730``."""
    done = f"**{state['days_done']} / {state['days']} days simulated"
    if state["last_day"] is not None:
        done += f", last: {day_label(state['last_day'])}"
    return (f"{done}** | {state['evs']} EVs, {state['policy']} | profit to date "
            f"**${state['profit_to_date']:.2f}** | rebates paid "
            f"${state['rebates_to_date']:.2f} | mean SOC {state['mean_soc']:.3f}")


def _last_day(model: V2GMarketModel) -> Any:
    """The hourly table's rows of the last simulated day (a DataFrame)."""
    h = model.hourly_table()
    return h[h["day"] == h["day"].max()]


def _figure() -> tuple[Figure, Any]:
    """A live figure of :data:`FIGSIZE` with constrained layout (no label is cut) and its axes."""
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig, fig.subplots()


def _soc_figure(model: V2GMarketModel) -> Figure:
    """The SOC histogram of the fleet now, i.e. after the last simulated day."""
    fig, ax = _figure()
    ax.hist(model.fleet.soc, bins=np.linspace(0, 1, 21))
    ax.set_xlabel("state of charge (-)")
    ax.set_ylabel("EVs")
    last = view_state(model)["last_day"]
    ax.set_title("SOC at the start (before day 0)" if last is None else f"SOC after {day_label(last)}")
    return fig


def _day_figures(model: V2GMarketModel) -> dict[str, Figure]:
    """The hourly panels of the last simulated day (its number in each title)."""
    h = _last_day(model)
    day = int(h["day"].iloc[0])
    figs: dict[str, Figure] = {}
    for key, cols, ylabel, title in (
        ("plugged", [("plugged", "realized"), ("predicted_plugged", "predicted")], "EVs",
         "plugged-in EVs vs predicted"),
        ("bids", [("bid_kw", "bid C_t"), ("p_up_kw", "up capability"), ("p_down_kw", "down capability")],
         "kW", "bids vs capability"),
        ("agc", [("requested_mileage_kw", "requested"), ("delivered_mileage_kw", "delivered")],
         "mileage (kW)", "AGC request vs fleet response"),
    ):
        fig, ax = _figure()
        for col, label in cols:
            ax.plot(h["hour"], h[col], marker=".", label=label)
        ax.set_xlabel("hour of the day")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} ({day_label(day)})")
        ax.legend(fontsize=8)
        figs[key] = fig
    return figs


def view_figures(model: V2GMarketModel) -> dict[str, Figure]:
    """The live figures: plugged vs predicted, bids vs capability, AGC request vs response (hourly
    mileage of the last simulated day), SOC distribution, profit to date, the game when it is on.

    Every figure is :data:`FIGSIZE` (inches) with a constrained layout; days are 0-based
    (:func:`day_label`).
    """
    figs = {"soc": _soc_figure(model)}
    if not model.steps:
        return figs
    figs.update(_day_figures(model))
    d = model.daily_table()
    fig, ax = _figure()
    ax.plot(d["day"], d["profit"].cumsum(), marker=".")
    ax.set_xlabel("day")
    ax.set_ylabel("profit to date ($)")
    ax.set_title("profit to date")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figs["profit"] = fig
    if "x" in d.columns and d["x"].notna().any():
        fig, ax = _figure()
        ax.plot(d["day"], d["x"], label="x (EV cooperation share)")
        ax.plot(d["day"], d["y"], label="y (grid company)")
        ax2 = ax.twinx()
        ax2.plot(d["day"], d["price"], "k:", label="price")
        ax2.set_ylabel("discharge price (yuan/kWh)")
        ax.set_xlabel("day")
        ax.set_ylabel("share (-)")
        ax.set_title("the game: cooperation shares and price")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
        figs["game"] = fig
    return figs

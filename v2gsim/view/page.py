"""The live browser view (``v2gsim view``) on Mesa's SolaraViz: needs the ``[view]`` extra (solara).

Controls: fleet size, policy, charger kW, largest rebate level (reset applies them); Mesa's
Reset / Play / Step buttons. Live panels after each day: plugged-in EVs vs predicted, bids vs
capability, AGC request vs fleet response (hourly mileage of the last day), SOC distribution,
profit to date and, when ``[game] enabled``, the cooperation shares and the discharge price.
"""

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from v2gsim.config import load_scenario
from v2gsim.policies import available_policies
from v2gsim.view.model import ViewModel, view_figures, view_state

__all__ = ["Dashboard", "make_page", "model_params"]


@solara.component
def Dashboard(model: ViewModel) -> None:
    """Day counter, headline numbers and the live figures of ``model``."""
    update_counter.get()
    st = view_state(model)
    solara.Markdown(f"**day {st['day']} / {st['days']}** | profit to date "
                    f"**${st['profit_to_date']:.2f}** | rebates paid ${st['rebates_to_date']:.2f} | "
                    f"mean SOC {st['mean_soc']:.3f}")
    with solara.ColumnsResponsive(6):
        for fig in view_figures(model).values():
            solara.FigureMatplotlib(fig, format="png")


def model_params(scenario: str | None = None) -> dict[str, Any]:
    """SolaraViz controls with the scenario's values as their start."""
    sc = load_scenario(scenario)
    d = sc.drivers
    return {
        "scenario": scenario,
        "fleet_size": {"type": "SliderInt", "value": d.count, "min": 10, "max": 1000, "step": 10,
                       "label": "fleet size (EVs)"},
        "policy": {"type": "Select", "value": sc.platform.policy, "values": list(available_policies()),
                   "label": "policy"},
        "charger_kw": {"type": "SliderFloat", "value": d.charger_kw, "min": max(d.baseline_charge_kw, 1.0),
                       "max": 50.0, "step": 0.1, "label": "charger (kW)"},
        "max_rebate": {"type": "SliderFloat", "value": max(sc.platform.bilevel.levels), "min": 0.0,
                       "max": 1.0, "step": 0.05, "label": "largest rebate level ($/EV-h)"},
    }


def make_page(scenario: str | None = None) -> Any:
    """The SolaraViz page of ``scenario`` (its start values as controls)."""
    params = model_params(scenario)
    start = {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}
    return SolaraViz(ViewModel(**start), components=[Dashboard], model_params=params, name="v2gsim view")

"""The live browser view (``v2gsim view``) on Mesa's SolaraViz: needs the ``[view]`` extra (solara).

Controls: fleet size, policy, charger kW, largest rebate level, each label showing its current value
(Reset applies them); Mesa's Reset / Play / Step buttons. Live panels after each day, in columns as
wide as the page allows: plugged-in EVs vs predicted, bids vs capability, AGC request vs fleet
response (hourly mileage of the last day), SOC distribution, profit to date and, when ``[game]
enabled``, the cooperation shares and the discharge price. Days are numbered from 0, as in the
tables (:func:`v2gsim.view.model.day_label`).

Each browser session has its own model; Mesa's SolaraViz draws the app bar and the sidebar (its grid
of draggable cards is not used: the panels get the main area's width).
"""

from __future__ import annotations

import io
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from v2gsim.config import load_scenario
from v2gsim.policies import available_policies
from v2gsim.view.model import ViewModel, view_figures, view_header, view_state

__all__ = ["IMAGE_WIDTH", "PNG_DPI", "Dashboard", "PageModel", "ViewPage", "control_labels", "figure_png",
           "make_page", "model_params", "start_values"]

#: Resolution of the panels' PNGs (dots per inch): 840 x 525 px for a 5.6 x 3.5 in figure, sharp
#: up to that width on screen.
PNG_DPI = 150
#: CSS width of every panel: the whole column it is in.
IMAGE_WIDTH = "100%"
#: Columns (of 12) a panel spans by screen width: one panel a row below 1264 px, two up to 1904 px,
#: three above (Vuetify's breakpoints).
PANEL_COLUMNS = {"default": 12, "large": 6, "xlarge": 4}
#: How each control's current value is written after its name in its label.
VALUE_FORMATS = {"fleet_size": "{:d} EVs", "charger_kw": "{:.1f} kW", "max_rebate": "${:.2f}/EV-h"}

DAY_NOTE = "Days are numbered from 0, as in the `day` column of the run's tables."


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes at :data:`PNG_DPI` (its size in inches x PNG_DPI pixels).

    Args:
        fig: a live figure (:func:`v2gsim.view.model.view_figures`).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


@solara.component
def Dashboard(model: ViewModel) -> None:
    """Day counter, headline numbers and the live figures of ``model``, each as wide as its column
    (:data:`PANEL_COLUMNS`); the PNGs are made again only when the model or its day changes.

    Args:
        model: the session's model.
    """
    update_counter.get()
    solara.Markdown(view_header(view_state(model)))
    solara.Markdown(DAY_NOTE, style={"font-size": "0.85em", "opacity": "0.7"})
    pngs = solara.use_memo(lambda: {k: figure_png(f) for k, f in view_figures(model).items()},
                           [model, model.steps])
    with solara.ColumnsResponsive(**PANEL_COLUMNS):
        for png in pngs.values():
            solara.Image(png, width=IMAGE_WIDTH, format="png")


def model_params(scenario: str | None = None) -> dict[str, Any]:
    """SolaraViz controls with the scenario's values as their start.

    Args:
        scenario: scenario TOML or shipped name (``None``: the default scenario).
    """
    sc = load_scenario(scenario)
    d = sc.drivers
    return {
        "scenario": scenario,
        "fleet_size": {"type": "SliderInt", "value": d.count, "min": 10, "max": 1000, "step": 10,
                       "label": "fleet size"},
        "policy": {"type": "Select", "value": sc.platform.policy, "values": list(available_policies()),
                   "label": "policy"},
        "charger_kw": {"type": "SliderFloat", "value": d.charger_kw, "min": max(d.baseline_charge_kw, 1.0),
                       "max": 50.0, "step": 0.1, "label": "charger"},
        "max_rebate": {"type": "SliderFloat", "value": max(sc.platform.bilevel.levels), "min": 0.0,
                       "max": 1.0, "step": 0.05, "label": "largest rebate level"},
    }


def start_values(params: dict[str, Any]) -> dict[str, Any]:
    """The model's keyword arguments at the controls' start values (fixed ones as they are).

    Args:
        params: the controls (:func:`model_params`).
    """
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}


def control_labels(params: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """Each control's label with its current value, e.g. ``"fleet size: 200 EVs"``.

    Args:
        params: the controls (:func:`model_params`).
        values: the current value of each control, by name.
    """
    out = {}
    for name, spec in params.items():
        if isinstance(spec, dict):
            fmt = VALUE_FORMATS.get(name)
            out[name] = spec["label"] if fmt is None else f"{spec['label']}: {fmt.format(values[name])}"
    return out


class PageModel(ViewModel):
    """:class:`~v2gsim.view.model.ViewModel` as the page's Reset builds it: Mesa hands over a control
    that was not moved since the page opened as the solara reactive variable its input is bound to
    (see :func:`ViewPage`); its value is used."""

    def __init__(self, **kwargs: Any):
        super().__init__(**{k: (v.value if isinstance(v, solara.Reactive) else v) for k, v in kwargs.items()})


@solara.component
def ViewPage(params: dict[str, Any]) -> None:
    """The page of one browser session: SolaraViz's app bar and sidebar, then the :class:`Dashboard`
    of the session's model (SolaraViz gets no components, so the panels are not in its half-width grid).

    Each control's ``value`` given to SolaraViz is a solara reactive variable of this page: solara binds
    the control's input to it, so every move re-renders the page and the label shows the new value
    (:func:`control_labels`); Mesa still records the moves for Reset.

    Args:
        params: the controls (:func:`model_params`).
    """
    model = solara.use_reactive(solara.use_memo(lambda: PageModel(**start_values(params)), []))
    bound = {k: solara.use_reactive(v["value"]) for k, v in params.items() if isinstance(v, dict)}
    labels = control_labels(params, {k: r.value for k, r in bound.items()})
    shown = {k: ({**v, "value": bound[k], "label": labels[k]} if k in bound else v)
             for k, v in params.items()}
    SolaraViz(model, components=[], model_params=shown, name="v2gsim view")
    Dashboard(model.value)


def make_page(scenario: str | None = None) -> Any:
    """The page of ``scenario`` (its start values as controls), an element ``solara run`` serves."""
    return ViewPage(model_params(scenario))

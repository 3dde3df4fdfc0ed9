"""Calibrate a scenario's hourly plug-in utilities from real sessions (models.md §1.3, C1-C4).

The application side of :mod:`v2gsim.behavior.place_calibration` (which calibrates one place of a
built network): :func:`calibrate_scenario` reads the sessions (:mod:`v2gsim.behavior.sessions`),
calibrates, writes a TOML scenario that ``extends`` the given one and overrides only the place's
``plug_utility`` (the whole ``[[network.places]]`` array is written, since arrays of tables replace
as a whole in ``extends`` merging), then loads the written file, re-solves the persistency model and
reports the fit. :func:`format_report` prints it; ``v2gsim calibrate`` runs both.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior import place_calibration
from v2gsim.behavior.persistency.socp import PersistencyModel
from v2gsim.behavior.place_calibration import PlaceCalibration, place_arcs
from v2gsim.behavior.sessions import PlugFrequency, hourly_plug_stats, read_sessions
from v2gsim.config import NetworkConfig, Scenario, load_scenario
from v2gsim.config.base import expand_hourly
from v2gsim.core.network import ActivityNetwork, build_network
from v2gsim.specs.build import network_template

__all__ = [
    "calibrate_place",
    "calibrate_scenario",
    "format_report",
    "scenario_toml",
]


def calibrate_place(
    network: NetworkConfig | ActivityNetwork, observed: ArrayLike, place: str = "home", **options: Any
) -> PlaceCalibration:
    """Calibrate the hourly plug-in means of one place of a scenario network (C1-C4).

    Builds the network of a ``[network]`` template and runs
    :func:`v2gsim.behavior.place_calibration.calibrate_place` on it.

    Args:
        network: a scenario's ``[network]`` template, or a built network (its ``mu``, ``sigma``
            are the scenario utilities).
        observed: (T,) observed hourly plug-in frequencies ŷ_t at ``place`` (-).
        place: the place whose plug-in utilities are calibrated.
        **options: ``delta``, ``tol``, ``max_rounds``, ``max_newton``, ``max_step`` of
            :func:`v2gsim.behavior.place_calibration.calibrate_place`.

    Returns:
        The :class:`~v2gsim.behavior.place_calibration.PlaceCalibration`.
    """
    net = build_network(network_template(network)) if isinstance(network, NetworkConfig) else network
    return place_calibration.calibrate_place(net, observed, place, **options)


# --------------------------------------------------------------------------------------------------
# TOML output
# --------------------------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def scenario_toml(
    extends: str,
    name: str,
    description: str,
    places: Sequence[Mapping[str, Any]],
    comments: Sequence[str] = (),
) -> str:
    """TOML text of a scenario that extends another and replaces its ``[[network.places]]``.

    Args:
        extends: path of the base scenario, relative to the written file's folder.
        name: scenario name.
        description: free text.
        places: the complete places array (dicts of :class:`v2gsim.config.PlaceConfig` fields).
        comments: lines written as ``#`` comments at the top.

    Returns:
        The file text (parses with :mod:`tomllib`).
    """
    lines = [f"# {c}" for c in comments]
    lines += [
        f"extends = {_toml_value(extends)}",
        f"name = {_toml_value(name)}",
        f"description = {_toml_value(description)}",
    ]
    for p in places:
        lines += ["", "[[network.places]]"]
        for k, v in p.items():
            if v is None:
                continue
            lines.append(f"{k} = {_toml_value(list(v) if isinstance(v, tuple) else v)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------------------------------


def _plug_y(network: NetworkConfig, place: str) -> tuple[NDArray, NDArray[np.int64]]:
    net = build_network(network_template(network))
    hours, _, plug = place_arcs(net, place)
    res = PersistencyModel(net.incidence, net.supply, method="newton").solve(net.mu, net.sigma)
    y = np.zeros(net.hours)
    y[hours] = res.y[plug]
    return y, hours


def _base_network(scenario_path: Path, place: str) -> tuple[Scenario, NetworkConfig, dict, dict, bool]:
    """The base scenario, its network (with a charger at ``place``), its JSON data and the place's.

    Returns:
        ``(base, network, data, place_data, charger_enabled)``; ``data`` is the network's JSON
        dump (``place_data`` one of its places) with ``charger = true`` set at the place.
    """
    base: Scenario = load_scenario(scenario_path)
    if base.drivers.clusters:
        raise ValueError(
            f"{scenario_path}: scenarios with [[drivers.clusters]] are not supported by the "
            "calibration (each cluster has its own network); calibrate a scenario without clusters"
        )
    netcfg = base.network
    names = [p.name for p in netcfg.places]
    if place not in names:
        raise ValueError(f"{scenario_path}: place {place!r} not in the network; places: {names}")
    data = netcfg.model_dump(mode="json")
    pdata = next(p for p in data["places"] if p["name"] == place)
    charger_enabled = not pdata["charger"]
    if charger_enabled:
        pdata["charger"] = True
        netcfg = NetworkConfig.model_validate(data)
    return base, netcfg, data, pdata, charger_enabled


def _header_comments(
    sessions_path: str | Path, src_name: str, stats: PlugFrequency, cal: PlaceCalibration, place: str,
    rule: str, days: str, max_gap_days: float | None, charger_enabled: bool,
) -> list[str]:
    """The ``#`` lines at the top of the written scenario (provenance and fit)."""
    return [
        f"Written by v2gsim.studies.calibrate.calibrate_scenario, "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        f"Sessions: {Path(sessions_path).resolve()} ({src_name}; rule={rule}, days={days}, "
        f"max_gap_days={max_gap_days}; {stats.n_sessions} sessions, {stats.n_units} vehicles, "
        f"{stats.n_days} vehicle-days).",
        f"Only [[network.places]] {place!r}.plug_utility differs from the base"
        + (" (and charger = true)." if charger_enabled else "."),
        f"Calibration epsilon = {cal.epsilon:.3e}; clipped hours: {sorted(cal.clipped) or 'none'}.",
    ]


def _report(
    cal: PlaceCalibration, stats: PlugFrequency, model_y: NDArray, hours: int, info: dict[str, Any],
) -> dict[str, Any]:
    """The JSON report of :func:`calibrate_scenario` (``info``: paths, options and flags)."""
    obs = stats.freq
    err = np.abs(model_y - obs)
    unclipped = np.array([h not in cal.clipped for h in range(hours)])
    if not cal.converged:
        status = "not_converged"
    elif cal.clipped:
        status = "clipped"
    else:
        status = "ok"
    return {
        "status": status,
        "place": info["place"],
        "sessions": info["sessions"],
        "source": info["source"],
        "scenario": info["scenario"],
        "out": info["out"],
        "frequency": {
            "rule": info["rule"],
            "days": info["days"],
            "max_gap_days": info["max_gap_days"],
            "unit": stats.unit,
            "n_sessions": stats.n_sessions,
            "n_dropped": stats.n_dropped,
            "n_units": stats.n_units,
            "n_days": stats.n_days,
        },
        "hours": list(range(hours)),
        "observed": obs.tolist(),
        "stderr": stats.stderr.tolist(),
        "model": model_y.tolist(),
        "abs_error": err.tolist(),
        "max_abs_error": float(err.max()),
        "mean_abs_error": float(err.mean()),
        "max_abs_error_unclipped": float(err[unclipped].max()) if unclipped.any() else None,
        "mean_abs_error_unclipped": float(err[unclipped].mean()) if unclipped.any() else None,
        "clipped_hours": {str(h): r for h, r in sorted(cal.clipped.items())},
        "epsilon": cal.epsilon,
        "solver_status": cal.solver_status,
        "identified": cal.identified,
        "iterations": cal.iterations,
        "charger_enabled": info["charger_enabled"],
        "plug_utility": info["plug_utility"],
        "plug_utility_base": info["plug_utility_base"],
    }


def calibrate_scenario(
    sessions_path: str | Path,
    scenario_path: str | Path,
    out_path: str | Path,
    *,
    place: str = "home",
    source: Literal["evwatts", "acn", "auto"] = "auto",
    rule: Literal["half", "any", "fraction"] = "half",
    days: Literal["window", "active"] = "window",
    max_gap_days: float | None = 14.0,
    name: str | None = None,
    description: str | None = None,
    delta: float = 1e-3,
) -> dict[str, Any]:
    """Calibrate a scenario's plug-in utilities at ``place`` to real sessions and write it.

    Steps: read the sessions (:func:`v2gsim.behavior.sessions.read_sessions`), compute ŷ_t
    (:func:`v2gsim.behavior.sessions.hourly_plug_stats`), calibrate (:func:`calibrate_place`),
    write ``out_path`` (extends ``scenario_path``; full ``[[network.places]]`` array with the
    place's ``plug_utility`` replaced by 24 calibrated values, and ``charger = true`` if the place
    had none), load the written scenario, re-solve the persistency model and compare.

    Args:
        sessions_path: session CSV (EV WATTS or ACN-Data flat format).
        scenario_path: base scenario TOML.
        out_path: TOML file to write (folders are created).
        place: place of the network whose plug-in utilities are calibrated.
        source: session format, ``"auto"`` detects it.
        rule, days, max_gap_days: frequency definition (:mod:`v2gsim.behavior.sessions`).
        name: scenario name (default ``<base>-calibrated-<place>``).
        description: scenario description (default names the data and the fit).
        delta: relative margin of the stay/plug split (:func:`calibrate_place`).

    Returns:
        The report (JSON-serialisable dict): ``hours``, ``observed``, ``model``, ``abs_error``
        (per hour, from the written and re-loaded scenario), ``max_abs_error``,
        ``mean_abs_error``, the same over unclipped hours, ``clipped_hours`` (hour → reason),
        ``epsilon`` ($), ``status`` (``"ok"``, ``"clipped"`` or ``"not_converged"``),
        ``plug_utility`` and ``plug_utility_base`` ($/h), the session statistics and paths.

    Raises:
        ValueError: unknown place, clustered scenario, or bad sessions (file and columns named).
    """
    scenario_path = Path(scenario_path)
    out_path = Path(out_path)
    base, netcfg, data, pdata, charger_enabled = _base_network(scenario_path, place)
    sessions = read_sessions(sessions_path, source)
    stats = hourly_plug_stats(
        sessions, netcfg.hours, rule=rule, days=days, max_gap_days=max_gap_days
    )
    cal = calibrate_place(netcfg, stats.freq, place, delta=delta)

    # --- write: full places array, only the calibrated field (and the charger flag) changed
    # hours without a plug arc at the place keep the configured value
    configured = np.array(expand_hourly(pdata["plug_utility"], netcfg.hours, "plug_utility"))
    pu = np.where(np.isnan(cal.plug_utility), configured, cal.plug_utility)
    pdata["plug_utility"] = [float(v) for v in pu]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(scenario_path.resolve(), out_path.parent.resolve())
    src_name = sessions.attrs.get("source", source)
    name = name or f"{base.name}-calibrated-{place}"
    description = description or (
        f"{base.name} with the hourly plug-in utilities at {place} calibrated to "
        f"{Path(sessions_path).name} ({src_name}, {stats.n_days} vehicle-days)."
    )
    comments = _header_comments(sessions_path, src_name, stats, cal, place, rule, days,
                                max_gap_days, charger_enabled)
    out_path.write_text(scenario_toml(rel, name, description, data["places"], comments), encoding="utf-8")

    # --- verify on the written file
    model_y, _ = _plug_y(load_scenario(out_path).network, place)
    info = {
        "place": place, "sessions": str(Path(sessions_path)), "source": src_name,
        "scenario": str(scenario_path), "out": str(out_path), "rule": rule, "days": days,
        "max_gap_days": max_gap_days, "charger_enabled": charger_enabled,
        "plug_utility": [float(v) for v in pu], "plug_utility_base": [float(v) for v in configured],
    }
    return _report(cal, stats, model_y, netcfg.hours, info)


def format_report(report: Mapping[str, Any]) -> str:
    """Human-readable text of a :func:`calibrate_scenario` report.

    Args:
        report: the dict returned by :func:`calibrate_scenario`.

    Returns:
        Multi-line text: header, one row per hour (observed, model, error, plug utility before and
        after), and the fit summary.
    """
    fq = report["frequency"]
    lines = [
        f"calibration of plug-in utilities at {report['place']!r}: status {report['status']}",
        f"sessions  {report['sessions']} ({report['source']}; {fq['n_sessions']} sessions, "
        f"{fq['n_units']} vehicles, {fq['n_days']} vehicle-days; rule={fq['rule']}, "
        f"days={fq['days']}, max_gap_days={fq['max_gap_days']})",
        f"scenario  {report['scenario']} -> {report['out']}"
        + ("  (charger enabled)" if report.get("charger_enabled") else ""),
        "",
        f"{'hour':>4} {'observed':>9} {'model':>9} {'|error|':>9} {'plug_util':>10} {'base':>7}  note",
    ]
    clipped = report["clipped_hours"]
    for h in report["hours"]:
        note = clipped.get(str(h), "")
        lines.append(
            f"{h:>4} {report['observed'][h]:>9.4f} {report['model'][h]:>9.4f} "
            f"{report['abs_error'][h]:>9.2e} {report['plug_utility'][h]:>10.4f} "
            f"{report['plug_utility_base'][h]:>7.3f}  {note}"
        )
    lines += [
        "",
        f"max |model - observed| = {report['max_abs_error']:.3e}, mean = {report['mean_abs_error']:.3e}"
        + (
            f" (unclipped hours: max {report['max_abs_error_unclipped']:.3e})"
            if clipped and report["max_abs_error_unclipped"] is not None
            else ""
        ),
        f"clipped hours: {', '.join(f'{h} ({r})' for h, r in clipped.items()) or 'none'}",
        f"epsilon (duality gap, C2) = {report['epsilon']:.3e} $; solver {report['solver_status']}; "
        f"identified {report['identified']}; rounds {report['iterations']['rounds']}, "
        f"newton {report['iterations']['newton']}",
    ]
    return "\n".join(lines)

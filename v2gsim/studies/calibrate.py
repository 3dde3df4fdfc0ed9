"""Calibrate a scenario's hourly plug-in utilities from real sessions (models.md §1.3, C1-C4).

The application side of :mod:`v2gsim.behavior.place_calibration` (which calibrates one place of a
built network): :func:`calibrate_scenario` reads the sessions (:mod:`v2gsim.behavior.sessions`),
calibrates, writes a TOML scenario that ``extends`` the given one and overrides only the place's
``plug_utility`` (the whole ``[[network.places]]`` array is written, since arrays of tables replace
as a whole in ``extends`` merging), then loads the written file, re-solves the persistency model and
reports the fit. :func:`format_report` prints it; ``v2gsim calibrate`` runs both.

The fit says what it fitted: the place (by default the one the source's sessions come from,
:data:`v2gsim.behavior.sessions.readers.SOURCE_ZONES`: EV WATTS ``home``, ACN-Data ``work``), the
time zone whose clock hours were counted (``tz``, by default the site's; the file's own zone,
``data_tz``, is converted to it) and the sessions' arrival profile. It warns when the profile looks
like another kind of place than the fitted one (the rule of
:func:`v2gsim.behavior.place_calibration.arrival_profile`), or when the hours are not the site's
local clock hours.
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
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior import place_calibration
from v2gsim.behavior.persistency.socp import PersistencyModel
from v2gsim.behavior.place_calibration import (
    MORNING_HOURS,
    WORKPLACE_MORNING_SHARE,
    PlaceCalibration,
    arrival_profile,
    place_arcs,
)
from v2gsim.behavior.sessions import PlugFrequency, hourly_plug_stats, read_sessions
from v2gsim.behavior.sessions.readers import SOURCE_ZONES, detect_source
from v2gsim.config import NetworkConfig, Scenario, load_scenario
from v2gsim.config.base import expand_hourly
from v2gsim.core.network import ActivityNetwork, build_network
from v2gsim.specs.build import network_template

__all__ = [
    "PLACE_KINDS",
    "calibrate_place",
    "calibrate_scenario",
    "format_report",
    "place_kind",
    "scenario_toml",
]

#: Kind of a network place by its (lower-case) name, for the arrival-profile check; places with
#: other names are not checked.
PLACE_KINDS: dict[str, str] = {
    "home": "home", "house": "home", "residence": "home",
    "work": "workplace", "workplace": "workplace", "office": "workplace",
}


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


def place_kind(place: str) -> str | None:
    """The kind of a network place by its name (:data:`PLACE_KINDS`), or None when unknown."""
    return PLACE_KINDS.get(place.strip().lower())


def _context(sessions: pd.DataFrame, place: str, place_given: bool, data_tz_given: bool) -> dict[str, Any]:
    """The place, clock and arrival-profile parts of the report, with the warnings they raise.

    Two documented rules warn: the sessions' arrival profile
    (:func:`v2gsim.behavior.place_calibration.arrival_profile`) looks like another kind of place than
    the fitted one (:func:`place_kind`; places of unknown kind are not checked), and the clock hours
    are counted in another zone than the site's local one.
    """
    src = str(sessions.attrs["source"])
    zones = SOURCE_ZONES[src]
    tz, data_tz = str(sessions.attrs["timezone"]), str(sessions.attrs["data_timezone"])
    stated = bool(sessions.attrs["timezone_stated"])
    origin = ("given" if data_tz_given else "stated by the source" if stated
              else "assumed: not stated by the source")
    used = sessions[sessions["plug_out"] > sessions["plug_in"]]
    prof = arrival_profile(used["plug_in"].dt.hour.to_numpy())
    lo, hi = MORNING_HOURS
    warnings = []
    kind = place_kind(place)
    if kind is not None and kind != prof.looks_like:
        warnings.append(
            f"the sessions look like a {prof.looks_like}'s, not a {kind}'s: "
            f"{100 * prof.morning_share:.1f} % of them plug in between {lo:02d}:00 and {hi:02d}:00 "
            f"({tz}), and the rule calls >= {100 * WORKPLACE_MORNING_SHARE:.0f} % a workplace (home "
            f"chargers: about 4 %), yet they are fitted at {place!r}. Check --place"
            + ("." if stated or data_tz_given else f", and the time zone: the file's zone ({data_tz}) "
               "is an assumption; give --data-tz if its times are another zone's clock."))
    if tz != zones.local_tz:
        warnings.append(f"clock hours are counted in {tz}, not in the site's local zone "
                        f"{zones.local_tz}; the network's hours are local clock hours.")
    return {
        "place_origin": "given" if place_given else f"default for {src} sessions",
        "timezone": {"local": tz, "data": data_tz, "data_origin": origin, "site": zones.local_tz,
                     "source_note": zones.note},
        "arrival_profile": {"counts": prof.counts.tolist(), "morning_hours": [lo, hi],
                            "morning_share": prof.morning_share, "threshold": WORKPLACE_MORNING_SHARE,
                            "looks_like": prof.looks_like, "place_kind": kind},
        "warnings": warnings,
    }


def _header_comments(
    sessions_path: str | Path, src_name: str, stats: PlugFrequency, cal: PlaceCalibration,
    options: Mapping[str, Any], context: Mapping[str, Any], charger_enabled: bool,
) -> list[str]:
    """The ``#`` lines at the top of the written scenario (provenance, place, clock, fit, warnings)."""
    place, tzi = options["place"], context["timezone"]
    return [
        f"Written by v2gsim.studies.calibrate.calibrate_scenario, "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        f"Sessions: {Path(sessions_path).resolve()} ({src_name}; rule={options['rule']}, "
        f"days={options['days']}, max_gap_days={options['max_gap_days']}; {stats.n_sessions} sessions, "
        f"{stats.n_units} vehicles, {stats.n_days} vehicle-days).",
        f"Fitted place {place!r} ({context['place_origin']}); clock hours in {tzi['local']} "
        f"(file times in {tzi['data']}, {tzi['data_origin']}).",
        f"Only [[network.places]] {place!r}.plug_utility differs from the base"
        + (" (and charger = true)." if charger_enabled else "."),
        f"Calibration epsilon = {cal.epsilon:.3e}; clipped hours: {sorted(cal.clipped) or 'none'}.",
        *(f"WARNING: {w}" for w in context["warnings"]),
    ]


def _report(
    cal: PlaceCalibration, stats: PlugFrequency, model_y: NDArray, hours: int, info: dict[str, Any],
) -> dict[str, Any]:
    """The JSON report of :func:`calibrate_scenario` (``info``: paths, options, flags, context)."""
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
        "place_origin": info["place_origin"],
        "timezone": info["timezone"],
        "arrival_profile": info["arrival_profile"],
        "warnings": info["warnings"],
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


def _write_scenario(
    out_path: Path, scenario_path: Path, base: Scenario, data: dict, pdata: dict, cal: PlaceCalibration,
    hours: int, text: Mapping[str, Any],
) -> tuple[list[float], list[float]]:
    """Write the calibrated scenario: the full places array with the place's ``plug_utility`` replaced.

    Hours without a plug arc at the place keep the configured value. ``text`` holds ``name``,
    ``description`` (None: the defaults) and the header ``comments``.

    Returns:
        ``(plug_utility, plug_utility_base)``: the written and the configured 24 values ($/h).
    """
    configured = np.array(expand_hourly(pdata["plug_utility"], hours, "plug_utility"))
    pu = np.where(np.isnan(cal.plug_utility), configured, cal.plug_utility)
    pdata["plug_utility"] = [float(v) for v in pu]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(scenario_path.resolve(), out_path.parent.resolve())
    name = text["name"] or f"{base.name}-calibrated-{pdata['name']}"
    out_path.write_text(scenario_toml(rel, name, text["description"], data["places"], text["comments"]),
                        encoding="utf-8")
    return [float(v) for v in pu], [float(v) for v in configured]


def calibrate_scenario(
    sessions_path: str | Path,
    scenario_path: str | Path,
    out_path: str | Path,
    *,
    place: str | None = None,
    source: Literal["evwatts", "acn", "auto"] = "auto",
    tz: str | None = None,
    data_tz: str | None = None,
    rule: Literal["half", "any", "fraction"] = "half",
    days: Literal["window", "active"] = "window",
    max_gap_days: float | None = 14.0,
    name: str | None = None,
    description: str | None = None,
    delta: float = 1e-3,
) -> dict[str, Any]:
    """Calibrate a scenario's plug-in utilities at ``place`` to real sessions and write it.

    Steps: read the sessions (:func:`v2gsim.behavior.sessions.read_sessions`, times converted to the
    ``tz`` clock), compute ŷ_t (:func:`v2gsim.behavior.sessions.hourly_plug_stats`), calibrate
    (:func:`calibrate_place`), write ``out_path`` (extends ``scenario_path``; full
    ``[[network.places]]`` array with the place's ``plug_utility`` replaced by 24 calibrated values,
    and ``charger = true`` if the place had none), load the written scenario, re-solve the
    persistency model and compare. The arrival-profile and time-zone rules of :func:`_context` add
    ``warnings``.

    Args:
        sessions_path: session CSV (EV WATTS or ACN-Data flat format).
        scenario_path: base scenario TOML.
        out_path: TOML file to write (folders are created).
        place: place of the network whose plug-in utilities are calibrated (default: the source's
            place, ``SOURCE_ZONES[source].place``: ``home`` for EV WATTS, ``work`` for ACN-Data).
        source: session format, ``"auto"`` detects it.
        tz: IANA zone whose clock hours are counted (default: the site's, e.g. America/Chicago).
        data_tz: IANA zone of the file's timestamps (default: the source's; EV WATTS: UTC, assumed).
        rule, days, max_gap_days: frequency definition (:mod:`v2gsim.behavior.sessions`).
        name: scenario name (default ``<base>-calibrated-<place>``).
        description: scenario description (default names the data, the clock and the fit).
        delta: relative margin of the stay/plug split (:func:`calibrate_place`).

    Returns:
        The report (JSON-serialisable dict): ``hours``, ``observed``, ``model``, ``abs_error``
        (per hour, from the written and re-loaded scenario), ``max_abs_error``,
        ``mean_abs_error``, the same over unclipped hours, ``clipped_hours`` (hour → reason),
        ``epsilon`` ($), ``status`` (``"ok"``, ``"clipped"`` or ``"not_converged"``),
        ``plug_utility`` and ``plug_utility_base`` ($/h), ``place``, ``place_origin``,
        ``timezone``, ``arrival_profile``, ``warnings``, the session statistics and paths.

    Raises:
        ValueError: unknown place, clustered scenario, unknown time zone, or bad sessions (file and
            columns named).
    """
    scenario_path, out_path = Path(scenario_path), Path(out_path)
    src = detect_source(sessions_path) if source == "auto" else source
    if src not in SOURCE_ZONES:
        raise ValueError(f"unknown session source {source!r}; allowed: evwatts, acn, auto")
    fitted = SOURCE_ZONES[src].place if place is None else place
    base, netcfg, data, pdata, charger_enabled = _base_network(scenario_path, fitted)
    sessions = read_sessions(sessions_path, src, tz=tz, data_tz=data_tz)
    context = _context(sessions, fitted, place is not None, data_tz is not None)
    stats = hourly_plug_stats(sessions, netcfg.hours, rule=rule, days=days, max_gap_days=max_gap_days)
    cal = calibrate_place(netcfg, stats.freq, fitted, delta=delta)
    options = {"place": fitted, "rule": rule, "days": days, "max_gap_days": max_gap_days}
    description = description or (
        f"{base.name} with the hourly plug-in utilities at {fitted} calibrated to "
        f"{Path(sessions_path).name} ({src}, {stats.n_days} vehicle-days, clock hours in "
        f"{context['timezone']['local']}).")
    comments = _header_comments(sessions_path, src, stats, cal, options, context, charger_enabled)
    pu, configured = _write_scenario(out_path, scenario_path, base, data, pdata, cal, netcfg.hours,
                                     {"name": name, "description": description, "comments": comments})
    model_y, _ = _plug_y(load_scenario(out_path).network, fitted)  # verify on the written file
    info = {
        **options, **context, "sessions": str(Path(sessions_path)), "source": src,
        "scenario": str(scenario_path), "out": str(out_path), "charger_enabled": charger_enabled,
        "plug_utility": pu, "plug_utility_base": configured,
    }
    return _report(cal, stats, model_y, netcfg.hours, info)


def _context_lines(report: Mapping[str, Any]) -> list[str]:
    """The place, clock and arrival lines of :func:`format_report` (and its warnings)."""
    tzi, prof = report["timezone"], report["arrival_profile"]
    lo, hi = prof["morning_hours"]
    return [
        f"place     {report['place']!r} ({report['place_origin']})",
        f"clock     hours in {tzi['local']} (file times in {tzi['data']}, {tzi['data_origin']})",
        f"arrivals  {100 * prof['morning_share']:.1f} % plug in between {lo:02d}:00 and {hi:02d}:00: "
        f"they look like a {prof['looks_like']}'s (rule: a workplace from {100 * prof['threshold']:.0f} %)",
        *(f"WARNING: {w}" for w in report["warnings"]),
    ]


def format_report(report: Mapping[str, Any]) -> str:
    """Human-readable text of a :func:`calibrate_scenario` report.

    Args:
        report: the dict returned by :func:`calibrate_scenario`.

    Returns:
        Multi-line text: header (the fitted place, the clock's time zone, the arrival profile and
        any warnings), one row per hour (observed, model, error, plug utility before and after),
        and the fit summary.
    """
    fq = report["frequency"]
    n_warn = len(report["warnings"])
    lines = [
        f"calibration of plug-in utilities at {report['place']!r}: status {report['status']}"
        + (f", {n_warn} warning(s) below" if n_warn else ""),
        f"sessions  {report['sessions']} ({report['source']}; {fq['n_sessions']} sessions, "
        f"{fq['n_units']} vehicles, {fq['n_days']} vehicle-days; rule={fq['rule']}, "
        f"days={fq['days']}, max_gap_days={fq['max_gap_days']})",
        f"scenario  {report['scenario']} -> {report['out']}"
        + ("  (charger enabled)" if report.get("charger_enabled") else ""),
        *_context_lines(report),
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

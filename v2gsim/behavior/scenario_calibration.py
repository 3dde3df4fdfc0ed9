"""Calibrate a scenario's hourly plug-in utilities from real sessions (models.md §1.3, C1-C4).

The data (:mod:`v2gsim.behavior.sessions`) give only the hourly plug-in frequencies ŷ_t at one
place, not a frequency for every arc of the activity network, while the inverse optimisation
(C1)-(C3) (:func:`v2gsim.behavior.calibration.calibrate`) needs a full feasible flow ŷ. The flow is
completed from the scenario's own persistency model and the calibration uses the scenario's own
parameterisation, so the result maps back exactly onto the scenario format:

* **Completion.** Solve the persistency model (D2, Newton on D4) for the current utilities; keep
  ``y_a`` on every arc except the parallel stay/plug pair of ``place`` in each hour t; split the
  pair's total flow ``F_t = y_stay,t + y_plug,t`` (drivers at the place in hour t) as
  ``ŷ_plug,t = clip(ŷ_t, δF_t, (1−δ)F_t)`` and ``ŷ_stay,t = F_t − ŷ_plug,t``. The result is a
  feasible flow (``B ŷ = f``). Hours where ŷ_t had to be clipped are reported.
* **Parameterisation (C4).** σ known (the scenario's); μ fixed at the scenario's values
  (``mu_offset``) on every arc except the plug arcs of ``place``: one free mean per hour
  (``mu_map``). σ known fixes the scale and the fixed μ fix the node-potential gauge, so ŷ
  identifies the 24 plug means (:func:`v2gsim.behavior.calibration.identification` confirms
  ``param_null_dim = 0``). The scenario field is ``plug_utility_t = μ_plug,t − μ_stay,t``.
* **Fixed point.** Moving the plug utilities moves drivers between places, so the completed ŷ of
  the *original* utilities is not exactly reproducible (its ε > 0 wherever the split changes the
  potential differences along the place's chain of nodes). The completion is therefore repeated
  with the calibrated utilities (complete → calibrate → re-solve) until the model's plug-in
  persistency equals the observation; this converges in a few rounds. A damped Newton step on the
  forward map θ ↦ y_plug(θ) (Jacobian ``D − D Bᵀ (B D Bᵀ)⁻¹ B D`` with ``D = diag(σ²/(2h³))``, the
  implicit derivative of D3 under flow conservation) then removes the interior-point solver's
  residual error, and a last calibration on the completion of the final model certifies the result
  with its duality gap ε (≈ 0 when ŷ is reproduced exactly).

:func:`calibrate_scenario` reads the sessions, calibrates, writes a TOML scenario that ``extends``
the given one and overrides only the place's ``plug_utility`` (the whole ``[[network.places]]``
array is written, since arrays of tables replace as a whole in ``extends`` merging), then loads the
written file, re-solves the persistency model and reports the fit. :func:`format_report` prints it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.calibration import calibrate
from v2gsim.behavior.persistency import PersistencyModel, PersistencyResult
from v2gsim.behavior.sessions import hourly_plug_stats, read_sessions
from v2gsim.config import NetworkConfig, Scenario, load_scenario
from v2gsim.config.base import expand_hourly as _hourly
from v2gsim.config.build import network_template
from v2gsim.network import PLUG, STAY, ActivityNetwork, build_network

__all__ = [
    "PlaceCalibration",
    "calibrate_place",
    "calibrate_scenario",
    "format_report",
    "place_arcs",
    "plug_jacobian",
    "scenario_toml",
]


@dataclass(frozen=True)
class PlaceCalibration:
    """Calibrated hourly plug-in utilities of one place.

    Attributes:
        place: the place name.
        hours: (n,) clock hours that have a plug arc at the place (the calibrated hours).
        observed: (T,) observed plug-in frequencies ŷ_t (-), as given.
        target: (T,) ŷ_t clipped into what the network allows (used in the completion) (-).
        model_y: (T,) plug-in persistency of the calibrated model at the place (0 where no plug arc).
        plug_utility: (T,) calibrated ``μ_plug − μ_stay`` ($/h); the base value where no plug arc.
        plug_utility_base: (T,) the scenario's ``plug_utility`` ($/h).
        mu: (n_arcs,) calibrated arc means ($).
        epsilon: ε of (C1)-(C3) for the completed ŷ of the calibrated model ($).
        clipped: hour → reason (``"no_plug_arc"``, ``"above_flow"``, ``"below_floor"``).
        iterations: completion rounds (fixed point) and Newton steps used.
        converged: whether ``max |model_y − target| ≤ tol`` on the calibrated hours.
        solver_status: status of the last calibration SOCP.
        identified: whether the parameterisation identifies the plug means (C4).
        result: the persistency solution of the calibrated model.
    """

    place: str
    hours: NDArray[np.int64]
    observed: NDArray[np.float64]
    target: NDArray[np.float64]
    model_y: NDArray[np.float64]
    plug_utility: NDArray[np.float64]
    plug_utility_base: NDArray[np.float64]
    mu: NDArray[np.float64]
    epsilon: float
    clipped: dict[int, str]
    iterations: dict[str, int]
    converged: bool
    solver_status: str
    identified: bool
    result: PersistencyResult


def place_arcs(
    net: ActivityNetwork, place: str
) -> tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.intp]]:
    """The parallel stay and plug arcs of ``place`` per clock hour.

    Args:
        net: an activity network built by :func:`v2gsim.network.build_network`.
        place: place name.

    Returns:
        ``(hours, stay, plug)``: the hours that have a plug arc at the place and, for each, the stay
        and the plug arc (same tail and head).

    Raises:
        ValueError: unknown place, or a place without plug arcs.
    """
    if place not in net.place_names:
        raise ValueError(f"place {place!r} is not in the network; places: {list(net.place_names)}")
    p = net.place_names.index(place)
    hours, stay, plug = [], [], []
    for h in range(net.hours):
        pa = np.flatnonzero((net.kind == PLUG) & (net.place == p) & (net.hour == h))
        if len(pa) == 0:
            continue
        if len(pa) != 1:
            raise ValueError(f"place {place!r} has {len(pa)} plug arcs in hour {h}; expected one")
        sa = np.flatnonzero(
            (net.kind == STAY) & (net.tail == net.tail[pa[0]]) & (net.head == net.head[pa[0]])
        )
        if len(sa) != 1:
            raise ValueError(f"place {place!r}, hour {h}: no stay arc parallel to the plug arc")
        hours.append(h)
        stay.append(int(sa[0]))
        plug.append(int(pa[0]))
    if not hours:
        raise ValueError(f"place {place!r} has no plug-in arcs (charger = false?)")
    return np.asarray(hours, np.int64), np.asarray(stay, np.intp), np.asarray(plug, np.intp)


def plug_jacobian(
    model: PersistencyModel, result: PersistencyResult, sigma: NDArray, arcs: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Derivative of the persistencies of ``arcs`` with respect to their own means, ∂y/∂μ.

    From (D3), ``y_a = ½(1 + λ_a/h_a)`` with ``h_a = √(λ_a²+σ_a²)``, so ``∂y_a/∂λ_a = d_a =
    σ_a²/(2h_a³)``; with ``λ = μ − Bᵀρ`` and flow conservation ``B y = f`` held fixed,
    ``∂ρ/∂μ = (B D Bᵀ)⁻¹ B D`` and ``∂y/∂μ = D − D Bᵀ (B D Bᵀ)⁻¹ B D`` (sink row of B removed;
    arcs whose y is fixed by the network get ``d_a = 0``; a pseudo-inverse handles the singular
    directions this leaves).

    Args:
        model: the persistency model (its network arrays).
        result: a solution (its reduced utilities ``lam``).
        sigma: (n_arcs,) standard deviations used in the solve ($).
        arcs: the arcs (rows and columns of the returned block).

    Returns:
        (len(arcs), len(arcs)) Jacobian (1/$).
    """
    net = model.net
    lam = result.lam
    h = np.hypot(lam, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(h > 0, sigma**2 / (2.0 * h**3), 0.0)
    d = np.where(net.free, d, 0.0)
    Bk = net.B[net.keep]
    BD = Bk * d[None, :]
    L = BD @ Bk.T
    X = sla.lstsq(L, BD[:, arcs], lapack_driver="gelsd")[0]  # (B D Bᵀ)⁺ B D[:, arcs]
    J = -(BD[:, arcs].T @ X)  # − D Bᵀ L⁺ B D restricted to arcs
    J[np.diag_indices_from(J)] += d[arcs]
    return J


def _complete(
    y: NDArray, stay: NDArray, plug: NDArray, target: NDArray, delta: float
) -> tuple[NDArray, NDArray[np.bool_], NDArray[np.bool_]]:
    """Completed flow ŷ: the model's y, with each stay/plug pair split by the target."""
    F = y[stay] + y[plug]
    lo, hi = delta * F, (1.0 - delta) * F
    yp = np.clip(target, lo, hi)
    yh = y.copy()
    yh[plug] = yp
    yh[stay] = F - yp
    return yh, target > hi + 1e-12, target < lo - 1e-12


def calibrate_place(
    network: NetworkConfig | ActivityNetwork,
    observed: ArrayLike,
    place: str = "home",
    *,
    delta: float = 1e-3,
    tol: float = 1e-8,
    max_rounds: int = 30,
    max_newton: int = 30,
    max_step: float = 2.0,
) -> PlaceCalibration:
    """Calibrate the hourly plug-in means of one place to observed frequencies (C1-C4).

    See the module docstring for the completion, the parameterisation and the fixed point.

    Args:
        network: a scenario's ``[network]`` template, or a built network (its ``mu``, ``sigma``
            are the scenario utilities).
        observed: (T,) observed hourly plug-in frequencies ŷ_t at ``place`` (-).
        place: the place whose plug-in utilities are calibrated.
        delta: relative margin of the split: ``δF_t ≤ ŷ_plug,t ≤ (1−δ)F_t`` keeps ŷ interior
            (an arc at 0 or 1 would need σ = 0 there, which the known σ excludes).
        tol: convergence tolerance on ``max |y_plug − target|`` (-).
        max_rounds: completion/calibration rounds (fixed point).
        max_newton: Newton steps on the forward map after the rounds.
        max_step: largest change of one plug mean per Newton step ($).

    Returns:
        The :class:`PlaceCalibration`.

    Raises:
        ValueError: bad ``observed`` shape/values or a place without plug arcs.
        PersistencySolveError: a persistency or calibration solve failed.
    """
    net = build_network(network_template(network)) if isinstance(network, NetworkConfig) else network
    T = net.hours
    obs = np.asarray(observed, dtype=float).ravel()
    if obs.shape != (T,):
        raise ValueError(f"observed must have {T} values (one per hour), got {obs.shape}")
    if not np.all(np.isfinite(obs)) or np.any(obs < 0) or np.any(obs > 1):
        raise ValueError("observed frequencies must lie in [0, 1]")
    if not 0 < delta < 0.5:
        raise ValueError("delta must be in (0, 0.5)")
    hours, stay, plug = place_arcs(net, place)
    B, f, sigma = net.incidence, net.supply, net.sigma
    model = PersistencyModel(B, f, method="newton")
    target = np.clip(obs[hours], delta, 1.0 - delta)
    mu_map = np.zeros((net.n_arcs, len(hours)))
    mu_map[plug, np.arange(len(hours))] = 1.0
    mu_offset = net.mu.copy()
    mu_offset[plug] = 0.0

    mu = net.mu.copy()
    res = model.solve(mu, sigma)
    err = float(np.abs(res.y[plug] - target).max())
    rounds = 0
    best = (err, mu.copy(), res)
    stall = 0
    # fixed point: complete at the current model, calibrate (C1)-(C3), re-solve
    while err > tol and rounds < max_rounds:
        yh, _, _ = _complete(res.y, stay, plug, target, delta)
        cal = calibrate(B, f, yh, mu_map=mu_map, mu_offset=mu_offset, sigma=sigma)
        mu = cal.mu
        res = model.solve(mu, sigma)
        rounds += 1
        err = float(np.abs(res.y[plug] - target).max())
        if err < 0.5 * best[0]:
            stall = 0
        else:
            stall += 1
        if err < best[0]:
            best = (err, mu.copy(), res)
        if stall >= 2:
            break
    err, mu, res = best
    # Newton on the forward map theta -> y_plug(theta) (removes the SOCP's residual error)
    steps = 0
    while err > tol and steps < max_newton:
        g = res.y[plug] - target
        J = plug_jacobian(model, res, sigma, plug)
        step = -sla.lstsq(J, g, lapack_driver="gelsd")[0]
        big = np.abs(step).max()
        if big > max_step:
            step *= max_step / big
        t = 1.0
        improved = False
        for _ in range(30):
            mu_try = mu.copy()
            mu_try[plug] += t * step
            res_try = model.solve(mu_try, sigma)
            err_try = float(np.abs(res_try.y[plug] - target).max())
            if err_try < err:
                mu, res, err, improved = mu_try, res_try, err_try, True
                break
            t *= 0.5
        steps += 1
        if not improved:
            break
    # certificate: calibrate on the completion of the final model
    yh, above, below = _complete(res.y, stay, plug, target, delta)
    cal = calibrate(B, f, yh, mu_map=mu_map, mu_offset=mu_offset, sigma=sigma)
    clipped: dict[int, str] = {}
    for k, h in enumerate(hours):
        if above[k] or obs[h] > 1.0 - delta:
            clipped[int(h)] = "above_flow"
        elif below[k] or obs[h] < delta:
            clipped[int(h)] = "below_floor"
    for h in sorted(set(range(T)) - set(hours.tolist())):
        if obs[h] > 0:
            clipped[int(h)] = "no_plug_arc"
    base_pu = np.zeros(T)
    pu = np.zeros(T)
    pidx = net.place_names.index(place)
    for h in range(T):
        sa = np.flatnonzero((net.kind == STAY) & (net.place == pidx) & (net.hour == h))
        pa = np.flatnonzero((net.kind == PLUG) & (net.place == pidx) & (net.hour == h))
        if len(sa) and len(pa):
            base_pu[h] = net.mu[pa[0]] - net.mu[sa[0]]
            pu[h] = mu[pa[0]] - mu[sa[0]]
        else:
            base_pu[h] = pu[h] = np.nan
    model_y = np.zeros(T)
    model_y[hours] = res.y[plug]
    full_target = obs.copy()
    full_target[hours] = target
    return PlaceCalibration(
        place=place,
        hours=hours,
        observed=obs,
        target=full_target,
        model_y=model_y,
        plug_utility=pu,
        plug_utility_base=base_pu,
        mu=mu,
        epsilon=float(cal.epsilon),
        clipped=clipped,
        iterations={"rounds": rounds, "newton": steps},
        converged=bool(err <= tol),
        solver_status=cal.status,
        identified=bool(cal.identification.identified),
        result=res,
    )


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

    sessions = read_sessions(sessions_path, source)
    stats = hourly_plug_stats(
        sessions, netcfg.hours, rule=rule, days=days, max_gap_days=max_gap_days
    )
    cal = calibrate_place(netcfg, stats.freq, place, delta=delta)

    # --- write: full places array, only the calibrated field (and the charger flag) changed
    # hours without a plug arc at the place keep the configured value
    configured = np.array(_hourly(pdata["plug_utility"], netcfg.hours, "plug_utility"))
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
    comments = [
        f"Written by v2gsim.behavior.scenario_calibration.calibrate_scenario, "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        f"Sessions: {Path(sessions_path).resolve()} ({src_name}; rule={rule}, days={days}, "
        f"max_gap_days={max_gap_days}; {stats.n_sessions} sessions, {stats.n_units} vehicles, "
        f"{stats.n_days} vehicle-days).",
        f"Only [[network.places]] {place!r}.plug_utility differs from the base"
        + (" (and charger = true)." if charger_enabled else "."),
        f"Calibration epsilon = {cal.epsilon:.3e}; clipped hours: {sorted(cal.clipped) or 'none'}.",
    ]
    out_path.write_text(scenario_toml(rel, name, description, data["places"], comments), encoding="utf-8")

    # --- verify on the written file
    written = load_scenario(out_path)
    model_y, _ = _plug_y(written.network, place)
    obs = stats.freq
    err = np.abs(model_y - obs)
    unclipped = np.array([h not in cal.clipped for h in range(netcfg.hours)])
    if not cal.converged:
        status = "not_converged"
    elif cal.clipped:
        status = "clipped"
    else:
        status = "ok"
    return {
        "status": status,
        "place": place,
        "sessions": str(Path(sessions_path)),
        "source": src_name,
        "scenario": str(scenario_path),
        "out": str(out_path),
        "frequency": {
            "rule": rule,
            "days": days,
            "max_gap_days": max_gap_days,
            "unit": stats.unit,
            "n_sessions": stats.n_sessions,
            "n_dropped": stats.n_dropped,
            "n_units": stats.n_units,
            "n_days": stats.n_days,
        },
        "hours": list(range(netcfg.hours)),
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
        "charger_enabled": charger_enabled,
        "plug_utility": [float(v) for v in pu],
        "plug_utility_base": [float(v) for v in configured],
    }


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

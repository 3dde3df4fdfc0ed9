"""Basins, separatrix and convergence times of the EV/PG replicator dynamics (seed 001).

Integrations of (7), (11) (``docs/models.md`` §2.2): the stable manifold of the saddle D (the
boundary between the basins of O and C), the basin of cooperation C(1, 1), and the time to reach a
stable equilibrium, one system at a time (``solve_ivp``, exact event times) or many at once
(:func:`batch_first_hit`: DOP853 on the stacked field, hit times interpolated inside each step).
Time in replicator time units, shares in [0, 1]. Pure numpy/scipy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import DOP853, solve_ivp

from v2gsim.game.params import GameParams, as_params
from v2gsim.game.replicator import (
    check_share,
    ev_rate,
    factored_field,
    factored_field_jacobian,
    field_coefficients,
    pg_rate,
)
from v2gsim.game.stability import CORNERS, jacobian, saddle_point, stable_corners

__all__ = [
    "Margin",
    "basin_of_cooperation",
    "batch_first_hit",
    "convergence_time",
    "convergence_time_grid",
    "separatrix",
]

#: Stopping margin of a batch integration: ``margin(x, y, idx)`` of systems ``idx`` at ``(x, y)``.
Margin = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]], NDArray[np.float64]]


# ----------------------------------------------------------------------------------------------
# Batch integration: many replicator systems at once until each first hits its margin
# ----------------------------------------------------------------------------------------------


def _stacked_field(
    a: NDArray[np.float64], lev: NDArray[np.float64], b: NDArray[np.float64], c: NDArray[np.float64]
) -> Callable[[float, NDArray[np.float64]], NDArray[np.float64]]:
    """The field (7), (11) of ``k`` independent systems on the stacked state ``[x_1..x_k, y_1..y_k]``."""
    k = a.size

    def rhs(_t: float, z: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = z[:k], z[k:]
        return np.concatenate([ev_rate(x, y, a, lev), pg_rate(x, y, b, c)])

    return rhs


def _locate_hits(
    solver: DOP853, sel: NDArray[np.intp], active: NDArray[np.intp], margin: Margin, n_sub: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Hit times and states of the systems ``active[sel]`` whose margin crossed 0 in the last step.

    Samples the step's dense output at ``n_sub + 1`` points and interpolates the margin linearly
    between the last positive and the first non-positive sample.
    """
    k = active.size
    dense = solver.dense_output()
    ts = np.linspace(solver.t_old, solver.t, n_sub + 1)
    zz = dense(ts)  # (2k, n_sub + 1)
    xs, ys = zz[:k][sel], zz[k:][sel]
    ms = margin(xs.ravel(), ys.ravel(), np.repeat(active[sel], n_sub + 1)).reshape(xs.shape)
    ms[:, -1] = np.minimum(ms[:, -1], 0.0)
    j = np.argmax(ms <= 0, axis=1)
    j = np.maximum(j, 1)
    rows = np.arange(sel.size)
    m_lo, m_hi = ms[rows, j - 1], ms[rows, j]
    frac = np.where(m_lo > m_hi, m_lo / np.where(m_lo > m_hi, m_lo - m_hi, 1), 1.0)
    frac = np.clip(frac, 0.0, 1.0)
    return ts[j - 1] + frac * (ts[j] - ts[j - 1]), xs[rows, j], ys[rows, j]


def _run_block(
    solver: DOP853,
    active: NDArray[np.intp],
    margin: Margin,
    n_sub: int,
    out: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
) -> NDArray[np.bool_]:
    """Step ``solver`` (the systems ``active``) until all hit, more than half hit, or it finishes.

    Writes hit times and states into ``out = (t_hit, x_end, y_end)`` (indexed by system) and
    returns the mask of the block's systems still running.
    """
    t_hit, x_end, y_end = out
    k = active.size
    alive = np.ones(k, dtype=bool)
    while solver.status == "running":
        solver.step()
        z = solver.y
        x_end[active[alive]] = z[:k][alive]
        y_end[active[alive]] = z[k:][alive]
        m = margin(z[:k], z[k:], active)
        new = alive & (m <= 0)
        if new.any():
            sel = np.flatnonzero(new)
            t_hit[active[sel]], x_end[active[sel]], y_end[active[sel]] = _locate_hits(
                solver, sel, active, margin, n_sub
            )
            alive[sel] = False
        if not alive.any():
            break
        if alive.sum() < 0.5 * k and k > 32:
            break  # restart with the survivors only
    if solver.status == "failed":  # pragma: no cover
        raise RuntimeError("replicator batch integration failed")
    return alive


def batch_first_hit(
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    coef: dict[str, NDArray[np.float64]],
    margin: Margin,
    t_max: float,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    n_sub: int = 64,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Integrate many replicator systems at once until ``margin <= 0`` for each (first hit).

    ``coef`` holds per-system arrays ``a, lev, b, c`` of the factored field (7), (11).
    ``margin(x, y, idx)`` evaluates the stopping margin of systems ``idx`` at states ``(x, y)``.
    Returns the hit time (inf if not reached by ``t_max``) and the state at that time (or at
    ``t_max``). Hit times are located inside each step from DOP853's dense output by sampling and
    linear interpolation of the margin. Finished systems are dropped by restarting the solver.
    """
    n = x0.size
    t_hit = np.full(n, np.inf)
    x_end = x0.astype(float).copy()
    y_end = y0.astype(float).copy()
    all_idx = np.arange(n)
    m0 = margin(x_end, y_end, all_idx)
    t_hit[m0 <= 0] = 0.0
    active = all_idx[m0 > 0]
    t0 = 0.0
    first_step = None
    while active.size and t0 < t_max:
        rhs = _stacked_field(*(coef[k][active] for k in ("a", "lev", "b", "c")))
        z0 = np.concatenate([x_end[active], y_end[active]])
        solver = DOP853(rhs, t0, z0, t_max, rtol=rtol, atol=atol, first_step=first_step)
        alive = _run_block(solver, active, margin, n_sub, (t_hit, x_end, y_end))
        t0 = solver.t
        first_step = min(solver.step_size, t_max - t0) if solver.step_size else None
        first_step = first_step if first_step and first_step > 0 else None
        active = active[alive]
        if solver.status == "finished":
            break
    return t_hit, x_end, y_end


def _coef_arrays(ps: list[GameParams], index: NDArray[np.intp]) -> dict[str, NDArray[np.float64]]:
    """Per-system coefficients ``a, lev, b, c`` of (7), (11): ``ps[index[i]]`` for system ``i``."""
    table = np.array([field_coefficients(q) for q in ps])[index]
    return {"a": table[:, 0], "lev": table[:, 1], "b": table[:, 2], "c": table[:, 3]}


def _corner_gap(x: float, y: float, cx: float, cy: float) -> float:
    """Max-norm distance of the state ``(x, y)`` to the corner ``(cx, cy)``."""
    return max(abs(x - cx), abs(y - cy))


def _corner_distances(x: Any, y: Any, cx: Any, cy: Any) -> Any:
    """Max-norm distances of the states ``(x[i], y[i])`` to the corners ``(cx[j], cy[j])``, (n, m)."""
    return np.maximum(np.abs(x[:, None] - cx), np.abs(y[:, None] - cy))


# ----------------------------------------------------------------------------------------------
# Separatrix, basin of cooperation, convergence times
# ----------------------------------------------------------------------------------------------


def separatrix(
    params: GameParams | Mapping[str, Any], corner_tol: float = 1e-7
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Stable manifold of the saddle D: the boundary between the basins of O and C.

    Integrates (7), (11) backwards in time from D along the stable eigenvector of the Jacobian, in
    both directions, until within ``corner_tol`` of the sources A(1,0) and B(0,1) (the edges are
    invariant, so the manifold runs A -> D -> B, as the seed's regions ADBO / ADBC describe).

    Returns:
        ``(x, y)`` arrays ordered from A through D to B (endpoints A and B included), or None when
        D is not inside the unit square.
    """
    p = as_params(params)
    d = saddle_point(p)
    if d is None:
        return None
    j = jacobian(d[0], d[1], p)
    w, v = np.linalg.eig(j)
    if np.iscomplexobj(w) and np.any(w.imag != 0):  # pragma: no cover - not a saddle
        return None
    k = int(np.argmin(w.real))
    vec = np.real(v[:, k])
    vec = vec / np.linalg.norm(vec)
    if vec[0] < 0:
        vec = -vec  # now points towards larger x (and smaller y): the A branch
    t_end = -200.0 / max(float(np.min(np.abs(w.real))), 1e-3) - 50.0
    branches = []
    for sign, corner in ((1.0, (1.0, 0.0)), (-1.0, (0.0, 1.0))):
        start = np.array(d) + sign * 1e-7 * vec

        def near(_t: float, z: NDArray[np.float64], *_args: float, corner=corner) -> float:
            return _corner_gap(z[0], z[1], *corner) - corner_tol

        near.terminal = True  # type: ignore[attr-defined]
        sol = solve_ivp(
            factored_field,
            (0.0, t_end),
            start,
            method="LSODA",
            jac=factored_field_jacobian,
            args=field_coefficients(p),
            rtol=1e-10,
            atol=1e-13,
            events=near,
        )
        branch = np.clip(sol.y, 0.0, 1.0)
        branches.append(np.column_stack([branch, np.array(corner)]))
    a_branch, b_branch = branches
    xs = np.concatenate([a_branch[0, ::-1], [d[0]], b_branch[0]])
    ys = np.concatenate([a_branch[1, ::-1], [d[1]], b_branch[1]])
    return xs, ys


def basin_of_cooperation(
    params: GameParams | Mapping[str, Any],
    n: int = 101,
    method: str = "grid",
    t_max: float = 2000.0,
) -> float:
    """Fraction of the unit square of initial shares ``(x0, y0)`` that converges to C(1, 1).

    Args:
        params: game parameters.
        n: grid resolution for ``method="grid"``: the midpoints of an ``n x n`` partition of the
            unit square are integrated under (7), (11).
        method: ``"grid"`` (integrate every grid point; a point is decided as soon as it enters the
            forward-invariant quadrant ``x > x_D, y > y_D`` (-> C) or ``x < x_D, y < y_D`` (-> O),
            or, without interior saddle, comes within 1e-6 of a stable corner; points undecided at
            ``t_max`` lie on the separatrix and count 1/2) or ``"separatrix"`` (area of the region
            A-D-B-C bounded by :func:`separatrix`, by the shoelace formula; error ~1e-7).
        t_max: integration horizon for ``"grid"`` (replicator time units).

    Returns:
        The basin fraction in [0, 1].
    """
    p = as_params(params)
    d = saddle_point(p)
    if method == "separatrix":
        if d is None:
            return basin_of_cooperation(p, n=n, method="grid", t_max=t_max)
        sx, sy = separatrix(p)  # type: ignore[misc]
        px = np.concatenate([sx, [1.0]])
        py = np.concatenate([sy, [1.0]])
        area = 0.5 * abs(np.dot(px, np.roll(py, -1)) - np.dot(py, np.roll(px, -1)))
        return float(area)
    if method != "grid":
        raise ValueError(f"method must be 'grid' or 'separatrix', got {method!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    g = (np.arange(n) + 0.5) / n
    X0, Y0 = np.meshgrid(g, g, indexing="ij")
    x0, y0 = X0.ravel(), Y0.ravel()
    coef = _coef_arrays([p], np.zeros(x0.size, dtype=np.intp))
    if d is not None:
        xd, yd = d

        def margin(x: Any, y: Any, _idx: Any) -> Any:
            ne = np.minimum(x - xd, y - yd)
            sw = np.minimum(xd - x, yd - y)
            return -np.maximum(ne, sw)

        t_hit, xe, ye = batch_first_hit(x0, y0, coef, margin, t_max)
        to_c = np.where(np.isfinite(t_hit), (xe > xd).astype(float), 0.5)
        return float(np.mean(to_c))
    corners = stable_corners(p)
    if not corners:
        return 0.0
    cx = np.array([c[0] for c in corners])
    cy = np.array([c[1] for c in corners])

    def margin_c(x: Any, y: Any, _idx: Any) -> Any:
        return _corner_distances(x, y, cx, cy).min(axis=1) - 1e-6

    t_hit, xe, ye = batch_first_hit(x0, y0, coef, margin_c, t_max)
    to_c = np.isfinite(t_hit) & (xe > 0.5) & (ye > 0.5)
    return float(np.mean(to_c))


def convergence_time(
    params: GameParams | Mapping[str, Any],
    x0: float,
    y0: float,
    tol: float = 1e-3,
    t_max: float = 1e4,
) -> float:
    """Time for the replicator dynamics (7), (11) to come within ``tol`` of a stable equilibrium.

    Distance is the max-norm to the nearest stable corner (O or C with the seed's signs). Uses
    ``solve_ivp`` (LSODA, analytic Jacobian) with terminal events, so the time is accurate to
    the event root-finder.

    Args:
        params: game parameters.
        x0: initial share of cooperating EV users, in [0, 1].
        y0: initial share of PG cooperation, in [0, 1].
        tol: convergence tolerance on the shares.
        t_max: horizon (replicator time units).

    Returns:
        The first time at which the state is within ``tol`` of a stable equilibrium; 0 if it starts
        there; ``inf`` if not reached by ``t_max`` (e.g. starting on the separatrix).
    """
    p = as_params(params)
    check_share(x0, "x0")
    check_share(y0, "y0")
    corners = stable_corners(p)
    if not corners:
        return math.inf
    if min(_corner_gap(x0, y0, cx, cy) for cx, cy in corners) <= tol:
        return 0.0
    events = []
    for cx, cy in corners:

        def ev(
            _t: float, z: NDArray[np.float64], *_args: float, cx: float = cx, cy: float = cy
        ) -> float:
            return _corner_gap(z[0], z[1], cx, cy) - tol

        ev.terminal = True  # type: ignore[attr-defined]
        ev.direction = -1  # type: ignore[attr-defined]
        events.append(ev)
    sol = solve_ivp(
        factored_field,
        (0.0, t_max),
        [float(x0), float(y0)],
        method="LSODA",
        jac=factored_field_jacobian,
        args=field_coefficients(p),
        rtol=1e-10,
        atol=1e-12,
        events=events,
    )
    hits = [te[0] for te in sol.t_events if te.size]
    return float(min(hits)) if hits else math.inf


def convergence_time_grid(
    params: GameParams | Mapping[str, Any],
    p_d: ArrayLike,
    x0: ArrayLike,
    y0: ArrayLike,
    tol: float = 1e-3,
    t_max: float = 1e3,
    return_limit: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Vectorised :func:`convergence_time` over broadcast arrays of ``(p_d, x0, y0)``.

    All systems are integrated together (DOP853 on the stacked field (7), (11)); the hit time is
    located inside the step by sampling the dense output at 1/64 of the step and interpolating
    linearly (relative accuracy ~1e-5; :func:`convergence_time` is exact to the root-finder).

    Args:
        params: game parameters (``p_d`` is overridden per point).
        p_d: discharge prices (yuan/kWh).
        x0: initial EV cooperation shares in [0, 1].
        y0: initial PG cooperation shares in [0, 1].
        tol: max-norm tolerance to the nearest stable corner.
        t_max: horizon (replicator time units).
        return_limit: also return the name of the equilibrium reached (``"O"``, ``"A"``, ``"B"``,
            ``"C"``, or ``""`` where not reached).

    Returns:
        Convergence times, shape ``broadcast(p_d, x0, y0)``, inf where not reached; with
        ``return_limit`` a tuple ``(times, limits)``.
    """
    p = as_params(params)
    P, X, Y = np.broadcast_arrays(
        np.asarray(p_d, dtype=float), np.asarray(x0, dtype=float), np.asarray(y0, dtype=float)
    )
    shape = P.shape
    if np.any((X < 0) | (X > 1) | (Y < 0) | (Y > 1)):
        raise ValueError("x0 and y0 must be in [0, 1]")
    prices, inv = np.unique(P.ravel(), return_inverse=True)
    ps = [p.replace(p_d=float(q)) for q in prices]
    coef = _coef_arrays(ps, inv.ravel())
    corners = np.array([(cx, cy) for _, cx, cy in CORNERS])
    stable = np.zeros((prices.size, len(CORNERS)), dtype=bool)
    for i, q in enumerate(ps):
        sc = stable_corners(q)
        stable[i] = [tuple(c) in sc for c in corners]
    stable_pt = stable[inv]

    def margin(x: Any, y: Any, idx: Any) -> Any:
        dist = _corner_distances(x, y, corners[:, 0], corners[:, 1])
        dist = np.where(stable_pt[idx], dist, np.inf).min(axis=1)
        return dist - tol

    t_hit, xe, ye = batch_first_hit(X.ravel(), Y.ravel(), coef, margin, t_max)
    if not return_limit:
        return t_hit.reshape(shape)
    idx = np.arange(t_hit.size)
    dist = _corner_distances(xe, ye, corners[:, 0], corners[:, 1])
    dist = np.where(stable_pt[idx], dist, np.inf)
    names = np.array([name for name, _, _ in CORNERS])[np.argmin(dist, axis=1)]
    names = np.where(np.isfinite(t_hit), names, "")
    return t_hit.reshape(shape), names.reshape(shape)

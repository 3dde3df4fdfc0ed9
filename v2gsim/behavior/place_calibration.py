"""Calibrate the hourly plug-in utilities of one place to observed frequencies (models.md §1.3, C1-C4).

Observed data (:mod:`v2gsim.behavior.sessions`) give only the hourly plug-in frequencies ŷ_t at one
place, not a frequency for every arc of the activity network, while the inverse optimisation
(C1)-(C3) (:func:`v2gsim.behavior.calibration.calibrate`) needs a full feasible flow ŷ. The flow is
completed from the network's own persistency model and the calibration uses the network's own
parameterisation, so the result maps back exactly onto the scenario format:

* **Completion.** Solve the persistency model (D2, Newton on D4) for the current utilities; keep
  ``y_a`` on every arc except the parallel stay/plug pair of ``place`` in each hour t; split the
  pair's total flow ``F_t = y_stay,t + y_plug,t`` (drivers at the place in hour t) as
  ``ŷ_plug,t = clip(ŷ_t, δF_t, (1−δ)F_t)`` and ``ŷ_stay,t = F_t − ŷ_plug,t``. The result is a
  feasible flow (``B ŷ = f``). Hours where ŷ_t had to be clipped are reported.
* **Parameterisation (C4).** σ known (the network's); μ fixed at the network's values
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

**Which place do the sessions look like?** (:func:`arrival_profile`). Nothing in a session file
says which place of a network it belongs to, so a fit at the wrong place succeeds silently. A simple
rule reads the place from the arrivals: the share ``m`` of sessions that plug in during the local
clock hours :data:`MORNING_HOURS` = [6, 11). Sessions with ``m ≥`` :data:`WORKPLACE_MORNING_SHARE`
(0.25) look like a workplace's, others like a home's. Reference shares (weekday arrivals, ElaadNL
distributions shipped with EV2Gym): home chargers 4.4 %, public 24.7 %, workplace 71.0 %; arrivals
spread evenly over the day give 5/24 = 20.8 %. The Caltech ACN garage gives 38.4 % (local time).

The scenario-facing side (reading sessions, writing and checking a calibrated scenario TOML) is
:mod:`v2gsim.studies.calibrate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from v2gsim.behavior.calibration.inverse import CalibrationResult, calibrate
from v2gsim.behavior.persistency.result import PersistencyResult
from v2gsim.behavior.persistency.socp import PersistencyModel
from v2gsim.core.network import PLUG, STAY, ActivityNetwork

__all__ = [
    "MORNING_HOURS",
    "WORKPLACE_MORNING_SHARE",
    "ArrivalProfile",
    "PlaceCalibration",
    "arrival_profile",
    "calibrate_place",
    "place_arcs",
    "plug_jacobian",
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


#: Local clock hours ``[start, end)`` whose share of arrivals tells a workplace from a home (h).
MORNING_HOURS: tuple[int, int] = (6, 11)
#: Share of arrivals in :data:`MORNING_HOURS` at or above which sessions look like a workplace's (-).
WORKPLACE_MORNING_SHARE = 0.25


@dataclass(frozen=True)
class ArrivalProfile:
    """When sessions start, by local clock hour, and the place kind that suggests (module docstring).

    Attributes:
        counts: (24,) sessions by clock hour of plug-in (sessions).
        morning_share: share of sessions plugging in during :data:`MORNING_HOURS` (-).
        looks_like: ``"workplace"`` when ``morning_share ≥`` :data:`WORKPLACE_MORNING_SHARE`,
            else ``"home"``.
    """

    counts: NDArray[np.int64]
    morning_share: float
    looks_like: Literal["workplace", "home"]


def arrival_profile(hours: ArrayLike) -> ArrivalProfile:
    """The arrival-hour profile of sessions and the place kind it looks like (module docstring).

    Args:
        hours: (n,) local clock hour of each session's plug-in, integers in 0..23 (h).

    Returns:
        The :class:`ArrivalProfile`.

    Raises:
        ValueError: no sessions, or hours outside 0..23.
    """
    h = np.asarray(hours).ravel()
    if h.size == 0:
        raise ValueError("no sessions: the arrival profile needs at least one plug-in")
    if not np.issubdtype(h.dtype, np.integer) or h.min() < 0 or h.max() > 23:
        raise ValueError("plug-in hours must be integers in 0..23")
    counts = np.bincount(h.astype(np.int64), minlength=24)
    lo, hi = MORNING_HOURS
    share = float(counts[lo:hi].sum() / counts.sum())
    return ArrivalProfile(counts, share, "workplace" if share >= WORKPLACE_MORNING_SHARE else "home")


def place_arcs(
    net: ActivityNetwork, place: str
) -> tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.intp]]:
    """The parallel stay and plug arcs of ``place`` per clock hour.

    Args:
        net: an activity network built by :func:`v2gsim.core.network.build_network`.
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


@dataclass(frozen=True)
class _PlaceFit:
    """What the rounds of one place's calibration share: network data, arcs, target, (C4) map."""

    B: NDArray
    f: NDArray
    sigma: NDArray
    model: PersistencyModel
    stay: NDArray[np.intp]
    plug: NDArray[np.intp]
    target: NDArray
    mu_map: NDArray
    mu_offset: NDArray
    delta: float

    def solve(self, mu: NDArray) -> tuple[PersistencyResult, float]:
        """Persistency solution at ``mu`` and its plug-in error ``max |y_plug − target|``."""
        res = self.model.solve(mu, self.sigma)
        return res, float(np.abs(res.y[self.plug] - self.target).max())

    def complete(self, y: NDArray) -> tuple[NDArray, NDArray[np.bool_], NDArray[np.bool_]]:
        """The model's ``y`` with each stay/plug pair split by the target (:func:`_complete`)."""
        return _complete(y, self.stay, self.plug, self.target, self.delta)

    def calibrate(self, y_hat: NDArray) -> CalibrationResult:
        """(C1)-(C4) for a completed flow ``y_hat`` in the place's parameterisation."""
        return calibrate(self.B, self.f, y_hat, mu_map=self.mu_map, mu_offset=self.mu_offset,
                         sigma=self.sigma)


def _place_fit(net: ActivityNetwork, obs: NDArray, place: str, delta: float) -> tuple[_PlaceFit, NDArray]:
    """Check the inputs and set up the calibration of ``place``; also returns the calibrated hours."""
    T = net.hours
    if obs.shape != (T,):
        raise ValueError(f"observed must have {T} values (one per hour), got {obs.shape}")
    if not np.all(np.isfinite(obs)) or np.any(obs < 0) or np.any(obs > 1):
        raise ValueError("observed frequencies must lie in [0, 1]")
    if not 0 < delta < 0.5:
        raise ValueError("delta must be in (0, 0.5)")
    hours, stay, plug = place_arcs(net, place)
    mu_map = np.zeros((net.n_arcs, len(hours)))
    mu_map[plug, np.arange(len(hours))] = 1.0
    mu_offset = net.mu.copy()
    mu_offset[plug] = 0.0
    fit = _PlaceFit(
        B=net.incidence, f=net.supply, sigma=net.sigma,
        model=PersistencyModel(net.incidence, net.supply, method="newton"), stay=stay, plug=plug,
        target=np.clip(obs[hours], delta, 1.0 - delta), mu_map=mu_map, mu_offset=mu_offset,
        delta=delta,
    )
    return fit, hours


def _fixed_point(
    fit: _PlaceFit, mu: NDArray, tol: float, max_rounds: int
) -> tuple[float, NDArray, PersistencyResult, int]:
    """Complete at the current model, calibrate (C1)-(C3), re-solve, until the fit stalls.

    Returns:
        ``(error, mu, result, rounds)`` of the best round.
    """
    res, err = fit.solve(mu)
    rounds = 0
    best = (err, mu.copy(), res)
    stall = 0
    while err > tol and rounds < max_rounds:
        mu = fit.calibrate(fit.complete(res.y)[0]).mu
        res, err = fit.solve(mu)
        rounds += 1
        if err < 0.5 * best[0]:
            stall = 0
        else:
            stall += 1
        if err < best[0]:
            best = (err, mu.copy(), res)
        if stall >= 2:
            break
    return best[0], best[1], best[2], rounds


def _newton_refine(
    fit: _PlaceFit, err: float, mu: NDArray, res: PersistencyResult, tol: float, max_newton: int,
    max_step: float,
) -> tuple[float, NDArray, PersistencyResult, int]:
    """Damped Newton on the forward map θ ↦ y_plug(θ) (removes the SOCP's residual error).

    Returns:
        ``(error, mu, result, steps)``.
    """
    plug = fit.plug
    steps = 0
    while err > tol and steps < max_newton:
        g = res.y[plug] - fit.target
        J = plug_jacobian(fit.model, res, fit.sigma, plug)
        step = -sla.lstsq(J, g, lapack_driver="gelsd")[0]
        big = np.abs(step).max()
        if big > max_step:
            step *= max_step / big
        t = 1.0
        improved = False
        for _ in range(30):
            mu_try = mu.copy()
            mu_try[plug] += t * step
            res_try, err_try = fit.solve(mu_try)
            if err_try < err:
                mu, res, err, improved = mu_try, res_try, err_try, True
                break
            t *= 0.5
        steps += 1
        if not improved:
            break
    return err, mu, res, steps


def _clipped_hours(
    obs: NDArray, hours: NDArray[np.int64], above: NDArray[np.bool_], below: NDArray[np.bool_],
    delta: float,
) -> dict[int, str]:
    """Hour → why the target differs from the observation (see :class:`PlaceCalibration`)."""
    clipped: dict[int, str] = {}
    for k, h in enumerate(hours):
        if above[k] or obs[h] > 1.0 - delta:
            clipped[int(h)] = "above_flow"
        elif below[k] or obs[h] < delta:
            clipped[int(h)] = "below_floor"
    for h in sorted(set(range(len(obs))) - set(hours.tolist())):
        if obs[h] > 0:
            clipped[int(h)] = "no_plug_arc"
    return clipped


def _plug_utilities(
    fit: _PlaceFit, hours: NDArray[np.int64], base_mu: NDArray, mu: NDArray, n_hours: int
) -> tuple[NDArray, NDArray]:
    """``(base, calibrated)`` hourly ``μ_plug − μ_stay`` ($/h) at the place; nan without a plug arc."""
    base_pu = np.full(n_hours, np.nan)
    pu = np.full(n_hours, np.nan)
    base_pu[hours] = base_mu[fit.plug] - base_mu[fit.stay]
    pu[hours] = mu[fit.plug] - mu[fit.stay]
    return base_pu, pu


def calibrate_place(
    network: ActivityNetwork,
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
        network: a built activity network (its ``mu``, ``sigma`` are the scenario utilities).
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
    net = network
    obs = np.asarray(observed, dtype=float).ravel()
    fit, hours = _place_fit(net, obs, place, delta)
    err, mu, res, rounds = _fixed_point(fit, net.mu.copy(), tol, max_rounds)
    err, mu, res, steps = _newton_refine(fit, err, mu, res, tol, max_newton, max_step)
    # certificate: calibrate on the completion of the final model
    yh, above, below = fit.complete(res.y)
    cal = fit.calibrate(yh)
    base_pu, pu = _plug_utilities(fit, hours, net.mu, mu, net.hours)
    model_y = np.zeros(net.hours)
    model_y[hours] = res.y[fit.plug]
    full_target = obs.copy()
    full_target[hours] = fit.target
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
        clipped=_clipped_hours(obs, hours, above, below, delta),
        iterations={"rounds": rounds, "newton": steps},
        converged=bool(err <= tol),
        solver_status=cal.status,
        identified=bool(cal.identification.identified),
        result=res,
    )



"""Monte Carlo aggregation of feasible regions over a sampled EV population (seed 003, models.md (F3)).

RECONSTRUCTED (models.md §4.2 (F3)): the seed's steps (a)-(c) are named but their distributions are not
in the extraction. Here: (a) sample a batch of EVs (normal arrival/departure hours, log-normal daily
mileage turned into arrival energy), (b) compute each EV's closed-form region (:func:`region`),
(c) add the batch to the running per-EV mean of the aggregate and stop when the sample size is reached
or the standard error of the mean boundaries falls below a relative tolerance. The fleet's aggregate is
``N ×`` the per-EV mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2gsim.optimize.eva.regions import EVSessions, Region, region

__all__ = ["MonteCarloResult", "PopulationSpec", "monte_carlo_region", "sample_sessions"]


@dataclass(frozen=True)
class PopulationSpec:
    """Distributions of one EV population (hours of a day, kWh, kW, km); ``[platform.eva.population]``.

    Every value comes from the caller (the scenario's defaults are the schema's,
    :class:`v2gsim.config.eva.EvaPopulationConfig`).

    Attributes:
        arrival_mean_h, arrival_sd_h: normal arrival hour (clipped to the horizon).
        stay_mean_h, stay_sd_h: normal length of stay (at least one slot).
        capacity_kwh: battery capacity.
        soc_min, soc_max: SOC limits (fractions of capacity).
        soc_req: SOC wanted at departure.
        mileage_mu, mileage_sigma: log-normal daily mileage (parameters of log km).
        soc_start: SOC before the day's driving; arrival energy = ``soc_start·cap − mileage·kwh_per_km``
            clipped to the SOC limits.
        kwh_per_km: consumption (kWh/km).
        p_c_kw, p_d_kw: charger and discharge powers.
        eta_c, eta_d: efficiencies.
        T: slots in the horizon; dt: slot length (h).
    """

    arrival_mean_h: float
    arrival_sd_h: float
    stay_mean_h: float
    stay_sd_h: float
    capacity_kwh: float
    soc_min: float
    soc_max: float
    soc_req: float
    mileage_mu: float
    mileage_sigma: float
    kwh_per_km: float
    soc_start: float
    p_c_kw: float
    p_d_kw: float
    eta_c: float
    eta_d: float
    T: int
    dt: float = 1.0


def sample_sessions(spec: PopulationSpec, n: int, rng: np.random.Generator) -> EVSessions:
    """Step (a): n EV sessions drawn from ``spec`` (arrival and departure rounded to slots)."""
    per_h = 1.0 / spec.dt
    t_a = np.clip(np.rint(rng.normal(spec.arrival_mean_h, spec.arrival_sd_h, n) * per_h), 0, spec.T - 1)
    stay = np.maximum(np.rint(rng.normal(spec.stay_mean_h, spec.stay_sd_h, n) * per_h), 1)
    t_d = np.minimum(t_a + stay, spec.T)
    cap = np.full(n, spec.capacity_kwh)
    e_min, e_max = spec.soc_min * cap, spec.soc_max * cap
    miles = rng.lognormal(spec.mileage_mu, spec.mileage_sigma, n)
    e0 = np.clip(spec.soc_start * cap - miles * spec.kwh_per_km, e_min, e_max)
    reach = np.minimum(e0 + spec.eta_c * spec.p_c_kw * (t_d - t_a) * spec.dt, e_max)
    e_req = np.minimum(spec.soc_req * cap, reach)  # a short stay lowers the wish to what is reachable
    def full(v):
        return (np.full(n, float(v)))
    return EVSessions(e0=e0, e_min=e_min, e_max=e_max, e_req=e_req, p_c=full(spec.p_c_kw),
                      p_d=full(spec.p_d_kw), eta_c=full(spec.eta_c), eta_d=full(spec.eta_d),
                      t_a=t_a.astype(int), t_d=t_d.astype(int), T=spec.T, dt=spec.dt)


@dataclass(frozen=True)
class MonteCarloResult:
    """Aggregate region of a fleet of ``n_fleet`` EVs estimated from ``samples`` sampled EVs.

    Attributes:
        region: aggregate (1, ·) boundaries = n_fleet × per-EV mean (kWh, kW).
        stderr: (4, ·)-shaped standard errors of the per-EV means of upper, lower (T+1 padded), p_max,
            p_min (scaled to the fleet).
        samples: EVs sampled; converged: whether the tolerance (not the cap) stopped the loop.
    """

    region: Region
    stderr: dict[str, np.ndarray]
    samples: int
    converged: bool


def monte_carlo_region(spec: PopulationSpec, n_fleet: int, rng: np.random.Generator, *, batch: int = 200,
                       max_samples: int = 20_000, rel_tol: float = 0.01) -> MonteCarloResult:
    """Steps (a)-(c) of (F3): sample batches until ``max_samples`` or the relative tolerance is met.

    Args:
        spec: the population's distributions.
        n_fleet: EVs in the fleet the aggregate stands for.
        rng: random generator (the only source of randomness).
        batch: EVs per batch.
        max_samples: sample-size cap.
        rel_tol: stop once every boundary's standard error is <= rel_tol × max(|mean boundary|).

    Returns:
        MonteCarloResult (fleet-scaled aggregate, standard errors, sample count, convergence flag).
    """
    if batch < 1 or max_samples < 1:
        raise ValueError(f"monte_carlo_region: batch and max_samples must be >= 1, got {batch}, "
                         f"{max_samples}")
    keys = ("upper", "lower", "p_max", "p_min")
    s1: dict[str, np.ndarray] = {}
    s2: dict[str, np.ndarray] = {}
    n = 0
    converged = False
    while n < max_samples:
        reg = region(sample_sessions(spec, min(batch, max_samples - n), rng))  # (a), (b)
        for k in keys:                                                     # (c)
            a = getattr(reg, k)
            s1[k] = s1.get(k, 0.0) + a.sum(0)
            s2[k] = s2.get(k, 0.0) + (a * a).sum(0)
        n += reg.upper.shape[0]
        se = {k: np.sqrt(np.maximum(s2[k] / n - (s1[k] / n) ** 2, 0.0) / max(n - 1, 1)) for k in keys}
        if n >= 2 * batch and all(se[k].max() <= rel_tol * max(np.abs(s1[k] / n).max(), 1e-12)
                                  for k in keys):
            converged = True
            break
    mean = {k: (s1[k] / n)[None, :] * n_fleet for k in keys}
    return MonteCarloResult(Region(mean["upper"], mean["lower"], mean["p_max"], mean["p_min"]),
                            {k: se[k] * n_fleet for k in keys}, n, converged)

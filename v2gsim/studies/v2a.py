"""One seed-002 V2A site-day from a scenario, with and without discharging (models.md §3).

Used by ``v2gsim v2a``, ``analysis/reproduce_mao2018.py`` and ``analysis/benchmarks/bench_v2a.py``.
"""

from __future__ import annotations

import numpy as np

from v2gsim.optimize.v2a import MODES, SiteInstance, SiteSchedule

__all__ = ["reduction_pct", "schedule_report", "site_day", "site_report"]


def site_day(scenario, seed: int | None = None, **changes) -> dict:
    """Solve the scenario's site-day with and without discharge.

    Returns:
        ``{"spec", "instance", "with", "without", "hours"}`` (schedules of :mod:`v2gsim.optimize.v2a`).

    Raises:
        ScenarioError: the scenario has no ``[platform.v2a]`` or no ``[sessions]``.
    """
    from v2gsim.config import ScenarioError
    from v2gsim.optimize.v2a.site import site_instance, with_and_without
    from v2gsim.specs.build import sessions_spec, v2a_spec

    spec = v2a_spec(scenario)
    sess_spec = sessions_spec(scenario)
    where = scenario.source or "(scenario)"
    if spec is None:
        raise ScenarioError([f"{where}: platform.v2a: missing; `v2gsim v2a` needs a [platform.v2a] table"])
    if sess_spec is None or not hasattr(sess_spec, "sample"):
        raise ScenarioError([f"{where}: sessions: `v2gsim v2a` needs [sessions] enabled with a preset or "
                             "parametric model"])
    sessions = sess_spec.sample(np.random.default_rng(spec.seed if seed is None else seed), slot_minutes=60)
    inst = site_instance(spec, sessions, sess_spec.capacity_kwh, **changes)
    with_d, without = with_and_without(inst)
    return {"spec": spec, "instance": inst, "with": with_d, "without": without, "hours": spec.clock_hours()}


def schedule_report(inst: SiteInstance, sched: SiteSchedule, hours: np.ndarray) -> dict:
    """Costs, per-mode energy (kWh), per-slot mode counts and SOC of one schedule (JSON-able)."""
    return {
        "costs": {k: round(v, 6) for k, v in sched.costs.items()},
        "energy_kwh": {m: round(sched.energy_kwh(inst, m), 6) for m in MODES if m in inst.modes},
        "discharged_kwh": round(sum(sched.energy_kwh(inst, m) for m in MODES[1:] if m in inst.modes), 6),
        "load_std_kw": round(float(np.std(sched.site_load - sched.v2g_kw)), 6),
        "cycles": sched.cycles.astype(int).tolist(),
        "shortfall_pp": np.round(sched.shortfall_pp, 4).tolist(),
        "clock_hour": hours.astype(int).tolist(),
        "count": {m: sched.count(m).astype(int).tolist() for m in inst.modes},
        "site_load_kw": np.round(sched.site_load, 4).tolist(),
        "soc": np.round(sched.soc, 4).tolist(),
        "solve_time_s": round(sched.solve_time_s, 4),
        "limit_reached": bool(sched.info.get("limit_reached", False)),
    }


def reduction_pct(before: float, after: float) -> float | None:
    """``100 (before - after) / before`` in %, rounded to 4 digits (``None`` when ``before`` is 0)."""
    return round(100 * (before - after) / before, 4) if before else None


def site_report(name: str, day: dict) -> dict:
    """JSON-able comparison of a :func:`site_day`: both schedules and the reductions by discharging.

    Args:
        name: the scenario's name.
        day: the result of :func:`site_day`.

    Returns:
        ``scenario``, ``place``, ``evs``, ``with_discharge`` and ``without_discharge``
        (:func:`schedule_report`), ``objective_reduction_pct`` and ``cost_reduction_pct`` (%).
    """
    inst, hours, w, wo = day["instance"], day["hours"], day["with"], day["without"]
    return {
        "scenario": name, "place": inst.place, "evs": inst.n_ev,
        "with_discharge": schedule_report(inst, w, hours),
        "without_discharge": schedule_report(inst, wo, hours),
        "objective_reduction_pct": reduction_pct(wo.costs["objective"], w.costs["objective"]),
        "cost_reduction_pct": reduction_pct(wo.costs["cost"], w.costs["cost"]),
    }

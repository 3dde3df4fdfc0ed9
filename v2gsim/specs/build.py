"""The adapter: a validated :class:`~v2gsim.config.Scenario` -> the plain specs the models take.

This is the only module that reads the schema on behalf of the models (network templates, fleet,
market, policy settings, game); everything below it takes plain frozen dataclasses. Data paths of the
scenario are resolved relative to the scenario file here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from v2gsim.behavior.mobility import (
    PRESETS,
    Distribution,
    EmpiricalSessionSpec,
    ParametricSessionSpec,
    PathSessionSpec,
    SessionError,
    TruncNormal,
    Uniform,
)
from v2gsim.behavior.mobility.daily import SessionDriveSpec
from v2gsim.config.base import ScenarioError, expand_hourly
from v2gsim.config.eva import EvaConfig, WillingnessConfig
from v2gsim.config.loading import load_scenario
from v2gsim.config.network import NetworkConfig
from v2gsim.config.scenario import Scenario
from v2gsim.config.sessions import LawConfig
from v2gsim.config.v2a import V2AConfig
from v2gsim.core.degradation import DegradationSpec
from v2gsim.core.fleet import EVModelSpec, FleetSpec
from v2gsim.core.network import NetworkTemplate, PlaceSpec, TravelSpec
from v2gsim.core.rng import component_rng, run_seed_sequence
from v2gsim.market.energy_sources import EnergySpec
from v2gsim.market.sources import MarketSpec
from v2gsim.optimize.bilevel import BilevelInstance
from v2gsim.optimize.bilevel.default import two_cluster_instance
from v2gsim.optimize.eva.instance import MarketDay
from v2gsim.optimize.eva.population import PopulationSpec
from v2gsim.optimize.eva.spec import EvaSpec
from v2gsim.optimize.eva.willingness import Logit, PiecewiseLinear
from v2gsim.optimize.robust.site import RobustSpec
from v2gsim.optimize.v2a.site import V2ASiteSpec
from v2gsim.policies import Policy, PolicyInputs, PolicySpec, make_policy
from v2gsim.policies.bilevel import BilevelSpec
from v2gsim.policies.chance import ChanceSpec
from v2gsim.policies.inputs import policy_inputs
from v2gsim.policies.naive import NaiveSpec
from v2gsim.policies.robust import RobustPolicySpec
from v2gsim.policies.v2a import V2APolicySpec
from v2gsim.specs.run import BeliefSpec, ClusterSpec, GameSpec, RunSpec

__all__ = [
    "POLICY_SPECS",
    "bilevel_spec",
    "build_policy",
    "chance_spec",
    "cluster_specs",
    "default_instance",
    "energy_spec",
    "eva_spec",
    "fleet_spec",
    "game_spec",
    "inputs_for",
    "market_spec",
    "naive_spec",
    "network_template",
    "policy_spec",
    "robust_policy_spec",
    "robust_spec",
    "run_spec",
    "session_drive_spec",
    "sessions_spec",
    "v2a_policy_spec",
    "v2a_spec",
    "willingness_form",
]


def network_template(cfg: NetworkConfig) -> NetworkTemplate:
    """The ``[network]`` section as a :class:`~v2gsim.core.network.NetworkTemplate`.

    Hourly values are expanded.
    """
    T = cfg.hours
    places = tuple(
        PlaceSpec(
            name=p.name, window=(int(p.window[0]), int(p.window[1])), charger=bool(p.charger),
            utility=tuple(expand_hourly(p.utility, T, "utility")),
            sigma=tuple(expand_hourly(p.sigma, T, "sigma")),
            plug_utility=tuple(expand_hourly(p.plug_utility, T, "plug_utility")),
            plug_sigma=tuple(expand_hourly(p.plug_sigma, T, "plug_sigma")),
        )
        for p in cfg.places
    )
    t = cfg.travel
    travel = TravelSpec(hours=t.hours, utility=t.utility, sigma=t.sigma, energy_kwh=t.energy_kwh)
    return NetworkTemplate(hours=T, start_place=cfg.start_place, places=places, travel=travel)


def cluster_specs(scenario: Scenario) -> tuple[ClusterSpec, ...]:
    """One :class:`~v2gsim.specs.run.ClusterSpec` per driver cluster (one when none is declared)."""
    return tuple(ClusterSpec(name, share, network_template(cfg))
                 for name, share, cfg in scenario.cluster_networks())


def fleet_spec(scenario: Scenario) -> FleetSpec:
    """The ``[drivers]`` batteries and chargers, its EV models (catalog rows and defaults
    resolved) and its degradation cost."""
    d = scenario.drivers
    deg = DegradationSpec(throughput_cost=d.degradation.throughput_cost,
                          cycle_cost=d.degradation.cycle_cost)
    return FleetSpec(count=d.count, battery_kwh=d.battery_kwh, charger_kw=d.charger_kw,
                     baseline_charge_kw=d.baseline_charge_kw, soc_min=d.soc_min, soc_max=d.soc_max,
                     soc_target=d.soc_target, soc_init=(d.soc_init[0], d.soc_init[1]),
                     models=tuple(EVModelSpec(**m) for m in d.resolved_models()),
                     degradation=deg)


def market_spec(scenario: Scenario) -> MarketSpec:
    """The ``[market]`` section with its data paths resolved relative to the scenario file."""
    m = scenario.market
    return MarketSpec(
        agc=m.agc, agc_paths=tuple(scenario.resolve_path(p) for p in m.agc_files),
        mean_hourly_mileage=m.mean_hourly_mileage, prices=m.prices,
        price_path=scenario.resolve_path(m.price_file) if m.price_file else None,
        capability_price=m.capability_price, performance_price=m.performance_price,
        mileage_basis=m.mileage_basis, rega_mileage=m.rega_mileage,
        score=m.score, score_threshold=m.resolved_score_threshold(),
        energy=energy_spec(scenario),
    )


def energy_spec(scenario: Scenario) -> EnergySpec | None:
    """The ``[market.energy]`` section (paths resolved), or None when it is off."""
    e = scenario.market.energy
    if e.source == "none":
        return None

    def path(p: str) -> Path | None:
        return scenario.resolve_path(p) if p else None

    return EnergySpec(
        source=e.source, slot_minutes=e.slot_minutes, price_path=path(e.price_file),
        balancing_path=path(e.balancing_file), tariff_path=path(e.tariff_file), tariff=e.tariff,
        start_date=e.start_date, mean_price=e.mean_price, buy_adder=e.buy_adder, sell=e.sell,
        sell_fraction=e.sell_fraction, exchange_rate=e.exchange_rate, metering=e.metering,
    )


def chance_spec(scenario: Scenario, **overrides: Any) -> ChanceSpec:
    """The chance bound of ``[platform.chance]`` with the market's mileage settings.

    ``capability = "headroom"`` reserves the baseline charging rate omega per EV (``reserve_kw``).
    """
    c = scenario.platform.chance
    kwargs: dict[str, Any] = {
        "eta": c.eta, "bound": c.bound, "k_dev": c.k_dev, "prior_plug_fraction": c.prior_plug_fraction,
        "plug_source": "auto" if c.plug_source == "persistency" else "history",
        "reserve_kw": scenario.drivers.baseline_charge_kw if c.capability == "headroom" else 0.0,
        "mileage_basis": scenario.market.mileage_basis, "rega_mileage": scenario.market.rega_mileage,
        "requirement_days": c.requirement_days,
    }
    kwargs.update(overrides)
    return ChanceSpec(**kwargs)


def naive_spec(scenario: Scenario) -> NaiveSpec:
    """The ``[platform.naive]`` section as the settings of policy ``naive``."""
    c = scenario.platform.naive
    return NaiveSpec(bid_fraction=c.bid_fraction, lookback_days=c.lookback_days)


def bilevel_spec(scenario: Scenario) -> BilevelSpec:
    """``[platform.bilevel]`` with the chance bound of ``[platform.chance]`` and the drivers' baseline
    charging rate as the omega of the SOC guarantee (E3)."""
    b = scenario.platform.bilevel
    return BilevelSpec(
        chance=chance_spec(scenario), levels=tuple(b.levels), method=b.method,
        time_limit_s=b.time_limit_s, rel_gap=b.rel_gap, valid_inequalities=b.valid_inequalities,
        objective=b.objective, community_k=b.community_k, soc_guarantee=b.soc_guarantee,
        soc_eta=b.soc_eta, omega=scenario.drivers.baseline_charge_kw,
    )


def robust_spec(scenario: Scenario) -> RobustSpec:
    """The ``[platform.robust]`` section (seed 004) as a plain :class:`RobustSpec`."""
    return RobustSpec(**scenario.platform.robust.model_dump())


def robust_policy_spec(scenario: Scenario) -> RobustPolicySpec:
    """``[platform.robust]`` with the site's session laws (``[sessions]``) for policy ``robust``."""
    return RobustPolicySpec(robust=robust_spec(scenario), sessions=sessions_spec(scenario))


def game_spec(scenario: Scenario) -> GameSpec | None:
    """The ``[game]`` section, or None when the game is off."""
    g = scenario.game
    if not g.enabled:
        return None
    return GameSpec(params=g.params(), x0=g.x0, y0=g.y0, imitation=g.imitation,
                    imitation_rate=g.imitation_rate, fermi_beta=g.fermi_beta,
                    pg_matching=g.pg_matching, price_response=g.price_response,
                    price_mode=g.price_mode, price_grid=tuple(g.price_grid), payoffs=g.payoffs,
                    yuan_per_usd=g.yuan_per_usd, mutation=g.mutation, peak_hours=tuple(g.peak_hours))


def _law(cfg: LawConfig) -> Distribution:
    if cfg.mean is None:
        return Uniform(cfg.low, cfg.high)
    return TruncNormal(cfg.low, cfg.high, cfg.mean, cfg.std)


def sessions_spec(
    scenario: Scenario,
) -> ParametricSessionSpec | EmpiricalSessionSpec | PathSessionSpec | None:
    """The ``[sessions]`` section as a :mod:`v2gsim.behavior.mobility` spec (None when off).

    Defaults filled in here: a preset keeps its own battery, EV count and slot length unless the
    section sets them; otherwise the capacity is ``drivers.battery_kwh``, the EV count
    ``drivers.count``, the slot length 60 min; the paths' wanted SOC is ``drivers.soc_target``; the
    session file is resolved relative to the scenario file.

    Raises:
        ScenarioError: the section's values give an invalid spec (e.g. a departure window that
            ends before the arrival window), naming ``sessions``.
    """
    s = scenario.sessions
    if not s.enabled:
        return None
    try:
        return _sessions_spec(scenario)
    except (SessionError, ValueError) as exc:  # ValueError: a law the distributions refuse
        raise ScenarioError([f"{scenario.source or '(scenario)'}: sessions: {exc}"]) from None


def _sessions_spec(scenario: Scenario) -> ParametricSessionSpec | EmpiricalSessionSpec | PathSessionSpec:
    s, d = scenario.sessions, scenario.drivers
    if s.model == "paths":
        return PathSessionSpec(place=s.place,
                               wanted_soc=d.soc_target if s.wanted_soc is None else s.wanted_soc)
    cap = d.battery_kwh if s.capacity_kwh is None else s.capacity_kwh
    if s.model == "empirical":
        return EmpiricalSessionSpec(
            name="empirical", path=str(scenario.resolve_path(s.file)), source=s.source,
            capacity_kwh=cap, arrival_soc=_law(s.arrival_soc), fill_kw=s.fill_kw,
            energy_column=s.energy_column, max_sojourn_h=s.max_sojourn_h,
            weekdays_only=s.weekdays_only, slot_minutes=s.slot_minutes or 60,
            n_evs=s.n_evs or d.count)
    if s.model == "preset":
        base = PRESETS[s.preset]
        return replace(base, slot_minutes=s.slot_minutes or base.slot_minutes,
                       n_evs=s.n_evs or base.n_evs, capacity_kwh=s.capacity_kwh or base.capacity_kwh)
    return ParametricSessionSpec(
        name="parametric", arrival_h=_law(s.arrival_h), departure_h=_law(s.departure_h),
        energy_arrival=_law(s.energy_arrival), energy_wanted=_law(s.energy_wanted),
        energy_unit=s.energy_unit, capacity_kwh=cap, overnight=s.overnight,
        min_stay_h=s.min_stay_h, slot_minutes=s.slot_minutes or 60, n_evs=s.n_evs or d.count)


def session_drive_spec(scenario: Scenario) -> SessionDriveSpec | None:
    """The session model that drives the loop (``sessions.drive``; default on for ``robust``), or
    None when the drivers' paths drive it.

    The sessions are realized from the declared ones as policy ``robust`` assumes (its
    ``realized``: ``"box"`` inside its box of ``arrival_slack_h``, ``departure_slack_h`` and
    ``energy_slack_kwh``; ``"preset"`` a fresh draw) and, for any other policy, by a fresh draw
    (the declaration is a forecast). The place defaults to ``work``.
    """
    if not scenario.sessions_drive:
        return None
    law = sessions_spec(scenario)
    assert isinstance(law, ParametricSessionSpec | EmpiricalSessionSpec)  # drive refuses paths
    s, p = scenario.sessions, scenario.platform
    place = s.place or "work"
    if p.policy == "robust":
        r = p.robust
        return SessionDriveSpec(law=law, place=place, realized="box" if r.realized == "box" else "fresh",
                                arrival_slack_h=r.arrival_slack_h, departure_slack_h=r.departure_slack_h,
                                energy_slack_kwh=r.energy_slack_kwh, rule=s.rule)
    return SessionDriveSpec(law=law, place=place, realized="fresh", rule=s.rule)


def _check_capability(scenario: Scenario) -> None:
    """A chance bound needs capability left after its reserve (``capability = "headroom"``): the
    schema's own check (:meth:`Scenario.capability_problem
    <v2gsim.config.scenario.Scenario.capability_problem>`), so validation and the adapter refuse
    the same scenarios (also one built without validation, e.g. by ``model_copy``).

    Raises:
        ScenarioError: the fleet's regulation capability per EV does not exceed the reserve.
    """
    problem = scenario.capability_problem()
    if problem is not None:
        raise ScenarioError([f"{scenario.source or scenario.name}: {problem[0]}: {problem[1]}"])


def run_spec(scenario: Scenario) -> RunSpec:
    """Everything a run of ``scenario`` needs, as plain specs.

    Raises:
        ScenarioError: settings that validate one by one but cannot run together (a chance bound
            with no capability left after its reserve).
    """
    p = scenario.platform
    _check_capability(scenario)
    fleet, policy = fleet_spec(scenario), policy_spec(scenario)
    return RunSpec(
        name=scenario.name, seed=scenario.seed, days=scenario.days, hours=scenario.network.hours,
        distribution=scenario.drivers.distribution, clusters=cluster_specs(scenario),
        fleet=fleet, market=market_spec(scenario), policy=policy,
        beliefs=BeliefSpec(mode=p.beliefs, calibration_days=p.calibration_days,
                           recalibrate_every=p.recalibrate_every),
        game=game_spec(scenario), sampler=scenario.drivers.sampler,
        sessions=session_drive_spec(scenario),
        reserve_pi=((p.robust.pi_up, p.robust.pi_down) if p.policy == "robust" else None),
    )


def default_instance(
    shares: Any = (0.5, 0.5),
    *,
    fleet_size: float = 200.0,
    psi: float = 10.0,
    levels: Any = (0.0, 0.1, 0.2, 0.3, 0.4),
    eta: float = 0.05,
    bound: int = 3,
    scenario: str | Path | None = None,
    price_scale: Any = 1.0,
) -> BilevelInstance:
    """Seed 000's default bilevel instance on a scenario's network (default: the shipped default).

    24 h, clusters ``commuters`` (the scenario's ``[network]``: home charger, work 6-20 h, other
    7-23 h) and ``flexible`` (home and work profiles two hours later, home sigma 0.3 $, plug sigma
    0.2 $), the scenario's mean prices and mileage, psi = 10 kW, eta = 0.05, bound (3), levels 0-0.4 $
    per plugged EV-hour, 200 EVs: :func:`v2gsim.optimize.bilevel.default.two_cluster_instance`.
    """
    sc = load_scenario(scenario)
    m = sc.market
    return two_cluster_instance(
        network_template(sc.network), shares, capability_price=m.capability_price,
        performance_price=m.performance_price, mileage=m.mean_hourly_mileage, fleet_size=fleet_size,
        psi=psi, levels=levels, eta=eta, bound=bound, price_scale=price_scale,
    )


def build_policy(scenario: Scenario, name: str | None = None, replication: int = 0,
                 **chance_overrides: Any) -> Policy:
    """The policy a run of ``scenario`` (replication ``replication``) would use, built outside a model.

    Args:
        scenario: the scenario.
        name: policy name (default the scenario's).
        replication: replication whose ``policy`` stream the policy gets.
        **chance_overrides: fields of the chance settings to replace (``chance`` and ``bilevel``).
    """
    spec = policy_spec(scenario, name)
    if chance_overrides:
        if isinstance(spec, ChanceSpec):
            spec = replace(spec, **chance_overrides)
        elif isinstance(spec, BilevelSpec):
            spec = replace(spec, chance=replace(spec.chance, **chance_overrides))
    return make_policy(spec, inputs_for(scenario, spec, replication))


def inputs_for(scenario: Scenario, spec: Any, replication: int = 0) -> PolicyInputs:
    """The inputs a policy of settings ``spec`` gets in a run of ``scenario`` (replication
    ``replication``): requirement statistics of the scenario's AGC history, its ``policy`` stream."""
    rng = component_rng(run_seed_sequence(scenario.seed, replication), "policy")
    return policy_inputs(spec, market_spec(scenario), scenario.network.hours, scenario.seed, rng)


def _v2a_site(c: V2AConfig) -> V2ASiteSpec:
    return V2ASiteSpec(
        place=c.place, start_hour=c.start_hour, load_price=tuple(c.load_price),
        v2g_price=tuple(c.v2g_price), base_load_kw=tuple(c.base_load_kw), rho=c.rho, lam=c.lam,
        penalty=c.penalty, cycles=c.cycles, power_kw=c.power_kw, eta_c=c.eta_c, eta_d=c.eta_d,
        soc_min=c.soc_min, soc_max=c.soc_max, charging_fee=c.charging_fee, seed=c.seed)


def v2a_spec(scenario: Scenario) -> V2ASiteSpec | None:
    """The site of ``[platform.v2a]`` as a :class:`~v2gsim.optimize.v2a.site.V2ASiteSpec` (None when
    the table is absent)."""
    c = scenario.platform.v2a
    return None if c is None else _v2a_site(c)


def v2a_policy_spec(scenario: Scenario) -> V2APolicySpec:
    """``[platform.v2a]`` as the settings of policy ``v2a``: the site and the policy-only fields
    (sites at home, work and other; ``work_load_kw`` and ``other_load_kw`` default to the site's
    ``base_load_kw``).

    Raises:
        ScenarioError: the table is missing.
    """
    c = scenario.platform.v2a
    if c is None:
        raise ScenarioError([f"{scenario.source or '(scenario)'}: platform.v2a: missing; policy v2a needs "
                             "[platform.v2a] (load_price, v2g_price, base_load_kw)"])
    return V2APolicySpec(
        site=_v2a_site(c), work_load_kw=tuple(c.work_load_kw or c.base_load_kw),
        other_load_kw=tuple(c.other_load_kw or c.base_load_kw), offer_fraction=c.offer_fraction,
        time_limit_s=c.time_limit_s, gap=c.gap,
        sessions_place=(scenario.sessions.place or "work") if scenario.sessions_drive else None)


def willingness_form(c: WillingnessConfig) -> PiecewiseLinear | Logit:
    """One response-probability form (W) of ``[platform.eva]`` (models.md §4.2)."""
    if c.kind == "linear":
        return PiecewiseLinear(dead=c.dead, saturation=c.saturation, pi_max=c.pi_max)
    return Logit(beta0=c.beta0, beta1=c.beta1, beta2=c.beta2, inconvenience=c.inconvenience, pi_max=c.pi_max)


def eva_spec(c: EvaConfig) -> EvaSpec:
    """The plain spec of ``[platform.eva]`` (seed 003; 24 hourly slots from 12:00).

    Args:
        c: the validated table (``scenario.platform.eva``).

    Returns:
        The settings of the aggregator day and of policy ``eva``: prices and TSO windows as a
        :class:`~v2gsim.optimize.eva.instance.MarketDay`, the sampled population's distributions,
        the incentive levels and the willingness form of every cluster.
    """
    slots = np.arange(24)
    day = MarketDay(r_da=np.array(c.r_da), r_up=np.array(c.r_up), r_down=np.array(c.r_down),
                    r_cap=np.array(c.r_cap), c_reg=np.array(c.c_reg),
                    up_window=np.isin(slots, c.up_hours), down_window=np.isin(slots, c.down_hours),
                    req_kw=np.full(24, c.req_kw))
    return EvaSpec(mode=c.mode, evs=c.evs, population=PopulationSpec(**c.population.model_dump(), T=24),
                   day=day, discount_levels=tuple(c.discount_levels), subsidy_levels=tuple(c.subsidy_levels),
                   discount_forms={k: willingness_form(w) for k, w in c.discount_willingness.items()},
                   subsidy_forms={k: willingness_form(w) for k, w in c.subsidy_willingness.items()},
                   cluster_weights=dict(c.cluster_weights), discount_in_purchase=c.discount_in_purchase,
                   seed=c.seed, drivers_see=c.drivers_see, exchange_rate=c.exchange_rate)


def _eva_policy_spec(scenario: Scenario) -> EvaSpec:
    """``[platform.eva]`` as the settings of policy ``eva``."""
    return eva_spec(scenario.platform.eva)


#: Policy name -> the builder of its settings from a scenario; the names are the registry's
#: (:func:`v2gsim.policies.available_policies`) and the schema's (``tests/test_config.py``).
POLICY_SPECS: Mapping[str, Callable[[Scenario], PolicySpec]] = {
    "naive": naive_spec,
    "chance": chance_spec,
    "bilevel": bilevel_spec,
    "eva": _eva_policy_spec,
    "v2a": v2a_policy_spec,
    "robust": robust_policy_spec,
}


def policy_spec(scenario: Scenario, name: str | None = None) -> PolicySpec:
    """Settings of the policy ``name`` (default: the scenario's ``[platform] policy``).

    Raises:
        ValueError: no builder for a policy of that name (:data:`POLICY_SPECS`).
        ScenarioError: the scenario lacks a table the policy needs (``v2a``).
    """
    name = scenario.platform.policy if name is None else name
    try:
        build = POLICY_SPECS[name]
    except KeyError:
        raise ValueError(f"no settings for policy {name!r} in the scenario schema; "
                         f"allowed: {sorted(POLICY_SPECS)}") from None
    return build(scenario)

"""V2GMarketModel: the Mesa model; ``step()`` is one simulated day.

Phases of one day (architecture.md, "One simulated day"):

1. **Platform (day-ahead).** Observes its history and the price forecast, calls its policy and
   publishes the day's hourly rebates ``s_t`` ($/plugged EV-hour) and bids ``C_t`` (kW).
2. **Grid company** (seed 001, when ``[game] enabled``). Publishes the discharge price drawn from
   its mixed strategy and realizes its cooperation (Bernoulli(y) per driver match); only drivers
   whose strategy is "cooperate" are offered to the platform for regulation. After the day, drivers
   revise strategies by imitation of realized payoffs (4)/(5) and the grid company updates y and
   its price mixture by replicator steps (:mod:`v2gsim.game`).
3. **Drivers.** Sample today's arc utilities (rebates added on plug-in arcs) and choose longest
   paths through the activity network, which fixes who is plugged in, and where, in every hour.
4. **TSO, hour by hour.** Travelling EVs consume energy; the platform allocates the hour's AGC
   signal across the plugged-in fleet within power and SOC limits; the TSO scores delivered vs
   requested mileage and settles capability and performance credits; batteries are updated.
5. **Data collection.** One row per hour in the ``hourly`` table and one per day in the model
   series (Mesa ``DataCollector``), tagged with scenario, replication and seed.

All randomness comes from one ``numpy.random.SeedSequence`` (:mod:`v2gsim.core.rng`), one child per
component; Mesa's own ``model.rng``/``model.random`` are seeded from the ``mesa`` child and used by
no phase. The day counter is Mesa's ``steps`` (day ``d`` is step ``d + 1``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import mesa
import numpy as np
import pandas as pd

from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.config.scenario import Scenario
from v2gsim.core.fleet import Fleet, HourFlows
from v2gsim.core.network import build_network
from v2gsim.core.rng import component_rng, component_seed_sequence, run_seed_sequence
from v2gsim.core.schedule import ExecutedSchedule, ScheduleError, sample_requests
from v2gsim.game.imitation import initial_strategies
from v2gsim.market.energy_sources import energy_price_table
from v2gsim.market.sources import SignalSource, regulation_price_table, signal_source
from v2gsim.policies import Decision, Policy, make_policy
from v2gsim.policies.base import DayOutcome
from v2gsim.policies.inputs import policy_inputs
from v2gsim.sim.agents.driver import DayChoice, DriverAgent, DriverGroup, DriverPopulation, cluster_sizes
from v2gsim.sim.agents.energy import ENERGY_DAILY_KEYS, ENERGY_HOURLY_COLUMNS, EnergyMarketAgent
from v2gsim.sim.agents.grid_company import GridCompanyAgent
from v2gsim.sim.agents.platform import PlatformAgent
from v2gsim.sim.agents.tso import CLOCK_HOURS, CalendarSignals, TSOAgent, calendar_days, slot_prices
from v2gsim.sim.day import DAILY_COLUMNS, GAME_COLUMNS, SCHEDULE_COLUMNS, DayLedger, check_row, daily_row
from v2gsim.sim.game_day import GameDay
from v2gsim.sim.records import DAILY_KEYS, FleetRecorder
from v2gsim.sim.schedule_records import ScheduleRecorder
from v2gsim.sim.session_loop import SESSION_COLUMNS, SessionLoop
from v2gsim.specs.build import run_spec
from v2gsim.specs.run import RunSpec

__all__ = ["DAILY_REPORTERS", "HOURLY_COLUMNS", "HorizonError", "V2GMarketModel", "default_signals",
           "price_table"]

HOURLY_COLUMNS = [
    "day", "hour", "plugged", "offered", "predicted_plugged", "traveling", "rebate", "bid_kw",
    "p_up_kw", "p_down_kw",
    "e_up_kwh", "e_down_kwh", "signal_mileage", "settlement_mileage", "requested_mileage_kw",
    "delivered_mileage_kw", "score", "net_discharge_kwh", "capability_price",
    "performance_price", "capability_credit", "performance_credit", "rebates_paid", "soc_mean",
    "x", "y", "price",
]


def _day(key: str) -> Callable[[V2GMarketModel], Any]:
    """The DataCollector's reporter of daily column ``key`` (read from ``model.last_day``)."""

    def reporter(model: V2GMarketModel) -> Any:
        return model.last_day[key]  # check_row has made sure every column of the day is there

    reporter.__name__ = f"daily_{key}"
    return reporter


#: Reporters of the built-in daily columns (:data:`v2gsim.sim.day.DAILY_COLUMNS`); a model collects
#: :attr:`V2GMarketModel.daily_columns`, which may add more.
DAILY_REPORTERS = {key: _day(key) for key in DAILY_COLUMNS}


def default_signals(spec: RunSpec, replication: int = 0, point: int | None = None) -> SignalSource:
    """The AGC signal source a run of ``spec`` uses (its ``agc`` stream); wrap it to record or
    alter the signals and give the wrapper to :class:`V2GMarketModel` as ``signals``.

    A day of up to 24 hours is the first ``hours`` of a calendar day of the source; a longer one
    runs into the next calendar day (:class:`~v2gsim.sim.agents.tso.CalendarSignals`).
    """
    root = run_seed_sequence(spec.seed, replication, point)
    rng = component_rng(root, "agc")
    if spec.hours <= CLOCK_HOURS:
        return signal_source(spec.market, rng, spec.hours)
    return CalendarSignals(signal_source(spec.market, rng, CLOCK_HOURS), spec.hours)


def price_table(spec: RunSpec, rng: np.random.Generator) -> pd.DataFrame:
    """The run's regulation prices, one row per simulated day and hour (its ``prices`` stream).

    Hour t of day d is clock hour t of calendar day d (:func:`~v2gsim.sim.agents.tso.slot_prices`).
    """
    days = calendar_days(spec.days, spec.hours)
    table = regulation_price_table(spec.market, rng, days, CLOCK_HOURS)
    return slot_prices(table, spec.days, spec.hours)


def _schedule_row(flows: HourFlows) -> dict[str, float]:
    """The hour's :data:`~v2gsim.sim.day.SCHEDULE_COLUMNS` (kWh; 0 without a plan)."""
    sh = flows.scheduled
    if sh is None:
        return dict.fromkeys(SCHEDULE_COLUMNS, 0.0)
    return {"planned_base_kwh": float(sh.planned_kwh.sum()), "executed_base_kwh": float(sh.base_kwh.sum()),
            "schedule_deviation_kwh": float(sh.deviation_kwh.sum())}


class HorizonError(RuntimeError):
    """A step was asked for past the scenario's last day (``model.running`` is already False)."""


class V2GMarketModel(mesa.Model):
    """Drivers, platform, grid company and TSO stepping through simulated days.

    Args:
        scenario: a validated :class:`~v2gsim.config.Scenario`, or its :class:`~v2gsim.specs.run.RunSpec`.
        replication: replication index; with the scenario seed it fixes every random stream.
        point: index of the parameter point when the run is a task of a sweep (changes the
            streams: see :func:`v2gsim.core.rng.run_seed_sequence`), ``None`` for a plain run.
        common_random_numbers: draw the streams of replication ``replication`` whatever the point
            (a paired sweep: every point sees the same drivers, signals and prices); the tables
            are still tagged with ``point``.
        policy: a policy to use instead of the one the scenario names (any object with ``name``
            and ``decide(Observation) -> Decision``).
        signals: an AGC signal source to use instead of the scenario's (any object with
            ``day_signal(day) -> (T, 1800)`` array), e.g. a study that records or replaces signals.

    Attributes:
        spec: the run's plain specs.
        stream_key: spawn key of the run's root SeedSequence (``(replication,)`` or
            ``(point, replication)``; entropy = the scenario seed).
        scenario: the scenario (None when built from a RunSpec).
        network: the first cluster's activity network.
        fleet: battery state of all EVs (arrays).
        population: the drivers' groups, streams and strategies (phase 3).
        platform: the aggregator agent.
        tso: the TSO agent.
        grid_company: the grid-company agent (seed 001), or None.
        energy: the energy-market agent pricing the grid energy (``[market.energy]``), or None.
        drivers: the driver agents (views into ``fleet`` and their group's choice).
        empty_clusters: names of the clusters whose share of ``drivers.count`` rounds to no driver
            (:func:`~v2gsim.sim.agents.driver.cluster_sizes`). They are dropped from the run: no
            group, no belief, no prediction, no random draw (the groups are numbered without them).
        daily_columns: the daily table's columns: :data:`~v2gsim.sim.day.DAILY_COLUMNS`, then the
            fleet records', the energy market's, the schedule columns of a policy with
            ``schedules = True`` (:data:`~v2gsim.sim.day.SCHEDULE_COLUMNS`, also in the hourly
            table) and a settling policy's ``daily_keys``.
        last_day: today's daily aggregates (exactly ``daily_columns``).
    """

    def __init__(self, scenario: Scenario | RunSpec, replication: int = 0, point: int | None = None,
                 *, policy: Policy | None = None, signals: SignalSource | None = None,
                 common_random_numbers: bool = False):
        spec = scenario if isinstance(scenario, RunSpec) else run_spec(scenario)
        stream_point = None if common_random_numbers else point
        root = run_seed_sequence(spec.seed, replication, stream_point)
        self.stream_key = tuple(root.spawn_key)
        super().__init__(rng=component_seed_sequence(root, "mesa"))
        self.spec = spec
        self.scenario = scenario if isinstance(scenario, Scenario) else None
        self.replication = int(replication)
        self.point = point
        self.fleet = Fleet.from_spec(spec.fleet, component_rng(root, "fleet"))
        self.population = self._population(spec, root)
        groups = self.population.groups
        kept = {g.name for g in groups}
        self.empty_clusters = tuple(c.name for c in spec.clusters if c.name not in kept)
        self.network = groups[0].network
        beliefs = ClusterBeliefs([g.network for g in groups], [g.drivers.size for g in groups])
        if policy is None:
            inputs = policy_inputs(spec.policy, spec.market, spec.hours, spec.seed,
                                   component_rng(root, "policy"))
            policy = make_policy(spec.policy, replace(inputs, fleet=copy.deepcopy(self.fleet)))
        self.platform = PlatformAgent(self, policy, beliefs, spec.beliefs, spec.fleet.count,
                                      spec.fleet.regulation_kw, spec.hours)
        if signals is None:
            signals = default_signals(spec, replication, stream_point)
        prices = price_table(spec, component_rng(root, "prices"))
        self.tso = TSOAgent(self, signals, prices, spec.hours, spec.market.mileage_basis,
                            spec.market.rega_mileage, spec.market.score,
                            spec.market.score_threshold)
        self.drivers = [DriverAgent(self, i, self.fleet, self.population.group_of(i)[0])
                        for i in range(spec.fleet.count)]
        self.grid_company = (GridCompanyAgent(self, spec.game, component_rng(root, "grid_company"))
                             if spec.game is not None else None)
        self.game_day = GameDay(spec.game, spec.fleet.count) if spec.game is not None else None
        self.energy = self._energy_market(spec, root)
        self.session_loop = (SessionLoop(spec.sessions, self.fleet.capacity_kwh, spec.hours,
                                         component_rng(root, "sessions"))
                             if spec.sessions is not None else None)
        self._reserve_rng = component_rng(root, "reserve") if spec.reserve_pi is not None else None
        self.last_day: dict[str, Any] = {}
        self.fleet_recorder = (FleetRecorder(self.fleet, spec.fleet)
                               if FleetRecorder.wanted(spec.fleet) else None)
        daily, columns = list(DAILY_COLUMNS), self._hourly_columns()
        if self.fleet_recorder is not None:
            daily += DAILY_KEYS
            columns += self.fleet_recorder.hourly_keys
        if self.energy is not None:  # energy columns only when the energy market is on
            daily += ENERGY_DAILY_KEYS
            columns += ENERGY_HOURLY_COLUMNS
        self._schedules = bool(getattr(policy, "schedules", False)) or bool(
            spec.game is not None and spec.game.peak_hours)  # the grid company's peak program
        self.schedule_recorder = ScheduleRecorder() if self._schedules else None
        if self._schedules:  # base-point schedule columns only for a policy that returns schedules
            daily += SCHEDULE_COLUMNS
            columns += SCHEDULE_COLUMNS
        self._settle = getattr(policy, "settle", None)
        if self._settle is not None:  # a settling policy's own planned-vs-realized columns
            daily += policy.daily_keys
        if self.session_loop is not None:  # sessions drive the loop (a policy's same name: ours)
            daily += [c for c in SESSION_COLUMNS if c not in daily]
        self.daily_columns: tuple[str, ...] = tuple(daily)
        self.datacollector = mesa.DataCollector(model_reporters={k: _day(k) for k in self.daily_columns},
                                                tables={"hourly": columns})

    def _hourly_columns(self) -> list[str]:
        """:data:`HOURLY_COLUMNS`, with the score's components after ``score`` when it has any."""
        cols = list(HOURLY_COLUMNS)
        at = cols.index("score") + 1
        cols[at:at] = self.tso.score_columns
        return cols

    def _energy_market(self, spec: RunSpec, root: np.random.SeedSequence
                       ) -> EnergyMarketAgent | None:
        """The energy-market agent with the run's price table, or None when it is off."""
        e = spec.market.energy
        if e is None:
            return None
        table = energy_price_table(e, component_rng(root, "energy_prices"), spec.days, spec.hours)
        return EnergyMarketAgent(self, table, spec.hours, e.metering)

    @staticmethod
    def _population(spec: RunSpec, root: np.random.SeedSequence) -> DriverPopulation:
        """The driver groups of the clusters that get drivers (see :attr:`empty_clusters`)."""
        sizes = cluster_sizes([c.share for c in spec.clusters], spec.fleet.count)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        kept = [k for k in range(len(spec.clusters)) if sizes[k] > 0]
        groups = [DriverGroup(i, spec.clusters[k].name, spec.clusters[k].share,
                              build_network(spec.clusters[k].network),
                              np.arange(bounds[k], bounds[k + 1]))
                  for i, k in enumerate(kept)]
        m = spec.fleet.count
        strategies, rng_game = np.ones(m, dtype=bool), None
        if spec.game is not None:
            rng_game = component_rng(root, "game_drivers")
            strategies = initial_strategies(m, spec.game.x0, rng_game)
        return DriverPopulation(groups, spec.distribution, component_rng(root, "drivers"),
                                strategies, rng_game, sampler=spec.sampler)

    @property
    def clusters(self) -> list[DriverGroup]:
        """The driver groups (one per cluster)."""
        return self.population.groups

    # ------------------------------------------------------------------ one day
    def step(self) -> None:
        """Simulate one day (phases 1-5 of the module docstring).

        ``running`` turns False after the scenario's last day, so ``while model.running:
        model.step()`` simulates exactly ``days`` days.

        Raises:
            HorizonError: the scenario's days are all simulated.
        """
        day = self.steps - 1  # Mesa counts the step before calling it
        if day >= self.spec.days:
            self.steps -= 1
            raise HorizonError(f"{self.spec.name}: all {self.spec.days} days are simulated "
                               f"(model.running is False); build a new model or raise days")
        energy_start = self.fleet.energy_kwh.copy()
        loop = self.session_loop
        known = self._energy_forecast(day)
        if loop is not None:  # what the platform knows of the sessions: their declaration
            known["sessions"] = loop.declare(day)
        if self.grid_company is not None:  # who will be offered: the cooperating drivers
            known["cooperation_share"] = self.population.cooperation_share
        decision = self.platform.plan(day, *self.tso.price_forecast(),  # 1 platform
                                      energy_kwh=energy_start, **known)
        gc = self.grid_company
        pg_actions = gc.open_day(self.fleet.size) if gc is not None else None  # 2 grid company
        if self.game_day is not None:
            self.game_day.start()
        in_force = ({"x": self.population.cooperation_share, "y": gc.y, "price": gc.price}
                    if gc is not None else {"x": np.nan, "y": np.nan, "price": np.nan})
        prediction = self.platform.predict(decision.rebate,
                                           required=self.spec.distribution == "extremal")
        choice = self.population.choose(decision.rebate, prediction)  # 3 drivers
        if loop is not None:  # the realized sessions are who is plugged in, and when
            choice = loop.start(choice)
        signal = self.tso.emit_signal(day)  # 4 TSO, hour by hour
        ledger = DayLedger(day)
        if self.fleet_recorder is not None:
            self.fleet_recorder.start_day()
        plan = self._schedule(decision)
        if plan is None and self.game_day is not None:  # the grid company's peak-discharge program
            peak = self.game_day.peak_schedule(self.population.strategies, pg_actions, self.spec.hours,
                                               self.fleet.discharge_kw * self.fleet.v2g)
            plan = ExecutedSchedule(peak) if peak is not None else None
        # what a scheduling policy settles on, and the sessions' departures
        keep = loop is not None or (self._settle is not None and self._schedules)
        stored = np.empty((self.fleet.size, self.spec.hours)) if keep else None
        for t in range(self.spec.hours):
            self._hour(t, ledger, decision, choice, signal[t], prediction.expected[t], in_force, plan)
            if stored is not None:
                stored[:, t] = self.fleet.energy_kwh
        scores = np.array([r["score"] if r["bid_kw"] > 0 else np.nan for r in ledger.rows], dtype=float)
        self.platform.record_scores(scores)  # what the platform learns of its performance
        offered = choice.plugged & self.population.strategies[:, None]
        belief_error = self.platform.record_day(offered.sum(axis=0), choice.detail,
                                                decision.rebate)
        game_state = self._close_game(pg_actions)
        self.last_day = daily_row(ledger, decision, choice, prediction, self.fleet.soc,
                                  belief_error, game_state,
                                  status=self.platform.status(str(decision.status)),
                                  fallback_reason=self.platform.fallback_reason(decision))
        if self.fleet_recorder is not None:
            self.last_day.update(self.fleet_recorder.day_totals(self.last_day["profit"]))
        if self._settle is not None:
            self.last_day.update(self._settle(self._outcome(ledger, decision, choice, energy_start, stored,
                                                            plan)))
        if loop is not None:
            self.last_day.update(loop.close(stored))
        if plan is not None and self.schedule_recorder is not None:
            self.schedule_recorder.add(day, plan)
        check_row(self.last_day, self.daily_columns)
        self.datacollector.collect(self)  # 5 data collection
        self.running = self.steps < self.spec.days

    def _energy_forecast(self, day: int) -> dict[str, np.ndarray]:
        """The day's energy prices as the platform knows them day-ahead (empty without a market)."""
        if self.energy is None:
            return {}
        buy, sell = self.energy.day_prices(day)
        return {"energy_price": buy, "energy_sell_price": sell}

    def _schedule(self, decision: Decision) -> ExecutedSchedule | None:
        """The day's base-point schedule, checked against the fleet and the day, with the TSO's
        reserve requests of the day when it offers reserve (None without a schedule).

        Raises:
            ScheduleError: a schedule from a policy that does not declare ``schedules = True``
                (its tables have no schedule columns), one that does not fit the fleet or day, or
                one offering reserve in a scenario without a reserve market.
        """
        plan = decision.schedule
        if plan is None:
            return None
        if not self._schedules:
            raise ScheduleError(f"policy {self.platform.policy.name!r} returned a schedule but does not "
                                f"declare schedules = True (policies.base.SchedulingPolicy)")
        plan.check(self.fleet.size, self.spec.hours)
        if not plan.has_reserve:
            return ExecutedSchedule(plan)
        if self._reserve_rng is None or self.spec.reserve_pi is None:
            raise ScheduleError(f"policy {self.platform.policy.name!r} offers reserve but the scenario "
                                "has no reserve market (policy robust's pi_up, pi_down)")
        request = sample_requests(self._reserve_rng, plan.power_kw.shape[1], *self.spec.reserve_pi)
        return ExecutedSchedule(plan, request)

    def _outcome(self, ledger: DayLedger, decision: Decision, choice: DayChoice,
                 energy_start: np.ndarray, stored: np.ndarray | None = None,
                 executed: ExecutedSchedule | None = None) -> DayOutcome:
        """The day's :class:`~v2gsim.policies.base.DayOutcome` for a settling policy."""
        rows = ledger.rows
        hourly = {k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {}
        day = ledger.day

        def sessions_at(place: str):
            if self.session_loop is not None:
                return self.session_loop.sessions_at(place)
            return self.population.sessions(place, energy_start, day=day)

        places = {p for g in self.population.groups for p in g.network.place_names}
        at = {p: self.population.plugged_at(p) for p in places}
        none = np.zeros_like(choice.plugged)

        return DayOutcome(day=day, decision=decision, plugged=choice.plugged,
                          travel_kwh=choice.travel_kwh, energy_start_kwh=energy_start,
                          hourly=hourly, sessions_at=sessions_at,
                          plugged_at=lambda place: at.get(place, none), stored_kwh=stored,
                          executed=executed,
                          sessions=None if self.session_loop is None else self.session_loop.today.sessions)

    def _hour(self, t: int, ledger: DayLedger, decision: Decision, choice: DayChoice,
              signal_hour: np.ndarray, predicted: float, in_force: dict[str, float],
              plan: ExecutedSchedule | None = None) -> None:
        """Hour ``t`` of phase 4: drive, execute the schedule's base point (if any), follow the AGC
        with the offered EVs around it, settle, record."""
        fleet, bid, loop = self.fleet, float(decision.bid_kw[t]), self.session_loop
        if loop is not None:
            loop.arrive(t, fleet.energy_kwh)
        unmet = float(fleet.drive(choice.travel_kwh[:, t]).sum())
        plug_t = choice.plugged[:, t]
        hour_plan = None
        if plan is not None:
            hour_plan = plan.hour(t, loop.slots(t) if loop is not None else None)
        flows = fleet.hour_flows(plug_t, self.population.strategies, plan=hour_plan)
        if plan is not None and flows.scheduled is not None:
            plan.record(t, flows.scheduled.executed_kw, hour_plan.rows)
        follow = self.platform.dispatch(signal_hour, bid, flows)
        net_kwh = float(follow.net_energy_kwh[0])
        energy = fleet.settle_hour(flows, net_kwh)
        row = {
            "day": ledger.day, "hour": t, "plugged": int(plug_t.sum()),
            "offered": int(flows.offered.sum()), "predicted_plugged": float(predicted),
            "traveling": int((choice.travel_kwh[:, t] > 0).sum()),
            "rebate": float(decision.rebate[t]), "bid_kw": bid,
            "p_up_kw": flows.p_up_kw, "p_down_kw": flows.p_down_kw,
            "e_up_kwh": flows.e_up_kwh, "e_down_kwh": flows.e_down_kwh,
            "requested_mileage_kw": float(follow.requested_mileage_kw[0]),
            "delivered_mileage_kw": float(follow.delivered_mileage_kw[0]),
            "net_discharge_kwh": net_kwh,
            "rebates_paid": float(decision.rebate[t]) * int(plug_t.sum()),
            "soc_mean": float(fleet.soc.mean()),
            **in_force,
        }
        if self._schedules:
            row.update(_schedule_row(flows))
        row.update(self.tso.settle_hour(ledger.day, t, bid, follow, signal_hour))
        if self.fleet_recorder is not None:
            row.update(self.fleet_recorder.add_hour(ledger.day, t, energy, plug_t))
        if self.energy is not None:
            row.update(self.energy.settle_hour(ledger.day, t, energy))
        if self.game_day is not None:
            self.game_day.add_hour(energy.grid_kwh, float(decision.rebate[t]), plug_t)
        self.datacollector.add_table_row("hourly", row)
        ledger.add(row, bid, unmet)

    def _close_game(self, pg_actions) -> dict[str, float]:
        """End of day: payoffs, drivers' imitation, grid company's update (:mod:`v2gsim.sim.game_day`)."""
        if self.grid_company is None or self.game_day is None:
            return dict.fromkeys(GAME_COLUMNS, np.nan)
        return self.game_day.close(self.population, self.grid_company, pg_actions)

    # ------------------------------------------------------------------ results
    def _tags(self, df: pd.DataFrame) -> pd.DataFrame:
        df.insert(0, "seed", self.spec.seed)
        df.insert(0, "replication", self.replication)
        if self.point is not None:
            df.insert(0, "point", self.point)
        df.insert(0, "scenario", self.spec.name)
        return df

    def hourly_table(self) -> pd.DataFrame:
        """Tidy hourly table (one row per day and hour)."""
        df = self.datacollector.get_table_dataframe("hourly")
        df = df.astype({"day": "int64", "hour": "int64", "plugged": "int64",
                        "traveling": "int64"})
        return self._tags(df.reset_index(drop=True))

    def daily_table(self) -> pd.DataFrame:
        """Tidy daily table (one row per simulated day)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df = df.astype({"day": "int64", "hours_bid": "int64"})
        return self._tags(df)

    def fleet_table(self) -> pd.DataFrame:
        """Per-EV end-of-run state (one row per driver); with EV models or a degradation cost also
        the model and the run's degradation (:mod:`v2gsim.sim.records`)."""
        extra = self.fleet_recorder.fleet_columns() if self.fleet_recorder is not None else {}
        return self._tags(pd.DataFrame({
            "driver": np.arange(self.fleet.size),
            "capacity_kwh": self.fleet.capacity_kwh,
            "energy_kwh": self.fleet.energy_kwh,
            "soc": self.fleet.soc,
            **extra,
        }))

    def slots_table(self) -> pd.DataFrame | None:
        """Planned vs executed power per slot (:mod:`v2gsim.sim.schedule_records`) of a policy that
        returns schedules, else None."""
        rec = self.schedule_recorder
        return None if rec is None else self._tags(rec.table())

    def soc_table(self) -> pd.DataFrame | None:
        """Hourly SOC of the seeded sample of EVs (heterogeneous fleets), else None."""
        rec = self.fleet_recorder
        table = rec.soc_table() if rec is not None else None
        return self._tags(table) if table is not None else None

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

All randomness comes from one ``numpy.random.SeedSequence`` (:mod:`v2gsim.rng`), one child per
component. Mesa's own ``model.random``/``model.rng`` are not used by any phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd

from v2gsim.agents.driver import DriverAgent
from v2gsim.agents.grid_company import GridCompanyAgent
from v2gsim.agents.platform import PlatformAgent
from v2gsim.agents.tso import TSOAgent
from v2gsim.behavior.beliefs import ClusterBeliefs
from v2gsim.behavior.extremal import sample_extremal
from v2gsim.behavior.sampling import PathChoice, longest_paths, sample_utilities
from v2gsim.config import Scenario
from v2gsim.fleet import Fleet
from v2gsim.game.imitation import imitation_step, initial_strategies
from v2gsim.game.realized_payoffs import realized_ev_payoffs
from v2gsim.network import PLUG, ActivityNetwork, build_network
from v2gsim.rng import component_rng, run_seed_sequence

__all__ = ["DAILY_REPORTERS", "HOURLY_COLUMNS", "V2GMarketModel"]

HOURLY_COLUMNS = [
    "day", "hour", "plugged", "offered", "predicted_plugged", "traveling", "rebate", "bid_kw",
    "p_up_kw", "p_down_kw",
    "e_up_kwh", "e_down_kwh", "signal_mileage", "settlement_mileage", "requested_mileage_kw",
    "delivered_mileage_kw", "score", "net_discharge_kwh", "capability_price",
    "performance_price", "capability_credit", "performance_credit", "rebates_paid", "soc_mean",
    "x", "y", "price",
]


def _day(key: str):
    def reporter(model: V2GMarketModel) -> Any:
        return model.last_day.get(key, np.nan)

    reporter.__name__ = f"daily_{key}"
    return reporter


#: Daily model series collected by Mesa's DataCollector: name -> reporter function.
DAILY_REPORTERS = {
    key: _day(key)
    for key in (
        "day", "plugged_ev_hours", "predicted_ev_hours", "bid_kwh", "mean_score", "capability_credit",
        "performance_credit", "rebates_paid", "profit", "soc_mean", "soc_min", "soc_p10",
        "soc_p50", "soc_p90", "soc_max", "unmet_travel_kwh", "hours_bid", "belief_error",
        "policy_status", "solve_time_s", "gap", "predicted_profit",
        "x", "y", "price", "price_mean", "price_std", "pg_payoff", "ev_payoff_mean",
    )
}


@dataclass(frozen=True)
class DriverCluster:
    """A class of drivers sharing one activity network (models.md E1).

    Attributes:
        name: cluster name.
        share: population share (-).
        network: the cluster's activity network.
        drivers: indices of its drivers in the fleet arrays.
    """

    name: str
    share: float
    network: ActivityNetwork
    drivers: np.ndarray


def cluster_sizes(shares: list[float], total: int) -> np.ndarray:
    """Split ``total`` drivers by ``shares`` (largest remainder; sizes sum to ``total``)."""
    raw = np.asarray(shares, dtype=float) * total
    size = np.floor(raw).astype(int)
    rest = total - size.sum()
    size[np.argsort(-(raw - size), kind="stable")[:rest]] += 1
    return size


class V2GMarketModel(mesa.Model):
    """Drivers, platform and TSO stepping through simulated days.

    Args:
        scenario: a validated :class:`~v2gsim.config.Scenario`.
        replication: replication index; with the scenario seed it fixes every random stream.
        point: index of the parameter point when the run is a task of a sweep (changes the
            streams: see :func:`v2gsim.rng.run_seed_sequence`), ``None`` for a plain run.

    Attributes:
        network: the activity network.
        fleet: battery state of all EVs (arrays).
        platform: the aggregator agent.
        tso: the TSO agent.
        drivers: the driver agents (views into ``fleet``).
        last_choice: today's chosen paths.
        last_day: today's daily aggregates.
    """

    def __init__(self, scenario: Scenario, replication: int = 0, point: int | None = None):
        super().__init__(seed=scenario.seed)
        self.scenario = scenario
        self.replication = int(replication)
        self.point = point
        root = run_seed_sequence(scenario.seed, replication, point)
        self._rng_drivers = component_rng(root, "drivers")
        cl = scenario.cluster_networks()
        sizes = cluster_sizes([c[1] for c in cl], scenario.drivers.count)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        self.clusters = [
            DriverCluster(name, share, build_network(ncfg), np.arange(bounds[k], bounds[k + 1]))
            for k, (name, share, ncfg) in enumerate(cl)
        ]
        self.network = self.clusters[0].network
        self.fleet = Fleet.from_config(scenario.drivers, component_rng(root, "fleet"))
        beliefs = ClusterBeliefs([c.network for c in self.clusters],
                                 [c.drivers.size for c in self.clusters])
        self.platform = PlatformAgent(self, scenario, beliefs)
        self.tso = TSOAgent(self, scenario, component_rng(root, "agc"),
                            component_rng(root, "prices"))
        self.drivers = [DriverAgent(self, i) for i in range(scenario.drivers.count)]
        self.grid_company: GridCompanyAgent | None = None
        self.strategies = np.ones(scenario.drivers.count, dtype=bool)
        if scenario.game.enabled:
            g = scenario.game
            self._rng_game = component_rng(root, "game_drivers")
            self.grid_company = GridCompanyAgent(self, g, component_rng(root, "grid_company"),
                                                 response=g.price_response,
                                                 price_mode=g.price_mode)
            self.strategies = initial_strategies(scenario.drivers.count, g.x0, self._rng_game)
        self.day = 0
        self.last_choice: list[PathChoice] | None = None
        self.last_day: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters=DAILY_REPORTERS, tables={"hourly": HOURLY_COLUMNS}
        )

    def cluster_of(self, driver: int) -> tuple[int, int]:
        """(cluster index, row within the cluster) of a driver."""
        for k, c in enumerate(self.clusters):
            if c.drivers[0] <= driver <= c.drivers[-1]:
                return k, int(driver - c.drivers[0])
        raise IndexError(f"driver {driver} out of range")

    # ------------------------------------------------------------------ phases
    def _plan(self):
        cap_f, perf_f = self.tso.price_forecast()
        obs = self.platform.observe(self.day, cap_f, perf_f)
        return self.platform.decide(obs)

    def _choose_paths(
        self, rebate: np.ndarray, prediction=None
    ) -> tuple[list[PathChoice], np.ndarray, np.ndarray, dict[tuple[int, str], np.ndarray]]:
        """Sample utilities and longest paths per cluster.

        With ``drivers.distribution = "extremal"`` the utilities are drawn from the joint
        distribution that attains the persistency bound (path-correlated; ``prediction`` holds
        the persistency solutions at today's rebates), otherwise independently per arc.

        Returns:
            per-cluster choices, (M, T) plugged-in indicator, (M, T) travel energy (kWh per hour),
            and (cluster, charger place) -> (T,) plugged-in counts.
        """
        m, hours = self.fleet.size, self.scenario.network.hours
        plugged = np.zeros((m, hours), dtype=bool)
        travel = np.zeros((m, hours))
        choices = []
        detail: dict[tuple[int, str], np.ndarray] = {}
        dist = self.scenario.drivers.distribution
        for k, c in enumerate(self.clusters):
            net = c.network
            arc_rebate = np.where(net.kind == PLUG, rebate[net.hour], 0.0)
            if dist == "extremal":
                v = sample_extremal(self._rng_drivers, c.drivers.size, net.incidence, net.supply,
                                    net.mu, net.sigma, prediction.results[k], rebate=arc_rebate,
                                    dtype=np.float32).T
            else:
                v = sample_utilities(self._rng_drivers, net, c.drivers.size, dist,
                                     rebate=arc_rebate)
            choice = longest_paths(net, v)
            per_hour = np.where(net.duration > 0, net.energy_kwh / net.duration, 0.0)
            plug_c = choice.plugged(net)
            plugged[c.drivers] = plug_c
            travel[c.drivers] = per_hour[choice.arc_at_hour]
            choices.append(choice)
            place_c = choice.place(net)
            for p in np.unique(net.place[net.kind == PLUG]):
                detail[(k, net.place_names[p])] = (plug_c & (place_c == p)).sum(axis=0)
        return choices, plugged, travel, detail

    def step(self) -> None:
        """Simulate one day (phases 1-5 of the module docstring)."""
        fleet, day, hours = self.fleet, self.day, self.scenario.network.hours
        decision = self._plan()  # phase 1
        pg_actions = self._game_open()  # phase 2
        gc = self.grid_company
        in_force = ({"x": float(self.strategies.mean()), "y": gc.y, "price": gc.price}
                    if gc is not None else {"x": np.nan, "y": np.nan, "price": np.nan})
        prediction = self.platform.predict(decision.rebate)
        choices, plugged, travel_kw, detail = self._choose_paths(decision.rebate,
                                                                  prediction)  # phase 3
        signal = self.tso.emit_signal(day)  # phase 4
        unmet = 0.0
        totals = dict.fromkeys(("capability_credit", "performance_credit", "rebates_paid"), 0.0)
        scores, bids = [], []
        for t in range(hours):
            unmet += float(fleet.drive(travel_kw[:, t]).sum())
            plug_t = plugged[:, t]
            flows = fleet.hour_flows(plug_t, self.strategies)
            bid = float(decision.bid_kw[t])
            follow = self.platform.dispatch(signal[t], bid, flows)
            net_kwh = float(follow.net_energy_kwh[0])
            fleet.settle_hour(flows, net_kwh)
            paid = float(decision.rebate[t]) * int(plug_t.sum())
            row = {
                "day": day, "hour": t, "plugged": int(plug_t.sum()),
                "offered": int(flows.offered.sum()),
                "predicted_plugged": float(prediction.expected[t]),
                "traveling": int((travel_kw[:, t] > 0).sum()),
                "rebate": float(decision.rebate[t]), "bid_kw": bid,
                "p_up_kw": flows.p_up_kw, "p_down_kw": flows.p_down_kw,
                "e_up_kwh": flows.e_up_kwh, "e_down_kwh": flows.e_down_kwh,
                "requested_mileage_kw": float(follow.requested_mileage_kw[0]),
                "delivered_mileage_kw": float(follow.delivered_mileage_kw[0]),
                "net_discharge_kwh": net_kwh, "rebates_paid": paid,
                "soc_mean": float(fleet.soc.mean()),
                **in_force,
            }
            row.update(self.tso.settle_hour(day, t, bid, follow, signal[t]))
            self.datacollector.add_table_row("hourly", row)
            totals["capability_credit"] += row["capability_credit"]
            totals["performance_credit"] += row["performance_credit"]
            totals["rebates_paid"] += paid
            if bid > 0:
                scores.append(row["score"])
                bids.append(bid)
        belief_error = self.platform.record_day(
            (plugged & self.strategies[:, None]).sum(axis=0), detail, decision.rebate)
        game_state = self._game_close(pg_actions)
        soc = fleet.soc
        q = np.quantile(soc, [0.1, 0.5, 0.9])
        self.last_choice = choices
        self.last_day = {
            "day": day,
            "plugged_ev_hours": float(plugged.sum()),
            "predicted_ev_hours": float(prediction.expected.sum()),
            "bid_kwh": float(np.sum(decision.bid_kw)),
            "mean_score": float(np.average(scores, weights=bids)) if bids else np.nan,
            **totals,
            "profit": totals["capability_credit"] + totals["performance_credit"]
            - totals["rebates_paid"],
            "soc_mean": float(soc.mean()), "soc_min": float(soc.min()),
            "soc_p10": float(q[0]), "soc_p50": float(q[1]), "soc_p90": float(q[2]),
            "soc_max": float(soc.max()), "unmet_travel_kwh": unmet,
            "hours_bid": int(np.count_nonzero(decision.bid_kw)),
            "belief_error": belief_error,
            "policy_status": str(decision.info.get("policy_status", "")),
            "solve_time_s": float(decision.info.get("solve_time_s", np.nan)),
            "gap": float(decision.info.get("gap", np.nan)),
            "predicted_profit": float(decision.info.get(
                "predicted_profit", decision.info.get("expected_credit", np.nan))),
            **game_state,
        }
        self.datacollector.collect(self)  # phase 5
        self.day += 1

    def _game_open(self) -> np.ndarray | bool | None:
        """Phase 2: the grid company publishes the price and realizes its cooperation."""
        if self.grid_company is None:
            return None
        self.grid_company.publish_price()
        size = self.fleet.size if self.scenario.game.pg_matching == "per_driver" else None
        return self.grid_company.realized_pg_cooperates(size=size)

    def _game_close(self, pg_actions) -> dict[str, float]:
        """End of day: realized payoffs, drivers' imitation, grid company's replicator update."""
        if self.grid_company is None:
            return {}
        g = self.scenario.game
        gc = self.grid_company
        payoffs = realized_ev_payoffs(self.strategies, pg_actions, gc.day_params())
        x = float(self.strategies.mean())
        gc.update(x, float(payoffs.mean()))
        self.strategies = imitation_step(self.strategies, payoffs, g.imitation, g.imitation_rate,
                                         self._rng_game, delta_max=gc.delta_max,
                                         beta=g.fermi_beta)
        state = gc.state()
        return {k: state[k] for k in ("x", "y", "price", "price_mean", "price_std", "pg_payoff",
                                      "ev_payoff_mean")}

    # ------------------------------------------------------------------ results
    def _tags(self, df: pd.DataFrame) -> pd.DataFrame:
        df.insert(0, "seed", self.scenario.seed)
        df.insert(0, "replication", self.replication)
        if self.point is not None:
            df.insert(0, "point", self.point)
        df.insert(0, "scenario", self.scenario.name)
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
        """Per-EV end-of-run state (one row per driver)."""
        return self._tags(pd.DataFrame({
            "driver": np.arange(self.fleet.size),
            "capacity_kwh": self.fleet.capacity_kwh,
            "energy_kwh": self.fleet.energy_kwh,
            "soc": self.fleet.soc,
        }))

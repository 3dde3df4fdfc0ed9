"""The complete scenario (top level) with its run-output and experiment sections."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from v2gsim.config.base import MAX_SEED, Strict, dotted_location, field_error
from v2gsim.config.drivers import DriversConfig
from v2gsim.config.game import GameConfig
from v2gsim.config.market import MarketConfig
from v2gsim.config.network import NetworkConfig
from v2gsim.config.platform import PlatformConfig
from v2gsim.config.sessions import SessionsConfig

__all__ = ["CLOCK_DAY_POLICIES", "MAX_NAME_BYTES", "NAME_PATTERN", "REMOVED_FIELDS", "ExperimentConfig",
           "OutputConfig", "Scenario", "safe_name"]

#: Allowed scenario names: a letter, digit or underscore (any script), then up to 99 of those or
#: ``.``, ``+``, ``-``. A name becomes part of run-directory names (``runs/<name>-<stamp>``), so it
#: may hold no path separator, no ``..`` component and no leading dot or dash.
NAME_PATTERN = re.compile(r"\w[\w.+-]{0,99}")

#: Longest name in bytes (UTF-8). A run directory is ``<name>-<YYYYmmdd-HHMMSS>-<4 hex>`` (21 bytes
#: more), a sweep's ``<name>-sweep``, and a file name holds at most 255 bytes on common file
#: systems; 100 characters of 4 bytes would not fit.
MAX_NAME_BYTES = 200

#: Fields a scenario file may no longer hold, with what to do instead (the unknown-field message).
REMOVED_FIELDS = {
    "experiment.scheduler": "a scenario file cannot choose where a sweep's work is sent: give "
    "the Dask scheduler with `v2gsim sweep --scheduler ADDRESS` or the environment variable "
    "V2GSIM_DASK_SCHEDULER",
}


#: Policies whose plan is one 24-hour clock day, with the reason (``network.hours`` must be 24;
#: :func:`v2gsim.policies.base.require_clock_day` refuses other days when the policy is built).
CLOCK_DAY_POLICIES = {
    "eva": "seed 003: 24 hourly slots from 12:00",
    "v2a": "seed 002: the sites' prices and base loads by clock hour",
    "robust": "seed 004: the site's day of 24 h in slots",
}


def safe_name(text: str) -> str:
    """``text`` made into an allowed scenario name (other characters become ``_``; at most 100
    characters and :data:`MAX_NAME_BYTES` bytes)."""
    name = re.sub(r"[^\w.+-]", "_", text)[:100]
    name = name if NAME_PATTERN.fullmatch(name) else f"_{name}"[:100]
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    return name


class OutputConfig(Strict):
    """Where and what a run writes."""

    dir: str = Field(default="", description="Run directory; empty = runs/<scenario>-<timestamp>.")
    figures: bool = Field(default=True, description="Write figures/*.png.")
    progress: bool = Field(default=True, description="Show a progress bar over days.")


class ExperimentConfig(Strict):
    """A Monte Carlo experiment: parameter grid x replications (see :mod:`v2gsim.experiments.sweep`)."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted scenario key -> list of values; the grid is their Cartesian product.",
    )
    replications: int = Field(default=1, ge=1, le=100_000, description="Replications per point.")
    workers: int = Field(default=1, ge=1, le=1024, description="Local worker processes.")
    backend: Literal["process", "dask"] = Field(
        default="process",
        description="process: local process pool (serial when workers = 1); dask: a Dask "
        "LocalCluster with `workers` workers on this machine. A running Dask scheduler is never "
        "named in a scenario file: only `v2gsim sweep --scheduler ADDRESS` or the environment "
        "variable V2GSIM_DASK_SCHEDULER send work to one.",
    )
    paired: bool = Field(
        default=False,
        description="Common random numbers: replication r of every point uses the same random "
        "streams (drivers, AGC, prices), so differences between points are paired.",
    )
    out: str = Field(default="", description="Sweep directory; empty = runs/<scenario>-sweep.")

    @field_validator("grid")
    @classmethod
    def _non_empty_lists(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key {key!r} needs at least one value")
            if key.split(".")[0] in ("experiment", "seed"):
                raise ValueError(f"grid key {key!r} cannot be swept; sweep model parameters")
        return v


class Scenario(Strict):
    """A complete, validated scenario."""

    name: str = Field(default="scenario", description="Scenario name used in tags and run dirs.")
    description: str = Field(default="", description="Free text.")
    extends: str | None = Field(default=None, description="Base scenario file this one extends.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED,
                      description="Root seed of numpy.random.SeedSequence: 0 to 2^63 - 1 (it is "
                      "written to the result tables as a 64-bit integer).")
    days: int = Field(default=30, ge=1, le=36500, description="Simulated days (days).")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="Activity network.")
    drivers: DriversConfig = Field(default_factory=DriversConfig, description="Fleet.")
    platform: PlatformConfig = Field(default_factory=PlatformConfig, description="Aggregator.")
    market: MarketConfig = Field(default_factory=MarketConfig, description="AGC and prices.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="Run outputs.")
    game: GameConfig = Field(default_factory=GameConfig,
                             description="Seed 001 game and grid-company agent.")
    sessions: SessionsConfig = Field(default_factory=SessionsConfig,
                                     description="EV sessions at a site (off by default).")
    experiment: ExperimentConfig = Field(
        default_factory=ExperimentConfig, description="Sweep definition for `v2gsim sweep`."
    )
    source: str = Field(default="", description="Path of the scenario file (set by the loader).")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not NAME_PATTERN.fullmatch(v):
            raise ValueError(
                f"{v[:60]!r} is not an allowed name: use 1-100 letters, digits, '_', '.', '+', "
                "'-', starting with a letter, digit or '_' (it names run directories)")
        size = len(v.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise ValueError(
                f"is {size} bytes long in UTF-8; allowed: at most {MAX_NAME_BYTES} bytes (it names "
                "run directories, <name>-<timestamp>-<id>, and a file name holds at most 255 "
                "bytes; characters outside ASCII take 2-4 bytes each)")
        return v

    @model_validator(mode="after")
    def _check_clusters(self) -> Scenario:
        places = [p.name for p in self.network.places]
        for k, c in enumerate(self.drivers.clusters):
            for j, o in enumerate(c.places):
                if o.name not in places:
                    raise field_error(f"drivers.clusters[{k}].places[{j}].name",
                                      f"place {o.name!r} is not in [network]; allowed: {places}")
        self.cluster_networks()  # raises on an invalid merged network
        s = self.sessions
        if s.enabled and s.model == "paths" and s.place not in places:
            raise ValueError(f"sessions.place {s.place!r} is not in [network]; allowed: {places}")
        self._check_policy_inputs()
        return self

    def _check_policy_inputs(self) -> None:
        """What the adapter (:func:`v2gsim.specs.build.run_spec`) and the model would refuse, found
        here so that a scenario that validates runs: the battery the sessions' energies need, the
        table of policy ``v2a``, the capability left to a chance bound (:meth:`capability_problem`),
        the 24-hour day of the clock-day policies, the sessions and energy prices of ``robust``."""
        problem = self.sessions.capacity_problem(self.drivers.battery_kwh)
        if problem is not None:
            raise field_error(f"sessions.{problem[0]}", problem[1])
        if self.platform.policy == "v2a" and self.platform.v2a is None:
            raise field_error("platform.v2a", "policy 'v2a' needs a [platform.v2a] table "
                              "(load_price, v2g_price, base_load_kw: 24 values each)")
        problem = self.capability_problem()
        if problem is not None:
            raise field_error(*problem)
        start = self.market.energy.start_date
        if start and self.market.energy.source != "none":
            last = dt.date.max - dt.date.fromisoformat(start)  # checked YYYY-MM-DD by [market.energy]
            if last.days < self.days - 1:
                raise field_error("market.energy.start_date", f"{start} + {self.days} days runs "
                                  f"past the calendar's end ({dt.date.max}); choose an earlier date")
        policy = self.platform.policy
        self._check_drive()
        g = self.game
        if g.enabled and g.peak_hours:
            if max(g.peak_hours) >= self.network.hours:
                raise field_error("game.peak_hours", f"hours of the day: allowed 0.."
                                  f"{self.network.hours - 1}, got {g.peak_hours}")
            if policy in ("v2a", "eva", "robust"):
                raise field_error("game.peak_hours", f"policy {policy!r} schedules the fleet itself; the "
                                  "peak-discharge program needs a policy without schedules (naive, chance, "
                                  "bilevel)")
        if policy in CLOCK_DAY_POLICIES and self.network.hours != 24:
            raise field_error("network.hours", f"policy {policy!r} plans one 24-hour clock day "
                              f"({CLOCK_DAY_POLICIES[policy]}); allowed: 24 with this policy, got "
                              f"{self.network.hours}")
        if policy != "robust":
            return
        s = self.sessions
        if not s.enabled:
            raise field_error("sessions.enabled", "policy 'robust' plans the sessions of a site: "
                              "set sessions.enabled = true with model = 'preset', 'parametric' or "
                              "'empirical'")
        if s.model not in ("preset", "parametric", "empirical"):
            raise field_error("sessions.model", f"policy 'robust' needs model = 'preset', "
                              f"'parametric' or 'empirical' (the sessions it plans), got {s.model!r}")
        if self.market.energy.source == "none":
            raise field_error("market.energy.source", "policy 'robust' prices the day-ahead plan: "
                              "allowed: synthetic, gme, pjm_lmp, tou (not 'none')")

    @property
    def sessions_drive(self) -> bool:
        """Whether the session model drives the loop's plug-ins (``sessions.drive``; its default:
        on for policy ``robust``)."""
        s = self.sessions
        if not s.enabled:
            return False
        return self.platform.policy == "robust" if s.drive is None else bool(s.drive)

    def _check_drive(self) -> None:
        """A session model that drives the loop: a sampled model, a 24-hour day, one session per EV
        (``n_evs`` = ``drivers.count``), a site place; ``robust`` plans only driven sessions."""
        s = self.sessions
        if self.platform.policy == "robust" and s.enabled and s.drive is False:
            raise field_error("sessions.drive", "policy 'robust' plans the loop's EVs from the session "
                              "model: allowed: true or unset with this policy")
        if not self.sessions_drive:
            return
        if self.platform.policy == "bilevel":
            raise field_error("sessions.drive", "policy 'bilevel' sets rebates on the drivers' plug-in "
                              "paths, which do not decide who plugs in when sessions drive the loop; "
                              "allowed: false (or unset) with this policy")
        if s.model == "paths" and self.platform.policy != "robust":  # robust's own check names it
            raise field_error("sessions.drive", "the drivers' paths already drive the loop: drive "
                              "needs model = 'preset', 'parametric' or 'empirical'")
        if self.network.hours != 24:
            raise field_error("network.hours", "sessions live on a 24-hour clock day; allowed: 24 "
                              f"when sessions drive the loop, got {self.network.hours}")
        if s.n_evs is not None and s.n_evs != self.drivers.count:
            raise field_error("sessions.n_evs", f"when sessions drive the loop every EV of the fleet "
                              f"has one session a day: allowed: unset or drivers.count = "
                              f"{self.drivers.count}, got {s.n_evs}")
        if s.place and s.place not in ("home", "work", "other"):
            raise field_error("sessions.place", f"the site of driven sessions: allowed: home, work, "
                              f"other, got {s.place!r}")
        r = self.platform.robust
        if self.platform.policy == "robust" and r is not None and r.feedback:
            raise field_error("platform.robust.feedback", "the loop executes the open-loop robust plan "
                              "(base point and reserve); the re-trading plan is offline only "
                              "(v2gsim profitability): allowed: false with sessions driving the loop")

    def capability_problem(self) -> tuple[str, str] | None:
        """``(field, problem)`` when a chance bound (policies ``chance`` and ``bilevel``) has no
        regulation capability left per EV, else None.

        The bound plans with psi (:meth:`DriversConfig.regulation_kw
        <v2gsim.config.drivers.DriversConfig.regulation_kw>`) less the reserve omega =
        ``drivers.baseline_charge_kw`` when ``capability = "headroom"``; what is left must exceed
        ``1e-9 psi`` (a margin over the round-off of the model's own float sum). The adapter
        refuses the same scenarios with this same check.
        """
        if self.platform.policy not in ("chance", "bilevel"):
            return None
        psi = self.drivers.regulation_kw()
        headroom = self.platform.chance.capability == "headroom"
        reserve = self.drivers.baseline_charge_kw if headroom else 0.0
        if psi - reserve > 1e-9 * psi:
            return None
        why = ("(psi = mean min(charge, discharge) kW of the EV models, 0 for EVs without V2G)"
               if self.drivers.models else "(psi = drivers.charger_kw)")
        if headroom:
            return ("platform.chance.capability",
                    f"'headroom' plans with psi - omega = {psi:.3g} - {reserve:.3g} kW per EV, "
                    f"nothing left {why}; use capability = 'charger', a lower "
                    "drivers.baseline_charge_kw, or V2G-capable models")
        return ("drivers.models", f"policy {self.platform.policy!r} plans with psi = {psi:.3g} kW "
                f"per EV {why}: no EV model can discharge; give V2G-capable models")

    def cluster_networks(self) -> list[tuple[str, float, NetworkConfig]]:
        """``(name, share, network template)`` per driver cluster (one when none is declared)."""
        if not self.drivers.clusters:
            return [("all", 1.0, self.network)]
        out = []
        for k, c in enumerate(self.drivers.clusters):
            data = self.network.model_dump()
            for o in c.places:
                place = next(p for p in data["places"] if p["name"] == o.name)
                place.update(o.model_dump(exclude_none=True))
            try:
                out.append((c.name, c.share, NetworkConfig.model_validate(data)))
            except ValidationError as err:
                msg = "; ".join(": ".join(dotted_location(tuple(e["loc"]), e["msg"]))
                                for e in err.errors())
                raise field_error(f"drivers.clusters[{k}]", f"cluster {c.name!r} makes an invalid "
                                  f"network: {msg}") from None
        return out

    def data_files(self) -> list[tuple[str, str]]:
        """``(dotted field, path as written)`` of every data file this scenario will read."""
        m = self.market
        out = []
        if m.agc == "pjm_regd":
            out += [(f"market.agc_files[{k}]", p) for k, p in enumerate(m.agc_files)]
        if m.prices == "pjm":
            out.append(("market.price_file", m.price_file))
        e = m.energy
        if e.source != "none":
            out += [(f"market.energy.{name}", getattr(e, name))
                    for name in ("price_file", "balancing_file") if getattr(e, name)]
            if e.tariff_file:  # a tariff JSON, or a folder of them
                out.append(("market.energy.tariff_file", e.tariff_file))
        return out

    def resolve_path(self, path: str) -> Path:
        """Resolve a data path given in the scenario relative to the scenario file's folder."""
        p = Path(path).expanduser()
        if p.is_absolute() or not self.source:
            return p
        return (Path(self.source).parent / p).resolve()

    def to_json(self) -> str:
        """The resolved scenario as indented JSON (written to ``config.json`` of a run)."""
        return json.dumps(self.model_dump(mode="json"), indent=2)

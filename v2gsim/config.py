"""Scenario schema, TOML loading with ``extends`` inheritance, ``--set`` overrides and validation.

A scenario is one TOML file. Every field is declared here with its unit; unknown keys, wrong types and
out-of-range values are rejected with a message of the form ``FILE: dotted.field: message`` that names
what is allowed. ``extends = "base.toml"`` (a path relative to the extending file) deep-merges the
extending file over its base: tables merge key by key, every other value (including arrays) replaces.

Example::

    from v2gsim.config import load_scenario
    scenario = load_scenario("scenarios/default.toml", overrides=["drivers.count=500"])
"""

from __future__ import annotations

import copy
import itertools
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "BilevelConfig",
    "ChanceConfig",
    "ClusterConfig",
    "DriversConfig",
    "ExperimentConfig",
    "GameConfig",
    "MarketConfig",
    "NetworkConfig",
    "PlaceConfig",
    "PlatformConfig",
    "Scenario",
    "ScenarioError",
    "TravelConfig",
    "apply_overrides",
    "load_raw",
    "load_scenario",
    "scenario_from_dict",
    "validate_file",
]

PACKAGE_ROOT = Path(__file__).resolve().parent
SCENARIO_DIR = PACKAGE_ROOT.parent / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "default.toml"

NonNeg = Annotated[float, Field(ge=0.0)]
HourlyFloat = float | list[float]


class ScenarioError(Exception):
    """A scenario file (or an override) is invalid.

    Attributes:
        problems: one line per problem, each ``FILE: dotted.field: message``.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _hourly(value: HourlyFloat, hours: int, name: str) -> list[float]:
    """Expand a scalar to ``hours`` values, or check a list has exactly ``hours`` values."""
    if isinstance(value, list):
        if len(value) != hours:
            raise ValueError(f"{name} has {len(value)} values; give one number or exactly {hours}")
        return [float(v) for v in value]
    return [float(value)] * hours


class PlaceConfig(_Strict):
    """One place of the activity network (a node row of the time-space DAG)."""

    name: str = Field(description="Place name, e.g. home, work, other (unique).", min_length=1)
    window: tuple[int, int] = Field(
        default=(0, 24),
        description="[arrival, departure] clock hours (h) between which a driver may be at this "
        "place; departure must be after arrival.",
    )
    charger: bool = Field(default=False, description="Whether plug-in arcs exist at this place.")
    utility: HourlyFloat = Field(
        default=0.0,
        description="Mean utility mu_a of staying one hour ($/h): one number or one per hour.",
    )
    sigma: HourlyFloat = Field(
        default=1.0, description="Standard deviation sigma_a of a stay arc's utility ($/h)."
    )
    plug_utility: HourlyFloat = Field(
        default=-0.5,
        description="Mean utility of a plugged-in hour relative to staying unplugged ($/h); "
        "negative = inconvenience. The platform's rebate is added to it.",
    )
    plug_sigma: HourlyFloat = Field(
        default=1.0, description="Standard deviation of a plug-in arc's utility ($/h)."
    )

    @model_validator(mode="after")
    def _check_window(self) -> PlaceConfig:
        arrive, depart = self.window
        if arrive < 0:
            raise ValueError(f"window arrival {arrive} h must be >= 0")
        if depart <= arrive:
            raise ValueError(
                f"window departure ({depart} h) must be after arrival ({arrive} h)"
            )
        for name in ("sigma", "plug_sigma"):
            vals = getattr(self, name)
            vals = vals if isinstance(vals, list) else [vals]
            if any(v < 0 for v in vals):
                raise ValueError(f"{name} must be >= 0 $/h")
        return self


class TravelConfig(_Strict):
    """Travel arcs between every pair of distinct places."""

    hours: int = Field(default=1, ge=1, le=6, description="Duration of one trip (h).")
    utility: float = Field(default=-1.0, description="Mean utility of one trip ($), usually < 0.")
    sigma: float = Field(default=0.5, ge=0.0, description="Standard deviation of a trip's utility ($).")
    energy_kwh: float = Field(
        default=4.0, ge=0.0, description="Battery energy one trip consumes (kWh)."
    )


class NetworkConfig(_Strict):
    """Declarative template of the time-space activity network (see :mod:`v2gsim.network`)."""

    hours: int = Field(default=24, ge=2, le=48, description="Hourly slots in one day (h).")
    start_place: str = Field(
        default="home", description="Place where every day starts (source) and ends (sink)."
    )
    places: list[PlaceConfig] = Field(
        default_factory=lambda: [PlaceConfig(name="home", charger=True)],
        description="Places of the network.",
        min_length=1,
    )
    travel: TravelConfig = Field(default_factory=TravelConfig, description="Travel arcs.")

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        names = [p.name for p in self.places]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"place names must be unique; repeated: {dup}")
        if self.start_place not in names:
            raise ValueError(f"start_place {self.start_place!r} is not a place; allowed: {names}")
        for p in self.places:
            if p.window[1] > self.hours:
                raise ValueError(
                    f"place {p.name!r}: window departure {p.window[1]} h exceeds hours={self.hours}"
                )
            for fname in ("utility", "sigma", "plug_utility", "plug_sigma"):
                _hourly(getattr(p, fname), self.hours, f"place {p.name!r} {fname}")
        start = next(p for p in self.places if p.name == self.start_place)
        if start.window != (0, self.hours):
            raise ValueError(
                f"start_place {self.start_place!r} must be open all day: window [0, {self.hours}]"
            )
        return self

    def place(self, name: str) -> PlaceConfig:
        """Return the place called ``name``."""
        return next(p for p in self.places if p.name == name)


class PlaceOverride(_Strict):
    """Fields of one place that a driver cluster changes (others are inherited)."""

    name: str = Field(description="Name of an existing place of [network].")
    window: tuple[int, int] | None = Field(default=None, description="[arrival, departure] (h).")
    charger: bool | None = Field(default=None, description="Whether plug-in arcs exist here.")
    utility: HourlyFloat | None = Field(default=None, description="Mean stay utility ($/h).")
    sigma: HourlyFloat | None = Field(default=None, description="Stay utility std ($/h).")
    plug_utility: HourlyFloat | None = Field(default=None, description="Plug-in extra utility ($/h).")
    plug_sigma: HourlyFloat | None = Field(default=None, description="Plug-in utility std ($/h).")


class ClusterConfig(_Strict):
    """A class of drivers with its own utilities (its own activity network, models.md E1)."""

    name: str = Field(min_length=1, description="Cluster name (unique).")
    share: float = Field(gt=0, le=1, description="Population share of the cluster (-).")
    places: list[PlaceOverride] = Field(
        default_factory=list, description="Per-place changes relative to [network]."
    )


class DriversConfig(_Strict):
    """The fleet: number of drivers, utility distribution, batteries and chargers."""

    count: int = Field(default=200, ge=1, le=5_000_000, description="Number of drivers/EVs M.")
    distribution: Literal["normal", "uniform", "two_point", "extremal"] = Field(
        default="normal",
        description="Distribution of sampled arc utilities, each with mean mu_a and standard "
        "deviation sigma_a: independent normal, uniform or two_point (mu +- sigma with "
        "probability 1/2), or extremal (path-correlated two-point utilities that attain the "
        "persistency bound, models.md D2).",
    )
    battery_kwh: float = Field(default=60.0, gt=0, description="Battery capacity per EV (kWh).")
    charger_kw: float = Field(
        default=10.0, gt=0, description="Charger power per EV (kW) = regulation capability psi."
    )
    baseline_charge_kw: float = Field(
        default=3.3, ge=0, description="Baseline charging rate omega while below target SOC (kW)."
    )
    soc_min: float = Field(default=0.2, ge=0, le=1, description="SOC floor for V2G discharge (-).")
    soc_max: float = Field(default=0.95, ge=0, le=1, description="SOC ceiling (-).")
    soc_target: float = Field(default=0.8, ge=0, le=1, description="Baseline charging target (-).")
    soc_init: tuple[float, float] = Field(
        default=(0.5, 0.8), description="Initial SOC drawn uniformly from [low, high] (-)."
    )
    clusters: list[ClusterConfig] = Field(
        default_factory=list,
        description="Driver clusters with shares summing to 1; empty = one cluster using "
        "[network] as it is.",
    )

    @model_validator(mode="after")
    def _check(self) -> DriversConfig:
        if self.clusters:
            total = sum(c.share for c in self.clusters)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"cluster shares must sum to 1, got {total:.6g}")
            names = [c.name for c in self.clusters]
            if len(set(names)) != len(names):
                raise ValueError(f"cluster names must be unique, got {names}")
        lo, hi = self.soc_init
        if not (0.0 <= lo <= hi <= 1.0):
            raise ValueError(f"soc_init must satisfy 0 <= low <= high <= 1, got [{lo}, {hi}]")
        if not (self.soc_min <= self.soc_target <= self.soc_max):
            raise ValueError(
                "SOC bounds must satisfy soc_min <= soc_target <= soc_max, got "
                f"{self.soc_min} <= {self.soc_target} <= {self.soc_max}"
            )
        if self.baseline_charge_kw > self.charger_kw:
            raise ValueError(
                f"baseline_charge_kw ({self.baseline_charge_kw} kW) must not exceed charger_kw "
                f"({self.charger_kw} kW)"
            )
        return self


class NaiveConfig(_Strict):
    """Parameters of the ``naive`` baseline policy."""

    bid_fraction: float = Field(
        default=0.5, ge=0, le=1,
        description="Bid C_t as this fraction of the plugged-in charger capacity (-).",
    )
    lookback_days: int = Field(
        default=7, ge=1, description="Days of observed plug-ins averaged per hour (days)."
    )


class ChanceConfig(_Strict):
    """Parameters of the ``chance`` policy (chance-constrained bids, models.md §1.4)."""

    eta: float = Field(default=0.05, gt=0, lt=1,
                       description="Allowed violation probability eta of hourly performance (-).")
    bound: Literal[3, 4] = Field(default=3, description="Bound (3) or (4) of models.md §1.4.")
    k_dev: Literal["variance", "bernoulli"] = Field(
        default="variance",
        description="Spread of the plug-in count: sqrt(y(1-y)) (variance) or the exact Bernoulli "
        "forward/backward deviations (bernoulli).",
    )
    requirement_days: int = Field(
        default=14, ge=1, le=3650,
        description="Days of synthetic RegD-like AGC history used to estimate the per-unit "
        "requirement statistics r_bar, sigma_f, sigma_b per hour (days); with agc = 'pjm_regd' "
        "every file of market.agc_files is used instead (in-sample).",
    )
    prior_plug_fraction: float = Field(
        default=0.3, ge=0, le=1,
        description="Plug-in probability per hour assumed before any day has been observed, "
        "when no persistency prediction is available (-).",
    )
    plug_source: Literal["persistency", "history"] = Field(
        default="persistency",
        description="Where y_t comes from: the persistency model's prediction (the platform's "
        "beliefs; worst-case population) or the plug-in frequency observed on past days.",
    )
    capability: Literal["charger", "headroom"] = Field(
        default="headroom",
        description="Per-EV capability psi in the bound: the charger rating (charger), or the "
        "rating minus the baseline charging rate, psi - omega (headroom, models.md E3): a "
        "charging EV can move down only by psi - omega.",
    )


class BilevelConfig(_Strict):
    """Parameters of the ``bilevel`` policy (rebates and bids, models.md §1.5).

    The chance bound (eta, bound, capability, requirement statistics) is shared with
    ``[platform.chance]``.
    """

    levels: list[float] = Field(
        default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4],
        description="Discrete rebate levels s_h, increasing, the first 0 ($ per plugged EV-hour).",
    )
    method: Literal["bnb", "coordinate", "misocp"] = Field(
        default="bnb",
        description="bnb: exact branch-and-bound over rebate levels with the exact follower; "
        "coordinate: coordinate search (heuristic); misocp: the single-level MISOCP with SCIP.",
    )
    time_limit_s: float = Field(
        default=2.0, gt=0, description="Time limit of the daily re-solve (s); the best solution "
        "found and its certified bound are used when it is reached.",
    )
    rel_gap: float = Field(default=1e-4, ge=0, lt=1, description="Relative optimality gap (-).")
    valid_inequalities: bool = Field(
        default=False, description="Add the (B3) bounds to the MISOCP (checked for complements)."
    )
    objective: Literal["platform", "community"] = Field(
        default="platform",
        description="platform: maximize the platform's profit (B1); community: the drivers own the "
        "platform and maximize their surplus plus their profit share, with profit >= 0 (E2; "
        "coordinate search with a certified bound).",
    )
    community_k: float = Field(
        default=1.0, gt=0,
        description="Profit-sharing scale K of the community objective: profit / (K M) per driver "
        "(its meaning in the seed is not recoverable; 1 = equal shares among the M owners) (-).",
    )
    soc_guarantee: bool = Field(
        default=False,
        description="State-of-charge guarantee (models.md E3): the baseline charging omega of the "
        "plugged EVs must cover the net regulation discharge with probability 1 - soc_eta "
        "(search methods only, not the MISOCP).",
    )
    soc_eta: float = Field(default=0.05, gt=0, lt=1,
                           description="Violation probability eta-hat of the SOC guarantee (-).")

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        if not v or v[0] != 0.0 or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(f"levels must be increasing and start at 0, got {v}")
        return v


class PlatformConfig(_Strict):
    """The aggregator platform."""

    policy: str = Field(
        default="naive", description="Decision policy by name (see `v2gsim.policies`)."
    )
    beliefs: Literal["scenario", "calibrated"] = Field(
        default="scenario",
        description="The platform's driver model: the scenario's utilities as they are, or plug-in "
        "utilities re-calibrated (inverse optimization, C1-C4) to the plug-in frequencies observed "
        "per cluster and charger place over the last calibration_days days.",
    )
    calibration_days: int = Field(default=14, ge=1, le=3650,
                                  description="Observation window of calibrated beliefs (days).")
    recalibrate_every: int = Field(default=7, ge=1, le=3650,
                                   description="Days between re-calibrations of the beliefs (days).")
    naive: NaiveConfig = Field(default_factory=NaiveConfig, description="`naive` policy settings.")
    chance: ChanceConfig = Field(default_factory=ChanceConfig,
                                 description="`chance` policy settings.")
    bilevel: BilevelConfig = Field(default_factory=BilevelConfig,
                                   description="`bilevel` policy settings.")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        from v2gsim.policies import available_policies

        names = available_policies()
        if v not in names:
            raise ValueError(f"unknown policy {v!r}; allowed: {sorted(names)}")
        return v


class MarketConfig(_Strict):
    """AGC signal and regulation prices."""

    agc: Literal["synthetic", "pjm_regd"] = Field(
        default="synthetic",
        description="AGC source: synthetic RegD-like generator, or PJM RegD CSV files (agc_files).",
    )
    agc_files: list[str] = Field(
        default_factory=list,
        description="PJM 2-s RegD CSVs (paths relative to the scenario file), cycled day by day.",
    )
    mean_hourly_mileage: float = Field(
        default=25.0, gt=0, description="Synthetic AGC: mean hourly mileage (per-unit/h)."
    )
    prices: Literal["synthetic", "pjm"] = Field(
        default="synthetic", description="Regulation prices: synthetic, or a PJM file (price_file)."
    )
    price_file: str = Field(
        default="", description="PJM regulation-market CSV (relative to the scenario file)."
    )
    capability_price: float = Field(
        default=13.94, ge=0, description="Synthetic mean capability price RMCCP ($/MW-h)."
    )
    performance_price: float = Field(
        default=1.56, ge=0, description="Synthetic mean performance price RMPCP ($/ΔMW)."
    )
    mileage_basis: Literal["signal", "ratio"] = Field(
        default="signal",
        description="Mileage in the performance credit: the hour's signal mileage (per-unit), or "
        "PJM's RegD/RegA mileage ratio with rega_mileage as the benchmark.",
    )
    rega_mileage: float = Field(
        default=6.58, gt=0, description="RegA benchmark hourly mileage for the ratio basis (-)."
    )

    @model_validator(mode="after")
    def _check(self) -> MarketConfig:
        if self.agc == "pjm_regd" and not self.agc_files:
            raise ValueError("agc = 'pjm_regd' needs agc_files (one or more PJM RegD CSV paths)")
        if self.prices == "pjm" and not self.price_file:
            raise ValueError("prices = 'pjm' needs price_file (a PJM regulation-market CSV path)")
        return self


class GameConfig(_Strict):
    """Seed 001 evolutionary game (models.md §2) and the grid-company agent.

    The payoff parameters keep the seed's names (money in yuan, energy in kWh, prices in yuan/kWh).
    ``E_d`` is the energy discharged per cooperating EV in the dynamics.
    """

    enabled: bool = Field(
        default=False,
        description="Run the grid-company agent and EV cooperation strategies in the model.",
    )
    U_EV: float = Field(default=0.5374, description="EV users' normal income (yuan).")
    U_PG: float = Field(default=0.4985, description="Grid company's normal income (yuan).")
    E_c: float = Field(default=20.0, ge=0, description="Energy charged per EV (kWh).")
    E_d: float = Field(default=20.0, ge=0, description="Energy discharged per cooperating EV (kWh).")
    E_max: float = Field(default=20.0, gt=0, description="Maximum discharge per EV (kWh).")
    p_c: float = Field(default=0.2856, ge=0, description="Charging (valley) price (yuan/kWh).")
    p_d: float = Field(default=1.3, ge=0, description="Discharge price (yuan/kWh).")
    L_B: float = Field(default=0.41, ge=0, description="Battery loss per kWh cycled (yuan/kWh).")
    L_EV: float = Field(default=1.0, ge=0, description="EV loss from unilateral cooperation (yuan).")
    L_PG: float = Field(default=1.0, ge=0, description="PG loss from unilateral cooperation (yuan).")
    E_G: float = Field(default=14900.0 / (15.0 * 3.2 * 200.0), ge=0,
                       description="PG extra income per kWh discharged (yuan/kWh).")
    P_PG: float = Field(default=0.0355, ge=0, description="PG infrastructure cost (yuan/kWh).")
    x0: float = Field(default=0.5, ge=0, le=1, description="Initial share of cooperating EVs (-).")
    y0: float = Field(default=0.5, ge=0, le=1, description="Initial PG cooperation share (-).")
    imitation: Literal["fermi", "proportional"] = Field(
        default="proportional",
        description="Driver strategy update: pairwise comparison with a Fermi function, or "
        "proportional imitation (mean-field limit: replicator eq. (7)).",
    )
    imitation_rate: float = Field(
        default=0.25, gt=0, le=1,
        description="Per-day revision probability of a driver (-). The matching replicator time "
        "step per day is rate/D (proportional, D the payoff bound) or rate*beta/2 (fermi).",
    )
    fermi_beta: float = Field(
        default=0.05, gt=0,
        description="Selection intensity of the Fermi rule (1/yuan); small values stay close to "
        "eq. (7), large ones saturate.",
    )
    pg_matching: Literal["per_driver", "per_day"] = Field(
        default="per_driver",
        description="The grid company's realized action: one Bernoulli(y) draw per driver "
        "(random matching; agent shares converge to the mean field) or one per day (a common "
        "shock to all drivers).",
    )
    price_response: Literal["replicator", "participation"] = Field(
        default="replicator",
        description="How the grid company scores a price: by the EV response of eq. (7) "
        "(replicator) or by the participation condition (16).",
    )
    price_mode: Literal["sample", "mean"] = Field(
        default="sample", description="Publish a price drawn from the mixture, or its mean."
    )
    price_grid: tuple[float, float, float] = Field(
        default=(1.0, 1.6, 0.05),
        description="Discharge prices the grid company mixes over: [low, high, step] (yuan/kWh).",
    )

    @model_validator(mode="after")
    def _check(self) -> GameConfig:
        lo, hi, step = self.price_grid
        if not (0 <= lo < hi and step > 0):
            raise ValueError(f"price_grid must be [low, high, step] with 0 <= low < high, step > 0;"
                             f" got {list(self.price_grid)}")
        if self.E_d > self.E_max:
            raise ValueError(f"E_d ({self.E_d} kWh) must not exceed E_max ({self.E_max} kWh)")
        return self

    def params(self) -> dict[str, float]:
        """The payoff parameters as a mapping for :mod:`v2gsim.game.evolutionary`."""
        keys = ("U_EV", "U_PG", "E_c", "E_d", "E_max", "p_c", "p_d", "L_B", "L_EV", "L_PG",
                "E_G", "P_PG")
        return {k: float(getattr(self, k)) for k in keys}


class OutputConfig(_Strict):
    """Where and what a run writes."""

    dir: str = Field(default="", description="Run directory; empty = runs/<scenario>-<timestamp>.")
    figures: bool = Field(default=True, description="Write figures/*.png.")
    progress: bool = Field(default=True, description="Show a progress bar over days.")


class ExperimentConfig(_Strict):
    """A Monte Carlo experiment: parameter grid x replications (see :mod:`v2gsim.experiment`)."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted scenario key -> list of values; the grid is their Cartesian product.",
    )
    replications: int = Field(default=1, ge=1, le=100_000, description="Replications per point.")
    workers: int = Field(default=1, ge=1, le=1024, description="Local worker processes.")
    backend: Literal["process", "dask"] = Field(
        default="process",
        description="process: local process pool (serial when workers = 1); dask: Dask "
        "distributed (scheduler address, or a LocalCluster with `workers` workers).",
    )
    scheduler: str = Field(default="", description="Dask scheduler address, e.g. tcp://host:8786.")
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


class Scenario(_Strict):
    """A complete, validated scenario."""

    name: str = Field(default="scenario", description="Scenario name used in tags and run dirs.")
    description: str = Field(default="", description="Free text.")
    extends: str | None = Field(default=None, description="Base scenario file this one extends.")
    seed: int = Field(default=0, ge=0, description="Root seed of numpy.random.SeedSequence.")
    days: int = Field(default=30, ge=1, le=36500, description="Simulated days (days).")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="Activity network.")
    drivers: DriversConfig = Field(default_factory=DriversConfig, description="Fleet.")
    platform: PlatformConfig = Field(default_factory=PlatformConfig, description="Aggregator.")
    market: MarketConfig = Field(default_factory=MarketConfig, description="AGC and prices.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="Run outputs.")
    game: GameConfig = Field(default_factory=GameConfig,
                             description="Seed 001 game and grid-company agent.")
    experiment: ExperimentConfig = Field(
        default_factory=ExperimentConfig, description="Sweep definition for `v2gsim sweep`."
    )
    source: str = Field(default="", description="Path of the scenario file (set by the loader).")

    @model_validator(mode="after")
    def _check_clusters(self) -> Scenario:
        places = [p.name for p in self.network.places]
        for c in self.drivers.clusters:
            for o in c.places:
                if o.name not in places:
                    raise ValueError(f"drivers.clusters {c.name!r}: place {o.name!r} is not in "
                                     f"[network]; allowed: {places}")
        self.cluster_networks()  # raises on an invalid merged network
        return self

    def cluster_networks(self) -> list[tuple[str, float, NetworkConfig]]:
        """``(name, share, network template)`` per driver cluster (one when none is declared)."""
        if not self.drivers.clusters:
            return [("all", 1.0, self.network)]
        out = []
        for c in self.drivers.clusters:
            data = self.network.model_dump()
            for o in c.places:
                place = next(p for p in data["places"] if p["name"] == o.name)
                place.update(o.model_dump(exclude_none=True))
            try:
                out.append((c.name, c.share, NetworkConfig.model_validate(data)))
            except ValidationError as err:
                msg = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
                raise ValueError(f"drivers.clusters {c.name!r}: {msg}") from None
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


# ----------------------------------------------------------------------------- loading


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML scenario and everything it ``extends`` into one merged dict.

    Raises:
        ScenarioError: file missing, TOML syntax error, or an ``extends`` cycle.
    """
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ScenarioError([f"{path}: extends: cycle in extends chain: {chain}"])
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: (toml): {exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: (file): not UTF-8 text ({exc.reason})"]) from None
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError([f"{path}: extends: must be a file path string"])
        base = load_raw(path.parent / parent, (*_seen, path))
        data = _deep_merge(base, data)
        data["extends"] = parent
    return data


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], origin: str) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as TOML, else taken as strings).

    Raises:
        ScenarioError: an override is not of the form ``key=value``.
    """
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{origin}: --set {item!r}: expected dotted.key=value")
            continue
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = _parse_value(text.strip())
    if problems:
        raise ScenarioError(problems)
    return out


def _allowed_fields(loc: tuple[Any, ...]) -> list[str] | None:
    """Field names allowed at the parent of ``loc`` in the schema (for unknown-key messages)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
                     None)
        if model is None:
            return None
    return sorted(getattr(model, "model_fields", {}))


def _format_errors(err: ValidationError, origin: str) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        dotted = ".".join(str(p) for p in loc) or "(scenario)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            allowed = _allowed_fields(loc)
            msg = "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        elif e["type"] in ("missing",):
            msg = "required field is missing"
        if "input" in e and e["type"] not in ("extra_forbidden", "missing"):
            shown = repr(e["input"])
            if len(shown) <= 60:
                msg += f" (got {shown})"
        lines.append(f"{origin}: {dotted}: {msg}")
    return lines


def scenario_from_dict(data: Mapping[str, Any], origin: str = "<dict>") -> Scenario:
    """Validate a (merged) scenario dict.

    Raises:
        ScenarioError: with one ``origin: dotted.field: message`` line per problem.
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(_format_errors(err, origin)) from None


def load_scenario(
    path: str | Path | None = None, overrides: Iterable[str] = (), **updates: Any
) -> Scenario:
    """Load, merge (``extends``), override and validate a scenario file.

    Args:
        path: TOML file; ``None`` means ``scenarios/default.toml``.
        overrides: ``dotted.key=value`` strings (CLI ``--set``), validated like the file.
        **updates: top-level fields to replace (e.g. ``days=5``, ``seed=3``).

    Raises:
        ScenarioError: every problem found, one line each.
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    data = load_raw(path)
    overrides = list(overrides)
    data = apply_overrides(data, overrides, str(path))
    data.update({k: v for k, v in updates.items() if v is not None})
    data["source"] = str(Path(path).resolve())
    data.setdefault("name", Path(path).stem)
    return scenario_from_dict(data, str(path))


def validate_file(path: str | Path, overrides: Iterable[str] = ()) -> list[str]:
    """Return the list of problems of a scenario file (empty when it is valid)."""
    try:
        load_scenario(path, overrides)
    except ScenarioError as exc:
        return exc.problems
    return []

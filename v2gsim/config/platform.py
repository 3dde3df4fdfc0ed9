"""Schema of the aggregator platform (``[platform]``) and its policies' settings."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, field_validator

from v2gsim.config.base import Strict, increasing_from_zero
from v2gsim.config.eva import EvaConfig
from v2gsim.config.robust import RobustConfig
from v2gsim.config.v2a import V2AConfig

__all__ = ["POLICY_NAMES", "BilevelConfig", "ChanceConfig", "NaiveConfig", "PlatformConfig", "PolicyName"]

#: The built-in policies (``[platform] policy``). The registry of :mod:`v2gsim.policies` is the truth;
#: the schema does not import it, and ``tests/test_config.py`` checks that the two name the same
#: policies (and that the adapter :mod:`v2gsim.specs.build` has a builder for each).
PolicyName = Literal["naive", "chance", "bilevel", "eva", "v2a", "robust"]

#: The names of :data:`PolicyName`, in its order.
POLICY_NAMES: tuple[str, ...] = get_args(PolicyName)


class NaiveConfig(Strict):
    """Parameters of the ``naive`` baseline policy."""

    bid_fraction: float = Field(
        default=0.5, ge=0, le=1,
        description="Bid C_t as this fraction of the plugged-in charger capacity (-).",
    )
    lookback_days: int = Field(
        default=7, ge=1, description="Days of observed plug-ins averaged per hour (days)."
    )


class ChanceConfig(Strict):
    """Parameters of the ``chance`` policy (chance-constrained bids, models.md §1.4)."""

    eta: float = Field(
        default=0.05, ge=1e-6, le=0.5,
        description="Allowed violation probability eta of hourly performance (-), in [1e-6, 0.5]: "
        "below 1e-6 the multiplier of bound (4) exceeds 1,400 (no fleet under ~2 million EVs can "
        "bid) and loses its floating-point digits; "
        "at eta = 0.5 the chance constraint (R1) is a median condition and bounds (3) and (4) "
        "coincide; above it (R1) would admit bids beyond the expected plugged capability, the "
        "Cantelli margin sqrt((1-eta)/eta) falls below one standard deviation and the score "
        "target 1 - eta below 1/2, so (3)/(4) stop being a guarantee (models.md §1.4; "
        "v2gsim.optimize.chance.bounds). Bids never exceed the expected plugged EVs' capability.",
    )
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


class BilevelConfig(Strict):
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
        return increasing_from_zero(v)


class PlatformConfig(Strict):
    """The aggregator platform."""

    policy: PolicyName = Field(
        default="naive", description="Decision policy by name (the registry of `v2gsim.policies`)."
    )
    beliefs: Literal["scenario", "calibrated"] = Field(
        default="calibrated",
        description="The platform's driver model: calibrated (default) = plug-in utilities "
        "re-calibrated (inverse optimization, C1-C4) to the plug-in frequencies observed per "
        "cluster and charger place over the last calibration_days days, from the first observed "
        "day on; scenario = the scenario's utilities as they are (the persistency model's direct "
        "prediction of a worst-case population; for validation studies).",
    )
    calibration_days: int = Field(default=14, ge=1, le=3650,
                                  description="Observation window of calibrated beliefs (days).")
    recalibrate_every: int = Field(default=1, ge=1, le=3650,
                                   description="Days between re-calibrations of the beliefs (days).")
    naive: NaiveConfig = Field(default_factory=NaiveConfig, description="`naive` policy settings.")
    chance: ChanceConfig = Field(default_factory=ChanceConfig,
                                 description="`chance` policy settings.")
    bilevel: BilevelConfig = Field(default_factory=BilevelConfig,
                                   description="`bilevel` policy settings.")
    eva: EvaConfig = Field(default_factory=EvaConfig, description="`eva` policy settings (seed 003).")
    v2a: V2AConfig | None = Field(default=None, description="Seed-002 V2A site settings (`v2gsim v2a`).")
    robust: RobustConfig = Field(default_factory=RobustConfig, description="Seed-004 robust plan settings.")

    @field_validator("policy", mode="before")
    @classmethod
    def _known_policy(cls, v: Any) -> Any:
        if v not in POLICY_NAMES:
            raise ValueError(f"unknown policy {v!r}; allowed: {sorted(POLICY_NAMES)}")
        return v

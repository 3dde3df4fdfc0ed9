"""Schema of the seed-001 evolutionary game and the grid-company agent (``[game]``)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import Strict, field_error

__all__ = ["MAX_PRICE_POINTS", "GameConfig"]

#: Most discharge prices the grid company mixes over (``price_grid``): its mixed strategy and
#: replicator step are arrays over them; the seed's grid has 13.
MAX_PRICE_POINTS = 10_000


class GameConfig(Strict):
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
    mutation: float = Field(
        default=0.0, ge=0, le=1,
        description="Exploration: each driver, with this probability per day, takes a strategy at "
        "random after imitating (0: none; > 0: no population state is absorbing).",
    )
    payoffs: Literal["seed", "realized"] = Field(
        default="seed",
        description="The drivers' daily payoffs in the loop: the seed's lump sums (4)/(5) with E_c "
        "and E_d (seed), or what the fleet did (realized): each EV's charged and discharged grid "
        "energy of the day, the discharge paid at the price only when its grid company match "
        "cooperates, the battery loss L_B per kWh cycled, and the rebates it received.",
    )
    peak_hours: list[int] = Field(
        default_factory=list,
        description="The grid company's peak-discharge program (ours): in these hours of the day "
        "every cooperating driver whose grid-company match cooperates discharges E_d, spread evenly, "
        "as a base-point schedule the fleet executes (within its SOC window and plug-in state); "
        "empty: no program. Not with policies v2a, eva, robust (their own schedules).",
    )
    yuan_per_usd: float = Field(
        default=7.0, gt=0, le=1e4,
        description="Yuan per $ of the market's rebates in realized payoffs (ours: about the 2020 "
        "rate).",
    )
    price_grid: tuple[float, float, float] = Field(
        default=(1.0, 1.6, 0.05),
        description="Discharge prices the grid company mixes over: [low, high, step] (yuan/kWh), "
        "at most 10,000 prices.",
    )

    @model_validator(mode="after")
    def _check(self) -> GameConfig:
        lo, hi, step = self.price_grid
        if not (0 <= lo < hi and step > 0):
            raise ValueError(f"price_grid must be [low, high, step] with 0 <= low < high, step > 0;"
                             f" got {list(self.price_grid)}")
        points = math.floor((hi - lo) / step + 1e-9) + 1  # as v2gsim.game.price_dynamics.price_grid
        if points > MAX_PRICE_POINTS:
            raise field_error("price_grid[2]", f"step {step:g} makes {points:.3g} prices on "
                              f"[{lo:g}, {hi:g}]; allowed: at most {MAX_PRICE_POINTS:,} prices "
                              f"(a step >= {(hi - lo) / (MAX_PRICE_POINTS - 1):.3g})")
        peak = self.peak_hours
        if any(not 0 <= h <= 47 for h in peak) or len(set(peak)) != len(peak):
            raise field_error("peak_hours", f"distinct hours of the day in [0, 47], got {self.peak_hours}")
        if self.E_d > self.E_max:
            raise ValueError(f"E_d ({self.E_d} kWh) must not exceed E_max ({self.E_max} kWh)")
        return self

    def params(self) -> dict[str, float]:
        """The payoff parameters as a mapping (:meth:`v2gsim.game.params.GameParams.from_mapping`)."""
        keys = ("U_EV", "U_PG", "E_c", "E_d", "E_max", "p_c", "p_d", "L_B", "L_EV", "L_PG",
                "E_G", "P_PG")
        return {k: float(getattr(self, k)) for k in keys}



"""Schema of the seed-004 robust plan (``[platform.robust]``, models.md §5; numbers ours).

All defaults are ours (the seed's numbers are lost, models.md §5.6); see
``scenarios/bianchi2023_parking.toml`` for which values a scenario takes from the seed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from v2gsim.config.base import Strict

__all__ = ["RobustConfig"]


class RobustConfig(Strict):
    """Settings of the robust day-ahead plan with up/down reserve (seed 004)."""

    business: Literal["FC", "PC"] = Field(default="PC", description="FC: free charge (no J_EV); "
                                          "PC: paid charge, the owner pays c_ch per kWh charged.")
    pi_up: float = Field(default=0.05, ge=0, le=1, description="Acceptance probability of an upward "
                         "request per slot, P(w_k = -1) = E[w^-] (-).")
    pi_down: float = Field(default=0.05, ge=0, le=1, description="Acceptance probability of a "
                           "downward request per slot, P(w_k = +1) = E[w^+] (-).")
    c_ch: float = Field(default=0.15, ge=0, description="PC: price the owner pays per kWh charged "
                        "(price currency/kWh).")
    c_dis: float = Field(default=0.15, ge=0, description="PC: price paid to the owner per kWh "
                         "discharged (>= c_ch; price currency/kWh).")
    up_factor: float = Field(default=2.0, ge=0, description="Upward price c_up = up_factor x the "
                             "day-ahead buy price when the price source has no balancing prices.")
    down_factor: float = Field(default=0.6, ge=0, description="Downward price c_down = down_factor x "
                               "the day-ahead buy price when the source has no balancing prices.")
    arrival_slack_h: float = Field(default=0.5, ge=0, le=12, description="Box half-width of the "
                                   "arrival time around the declared one (h).")
    departure_slack_h: float = Field(default=0.5, ge=0, le=12, description="Box half-width of the "
                                     "departure time around the declared one (h).")
    energy_slack_kwh: float = Field(default=2.5, ge=0, description="Box half-width of the energy at "
                                    "arrival around the declared one (kWh).")
    charger_kw: float = Field(default=7.4, gt=0, description="Charger limit p-bar per slot (kW).")
    plant_kw: float = Field(default=50.0, gt=0, description="Plant limit P-bar of the site (kW).")
    e_min_kwh: float = Field(default=5.0, ge=0, description="Battery floor e_min (kWh).")
    eta_c: float = Field(default=0.95, gt=0, le=1, description="Charging efficiency (-).")
    eta_d: float = Field(default=0.95, gt=0, le=1, description="Discharging efficiency (-).")
    alpha: float = Field(default=1.0, gt=0, le=1, description="Self-discharge factor per slot (-).")
    uncertainty: Literal["box", "scenarios"] = Field(default="box", description="box: worst cases of "
                                                     "the box set; scenarios: sampled realizations.")
    realized: Literal["box", "preset"] = Field(default="box", description="Realized sessions of the "
                                               "policy: box (uniform inside the declared box) or preset "
                                               "(a fresh draw from the session laws; may leave it).")
    n_scenarios: int = Field(default=20, ge=1, le=1000, description="Realizations of the scenario "
                             "variant.")
    feedback: bool = Field(default=False, description="Disturbance feedback (intraday re-trading, seed "
                           "§3.4, RECONSTRUCTED): the plan re-trades an affine function of the past TSO "
                           "signals; needs business FC and uncertainty box.")
    unbalance_cost: float = Field(default=0.0, ge=0, description="Feedback: unbalance cost per kWh "
                                  "re-traded (price currency/kWh).")
    feedback_max_lag: int = Field(default=4, ge=0, le=96, description="Feedback: largest lag k - j "
                                  "(slots) of a gain G_kj; 0 forbids re-trading.")

    @model_validator(mode="after")
    def _check(self) -> RobustConfig:
        if self.pi_up + self.pi_down > 1:
            raise ValueError("pi_up + pi_down must be at most 1 (E|w| <= 1)")
        if self.feedback and (self.business != "FC" or self.uncertainty != "box"):
            raise ValueError("feedback = true needs business = 'FC' and uncertainty = 'box' (the "
                             "re-trading LP is FC-only over the box set)")
        if self.c_dis < self.c_ch:
            raise ValueError("c_dis must be >= c_ch (the paid-charge cost (10) is then convex)")
        return self

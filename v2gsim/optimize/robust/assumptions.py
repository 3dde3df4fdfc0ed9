"""Price assumptions of the reduced problem (models.md §5.2, "(12a)") and input checks.

The assumptions are RECONSTRUCTED (models.md §5.2 and §6 item 11): the seed cites "(12a)" for
them but the symbols are lost. They are the ones under which the closed-form conditions of §5.3
and §5.4 were derived:

* ``c_plus >= c_minus >= 0`` (both business models);
* ``c_down >= 0`` (free charge, FC);
* ``c_ch >= c_plus`` (paid charge, PC).
"""

from __future__ import annotations

import math

__all__ = ["PriceAssumptionError", "check_data", "check_inputs", "violated_assumptions"]

BUSINESS_MODELS = ("FC", "PC")


class PriceAssumptionError(ValueError):
    """A price assumption of the closed form (models.md §5.2 "(12a)") is violated.

    Attributes:
        violated: the violated assumptions, each as its inequality text (e.g. ``"c_down >= 0"``).
    """

    def __init__(self, violated: list[str], values: str) -> None:
        super().__init__(
            f"price assumption(s) violated: {', '.join(violated)} ({values}); the closed-form "
            "conditions of models.md §5.3-5.4 do not hold there. Pass check_assumptions=False to "
            "solve anyway."
        )
        self.violated = violated


def violated_assumptions(business: str, c_plus: float, c_minus: float, c_down: float,
                         c_ch: float | None) -> list[str]:
    """Return the violated price assumptions (empty when all hold).

    Args:
        business: ``"FC"`` or ``"PC"``.
        c_plus: day-ahead purchase price (EUR/kWh).
        c_minus: day-ahead selling price (EUR/kWh).
        c_down: price paid for downward energy (EUR/kWh).
        c_ch: price the vehicle owner pays for charged energy (EUR/kWh), PC only.
    """
    out = []
    if not c_plus >= c_minus:
        out.append("c_plus >= c_minus")
    if not c_minus >= 0:
        out.append("c_minus >= 0")
    if business == "FC" and not c_down >= 0:
        out.append("c_down >= 0 (FC)")
    if business == "PC" and c_ch is not None and not c_ch >= c_plus:
        out.append("c_ch >= c_plus (PC)")
    return out


def check_data(business: str, pi_up: float, pi_down: float, e_req: float, e_room: float,
               c_ch: float | None, prices: dict[str, float | None]) -> None:
    """Check the non-price data of the reduced problem (always enforced).

    Raises:
        ValueError: naming the field and what is allowed.
    """
    if business not in BUSINESS_MODELS:
        raise ValueError(f"business must be one of {BUSINESS_MODELS}, got {business!r}")
    for name, value in prices.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number (EUR/kWh), got {value!r}")
    if business == "PC" and c_ch is None:
        raise ValueError("c_ch (EUR/kWh, price of energy charged to the vehicle) is required for PC")
    if not (0.0 <= pi_up <= 1.0 and 0.0 <= pi_down <= 1.0 and pi_up + pi_down <= 1.0 + 1e-12):
        raise ValueError(
            "acceptance probabilities must satisfy 0 <= pi_up, pi_down and pi_up + pi_down <= 1 "
            f"(E[w^-] + E[w^+] = E|w| <= 1), got pi_up={pi_up}, pi_down={pi_down}"
        )
    if not (math.isfinite(e_req) and math.isfinite(e_room) and 0.0 <= e_req <= e_room):
        raise ValueError(
            "energies must satisfy 0 <= e_req (e_dep - e_0) <= e_room (e_max - e_0), kWh; "
            f"got e_req={e_req}, e_room={e_room}"
        )


def check_inputs(business: str, c_plus: float, c_minus: float, c_up: float, c_down: float,
                 pi_up: float, pi_down: float, e_req: float, e_room: float, c_ch: float | None,
                 c_dis: float | None, check_assumptions: bool) -> list[str]:
    """Check the data (always) and the price assumptions (unless ``check_assumptions`` is False).

    Returns:
        The violated price assumptions (empty when all hold; only non-empty when not checked).

    Raises:
        PriceAssumptionError: a price assumption is violated and ``check_assumptions`` is True.
        ValueError: invalid data (probabilities, energies, missing c_ch).
    """
    prices = {"c_plus": c_plus, "c_minus": c_minus, "c_up": c_up, "c_down": c_down, "c_ch": c_ch,
              "c_dis": c_dis}
    check_data(business, pi_up, pi_down, e_req, e_room, c_ch, prices)
    violated = violated_assumptions(business, c_plus, c_minus, c_down, c_ch)
    if violated and check_assumptions:
        raise PriceAssumptionError(violated, ", ".join(f"{k}={v}" for k, v in prices.items()
                                                       if v is not None))
    return violated

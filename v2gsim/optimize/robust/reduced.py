"""Reduced one-vehicle problem (P-tilde) of Bianchi, Falsone, Vignali (2023): closed form.

models.md §5.2-5.4. One vehicle, one slot, alpha = eta = 1, deterministic connection, only the TSO
signal w in [-1, 1] uncertain (w > 0 downward request, w < 0 upward request; the sign convention is
RECONSTRUCTED, §6 item 11). Energies (kWh): ``E`` bought day-ahead, ``E_up``/``E_down`` offered as
upward/downward reserve; ``pi_up = E[w^-]``, ``pi_down = E[w^+]``; ``e_req = e_dep - e_0``,
``e_room = e_max - e_0``.

* (11) expected cost, FC: ``J = c+[E]^+ - c-[E]^- + pi_down c_down E_down - pi_up c_up E_up``;
  PC adds ``E_w[-c_ch q(w)^+ + c_dis q(w)^-]`` with ``q(w) = E + E_down w^+ - E_up w^-``.
* (12) robust counterpart (worst cases w = -1, +1): ``e_req + E_up <= E <= e_room - E_down``.

All symbols RECONSTRUCTED (models.md §6 item 11); the conditions are DERIVED (§5.3, §5.4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from v2gsim.optimize.robust.assumptions import check_inputs

__all__ = ["ProfitabilityResult", "expected_cost", "profitability"]

REGIMES = ("none", "upward", "downward")


@dataclass(frozen=True)
class ProfitabilityResult:
    """Optimum of the reduced problem (P-tilde).

    Attributes:
        business: ``"FC"`` or ``"PC"``.
        regime: ``"none"`` (day-ahead only), ``"upward"`` or ``"downward"`` reserve.
        cost: optimal expected cost J* (EUR; negative is a profit).
        gamma_up: PC expected gain per kWh of selling upward instead of to the vehicle,
            ``pi_up (c_up - c_ch)``; for FC the analogous ``pi_up c_up - c_plus`` (EUR/kWh).
        gamma_down: PC ``pi_down (c_plus - c_down) - (1 - pi_down)(c_ch - c_plus)``; for FC
            ``-pi_down c_down`` (downward reserve only costs in FC) (EUR/kWh).
        energy: optimal E (kWh bought day-ahead).
        energy_up: optimal E_up (kWh upward reserve).
        energy_down: optimal E_down (kWh downward reserve).
        unique: whether the optimum (E, E_up, E_down) is unique (no tie among the vertices).
        assumptions_ok: whether the price assumptions (12a) hold.
        method: ``"closed_form"`` or ``"lp"``.
    """

    business: str
    regime: str
    cost: float
    gamma_up: float
    gamma_down: float
    energy: float
    energy_up: float
    energy_down: float
    unique: bool
    assumptions_ok: bool
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def gammas(business: str, c_plus: float, c_up: float, c_down: float, pi_up: float, pi_down: float,
           c_ch: float | None) -> tuple[float, float]:
    """Return (gamma_up, gamma_down), EUR/kWh (models.md §5.3-5.4, DERIVED).

    PC: ``gamma_up = pi_up (c_up - c_ch)``, ``gamma_down = pi_down (c_plus - c_down) - (1 - pi_down)
    (c_ch - c_plus)``. FC: ``gamma_up = pi_up c_up - c_plus`` (the FC condition is gamma_up > 0) and
    ``gamma_down = -pi_down c_down``.
    """
    if business == "PC":
        assert c_ch is not None
        return pi_up * (c_up - c_ch), pi_down * (c_plus - c_down) - (1.0 - pi_down) * (c_ch - c_plus)
    return pi_up * c_up - c_plus, -pi_down * c_down


def expected_cost(business: str, energy: float, energy_up: float, energy_down: float, *, c_plus: float,
                  c_minus: float, c_up: float, c_down: float, pi_up: float, pi_down: float,
                  c_ch: float | None = None, c_dis: float | None = None) -> float:
    """Expected cost (11) of a plan (EUR), evaluated exactly over w in {-1, 0, +1}.

    The TSO signal takes w = -1 (upward, probability pi_up), +1 (downward, pi_down), else 0.
    """
    cost = c_plus * max(energy, 0.0) - c_minus * max(-energy, 0.0)
    cost += pi_down * c_down * energy_down - pi_up * c_up * energy_up
    if business == "PC":
        assert c_ch is not None
        dis = c_ch if c_dis is None else c_dis
        for prob, q in ((pi_up, energy - energy_up), (1.0 - pi_up - pi_down, energy),
                        (pi_down, energy + energy_down)):
            cost += prob * (-c_ch * max(q, 0.0) + dis * max(-q, 0.0))
    return cost


def _unique(coefs: tuple[float, ...], room: float, tol: float = 1e-12) -> bool:
    """Whether the minimum over the vertices of {t >= 0, sum t <= room} is attained once.

    After the change of variables of §5.3 (FC) / §5.4 (PC) the cost difference is linear over
    this simplex with coefficients ``coefs`` (one per slack/reserve), so the optimum is unique iff
    room == 0 or exactly one of ``(0, *coefs)`` is the minimum.
    """
    if room <= 0.0:
        return True
    values = (0.0, *coefs)
    best = min(values)
    return sum(1 for v in values if v <= best + tol) == 1


def profitability(business: str, c_plus: float, c_minus: float, c_up: float, c_down: float,
                  pi_up: float, pi_down: float, e_req: float, e_room: float, c_ch: float | None = None,
                  c_dis: float | None = None, *, check_assumptions: bool = True) -> ProfitabilityResult:
    """Closed-form optimum of the reduced problem (P-tilde) (models.md §5.3 FC, §5.4 PC; DERIVED).

    FC: reserve pays iff ``pi_up c_up > c_plus``; then E = e_room, E_up = e_room - e_req, E_down = 0,
    ``J* = c_plus e_req - (e_room - e_req)(pi_up c_up - c_plus)``; else E = e_req, J* = c_plus e_req.
    PC (Fig. 1 quadrants): none if gamma_down <= 0 and gamma_up <= 0 (E = e_room); downward if
    gamma_down > 0 and gamma_down > gamma_up (E = e_req, E_down = e_room - e_req); upward if
    gamma_up > 0 and gamma_up >= gamma_down (E = e_room, E_up = e_room - e_req; a tie
    gamma_up == gamma_down > 0 is reported as upward with unique=False);
    ``J* = (c_plus - c_ch) e_room - (e_room - e_req) max{0, gamma_down, gamma_up}``.

    Args:
        business: ``"FC"`` (free charge) or ``"PC"`` (paid charge).
        c_plus, c_minus: day-ahead purchase / selling price (EUR/kWh).
        c_up, c_down: upward reserve revenue / downward energy price (EUR/kWh).
        pi_up, pi_down: acceptance probabilities E[w^-], E[w^+].
        e_req: required energy e_dep - e_0 (kWh), 0 <= e_req <= e_room.
        e_room: room e_max - e_0 (kWh).
        c_ch: price charged to the vehicle owner (EUR/kWh), required for PC.
        c_dis: price paid to the owner for discharged energy (EUR/kWh), PC; it drops out (the
            vehicle is never discharged since q(w) >= e_req >= 0).
        check_assumptions: raise :class:`PriceAssumptionError` when (12a) is violated; with False
            the formulas are evaluated anyway (they may then differ from the LP).

    Raises:
        PriceAssumptionError: a price assumption is violated (named in the message).
        ValueError: invalid data (probabilities, energies, missing c_ch).
    """
    violated = check_inputs(business, c_plus, c_minus, c_up, c_down, pi_up, pi_down, e_req, e_room,
                            c_ch, c_dis, check_assumptions)
    g_up, g_down = gammas(business, c_plus, c_up, c_down, pi_up, pi_down, c_ch)
    room = e_room - e_req
    if business == "FC":
        # slack s = E - e_req - E_up, coefficients (c_plus, c_plus - pi_up c_up, pi_down c_down)
        unique = _unique((c_plus, -g_up, -g_down), room)
        if g_up > 0.0:
            regime, plan = "upward", (e_room, room, 0.0)
            cost = c_plus * e_req - room * g_up
        else:
            regime, plan = "none", (e_req, 0.0, 0.0)
            cost = c_plus * e_req
    else:
        assert c_ch is not None
        # slack t = e_room - E_down - E, coefficients (c_ch - c_plus, -gamma_down, -gamma_up)
        unique = _unique((c_ch - c_plus, -g_down, -g_up), room)
        if g_down > 0.0 and g_down > g_up:
            regime, plan = "downward", (e_req, 0.0, room)
        elif g_up > 0.0:
            regime, plan = "upward", (e_room, room, 0.0)
        else:
            regime, plan = "none", (e_room, 0.0, 0.0)
        cost = (c_plus - c_ch) * e_room - room * max(0.0, g_down, g_up)
    return ProfitabilityResult(business, regime, float(cost), g_up, g_down, *map(float, plan), unique=unique,
                               assumptions_ok=not violated, method="closed_form")

"""Parameters of the evolutionary game between EV users and the power-grid company (seed 001).

Lin, Feng & Lu (2020), *Revenue optimization strategy of V2G based on evolutionary game*,
restated in ``docs/models.md`` §2. Two populations play a 2x2 game: a share ``x`` of EV users
cooperates (charges in the valley and discharges ``E_d`` kWh to the grid at price ``p_d``) and a
share ``y`` of the power-grid company (PG) cooperates (accepts the discharge). The game's modules
(pure numpy/scipy, no Mesa): :mod:`~v2gsim.game.payoffs` (4), (5), (8), (9), (6), (10);
:mod:`~v2gsim.game.replicator` (7), (11); :mod:`~v2gsim.game.stability` (14), (15);
:mod:`~v2gsim.game.price_range` (16)-(24), Fig. 2, Tab. 3; :mod:`~v2gsim.game.basins`.

Conventions:

* Money is in yuan, energy in kWh, prices and unit costs in yuan/kWh, time in the (dimensionless)
  time unit of the replicator dynamics. ``U_EV``, ``U_PG``, ``L_EV`` and ``L_PG`` are lump sums in
  yuan (the seed prints ``U`` as yuan/kWh but uses it as a lump sum, models.md §2.1).
* Equation numbers ``(n)`` refer to models.md §2.2. (6), (7), (10), (11), (14), (15), (18)-(20),
  (23), (24) are DERIVED there from the legible (4), (5), (8), (9), (16), (17).
* The replicator field is written in factored form::

      dx/dt = x (1 - x) (a y - L_EV),   a = E_d (p_d - L_B) + L_EV          (7)
      dy/dt = y (1 - y) (b x - c),      b = E_d (E_G - p_d - P_PG) + L_PG,
                                        c = E_c P_PG + L_PG                 (11)

  so that the edges of the unit square are exactly invariant. The coefficients are the properties
  :attr:`GameParams.a`, :attr:`GameParams.b`, :attr:`GameParams.c`; the discharge margins
  :meth:`GameParams.ev_discharge_margin` and :meth:`GameParams.pg_discharge_margin` give ``a`` and
  ``b`` at other prices.

Flag carried over from models.md: the stability of C(1, 1) on the EV side only needs ``p_d > L_B``;
the paper's price floor (18)/(20) is the participation (individual-rationality) condition (16)
against ``U_EV``, so :func:`v2gsim.game.price_range.price_range` is an IR range, not the ESS range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["GameParams", "as_params"]

_NONNEGATIVE = ("E_c", "E_d", "E_max", "p_c", "p_d", "L_B", "L_EV", "L_PG", "E_G", "P_PG")


@dataclass(frozen=True)
class GameParams:
    """Parameters of the EV/PG evolutionary game (models.md §2.1).

    Attributes:
        U_EV: EV users' normal income, lump sum (yuan). Seed: 0.5374.
        U_PG: PG normal income, lump sum (yuan). Seed: 0.4985.
        E_c: energy charged per EV in the valley period (kWh). Seed: 20.
        E_d: energy discharged to the grid when both cooperate (kWh).
        E_max: maximum discharge, 25 kWh x 0.8 depth (kWh); line 3 of Fig. 2. Seed: 20.
        p_c: charging (valley) price (yuan/kWh). Seed: 0.2856.
        p_d: discharge price paid by PG to EVs (yuan/kWh); the decision variable.
        L_B: battery loss per kWh charged or discharged (yuan/kWh). Seed: 0.41.
        L_EV: EV loss when it cooperates and PG does not, lump sum (yuan). Not given by the seed.
        L_PG: PG loss when it cooperates and EVs do not, lump sum (yuan). Not given by the seed.
        E_G: PG extra income per kWh discharged (yuan/kWh). Seed: 14900/(15*3.2*200).
        P_PG: PG infrastructure (charging-pile) cost per kWh (yuan/kWh). Seed: 0.0355.
    """

    U_EV: float
    U_PG: float
    E_c: float
    E_d: float
    E_max: float
    p_c: float
    p_d: float
    L_B: float
    L_EV: float
    L_PG: float
    E_G: float
    P_PG: float

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = float(getattr(self, f.name))
            if not math.isfinite(value):
                raise ValueError(f"GameParams.{f.name} must be finite, got {value!r}")
            if f.name in _NONNEGATIVE and value < 0:
                raise ValueError(f"GameParams.{f.name} must be >= 0, got {value!r}")
            object.__setattr__(self, f.name, value)
        if self.E_max <= 0:
            raise ValueError(f"GameParams.E_max must be > 0 kWh, got {self.E_max!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the twelve parameters, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any], base: GameParams | None = None) -> GameParams:
        """Build parameters from a mapping of field name -> value (units as in the class docstring).

        Args:
            m: mapping with keys among :meth:`field_names`.
            base: if given, fields missing from ``m`` are taken from it; otherwise every field
                is required.

        Raises:
            ValueError: naming the unknown keys, or the missing keys when ``base`` is None.
        """
        names = cls.field_names()
        unknown = sorted(set(m) - set(names))
        if unknown:
            raise ValueError(
                f"unknown game parameter(s): {', '.join(unknown)}; allowed: {', '.join(names)}"
            )
        if base is None:
            missing = [n for n in names if n not in m]
            if missing:
                raise ValueError(f"missing game parameter(s): {', '.join(missing)}")
            return cls(**{n: m[n] for n in names})
        return dataclasses.replace(base, **{n: m[n] for n in names if n in m})

    @classmethod
    def lin2020(cls, **overrides: float) -> GameParams:
        """The seed's case study (Lin, Feng & Lu 2020, §3.1; models.md §2.1 and §2.3).

        From the seed: U_EV = 0.5374, U_PG = 0.4985, E_c = E_max = 20 kWh (25 kWh x 0.8),
        p_c = 0.2856 yuan/kWh, L_B = 0.41 yuan/kWh, E_G = 14900/(15*3.2*200) yuan/kWh,
        P_PG = 0.0355 yuan/kWh. NOT given by the seed, illustrative only: E_d = 20 kWh (= E_max),
        p_d = 1.3 yuan/kWh (inside the price range), L_EV = L_PG = 1 yuan (the values used for the
        check in models.md §2.2).

        Args:
            **overrides: fields to replace.
        """
        base = cls(
            U_EV=0.5374,
            U_PG=0.4985,
            E_c=20.0,
            E_d=20.0,
            E_max=20.0,
            p_c=0.2856,
            p_d=1.3,
            L_B=0.41,
            L_EV=1.0,
            L_PG=1.0,
            E_G=14900.0 / (15.0 * 3.2 * 200.0),
            P_PG=0.0355,
        )
        return cls.from_mapping(overrides, base=base) if overrides else base

    def replace(self, **changes: float) -> GameParams:
        """Return a copy with some fields changed (validated like the constructor)."""
        return self.from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, float]:
        """Field name -> value (plain floats, JSON-serialisable)."""
        return {n: float(getattr(self, n)) for n in self.field_names()}

    # Net margins of the discharge of E_d kWh, and the coefficients of the factored field (7), (11).
    def ev_discharge_margin(self, p_d: ArrayLike | None = None) -> float | NDArray[np.float64]:
        """EV's net margin on the discharge: ``E_d (p_d - L_B)`` (yuan); ``S_EV1(y=1) - S_EV2``, (4) - (5).

        What a cooperating EV gains over a defector when the PG cooperates (price received minus
        battery loss).

        Args:
            p_d: discharge price(s) (yuan/kWh); default :attr:`p_d` (then a float is returned).
        """
        price = self.p_d if p_d is None else np.asarray(p_d, dtype=float)
        return self.E_d * (price - self.L_B)

    def pg_discharge_margin(self, p_d: ArrayLike | None = None) -> float | NDArray[np.float64]:
        """PG's net margin on the discharge: ``E_d (E_G - p_d - P_PG)`` (yuan); from (8).

        Extra income minus the price paid and the pile cost of the discharged energy.

        Args:
            p_d: discharge price(s) (yuan/kWh); default :attr:`p_d` (then a float is returned).
        """
        price = self.p_d if p_d is None else np.asarray(p_d, dtype=float)
        return self.E_d * (self.E_G - price - self.P_PG)

    @property
    def a(self) -> float:
        """Slope of S_EV1 - S_EV2 in y: E_d (p_d - L_B) + L_EV (yuan); from (7)."""
        return self.ev_discharge_margin() + self.L_EV

    @property
    def b(self) -> float:
        """Slope of S_PG1 - S_PG2 in x: E_d (E_G - p_d - P_PG) + L_PG (yuan); from (11)."""
        return self.pg_discharge_margin() + self.L_PG

    @property
    def c(self) -> float:
        """PG loss when it cooperates alone: E_c P_PG + L_PG (yuan); from (11)."""
        return self.pg_charge_cost + self.L_PG

    # Costs of the valley charge of E_c kWh (numerators of the break-even curves (23), (24)).
    @property
    def ev_charge_cost(self) -> float:
        """EV's cost of the valley charge, price plus battery loss: ``E_c (p_c + L_B)`` (yuan)."""
        return self.E_c * (self.p_c + self.L_B)

    @property
    def pg_charge_cost(self) -> float:
        """PG's pile cost of the valley charge: ``E_c P_PG`` (yuan)."""
        return self.E_c * self.P_PG


def as_params(params: GameParams | Mapping[str, Any]) -> GameParams:
    """Accept a :class:`GameParams` or a complete mapping of its fields."""
    if isinstance(params, GameParams):
        return params
    return GameParams.from_mapping(params)

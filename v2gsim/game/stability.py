"""Equilibria of the EV/PG replicator dynamics and their stability (seed 001): (14), (15).

The corners O(0,0), A(1,0), B(0,1), C(1,1) are always rest points of (7), (11); the interior
saddle D = (x_D, y_D) of (14), (15) exists when it lies strictly inside the unit square. Stability
comes from the eigenvalues of the analytic Jacobian (diagonal at the corners). Equation numbers
refer to ``docs/models.md`` §2.2 (the stability conditions are DERIVED there). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v2gsim.game.params import GameParams, as_params
from v2gsim.game.replicator import factored_field_jacobian, field_coefficients

__all__ = [
    "CORNERS",
    "classify_eigenvalues",
    "equilibria",
    "jacobian",
    "saddle_point",
    "stable_corners",
]

#: The corner rest points of (7), (11) as ``(name, x, y)``, in the order O, A, B, C.
CORNERS: tuple[tuple[str, float, float], ...] = (
    ("O", 0.0, 0.0),
    ("A", 1.0, 0.0),
    ("B", 0.0, 1.0),
    ("C", 1.0, 1.0),
)


def jacobian(x: float, y: float, params: GameParams) -> NDArray[np.float64]:
    """Analytic Jacobian of the replicator field (7), (11) at ``(x, y)`` (1/time).

    ``[[(1-2x)(a y - L_EV), x(1-x) a], [y(1-y) b, (1-2y)(b x - c)]]`` with a, b, c as in
    :mod:`v2gsim.game.params` (:func:`~v2gsim.game.replicator.factored_field_jacobian`).
    """
    return factored_field_jacobian(0.0, (x, y), *field_coefficients(params))


def classify_eigenvalues(eigenvalues: ArrayLike, tol: float = 1e-12) -> str:
    """Label a hyperbolic equilibrium from its Jacobian eigenvalues.

    Args:
        eigenvalues: the two eigenvalues (real or complex).
        tol: real parts with ``|Re| <= tol`` count as zero.

    Returns:
        ``"stable"`` (all Re < 0), ``"unstable"`` (all Re > 0), ``"saddle"`` (signs differ) or
        ``"non-hyperbolic"`` (a real part within ``tol`` of zero).
    """
    re = np.real(np.asarray(eigenvalues))
    if np.any(np.abs(re) <= tol):
        return "non-hyperbolic"
    if np.all(re < 0):
        return "stable"
    if np.all(re > 0):
        return "unstable"
    return "saddle"


def saddle_point(params: GameParams) -> tuple[float, float] | None:
    """Interior equilibrium D = (x_D, y_D), eqs. (14), (15), or None if not strictly inside (0,1)^2.

    ``x_D = (E_c P_PG + L_PG) / (E_d (E_G - p_d - P_PG) + L_PG)``,
    ``y_D = L_EV / (E_d (p_d - L_B) + L_EV)``.
    """
    p = params
    if p.a == 0 or p.b == 0:
        return None
    x_d = p.c / p.b
    y_d = p.L_EV / p.a
    if 0.0 < x_d < 1.0 and 0.0 < y_d < 1.0:
        return float(x_d), float(y_d)
    return None


def _eig(j: NDArray[np.float64]) -> NDArray[Any]:
    if j[0, 1] == 0.0 and j[1, 0] == 0.0:
        return np.array([j[0, 0], j[1, 1]])
    ev = np.linalg.eigvals(j)
    ev = ev[np.argsort(-ev.real, kind="stable")]
    if np.all(ev.imag == 0):
        return ev.real
    return ev


def equilibria(params: GameParams | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The equilibria O(0,0), A(1,0), B(0,1), C(1,1) and D(x_D, y_D) with their stability.

    D, from (14), (15), is included only when strictly inside the unit square. The Jacobian is the
    analytic one of :func:`jacobian`; at the corners it is diagonal and its eigenvalues are listed
    in (x, y) order, at D in decreasing real part.

    Args:
        params: game parameters (or a mapping of them).

    Returns:
        List of dicts ``{name, x, y, eigenvalues, label}``; ``eigenvalues`` is a list of floats
        (complex numbers only if the Jacobian has complex eigenvalues), ``label`` as in
        :func:`classify_eigenvalues`.
    """
    p = as_params(params)
    points: list[tuple[str, float, float]] = list(CORNERS)
    d = saddle_point(p)
    if d is not None:
        points.append(("D", d[0], d[1]))
    out = []
    for name, x, y in points:
        j = jacobian(x, y, p)
        ev = _eig(j)
        scale = max(1.0, float(np.max(np.abs(j))))
        out.append(
            {
                "name": name,
                "x": float(x),
                "y": float(y),
                "eigenvalues": [complex(v) if np.iscomplexobj(ev) else float(v) for v in ev],
                "label": classify_eigenvalues(ev, tol=1e-12 * scale),
            }
        )
    return out


def stable_corners(p: GameParams) -> list[tuple[float, float]]:
    """The stable corners among O, A, B, C as ``(x, y)`` (O and C with the seed's signs)."""
    return [(e["x"], e["y"]) for e in equilibria(p) if e["name"] != "D" and e["label"] == "stable"]

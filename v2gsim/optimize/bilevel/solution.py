"""Solution record of seed 000's bilevel problem (models.md §1.5), re-evaluated exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["BilevelSolution", "relative_gap"]


def relative_gap(upper_bound: float, value: float) -> float:
    """``(upper_bound − value) / max(|value|, 1e-9)``; ``inf`` when the bound is not finite."""
    return (upper_bound - value) / max(abs(value), 1e-9) if np.isfinite(upper_bound) else float("inf")


@dataclass
class BilevelSolution:
    """A solution of the bilevel problem, re-evaluated exactly.

    Attributes:
        rebates: (T,) rebates s_t ($ per plugged EV-hour).
        level_index: (T,) index of each rebate in ``instance.levels``.
        bids: (T,) closed-form bids C_t (kW) at the follower's persistencies.
        y: (T, n_clusters) hourly plug-in persistency of every cluster (follower, exact).
        plug_fraction: (T,) predicted fraction of the whole fleet plugged in, ``Σ_c π_c y_ct``.
        objective: V(s) = credits − rebates ($ per day), exactly re-evaluated.
        credit: Σ_t p̄_t C_t ($).
        rebate_cost: Σ_t s_t Σ_c M_c y_ct ($).
        objective_no_rebates: V(0), the ``chance`` policy's objective ($).
        upper_bound: certified upper bound on the optimum ($); ``inf`` when none.
        gap: ``(upper_bound − objective) / |objective|``.
        solve_time_s: wall-clock time of the solve (s).
        method: method used (``bnb``, ``coordinate``, ``misocp``, ``brute_force``).
        solver: engine (``batched-newton`` for the search methods, ``SCIP`` for the MISOCP).
        status: ``optimal`` (gap within the requested tolerance), ``time_limit`` (best found at
            the limit), ``feasible`` (heuristic without proof), ``fallback`` (the exact phase
            failed, best known solution returned; see ``message``).
        certificate: max |y − y_follower| over all arcs and clusters (method vs Newton follower).
        certificate_primal: same against Clarabel's primal SOCP of the follower.
        nodes: branch-and-bound nodes.
        evaluations: follower solves (rebate vectors × clusters).
        substitution: largest sampled substitution effect between charging hours (1/$; 0 means
            the charging arcs behaved as complements, models.md B3).
        message: notes (fallback reason, solver status).
    """

    rebates: NDArray[np.float64]
    level_index: NDArray[np.int64]
    bids: NDArray[np.float64]
    y: NDArray[np.float64]
    plug_fraction: NDArray[np.float64]
    objective: float
    credit: float
    rebate_cost: float
    objective_no_rebates: float
    upper_bound: float
    gap: float
    solve_time_s: float
    method: str
    solver: str
    status: str
    certificate: float
    certificate_primal: float
    nodes: int = 0
    evaluations: int = 0
    substitution: float = 0.0
    message: str = ""

    @property
    def improvement(self) -> float:
        """Relative gain over no rebates, ``objective / objective_no_rebates − 1``."""
        return self.objective / self.objective_no_rebates - 1.0 if self.objective_no_rebates else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists for arrays)."""
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                out[k] = v.tolist()
            elif isinstance(v, (np.floating, np.integer)):
                out[k] = v.item()
            else:
                out[k] = v
        out["improvement"] = self.improvement
        return out

"""Inverse-optimisation calibration of (μ, σ) from observed persistencies (models.md §1.3, C1-C4).

Given observed arc frequencies ``ŷ`` (e.g. from travel diaries), find arc utility moments under
which ``ŷ`` is (as nearly as possible) the persistency-model optimum (D2):

    (C1)  min_{μ, σ, ε, ρ, λ}  ε
    (C2)  s.t.  Σ_a (μ_a ŷ_a + σ_a √(ŷ_a(1−ŷ_a))) + ε  ≥  ½ Σ_a (λ_a + √(λ_a²+σ_a²)) + Σ_n f_n ρ_n
    (C3)        λ_a = μ_a − Σ_n b_na ρ_n
    (C4)        σ ≥ 0 and a normalisation (RECONSTRUCTED, see below).

The left of (C2) is the primal objective at ``ŷ`` and the right the dual (D4) at ``ρ``; by weak
duality ``ε ≥ 0`` is the duality gap of ``ŷ``, zero exactly when ``ŷ`` is optimal for (μ, σ). The
problem is an SOCP (``t_a ≥ ‖(λ_a, σ_a)‖``). ``ŷ`` must be a feasible flow (``B ŷ = f``,
``0 ≤ ŷ ≤ 1``); otherwise (C1)-(C3) is unbounded below.

**What ``ŷ`` identifies.** For arcs with ``0 < ŷ_a < 1``, ``ε = 0`` holds iff the KKT conditions
of (D2) hold:  ``μ_a − (ρ_tail − ρ_head) = σ_a g_a`` with ``g_a = (2ŷ_a − 1) / (2√(ŷ_a(1−ŷ_a)))``
(an arc with ``ŷ_a ∈ {0, 1}`` not fixed by the network needs ``σ_a = 0`` and ``λ_a`` of the
matching sign). These are ``n_arcs`` linear equations in ``(μ, σ, ρ)``, so the ε = 0 set is a
polyhedron, and it is never a single point without restrictions:

* *gauge*: ``μ → μ + Bᵀφ`` for any node potentials ``φ`` adds the same constant ``φ_s − φ_t`` to
  every path and changes no choice (``n_nodes − 1`` dimensions);
* *scale*: ``(μ, σ) → c (μ, σ)``, ``c > 0``, changes no choice;
* with ``σ`` free per arc, ``σ`` itself: any ``σ ≥ 0`` works with ``μ = σ∘g + Bᵀρ``, e.g. ``σ = 0``
  with ``μ = Bᵀρ`` (all paths equally good) reproduces *every* feasible ``ŷ``.

The data have ``n_arcs − n_nodes + 1`` degrees of freedom (the dimension of the flow polytope), so
at most that many parameters, plus one for the scale, can be recovered. The normalisation (C4) and
the parameterisation are therefore arguments:

* ``mu_map`` / ``mu_offset``: ``μ = mu_map θ_μ + mu_offset`` (default: every arc free), e.g. tie
  arcs of the same activity and hour, or fix utilities known a priori (travel costs);
* ``sigma`` (a known vector) *or* ``sigma_map``: ``σ = sigma_map θ_σ ≥ 0`` (default: every arc
  free), e.g. one σ per activity type (:func:`tie_map`);
* ``reference_arc`` / ``reference_value``: ``μ_ref = reference_value`` (the seed's baseline
  utility μ̄ = $200). It fixes the scale when σ is estimated, or one gauge direction when σ is
  known.

:func:`identification` reports the dimension of the set of (μ, σ) consistent with ``ŷ`` at ε = 0
for a parameterisation (0 means the calibration recovers (μ, σ) uniquely). When it is not 0, the
calibration still returns an ε-optimal (μ, σ), selected by minimum distance to a prior
(``selection="min_norm"``, default prior 0) so that the answer does not depend on the solver. Two
identified designs (both tested): ``σ`` known and ``μ`` fixed on a spanning tree of arcs (removes
the gauge), everything else free; ``σ`` tied to ``k_σ`` groups and ``μ = mu_offset + mu_map θ``
with ``d + 1 − k_σ`` generic columns (``d = n_arcs − n_nodes + 1``), plus one reference arc. Check a
design of your own with :func:`identification` before trusting the calibrated values.

After the SOCP, if ``ε`` is below ``polish_tol``, the solution is projected onto the linear KKT set
above (nearest point; σ ≥ 0 and the boundary signs are checked, else the SOCP point is kept). This
removes the interior-point solver's error (~1e-4 relative on μ without it, machine precision with
it); ``CalibrationResult.polished`` says whether it was applied.
"""

from v2gsim.behavior.calibration.inverse import CalibrationResult, calibrate, duality_gap
from v2gsim.behavior.calibration.kkt import Identification, identification, tie_map

__all__ = [
    "CalibrationResult",
    "Identification",
    "calibrate",
    "duality_gap",
    "identification",
    "tie_map",
]

"""Chance-constrained regulation bids (models.md §1.4): the bounds (3), (4) in closed form,
as cvxpy cones, and the bid problem (CP)."""

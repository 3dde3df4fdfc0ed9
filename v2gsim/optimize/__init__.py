"""Optimization models (pure math): solver layer, chance-constrained bids, the seed-000 bilevel
problem.

Never imports the scenario schema or Mesa. This package imports nothing on its own; import its
modules (docs/architecture.md).
"""

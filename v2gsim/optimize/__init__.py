"""Optimization models (pure math): chance-constrained bids, the seed-000 bilevel problem, the
seed-002 V2A site schedule, the seed-003 aggregator and the seed-004 robust plan.

Never imports the scenario schema or Mesa. This package imports nothing on its own; import its
modules (docs/architecture.md).
"""

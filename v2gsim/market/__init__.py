"""The regulation market (pure math): AGC signals, prices, deviations and chance bounds,
requirement statistics, settlement, and the sources of a run's exogenous series.

Never imports the scenario schema or Mesa. This package imports nothing on its own; import its
modules (docs/architecture.md).
"""

"""Driver behaviour (pure math, seed 000): persistency model, calibration, sampled and extremal
drivers, recursive logit, real sessions.

Never imports the scenario schema or Mesa. This package imports nothing on its own; import its
modules (docs/architecture.md).
"""

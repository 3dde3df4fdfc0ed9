"""The seed-001 evolutionary discharge-price game (pure math): payoffs, replicator dynamics,
equilibria, price range, basins, imitation, the grid company's price dynamics, Bayesian comparison.

Never imports the scenario schema or Mesa. This package imports nothing on its own; import its
modules (docs/architecture.md).
"""

"""Experiments and their directories: one run, Monte Carlo sweeps, policy comparisons,
aggregation, promise statistics and the HTML report. Imports nothing."""

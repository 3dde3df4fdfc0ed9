"""Core data structures of the simulation: the activity network, DAG helpers, the fleet's
batteries, battery degradation, the named random streams and the checked solves of every cvxpy
problem (``solvers``). Imports nothing."""

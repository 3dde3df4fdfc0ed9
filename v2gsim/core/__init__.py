"""Core data structures of the simulation: the activity network, DAG helpers, the fleet's
batteries, battery degradation and the named random streams. Imports nothing."""

"""Mesa agents of the model (driver population and agents, platform, TSO, grid company).

Thin: each reads state, calls a pure function and writes the result back. This package imports
nothing on its own; import its modules.
"""

"""Plain run specifications (``run``) and the one adapter that turns a validated Scenario into
them (``build``). Imports nothing."""

"""The simulation: the Mesa model, its agents, the day's ledger and the fleet records.
Imports nothing (``from v2gsim.sim.model import V2GMarketModel``)."""

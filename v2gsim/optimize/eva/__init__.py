"""Seed 003 (Ma, Liu, Tian, Peng 2025): EV aggregator with charging discounts and discharging subsidies.

Everything in this package is RECONSTRUCTED (models.md §4.2): feasible regions (F1)-(F3) in
:mod:`.regions` and :mod:`.population`, willingness (W) in :mod:`.willingness`, the revenue model (O)
with constraints (a)-(e) in :mod:`.revenue`. Pure math: no config, no mesa.
"""

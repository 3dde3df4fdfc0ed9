"""The live browser view (Mesa SolaraViz; extra ``[view]``). Imports nothing."""

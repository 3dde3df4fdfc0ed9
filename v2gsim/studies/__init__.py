"""The library halves of the seed studies: one site-day from a scenario (seeds 002-004) and
calibration from real sessions. Imports nothing."""

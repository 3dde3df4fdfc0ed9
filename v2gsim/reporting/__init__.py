"""Figures drawn from result tables (matplotlib; the backend is the user's). Imports nothing."""

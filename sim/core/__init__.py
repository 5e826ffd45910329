"""Shared core: YAML loading with positions, units, calendar, errors."""

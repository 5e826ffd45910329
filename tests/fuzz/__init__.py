"""Fuzzing helpers: mutations of the shipped scenarios and a harness that runs them through the CLI."""

"""Sweeps and sensitivity analysis: OAT, Monte Carlo, LHS, Sobol and Morris over registry ranges.

One idea per module:

- :mod:`.factors`    which parameters a sweep varies (registry ranges, levers with a range)
- :mod:`.design`     samplers: unit-cube draws mapped through each parameter's distribution
- :mod:`.evaluate`   evaluators (design chunk -> KPI table): the stock-flow engine, or any function
- :mod:`.executors`  where chunks run: in-process, a local process pool, or a Dask cluster
- :mod:`.storage`    Parquet shards, the manifest of finished chunks, resume checks
- :mod:`.series`     time series reduced to percentile bands from a fixed-size subsample
- :mod:`.analysis`   Sobol / Morris / OAT / rank-correlation indices as one tidy table
- :mod:`.plots`      tornado, fan chart, histograms, Sobol bars, Morris mu*-sigma
- :mod:`.run`        the driver and :class:`SweepResult`
- :mod:`.analytic`   test functions with known indices (Ishigami, Sobol G, linear)

>>> from sim.sweep import sweep
>>> res = sweep("scenarios/graphite-controls-2025.yaml", method="sobol", samples=1024)
>>> res.to_df()          # kpi, param, index, value, ci_low, ci_high
>>> res.plot("peak_shortfall_fraction")
"""
from __future__ import annotations

from typing import Any

__all__ = ["sweep", "sweep_function", "SweepResult", "load_sweep", "METHODS"]

METHODS = ("oat", "mc", "lhs", "sobol", "morris")


def __getattr__(name: str) -> Any:
    if name in ("sweep", "sweep_function", "SweepResult", "load_sweep"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'sim.sweep' has no attribute '{name}'")

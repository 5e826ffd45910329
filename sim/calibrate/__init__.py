"""Calibration: fit registry parameters to cited observed series (``batsim calibrate TARGET``).

Modules, one idea each: :mod:`.periods` (months and years of a series), :mod:`.targets`
(load and check target files), :mod:`.fit` (vectorised search, scipy refinement, profile
likelihood, backtests), :mod:`.stockflow` (the stock-flow engine as a batch predictor),
:mod:`.learning` (learning curves and break-even scale), :mod:`.writeback` (calibrated
registry entries), :mod:`.plots`, :mod:`.run` (the whole procedure). Format and method:
docs/calibration.md.
"""
from __future__ import annotations

from typing import Any

__all__ = ["calibrate", "load_target"]


def __getattr__(name: str) -> Any:  # keep `import sim` light: scipy and pandas load only when used
    if name == "calibrate":
        from .run import calibrate

        return calibrate
    if name == "load_target":
        from .targets import load_target

        return load_target
    raise AttributeError(name)

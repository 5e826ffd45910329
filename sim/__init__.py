"""batsim: scenario simulator of battery supply-chain disruption, with cited parameters.

The Python API (``sim.load_scenario``, ``sim.run``) is loaded on first use so that
``import sim`` and ``batsim --help`` stay fast.
"""
from __future__ import annotations

from typing import Any

__all__ = ["load_scenario", "run", "compare", "Result", "BadInput"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("load_scenario", "run", "Result"):
        from . import api

        return getattr(api, name)
    if name == "compare":
        from .analysis.compare import compare

        return compare
    if name == "BadInput":
        from .core.errors import BadInput

        return BadInput
    raise AttributeError(f"module 'sim' has no attribute '{name}'")

"""batsim: scenario simulator of battery supply-chain disruption, with cited parameters.

The public API is loaded on first use so that ``import sim`` and ``batsim --help`` stay fast;
``dir(sim)`` lists it:

- ``load_scenario(path)`` -> :class:`Scenario`; ``run(scenario, samples=, seed=, engine=)`` -> :class:`Result`
  (``.summary()``, ``.kpi_table()``, ``.timeseries()``, ``.write(out)``; short repr, HTML table in notebooks)
- ``load_registry()``, ``audit()``: the parameter registry and its citation audit
- ``init_study(folder)``: a study folder of your own (``batsim init``)
- ``load_sweep(folder)``: a finished sweep (run one with ``sim.sweep.sweep``)
- ``shipped_scenarios()``: the folder of the shipped scenarios; ``BadInput``: the bad-input error
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "load_scenario": "api", "run": "api", "Result": "api",
    "Scenario": "scenario.compile",
    "BadInput": "core.errors",
    "load_registry": "provenance.registry",
    "audit": "provenance.audit",
    "init_study": "study",
    "load_sweep": "sweep.run",
    "shipped_scenarios": "paths",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module 'sim' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(__all__) | {"__version__", "__doc__", "__name__"})

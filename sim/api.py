"""The Python API: load a scenario, run it, get results a notebook can use.

>>> import sim
>>> scn = sim.load_scenario("scenarios/graphite-controls-2025.yaml")
>>> res = sim.run(scn, samples=1000, seed=7)
>>> res.summary()["peak_shortfall_fraction"]
>>> res.timeseries()            # pandas DataFrame, tidy
>>> res.write("outputs/")       # the same files as `batsim run`
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .provenance.registry import Registry, load_registry
from .scenario.compile import Resolved, Scenario, compile_document, resolve
from .scenario.load import load_document
from .stockflow import kpis as _kpis
from .stockflow.blocks import simulate_blocks
from .stockflow.engine import Trajectory
from .stockflow.ensemble import run_kpis

ENGINES = ("stockflow", "des", "hybrid")


def load_scenario(path: str | Path, registry: Registry | None = None) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario; raises BadInput listing every problem."""
    doc = load_document(path)
    reg = registry if registry is not None else load_registry(start=Path(path).parent)
    return compile_document(doc, reg)


@dataclass(repr=False)
class Result:
    """A finished run: the scenario, resolved values, trajectory and KPIs (arrays over samples)."""

    scenario: Scenario
    resolved: Resolved
    trajectory: Trajectory
    kpis: dict[str, np.ndarray]
    engine: str
    seed: int

    @property
    def samples(self) -> int:
        return self.resolved.samples

    @property
    def dates(self) -> list[dt.date]:
        return [self.scenario.calendar.date_of(d) for d in self.trajectory.t_days]

    def __repr__(self) -> str:
        from .outputs.display import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        from .outputs.display import html_table

        return html_table(self)

    def kpi_table(self) -> Any:
        """Every KPI as a pandas DataFrame: kpi, unit, value (median), and p05/p95 for ensembles."""
        import pandas as pd

        from .outputs.display import kpi_rows

        return pd.DataFrame(kpi_rows(self.summary()))

    def summary(self) -> dict[str, Any]:
        """The KPIs as written to summary.json (medians over samples, with quantiles)."""
        from .outputs.tables import summary

        return summary(self)

    def _need_series(self) -> None:
        if not self.trajectory.series:
            raise ValueError("this run kept KPIs only (record='summary'); run with record='full' for time series")

    def timeseries(self) -> Any:
        """The tidy time series as a pandas DataFrame (ensemble median)."""
        self._need_series()
        import io

        import pandas as pd

        from .outputs.tables import timeseries_csv

        return pd.read_csv(io.StringIO(timeseries_csv(self)), parse_dates=["time"], keep_default_na=False,
                           na_values=[""])

    def write(self, out: str | Path = "outputs", plots: bool = True, argv: list[str] | None = None,
              plot_format: str = "png", xlsx: bool = False) -> Path:
        """Write timeseries.csv, summary.json, manifest.json and plots/ into ``out/<scenario-id>/``
        (kpis.parquet for ensembles; kpis.xlsx with ``xlsx``; plots as png, svg or pdf)."""
        self._need_series()
        from .outputs.writer import write_run

        return write_run(self, Path(out), plots=plots, argv=argv, plot_format=plot_format, xlsx=xlsx)


def run(scenario: Scenario | str | Path, samples: int = 1, seed: int = 0, engine: str = "stockflow",
        given: dict[str, np.ndarray] | None = None, record: str | None = None,
        uncertain: bool | None = None, replications: int = 1, workers: int | None = None,
        memory: int | str | None = None) -> Result:
    """Run a scenario. ``samples > 1`` draws every ranged parameter from its distribution.

    ``given`` fixes parameter ids to arrays of length ``samples`` (a sweep's design).
    ``record`` is ``"full"`` (every series) or ``"summary"`` (what the KPIs need); by default
    full up to 2,000 samples. ``uncertain=False`` keeps every parameter not in ``given`` at its
    nominal value whatever ``samples`` is (a sweep's design varies only its own columns).
    Engines ``des`` and ``hybrid`` (sim.des, docs/des.md) run ``replications`` stochastic
    replications on ``workers`` processes; each replication is one sample of the result.
    ``memory`` is the stock-flow engine's budget (bytes, or '2GB'; default 512 MiB): it sets the
    samples per block (docs/performance.md) and raises MemoryBudgetError if the run cannot fit.
    """
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine '{engine}'; available: {', '.join(ENGINES)}")
    if samples < 1:
        raise ValueError("samples must be at least 1")
    if engine != "stockflow":
        from .des import run_des

        return run_des(scn, samples=samples, seed=seed, engine=engine, given=given, replications=replications,
                       workers=workers, uncertain=uncertain)
    if replications != 1:
        raise ValueError("replications apply to the des and hybrid engines; the stock-flow engine is deterministic")
    res = resolve(scn, samples=samples, seed=seed, given=given, uncertain=uncertain)
    record = record or ("full" if samples <= 2000 else "summary")
    if record == "summary":      # KPIs only: blocks of samples, bounded memory
        traj, k = run_kpis(scn, res, memory=memory)
    else:
        traj = simulate_blocks(scn, res, record=record, memory=memory)
        k = _kpis.compute(traj)
    return Result(scenario=scn, resolved=res, trajectory=traj, kpis=k, engine=engine, seed=seed)

"""The Python API: load a scenario, run it, get results a notebook can use.

>>> import sim
>>> scn = sim.load_scenario("scenarios/graphite-controls-2025.yaml")
>>> res = sim.run(scn, samples=1000, seed=7)
>>> res.summary()["peak_shortfall_fraction"]
>>> res.timeseries()            # pandas DataFrame, tidy
>>> res.write("outputs/")       # the same files as `batsim run`
>>> res.importers, res.importer  # every importing region of the run, and the one in focus
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .provenance.registry import Registry, load_registry
from .scenario.compile import Resolved, Scenario, compile_document, resolve
from .scenario.load import load_document
from .stockflow import kpis as _kpis
from .stockflow.blocks import simulate_blocks, simulate_market_blocks
from .stockflow.engine import Trajectory
from .stockflow.ensemble import BLOCK, block_for
from .stockflow.kpis import ImporterKPIs
from .stockflow.market_types import MarketTrajectory, single

ENGINES = ("stockflow", "des", "hybrid")


def load_scenario(path: str | Path, registry: Registry | None = None) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario; raises BadInput listing every problem."""
    doc = load_document(path)
    reg = registry if registry is not None else load_registry(start=Path(path).parent)
    return compile_document(doc, reg)


@dataclass(repr=False)
class Result:
    """A finished run: the scenario, resolved values, trajectory and KPIs (arrays over samples).

    ``trajectory`` and ``kpis`` are those of the importer in focus (``importer``); ``market`` holds
    every importer's trajectory and ``regions`` every importer's KPIs (one region for a run without
    a market). :meth:`for_importer` gives the same run seen from another importer.
    """

    scenario: Scenario
    resolved: Resolved
    trajectory: Trajectory
    kpis: dict[str, np.ndarray]
    engine: str
    seed: int
    market: MarketTrajectory | None = None
    regions: dict[str, ImporterKPIs] | None = None

    def __post_init__(self) -> None:
        if self.market is None:
            self.market = single(self.trajectory)
        if self.regions is None:
            self.regions = {self.market.focus: ImporterKPIs(self.kpis, _kpis.price_kpis(self.trajectory,
                                                                                            self.market.materials))}

    @property
    def importer(self) -> str:
        """The code of the importing region in focus (summary.json's top-level KPIs are its)."""
        assert self.market is not None
        return self.market.focus

    @property
    def importers(self) -> list[str]:
        """Every importing region of the run, by code."""
        assert self.market is not None
        return self.market.codes

    @classmethod
    def from_market(cls, scn: Scenario, res: Resolved, market: MarketTrajectory, engine: str = "stockflow",
                    seed: int = 0, regions: dict[str, ImporterKPIs] | None = None) -> "Result":
        """A result from a market run's trajectories (KPIs computed unless given), in the market's focus."""
        regions = regions if regions is not None else _kpis.compute_market(market)
        return cls(scenario=scn, resolved=res, trajectory=market.focused, kpis=regions[market.focus].kpis,
                   engine=engine, seed=seed, market=market, regions=regions)

    def for_importer(self, code: str) -> "Result":
        """The same run with ``code`` in focus; BadInput naming the importers (with a did-you-mean) if unknown."""
        assert self.market is not None and self.regions is not None
        check_importer(code, self.importers)
        mt = self.market.with_focus(code)
        return replace(self, market=mt, trajectory=mt.focused, kpis=self.regions[code].kpis)

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


def check_importer(code: str, importers: list[str], where: str = "--importer") -> None:
    """BadInput (exit 2 in the CLI) unless ``code`` is one of ``importers``: the list and a did-you-mean."""
    if code in importers:
        return
    from difflib import get_close_matches

    from .core.errors import bad, show

    near = get_close_matches(code.upper() if isinstance(code, str) else str(code), importers, n=1, cutoff=0.3)
    raise bad(where, f"unknown importer '{show(code)}'; this run's importers are {', '.join(importers)}",
              (f"did you mean '{near[0]}'? " if near else "") + "give one of the codes listed")


def _block(scn: Scenario, res: Resolved, record: str, memory: int | str | None) -> int:
    """Samples per block within the memory budget; a market's importers each hold a block's state."""
    from .scenario.market import importer_codes
    from .stockflow.memory import resolved_bytes

    n_imp = len(importer_codes(scn.data)) if scn.data.get("market") is not None else 1
    return max(1, block_for(scn, res.samples, memory, record, resolved_bytes(res)) // n_imp)


def _simulate(scn: Scenario, res: Resolved, record: str, memory: int | str | None = None,
              block: int | None = None) -> MarketTrajectory:
    """The one call into the engine: every importer's trajectory for the resolved samples."""
    if scn.data.get("market") is None:       # one importer: today's engine, in blocks with a progress bar
        return single(simulate_blocks(scn, res, record=record, block=block, memory=memory))
    return simulate_market_blocks(scn, res, record=record, block=block or _block(scn, res, record, memory))


def _light(parts: list[Trajectory]) -> Trajectory:
    """Blocks of a KPI-only run joined into one trajectory without series (shock and bind days kept)."""
    cat = lambda name: (None if getattr(parts[0], name, None) is None      # noqa: E731
                        else np.concatenate([getattr(p, name) for p in parts]))
    t = Trajectory(structure=parts[0].structure, t_days=parts[0].t_days, dt_days=parts[0].dt_days, series={},
                   shock_day=cat("shock_day"), mass_error_max=max(p.mass_error_max for p in parts))
    bind = cat("bind_day")
    if bind is not None:
        t.bind_day = bind       # type: ignore[attr-defined]
    return t


def _kpis_only(scn: Scenario, res: Resolved, block: int | None = None,
               memory: int | str | None = None) -> tuple[MarketTrajectory, dict[str, ImporterKPIs]]:
    """Every importer's KPIs block by block (memory bounded); the trajectories returned hold no series."""
    parts: list[dict[str, ImporterKPIs]] = []
    blocks: list[MarketTrajectory] = []
    block = block or _block(scn, res, "summary", memory)
    for a in range(0, res.samples, block):
        piece = res.slice(a, min(a + block, res.samples))
        mt = _simulate(scn, piece, "summary", block=piece.samples)
        parts.append(_kpis.compute_market(mt))
        blocks.append(replace(mt, importers={c: _light([t]) for c, t in mt.importers.items()}))   # series dropped
    codes = blocks[0].codes
    light = {c: _light([b.importers[c] for b in blocks]) for c in codes}
    return replace(blocks[0], importers=light), {c: ImporterKPIs.concat([p[c] for p in parts]) for c in codes}


def run(scenario: Scenario | str | Path, samples: int = 1, seed: int = 0, engine: str = "stockflow",
        given: dict[str, np.ndarray] | None = None, record: str | None = None,
        uncertain: bool | None = None, replications: int = 1, workers: int | None = None,
        importer: str | None = None, memory: int | str | None = None) -> Result:
    """Run a scenario. ``samples > 1`` draws every ranged parameter from its distribution.

    ``given`` fixes parameter ids to arrays of length ``samples`` (a sweep's design).
    ``record`` is ``"full"`` (every series) or ``"summary"`` (what the KPIs need); by default
    full up to 2,000 samples. ``uncertain=False`` keeps every parameter not in ``given`` at its
    nominal value whatever ``samples`` is (a sweep's design varies only its own columns).
    Engines ``des`` and ``hybrid`` (sim.des, docs/des.md) run ``replications`` stochastic
    replications on ``workers`` processes; each replication is one sample of the result.
    ``importer`` puts that importing region in focus (default: the scenario's ``importer``);
    an unknown code raises BadInput listing the run's importers.
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

        out = run_des(scn, samples=samples, seed=seed, engine=engine, given=given, replications=replications,
                      workers=workers, uncertain=uncertain)
        return out if importer is None else out.for_importer(importer)
    if replications != 1:
        raise ValueError("replications apply to the des and hybrid engines; the stock-flow engine is deterministic")
    res = resolve(scn, samples=samples, seed=seed, given=given, uncertain=uncertain)
    record = record or ("full" if samples <= 2000 else "summary")
    if record == "summary":      # KPIs only: blocks of samples, bounded memory
        mt, regions = _kpis_only(scn, res, memory=memory)
    else:
        mt = _simulate(scn, res, record, memory=memory)
        regions = _kpis.compute_market(mt)
    if importer is not None:
        check_importer(importer, mt.codes)
        mt = mt.with_focus(importer)
    return Result.from_market(scn, res, mt, engine=engine, seed=seed, regions=regions)

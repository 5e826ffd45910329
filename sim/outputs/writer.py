"""Write a run's folder atomically: timeseries.csv, summary.json, manifest.json, plots/ (and events.csv)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import manifest, tables
from .atomic import atomic_dir
from .strictjson import dumps, finite


def with_notes(summ: dict[str, Any]) -> dict[str, Any]:
    """``summ`` plus ``kpi_notes``: why each KPI that has no value (null) has none."""
    from ..stockflow.kpis import KPI_UNITS, undefined_reason

    notes = {k: undefined_reason(k, summ) for k in KPI_UNITS if k in summ and summ[k] is None}
    return {**summ, "kpi_notes": notes} if notes else summ


def write_run(result: Any, out: Path, plots: bool = True, argv: list[str] | None = None) -> Path:
    """Write ``out/<scenario-id>/``; the folder appears complete or not at all."""
    final = Path(out) / result.scenario.id
    with atomic_dir(final) as tmp:
        (tmp / "timeseries.csv").write_text(tables.timeseries_csv(result), encoding="utf-8")
        if result.samples > 1:
            (tmp / "timeseries_bands.csv").write_text(tables.bands_csv(result), encoding="utf-8")
        summ = result.summary() if hasattr(result, "summary") else tables.summary(result)
        (tmp / "summary.json").write_text(dumps(with_notes(finite(summ))), encoding="utf-8")
        man = manifest.build(result, argv)
        if hasattr(result, "manifest_extra"):        # engine-specific records (DES: replications, settings)
            man.update(result.manifest_extra())
        (tmp / "manifest.json").write_text(dumps(man), encoding="utf-8")
        if hasattr(result, "events_csv"):            # discrete-event engines: events.csv
            (tmp / "events.csv").write_text(result.events_csv(), encoding="utf-8")
        if plots:
            from .plots import write_plots

            write_plots(result, tmp / "plots")
    return final

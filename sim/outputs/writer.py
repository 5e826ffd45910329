"""Write a run's folder atomically: timeseries.csv, summary.json, manifest.json, plots/ (and events.csv)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import manifest, tables
from .atomic import atomic_dir


def write_run(result: Any, out: Path, plots: bool = True, argv: list[str] | None = None, plot_format: str = "png",
              xlsx: bool = False) -> Path:
    """Write ``out/<scenario-id>/``; the folder appears complete or not at all.

    Ensembles (samples > 1) also get kpis.parquet (one row per sample); ``xlsx`` adds kpis.xlsx
    (KPI table and time series); plots are written as ``plot_format`` (png, svg or pdf).
    """
    final = Path(out) / result.scenario.id
    with atomic_dir(final) as tmp:
        (tmp / "timeseries.csv").write_text(tables.timeseries_csv(result), encoding="utf-8")
        if result.samples > 1:
            (tmp / "timeseries_bands.csv").write_text(tables.bands_csv(result), encoding="utf-8")
            from ..sweep.storage import write_parquet

            write_parquet(tmp / "kpis.parquet", tables.kpi_columns(result))
        summ = result.summary() if hasattr(result, "summary") else tables.summary(result)
        (tmp / "summary.json").write_text(json.dumps(summ, indent=2, ensure_ascii=False, default=str) + "\n",
                                          encoding="utf-8")
        man = manifest.build(result, argv)
        if hasattr(result, "manifest_extra"):        # engine-specific records (DES: replications, settings)
            man.update(result.manifest_extra())
        (tmp / "manifest.json").write_text(json.dumps(man, indent=2, ensure_ascii=False, default=str) + "\n",
                                           encoding="utf-8")
        if hasattr(result, "events_csv"):            # discrete-event engines: events.csv
            (tmp / "events.csv").write_text(result.events_csv(), encoding="utf-8")
        if plots:
            from .plots import write_plots

            write_plots(result, tmp / "plots", fmt=plot_format)
        if xlsx:
            from .xlsx import run_workbook

            run_workbook(result, tmp / "kpis.xlsx")
    return final

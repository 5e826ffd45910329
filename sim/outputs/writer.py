"""Write a run's folder atomically: timeseries.csv, summary.json, manifest.json, plots/ (and events.csv)."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from . import manifest, tables
from .atomic import folder_lock, recover, replace_dir
from .strictjson import dumps, finite

MAX_COPIES = 999


def scenario_path(scn: Any) -> str | None:
    """The absolute path of the scenario file a result came from (None if built in Python)."""
    files = list(getattr(scn, "files", None) or [])
    return str(Path(files[-1]).resolve()) if files else None


def _owner(folder: Path) -> tuple[bool, str | None]:
    """(is a batsim run folder, absolute path of the scenario file whose result it holds)."""
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, None
    if not isinstance(m, dict) or "inputs" not in m:
        return False, None
    if "scenario_path" in m:
        return True, m["scenario_path"]
    paths = [i.get("path") for i in m.get("inputs", []) if isinstance(i, dict) and i.get("role") == "scenario"]
    return True, (str(Path(paths[0]).resolve()) if paths and paths[0] else None)


@contextlib.contextmanager
def run_folder(out: Path, scn: Any) -> Iterator[tuple[Path, Path]]:
    """Claim ``out/<id>`` (or ``<id>-2``, ``-3``, ...) and yield (final folder, temporary folder).

    Re-running the same scenario file replaces its own folder; a folder holding the result of
    another scenario file with the same id (or anything that is not a batsim run) is left alone
    and the next free ``<id>-N`` is used, with a note on stderr. Each candidate is examined
    under its lock, after repairing what a killed run left there.
    """
    mine = scenario_path(scn)
    first = Path(out) / scn.id
    for k in range(1, MAX_COPIES + 1):
        final = first if k == 1 else first.with_name(f"{scn.id}-{k}")
        with folder_lock(final):
            recover(final)
            if (final.exists() or final.is_symlink()) and not (final.is_dir() and not any(final.iterdir())):
                is_run, theirs = _owner(final)
                if not is_run or theirs != mine:
                    continue
            if k > 1:
                print(f"batsim: note: {first} holds " + ("the result of another scenario file" if _owner(first)[0]
                                                        else "files that are not a batsim run")
                      + f"; writing {final} instead (a run never replaces another scenario's folder)",
                      file=sys.stderr)
            with replace_dir(final) as tmp:
                yield final, tmp
            return
    raise RuntimeError(f"{MAX_COPIES} folders named {first}-N hold other results; clean up {first.parent}")


def with_notes(summ: dict[str, Any]) -> dict[str, Any]:
    """``summ`` plus ``kpi_notes``: why each KPI that has no value (null) has none; each entry of
    ``regions`` gets its own (a price KPI is noted when any material's value is null)."""
    from ..stockflow.kpis import KPI_UNITS, PRICE_KPIS, undefined_reason

    def notes_of(sec: dict[str, Any]) -> dict[str, str]:
        ctx = {"samples": summ.get("samples", 1), **sec}
        out = {k: undefined_reason(k, ctx) for k in KPI_UNITS if k in sec and sec[k] is None}
        out.update({k: undefined_reason(k, ctx) for k in PRICE_KPIS
                    if isinstance(sec.get(k), dict) and any(v is None for v in sec[k].values())})
        return out

    out = dict(summ)
    if isinstance(summ.get("regions"), dict):
        out["regions"] = {}
        for code, sec in summ["regions"].items():
            n = notes_of(sec) if isinstance(sec, dict) else {}
            out["regions"][code] = {**sec, "kpi_notes": n} if n else sec
    notes = notes_of({k: v for k, v in summ.items() if k != "regions"})
    return {**out, "kpi_notes": notes} if notes else out


def write_run(result: Any, out: Path, plots: bool = True, argv: list[str] | None = None, plot_format: str = "png",
              xlsx: bool = False) -> Path:
    """Write ``out/<scenario-id>/``; the folder appears complete or not at all.

    Ensembles (samples > 1) also get kpis.parquet (one row per sample); ``xlsx`` adds kpis.xlsx
    (KPI table and time series); plots are written as ``plot_format`` (png, svg or pdf).
    """
    with run_folder(Path(out), result.scenario) as (final, tmp):
        (tmp / "timeseries.csv").write_text(tables.timeseries_csv(result), encoding="utf-8")
        if result.samples > 1:
            (tmp / "timeseries_bands.csv").write_text(tables.bands_csv(result), encoding="utf-8")
            from ..sweep.storage import write_parquet

            write_parquet(tmp / "kpis.parquet", tables.kpi_columns(result))
        summ = result.summary() if hasattr(result, "summary") else tables.summary(result)
        (tmp / "summary.json").write_text(dumps(with_notes(finite(summ))), encoding="utf-8")
        man = manifest.build(result, argv)
        if hasattr(result, "manifest_extra"):        # engine-specific records (DES: replications, settings)
            man.update(result.manifest_extra())
        man["scenario_path"] = scenario_path(result.scenario)   # whose folder this is (see run_folder)
        (tmp / "manifest.json").write_text(dumps(man), encoding="utf-8")
        if hasattr(result, "events_csv"):            # discrete-event engines: events.csv
            (tmp / "events.csv").write_text(result.events_csv(), encoding="utf-8")
        if plots:
            from .plots import write_plots

            write_plots(result, tmp / "plots", fmt=plot_format)
        if xlsx:
            from .xlsx import run_workbook

            run_workbook(result, tmp / "kpis.xlsx")
    return final

"""Write a run's folder atomically: timeseries.csv, summary.json, manifest.json, plots/ (and events.csv)."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from . import manifest, tables
from .atomic import folder_lock, recover, replace_dir

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


def write_run(result: Any, out: Path, plots: bool = True, argv: list[str] | None = None) -> Path:
    """Write ``out/<scenario-id>/``; the folder appears complete or not at all."""
    with run_folder(Path(out), result.scenario) as (final, tmp):
        (tmp / "timeseries.csv").write_text(tables.timeseries_csv(result), encoding="utf-8")
        if result.samples > 1:
            (tmp / "timeseries_bands.csv").write_text(tables.bands_csv(result), encoding="utf-8")
        summ = result.summary() if hasattr(result, "summary") else tables.summary(result)
        (tmp / "summary.json").write_text(json.dumps(summ, indent=2, ensure_ascii=False, default=str) + "\n",
                                          encoding="utf-8")
        man = manifest.build(result, argv)
        if hasattr(result, "manifest_extra"):        # engine-specific records (DES: replications, settings)
            man.update(result.manifest_extra())
        man["scenario_path"] = scenario_path(result.scenario)   # whose folder this is (see run_folder)
        (tmp / "manifest.json").write_text(json.dumps(man, indent=2, ensure_ascii=False, default=str) + "\n",
                                           encoding="utf-8")
        if hasattr(result, "events_csv"):            # discrete-event engines: events.csv
            (tmp / "events.csv").write_text(result.events_csv(), encoding="utf-8")
        if plots:
            from .plots import write_plots

            write_plots(result, tmp / "plots")
    return final

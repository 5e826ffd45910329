"""The sweep driver: design -> chunks -> executor -> shards -> analysis -> files, and SweepResult.

:func:`sweep` runs a scenario on the stock-flow engine; :func:`sweep_function` runs the same
machinery on any function of the design (analytic test functions, notebooks); both end in
:func:`execute`. Chunk boundaries depend only on the number of evaluations (or an explicit
``chunk_size``), never on the executor or worker count, so results are identical whatever
runs them.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..core.errors import bad
from ..outputs.atomic import folder_lock
from . import executors as ex
from .analysis import COLUMNS, analyse
from .design import Design, int_seed, make, seed_record, seeds
from .evaluate import ChunkTask, EngineEvaluator, FunctionEvaluator
from .factors import Factor, choose
from .series import KEEP, QUANTILES, bands, bands_columns, keep_indices
from .storage import Store, check_resume, scenario_fingerprint

CHUNK_MIN, CHUNK_MAX, CHUNKS_TARGET = 1024, 4096, 32
Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def auto_chunk(n: int) -> int:
    """Evaluations per chunk: about n/32, between 1,024 and 4,096 (depends on n only).

    The engine's per-step Python overhead is paid once per block of up to 1,024 samples, so
    smaller chunks waste time; 32 chunks keep a few workers busy and make resume granular.
    """
    return int(min(CHUNK_MAX, max(CHUNK_MIN, math.ceil(n / CHUNKS_TARGET))))


# ---- the result ---------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """A finished sweep: design, KPIs per sample, tidy indices, bands; ``to_df()`` and ``plot()``."""

    method: str
    factors: list[Factor]
    design: np.ndarray
    kpis: dict[str, np.ndarray]
    errors: list[str | None]
    indices: list[dict[str, Any]]
    units: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, np.ndarray] = field(default_factory=dict)
    times: list[str] = field(default_factory=list)
    series_units: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def failures(self) -> int:
        return sum(e is not None for e in self.errors)

    def to_df(self) -> Any:
        """The indices as a tidy pandas DataFrame: kpi, param, index, value, ci_low, ci_high."""
        import pandas as pd

        return pd.DataFrame(self.indices, columns=list(COLUMNS))

    def results_df(self) -> Any:
        """One row per evaluation: sample, the design (factor columns), every KPI, error."""
        import pandas as pd

        df = pd.DataFrame(self.design, columns=[f.id for f in self.factors])
        df.insert(0, "sample", np.arange(len(self.design)))
        for k, v in self.kpis.items():
            df[k] = v
        df["error"] = self.errors
        return df

    def plot(self, kpi: str | None = None, ax: Any = None) -> Any:
        """The method's plot for one KPI (tornado, Sobol bars, mu*-sigma, or histogram); returns the axes."""
        from . import plots

        plt = plots._plt()
        analysed = list(dict.fromkeys(r["kpi"] for r in self.indices)) or list(self.kpis)
        kpi = kpi or analysed[0]
        if kpi not in self.kpis:
            raise KeyError(f"unknown KPI '{kpi}'; one of {', '.join(self.kpis)}")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 5))
        fmap = {f.id: f for f in self.factors}
        unit = self.units.get(kpi, "")
        if self.method == "oat":
            plots.tornado(ax, kpi, self.indices, float(self.kpis[kpi][0]), unit, fmap)
        elif self.method == "sobol":
            plots.sobol_bars(ax, kpi, self.indices, fmap, int(self.summary.get("samples", 0)))
        elif self.method == "morris":
            plots.morris_scatter(ax, kpi, self.indices, unit, fmap)
        else:
            plots.histogram(ax, kpi, self.kpis[kpi], unit)
        return ax


# ---- entry points -------------------------------------------------------------------------------

def sweep(scenario: Any, method: str, samples: int | None = None, seed: int | None = None,
          params: list[str] | None = None, workers: int | None = None, executor: str = "local",
          scheduler: str | None = None, out: str | Path | None = "outputs", resume: bool = False,
          chunk_size: int | None = None, progress: bool = False, plots: bool = True, keep: int = KEEP,
          plot_format: str = "png", memory: int | str | None = None,
          argv: list[str] | None = None, log: Log = _stderr) -> SweepResult:
    """Sweep a scenario's uncertain parameters on the stock-flow engine into ``out/<id>-<method>/``.

    ``memory`` (bytes or '2GB') is the engine's budget on this machine, shared by the local
    workers (each gets its part); with Dask it is each worker's. Results do not depend on it.

    With ``resume=True``, settings not given (samples, seed, params, chunk_size) are taken from
    the folder's manifest. ``out=None`` runs in a temporary folder (no files kept, no plots).
    """
    from ..api import load_scenario
    from ..scenario.compile import Scenario

    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    folder = Path(out) / f"{scn.id}-{method}" if out is not None else None
    if resume and folder is not None and Store(folder).exists():
        old = Store(folder).read()
        samples = samples if samples is not None else (old.get("samples") if method != "oat" else None)
        seed = seed if seed is not None else old.get("seed", {}).get("seed")
        params = params or [f["id"] for f in old.get("factors", [])]
        chunk_size = chunk_size or old.get("chunk_size")
    factors = choose(scn, params)
    design = make(method, factors, samples, 0 if seed is None else seed)
    for note in design.meta.get("notes", []):
        log(f"note: {note}")
    evaluator = EngineEvaluator(scn, design.ids, memory=worker_budget(memory, executor, workers))
    if evaluator.memory is not None:  # a budget too small for one chunk fails here, before anything is written
        from ..stockflow.ensemble import block_for

        block_for(scn, min(design.n, int(chunk_size or auto_chunk(design.n))), evaluator.memory)
    horizon = float((scn.calendar.end - scn.calendar.start).days)
    return execute(design, evaluator, lambda: ex.make(executor, workers, scheduler), folder, resume=resume,
                   scenario=scenario_fingerprint(scn), censor={"days_until_stockout": horizon},
                   chunk_size=chunk_size, progress=progress, plots=plots, keep=keep, argv=argv, log=log,
                   plot_format=plot_format)


def worker_budget(memory: int | str | None, executor: str, workers: int | None) -> int | None:
    """Each worker's part of the budget: local workers share it; a Dask worker has its own."""
    if memory is None:
        return None
    from ..stockflow.memory import parse_memory

    total = parse_memory(memory)
    return total if executor == "dask" else total // (workers or ex.cpu_count())


def sweep_function(fn: Callable[[np.ndarray], Any], factors: list[Factor], method: str, samples: int | None = None,
                   seed: int = 0, workers: int | None = 1, executor: str = "local", scheduler: str | None = None,
                   folder: str | Path | None = None, resume: bool = False, chunk_size: int | None = None,
                   plots: bool = False, units: dict[str, str] | None = None, log: Log = _stderr) -> SweepResult:
    """The same machinery on ``fn(X) -> y or {kpi: y}`` (``fn`` importable, so it can be pickled)."""
    design = make(method, factors, samples, seed)
    for note in design.meta.get("notes", []):
        log(f"note: {note}")
    evaluator = FunctionEvaluator(fn, kpi_units=dict(units or {}))
    return execute(design, evaluator, lambda: ex.make(executor, workers, scheduler),
                   Path(folder) if folder is not None else None, resume=resume, chunk_size=chunk_size,
                   plots=plots, keep=0, log=log)


# ---- the driver ---------------------------------------------------------------------------------

def _tasks(design: Design, cs: int, todo: list[int], kept: np.ndarray) -> Iterator[ChunkTask]:
    """The chunks still to do, each with its rows and its kept-series rows."""
    for i in todo:
        a, b = i * cs, min((i + 1) * cs, design.n)
        k = kept[(kept >= a) & (kept < b)] - a
        yield ChunkTask(i, a, np.ascontiguousarray(design.values[a:b]), k.astype(np.int64))


def _manifest(design: Design, evaluator: Any, scenario: dict[str, Any] | None, cs: int, kept: int,
              argv: list[str] | None) -> dict[str, Any]:
    from ..outputs.manifest import _version

    return {
        "scenario": scenario or {},
        "method": design.method,
        "samples": design.meta.get("samples"),
        "requested_samples": design.meta.get("requested_samples"),
        "evaluations": design.n,
        "seed": seed_record(design.meta.get("seed", 0)),
        "factors": [f.record() for f in design.factors],
        "design": {"hash": design.hash(), **{k: v for k, v in design.meta.items() if k not in ("notes",)}},
        "chunk_size": cs,
        "chunks": math.ceil(design.n / cs),
        "kpi_units": dict(getattr(evaluator, "kpi_units", {})),
        "series": {"method": f"fixed-size subsample of {kept} samples drawn before the sweep (SeedSequence child "
                             "'series'); percentile bands over it", "kept": kept,
                   "quantiles": list(QUANTILES), "units": dict(getattr(evaluator, "series_units", {}))},
        "command": argv,
        "versions": {"python": sys.version.split()[0],
                     **{k: _version(k) for k in ("batsim", "numpy", "scipy", "SALib", "pyarrow", "distributed")}},
        "runs": [],
    }


def execute(design: Design, evaluator: Any, executor_factory: Callable[[], Any], folder: Path | None, *,
            resume: bool = False, scenario: dict[str, Any] | None = None, censor: dict[str, float] | None = None,
            chunk_size: int | None = None, progress: bool = False, plots: bool = True, keep: int = KEEP,
            plot_format: str = "png", argv: list[str] | None = None, log: Log = _stderr,
            finisher: Callable[..., Any] | None = None) -> Any:
    """Run ``design`` through ``evaluator`` chunk by chunk into ``folder`` (a temporary one if None).

    ``finisher(design, store, evaluator, plots=, log=, plot_format=)`` replaces the sweep analysis
    (:func:`finish`) at the end, e.g. for ``batsim explore``; its return value is returned.
    """
    if chunk_size is not None and chunk_size < 1:
        raise bad("--chunk-size", f"--chunk-size must be at least 1 (got {chunk_size})")
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="batsim-sweep-") as tmp:
            res = execute(design, evaluator, executor_factory, Path(tmp) / "sweep", scenario=scenario, censor=censor,
                          chunk_size=chunk_size, progress=progress, plots=False, keep=keep, argv=argv, log=log)
            res.folder = None
            return res
    if any(p.is_symlink() for p in (folder, *(folder / k for k in ("design", "results", "series", "plots")))):
        raise bad(str(folder), "the sweep folder (or a folder in it) is a symbolic link; a sweep does not write "
                               "through links", "choose another --out, or replace the link by a real folder")
    with folder_lock(folder, what="sweep"):
        return _execute(design, evaluator, executor_factory, folder, resume=resume, scenario=scenario,
                        censor=censor, chunk_size=chunk_size, progress=progress, plots=plots, keep=keep, argv=argv,
                        log=log, plot_format=plot_format, finisher=finisher)


def _execute(design: Design, evaluator: Any, executor_factory: Callable[[], Any], folder: Path, *, resume: bool,
             scenario: dict[str, Any] | None, censor: dict[str, float] | None, chunk_size: int | None,
             progress: bool, plots: bool, keep: int, argv: list[str] | None, log: Log,
             plot_format: str = "png", finisher: Callable[..., Any] | None = None) -> Any:
    """:func:`execute` with the folder's lock held."""
    cs = int(chunk_size or auto_chunk(design.n))
    has_series = bool(getattr(evaluator, "series_units", None)) and design.method in ("mc", "lhs")
    kept = keep_indices(design.n, seeds(design.meta.get("seed", 0))["series"], keep if has_series else 0)
    new = _manifest(design, evaluator, scenario, cs, len(kept), argv)
    store = Store(folder)
    done: set[int] = set()
    if store.exists():
        old = store.read()
        if not resume:
            n_done = len(store.finished())
            if n_done:
                raise bad(str(folder), f"this folder already holds a sweep ({n_done}/{old.get('chunks')} chunks "
                                       f"finished, status {old.get('status')})",
                          "pass --resume to finish it (or to redo its analysis), choose another --out, or delete "
                          "the folder; nothing was changed")
        else:
            check_resume(old, new, folder)
            stray = store.clean_tmp()
            if stray:
                log(f"resume: removed {len(stray)} temporary file(s) left by an interrupted sweep")
            done = store.verify(cs, design.n, log)
    elif resume:
        log(f"note: nothing to resume in {folder}; starting the sweep")
    runner = executor_factory()   # may fail (e.g. no scheduler) before anything is written
    try:
        if not done and not (resume and store.exists()):
            store.create(new)
        else:
            store.manifest["kpi_units"] = new["kpi_units"]
        chunks = new["chunks"]
        for i in range(chunks):
            if not store.shard("design", i).is_file():
                a, b = i * cs, min((i + 1) * cs, design.n)
                store.write_design(i, a, design.values[a:b], design.ids)
        todo = [i for i in range(chunks) if i not in done]
        run_info = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "executor": runner.name,
                    "workers": runner.workers, "chunks_to_do": len(todo)}
        store.manifest.setdefault("runs", []).append(run_info)
        store.manifest["status"] = "running"
        store.save()
        if done:
            log(f"resuming: {len(done)}/{chunks} chunks already finished, {len(todo)} to go")
        t0 = time.perf_counter()
        evals = 0
        from tqdm import tqdm

        done_evals = sum(min(cs, design.n - i * cs) for i in done)
        bar = tqdm(total=design.n, initial=done_evals, unit="eval", file=sys.stderr, disable=not progress,
                   desc=f"{design.method} sweep", dynamic_ncols=True, smoothing=0.1)
        results = runner.run(evaluator, _tasks(design, cs, todo, kept))
        try:
            for res in results:
                record = store.write_result(res)
                by = run_info.setdefault("chunks_by_worker", {})
                by[res.worker] = by.get(res.worker, 0) + 1
                store.mark_done(res.index, len(res.errors), res.seconds, record)
                evals += res.n
                bar.update(res.n)
                if res.errors:
                    bar.set_postfix(failed=store.manifest["failures"])
        except KeyboardInterrupt:
            bar.close()
            run_info["interrupted"] = True
            store.save()
            n_done = len(store.manifest.get("finished", []))
            log(f"interrupted: {n_done}/{chunks} chunks are saved in {folder}; rerun the same command with "
                "--resume to finish")
            raise
        finally:
            results.close()        # stop the pool now (not when the traceback is freed)
            bar.close()
        wall = time.perf_counter() - t0
        run_info.update(seconds=round(wall, 3), evaluations=evals,
                        evals_per_second=round(evals / wall, 1) if wall > 0 else None)
    finally:
        runner.close()
    if finisher is not None:
        return finisher(design, store, evaluator, plots=plots, log=log, plot_format=plot_format)
    return finish(design, store, evaluator, censor=censor, plots=plots, log=log, plot_format=plot_format)


def finish(design: Design, store: Store, evaluator: Any, censor: dict[str, float] | None = None,
           plots: bool = True, log: Log = _stderr, plot_format: str = "png") -> SweepResult:
    """Read the shards back, analyse, write indices.csv, bands.csv, summary.json and plots."""
    from ..outputs.atomic import write_text

    m = store.manifest
    t0 = time.perf_counter()
    kpis, errors = store.read_results(m["chunks"])
    failed = np.array([e is not None for e in errors], dtype=bool)
    a = analyse(design, kpis, failed, seed=int_seed(seeds(design.meta.get("seed", 0))["analysis"]), censor=censor)
    write_text(store.folder / "indices.csv", indices_csv(a.rows))
    kept = store.read_series(m["chunks"])
    b = bands(kept) if kept else {}
    times = evaluator.times() if hasattr(evaluator, "times") else []
    series_units = dict(getattr(evaluator, "series_units", {}))
    if b:
        write_text(store.folder / "bands.csv", _csv(bands_columns(b, times, series_units)))
    units = dict(m.get("kpi_units", {}))
    plot_files: list[Path] = []
    if plots:
        from . import plots as pl

        from ..outputs.figstyle import caption

        cap = caption(str(m.get("scenario", {}).get("id") or "function"), design.meta.get("seed", 0), "stockflow",
                      extra=f"{design.method} sweep, {design.n} evaluations")
        plot_files = pl.write_all(store.folder, design.method, a.rows, kpis, units, design.factors,
                                  base_n=int(m.get("samples") or 0), bands=b, times=times, series_units=series_units,
                                  kept=int(m.get("series", {}).get("kept", 0)), caption=cap, fmt=plot_format)
    failures = [{"sample": i, "error": e} for i, e in enumerate(errors) if e is not None]
    summary = {
        "scenario": m.get("scenario", {}).get("id"),
        "method": design.method,
        "samples": m.get("samples"),
        "evaluations": design.n,
        "failures": len(failures),
        "failed_samples": failures[:50],
        "parameters": [f.id for f in design.factors],
        "kpis": a.stats,
        "kpi_units": units,
        "not_analysed": a.skipped,
        "top": _top(a.rows, design.method),
        "eval_seconds_total": round(float(m.get("eval_seconds", 0.0)), 3),
        "analysis_seconds": round(time.perf_counter() - t0, 3),
        "files": sorted(str(p.relative_to(store.folder)) for p in plot_files) + ["indices.csv", "manifest.json"]
        + (["bands.csv"] if b else []),
    }
    write_text(store.folder / "summary.json", json.dumps(summary, indent=1, default=float) + "\n")
    m["status"] = "complete"
    m["failures"] = len(failures)
    store.save()
    return SweepResult(method=design.method, factors=list(design.factors), design=design.values, kpis=kpis,
                       errors=errors, indices=a.rows, units=units, summary=summary, bands=b, times=times,
                       series_units=series_units, folder=store.folder)


def _top(rows: list[dict[str, Any]], method: str, n: int = 3) -> dict[str, list[dict[str, Any]]]:
    """The ``n`` parameters with the largest main index, per KPI."""
    main = {"sobol": "ST", "morris": "mu_star", "oat": "swing", "mc": "spearman", "lhs": "spearman"}[method]
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["index"] == main:
            out.setdefault(r["kpi"], []).append(r)
    return {k: [{"param": r["param"], main: r["value"]} for r in
                sorted(v, key=lambda r: -abs(np.nan_to_num(r["value"])))[:n]] for k, v in out.items()}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return str(v)


def _csv(cols: dict[str, list]) -> str:
    """CSV text of a table of columns (NaN as empty)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(cols)
    w.writerow(names)
    for row in zip(*(cols[k] for k in names)):
        w.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def indices_csv(rows: list[dict[str, Any]]) -> str:
    """indices.csv text: kpi, param, index, value, ci_low, ci_high (empty where there is no interval)."""
    return _csv({c: [r[c] for r in rows] for c in COLUMNS})


def load_sweep(folder: str | Path) -> SweepResult:
    """Read a finished sweep folder back into a SweepResult (no re-analysis)."""
    import datetime as dt

    from ..provenance.registry import Parameter

    store = Store(folder)
    m = store.read()
    facs = []
    for r in m["factors"]:
        conv = (lambda v: dt.date.fromisoformat(v) if r["unit"] == "date" and isinstance(v, str) else v)
        facs.append(Factor(Parameter(id=r["id"], name=r["name"], unit=r["unit"], kind=r["kind"], value=conv(r["value"]),
                                     low=conv(r["low"]), high=conv(r["high"]), distribution=r["distribution"])))
    kpis, errors = store.read_results(m["chunks"])
    _, X = store.read_design(m["chunks"])
    rows = []
    with open(store.folder / "indices.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append({"kpi": r["kpi"], "param": r["param"], "index": r["index"],
                         **{c: float(r[c]) if r[c] != "" else float("nan") for c in ("value", "ci_low", "ci_high")}})
    summary = json.loads((store.folder / "summary.json").read_text(encoding="utf-8"))
    b: dict[str, np.ndarray] = {}
    times: list[str] = []
    if (store.folder / "bands.csv").is_file():
        with open(store.folder / "bands.csv", newline="", encoding="utf-8") as fh:
            data = list(csv.DictReader(fh))
        qs = [c for c in (data[0].keys() if data else []) if c.startswith("q")]
        for name in dict.fromkeys(r["variable"] for r in data):
            sel = [r for r in data if r["variable"] == name]
            b[name] = np.array([[float(r[q]) if r[q] else np.nan for r in sel] for q in qs])
            times = [r["time"] for r in sel]
    return SweepResult(method=m["method"], factors=facs, design=X, kpis=kpis, errors=errors, indices=rows,
                       units=m.get("kpi_units", {}), summary=summary, bands=b, times=times,
                       series_units=m.get("series", {}).get("units", {}), folder=store.folder)

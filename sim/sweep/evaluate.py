"""Evaluators: a design chunk (rows × factors) in, a KPI table (one array per KPI) out.

The sweep machinery only knows this interface, so the same sampler, executor, storage and
analysis code runs the stock-flow engine (:class:`EngineEvaluator`, one vectorised call per
chunk) or an analytic function (:class:`FunctionEvaluator`, used to verify the machinery).

A chunk whose evaluation raises is split in halves until the failing samples are isolated;
each failing sample gets NaN KPIs and its error message, the others keep their values.
When more than :data:`MAX_FAILED_PER_CHUNK` samples of a chunk have failed and they are more
than :data:`SYSTEMATIC_SHARE` of the rows examined so far, something systematic is wrong (a
scenario every sample breaks): the sweep stops early instead of bisecting every row, and the
finished chunks are kept for ``--resume``. Scattered failures (say 1% of samples) do not stop it.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

MAX_FAILED_PER_CHUNK = 16
SYSTEMATIC_SHARE = 0.25

# (series, unit, multiplier from the engine's per-day rates): the series kept for fan charts
KEY_SERIES: tuple[tuple[str, str, float], ...] = (
    ("demand", "GWh/year", 365.25), ("cell_output", "GWh/year", 365.25), ("shortfall_fraction", "dimensionless", 1.0),
    ("days_of_cover", "day", 1.0), ("substitute_share", "dimensionless", 1.0),
    ("controlled_origin_share", "dimensionless", 1.0), ("jobs_at_risk", "person", 1.0),
    ("anode_cost_index", "index", 1.0),
)


class SweepError(RuntimeError):
    """A sweep cannot go on (e.g. a whole chunk fails); finished chunks are kept."""


@dataclass
class Output:
    """What an evaluator returns: KPI arrays (n,) and, for the rows in ``keep``, series (k, T)."""

    kpis: dict[str, np.ndarray]
    series: dict[str, np.ndarray] | None = None


class Evaluator(Protocol):
    """A design chunk -> KPI table. Must be picklable (it is shipped to worker processes)."""

    kpi_units: dict[str, str]

    def __call__(self, X: np.ndarray, keep: np.ndarray) -> Output: ...


@dataclass
class FunctionEvaluator:
    """Wraps ``fn(X) -> array (n,) or {kpi: array (n,)}``; ``fn`` must be importable (picklable)."""

    fn: Callable[[np.ndarray], Any]
    kpi_units: dict[str, str] = field(default_factory=dict)
    series_units: dict[str, str] = field(default_factory=dict)

    def __call__(self, X: np.ndarray, keep: np.ndarray) -> Output:
        y = self.fn(X)
        kpis = y if isinstance(y, dict) else {"y": y}
        return Output({k: np.asarray(v, dtype=float).reshape(len(X)) for k, v in kpis.items()})

    def times(self) -> list[str]:
        """No time axis."""
        return []


@dataclass
class EngineEvaluator:
    """The stock-flow engine: one vectorised run per chunk, factors not in the design at nominal."""

    scenario: Any
    ids: list[str]
    kpi_units: dict[str, str] = field(default_factory=dict)
    series_units: dict[str, str] = field(default_factory=dict)
    memory: int | None = None       # this worker's budget in bytes (None: the engine's default)

    def __post_init__(self) -> None:
        from ..stockflow.kpis import KPI_UNITS

        start = self.scenario.calendar.start.isoformat()
        self.kpi_units = {k: (f"days since {start}" if u == "date" else u) for k, u in KPI_UNITS.items()}
        self.series_units = {name: unit for name, unit, _ in KEY_SERIES}

    def times(self) -> list[str]:
        """Start date of each step (the time axis of the series)."""
        cal = self.scenario.calendar
        return [cal.date_of(d).isoformat() for d in cal.t_days]

    def _given(self, X: np.ndarray) -> dict[str, np.ndarray]:
        return {pid: np.ascontiguousarray(X[:, j], dtype=float) for j, pid in enumerate(self.ids)}

    def __call__(self, X: np.ndarray, keep: np.ndarray) -> Output:
        from ..api import run

        res = run(self.scenario, samples=len(X), seed=0, given=self._given(X), record="summary", uncertain=False,
                  memory=self.memory)
        return Output({k: np.array(v, dtype=float) for k, v in res.kpis.items()}, self.series(X[keep]))

    def series(self, X: np.ndarray) -> dict[str, np.ndarray] | None:
        """Key series (rows = samples, float32) of the rows of ``X``.

        ``sim.run(record="summary")`` keeps KPIs only, so the kept rows (at most ``series.KEEP``
        per sweep) are run once more with the engine's per-step record; samples never
        interact, so their values are those of the main call. They run in blocks of the same
        size as the main call, each block's series dropped once its float32 rows are copied out.
        """
        if not len(X):
            return None
        from ..api import _simulate
        from ..scenario.compile import resolve
        from ..stockflow.ensemble import block_for
        from ..stockflow.memory import resolved_bytes

        res = resolve(self.scenario, samples=len(X), seed=0, given=self._given(X), uncertain=False)
        size = block_for(self.scenario, len(X), self.memory, held=resolved_bytes(res))
        out = {name: np.empty((len(X), self.scenario.calendar.n), np.float32) for name, _, _ in KEY_SERIES}
        for a in range(0, len(X), size):
            piece = res.slice(a, min(a + size, len(X)))
            s = _simulate(self.scenario, piece, "summary", block=piece.samples).focused.series   # market-aware
            for name, _, mult in KEY_SERIES:
                out[name][a:a + size] = np.asarray(s[name]).T * mult
            del s
        return out


@dataclass
class ChunkTask:
    """Rows ``start .. start+len(X)`` of the design; ``keep`` local rows whose series are kept."""

    index: int
    start: int
    X: np.ndarray
    keep: np.ndarray


@dataclass
class ChunkResult:
    """A finished chunk: KPI arrays, failures as (row in chunk, message), kept series, timing."""

    index: int
    start: int
    n: int
    kpis: dict[str, np.ndarray]
    errors: list[tuple[int, str]]
    keep: np.ndarray
    series: dict[str, np.ndarray] | None
    seconds: float
    worker: str = ""


def evaluate_chunk(evaluator: Evaluator, task: ChunkTask) -> ChunkResult:
    """Evaluate one chunk in a single call; isolate failing samples by bisection if it raises."""
    t0 = time.perf_counter()
    parts: list[tuple[int, int, Output]] = []
    errors: list[tuple[int, str]] = []
    _isolate(evaluator, task, 0, len(task.X), parts, errors)
    n = len(task.X)
    names = list(parts[0][2].kpis) if parts else []
    kpis = {k: np.full(n, np.nan) for k in names}
    series: dict[str, np.ndarray] | None = None
    for lo, hi, out in parts:
        for k in names:
            kpis[k][lo:hi] = out.kpis[k]
        if out.series:
            if series is None:
                T = next(iter(out.series.values())).shape[1]
                series = {k: np.full((len(task.keep), T), np.nan, np.float32) for k in out.series}
            rows = np.flatnonzero((task.keep >= lo) & (task.keep < hi))
            for k, v in out.series.items():
                series[k][rows] = v
    return ChunkResult(task.index, task.start, n, kpis, sorted(errors), task.keep, series, time.perf_counter() - t0,
                       f"{socket.gethostname()}:{os.getpid()}")


def _isolate(evaluator: Evaluator, task: ChunkTask, lo: int, hi: int, parts: list, errors: list) -> None:
    """Evaluate rows lo..hi; on failure split in halves, down to single failing samples."""
    keep = task.keep[(task.keep >= lo) & (task.keep < hi)] - lo
    try:
        parts.append((lo, hi, evaluator(task.X[lo:hi], keep)))
        return
    except Exception as exc:  # noqa: BLE001 - a failing sample is recorded, not fatal
        if hi - lo == 1:
            errors.append((lo, f"{type(exc).__name__}: {exc}"))
            examined = len(errors) + sum(b - a for a, b, _ in parts)
            if len(errors) > MAX_FAILED_PER_CHUNK and len(errors) > SYSTEMATIC_SHARE * examined:
                raise SweepError(f"{len(errors)} of the first {examined} samples examined in chunk {task.index} "
                                 f"failed (first: {errors[0][1]}); this looks systematic, so the sweep stops. "
                                 "Finished chunks are kept: fix the cause and rerun with --resume") from exc
            return
    mid = (lo + hi) // 2
    _isolate(evaluator, task, lo, mid, parts, errors)
    _isolate(evaluator, task, mid, hi, parts, errors)

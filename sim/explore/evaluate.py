"""The futures (common random numbers) and the evaluator of (policy, future) rows.

Futures are one Monte Carlo design over the union of every policy scenario's uncertain inputs
(and the ranged cost entries): row ``f`` is the same future for every policy, so two policies
differ only by their levers (common random numbers). The explore design's rows are
``(policy, future)`` pairs in policy-major order; the evaluator runs one vectorised engine call
per policy present in a chunk, with that policy's columns of the futures as ``given``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sweep.design import Design, make
from ..sweep.evaluate import Output
from ..sweep.factors import Factor, factor


def future_factors(scenarios: list[Any], extra: list[Any] = ()) -> list[Factor]:
    """Every uncertain, non-derived input of any policy scenario, plus ``extra`` registry entries, by id."""
    params: dict[str, Any] = {}
    for scn in scenarios:
        for pid, p in scn.inputs().items():
            if p.kind != "derived" and p.uncertain:
                params.setdefault(pid, p)
    for p in extra:
        if p.kind != "derived" and p.uncertain:
            params.setdefault(p.id, p)
    return [Factor(params[k]) for k in sorted(params)]


def futures(factors: list[Factor], samples: int, seed: int) -> np.ndarray:
    """``samples`` futures (rows) over ``factors`` (columns, each in its own unit; dates as day ordinals)."""
    if not factors:
        return np.zeros((samples, 0))
    return make("mc", factors, samples, seed).values


def row_design(n_policies: int, samples: int, seed: int) -> Design:
    """The explore design: columns (policy index, future index), policy-major."""
    pol = np.repeat(np.arange(n_policies, dtype=float), samples)
    fut = np.tile(np.arange(samples, dtype=float), n_policies)
    facs = [factor("policy", 0, max(1, n_policies - 1)), factor("future", 0, max(1, samples - 1))]
    return Design("explore", facs, np.column_stack([pol, fut]), None,
                  {"samples": samples, "requested_samples": samples, "seed": int(seed), "policies": n_policies})


@dataclass
class ExploreEvaluator:
    """Rows (policy, future) -> KPIs: one engine call per policy in the chunk, futures as ``given``."""

    scenarios: list[Any]
    ids: list[str]
    futures: np.ndarray
    kpi_units: dict[str, str] = field(default_factory=dict)
    columns: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from ..stockflow.kpis import KPI_UNITS

        start = self.scenarios[0].calendar.start.isoformat()
        self.kpi_units = {k: (f"days since {start}" if u == "date" else u) for k, u in KPI_UNITS.items()}
        pos = {pid: j for j, pid in enumerate(self.ids)}
        self.columns = [[pos[pid] for pid in sorted(scn.inputs()) if pid in pos] for scn in self.scenarios]

    def __call__(self, X: np.ndarray, keep: np.ndarray) -> Output:
        from ..api import run

        pol = X[:, 0].astype(np.int64)
        fut = X[:, 1].astype(np.int64)
        out: dict[str, np.ndarray] = {}
        for p in np.unique(pol):
            rows = np.flatnonzero(pol == p)
            cols = self.columns[p]
            given = {self.ids[j]: np.ascontiguousarray(self.futures[fut[rows], j]) for j in cols}
            res = run(self.scenarios[p], samples=len(rows), seed=0, given=given, record="summary", uncertain=False)
            for k, v in res.kpis.items():
                out.setdefault(k, np.full(len(X), np.nan))[rows] = np.asarray(v, dtype=float)
        return Output(out, None)

    def times(self) -> list[str]:
        """No time series are kept."""
        return []

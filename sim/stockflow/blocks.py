"""Full-record runs in blocks of samples, with a progress bar: identical numbers to one call,
because samples never interact; the bar shows on a terminal when a run takes more than a moment.

The record of all samples is allocated once (after the first block shows its shapes) and each
block is copied into it, so the peak is the record plus one block, not twice the record."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..scenario.compile import Resolved, Scenario
from .engine import Trajectory, simulate
from .ensemble import block_for
from .market_types import MarketTrajectory
from .memory import resolved_bytes


def _alloc(part: Any, n: int) -> Any:
    """An empty record shaped like ``part`` with ``n`` samples on axis 1; 1-D arrays are shared."""
    if isinstance(part, dict):
        return {k: _alloc(v, n) for k, v in part.items()}
    a = np.asarray(part)
    if a.ndim >= 2:
        return np.empty((a.shape[0], n) + a.shape[2:], dtype=a.dtype)
    return part


def _fill(out: Any, part: Any, start: int, stop: int) -> None:
    if isinstance(part, dict):
        for k, v in part.items():
            _fill(out[k], v, start, stop)
    elif np.ndim(part) >= 2:
        out[:, start:stop] = part


class _Record:
    """One importer's record of all ``n`` samples, filled block by block."""

    def __init__(self, n: int):
        self.n = n
        self.series: Any = None
        self.shock: np.ndarray | None = None
        self.bind: np.ndarray | None = None
        self.worst = 0.0
        self.meta: tuple | None = None

    def add(self, part: Trajectory, start: int, stop: int) -> None:
        """Copy block ``part`` (samples ``start:stop``) into the record."""
        if self.series is None:
            self.series = _alloc(part.series, self.n)
            self.shock = None if part.shock_day is None else np.empty(self.n)
            self.bind = None if part.bind_day is None else np.empty(self.n)
        _fill(self.series, part.series, start, stop)
        if self.shock is not None:
            self.shock[start:stop] = part.shock_day
        if self.bind is not None:
            self.bind[start:stop] = part.bind_day
        self.worst = max(self.worst, part.mass_error_max)
        self.meta = (part.structure, part.t_days, part.dt_days)

    def trajectory(self) -> Trajectory:
        assert self.meta is not None
        return Trajectory(structure=self.meta[0], t_days=self.meta[1], dt_days=self.meta[2], series=self.series,
                          shock_day=self.shock, mass_error_max=self.worst, bind_day=self.bind)


def simulate_blocks(scn: Scenario, res: Resolved, record: str = "full", block: int | None = None,
                    progress: bool | None = None, memory: int | str | None = None) -> Trajectory:
    """:func:`simulate` over blocks of samples, filled into one record on the sample axis.

    ``block`` fixes the samples per block; otherwise it follows from ``memory`` (bytes or '2GB'),
    which must also hold the record itself (a :class:`~.memory.MemoryBudgetError` says if not).
    """
    n = res.samples
    size = block if block is not None else block_for(scn, n, memory, record, resolved_bytes(res))
    if n <= size:
        return simulate(scn, res, record=record)
    from ..outputs.progress import bar

    rec = _Record(n)
    for start in bar(range(0, n, size), desc=f"{scn.id}: samples", unit="block", force=progress):
        stop = min(start + size, n)
        part = simulate(scn, res.slice(start, stop), record=record)
        rec.add(part, start, stop)
        del part                         # the block goes before the next one is made
    return rec.trajectory()


def simulate_market_blocks(scn: Scenario, res: Resolved, record: str = "full", block: int = 1024,
                           progress: bool | None = None) -> MarketTrajectory:
    """:func:`~.market.simulate_market` over blocks of ``block`` samples, each importer's record filled."""
    from .market import simulate_market

    n = res.samples
    if n <= block:
        return simulate_market(scn, res, record=record)
    from ..outputs.progress import bar

    recs: dict[str, _Record] = {}
    first = None
    for start in bar(range(0, n, block), desc=f"{scn.id}: samples", unit="block", force=progress):
        stop = min(start + block, n)
        part = simulate_market(scn, res.slice(start, stop), record=record)
        first = first or part
        for code, traj in part.importers.items():
            recs.setdefault(code, _Record(n)).add(traj, start, stop)
        del part
    assert first is not None
    return replace(first, importers={c: r.trajectory() for c, r in recs.items()})

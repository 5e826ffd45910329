"""Full-record runs in blocks of samples, with a progress bar: identical numbers to one call,
because samples never interact; the bar shows on a terminal when a run takes more than a moment.

The record of all samples is allocated once (after the first block shows its shapes) and each
block is copied into it, so the peak is the record plus one block, not twice the record."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.compile import Resolved, Scenario
from .engine import Trajectory, simulate
from .ensemble import block_for
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

    series: Any = None
    shock = None
    worst, meta = 0.0, None
    for start in bar(range(0, n, size), desc=f"{scn.id}: samples", unit="block", force=progress):
        stop = min(start + size, n)
        part = simulate(scn, res.slice(start, stop), record=record)
        if series is None:
            series = _alloc(part.series, n)
            shock = None if part.shock_day is None else np.empty(n)
        _fill(series, part.series, start, stop)
        if shock is not None:
            shock[start:stop] = part.shock_day
        worst = max(worst, part.mass_error_max)
        meta = (part.structure, part.t_days, part.dt_days)
        del part
    assert meta is not None
    return Trajectory(structure=meta[0], t_days=meta[1], dt_days=meta[2], series=series, shock_day=shock,
                      mass_error_max=worst)

"""Full-record runs in blocks of samples, with a progress bar: identical numbers to one call,
because samples never interact; the bar shows on a terminal when a run takes more than a moment."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.compile import Resolved, Scenario
from .engine import Trajectory, simulate
from .ensemble import BLOCK


def _cat(parts: list[Any]) -> Any:
    if isinstance(parts[0], dict):
        return {k: _cat([p[k] for p in parts]) for k in parts[0]}
    a = np.asarray(parts[0])
    if a.ndim >= 2:
        return np.concatenate(parts, axis=1)
    return parts[0]


def simulate_blocks(scn: Scenario, res: Resolved, record: str = "full", block: int = BLOCK,
                    progress: bool | None = None) -> Trajectory:
    """:func:`simulate` over blocks of ``block`` samples, concatenated on the sample axis."""
    if res.samples <= block:
        return simulate(scn, res, record=record)
    from ..outputs.progress import bar

    parts = []
    starts = range(0, res.samples, block)
    for start in bar(starts, desc=f"{scn.id}: samples", unit="block", force=progress):
        parts.append(simulate(scn, res.slice(start, min(start + block, res.samples)), record=record))
    series = _cat([p.series for p in parts])
    shock = None if parts[0].shock_day is None else np.concatenate([p.shock_day for p in parts])
    return Trajectory(structure=parts[0].structure, t_days=parts[0].t_days, dt_days=parts[0].dt_days, series=series,
                      shock_day=shock, mass_error_max=max(p.mass_error_max for p in parts))

"""Full-record runs in blocks of samples, with a progress bar: identical numbers to one call,
because samples never interact; the bar shows on a terminal when a run takes more than a moment."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..scenario.compile import Resolved, Scenario
from .engine import Trajectory, simulate
from .ensemble import BLOCK
from .market_types import MarketTrajectory


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
    bind = None if parts[0].bind_day is None else np.concatenate([p.bind_day for p in parts])
    return Trajectory(structure=parts[0].structure, t_days=parts[0].t_days, dt_days=parts[0].dt_days, series=series,
                      shock_day=shock, mass_error_max=max(p.mass_error_max for p in parts), bind_day=bind)


def simulate_market_blocks(scn: Scenario, res: Resolved, record: str = "full", block: int = BLOCK,
                           progress: bool | None = None) -> MarketTrajectory:
    """:func:`~.market.simulate_market` over blocks of samples, each importer's series concatenated."""
    from .market import simulate_market

    if res.samples <= block:
        return simulate_market(scn, res, record=record)
    from ..outputs.progress import bar

    parts = [simulate_market(scn, res.slice(a, min(a + block, res.samples)), record=record)
             for a in bar(range(0, res.samples, block), desc=f"{scn.id}: samples", unit="block", force=progress)]
    importers = {}
    for code in parts[0].codes:
        ts = [p.importers[code] for p in parts]
        cat = lambda name: (None if getattr(ts[0], name, None) is None      # noqa: E731
                            else np.concatenate([getattr(t, name) for t in ts]))
        importers[code] = Trajectory(structure=ts[0].structure, t_days=ts[0].t_days, dt_days=ts[0].dt_days,
                                     series=_cat([t.series for t in ts]), shock_day=cat("shock_day"),
                                     mass_error_max=max(t.mass_error_max for t in ts), bind_day=cat("bind_day"))
    return replace(parts[0], importers=importers)

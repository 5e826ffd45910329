"""Large ensembles: KPIs of many samples in bounded memory.

The engine is array code over samples; for large ensembles it runs in blocks whose size follows
from a memory budget (:mod:`.memory`: samples x steps x the series a block holds), at most
``SPEED_BLOCK`` samples, so that the per-step temporaries stay small enough to be reused (fresh
multi-megabyte arrays cost page faults on every step). Each block's series are dropped before
the next block runs, and its KPIs are copied into arrays allocated once for all samples, so
nothing keeps a block alive. Results are identical to one unblocked call: samples never interact.
"""
from __future__ import annotations

import numpy as np

from ..scenario.compile import Resolved, Scenario
from . import kpis as _kpis
from .engine import Trajectory, simulate
from .memory import SPEED_BLOCK, plan, resolved_bytes
from .structure import build_structure

BLOCK = SPEED_BLOCK      # the largest block (kept under its old name for callers)


def block_for(scn: Scenario, samples: int, memory: int | str | None = None, record: str = "summary",
              held: float = 0.0) -> int:
    """Samples per block for ``samples`` of ``scn`` within the ``memory`` budget (default 512 MiB),
    of which ``held`` bytes are taken already (the run's resolved inputs)."""
    return plan(build_structure(scn), scn.calendar.n, samples, memory, record, held).block


def run_kpis(scn: Scenario, res: Resolved, block: int | None = None,
             memory: int | str | None = None) -> tuple[Trajectory, dict[str, np.ndarray]]:
    """KPIs for every sample, computed block by block; the trajectory returned holds no series.

    ``block`` fixes the samples per block; otherwise it follows from ``memory`` (bytes or '2GB').
    """
    n = res.samples
    size = block if block is not None else block_for(scn, n, memory, "summary", resolved_bytes(res))
    merged: dict[str, np.ndarray] = {}
    shock = np.full(n, np.nan)
    worst = 0.0
    meta = None
    for start in range(0, n, size):
        stop = min(start + size, n)
        traj = simulate(scn, res.slice(start, stop), record="summary")
        k = _kpis.compute(traj)
        if not merged:
            merged = {name: np.empty(n, dtype=np.asarray(v).dtype) for name, v in k.items()}
        for name, v in k.items():
            merged[name][start:stop] = v
        if traj.shock_day is not None:
            shock[start:stop] = traj.shock_day
        worst = max(worst, traj.mass_error_max)
        meta = (traj.structure, traj.t_days, traj.dt_days, traj.shock_day is not None)
        del traj, k                      # the block's series go before the next block is made
    assert meta is not None
    light = Trajectory(structure=meta[0], t_days=meta[1], dt_days=meta[2], series={},
                       shock_day=shock if meta[3] else None, mass_error_max=worst)
    return light, merged

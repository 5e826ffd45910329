"""Large ensembles: KPIs of many samples in bounded memory.

The engine is array code over samples; for large ensembles it runs in blocks of
``BLOCK`` samples, so that the per-step temporaries stay small enough to be reused (fresh
multi-megabyte arrays cost page faults on every step) and memory does not grow with the sample
count. Results are identical to one unblocked call: samples never interact.
"""
from __future__ import annotations

import numpy as np

from ..scenario.compile import Resolved, Scenario
from . import kpis as _kpis
from .engine import Trajectory, simulate

BLOCK = 1024


def run_kpis(scn: Scenario, res: Resolved, block: int = BLOCK) -> tuple[Trajectory, dict[str, np.ndarray]]:
    """KPIs for every sample, computed block by block; the trajectory returned holds no series."""
    parts: list[dict[str, np.ndarray]] = []
    shocks, worst = [], 0.0
    traj = None
    for start in range(0, res.samples, block):
        traj = simulate(scn, res.slice(start, min(start + block, res.samples)), record="summary")
        parts.append(_kpis.compute(traj))
        shocks.append(traj.shock_day)
        worst = max(worst, traj.mass_error_max)
    assert traj is not None
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    light = Trajectory(structure=traj.structure, t_days=traj.t_days, dt_days=traj.dt_days, series={},
                       shock_day=np.concatenate(shocks), mass_error_max=worst)
    return light, merged

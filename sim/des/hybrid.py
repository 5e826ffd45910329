"""Hybrid coupling: the slow layer from the stock-flow model, the fast layer as discrete events.

What crosses, and when (one way, stock-flow -> DES):

1. Before the DES starts, the stock-flow model is prepared and integrated on the same resolved
   values (all samples at once, vectorised). From it the DES takes, per step ``t``:
   - ``nameplate[t]``, ``good_cap[t]``: cell capacity (GWh/day) with every cell project's ramp
     and yield curve (the capacity pipeline, deterministic dates);
   - ``supply_cap[t]``: what each origin can ship of each material (t/day), material projects'
     ramps included;
   - ``learning[t]``: the cell cost index from cumulative output (the learning curve), as the
     stock-flow run computed it;
   - the construction stages (announced / building / ramping / operating) for the output files.
   Demand is the same closed-form path in both engines.
2. At the start of each step ``t`` (priority PLANT, after arrivals and control changes) the cell
   makers read those values at index ``t``; everything else (lots, transit, the licensing queue,
   inventories, the reorder policy, production batches) is simulated as discrete events.

Nothing flows back: the stock-flow learning path is computed from the stock-flow engine's output,
not from the DES's. The two differ only while material is short, and the index enters no other
variable, so the loop is left open on purpose (a closed loop would need the engines in lockstep).
"""
from __future__ import annotations

import numpy as np

from ..stockflow.engine import BIG, StockFlowModel
from .inputs import SlowPaths


def slow_paths(sfm: StockFlowModel, importer: str | None = None) -> list[SlowPaths]:
    """Per-sample slow variables from the stock-flow model (integrated once, vectorised).

    With a ``market:`` section the stock-flow market runs all importers, and the supply open to the
    importer of interest is the shared capacity less what the other importers took (per step).
    """
    T, S = sfm.cal.n, sfm.res.samples
    if sfm.scn.data.get("market") is not None:
        from ..stockflow.market import MarketModel

        mm = MarketModel(sfm.scn, sfm.res)
        code = importer or sfm.scn.data["importer"]
        traj = mm.run(record="full").importers[code]
        supply = np.minimum(mm.available(code), BIG)                                          # (S,T,R,M)
    else:
        traj = sfm.run(record="summary")
        supply = np.stack([np.minimum(sfm.supply_capacity(t), BIG) for t in range(T)], axis=1)  # (S,T,R,M)
    learning = traj.series["cell_cost_index"]
    all_stages = sfm.capacity_stages()
    out = []
    for i in range(S):
        stages = {k: np.broadcast_to(np.asarray(v), (T, S))[:, i].copy() for k, v in all_stages.items()}
        out.append(SlowPaths(nameplate=sfm.nameplate[:, i].copy(), good_cap=sfm.good_cap[:, i].copy(),
                             supply_cap=supply[i].copy(), learning=learning[:, i].copy(), stages=stages))
    return out

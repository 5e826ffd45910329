"""A two-importer market result built by hand from two real runs, so the output tests do not depend
on the market engine: the main scenario's trajectory as importer "US" and the baseline's as "EU",
each with a synthetic delivered-price index (1 + a per-material factor x its shortfall fraction)."""
from __future__ import annotations

import numpy as np

from conftest import MAIN, SCENARIOS

PRICE_FACTOR = {"US": (2.0, 0.5), "EU": (1.0, 0.25)}       # per material, in the scenario's material order


def with_prices(traj, code: str) -> None:
    """Add ``series["price_index"]`` (T,S,M) = 1 + factor[m] x shortfall_fraction to ``traj``."""
    f = np.asarray(PRICE_FACTOR[code][: traj.series["inventory"].shape[2]])
    traj.series["price_index"] = 1.0 + traj.series["shortfall_fraction"][:, :, None] * f[None, None, :]


def fake_simulate(scn, res, record, memory=None, block=None):
    """A stand-in for ``sim.api._simulate``: two importers from two real runs, with synthetic prices."""
    import sim
    from sim.scenario.compile import resolve
    from sim.stockflow.blocks import simulate_blocks
    from sim.stockflow.market_types import MarketTrajectory

    us = simulate_blocks(scn, res, record=record)
    base = sim.load_scenario(SCENARIOS / "baseline.yaml")
    eu = simulate_blocks(base, resolve(base, samples=res.samples, seed=0, uncertain=False), record=record)  # block-proof
    if record != "summary":
        with_prices(us, "US")
        with_prices(eu, "EU")
    st = us.structure
    return MarketTrajectory(importers={"US": us, "EU": eu}, focus="US", materials=list(st.materials))


def two_importer_result(samples: int = 1, focus: str = "US"):
    """sim.Result of the hand-built market, with ``focus`` in focus."""
    import sim
    from sim.api import Result
    from sim.scenario.compile import resolve

    scn = sim.load_scenario(MAIN)
    res = resolve(scn, samples=samples, seed=0)
    mt = fake_simulate(scn, res, "full")
    return Result.from_market(scn, res, mt.with_focus(focus))

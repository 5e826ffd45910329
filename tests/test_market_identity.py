"""One importer is the special case: simulate_market without a market: section is simulate, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import SCENARIOS
from market_cases import lever, write
from sim.scenario.compile import resolve
from sim.stockflow.engine import simulate
from sim.stockflow.market import simulate_market

SHIPPED = [p for p in sorted(SCENARIOS.glob("*.yaml"))     # the one-importer ones (world-* have a market)
           if "\nmarket:" not in p.read_text(encoding="utf-8")]


def same(a: dict, b: dict) -> None:
    for k, v in a.items():
        if isinstance(v, np.ndarray):
            w = b[k]
            assert v.shape == w.shape, k
            scale = np.maximum(np.abs(v), 1e-300)
            assert np.all(np.where(np.isnan(v), np.isnan(w), np.abs(v - w) <= 1e-12 * scale)), k


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
@pytest.mark.parametrize("record", ["full", "summary"])
def test_one_importer_market_run_is_todays_run(path, record):
    scn = sim.load_scenario(path)
    res = resolve(scn, samples=6, seed=11)
    mt = simulate_market(scn, res, record=record)
    assert mt.codes == [scn.data["importer"]] and mt.focus == scn.data["importer"]
    ref = simulate(scn, res, record=record)
    same(ref.series, mt.focused.series)
    assert np.array_equal(ref.bind_day, mt.focused.bind_day, equal_nan=True)
    pi = mt.focused.series["price_index"]
    assert pi.shape == (scn.calendar.n, 6, len(scn.data["materials"])) and np.all(np.isfinite(pi)) and (pi > 0).all()


def test_a_market_with_no_scarcity_changes_nothing_for_the_importer(tmp_path):
    # one importer, a shared capacity far above any order: the clearing rule reduces to today's allocation
    base = SCENARIOS / "graphite-controls-2025.yaml"
    p = write(tmp_path, "loose", "market:\n  clearing:\n    elasticity: " + lever(0.5) + "\n  capacity:\n"
              "    graphite:\n      ALLIED: " + lever("1000000000", "t/year") + "\n", base=base)
    scn, ref_scn = sim.load_scenario(p), sim.load_scenario(base)
    mt = simulate_market(scn, resolve(scn, samples=3, seed=2))
    ref = simulate(ref_scn, resolve(ref_scn, samples=3, seed=2))
    same({k: v for k, v in ref.series.items() if k != "price_index"}, mt.focused.series)
    same({"price_index": ref.series["price_index"]}, mt.focused.series)

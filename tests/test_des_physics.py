"""Physics of the DES: conservation for every material, non-negative stocks, the books of events."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import sim
from conftest import MAIN, SCENARIOS
from sim.des import run_des
from sim.des.inputs import build_inputs
from sim.des.model import Replication
from sim.des.params import read_settings
from sim.des.streams import replication_seeds
from sim.scenario.compile import resolve
from sim.stockflow.engine import StockFlowModel
from sim.stockflow.structure import build_structure

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def _replication(path, seed=0, record_events=True, engine="des"):
    scn = sim.load_scenario(path)
    res = resolve(scn)
    inp = build_inputs(scn, build_structure(scn), StockFlowModel(scn, res), res, read_settings(scn, res), engine)[0]
    return inp, Replication(inp, replication_seeds(seed, 1)[0], record_events).run()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_equals_received_plus_in_transit_plus_lost(path):
    inp, out = _replication(path, seed=2)
    b = out.books
    np.testing.assert_allclose(b["shipped"], b["received"] + b["in_transit"] + b["lost"], rtol=1e-12, atol=1e-6)
    # and the cell makers' side: start + received = stock + consumed (no reserves in shipped scenarios)
    s, dt0 = out.series, inp.dts[0]
    start = s["inventory"][0] + (s["consumption"][0] - s["deliveries"][0].sum(axis=0)) * dt0
    np.testing.assert_allclose(start + b["received"], b["inventory"] + b["consumed"], rtol=1e-9, atol=1e-6)
    # the same books from the event log, material by material
    tot = defaultdict(float)
    for _, kind, entity, q in out.events:
        if "/" in entity and kind in ("ship", "in_transit_at_start", "arrive", "lost"):
            tot[(kind, entity.split("/")[1])] += q
    for m, name in enumerate(inp.materials):
        shipped = tot[("ship", name)] + tot[("in_transit_at_start", name)]
        assert shipped == pytest.approx(b["shipped"][m], rel=1e-9, abs=1e-6)
        assert shipped == pytest.approx(tot[("arrive", name)] + tot[("lost", name)] + b["in_transit"][m], rel=1e-9, abs=1e-6)
    assert out.mass_error_max < 1e-6 * max(1.0, float(b["shipped"].max()))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_stocks_and_flows_are_never_negative(path):
    r = run_des(sim.load_scenario(path), replications=2, seed=4, workers=1)
    s = r.trajectory.series
    for key in ("inventory", "in_transit", "deliveries", "consumption", "licence_backlog", "cell_output",
                "orders_blocked", "days_of_cover", "reserve"):
        assert s[key].min() >= -1e-9, key
    assert 0.0 <= s["shortfall_fraction"].min() and s["shortfall_fraction"].max() <= 1.0
    # output = planned x (1 - shortfall fraction), up to the batch-yield scatter (sd 0.5 points)
    expected = s["planned_output"] * (1 - s["shortfall_fraction"])
    assert np.abs(s["cell_output"] - expected).max() <= 0.05 * s["planned_output"].max()


def test_inventory_moves_by_deliveries_minus_consumption():
    _, out = _replication(MAIN, seed=1, record_events=False)
    s = out.series
    dt = 7.0
    change = np.diff(s["inventory"], axis=0)
    flows = (s["deliveries"].sum(axis=1) - s["consumption"]) * dt
    np.testing.assert_allclose(change, flows[1:], atol=1e-6 * s["inventory"].max())


def test_a_ban_that_seizes_goods_loses_exactly_what_was_at_sea(write, tmp_path):
    p = write("lose.yaml", f"""
        extends: {SCENARIOS / 'graphite-ban.yaml'}
        id: ban-lose
        policies:
          export_controls:
            - id: cn-anode-ban
              in_transit: lose
        """)
    inp, out = _replication(p, seed=3)
    ban = [e for e in out.events if e[1] == "control_binds"]
    lost = [e for e in out.events if e[1] == "lost"]
    assert len(ban) == 1 and len(lost) == 1 and lost[0][0] == ban[0][0]
    day = ban[0][0]
    k = int(np.searchsorted(inp.td, day))
    at_sea = out.series["in_transit"][k - 1, 0]           # graphite in transit at the end of the step before
    cn_share = inp.share[inp.regions.index("CN"), 0]
    assert 0 < lost[0][3] <= at_sea + 1e-6 and lost[0][3] > 0.5 * cn_share * at_sea
    assert out.books["lost"][0] == pytest.approx(lost[0][3])
    assert not [e for e in out.events if e[1] == "arrive" and e[2] == "CN/graphite" and e[0] >= day]


def test_licences_are_needed_only_while_the_control_binds():
    inp, out = _replication(MAIN, seed=5)
    c = inp.controls[0]
    binds = [e[0] for e in out.events if e[1] == "control_binds"]
    applies = [e[0] for e in out.events if e[1] == "licence_apply"]
    assert binds and applies and min(applies) >= min(binds)
    assert all(c.state(t)[0] for t in applies)                          # every application while binding
    # the front-running window raises stock before the control binds
    s = out.series
    before = s["inventory"][np.searchsorted(inp.td, c.ann) - 1, 0]
    if c.surge > 0:
        assert s["inventory"][np.searchsorted(inp.td, c.eff) + 8, 0] > (1 + c.surge / 4) * before


def test_a_ban_in_force_from_the_start_seizes_the_whole_initial_pipeline(write):
    p = write("lose0.yaml", f"""
        extends: {SCENARIOS / 'graphite-ban.yaml'}
        id: ban-lose-at-start
        policies:
          export_controls:
            - id: cn-anode-ban
              in_transit: lose
              effective: {{lever: 2025-01-01, unit: date, why: test}}
        """)
    inp, out = _replication(p, seed=1)
    cn = inp.regions.index("CN")
    at_start = sum(e[3] for e in out.events if e[1] == "in_transit_at_start" and e[2] == "CN/graphite")
    assert at_start > 0
    assert out.books["lost"][0] == pytest.approx(at_start, rel=1e-12)
    assert not [e for e in out.events if e[1] == "arrive" and e[2] == "CN/graphite"]
    assert out.series["deliveries"][:, cn, 0].max() == 0.0

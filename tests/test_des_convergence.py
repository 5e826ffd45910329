"""The DES converges to the stock-flow engine when delays are fixed and lots shrink.

Tolerance (stated in docs/des.md): with every DES delay fixed and lots of 1/32 of a material's
peak weekly use (72 t of graphite in the main scenario), the cell-output path differs from the
stock-flow path by at most 2.5% of peak planned output (root mean square over the run), the
cumulative output by at most 0.1% of total planned output, the licence backlog by at most 3% of
its peak; the shortfall KPI agrees within 0.5% and the stock-out day exactly. With random licence
approvals (the scenario's 60%) the errors fall as the square root of the lot size instead of in
proportion to it, and the tolerances are 8%, 0.5%, 4% and 2%. The licence terms are fixed in
the test (capacity 0.5 of the flow, decision after 63 days, front-running 1.0). Without licensing nothing is random
once delays are fixed, and the DES reproduces the stock-flow engine to rounding error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from conftest import STRICT, SCENARIOS
from sim.des import run_des
from sim.des.verify import agreement, deterministic_variant, licence_terms
from sim.scenario.compile import resolve
from sim.stockflow import kpis as K
from sim.stockflow.engine import simulate

# the licence terms are fixed here (the scenario's values at the time of writing), so the check
# does not move when the registry values behind the scenario are recalibrated
APPROVE_ALL = licence_terms("cn-anode-2025", approval=1.0)
RANDOM_APPROVALS = licence_terms("cn-anode-2025", approval=0.6)
LOSE = """policies:
  export_controls:
    - id: cn-anode-ban
      in_transit: lose
"""
RESOLUTIONS = (2, 8, 32)   # lots per step at peak use: 1150 t, 287 t, 72 t of graphite


def _variant(tmp_path: Path, base: Path, lps: float, extra: str = "") -> sim.Scenario:
    p = tmp_path / f"v-{base.stem}-{lps}.yaml"
    p.write_text(deterministic_variant(base, lps, extra=extra), encoding="utf-8")
    return sim.load_scenario(p)


def _stockflow(scn: sim.Scenario):
    traj = simulate(scn, resolve(scn))
    return traj, K.compute(traj)


QUOTA_RESERVE_MONTHLY = """calendar: {start: 2025-01-01, end: 2030-12-31, step: month}
reserves:
  graphite:
    initial: {lever: 20000, unit: t, why: test}
    trigger_days: {lever: 45, unit: day, why: test}
    release_days: {lever: 60, unit: day, why: test}
policies:
  export_controls:
    - id: cn-quota
      origin: CN
      material: graphite
      regime: quota
      announced: {lever: 2025-06-01, unit: date, why: test}
      effective: {lever: 2025-09-01, unit: date, why: test}
      quota: {lever: 60000, unit: t/year, why: test}
      front_running: {lever: 0.5, unit: dimensionless, why: test}
      diversion: {lever: 0.3, unit: dimensionless, why: test}
      exempt_share: {lever: 0.05, unit: dimensionless, why: test}
"""


@pytest.mark.parametrize("base,extra", [(SCENARIOS / "baseline.yaml", ""), (SCENARIOS / "graphite-ban.yaml", ""),
                                        (SCENARIOS / "graphite-ban.yaml", LOSE),
                                        (SCENARIOS / "baseline.yaml", QUOTA_RESERVE_MONTHLY)],
                         ids=["baseline", "ban", "ban-lose", "quota-reserve-monthly"])
@pytest.mark.parametrize("engine", ["des", "hybrid"])
def test_without_licences_fixed_delays_reproduce_the_stockflow_engine(tmp_path, base, extra, engine):
    scn = _variant(tmp_path, base, 3, extra)
    sf, k_sf = _stockflow(scn)
    r = run_des(scn, engine=engine, seed=5, workers=1)
    for key in ("cell_output", "planned_output", "inventory", "in_transit", "deliveries", "consumption",
                "orders_blocked", "reserve", "substitute_share", "controlled_origin_share", "anode_cost_index",
                "cell_cost_index"):
        np.testing.assert_allclose(r.trajectory.series[key], sf.series[key], rtol=1e-9, atol=1e-9, err_msg=key)
    for name in ("cell_output_shortfall_gwh", "days_until_stockout", "sic_anode_share_end", "min_days_of_cover"):
        np.testing.assert_allclose(r.kpis[name], k_sf[name], rtol=1e-9, err_msg=name)
    if extra == LOSE:   # the seized goods are the stock-flow engine's drop in transit at the ban
        assert r.des_kpis["lost_in_transit_t"][0] > 0
    if extra == QUOTA_RESERVE_MONTHLY:
        assert k_sf["cell_output_shortfall_gwh"][0] > 0 and sf.series["reserve"].min() < 20000


def _sweep(tmp_path: Path, extra: str, reps: int, engine: str = "des"):
    rows = []
    sf = k_sf = None
    for lps in RESOLUTIONS:
        scn = _variant(tmp_path, STRICT, lps, extra)
        if sf is None:
            sf, k_sf = _stockflow(scn)
        r = run_des(scn, engine=engine, replications=reps, seed=3)
        err = {k: float(v.mean()) for k, v in agreement(r.trajectory, sf).items()}
        short = r.kpis["cell_output_shortfall_gwh"]
        err["shortfall_kpi"] = float(np.abs(short / k_sf["cell_output_shortfall_gwh"][0] - 1).mean())
        err["stockout_day"] = float(np.abs(r.kpis["days_until_stockout"] - k_sf["days_until_stockout"][0]).max())
        rows.append(err)
    return rows


def _check(rows, tol):
    for key in ("output_rms", "output_cum", "backlog_max"):
        errs = [row[key] for row in rows]
        assert all(a > b for a, b in zip(errs, errs[1:])), (key, errs)      # shrinks with the lot size
    last = rows[-1]
    for key, bound in tol.items():
        assert last[key] <= bound, (key, last[key], bound, rows)


def test_converges_with_deterministic_approvals(tmp_path):
    rows = _sweep(tmp_path, APPROVE_ALL, reps=1)
    # output_rms measured 0.0239 once the baseline gained its named cell and anode plants (ramping lines
    # whose output the DES makes in whole lots); it was under 0.02 before; docs/des.md states 2.5%
    _check(rows, {"output_rms": 0.025, "output_cum": 0.001, "backlog_max": 0.03, "shortfall_kpi": 0.005,
                  "stockout_day": 0.0})
    assert rows[0]["output_rms"] / rows[-1]["output_rms"] > 8       # roughly in proportion to the lot size


def test_converges_with_random_approvals(tmp_path):
    rows = _sweep(tmp_path, RANDOM_APPROVALS, reps=3)
    # random approvals can move the stock-out by one (weekly) step either way; deterministic: exact
    _check(rows, {"output_rms": 0.08, "output_cum": 0.005, "backlog_max": 0.04, "shortfall_kpi": 0.02,
                  "stockout_day": 7.0})


def test_hybrid_takes_capacity_and_learning_from_the_stockflow_model(tmp_path):
    scn = _variant(tmp_path, SCENARIOS / "allied-reshoring.yaml", 32, APPROVE_ALL)
    sf, _ = _stockflow(scn)
    r = run_des(scn, engine="hybrid", seed=1, workers=1)
    s = r.trajectory.series
    np.testing.assert_allclose(s["cell_capacity"], sf.series["cell_capacity"], rtol=1e-12)
    np.testing.assert_allclose(s["cell_cost_index"], sf.series["cell_cost_index"], rtol=1e-12)
    for key in sf.series["stages"]:
        np.testing.assert_allclose(s["stages"][key], sf.series["stages"][key], rtol=1e-12)
    a = agreement(r.trajectory, sf)
    assert a["output_rms"][0] < 0.02 and a["output_cum"][0] < 0.002


@pytest.mark.slow
def test_hybrid_converges_for_the_importer_of_interest_of_the_world_market(tmp_path):
    """Issue 10, item 6: on the six-importer world scenario the DES runs the US as lots, with prices
    and the other importers' take from the stock-flow market; as lots shrink it converges to the
    market's US trajectory. Measured (approve-all terms, fixed delays, seed 3): output RMS error
    0.221, 0.042, 0.028 of peak planned output at 2, 8 and 32 lots per step; cumulative output
    0.0054, 0.00085, 0.00025; licence backlog 0.106, 0.036, 0.025 of its peak."""
    from sim.stockflow.market import simulate_market

    world = SCENARIOS / "world-graphite-controls-2025.yaml"
    rows, k_sf = [], None
    for lps in RESOLUTIONS:
        scn = _variant(tmp_path, world, lps, APPROVE_ALL)
        us = simulate_market(scn, resolve(scn), record="full").focused
        if k_sf is None:
            k_sf = K.compute(us)
        r = run_des(scn, engine="hybrid", seed=3, workers=1)
        err = {k: float(v.mean()) for k, v in agreement(r.trajectory, us).items()}
        err["shortfall_kpi"] = float(abs(r.kpis["cell_output_shortfall_gwh"][0] / k_sf["cell_output_shortfall_gwh"][0] - 1))
        rows.append(err)
    assert k_sf["cell_output_shortfall_gwh"][0] > 100          # a case where the market binds for the US
    _check(rows, {"output_rms": 0.035, "output_cum": 0.0005, "backlog_max": 0.03, "shortfall_kpi": 0.01})

"""Physics of the stock-flow engine: mass balance, non-negativity, limiting cases, steady state."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from conftest import MAIN, STRICT, SCENARIOS, child_of_baseline
from sim.stockflow import engine as engine_mod
from sim.stockflow.ensemble import run_kpis

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
BAN_2026 = """
policies:
  export_controls:
    - id: ban
      origin: CN
      material: graphite
      regime: ban
      effective: {lever: 2026-01-07, unit: date, why: test}
      in_transit: %s
"""


@pytest.fixture(scope="module")
def main_scn():
    return sim.load_scenario(STRICT)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_mass_balance_from_the_recorded_flows(path):
    """Inventory changes by exactly deliveries minus consumption, step by step, per material."""
    res = sim.run(path)
    s, dt = res.trajectory.series, res.trajectory.dt_days
    inv = s["inventory"][:, 0]                                  # (T,M) after the step
    arrivals = s["deliveries"][:, 0].sum(axis=1) * dt[:, None]
    used = s["consumption"][:, 0] * dt[:, None]
    change = np.diff(inv, axis=0)
    np.testing.assert_allclose(change, (arrivals - used)[1:], atol=1e-6 * inv.max())
    assert res.trajectory.mass_error_max < 1e-6 * max(1.0, inv.max())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_stocks_and_flows_are_never_negative(path):
    s = sim.run(path).trajectory.series
    for key in ("inventory", "in_transit", "deliveries", "consumption", "licence_backlog", "cell_output",
                "orders_blocked", "days_of_cover"):
        assert s[key].min() >= -1e-9, key
    assert 0.0 <= s["shortfall_fraction"].min() and s["shortfall_fraction"].max() <= 1.0
    assert (s["cell_output"] <= s["planned_output"] + 1e-12).all()


def test_no_controls_and_enough_capacity_means_no_shortfall():
    k = sim.run(SCENARIOS / "baseline.yaml").kpis
    assert k["cell_output_shortfall_gwh"][0] == 0.0
    assert k["peak_shortfall_fraction"][0] == 0.0
    assert np.isnan(k["days_until_stockout"][0])


def test_zero_inventory_and_a_ban_gives_shortfall_from_the_effective_date(write):
    # no new cell plant, so planned output stays capped by the constant capacity: with no stock, a
    # rising planned output would itself leave a small shortfall before the ban (supply lags orders)
    p = write("ban0.yaml", child_of_baseline("""
pipeline:
  - {id: panasonic-de-soto, remove: true}
  - {id: toyota-liberty, remove: true}
inventory:
  graphite:
    initial_days: {lever: 0, unit: day, why: test, what_if: true}
    target_days: {lever: 0, unit: day, why: test, what_if: true}
""" + BAN_2026 % "lose" + "      diversion: {lever: 0, unit: dimensionless, why: test}\n"))
    res = sim.run(p)
    s = res.trajectory.series
    dates = res.dates
    eff = next(i for i, d in enumerate(dates) if d.isoformat() >= "2026-01-07")
    assert s["shortfall_fraction"][:eff, 0].max() < 1e-12
    assert s["shortfall_fraction"][eff, 0] > 0.5          # China supplied ~97.5%
    assert res.kpis["days_until_stockout"][0] == pytest.approx(0.0)


def test_steady_state_with_flat_demand(write):
    body = """
        demand:
          segments:
            ev: {base: {param: us.cell_demand_ev_2025}, growth: {lever: 0, unit: dimensionless, why: flat}}
            grid_storage: {base: {param: us.cell_demand_storage_2025}, growth: {lever: 0, unit: dimensionless, why: flat}}
            datacentre: {base: {param: us.cell_demand_datacentre_2025}, growth: {lever: 0, unit: dimensionless, why: flat}}
            defence: {base: {param: us.cell_demand_defence_2025}, growth: {lever: 0, unit: dimensionless, why: flat}}
        pipeline:
          - id: sila-moses-lake
            remove: true
          - id: syrah-vidalia
            remove: true
          - id: panasonic-de-soto
            remove: true
          - id: toyota-liberty
            remove: true
    """
    res = sim.run(write("flat.yaml", child_of_baseline(body)))
    s = res.trajectory.series
    np.testing.assert_allclose(s["days_of_cover"][:, 0], s["days_of_cover"][0, 0], rtol=1e-9)
    d = s["deliveries"][:, 0].sum(axis=(1, 2))
    np.testing.assert_allclose(d, d[0], rtol=1e-9)
    assert s["days_of_cover"][0, 0] == pytest.approx(45.0)


def test_generous_licensing_is_the_same_as_no_control(main_scn):
    free = {"licence.approval_share_2024": np.array([1.0]), "licence.capacity_share": np.array([50.0]),
            "licence.decision_days_calendar": np.array([0.0]), "controls.front_running": np.array([0.0])}
    ctl = sim.run(main_scn, given=free)
    base = sim.run(SCENARIOS / "baseline.yaml")
    assert ctl.kpis["cell_output_shortfall_gwh"][0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(ctl.trajectory.series["cell_output"], base.trajectory.series["cell_output"], rtol=1e-9)


def test_a_ban_with_ample_other_supply_causes_no_shortfall():
    scn = sim.load_scenario(SCENARIOS / "graphite-ban.yaml")
    res = sim.run(scn, given={"supply.allied_anode_capacity_to_us": np.array([1e7])})
    assert res.kpis["cell_output_shortfall_gwh"][0] == pytest.approx(0.0, abs=1e-9)
    assert res.kpis["controlled_origin_share_end"][0] == 0.0


def test_more_licence_approval_never_means_more_shortfall(main_scn):
    approval = np.linspace(0.0, 1.0, 11)
    k = sim.run(main_scn, samples=11, given={"licence.approval_share_2024": approval}, uncertain=False).kpis
    lost = k["cell_output_shortfall_gwh"]
    assert (np.diff(lost) <= 1e-6).all()
    assert lost[0] > lost[-1]


def test_substitute_share_respects_its_cap():
    scn = sim.load_scenario(SCENARIOS / "sic-fast-ramp.yaml")
    caps = np.linspace(0.0, 1.0, 21)
    res = sim.run(scn, samples=21, given={"sic.max_share_fast": caps}, uncertain=False)
    share = res.trajectory.series["substitute_share"]
    assert (share <= caps[None, :] + 1e-9).all()
    assert share[-1, -1] > share[-1, 1]                  # a higher cap lets more Si/C in


@settings(max_examples=15, deadline=None)
@given(approval=st.floats(0, 1), capacity=st.floats(0.05, 2), diversion=st.floats(0, 1),
       surge=st.floats(0, 2), inv_days=st.floats(0, 120))
def test_invariants_hold_for_any_policy_parameters(approval, capacity, diversion, surge, inv_days):
    scn = sim.load_scenario(STRICT)
    res = sim.run(scn, given={"licence.approval_share_2024": np.array([approval]),
                              "licence.capacity_share": np.array([capacity]),
                              "controls.diversion": np.array([diversion]),
                              "controls.front_running": np.array([surge]),
                              "inventory.anode_days": np.array([inv_days])})
    s = res.trajectory.series
    assert s["inventory"].min() >= -1e-9 and s["in_transit"].min() >= -1e-9
    assert 0.0 <= s["shortfall_fraction"].min() <= s["shortfall_fraction"].max() <= 1.0
    assert res.trajectory.mass_error_max < 1e-6 * max(1.0, float(s["inventory"].max()))


def test_vectorised_samples_equal_single_runs(main_scn):
    ens = sim.run(main_scn, samples=5, seed=3)
    for i in range(5):
        given = {pid: np.array([v[i]]) for pid, v in ens.resolved.by_id.items()
                 if main_scn.registry.get(pid) is None or main_scn.registry[pid].kind != "derived"}
        one = sim.run(main_scn, given=given)
        for kpi, arr in ens.kpis.items():
            np.testing.assert_allclose(one.kpis[kpi][0], arr[i], rtol=1e-9, equal_nan=True, err_msg=kpi)


def test_blocked_ensemble_equals_one_block(main_scn):
    """Samples never interact, so blocks agree with one call. Not bit for bit: numpy's SIMD
    kernels for exp/log may differ in the last bit with an element's position in the array;
    runs with the same block layout (any worker count) are bit-identical (next test)."""
    from sim.scenario.compile import resolve

    res = resolve(main_scn, samples=7, seed=11)
    _, blocked = run_kpis(main_scn, res, block=3)
    _, whole = run_kpis(main_scn, res, block=1000)
    for kpi in whole:
        np.testing.assert_allclose(blocked[kpi], whole[kpi], rtol=1e-12, equal_nan=True, err_msg=kpi)


def test_same_seed_same_numbers_and_other_seed_other_numbers(main_scn):
    a = sim.run(main_scn, samples=20, seed=5).kpis["cell_output_shortfall_gwh"]
    b = sim.run(main_scn, samples=20, seed=5).kpis["cell_output_shortfall_gwh"]
    c = sim.run(main_scn, samples=20, seed=6).kpis["cell_output_shortfall_gwh"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_mass_balance_check_fires(main_scn, monkeypatch):
    monkeypatch.setattr(engine_mod, "MASS_TOL", -1.0)       # any imbalance at all, even zero, fails
    with pytest.raises(engine_mod.ModelError, match=r"mass balance broken for material 'graphite' at step 0"):
        sim.run(main_scn)


def test_ban_in_transit_lose_versus_deliver(write):
    lose = sim.run(write("lose.yaml", child_of_baseline(BAN_2026 % "lose")))
    keep = sim.run(write("keep.yaml", child_of_baseline(BAN_2026 % "deliver")))
    assert lose.kpis["cell_output_shortfall_gwh"][0] > keep.kpis["cell_output_shortfall_gwh"][0]
    assert lose.kpis["days_until_stockout"][0] < keep.kpis["days_until_stockout"][0]


def test_a_seizing_ban_on_the_first_step(write):
    """Regression: the first step has no 'before'; the ban must still seize goods on the way."""
    lose = sim.run(write("lose.yaml", child_of_baseline((BAN_2026 % "lose").replace("2026-01-07", "2025-01-01"))))
    keep = sim.run(write("keep.yaml", child_of_baseline((BAN_2026 % "deliver").replace("2026-01-07", "2025-01-01"))))
    assert lose.kpis["days_until_stockout"][0] < keep.kpis["days_until_stockout"][0]
    assert lose.trajectory.series["in_transit"][0, 0, 0] < keep.trajectory.series["in_transit"][0, 0, 0]


def test_recovery_must_last():
    from sim.stockflow import kpis
    from sim.stockflow.engine import Trajectory

    T = 60
    td = np.arange(T) * 7.0
    sf = np.zeros((T, 2))
    sf[10:50, :] = 0.4
    sf[59, 1] = 0.0
    sf[50:59, 1] = 0.4                 # sample 1 dips below 1% only in the last step
    series = {k: np.zeros((T, 2)) for k in ("shortfall", "planned_output", "cell_output", "jobs_at_risk",
                                           "substitute_share", "controlled_origin_share", "days_of_cover",
                                           "anode_cost_index", "cell_cost_index")}
    series["shortfall_fraction"] = sf
    series["material_limited"] = (sf > 0).astype(float)
    traj = Trajectory(structure=None, t_days=td, dt_days=np.full(T, 7.0), series=series,
                      shock_day=np.zeros(2), mass_error_max=0.0)
    k = kpis.compute(traj)
    assert k["recovery_date"][0] == td[50]
    assert np.isnan(k["recovery_date"][1])


def test_a_value_for_an_unused_parameter_is_refused():
    with pytest.raises(ValueError, match="does not use licence.capacity_share"):
        sim.run(MAIN, given={"licence.capacity_share": np.array([0.5])})

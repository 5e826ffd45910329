"""Bounded memory: the block size follows from a budget, and results do not depend on it."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

import sim
from sim.scenario.compile import resolve
from sim.stockflow import memory as mem
from sim.stockflow.ensemble import block_for, run_kpis
from sim.stockflow.structure import build_structure

from conftest import MAIN, SCENARIOS


@pytest.fixture(scope="module")
def main_scn():
    return sim.load_scenario(MAIN)


def _daily_30y(write):
    return sim.load_scenario(write("daily.yaml", f"""
        extends: {MAIN}
        id: daily-30y
        calendar: {{start: 2025-01-01, end: 2054-12-31, step: day}}
        """))


def test_block_follows_the_formula(main_scn):
    st = build_structure(main_scn)
    T, n, budget = main_scn.calendar.n, 50_000, 64 * mem.MB
    per_sample = T * 8 * mem.series_per_sample_step(st, "summary")
    expected = int((budget - n * mem.KPI_BYTES_PER_SAMPLE) // per_sample)
    assert 1 <= expected < mem.SPEED_BLOCK            # the budget binds here, not the speed cap
    assert block_for(main_scn, n, budget) == expected
    p = mem.plan(st, T, n, budget)
    assert p.expected_bytes <= budget < p.expected_bytes + per_sample


def test_block_capped_for_speed_and_by_samples(main_scn):
    assert block_for(main_scn, 100_000, "8GB") == mem.SPEED_BLOCK
    assert block_for(main_scn, 10, "8GB") == 10


def test_daily_30_years_gets_a_smaller_block_than_weekly_10(main_scn, write):
    daily = _daily_30y(write)
    assert daily.calendar.n > 20 * main_scn.calendar.n
    for budget in ("128MB", "512MB", "2GB"):
        assert block_for(daily, 100_000, budget) < block_for(main_scn, 100_000, budget)
    # with the default budget the weekly block is capped at the speed block, the daily one is not
    assert block_for(daily, 100_000) < block_for(main_scn, 100_000) == mem.SPEED_BLOCK


def test_two_budgets_give_the_same_kpis(main_scn):
    """Same KPIs for two budgets (to rounding: numpy's SIMD kernels can differ in the last bit with
    an element's place in its block, ~1e-15 relative, see test_stockflow_physics); one budget
    run twice is bit-identical."""
    res = resolve(main_scn, samples=40, seed=5)
    small = mem.plan(build_structure(main_scn), main_scn.calendar.n, 40, "3MB").block
    assert 1 < small < 40       # the small budget really splits the run into blocks
    _, a = run_kpis(main_scn, res, memory="3MB")
    _, b = run_kpis(main_scn, res, memory="2GB")
    _, again = run_kpis(main_scn, res, memory="3MB")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=k)
        np.testing.assert_array_equal(a[k], again[k], err_msg=k)


def test_sim_run_memory_keyword_full_record(main_scn):
    a = sim.run(main_scn, samples=12, seed=3, record="full", memory="6MB")
    b = sim.run(main_scn, samples=12, seed=3, record="full")
    assert mem.plan(build_structure(main_scn), main_scn.calendar.n, 12, "6MB", "full").block < 12
    for k in a.kpis:
        np.testing.assert_allclose(a.kpis[k], b.kpis[k], rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=k)
    np.testing.assert_allclose(a.trajectory.series["inventory"], b.trajectory.series["inventory"], rtol=1e-12, atol=1e-9)  # t
    assert set(a.trajectory.series) == set(b.trajectory.series)


def test_kpis_hold_no_view_of_a_series(main_scn):
    from sim.stockflow import kpis
    from sim.stockflow.engine import simulate

    traj = simulate(main_scn, resolve(main_scn, samples=4, seed=1), record="summary")
    for name, v in kpis.compute(traj).items():
        assert v.base is None or not any(np.shares_memory(v, s) for s in traj.series.values()), name


def test_budget_too_small_says_how_much(main_scn):
    with pytest.raises(mem.MemoryBudgetError) as e:
        sim.run(main_scn, samples=3000, record="summary", memory="100KB")
    assert "--memory" in e.value.hint
    with pytest.raises(mem.MemoryBudgetError) as e:     # a full record of many samples cannot be blocked away
        sim.run(main_scn, samples=3000, record="full", memory="64MB")
    assert "record='summary'" in e.value.hint


def test_default_budget_sizes_blocks_but_never_refuses(main_scn):
    """Only a budget given explicitly is a limit: calibration's full records of 4,096 samples still run."""
    st, T = build_structure(main_scn), main_scn.calendar.n
    p = mem.plan(st, T, 20_000, None, "full")
    assert p.kept_bytes > mem.DEFAULT_BUDGET
    assert p.block == min(mem.SPEED_BLOCK, mem.DEFAULT_BUDGET // int(T * mem.bytes_per_sample_step(st, "full")))
    with pytest.raises(mem.MemoryBudgetError):
        mem.plan(st, T, 20_000, mem.DEFAULT_BUDGET, "full")


@pytest.mark.parametrize("text, expected", [("2GB", 2 * 10 ** 9), ("512MiB", 512 * 2 ** 20), ("1.5 GiB", 3 * 2 ** 29),
                                            ("64mb", 64 * 10 ** 6), ("2G", 2 * 2 ** 30), (4096, 4096)])
def test_parse_memory(text, expected):
    assert mem.parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "2", "GB", "-1GB", "0MB", "2 parsecs", "1e400GB", "nanGB", "2GB2", True,
                                  "9" * 200 + "GB"])
def test_parse_memory_refuses(text):
    with pytest.raises(ValueError):
        mem.parse_memory(text)


@lru_cache(maxsize=1)
def _main_structure():
    return build_structure(sim.load_scenario(MAIN))


@settings(max_examples=60, deadline=None)
@given(st_.integers(min_value=1, max_value=10 ** 7), st_.integers(min_value=1, max_value=60_000),
       st_.integers(min_value=1, max_value=2 ** 36))
def test_plan_never_exceeds_budget(samples, steps, budget):
    st = _main_structure()
    try:
        p = mem.plan(st, steps, samples, budget)
    except mem.MemoryBudgetError:
        assert samples * mem.KPI_BYTES_PER_SAMPLE + steps * mem.bytes_per_sample_step(st) > budget
        return
    assert 1 <= p.block <= min(samples, mem.SPEED_BLOCK)
    assert p.expected_bytes <= budget


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_estimate_covers_what_a_block_allocates(path):
    """The counted-and-measured estimate is not below tracemalloc's measure, nor 50% above it."""
    scn = sim.load_scenario(path)
    st = build_structure(scn)
    for record in ("summary", "full"):
        got = mem.measured_bytes_per_sample_step(scn, record, small=32, large=64)
        est = mem.bytes_per_sample_step(st, record)
        assert got <= est <= 1.5 * got, (record, got, est)


def test_estimate_covers_a_daily_calendar(write):
    scn = sim.load_scenario(write("daily.yaml", f"""
        extends: {MAIN}
        id: daily-3y
        calendar: {{start: 2025-01-01, end: 2027-12-31, step: day}}
        """))
    got = mem.measured_bytes_per_sample_step(scn, "summary", small=8, large=24)
    assert got <= mem.bytes_per_sample_step(build_structure(scn), "summary") <= 1.5 * got

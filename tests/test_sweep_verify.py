"""The sweep machinery (sampler, executor, storage, analysis) against functions with known answers.

These runs go through the same code as `batsim sweep`; only the evaluator is analytic.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.sweep import analytic as an
from sim.sweep.design import make
from sim.sweep.evaluate import ChunkTask, FunctionEvaluator, MAX_FAILED_PER_CHUNK, SweepError, evaluate_chunk
from sim.sweep.run import load_sweep, sweep_function

N_SOBOL = 4096


def _indices(df: pd.DataFrame, index: str, ids: list[str]) -> pd.DataFrame:
    return df[df["index"] == index].set_index("param").loc[ids]


@pytest.fixture(scope="module")
def ishigami_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ishigami") / "sweep"
    return sweep_function(an.ishigami, an.ishigami_factors(), "sobol", samples=N_SOBOL, seed=11, workers=2,
                          folder=folder, plots=True)


def test_sobol_recovers_ishigami_within_its_intervals(ishigami_result):
    df = ishigami_result.to_df()
    truth = an.ishigami_indices()
    for idx in ("S1", "ST"):
        got = _indices(df, idx, ["x1", "x2", "x3"])
        assert (got["ci_low"].to_numpy() <= truth[idx]).all() and (truth[idx] <= got["ci_high"].to_numpy()).all(), \
            (idx, got, truth[idx])
        # and the intervals are informative: half-widths below 0.05 at N = 4096
        assert ((got["ci_high"] - got["ci_low"]) / 2 < 0.05).all()
    assert ishigami_result.summary["evaluations"] == N_SOBOL * 5


def test_sobol_recovers_the_g_function_within_its_intervals():
    r = sweep_function(an.sobol_g, an.sobol_g_factors(), "sobol", samples=N_SOBOL, seed=2, workers=1)
    df = r.to_df()
    truth = an.sobol_g_indices()
    ids = [f"g{i + 1}" for i in range(len(an.SOBOL_G_A))]
    for idx in ("S1", "ST"):
        got = _indices(df, idx, ids)
        assert (got["ci_low"].to_numpy() <= truth[idx] + 1e-12).all(), (idx, got, truth[idx])
        assert (truth[idx] - 1e-12 <= got["ci_high"].to_numpy()).all(), (idx, got, truth[idx])


def test_sweep_folder_holds_tidy_indices_and_plots(ishigami_result):
    folder = ishigami_result.folder
    csv = pd.read_csv(folder / "indices.csv")
    assert list(csv.columns) == ["kpi", "param", "index", "value", "ci_low", "ci_high"]
    assert len(csv) == 3 * 2
    assert (folder / "plots" / "sobol-y.png").stat().st_size > 5000
    back = load_sweep(folder)
    pd.testing.assert_frame_equal(back.to_df(), ishigami_result.to_df())
    assert np.array_equal(back.design, ishigami_result.design)


def test_morris_ranks_the_g_function():
    r = sweep_function(an.sobol_g, an.sobol_g_factors(), "morris", samples=40, seed=4, workers=2)
    mu = _indices(r.to_df(), "mu_star", [f"g{i + 1}" for i in range(6)])["value"].to_numpy()
    # importance falls as a_i grows: a = 0, 1, 4.5, 9, 99, 99
    assert mu[0] > mu[1] > mu[2] > mu[3] > max(mu[4], mu[5])


def test_oat_on_a_linear_model_returns_its_coefficients():
    r = sweep_function(an.linear, an.linear_factors(), "oat")
    slope = _indices(r.to_df(), "slope", ["a", "b", "c", "d", "e"])["value"].to_numpy()
    np.testing.assert_allclose(slope, an.LINEAR_COEF, rtol=1e-12, atol=1e-12)
    swing = _indices(r.to_df(), "swing", ["a", "b", "c", "d", "e"])["value"].to_numpy()
    widths = np.array([f.high - f.low for f in an.linear_factors()])
    np.testing.assert_allclose(swing, np.abs(an.LINEAR_COEF) * widths, rtol=1e-12)


def test_mc_rank_correlations_have_the_signs_of_the_coefficients():
    r = sweep_function(an.linear, an.linear_factors()[:3], "mc", samples=2000, seed=1)
    rho = _indices(r.to_df(), "spearman", ["a", "b", "c"])
    assert rho.loc["a", "value"] > 0 and rho.loc["b", "value"] < -0.9 and rho.loc["c", "value"] > 0
    assert (rho["ci_low"] < rho["value"]).all() and (rho["value"] < rho["ci_high"]).all()


def _fails_above(X: np.ndarray) -> np.ndarray:
    if (X[:, 0] > 0.97).any():
        raise FloatingPointError("x1 above 0.97")
    return X[:, 0] + 2 * X[:, 1]


def test_failing_samples_are_isolated_recorded_and_counted(tmp_path):
    fs = an.sobol_g_factors(2)
    r = sweep_function(_fails_above, fs, "sobol", samples=256, seed=3, workers=2, folder=tmp_path / "s")
    bad_rows = np.flatnonzero(r.design[:, 0] > 0.97)
    assert 0 < len(bad_rows) < 60
    errors = np.array([e is not None for e in r.errors])
    assert np.array_equal(np.flatnonzero(errors), bad_rows)
    assert r.errors[bad_rows[0]] == "FloatingPointError: x1 above 0.97"
    assert np.isnan(r.kpis["y"][bad_rows]).all() and np.isfinite(r.kpis["y"][~errors]).all()
    assert r.summary["failures"] == len(bad_rows)
    # the other samples keep exactly the values of the function
    np.testing.assert_array_equal(r.kpis["y"][~errors], r.design[~errors, 0] + 2 * r.design[~errors, 1])
    # Sobol drops the blocks that hold a failure and still analyses the rest (y = g1 + 2 g2: S1 = 1/5, 4/5)
    s1 = _indices(r.to_df(), "S1", ["g1", "g2"])["value"].to_numpy()
    np.testing.assert_allclose(s1, [0.2, 0.8], atol=0.08)


def test_a_systematic_failure_stops_the_sweep_quickly():
    calls = []

    def always(X: np.ndarray) -> np.ndarray:
        calls.append(len(X))
        raise ValueError("broken")

    task = ChunkTask(0, 0, np.zeros((4096, 1)), np.zeros(0, np.int64))
    with pytest.raises(SweepError, match="systematic"):
        evaluate_chunk(FunctionEvaluator(always), task)
    assert len(calls) < 4 * MAX_FAILED_PER_CHUNK   # bisection stops early, not 2 x 4096 calls


def _one_percent_fail(X: np.ndarray) -> np.ndarray:
    if (X[:, 0] % 100 == 7).any():
        raise ValueError("row 7 of each hundred")
    return X[:, 0]


def test_scattered_failures_do_not_stop_a_sweep():
    X = np.arange(4096, dtype=float)[:, None]
    res = evaluate_chunk(FunctionEvaluator(_one_percent_fail), ChunkTask(0, 0, X, np.zeros(0, np.int64)))
    assert [r for r, _ in res.errors] == [r for r in range(4096) if r % 100 == 7]    # 41 > 16, and all isolated
    assert np.isnan(res.kpis["y"][7]) and res.kpis["y"][8] == 8.0


def test_results_do_not_depend_on_workers_or_executor():
    fs = an.ishigami_factors()
    base = sweep_function(an.ishigami, fs, "lhs", samples=3000, seed=8, workers=1, chunk_size=300)
    pool = sweep_function(an.ishigami, fs, "lhs", samples=3000, seed=8, workers=2, chunk_size=300)
    np.testing.assert_array_equal(base.kpis["y"], pool.kpis["y"])
    pd.testing.assert_frame_equal(base.to_df(), pool.to_df())


def test_design_is_what_the_sampler_made():
    fs = an.ishigami_factors()
    r = sweep_function(an.ishigami, fs, "sobol", samples=64, seed=5)
    np.testing.assert_array_equal(r.design, make("sobol", fs, 64, 5).values)

"""The joint fit and its leave-one-out backtest on synthetic episodes made by the engine itself.

Three episodes share the graphite calibration scenario; their observations are the engine's own
predictions at values drawn from a known population (plus 5% log-normal noise). The fit must find
the values it was generated from inside its intervals, and the backtest must produce the JSON
interface with errors the data allow.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from calibrate_synthetic import config, params, synthetic_episodes

pytestmark = pytest.mark.slow

MU = np.array([np.log(15.0), 0.85])       # decision days (log), approval (logit)
SD = np.array([0.3, 0.5])
FRONT = 1.0


KNOWN = pytest.mark.xfail(strict=False, reason=(
    "measured 2026-12-01 at these settings (screen 96, 1 start, 2 EM rounds of 5 LM iterations): the fit "
    "stops at front-running 1.73 against the true 1.0 with a Laplace interval far too narrow to cover it; "
    "the settings a shared 2-core machine allows do not converge (docs/calibration.md, 'What limits it')"))


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    rng = np.random.default_rng(11)
    u = MU + SD * rng.standard_normal((3, 2))
    return np.column_stack([np.full(3, FRONT), np.exp(u[:, 0]), 1 / (1 + np.exp(-u[:, 1]))])


@pytest.fixture(scope="module")
def backtest(truth):
    from sim.calibrate.backtest import run_backtest

    ps = params()
    cfg = config(synthetic_episodes(truth, 0.05, 5, ps), ps, population=96, outer=2, inner=5, starts=1,
                 predictive_samples=64)
    return run_backtest(cfg)


@KNOWN
def test_synthetic_values_recovered_within_their_intervals(backtest, truth):
    res = backtest.full
    lo, hi = res.interval(0, "identity", 0.95)
    assert lo <= FRONT <= hi, (lo, res.shared_values(), hi)
    for e in range(3):
        for k, q in enumerate(res.cfg.pooled):
            a, b = res.interval(res.S + e * res.K + k, q.transform, 0.95)
            assert a <= truth[e, 1 + k] <= b, (q.id, e, a, res.episode_values(e)[k], b, truth[e, 1 + k])


@KNOWN
def test_synthetic_population_mean_recovered(backtest, truth):
    """The hyper-mean lies within 3 standard errors (plus the population sd: three episodes only)."""
    res = backtest.full
    u = np.column_stack([np.log(truth[:, 1]), np.log(truth[:, 2] / (1 - truth[:, 2]))])
    for k in range(2):
        assert abs(res.mu[k] - u[:, k].mean()) <= 3 * res.mu_se[k] + 1e-9, (k, res.mu, u.mean(axis=0), res.mu_se)
    assert res.tau < 0.2          # the noise was 0.05 on the log scale


def test_backtest_json_interface(backtest):
    j = json.loads(json.dumps(backtest.to_json()))
    assert set(j) == {"dof", "episodes", "held_out"}
    assert isinstance(j["dof"], int) and j["dof"] > 0
    assert [r["episode"] for r in j["episodes"]] == ["synthetic-0", "synthetic-1", "synthetic-2"]
    for r in j["episodes"]:
        assert set(r) == {"episode", "observations", "rmse_log_out_of_sample", "collapse_month_error",
                          "recovery_month_error", "inside_band_90"}
        assert r["observations"] == 12
        assert np.isfinite(r["rmse_log_out_of_sample"]) and r["rmse_log_out_of_sample"] >= 0
        assert 0.0 <= r["inside_band_90"] <= 1.0
        for key in ("collapse_month_error", "recovery_month_error"):
            assert r[key] is None or isinstance(r[key], int)


@pytest.mark.xfail(strict=False, reason=(
    "measured 2026-12-01: the left-out synthetic-0 has 92% of its months inside the 90% band but a predictive "
    "median of ~1e-124 in some months (the population's draws stop exports entirely), so RMSE(log) is 199; "
    "the log-scale error needs a floor on predictions (docs/calibration.md, 'What limits it')"))
def test_left_out_synthetic_episodes_are_predicted(backtest):
    """Episodes from one population: each left-out one is predicted to within a factor of two on average,
    and most of its months are inside the 90% band."""
    for r in backtest.rows:
        assert r["rmse_log_out_of_sample"] < np.log(2), r
        assert r["inside_band_90"] >= 0.5, r

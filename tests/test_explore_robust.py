"""Robustness metrics: regret against the best policy per future, satisficing, Pareto front, ranking."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.explore import robust

mats = st.integers(2, 6).flatmap(lambda p: st.integers(1, 30).flatmap(
    lambda n: arrays(float, (p, n), elements=st.floats(0, 1e3, allow_nan=False))))


@settings(max_examples=60, deadline=None)
@given(mats)
def test_regret_is_zero_for_the_best_policy_in_each_future(k):
    r = robust.regret(k, "min")
    assert (r >= 0).all()
    best = np.argmin(k, axis=0)
    assert (r[best, np.arange(k.shape[1])] == 0).all()
    # and regret is the gap to that best policy
    np.testing.assert_allclose(r, k - k[best, np.arange(k.shape[1])])
    rmax = robust.regret(k, "max")
    assert (rmax[np.argmax(k, axis=0), np.arange(k.shape[1])] == 0).all() and (rmax >= 0).all()


def test_regret_of_a_policy_equal_to_another_is_identical():
    k = np.array([[3.0, 1.0, 5.0], [3.0, 1.0, 5.0], [2.0, 4.0, 6.0]])
    r = robust.regret(k)
    assert np.array_equal(r[0], r[1])
    np.testing.assert_array_equal(r, [[1, 0, 0], [1, 0, 0], [0, 3, 1]])


def test_satisficing_counts_futures_within_the_threshold():
    t = np.array([[0.01, 0.04, 0.06, np.nan], [0.1, 0.2, 0.0, 0.05]])
    m = robust.metrics(t, t, np.zeros_like(t), {"max": 0.05})
    # NaN (a failed evaluation) is left out of the denominator and is not satisfied
    np.testing.assert_allclose(m["satisficing"], [2 / 3, 2 / 4])
    ok = robust.satisfied(t, {"max": 0.05, "min": 0.02})
    assert ok.tolist() == [[False, True, False, False], [False, False, False, True]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=1, max_size=15))
def test_pareto_front_is_exactly_the_non_dominated_set(pts):
    c = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    f = robust.pareto_front(c, y)
    for i in range(len(pts)):
        dominated = any(c[j] <= c[i] and y[j] <= y[i] and (c[j] < c[i] or y[j] < y[i]) for j in range(len(pts)))
        assert f[i] == (not dominated)
    assert f.any()      # a finite set always has a non-dominated point


def test_rank_breaks_ties_on_cost():
    m = {"satisficing": np.array([0.9, 0.9, 0.5]), "cost_mean_usd": np.array([5.0, 1.0, 0.0]),
         "regret_max": np.zeros(3), "regret_p90": np.zeros(3), "kpi_mean": np.zeros(3), "kpi_p90": np.zeros(3)}
    assert robust.rank(m, "satisficing").tolist() == [1, 0, 2]

"""Partial pooling maths and the backtest's month rules (fast: no engine)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.calibrate import pooling as P
from sim.calibrate.backtest import collapse_recovery
from sim.provenance.registry import Parameter, sample_values


@given(st.floats(1e-6, 1 - 1e-6))
def test_logit_round_trip(x):
    assert P.inverse("logit", P.forward("logit", x)) == pytest.approx(x, rel=1e-9, abs=1e-12)


@given(st.floats(1e-6, 1e6))
def test_log_round_trip(x):
    assert P.inverse("log", P.forward("log", x)) == pytest.approx(x, rel=1e-12)


@settings(max_examples=50)
@given(st.floats(1e-4, 50.0), st.integers(2, 12), st.floats(0.05, 3.0))
def test_sigma_update_is_the_stationary_point(S, E, beta):
    """The returned sigma solves d/dsigma [-E log s - S/(2 s^2) + log s - s/beta] = 0, and is a maximum."""
    s = P.sigma_update(S, E, beta)
    f = lambda x: -E * np.log(x) - S / (2 * x ** 2) + np.log(x) - x / beta  # noqa: E731
    assert s > 0
    assert abs(-(E - 1) / s + S / s ** 3 - 1 / beta) < 1e-6 * (1 + S / s ** 3)
    assert f(s) >= max(f(s * 0.9), f(s * 1.1))


def test_m_step_recovers_a_population_from_many_episodes():
    rng = np.random.default_rng(3)
    mu, sd = np.array([0.3, -1.0]), np.array([0.5, 0.2])
    u = mu + sd * rng.standard_normal((4000, 2))
    m, s = P.m_step(u, np.zeros_like(u), np.zeros(2), np.full(2, 10.0), np.ones(2), np.full(2, 0.5))
    assert m == pytest.approx(mu, abs=0.03)
    assert s == pytest.approx(sd, rel=0.05)


def test_sigma_stays_off_zero_when_episodes_agree():
    """Two episodes with the same mode but each known only to within its posterior sd: sigma stays
    of the order of that sd, not zero."""
    u = np.zeros((2, 1))
    _, s = P.m_step(u, np.full_like(u, 0.04), np.zeros(1), np.ones(1), np.ones(1), np.full(1, 0.5))
    assert 0.05 < s[0] < 0.5


def test_posterior_variance_widens_sigma():
    u = np.array([[0.0], [1.0], [2.0]])
    _, s0 = P.m_step(u, np.zeros_like(u), np.zeros(1), np.full(1, 10.0), np.ones(1), np.full(1, 0.5))
    _, s1 = P.m_step(u, np.full_like(u, 0.5), np.zeros(1), np.full(1, 10.0), np.ones(1), np.full(1, 0.5))
    assert s1[0] > s0[0]


def test_population_quantiles_and_draws_agree():
    pop = P.Population("x", "log", mu=np.log(10.0), sigma=0.4, mu_se=0.2)
    d = pop.draw(np.random.default_rng(0), 200_000)
    assert np.quantile(d, [0.05, 0.5, 0.95]) == pytest.approx([pop.quantile(0.05), 10.0, pop.quantile(0.95)], rel=0.02)


@pytest.mark.parametrize("dist,lo,hi", [("lognormal", 3.0, 30.0), ("logitnormal", 0.1, 0.9)])
def test_registry_population_distributions(dist, lo, hi):
    """The registry samples a fitted population with its range as the 5-95% quantiles, median = value."""
    med = float(np.sqrt(lo * hi)) if dist == "lognormal" else 0.5
    p = Parameter("a.b", "x", "dimensionless", "calibrated", value=med, low=lo, high=hi, distribution=dist)
    x = sample_values(p, np.random.default_rng(1).random(200_000))
    assert np.quantile(x, [0.05, 0.5, 0.95]) == pytest.approx([lo, med, hi], rel=0.02)


def test_collapse_and_recovery_months():
    months = list(range(10))
    v = np.array([1.2, 0.9, 0.2, 0.1, 0.3, 0.6, 0.8, 1.0, 1.0, 1.0])
    assert collapse_recovery(months, v) == (2, 5)
    assert collapse_recovery(months, np.full(10, 0.9)) == (None, None)
    assert collapse_recovery(months, np.array([1, 0.1] + [0.2] * 8)) == (1, None)
    assert collapse_recovery(months, np.array([1.0, np.nan, 0.1, 0.6] + [1.0] * 6)) == (2, 3)

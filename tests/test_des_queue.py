"""The licensing queue against queueing theory: Poisson arrivals, exponential reviews (M/M/c).

Each replication feeds one LicensingAuthority with a Poisson stream of applications and measures
the mean time in system (submission to end of review) and the time-average number waiting. The
Erlang C values must lie inside the replications' 99% confidence interval, and that interval
must be narrow (half-width under a quarter of the value) for the comparison to mean something.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.des.clock import Environment
from sim.des.licensing import LicensingAuthority
from sim.des.streams import Multiplier, Uniform, named, replication_seeds

T_99 = {11: 3.106, 19: 2.861}     # two-sided 99% Student t quantiles by degrees of freedom


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """(mean time in system W, mean number waiting Lq) of an M/M/c queue."""
    a = lam / mu
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    lq = p_wait * rho / (1 - rho)
    return lq / lam + 1 / mu, lq


def one_replication(ss: np.random.SeedSequence, lam: float, mu: float, c: int, n: int, warm: int) -> tuple[float, float]:
    """(mean time in system, time-average queue length) after ``warm`` arrivals, over ``n`` more."""
    env = Environment()
    auth = LicensingAuthority(env, "mmc", rate=c * mu, servers=c,          # unit lots: review time ~ Exp(mu)
                              service=Multiplier(named(ss, "review"), "gamma", 1.0), decision_days=0.0,
                              decision=Multiplier(named(ss, "decision"), "fixed", 0.0), approval=1.0,
                              uniform=Uniform(named(ss, "approval")), on_grant=lambda app, kind: None,
                              on_refuse=lambda app: None, keep=True)
    gaps = named(ss, "arrivals").exponential(1 / lam, warm + n)
    window: dict[str, tuple[float, float, float]] = {}

    def arrivals():
        for i, gap in enumerate(gaps):
            yield env.timeout(gap)
            if i == warm:
                window["start"] = auth.areas()
            auth.apply(1.0, tag=i)
        window["end"] = auth.areas()

    env.process(arrivals())
    env.run()
    (t0, q0, _), (t1, q1, _) = window["start"], window["end"]
    apps = [a for a in auth.records if a.tag >= warm]
    assert len(apps) == n and all(a.phase == 2 for a in apps)
    w = np.mean([a.reviewed - a.submitted for a in apps])
    return float(w), (q1 - q0) / (t1 - t0)


@pytest.mark.parametrize("lam,mu,c,reps", [(0.7, 1.0, 1, 12), (2.1, 1.0, 3, 12)], ids=["M/M/1 rho=0.7", "M/M/3 rho=0.7"])
def test_licence_queue_matches_erlang_c(lam, mu, c, reps):
    w_theory, lq_theory = erlang_c(lam, mu, c)
    runs = np.array([one_replication(ss, lam, mu, c, n=6000, warm=600) for ss in replication_seeds(11, reps)])
    mean, sd = runs.mean(axis=0), runs.std(axis=0, ddof=1)
    half = T_99[reps - 1] * sd / math.sqrt(reps)
    for what, theory, m, h in (("time in system", w_theory, mean[0], half[0]), ("queue length", lq_theory, mean[1], half[1])):
        assert abs(m - theory) <= h, f"{what}: theory {theory:.4f}, simulated {m:.4f} +- {h:.4f} (99% CI)"
        assert h < 0.25 * theory, f"{what}: the confidence interval is too wide to test anything ({h:.4f})"


def test_a_busy_team_processes_its_rate_whatever_the_lot_size():
    """Deterministic reviews, a standing queue: tonnes reviewed per day equal the stated rate."""
    for lot in (10.0, 2.5):
        env = Environment()
        ss = replication_seeds(0, 1)[0]
        auth = LicensingAuthority(env, "det", rate=100.0, servers=4, service=Multiplier(named(ss, "r"), "fixed", 0.0),
                                  decision_days=0.0, decision=Multiplier(named(ss, "d"), "fixed", 0.0), approval=1.0,
                                  uniform=Uniform(named(ss, "a")), on_grant=lambda app, kind: None,
                                  on_refuse=lambda app: None, keep=True)
        for _ in range(int(2000 / lot)):
            auth.apply(lot)
        env.run(until=10.0)
        done = sum(a.qty for a in auth.records)
        assert done == pytest.approx(1000.0, abs=4 * lot)     # at most one lot per reviewer in progress


def test_lifting_releases_every_pending_application():
    env = Environment()
    ss = replication_seeds(0, 1)[0]
    released = []
    auth = LicensingAuthority(env, "lift", rate=1.0, servers=1, service=Multiplier(named(ss, "r"), "fixed", 0.0),
                              decision_days=30.0, decision=Multiplier(named(ss, "d"), "fixed", 0.0), approval=0.0,
                              uniform=Uniform(named(ss, "a")), on_grant=lambda app, kind: released.append((kind, app.qty)),
                              on_refuse=lambda app: None)
    for _ in range(5):
        auth.apply(2.0)                      # one under review for 2 days, the rest queued

    def lift_later():
        yield env.timeout(3.0)               # the first has been reviewed and awaits its decision
        assert auth.pending_t == pytest.approx(10.0)
        auth.lift()

    env.process(lift_later())
    env.run()
    assert [k for k, _ in released] == ["licence_release"] * 5
    assert auth.pending_t == 0.0 and not auth.pending and auth.refused == 0

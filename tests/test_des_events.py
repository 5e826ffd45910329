"""The DES's event economy and the checks that moved out of its loop (issue 14, item 4).

The licensing queue is kept by hand (two SimPy events per application), the lots due at one step
are booked by one event, and the books are checked for every step after the run: these tests pin
what that must still do - a review rate that falls to zero or rises from it, a lift that closes
every pending application, the first broken step reported - and that no per-lot event comes back.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import MAIN
from sim.des.clock import Environment
from sim.des.inputs import build_inputs
from sim.des.licensing import DECISION, LicensingAuthority
from sim.des.model import Replication
from sim.des.params import read_settings
from sim.des.streams import Multiplier, Uniform, named, replication_seeds
from sim.scenario.compile import resolve
from sim.stockflow.engine import ModelError, StockFlowModel
from sim.stockflow.structure import build_structure


def _inputs(path=MAIN):
    scn = sim.load_scenario(path)
    res = resolve(scn)
    return build_inputs(scn, build_structure(scn), StockFlowModel(scn, res), res, read_settings(scn, res), "des")[0]


def _authority(env, rate, servers=1, decision_days=0.0, approval=1.0, granted=None, refused=None):
    ss = replication_seeds(3, 1)[0]
    return LicensingAuthority(env, "t", rate=rate, servers=servers, service=Multiplier(named(ss, "r"), "fixed", 0.0),
                              decision_days=decision_days, decision=Multiplier(named(ss, "d"), "fixed", 0.0),
                              approval=approval, uniform=Uniform(named(ss, "a")),
                              on_grant=lambda app, kind: (granted if granted is not None else []).append((env.now, kind, app.id)),
                              on_refuse=lambda app: (refused if refused is not None else []).append((env.now, app.id)),
                              keep=True)


def test_applications_wait_for_a_zero_review_rate_then_go_in_order():
    env = Environment()
    granted = []
    auth = _authority(env, rate=0.0, granted=granted)
    for _ in range(3):
        auth.apply(2.0)                        # 2 t at 1 t/day: two days each, one reviewer

    def raise_rate():
        yield env.timeout(5.0)
        assert auth.waiting == 3 and auth.reviewing == 0 and not granted
        auth.set_rate(1.0)

    env.process(raise_rate())
    env.run()
    assert granted == [(7.0, "licence_approve", 0), (9.0, "licence_approve", 1), (11.0, "licence_approve", 2)]
    assert [a.started for a in auth.records] == [5.0, 7.0, 9.0]
    # the time-average number waiting: 3 for 5 days, 2 for 2, 1 for 2 (areas integrate the queue)
    _, waited, reviewed = auth.areas()
    assert waited == pytest.approx(3 * 5 + 2 * 2 + 1 * 2) and reviewed == pytest.approx(6.0)


def test_a_rate_that_falls_to_zero_holds_the_queue_until_it_returns():
    env = Environment()
    granted = []
    auth = _authority(env, rate=1.0, granted=granted)
    for _ in range(3):
        auth.apply(1.0)

    def rate_changes():
        yield env.timeout(0.5)
        auth.set_rate(0.0)                     # the review under way finishes at its own rate
        yield env.timeout(2.5)
        auth.set_rate(1.0)

    env.process(rate_changes())
    env.run()
    assert [t for t, _, _ in granted] == [1.0, 4.0, 5.0]
    assert auth.pending_t == 0.0 and not auth.pending


@pytest.mark.parametrize("refuse", [False, True], ids=["released", "refused"])
def test_a_lift_closes_every_pending_application_once_in_submission_order(refuse):
    env = Environment()
    granted, refused = [], []
    auth = _authority(env, rate=2.0, servers=2, decision_days=10.0, approval=1.0, granted=granted, refused=refused)
    for _ in range(5):
        auth.apply(2.0)                        # at day 3: two awaiting decisions, two under review, one queued

    def lift():
        yield env.timeout(3.0)
        assert auth.pending_t == pytest.approx(10.0)
        assert auth.lift(refuse=refuse) == pytest.approx(10.0)

    env.process(lift())
    env.run()
    closed = refused if refuse else [(t, i) for t, _, i in granted]
    assert closed == [(3.0, i) for i in range(5)]            # each once, in submission order, nothing later
    assert auth.pending_t == 0.0 and not auth.pending and auth.decided == 5
    assert auth.free == 2 and auth.waiting == 0 and auth.reviewing == 0
    assert (auth.refused, auth.released) == ((5, 0) if refuse else (0, 5))
    assert [a.phase for a in auth.records] == [DECISION, DECISION, 1, 1, 0]


def test_no_event_per_lot_comes_back():
    """Events per replication of the main scenario: two per licence application, and a handful
    per step (the clock's two, one arrival batch, one intake of applications, control changes,
    plant milestones); one event per lot in transit or four per application would exceed it."""
    inp = _inputs()
    out = Replication(inp, replication_seeds(1, 1)[0]).run()
    apps, lots = out.kpis["licence_applications"], out.kpis["lots_shipped"]
    assert apps > 1000 and lots > 1000                       # the bound means something
    assert out.n_events <= 2 * apps + 5 * inp.T + 50
    assert out.n_events >= 2 * out.kpis["licence_applications"] * 0.9   # reviews and decisions are events


def test_the_books_are_checked_at_every_step_and_the_first_broken_one_reported():
    inp = _inputs()
    rep = Replication(inp, replication_seeds(2, 1)[0])
    out = rep.run()
    assert out.mass_error_max < 1e-6 * max(1.0, float(out.books["shipped"].max()))
    books = {k: v.copy() for k, v in rep._books.items()}
    rep._books["received"][300:, 0] += 50.0                  # transport and plant books both off from step 300
    with pytest.raises(ModelError, match="balance broken for 'graphite' at step 300"):
        rep._check()
    assert rep.mass_error_max == pytest.approx(50.0)
    rep._books = {k: v.copy() for k, v in books.items()}
    rep._books["inv"][400, 1] -= 1e9                         # a negative stock at step 400 only...
    rep._books["consumed"][400, 1] += 1e9                    # ...with the plant books still balanced
    with pytest.raises(ModelError, match="negative stock at step 400"):
        rep._check()
    rep._books = books
    rep._check()                                             # the true books pass
    assert rep.mass_error_max == out.mass_error_max

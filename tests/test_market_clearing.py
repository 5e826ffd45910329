"""The clearing rule against its closed form: two importers on one link, scarce and not."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.stockflow.clearing import clear
from sim.stockflow.stepper import Ask

LINK = np.ones((1, 1))          # one link of one material
LM = np.array([0])


def ask(d: float, route: float = np.inf, tariff: float | None = None) -> Ask:
    return Ask(desired=np.array([[d]]), redirect=np.zeros((1, 1)), cap_step=np.array([[route]]), barred=None,
               moved=[], tariff=None if tariff is None else np.array([[tariff]]))


def run(d1, d2, K, eps, w1=1.0, w2=1.0, cap=1e6, tau1=None):
    placed, blocked, price, avail = clear([ask(d1, tariff=tau1), ask(d2)], LINK, LM, np.array([[K]]),
                                          np.array([eps]), [np.array([w1]), np.array([w2])], np.array([cap]))
    return placed[0][0, 0], placed[1][0, 0], price[0, 0], blocked, avail


def test_not_scarce_everyone_gets_its_order_at_index_one():
    g1, g2, p, blocked, _ = run(30.0, 50.0, 100.0, 0.7)
    assert (g1, g2, p) == (30.0, 50.0, 1.0)
    assert blocked[0][0, 0] == 0 and blocked[1][0, 0] == 0


def test_scarce_shares_and_price_follow_the_closed_form():
    d1, d2, K, eps, w1 = 60.0, 40.0, 50.0, 0.5, 1.5
    a1, a2 = w1 ** eps, 1.0
    A = d1 * a1 + d2 * a2
    g1, g2, p, blocked, _ = run(d1, d2, K, eps, w1=w1)
    assert g1 == pytest.approx(K * d1 * a1 / A, rel=1e-12)
    assert g2 == pytest.approx(K * d2 * a2 / A, rel=1e-12)
    assert g1 + g2 == pytest.approx(K, rel=1e-12)
    assert p == pytest.approx((A / K) ** (1 / eps), rel=1e-12)
    # what was not placed is blocked (no other link to go to)
    assert blocked[0][0, 0] == pytest.approx(d1 - g1) and blocked[1][0, 0] == pytest.approx(d2 - g2)


def test_a_share_above_the_ask_is_capped_and_the_excess_goes_to_the_other():
    # importer 1 asks little but pays a lot: its share K*d1*a1/A exceeds d1, so it gets d1, importer 2 the rest
    d1, d2, K, eps, w1 = 10.0, 100.0, 50.0, 1.0, 20.0
    assert K * d1 * w1 / (d1 * w1 + d2) > d1
    g1, g2, p, _, _ = run(d1, d2, K, eps, w1=w1)
    assert g1 == pytest.approx(d1, rel=1e-12)
    assert g2 == pytest.approx(K - d1, rel=1e-12)


def test_the_price_index_stops_at_its_cap():
    _, _, p, _, _ = run(100.0, 100.0, 1.0, 0.5, cap=7.0)
    assert p == 7.0


def test_a_tariff_lowers_the_importers_share():
    g1, g2, _, _, _ = run(50.0, 50.0, 50.0, 1.0, tau1=1.25)       # importer 1 pays 25% duty on this route
    assert g1 == pytest.approx(50.0 * (1 / 1.25) / (1 / 1.25 + 1), rel=1e-12)
    assert g1 < g2


def test_available_is_the_shared_capacity_less_what_the_others_took():
    g1, g2, _, _, avail = run(60.0, 40.0, 50.0, 0.5)
    assert avail[0][0, 0] == pytest.approx(50.0 - g2) and avail[1][0, 0] == pytest.approx(50.0 - g1)


@settings(max_examples=60, deadline=None)
@given(d1=st.floats(0, 1e4), d2=st.floats(0, 1e4), K=st.floats(0, 1e4), eps=st.floats(0.05, 5),
       w1=st.floats(0.1, 10), w2=st.floats(0.1, 10))
def test_clearing_never_exceeds_capacity_or_asks_and_uses_what_it_can(d1, d2, K, eps, w1, w2):
    g1, g2, p, _, _ = run(d1, d2, K, eps, w1=w1, w2=w2)
    assert 0 <= g1 <= d1 * (1 + 1e-12) and 0 <= g2 <= d2 * (1 + 1e-12)
    assert g1 + g2 <= max(K, 0) * (1 + 1e-9) + 1e-9 or g1 + g2 <= d1 + d2
    assert g1 + g2 == pytest.approx(min(d1 + d2, K), rel=1e-9, abs=1e-9)
    assert np.isfinite(p) and 1.0 <= p <= 1e6


def test_higher_willingness_gets_a_larger_share_when_scarce():
    lo, hi, _, _, _ = run(50.0, 50.0, 40.0, 0.8, w1=1.0, w2=2.0)
    assert hi > lo
    same1, same2, _, _, _ = run(50.0, 50.0, 40.0, 0.8)
    assert same1 == pytest.approx(same2)

"""Feedback through price: Si/C share limits that respond to graphite's price, and capacity built
because the price was high (no output before build and qualification), mass balance kept."""
from __future__ import annotations

import numpy as np
import pytest

from market_cases import global_balance, lever, run, write

SIC = "supply:\n  sic:\n    US:\n      capacity: " + lever(200000, "t/year") + "\n"   # Si/C not supply-limited


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback")


def test_a_price_response_raises_the_sic_share_only_where_graphite_got_dearer(tmp):
    base = run(write(tmp, "sic0", SIC), samples=2, seed=1)
    resp = run(write(tmp, "sic3", SIC + "materials:\n  sic:\n    price_response: " + lever(3) + "\n"), samples=2, seed=1)
    assert global_balance(resp).max() < 1e-9
    scarce = resp.link_price.max(axis=(0, 2)) > 1.0                  # (S,) samples where graphite got dearer
    assert scarce.any() and not scarce.all()
    s0 = base.result.importers["US"].series["substitute_share"]
    s1 = resp.result.importers["US"].series["substitute_share"]
    assert np.array_equal(s0[:, ~scarce], s1[:, ~scarce])              # price index 1 throughout: no change
    assert (s1[:, scarce].max(axis=0) > s0[:, scarce].max(axis=0) + 0.01).all()
    short0 = base.result.importers["US"].series["shortfall"][:, scarce].sum()
    assert resp.result.importers["US"].series["shortfall"][:, scarce].sum() < short0


def test_investment_comes_only_after_the_price_rose_and_the_build_time_passed(tmp):
    build = 365
    p = write(tmp, "inv", "market:\n  investment:\n    graphite:\n      ALLIED: {response: " + lever(2)
              + ", max_added: " + lever(30000, "t/year") + ", build_days: " + lever(build, "day") + "}\n")
    mm = run(p, samples=2, seed=1)
    base = run(write(tmp, "noinv", ""), samples=2, seed=1)
    assert global_balance(mm).max() < 1e-9
    li = mm.links.index((mm.st.regions.index("ALLIED"), mm.st.materials.index("graphite")))
    td = mm.models["US"].cal.t_days
    added, price = mm.added[:, :, li], mm.link_price[:, :, li]
    assert added.min() >= 0 and added.max() <= 30000 / 365.25 * (1 + 1e-9)
    for s in range(2):
        if (price[:, s] > 1).any():
            first_scarce = td[np.argmax(price[:, s] > 1)]
            assert (added[:, s] > 0).any()
            assert td[np.argmax(added[:, s] > 0)] >= first_scarce + build
        else:
            assert (added[:, s] == 0).all()
    short = mm.result.importers["US"].series["shortfall"].sum(axis=0)
    short0 = base.result.importers["US"].series["shortfall"].sum(axis=0)
    assert np.all(short <= short0 * (1 + 1e-9)) and (short < short0).any()


def test_cancelled_investment_is_the_cancelled_share_of_what_the_price_calls_for(tmp):
    """cancellation_share c: the price calls for the same capacity, and (1 - c) of it is built; an
    expected-value reading of the record of announced plants (market.investment.cancellation_share)."""
    def inv(extra: str) -> str:
        return ("market:\n  investment:\n    graphite:\n      ALLIED: {response: " + lever(2) + ", max_added: "
                + lever(30000, "t/year") + ", build_days: " + lever(365, "day") + extra + "}\n")

    full = run(write(tmp, "inv-c0", inv("")), samples=2, seed=1)
    cut = run(write(tmp, "inv-c25", inv(", cancellation_share: " + lever(0.25))), samples=2, seed=1)
    none = run(write(tmp, "inv-c1", inv(", cancellation_share: " + lever(1.0))), samples=2, seed=1)
    assert global_balance(cut).max() < 1e-9
    assert full.added.max() > 0 and none.added.max() == 0
    # the first step capacity is added sees the same price history, so its ratio is exact
    li = full.links.index((full.st.regions.index("ALLIED"), full.st.materials.index("graphite")))
    for s in range(2):
        a_full, a_cut = full.added[:, s, li], cut.added[:, s, li]
        if a_full.any():
            t0 = int(np.argmax(a_full > 0))
            assert a_cut[:t0].max(initial=0) == 0
            assert a_cut[t0] == pytest.approx(0.75 * a_full[t0], rel=1e-12)
        short = {k: r.result.importers["US"].series["shortfall"][:, s].sum() for k, r in
                 (("full", full), ("cut", cut), ("none", none))}
        assert short["full"] <= short["cut"] * (1 + 1e-9) <= short["none"] * (1 + 1e-9) ** 2

"""Scenario discovery, second view: CART (scikit-learn's tree) recovers a box planted in synthetic futures."""
from __future__ import annotations

import numpy as np
import pytest

from sim.explore import cart


def _planted(n=4000, seed=3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.random(n), rng.uniform(0, 10, n), rng.random(n), rng.uniform(730000, 740000, n)])
    return X, ["a", "b", "noise", "when"], (X[:, 0] < 0.3) & (X[:, 1] > 6.0)


def test_cart_recovers_a_planted_box():
    pytest.importorskip("sklearn")
    X, ids, fails = _planted()
    leaves = cart.find_leaves(X, ids, fails)
    assert len(leaves) == 1                              # the one region where failures are the majority
    b = leaves[0]
    assert set(b.limits) == {"a", "b"}                   # only the planted dimensions are split on
    assert b.limits["a"][1] == pytest.approx(0.3, abs=0.01)
    assert b.limits["b"][0] == pytest.approx(6.0, abs=0.1)
    assert b.limits["a"][0] == X[:, 0].min() and b.limits["b"][1] == X[:, 1].max()   # open sides: sampled range
    assert b.coverage >= 0.98 and b.density >= 0.98
    inside = (X[:, 0] <= b.limits["a"][1]) & (X[:, 1] > b.limits["b"][0])
    assert b.coverage == pytest.approx((inside & fails).sum() / fails.sum(), abs=1e-12)
    assert b.density == pytest.approx((inside & fails).sum() / inside.sum(), abs=1e-12)
    assert b.mass == pytest.approx(inside.mean(), abs=1e-12)


def test_cart_leaves_of_two_planted_boxes_are_disjoint_and_ordered_by_coverage():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(5)
    X = rng.random((6000, 3))
    fails = ((X[:, 0] < 0.4) & (X[:, 1] < 0.5)) | (X[:, 2] > 0.85)
    leaves = cart.find_leaves(X, ["a", "b", "c"], fails)
    assert len(leaves) >= 2
    assert [lf.coverage for lf in leaves] == sorted((lf.coverage for lf in leaves), reverse=True)
    assert sum(lf.coverage for lf in leaves) <= 1.0 + 1e-12          # leaves do not overlap
    assert all(lf.density > 0.5 for lf in leaves)
    assert all(lf.mass >= 0.05 - 1e-12 for lf in leaves)


def test_no_leaf_when_nothing_or_everything_fails():
    pytest.importorskip("sklearn")
    X = np.random.default_rng(0).random((200, 2))
    assert cart.find_leaves(X, ["a", "b"], np.zeros(200, bool)) == []
    assert cart.find_leaves(X, ["a", "b"], np.ones(200, bool)) == []


def test_without_scikit_learn_the_exploration_still_finishes(tmp_path, monkeypatch):
    """CART is an optional extra: without it cart_boxes.csv has its header only, a note says why, PRIM still runs."""
    from explore_cases import explore_without

    res, notes, s = explore_without(monkeypatch, tmp_path, "sklearn")
    assert not cart.available()
    assert res.leaves == []
    assert (res.folder / "cart_boxes.csv").read_text().splitlines() == \
        ["box,leaf,param,low,high,coverage,density,unit,name,policy"]
    assert s["cart"] == [] and any("pip install 'batsim[cart]'" in n for n in s["notes"])
    assert any("scikit-learn" in n for n in notes)
    assert (res.folder / "prim_boxes.csv").is_file()

"""Scenario discovery: PRIM (the prim package) recovers a box planted in synthetic futures."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("prim")

from sim.explore.discover import find_boxes, show_value  # noqa: E402


def test_prim_recovers_a_planted_box():
    rng = np.random.default_rng(3)
    n = 4000
    X = np.column_stack([rng.random(n), rng.uniform(0, 10, n), rng.random(n), rng.uniform(730000, 740000, n)])
    ids = ["a", "b", "noise", "when"]
    fails = (X[:, 0] < 0.3) & (X[:, 1] > 6.0)
    boxes = find_boxes(X, ids, fails, max_boxes=1, min_coverage=0.8)
    assert len(boxes) == 1
    b = boxes[0]
    assert set(b.limits) == {"a", "b"}                   # only the planted dimensions are restricted
    assert b.limits["a"][1] == pytest.approx(0.3, abs=0.03)
    assert b.limits["b"][0] == pytest.approx(6.0, abs=0.3)
    assert b.coverage >= 0.8 and b.density >= 0.95
    inside = (X[:, 0] >= b.limits["a"][0]) & (X[:, 0] <= b.limits["a"][1]) & (X[:, 1] >= b.limits["b"][0]) \
        & (X[:, 1] <= b.limits["b"][1])
    # the reported statistics are those of the box on the data
    assert b.coverage == pytest.approx((inside & fails).sum() / fails.sum(), abs=1e-9)
    assert b.density == pytest.approx((inside & fails).sum() / inside.sum(), abs=1e-9)
    assert len(b.trajectory) > 3 and b.trajectory[0]["coverage"] == 1.0


def test_no_box_when_nothing_or_everything_fails():
    X = np.random.default_rng(0).random((200, 2))
    assert find_boxes(X, ["a", "b"], np.zeros(200, bool)) == []
    assert find_boxes(X, ["a", "b"], np.ones(200, bool)) == []


def test_limits_are_shown_in_the_parameters_units():
    assert show_value(float(np.datetime64("2026-11-10", "D").astype("O").toordinal()), "date") == "2026-11-10"
    assert show_value(0.123456789, "dimensionless") == "0.123457"


def test_without_prim_the_exploration_still_finishes(tmp_path, monkeypatch):
    """PRIM is an optional extra: without it prim_boxes.csv has its header only and a note says why."""
    from explore_cases import explore_without

    res, notes, s = explore_without(monkeypatch, tmp_path, "prim")
    assert res.boxes == []
    assert (res.folder / "prim_boxes.csv").read_text().splitlines() == \
        ["box,param,low,high,coverage,density,unit,name,policy"]
    assert any("pip install 'batsim[explore]'" in n for n in s["notes"]) and any("prim" in n for n in notes)

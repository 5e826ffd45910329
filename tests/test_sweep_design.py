"""Sweep designs: parameter choice, distributions, dates, seeds, sample counts."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import sim
from sim.core.errors import BadInput
from sim.sweep import design as dsg
from sim.sweep.factors import choose, factor

from conftest import STRICT


@pytest.fixture(scope="module")
def scn():
    return sim.load_scenario(STRICT)


def test_default_factors_are_the_ranged_inputs(scn):
    ids = [f.id for f in choose(scn)]
    assert "licence.approval_share_2024" in ids and "sic.first_plant_online" in ids
    # a claim compared with the model, a point value and a derived entry are not swept
    assert "claims.jobs_lost_first_week" not in ids
    assert "licence.decision_days" not in ids and "supply.share_cn_anode" not in ids
    assert all(f.param.uncertain and f.param.kind != "derived" for f in choose(scn))


def test_unknown_id_gets_a_did_you_mean(scn):
    with pytest.raises(BadInput) as exc:
        choose(scn, ["licence.approval_share_2042"])
    assert "unknown parameter id 'licence.approval_share_2042'" in str(exc.value)
    assert "did you mean 'licence.approval_share_2024'" in str(exc.value)


def test_parameter_without_range_and_derived_are_refused(scn):
    with pytest.raises(BadInput) as exc:
        choose(scn, ["licence.decision_days", "supply.share_cn_anode", "controls.diversion"])
    msgs = [p.message for p in exc.value.problems]
    assert len(msgs) == 2
    assert "'licence.decision_days' has no range to sweep" in msgs[0]
    assert "derived" in msgs[1]


def test_lever_with_a_range_is_a_factor():
    scn = sim.load_scenario(STRICT.parent / "sic-fast-ramp.yaml")
    ids = [f.id for f in choose(scn)]
    # the expansion's position follows the base scenario's own projects
    i = [p["id"] for p in scn.data["pipeline"]].index("sila-moses-lake-expansion")
    assert f"sic-fast-ramp:pipeline.{i}.ramp_years" in ids
    # a lever without a range is not
    assert f"sic-fast-ramp:pipeline.{i}.online" not in ids


def test_distributions_follow_the_registry(scn):
    fs = choose(scn, ["us.cell_demand_datacentre_2025", "inventory.anode_days", "controls.diversion"])
    assert [f.distribution for f in fs] == ["loguniform", "triangular", "uniform"]
    d = dsg.make("mc", fs, 20000, seed=3)
    logu, tri, uni = d.values.T
    lo, hi = fs[0].low, fs[0].high
    # log-uniform: the log is uniform, so its median is the geometric mean of the ends
    assert np.median(logu) == pytest.approx(math.sqrt(lo * hi), rel=0.05)
    # triangular with the mode at the low end (45 in 45..90): mean (a + b + c) / 3 = 60
    assert tri.min() >= 45 and tri.max() <= 90 and tri.mean() == pytest.approx(60, abs=0.5)
    assert uni.mean() == pytest.approx(0.5, abs=0.01)


def test_dates_are_sampled_as_day_numbers(scn):
    (f,) = choose(scn, ["sic.first_plant_online"])
    d = dsg.make("lhs", [f], 400, seed=1)
    days = d.values[:, 0]
    assert days.min() >= dt.date(2025, 9, 1).toordinal() and days.max() <= dt.date(2025, 12, 31).toordinal()
    # LHS: exactly one point in each of the 400 strata of the range
    strata = np.floor((days - f.low) / (f.high - f.low) * 400).astype(int)
    assert sorted(strata) == list(range(400))


def test_same_seed_same_design_other_seed_other_design():
    fs = [factor("a", 0, 1), factor("b", 0, 1)]
    for m in ("mc", "lhs", "sobol", "morris"):
        a, b, c = (dsg.make(m, fs, 16, seed=s) for s in (5, 5, 6))
        assert a.hash() == b.hash() and a.hash() != c.hash(), m


def test_seed_tree_is_recorded():
    rec = dsg.seed_record(42)
    ss = np.random.SeedSequence(entropy=int(rec["entropy"]), spawn_key=tuple(rec["design_spawn_key"]))
    assert np.array_equal(ss.generate_state(4), dsg.seeds(42)["design"].generate_state(4))


def test_sobol_rounds_up_to_a_power_of_two_with_a_note():
    fs = [factor(f"x{i}", 0, 1) for i in range(3)]
    d = dsg.make("sobol", fs, 1000)
    assert d.meta["samples"] == 1024 and d.n == 1024 * (3 + 2)
    assert "using N = 1024 instead of 1000" in d.meta["notes"][0]
    assert dsg.make("sobol", fs, 512).meta["notes"] == []


def test_oat_rows_sit_at_nominal_low_and_high():
    fs = [factor("a", 0, 10, 3), factor("b", -1, 1, 0)]
    d = dsg.make("oat", fs)
    assert d.values.tolist() == [[3, 0], [0, 0], [10, 0], [3, -1], [3, 1]]


def test_morris_design_is_trajectories_of_one_step_each():
    fs = [factor(f"x{i}", 0, 1) for i in range(4)]
    d = dsg.make("morris", fs, 10)
    assert d.n == 10 * 5
    steps = np.diff(d.unit.reshape(10, 5, 4), axis=1)
    assert ((steps != 0).sum(axis=2) == 1).all()         # one factor moves per step


@pytest.mark.parametrize("n", [0, -5])
def test_nonpositive_samples_are_bad_input(n):
    with pytest.raises(BadInput, match="--samples must be a positive number"):
        dsg.make("mc", [factor("a", 0, 1)], n)

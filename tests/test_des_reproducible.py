"""Seeds: the same seed gives identical files, whatever the worker count; streams are common
across scenarios (common random numbers); different seeds give different replications."""
from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from conftest import MAIN, SCENARIOS
from sim.des import run_des

VOLATILE = ("created_utc", "command")


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_files(cli, tmp_path):
    outs = []
    for k, workers in enumerate(("1", "2")):
        out = tmp_path / f"o{k}"
        code, _, err = cli("run", MAIN, "--engine", "des", "--seed", "7", "--replications", "6", "--workers", workers,
                           "--out", out)
        assert code == 0, err
        outs.append(_files(out / "graphite-controls-2025"))
    a, b = outs
    assert set(a) == set(b) and {"timeseries.csv", "timeseries_bands.csv", "summary.json", "manifest.json",
                                 "events.csv"} <= set(a) and any(k.startswith("plots/") for k in a)
    for name in a:
        if name == "manifest.json":
            ma, mb = (json.loads(x[name]) for x in (a, b))
            for key in VOLATILE + ("workers",):
                ma.pop(key), mb.pop(key)
            assert ma == mb
        else:
            assert a[name] == b[name], name


def test_results_do_not_depend_on_the_worker_count():
    scn = sim.load_scenario(MAIN)
    r1 = run_des(scn, replications=5, seed=9, workers=1)
    r3 = run_des(scn, replications=5, seed=9, workers=3)
    for key in ("cell_output", "inventory", "licence_backlog", "in_transit"):
        np.testing.assert_array_equal(r1.trajectory.series[key], r3.trajectory.series[key])
    assert r1.events == r3.events


def test_different_seeds_and_replications_differ():
    scn = sim.load_scenario(MAIN)
    a = run_des(scn, replications=3, seed=1, workers=1).trajectory.series["licence_backlog"]
    b = run_des(scn, replications=3, seed=2, workers=1).trajectory.series["licence_backlog"]
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[:, 0], a[:, 1])         # replications are independent draws


def test_common_random_numbers_across_scenarios():
    """A plant both scenarios share commissions on the same day; the first lots sail alike."""
    base = run_des(sim.load_scenario(MAIN), seed=4, workers=1)
    fast = run_des(sim.load_scenario(SCENARIOS / "sic-fast-ramp.yaml"), seed=4, workers=1)

    def commissioned(r):
        return [e[0] for e in r.events if e[1] == "commissioned" and e[2] == "plant:sila-moses-lake"]

    assert commissioned(base) and commissioned(base) == commissioned(fast)
    first = [e for e in base.events if e[1] == "arrive"][:50]
    assert first == [e for e in fast.events if e[1] == "arrive"][:50]


@pytest.mark.parametrize("engine", ["des", "hybrid"])
def test_parameter_samples_pair_with_replications(engine):
    scn = sim.load_scenario(MAIN)
    r = sim.run(scn, samples=4, replications=4, seed=3, engine=engine, workers=1)
    assert r.samples == 4 and r.trajectory.series["cell_output"].shape[1] == 4
    assert len(np.unique(r.resolved.slots["policies.export_controls.0.licence.approval"])) == 4
    with pytest.raises(ValueError):
        sim.run(scn, samples=3, replications=4, engine=engine)

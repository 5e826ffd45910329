"""batsim explore end to end on a short scenario: files, common random numbers, resume, workers."""
from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from explore_cases import write

pytest.importorskip("prim")

COMMON = ["--samples", "48", "--seed", "5", "--chunk-size", "40", "--no-progress"]


def _run(cli, scn, pol, out, *extra):
    code, stdout, err = cli("explore", scn, "--policies", pol, *COMMON, "--out", out, *extra)
    assert code == 0, err
    return out / "tiny-explore", stdout


def _results(folder):
    return [pq.read_table(f).to_pandas() for f in sorted((folder / "results").glob("chunk-*.parquet"))]


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    """One finished exploration (4 policies x 48 futures), run through the Python API."""
    from sim.explore import explore

    tmp = tmp_path_factory.mktemp("explore")
    scn, pol = write(tmp)
    res = explore(scn, pol, samples=48, seed=5, out=tmp / "out", chunk_size=40, workers=1, plots=True)
    return res, tmp


def test_files_and_their_columns(explored):
    res, _ = explored
    f = res.folder
    for name in ("robustness.csv", "pareto.csv", "prim_boxes.csv", "cart_boxes.csv", "futures.parquet", "summary.json",
                 "manifest.json", "plots/pareto.png", "plots/regret.png"):
        assert (f / name).is_file(), name
    rows = list(csv.DictReader(open(f / "robustness.csv")))
    assert list(rows[0]) == ["policy", "metric", "value"]
    assert {r["metric"] for r in rows} >= {"satisficing", "regret_max", "regret_p90", "kpi_p90", "cost_mean_usd"}
    assert len({r["policy"] for r in rows}) == 4
    with open(f / "prim_boxes.csv") as fh:
        assert fh.readline().strip().startswith("box,param,low,high,coverage,density")
    m = json.loads((f / "manifest.json").read_text())
    assert m["status"] == "complete" and m["method"] == "explore" and m["evaluations"] == 4 * 48
    assert len(m["shards"]) == m["chunks"] == 5        # 192 rows in chunks of 40
    assert len(m["explore"]["policies"]) == 4


def test_cart_leaves_are_the_preferred_policys_failures_in_the_parameters_units(explored):
    pytest.importorskip("sklearn")
    res, _ = explored
    f = res.folder
    rows = list(csv.DictReader(open(f / "cart_boxes.csv")))
    with open(f / "cart_boxes.csv") as fh:
        assert fh.readline().strip() == "box,leaf,param,low,high,coverage,density,unit,name,policy"
    s = json.loads((f / "summary.json").read_text())
    assert len(s["cart"]) == len(res.leaves)
    thr = s["threshold"]
    T = res.threshold_kpi[res.preferred]
    fails = T > thr["max"]
    assert fails.any() and not fails.all(), "the case should have failing and passing futures"
    assert res.leaves, "a tree with failures should have a failing leaf"
    for leaf in res.leaves:
        inside = np.ones(len(T), bool)
        for pid, (lo, hi) in leaf.limits.items():
            x = res.futures[:, res.future_ids.index(pid)]
            inside &= ((x > lo) | ((lo == x.min()) & (x == lo))) & (x <= hi)
        assert leaf.coverage == pytest.approx((inside & fails).sum() / fails.sum(), abs=1e-12)
        assert leaf.density == pytest.approx((inside & fails).sum() / inside.sum(), abs=1e-12)
        assert leaf.density > 0.5
        assert {r["param"] for r in rows if r["box"] == str(leaf.index)} == set(leaf.limits)


def test_a_policy_against_itself_is_exactly_zero(explored):
    """Common random numbers: twin=a and twin=b are the same policy, so every future gives the same KPIs."""
    res, _ = explored
    i, j = res.names.index("stockpile=d30+twin=a"), res.names.index("stockpile=d30+twin=b")
    assert np.array_equal(res.kpi[i], res.kpi[j]) and np.array_equal(res.regret[i], res.regret[j])
    assert np.all(res.kpi[i] - res.kpi[j] == 0)
    # the futures vary (this is not a comparison of constants)
    assert np.ptp(res.kpi[i]) > 0


def test_regret_zero_for_the_best_policy_and_costs_are_sampled(explored):
    res, _ = explored
    best = np.argmin(res.kpi, axis=0)
    assert (res.regret[best, np.arange(res.kpi.shape[1])] == 0).all()
    d30 = res.names.index("stockpile=d30+twin=a")
    assert np.ptp(res.cost[d30]) > 0                       # the 30-day stockpile's cost is a ranged entry
    assert res.cost[res.names.index("stockpile=none+twin=a")].max() == 0
    lo, hi = 60e6, 220e6                                   # policy_costs.graphite_stockpile_30d range
    assert lo <= res.cost[d30].min() and res.cost[d30].max() <= hi


def test_a_stockpile_never_makes_the_shortfall_worse(explored):
    """Physics: a reserve released when cover runs low can only add material."""
    res, _ = explored
    none, d30 = res.names.index("stockpile=none+twin=a"), res.names.index("stockpile=d30+twin=a")
    assert (res.kpi[d30] <= res.kpi[none] + 1e-9).all()
    assert (res.kpi[d30] < res.kpi[none] - 1e-6).any()    # and in some futures it helps


def test_resume_and_two_workers_give_identical_results(explored, tmp_path, cli):
    res, tmp = explored
    ref = res.folder
    # two workers, via the CLI
    two, _ = _run(cli, tmp / "short.yaml", tmp / "policy.yaml", tmp_path / "two", "--workers", "2", "--no-plots")
    for a, b in zip(_results(ref), _results(two)):
        assert a.equals(b)
    for name in ("robustness.csv", "pareto.csv", "prim_boxes.csv", "cart_boxes.csv"):
        assert (ref / name).read_text() == (two / name).read_text(), name
    # lose two chunks, resume: they are recomputed and the files are the same again
    (two / "results" / "chunk-00001.parquet").unlink()
    p = two / "results" / "chunk-00003.parquet"
    p.write_bytes(p.read_bytes()[:-20])
    code, _, err = cli("explore", tmp / "short.yaml", "--policies", tmp / "policy.yaml", "--out", tmp_path / "two",
                       "--resume", "--workers", "1", "--no-plots", "--no-progress")
    assert code == 0, err
    assert "chunk 1 will be recomputed" in err and "chunk 3 will be recomputed" in err
    m = json.loads((two / "manifest.json").read_text())
    assert m["runs"][-1]["chunks_to_do"] == 2
    for a, b in zip(_results(ref), _results(two)):
        assert a.equals(b)
    assert (ref / "robustness.csv").read_text() == (two / "robustness.csv").read_text()


def test_an_existing_exploration_is_not_overwritten(explored, cli):
    res, tmp = explored
    before = (res.folder / "manifest.json").read_text()
    code, _, err = cli("explore", tmp / "short.yaml", "--policies", tmp / "policy.yaml", *COMMON,
                       "--out", res.folder.parent)
    assert code == 2 and "--resume" in err
    assert (res.folder / "manifest.json").read_text() == before


@pytest.mark.slow
def test_dask_gives_the_local_results(explored, tmp_path, cli):
    distributed = pytest.importorskip("distributed")
    res, tmp = explored
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        d, _ = _run(cli, tmp / "short.yaml", tmp / "policy.yaml", tmp_path / "dask", "--executor", "dask",
                    "--scheduler", cluster.scheduler_address, "--no-plots")
    assert json.loads((d / "manifest.json").read_text())["runs"][-1]["executor"] == "dask"
    for a, b in zip(_results(res.folder), _results(d)):
        assert a.equals(b)
    assert (res.folder / "robustness.csv").read_text() == (d / "robustness.csv").read_text()

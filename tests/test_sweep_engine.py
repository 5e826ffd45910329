"""`batsim sweep` on the stock-flow engine (a 3-year monthly variant of the main scenario)."""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.sweep.run import load_sweep

from conftest import STRICT

SHORT = f"""extends: {STRICT}
id: sweep-short
calendar: {{start: 2025-01-01, end: 2027-12-31, step: month}}
"""
PARAMS = "licence.approval_share_2024,licence.capacity_share,controls.diversion,inventory.anode_days,sic.first_plant_online"


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scn") / "short.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return p


def _results(folder: Path) -> pd.DataFrame:
    return pd.concat([pq.read_table(f).to_pandas() for f in sorted((folder / "results").glob("chunk-*.parquet"))],
                     ignore_index=True)


@pytest.fixture(scope="module")
def mc_run(short, tmp_path_factory):
    """An MC sweep through the CLI with a process pool; several chunks."""
    from sim.cli.main import main

    out = tmp_path_factory.mktemp("mc")
    code = main(["sweep", str(short), "--method", "mc", "--samples", "600", "--seed", "3", "--workers", "2",
                 "--chunk-size", "150", "--out", str(out), "--no-progress"])
    assert code == 0
    return out / "sweep-short-mc"


def test_mc_sweep_writes_every_output(mc_run):
    f = mc_run
    for name in ("manifest.json", "indices.csv", "bands.csv", "summary.json", "plots/fan_chart.png",
                 "plots/kpi_histograms.png"):
        assert (f / name).is_file(), name
    m = json.loads((f / "manifest.json").read_text())
    assert m["status"] == "complete" and m["finished"] == [0, 1, 2, 3] and m["chunks"] == 4
    assert m["seed"]["seed"] == 3 and m["design"]["hash"] and m["scenario"]["hash"]
    assert {x["role"] for x in m["scenario"]["files"]} == {"scenario", "registry"}
    assert len(list((f / "design").glob("*.parquet"))) == 4
    res = _results(f)
    assert list(res["sample"]) == list(range(600)) and res["error"].isna().all()
    assert not list(f.rglob("*.tmp"))                       # no temporary file left behind
    idx = pd.read_csv(f / "indices.csv")
    assert list(idx.columns) == ["kpi", "param", "index", "value", "ci_low", "ci_high"]
    assert set(idx["index"]) == {"spearman"}
    bands = pd.read_csv(f / "bands.csv")
    assert {"time", "variable", "unit", "q05", "q50", "q95"} <= set(bands.columns)
    assert (bands["q05"] <= bands["q50"] + 1e-9).all() and (bands["q50"] <= bands["q95"] + 1e-9).all()


def test_kept_series_agree_with_the_kpis(mc_run):
    r = load_sweep(mc_run)
    kept = {}
    for p in sorted((mc_run / "series").glob("*.parquet")):
        t = pq.read_table(p).to_pandas()
        for _, row in t[t["series"] == "shortfall_fraction"].iterrows():
            kept[int(row["sample"])] = np.asarray(row["values"], dtype=float)
    assert len(kept) == 600                                  # fewer samples than the subsample size: all kept
    for s in (0, 137, 599):   # the KPI is a planned-weighted mean over 4-week windows: within each window's range
        k, f = r.kpis["peak_shortfall_fraction"][s], kept[s]
        assert max(f[i:i + 4].min() for i in range(len(f) - 3)) - 1e-6 <= k <= f.max() + 1e-6


def test_design_columns_are_the_factors_in_their_units(mc_run):
    d = pq.read_table(mc_run / "design" / "chunk-00000.parquet").to_pandas()
    assert list(d.columns)[0] == "sample" and "sic.first_plant_online" in d.columns
    lo, hi = dt.date(2025, 9, 1).toordinal(), dt.date(2025, 12, 31).toordinal()   # the registry range
    assert d["sic.first_plant_online"].between(lo, hi).all() and d["sic.first_plant_online"].std() > 10


def test_same_results_with_one_worker_and_other_chunks(mc_run, short, tmp_path, cli):
    code, _, err = cli("sweep", short, "--method", "mc", "--samples", "600", "--seed", "3", "--workers", "1",
                       "--chunk-size", "600", "--out", tmp_path, "--no-progress", "--no-plots")
    assert code == 0, err
    a, b = _results(mc_run), _results(tmp_path / "sweep-short-mc")
    pd.testing.assert_frame_equal(a, b)


def test_sobol_morris_oat_run_end_to_end(short, tmp_path, cli):
    for method, samples, plot in (("sobol", "16", "sobol-peak_shortfall_fraction.png"),
                                  ("morris", "4", "morris-peak_shortfall_fraction.png"),
                                  ("oat", None, "tornado-peak_shortfall_fraction.png")):
        args = ["sweep", short, "--method", method, "--params", PARAMS, "--out", tmp_path, "--no-progress"]
        code, out, err = cli(*args, *(["--samples", samples] if samples else []))
        assert code == 0, err
        f = tmp_path / f"sweep-short-{method}"
        assert (f / "plots" / plot).is_file()
        idx = pd.read_csv(f / "indices.csv")
        assert set(idx["param"]) == set(PARAMS.split(","))
        assert f"wrote {f}" in out


def test_oat_tornado_numbers_are_engine_runs(short, tmp_path, cli):
    import sim

    code, _, err = cli("sweep", short, "--method", "oat", "--params", "licence.approval_share_2024", "--out", tmp_path,
                       "--no-progress", "--no-plots")
    assert code == 0, err
    r = load_sweep(tmp_path / "sweep-short-oat")
    scn = sim.load_scenario(short)
    hi = sim.run(scn, given={"licence.approval_share_2024": np.array([1.0])}).kpis["peak_shortfall_fraction"][0]
    nominal = sim.run(scn).kpis["peak_shortfall_fraction"][0]
    row = r.to_df().query("kpi == 'peak_shortfall_fraction' and index == 'high'")
    assert row["value"].iloc[0] == pytest.approx(hi - nominal, abs=1e-12)


def test_resume_after_a_crash_redoes_only_missing_chunks(mc_run, short, tmp_path, cli):
    import shutil

    f = tmp_path / "sweep-short-mc"
    shutil.copytree(mc_run, f)
    m = json.loads((f / "manifest.json").read_text())
    m["finished"], m["status"] = [0, 2], "running"          # as if the run died after chunks 0 and 2
    (f / "manifest.json").write_text(json.dumps(m))
    (f / "results" / "chunk-00003.parquet").unlink()
    before = (f / "results" / "chunk-00000.parquet").stat().st_mtime_ns
    code, _, err = cli("sweep", short, "--method", "mc", "--resume", "--out", tmp_path, "--no-progress",
                       "--no-plots", "--workers", "2")
    assert code == 0, err
    assert "2/4 chunks already finished" in err
    m2 = json.loads((f / "manifest.json").read_text())
    assert m2["runs"][-1]["chunks_to_do"] == 2 and m2["finished"] == [0, 1, 2, 3] and m2["status"] == "complete"
    assert (f / "results" / "chunk-00000.parquet").stat().st_mtime_ns == before
    pd.testing.assert_frame_equal(_results(f), _results(mc_run))


def test_resume_refuses_a_changed_scenario_or_design_and_touches_nothing(tmp_path, cli):
    scn = tmp_path / "own.yaml"
    scn.write_text(SHORT.replace("sweep-short", "sweep-own"), encoding="utf-8")
    code, _, err = cli("sweep", scn, "--method", "mc", "--samples", "40", "--chunk-size", "10", "--workers", "1",
                       "--params", PARAMS, "--out", tmp_path, "--no-progress", "--no-plots")
    assert code == 0, err
    f = tmp_path / "sweep-own-mc"
    m = json.loads((f / "manifest.json").read_text())
    m["finished"], m["status"] = [0, 1], "running"          # interrupted half-way
    (f / "manifest.json").write_text(json.dumps(m))
    snapshot = {p: p.read_bytes() for p in f.rglob("*") if p.is_file()}
    # 1. another seed: a different design
    code, _, err = cli("sweep", scn, "--method", "mc", "--resume", "--seed", "4", "--out", tmp_path)
    assert code == 2 and "cannot resume: the design changed (seed: 0 -> 4)" in err
    # 2. other parameters
    code, _, err = cli("sweep", scn, "--method", "mc", "--resume", "--params", "controls.diversion", "--out", tmp_path)
    assert code == 2 and "params: " in err
    # 3. the scenario file was edited
    scn.write_text(SHORT.replace("sweep-short", "sweep-own").replace("2027-12-31", "2027-11-30"), encoding="utf-8")
    code, _, err = cli("sweep", scn, "--method", "mc", "--resume", "--out", tmp_path)
    assert code == 2 and "the scenario or registry changed" in err and "own.yaml" in err
    assert {p: p.read_bytes() for p in f.rglob("*") if p.is_file()} == snapshot


def test_an_existing_sweep_is_not_overwritten_without_resume(mc_run, short, cli):
    before = (mc_run / "manifest.json").read_bytes()
    code, _, err = cli("sweep", short, "--method", "mc", "--samples", "10", "--out", mc_run.parent)
    assert code == 2 and "already holds a sweep" in err and "--resume" in err
    assert (mc_run / "manifest.json").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--samples", "0"], "--samples must be a positive number"),
    (["--params", "licence.aproval_share_2024"], "did you mean 'licence.approval_share_2024'"),
    (["--params", "licence.decision_days"], "has no range to sweep"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler is for the Dask executor"),
])
def test_bad_input_exits_2(short, tmp_path, cli, args, message):
    code, out, err = cli("sweep", short, "--method", "mc", "--out", tmp_path, *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "sweep-short-mc").exists()


def test_a_scheduler_that_does_not_answer_fails_fast(short, tmp_path, cli):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    code, _, err = cli("sweep", short, "--method", "mc", "--samples", "8", "--executor", "dask",
                       "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path)
    assert code == 2 and "no Dask scheduler answered at 'tcp://127.0.0.1:9'" in err
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "sweep-short-mc").exists()      # nothing written


def test_missing_dask_is_a_clear_error(short, tmp_path, cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    code, _, err = cli("sweep", short, "--method", "mc", "--executor", "dask", "--out", tmp_path)
    assert code == 2 and "pip install 'batsim[dask]'" in err


def test_sobol_sample_count_note(short, tmp_path, cli):
    code, _, err = cli("sweep", short, "--method", "sobol", "--samples", "12", "--params", PARAMS, "--out", tmp_path,
                       "--no-progress", "--no-plots")
    assert code == 0 and "using N = 16 instead of 12" in err
    assert json.loads((tmp_path / "sweep-short-sobol" / "manifest.json").read_text())["evaluations"] == 16 * 7


def test_python_api_result(short, tmp_path):
    from sim.sweep import sweep

    r = sweep(short, "morris", samples=4, params=PARAMS.split(","), out=None, workers=1)
    assert r.folder is None and r.failures == 0
    df = r.to_df()
    assert set(df["index"]) == {"mu_star", "sigma", "mu"}
    ax = r.plot("peak_shortfall_fraction")
    assert "peak_shortfall_fraction" in ax.get_xlabel() and "licence" in " ".join(t.get_text() for t in ax.texts)
    assert len(r.results_df()) == 4 * 6

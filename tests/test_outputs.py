"""Run outputs: files, columns, summary keys, manifest, plots, atomic writes, determinism."""
from __future__ import annotations

import csv
import hashlib
import json

import pytest

import sim
from conftest import MAIN, SCENARIOS

REQUIRED_KPIS = ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout",
                 "recovery_date", "jobs_at_risk_peak", "sic_anode_share_end")


@pytest.fixture(scope="module")
def main_out(tmp_path_factory):
    from sim.cli.main import main

    out = tmp_path_factory.mktemp("runs")
    assert main(["run", str(MAIN), "--out", str(out), "--seed", "3", "--quiet"]) == 0
    return out / "graphite-controls-2025"


def test_run_writes_the_documented_files(main_out):
    names = sorted(p.name for p in main_out.iterdir())
    assert names == ["manifest.json", "plots", "summary.json", "timeseries.csv"]
    pngs = sorted(p.name for p in (main_out / "plots").glob("*.png"))
    assert pngs == ["inventory_cover.png", "price_index.png", "shortfall.png", "sic_share.png", "supply_by_origin.png"]
    assert all((main_out / "plots" / n).stat().st_size > 10_000 for n in pngs)
    assert not list(main_out.parent.glob(".*tmp*")), "no temporary folder may be left behind"


def test_timeseries_is_tidy(main_out):
    with open(main_out / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["time", "variable", "region", "material", "unit", "value"]
    variables = {r["variable"] for r in rows}
    assert {"demand", "cell_output", "shortfall", "inventory", "deliveries", "days_of_cover",
            "licence_backlog", "jobs_at_risk", "substitute_share"} <= variables
    units = {(r["variable"], r["unit"]) for r in rows}
    assert ("cell_output", "GWh/year") in units and ("inventory", "t") in units
    origins = {r["region"] for r in rows if r["variable"] == "deliveries"}
    assert {"CN", "ALLIED", "US"} <= origins


def test_summary_holds_the_required_kpis(main_out):
    s = json.loads((main_out / "summary.json").read_text())
    for k in REQUIRED_KPIS:
        assert k in s
    assert s["cell_output_shortfall_gwh"] >= 0
    assert 0 <= s["peak_shortfall_fraction"] <= 1
    # exposed jobs: jobs per GWh of cell and pack output x planned output (a derived entry)
    exposed = sim.load_scenario(MAIN).registry.nominal("jobs.exposed_cell_and_pack")
    assert abs(s["jobs_at_risk_peak"] - s["peak_shortfall_fraction"] * exposed) <= 1
    assert s["claims"][0]["param"] == "claims.jobs_lost_first_week"
    assert s["claims"][0]["quote"].startswith("If China decided tomorrow")


def test_manifest_traces_inputs_and_parameters(main_out):
    m = json.loads((main_out / "manifest.json").read_text())
    scen = [i for i in m["inputs"] if i["role"] in ("scenario", "extends")]
    assert [i["path"].split("/")[-1] for i in scen] == ["baseline.yaml", "graphite-controls-2025.yaml"]
    for i in m["inputs"]:
        with open(i["path"], "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == i["sha256"]
    params = {p["id"]: p for p in m["parameters"]}
    assert params["sic.displacement_ratio"]["citations"][0]["source"] == "seed004"
    assert params["sic.displacement_effective"]["formula"]
    cal = params["calibrated.episodes.licence_approval_share"]
    assert cal["kind"] == "calibrated" and cal["used_at"] == ["policies.export_controls.0.licence.approval"]
    assert params["controls.diversion"]["kind"] == "assumption"
    assert m["seed"] == 3 and m["engine"] == "stockflow"
    assert {"python", "numpy", "scipy", "simpy", "pint"} <= set(m["versions"])


def test_same_seed_gives_identical_files(tmp_path):
    from sim.cli.main import main

    for d in ("a", "b"):
        assert main(["run", str(MAIN), "--out", str(tmp_path / d), "--samples", "8", "--seed", "4",
                     "--no-plots", "--quiet"]) == 0
    for name in ("timeseries.csv", "timeseries_bands.csv", "summary.json"):
        assert (tmp_path / "a" / "graphite-controls-2025" / name).read_bytes() == \
               (tmp_path / "b" / "graphite-controls-2025" / name).read_bytes(), name
    s = json.loads((tmp_path / "a" / "graphite-controls-2025" / "summary.json").read_text())
    assert s["quantiles"]["cell_output_shortfall_gwh"]["p05"] <= s["quantiles"]["cell_output_shortfall_gwh"]["p95"]


def test_a_failed_write_leaves_the_previous_result_intact(tmp_path, monkeypatch, cli):
    code, _, _ = cli("run", SCENARIOS / "baseline.yaml", "--out", tmp_path, "--no-plots", "--quiet")
    assert code == 0
    before = (tmp_path / "baseline" / "summary.json").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("sim.outputs.plots.write_plots", boom)
    code, _, err = cli("run", SCENARIOS / "baseline.yaml", "--out", tmp_path, "--seed", "9")
    assert code == 1 and "disk full" in err and "Traceback" not in err
    assert (tmp_path / "baseline" / "summary.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".baseline.lock") == ["baseline"]  # folder lock


def test_python_api_returns_notebook_friendly_results():
    res = sim.run(SCENARIOS / "graphite-ban.yaml")
    df = res.timeseries()
    assert list(df.columns) == ["time", "variable", "region", "material", "unit", "value"]
    assert str(df["time"].dtype).startswith("datetime64")
    s = res.summary()
    assert s["days_until_stockout"] > 0
    assert s["claims"][0]["model"] == s["jobs_at_risk_first_week"]


def test_kpi_only_runs_refuse_to_write_series():
    res = sim.run(MAIN, samples=3, record="summary")
    assert res.kpis["cell_output_shortfall_gwh"].shape == (3,)
    with pytest.raises(ValueError, match="record='full'"):
        res.timeseries()

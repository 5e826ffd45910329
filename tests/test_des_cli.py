"""`batsim run --engine des|hybrid`: the same files as the stock-flow engine, plus events.csv and
p05/p50/p95 of the KPIs over replications in summary.json."""
from __future__ import annotations

import csv
import json

import pytest

import sim
from conftest import MAIN

QUANTILE_KPIS = ("days_until_stockout", "licence_backlog_peak_t", "recovery_date", "cell_output_shortfall_gwh")


@pytest.mark.parametrize("engine", ["des", "hybrid"])
def test_run_writes_the_common_files_events_and_quantiles(cli, tmp_path, engine):
    code, out, err = cli("run", MAIN, "--engine", engine, "--replications", "8", "--seed", "7", "--out", tmp_path,
                         "--no-plots")
    assert code == 0, err
    assert "licence_backlog_peak_t" in out and "5%" in out and "95%" in out     # the labelled quantile table
    folder = tmp_path / "graphite-controls-2025"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["engine"] == engine and summary["samples"] == 8 and summary["replications"] == 8
    for k in QUANTILE_KPIS:
        q = summary["quantiles"][k]
        if q is not None:
            assert set(q) == {"p05", "p50", "p95", "defined_in"}
            assert q["p05"] <= q["p50"] <= q["p95"]
    assert summary["quantiles"]["licence_backlog_peak_t"]["defined_in"] == 1.0
    assert summary["units"]["licence_backlog_peak_t"] == "t"
    rows = list(csv.reader((folder / "events.csv").open()))
    assert rows[0] == ["time", "kind", "entity", "quantity"]
    kinds = {r[1] for r in rows[1:]}
    assert {"ship", "arrive", "licence_apply", "batch", "control_binds", "front_running_starts"} <= kinds
    assert {"licence_approve", "licence_refuse"} & kinds
    assert ("commissioned" in kinds) == (engine == "des")
    times = [r[0] for r in rows[1:]]
    assert times == sorted(times)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["engine"] == engine and manifest["replications"] == 8
    assert manifest["des_settings"]["sources"]["des.licence.servers"].startswith("des.licence.servers")
    header = (folder / "timeseries.csv").read_text().splitlines()[0]
    assert header == "time,variable,region,material,unit,value"
    assert (folder / "timeseries_bands.csv").exists()


def test_api_lists_the_engines_and_rejects_replications_for_stockflow():
    assert set(sim.api.ENGINES) == {"stockflow", "des", "hybrid"}
    with pytest.raises(ValueError):
        sim.run(MAIN, replications=3)

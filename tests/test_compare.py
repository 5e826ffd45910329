"""`batsim compare` / `sim.compare`: common random numbers, KPI differences with paired bands,
the parameter diff, overlay plots, xlsx, bad input."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

import sim
from conftest import MAIN, SCENARIOS, STRICT

pytestmark = pytest.mark.slow   # each test runs the engine on two or three scenarios


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def nominal(tmp_path_factory):
    from sim.cli.main import main

    out = tmp_path_factory.mktemp("cmp")
    assert main(["compare", str(MAIN), str(STRICT), str(SCENARIOS / "baseline.yaml"), "--out", str(out),
                 "--format", "png,xlsx"]) == 0
    return out / "compare-graphite-controls-2025-vs-graphite-controls-2025-strict-vs-baseline"


def test_folder_holds_the_documented_files(nominal):
    assert sorted(p.name for p in nominal.iterdir()) == ["kpis.csv", "kpis.xlsx", "params_diff.csv", "plots"]
    assert sorted(p.name for p in (nominal / "plots").iterdir()) == [
        "inventory_cover.png", "output_vs_demand.png", "shortfall.png", "sic_share.png"]


def test_kpi_table_gives_each_kpi_per_scenario_and_its_difference_from_the_first(nominal, tmp_path):
    rows = _read(nominal / "kpis.csv")
    assert list(rows[0])[:4] == ["scenario", "kpi", "unit", "value"] and "diff_vs_first" in rows[0]
    by = {(r["scenario"], r["kpi"]): r for r in rows}
    # the same numbers as running each scenario alone
    main_alone = sim.run(MAIN).summary()["cell_output_shortfall_gwh"]
    a = float(by[("graphite-controls-2025", "cell_output_shortfall_gwh")]["value"])
    b = float(by[("graphite-controls-2025-strict", "cell_output_shortfall_gwh")]["value"])
    assert a == pytest.approx(main_alone)
    assert float(by[("graphite-controls-2025-strict", "cell_output_shortfall_gwh")]["diff_vs_first"]) == \
        pytest.approx(b - a, abs=1e-5)
    assert float(by[("graphite-controls-2025", "cell_output_shortfall_gwh")]["diff_vs_first"]) == 0.0
    assert float(by[("baseline", "cell_output_shortfall_gwh")]["value"]) == 0.0


def test_params_diff_lists_what_differs_with_value_kind_and_citation(nominal):
    rows = _read(nominal / "params_diff.csv")
    paths = {r["path"]: r for r in rows}
    cap = paths["policies.export_controls.0.licence.approval"]
    assert cap["graphite-controls-2025:param"] == "calibrated.episodes.licence_approval_share"
    assert cap["graphite-controls-2025:kind"] == "calibrated"
    assert cap["graphite-controls-2025-strict:param"] != cap["graphite-controls-2025:param"]
    assert cap["baseline:param"] == ""                          # no control in the baseline
    assert cap["graphite-controls-2025:citation"]
    for r in rows:                                              # nothing listed that is the same everywhere
        vals = {(r[f"{s}:param"].split(":")[-1], r[f"{s}:value"]) for s in
                ("graphite-controls-2025", "graphite-controls-2025-strict", "baseline")}
        assert len(vals) > 1


def test_common_random_numbers_make_a_scenario_minus_itself_exactly_zero(tmp_path):
    copy = tmp_path / "copy.yaml"                  # a copy that keeps its id: labelled apart, not hidden
    shutil.copy(MAIN, copy)
    text = copy.read_text().replace("extends: baseline.yaml", f"extends: {SCENARIOS / 'baseline.yaml'}")
    copy.write_text(text)
    cmp = sim.compare([MAIN, copy], samples=16, seed=11)
    assert cmp.labels == ["graphite-controls-2025", "graphite-controls-2025#2"]
    a, b = cmp.results
    for pid in a.resolved.sampled:                  # the same draws for every shared uncertain input
        assert np.array_equal(a.resolved.by_id[pid], b.resolved.by_id[pid])
    rows = {r["kpi"]: r for r in cmp.kpi_rows() if r["scenario"].endswith("#2")}
    s = rows["cell_output_shortfall_gwh"]
    assert s["diff_vs_first"] == 0.0 and s["diff_p05"] == 0.0 and s["diff_p95"] == 0.0
    assert s["p95"] > s["p05"]                      # while each scenario alone has a wide band


def test_paired_band_is_narrower_than_the_difference_of_bands():
    cmp = sim.compare([MAIN, STRICT], samples=40, seed=2)
    r = next(r for r in cmp.kpi_rows() if r["scenario"] == "graphite-controls-2025-strict"
             and r["kpi"] == "planned_output_gwh")
    # the scenarios share demand and capacity draws, so planned output differs by the same amount in every sample
    assert r["diff_p95"] - r["diff_p05"] < 1e-6 < r["p95"] - r["p05"]
    sf = next(r for r in cmp.kpi_rows() if r["scenario"] == "graphite-controls-2025-strict"
              and r["kpi"] == "cell_output_shortfall_gwh")
    assert sf["diff_p05"] <= sf["diff_vs_first"] <= sf["diff_p95"]


def test_xlsx_has_the_tables_and_time_series(nominal):
    from openpyxl import load_workbook

    wb = load_workbook(nominal / "kpis.xlsx", read_only=True)
    assert wb.sheetnames == ["kpis", "params_diff", "timeseries"]
    head = next(wb["timeseries"].iter_rows(values_only=True, max_row=1))
    assert head[:2] == ("scenario", "time")


def test_bad_input_exits_2_and_writes_nothing(cli, tmp_path, write):
    bad = write("bad.yaml", "id: x\nno_such_key: 1\n")
    code, out, err = cli("compare", MAIN, bad, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err and f"{bad}:" in err
    assert not (tmp_path / "o").exists()
    code, out, err = cli("compare", MAIN, "--out", tmp_path / "o")
    assert code == 2 and "at least two scenarios" in err
    code, out, err = cli("compare", MAIN, MAIN, "--samples", "0", "--out", tmp_path / "o")
    assert code == 2 and "--samples" in err


def test_python_api_is_exported():
    assert "compare" in sim.__all__ and callable(sim.compare)
    with pytest.raises(ValueError, match="at least two"):
        sim.compare([MAIN])

"""`--importer` on compare, and the report naming the importer with a table of every importer."""
from __future__ import annotations

import csv

from conftest import MAIN, SCENARIOS, assert_located
from importers_market import fake_simulate


def test_compare_names_the_importer_in_its_table_and_csv(cli, tmp_path):
    code, out, err = cli("compare", SCENARIOS / "baseline.yaml", MAIN, "--importer", "US", "--out", tmp_path,
                         "--no-plots")
    assert code == 0, err
    assert "KPI (importer US)" in out
    rows = list(csv.DictReader((tmp_path / "compare-baseline-vs-graphite-controls-2025" / "kpis.csv").open()))
    assert {r["importer"] for r in rows} == {"US"} and list(rows[0])[:4] == ["scenario", "kpi", "unit", "value"]


def test_compare_unknown_importer_exits_2_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = cli("compare", SCENARIOS / "baseline.yaml", MAIN, "--importer", "KR", "--out", out)
    assert_located(code, stdout, err, "unknown importer 'KR'", "importers are US")
    assert not out.exists()


def test_the_report_names_the_importer_and_lists_every_importer(cli, tmp_path, monkeypatch):
    import sim.api

    monkeypatch.setattr(sim.api, "_simulate", fake_simulate)
    code, _, err = cli("run", MAIN, "--importer", "EU", "--out", tmp_path, "--no-plots")
    assert code == 0, err
    folder = tmp_path / "graphite-controls-2025"
    code, _, err = cli("report", folder, "--no-drivers")
    assert code == 0, err
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "importer EU" in html and "Key outcomes for importer EU" in html
    table = html[html.index('id="importer-table"'):]
    table = table[:table.index("</table>")]
    assert "EU (in focus)" in table and "<td>US</td>" in table and "price_index_peak graphite" in table

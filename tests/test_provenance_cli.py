"""params, explain, audit and cite on the shipped registry, through the CLI; the catalogue is current."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.provenance.bibliography import REQUIRED_FIELDS, parse_bibtex

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
SCN = REPO / "scenarios" / "graphite-controls-2025.yaml"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="seed texts (../shared/seeds) not present")


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@needs_seeds
def test_strict_audit_of_the_shipped_registry_passes(capsys):
    code, out, err = run_cli(capsys, "audit", "--strict", "--sources", str(SEEDS), "--format", "json")
    rep = json.loads(out)
    assert rep["problems"] == [], "\n".join(p["text"] for p in rep["problems"])
    assert code == 0
    assert rep["quotes_checked"] == rep["quotes_found"] > 100 and rep["quotes_unchecked"] == 0
    assert rep["parameters"] == sum(rep[k] for k in ("cited", "derived", "calibrated", "assumption", "registry_lever"))
    assert rep["assumption"] == len(rep["assumptions"]) > 0
    assert all(a["rationale"] for a in rep["assumptions"])


def test_text_audit_prints_coverage_and_assumptions(capsys):
    code, out, _ = run_cli(capsys, "audit")
    assert code == 0
    assert "registry file" in out and "total" in out and "seeds.yaml" in out
    assert "sic.displacement_realised_fraction = 1 [0.5, 1]" in out
    assert "seed quote(s) not checked" in out  # no --sources


def test_strict_audit_fails_on_a_broken_registry(capsys, monkeypatch, tmp_path):
    import shutil

    shutil.copytree(REPO / "calibration", tmp_path / "calibration")
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    f = tmp_path / "calibration" / "parameters" / "model.yaml"
    f.write_text(f.read_text().replace('formula: "sic.displacement_ratio * sic.displacement_realised_fraction"',
                                       'formula: "sic.displacement_ratio * sic.displacement_realized_fraction"'))
    monkeypatch.setenv("BATSIM_CALIBRATION", str(tmp_path / "calibration"))
    code, out, _ = run_cli(capsys, "audit", "--strict")
    assert code == 1
    assert "sic.displacement_effective: formula refers to unknown id 'sic.displacement_realized_fraction'" in out
    assert "model.yaml:" in out
    code, out, _ = run_cli(capsys, "audit")
    assert code == 0  # findings are printed; only --strict turns them into a failure


def test_audit_with_a_missing_sources_folder_is_bad_input(capsys, tmp_path):
    code, _, err = run_cli(capsys, "audit", "--sources", str(tmp_path / "nope"))
    assert code == 2 and "not a folder" in err


def test_explain_shows_the_whole_derivation_chain(capsys):
    code, out, _ = run_cli(capsys, "explain", "sic.displacement_effective")
    assert code == 0
    assert "formula    sic.displacement_ratio * sic.displacement_realised_fraction" in out
    assert "= 5 t/t * 1 = 5 t/t" in out and "2.5 … 5 t/t" in out
    chain = out.split("derivation", 1)[1]
    assert "├─ sic.displacement_ratio = 5 t/t  (cited)" in chain
    assert "seed004" in chain and "para. 27" in chain
    assert "One ton of Si/C anode material displaces five tons of graphite" in chain
    assert "└─ sic.displacement_realised_fraction = 1 dimensionless  (assumption)" in chain
    assert "rationale" in chain and "0.5 … 1" in chain
    assert "used by    baseline: materials.sic.displaces" in out


def test_explain_nested_chain_and_overrides(capsys):
    code, out, _ = run_cli(capsys, "explain", "demand.growth_ex_china")
    assert code == 0
    # two levels: growth <- horizon_count <- (horizon, one_year)
    assert "└─ demand.ex_china_multiple_horizon_count = 5 dimensionless  (derived)" in out
    assert "   ├─ demand.ex_china_multiple_horizon = 5 year  (cited)" in out
    code, out, _ = run_cli(capsys, "explain", "sic.max_share")
    assert "sic-fast-ramp: materials.sic.max_share takes registry id sic.max_share_fast" in " ".join(out.split())


def test_explain_non_english_quote_and_claims(capsys):
    code, out, _ = run_cli(capsys, "explain", "yield.pilot_line")
    assert code == 0 and "良率仅为85%" in out and "english" in out and "pilot line has a yield of only 85%" in out
    code, out, _ = run_cli(capsys, "explain", "claims.jobs_lost_first_week")
    assert "compared   graphite-ban: KPI jobs_at_risk_first_week" in out


def test_explain_json_and_levers(capsys):
    code, out, _ = run_cli(capsys, "explain", "sic.displacement_effective", "--format", "json")
    d = json.loads(out)
    assert [i["id"] for i in d["inputs"]] == ["sic.displacement_ratio", "sic.displacement_realised_fraction"]
    assert d["inputs"][0]["evidence"][0]["source"] == "seed004" and (d["low"], d["high"]) == (2.5, 5.0)
    code, out, _ = run_cli(capsys, "explain", "graphite-ban:policies.export_controls.0.effective")
    assert code == 0 and "lever" in out and "2026-01-05" in out and "graphite-ban.yaml:" in out


def test_explain_unknown_id_is_bad_input(capsys):
    code, out, err = run_cli(capsys, "explain", "sic.displacment_ratio")
    assert code == 2 and out == ""
    assert "unknown parameter id 'sic.displacment_ratio'" in err and "did you mean 'sic.displacement_ratio'" in err
    assert "Traceback" not in err


def test_params_json_lists_every_entry(capsys):
    code, out, _ = run_cli(capsys, "params", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) > 100
    by_id = {r["id"]: r for r in rows}
    r = by_id["sic.displacement_ratio"]
    assert (r["value"], r["unit"], r["kind"], r["source"], r["locator"]) == (5.0, "t/t", "cited", "seed004", "para. 27")
    assert by_id["sic.displacement_effective"]["value"] == 5.0
    assert by_id["controls.cn_2025.effective"]["value"] == "2025-11-08"


def test_params_of_a_scenario_include_levers_and_derived_inputs(capsys):
    code, out, _ = run_cli(capsys, "params", str(REPO / "scenarios" / "graphite-ban.yaml"), "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["graphite-ban:policies.export_controls.0.effective"]["kind"] == "lever"
    assert "sic.displacement_realised_fraction" in rows  # an input of a derived value the scenario reads
    assert rows["sic.displacement_effective"]["paths"] == ["materials.sic.displaces"]
    code, out, _ = run_cli(capsys, "params", str(REPO / "scenarios" / "graphite-ban.yaml"))
    assert code == 0 and "graphite-ban:policies.export_controls.0.effective" in out and "lever" in out


def test_cite_prints_exactly_the_scenario_references_as_valid_bibtex(capsys):
    import sim

    scn = sim.load_scenario(SCN)
    expected = sorted({s for p in scn.params() for s in p.sources})
    code, out, _ = run_cli(capsys, "cite", str(SCN), "--format", "bibtex")
    assert code == 0
    entries = parse_bibtex(out)
    assert [e["ID"] for e in entries] == expected
    assert "seed004" in expected and "katepardey-2025-announcement-58" in expected
    assert "seed000" not in expected  # nothing in this scenario reads the A123 history
    for e in entries:
        assert all(f in e for f in REQUIRED_FIELDS[e["ENTRYTYPE"]]), e["ID"]
    code, out, _ = run_cli(capsys, "cite", str(SCN), "--format", "csl-json")
    assert [e["id"] for e in json.loads(out)] == expected


def test_cite_without_scenario_prints_the_whole_bibliography(capsys):
    code, out, _ = run_cli(capsys, "cite")
    n = sum(len(json.loads(f.read_text())) for f in (REPO / "calibration" / "bibliography").glob("*.json"))
    assert code == 0 and len(parse_bibtex(out)) == n


def test_catalogue_is_current(capsys):
    from sim.provenance.catalogue import default_path, render
    from sim.provenance.registry import load_registry

    reg = load_registry(REPO / "calibration")
    committed = default_path(REPO / "calibration").read_text(encoding="utf-8")
    assert render(reg) == committed, "docs/parameters.md is stale: run python -m sim.provenance.catalogue"
    code, out, _ = run_cli(capsys, "params", "--format", "markdown")
    assert code == 0 and out == committed
    for pid in reg.ids():
        assert f"\n#### {pid}\n" in committed

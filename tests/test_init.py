"""Study folders: `batsim init`, a study's own registry, bibliography and sources, and its audit."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import LOCATED

QUOTE = "the United States remains the smallest market of the three"   # in calibration/sources/iea-gevo-2024-batteries.txt


@pytest.fixture
def study(cli, tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("init", "my-study")
    assert code == 0, err
    return tmp_path / "my-study"


def test_init_writes_a_study_that_extends_the_main_scenario_by_name(study, cli):
    text = (study / "scenario.yaml").read_text(encoding="utf-8")
    assert re.search(r"^extends: graphite-controls-2025$", text, re.M)
    assert re.search(r"^id: my-study$", text, re.M)
    readme = (study / "README.md").read_text(encoding="utf-8")
    for cmd in ("batsim validate", "batsim run", "batsim compare", "batsim report", "batsim sweep"):
        assert cmd in readme
    code, out, err = cli("validate", study / "scenario.yaml")
    assert code == 0, err
    assert "ok (my-study" in out


def test_init_refuses_a_non_empty_folder_and_a_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine", encoding="utf-8")
    code, out, err = cli("init", "full")
    assert code == 2 and "not empty" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["notes.txt"]
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, _, err = cli("init", "afile")
    assert code == 2 and "not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "full"]   # no temporary folder left


def test_init_into_an_empty_folder_and_with_another_base(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Empty Study").mkdir()
    code, _, err = cli("init", "Empty Study", "--base", "graphite-ban")
    assert code == 0, err
    text = (tmp_path / "Empty Study" / "scenario.yaml").read_text(encoding="utf-8")
    assert "extends: graphite-ban\n" in text and "id: empty-study\n" in text
    code, _, err = cli("init", "other", "--base", "graphite-bann")
    assert code == 2 and "did you mean 'graphite-ban'" in err and not (tmp_path / "other").exists()


def test_the_commented_lever_example_works_when_uncommented(study, cli):
    import sim

    f = study / "scenario.yaml"
    text = f.read_text(encoding="utf-8")
    lever = "# cells:\n#   capacity: {lever: 200, unit: GWh/year"
    assert lever in text
    f.write_text(text.replace(lever, lever.replace("# ", "", 2).replace("#   ", "  ")), encoding="utf-8")
    scn = sim.load_scenario(f)
    q = scn.quantities["cells.capacity"]
    assert q.source == "lever" and q.param.value == 200


def _add_study_source(study: Path, quote: str = "Our survey counts 180 GWh of US cell capacity in 2026.") -> None:
    cal = study / "calibration"
    (cal / "bibliography" / "study.json").write_text(json.dumps([{
        "id": "my-survey-2026", "type": "report", "title": "A survey of US cell plants",
        "URL": "https://example.org/survey", "accessed": {"date-parts": [[2026, 12, 1]]}}]), encoding="utf-8")
    (cal / "sources" / "my-survey-2026.txt").write_text(
        "# https://example.org/survey — read 2026-12-01 via stored copy\n" + quote + "\n", encoding="utf-8")
    (cal / "parameters" / "study.yaml").write_text("""parameters:
  - id: study.cell_capacity_2026
    name: US cell capacity in 2026 (the study's survey)
    unit: GWh/year
    kind: cited
    value: 180
    range: {low: 160, high: 200}
    evidence:
      source: my-survey-2026
      locator: "p. 1"
      quote: "Our survey counts 180 GWh of US cell capacity in 2026."
      reading: "the survey's count, with a range of +-20 GWh for plants in commissioning"
""", encoding="utf-8")


def test_a_study_registry_entry_resolves_and_its_audit_checks_it(study, cli):
    import sim

    _add_study_source(study)
    f = study / "scenario.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "cells:\n  capacity: {param: study.cell_capacity_2026}\n",
                 encoding="utf-8")
    scn = sim.load_scenario(f)
    assert scn.quantities["cells.capacity"].param.value == 180
    assert [r.name for r in scn.registry.roots] == ["calibration", "calibration"]
    code, out, err = cli("audit", study, "--strict", "--format", "json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["ok"] and rep["scenarios"][0]["id"] == "my-study"
    assert "study.yaml" in rep["by_file"]
    # a quote the study's source does not hold is found by the audit
    p = study / "calibration" / "parameters" / "study.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("counts 180", "counts 190"), encoding="utf-8")
    code, out, err = cli("audit", study, "--strict", "--format", "json")
    assert code == 1
    probs = json.loads(out)["problems"]
    assert [(x["check"], x["id"]) for x in probs] == [("quote", "study.cell_capacity_2026")]
    assert probs[0]["file"].endswith("study.yaml")


def test_a_study_entry_may_not_repeat_a_shipped_id(study, cli):
    (study / "calibration" / "parameters" / "study.yaml").write_text("""parameters:
  - id: us.cell_capacity_2025
    name: again
    unit: GWh/year
    kind: assumption
    value: 1
    range: {low: 0, high: 2}
    rationale: a test
""", encoding="utf-8")
    code, out, err = cli("validate", study / "scenario.yaml")
    assert code == 2 and "duplicate id 'us.cell_capacity_2025'" in err and "scenario override" in err


def _cited(study: Path, cite: str) -> Path:
    f = study / "scenario.yaml"
    f.write_text(f.read_text(encoding="utf-8")
                 + f"cells:\n  capacity: {{value: 180, unit: GWh/year, cite: {cite}}}\n", encoding="utf-8")
    return f


def test_a_cited_override_from_the_study_bibliography_is_recorded_as_cited(study, cli, tmp_path):
    import sim

    _add_study_source(study)
    f = _cited(study, '{source: my-survey-2026, locator: "p. 1", quote: "counts 180 GWh of US cell capacity"}')
    q = sim.load_scenario(f).quantities["cells.capacity"]
    assert q.source == "override" and q.param.kind == "cited" and q.param.evidence[0].source == "my-survey-2026"
    code, out, err = cli("audit", study, "--strict")
    assert code == 0, out + err


@pytest.mark.parametrize("cite, needle, key", [
    ('{source: some-source, locator: "p. 3", quote: "..."}', "unknown source 'some-source'", "source"),
    ('{source: my-survey-2026, locator: "", quote: "counts 180 GWh"}', "cite has no locator", "locator"),
    ('{source: my-survey-2026, locator: "p. 1", quote: "counts 999 GWh"}', "quote not found verbatim", "quote"),
    ('{source: iea-gevo-2024-batteries, locator: "p. 1", quote: "' + QUOTE.replace("smallest", "largest") + '"}',
     "quote not found verbatim", "quote"),
])
def test_a_cited_override_that_cannot_be_checked_is_refused(study, cli, cite, needle, key):
    _add_study_source(study)
    f = _cited(study, cite)
    code, out, err = cli("run", f, "--out", study / "out", "--no-plots")
    assert code == 2 and needle in err and "Traceback" not in err, err
    m = LOCATED.search(err)
    assert m and m["file"] == str(f) and int(m["line"]) == len(f.read_text(encoding="utf-8").splitlines())
    assert f"cells.capacity.cite" in m["msg"]
    assert not (study / "out").exists()


def test_a_cited_override_of_a_shipped_source_with_its_real_quote_passes(study):
    import sim

    f = _cited(study, '{source: iea-gevo-2024-batteries, locator: "p. 1", quote: "' + QUOTE + '"}')
    assert sim.load_scenario(f).quantities["cells.capacity"].param.kind == "cited"

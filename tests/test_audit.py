"""The auditor on small synthetic registries: each defect is caught, precisely located."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim.provenance.audit import audit, format_text, needs_translation, normalise

REPO = Path(__file__).resolve().parents[1]

REGISTRY = """\
parameters:
  - id: a.cited
    name: A cited figure
    unit: t/day
    kind: cited
    value: 5
    range: {low: 4, high: 6}
    evidence:
      source: ext
      locator: "paragraph 2"
      quote: "The plant makes five tonnes a day."
      reading: "point figure"
  - id: a.seed
    name: A seed figure
    unit: dimensionless
    kind: cited
    value: 2
    evidence:
      source: seed000
      locator: "para. 2"
      quote: "demand doubles in a year"
      reading: "point figure"
  - id: a.zh
    name: A figure quoted in Chinese
    unit: dimensionless
    kind: cited
    value: 0.85
    evidence:
      source: seed000
      locator: "para. 3"
      quote: "良率仅为85%"
      quote_en: "the yield is only 85%"
      reading: "point figure"
  - id: a.assume
    name: An assumption
    unit: dimensionless
    kind: assumption
    value: 0.5
    range: {low: 0.1, high: 1.0}
    rationale: "No source found; a wide range for sweeps."
    nearest_reference: {source: ext, locator: "paragraph 2", note: "context"}
  - id: a.derived
    name: A derived value
    unit: kg/day
    kind: derived
    formula: "a.cited * a.assume"
"""

BIB = [
    {"id": "ext", "type": "webpage", "title": "An external page", "URL": "https://example.org/x",
     "accessed": {"date-parts": [[2026, 1, 2]]}},
    {"id": "seed000", "type": "article", "title": "Seed zero"},
]

SOURCE = "A title line.\nThe plant makes five\n   tonnes a day. And more.\n"
SEED = "Seed title\nWe expect that demand doubles in a year, they said.\n而良率仅为85%,距离目标仍远。\n"


def make(tmp: Path, registry: str = REGISTRY, bib: list | None = None, extra_files: dict | None = None) -> Path:
    """Write a calibration folder (and a seed folder) under ``tmp``; return the calibration root."""
    root = tmp / "calibration"
    (root / "parameters").mkdir(parents=True)
    (root / "bibliography").mkdir()
    (root / "sources").mkdir()
    (root / "parameters" / "p.yaml").write_text(registry, encoding="utf-8")
    (root / "bibliography" / "b.json").write_text(json.dumps(BIB if bib is None else bib, indent=2, ensure_ascii=False),
                                                  encoding="utf-8")
    (root / "sources" / "ext.txt").write_text(SOURCE, encoding="utf-8")
    (tmp / "seeds").mkdir()
    (tmp / "seeds" / "000_abcdef.txt").write_text(SEED, encoding="utf-8")
    (tmp / "scenarios").mkdir()
    for name, text in (extra_files or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def run(tmp: Path, **kw):
    root = make(tmp, **kw)
    return audit(root, sources=tmp / "seeds", scenarios=tmp / "scenarios")


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first ``needle`` (after the first ``after``, if given)."""
    start = text.index(after) if after else 0
    return text[:text.index(needle, start)].count("\n") + 1


def only(rep, check: str):
    hits = [p for p in rep.problems if p.check == check]
    assert len(hits) == 1, [str(p) for p in rep.problems]
    return hits[0]


def test_clean_registry_has_no_problems(tmp_path):
    rep = run(tmp_path)
    assert rep.problems == [], [str(p) for p in rep.problems]
    assert rep.parameters == 5
    assert rep.kinds == {"cited": 3, "assumption": 1, "derived": 1}
    assert (rep.quotes_checked, rep.quotes_found, rep.quotes_unchecked) == (3, 3, 0)
    j = rep.to_json()
    assert (j["parameters"], j["cited"], j["derived"], j["calibrated"], j["assumption"]) == (5, 3, 1, 0, 1)
    assert j["problems"] == [] and j["quotes_checked"] == j["quotes_found"] == 3
    assert [a["id"] for a in j["assumptions"]] == ["a.assume"]
    assert "problems: none" in format_text(rep)


def test_seed_quotes_are_unchecked_without_sources(tmp_path):
    root = make(tmp_path)
    rep = audit(root, scenarios=tmp_path / "scenarios")
    assert (rep.quotes_checked, rep.quotes_found, rep.quotes_unchecked) == (1, 1, 2)
    assert "2 seed quote(s) not checked" in format_text(rep)


def test_missing_quote(tmp_path):
    reg = REGISTRY.replace('      quote: "The plant makes five tonnes a day."\n', "")
    rep = run(tmp_path, registry=reg)
    f = only(rep, "citation")
    assert (f.id, f.line) == ("a.cited", line_of(reg, "source: ext"))
    assert f.file.endswith("p.yaml") and "no 'quote'" in f.message
    assert str(f).startswith(f"{f.file}:{f.line}:") and ": a.cited: evidence has no 'quote'" in str(f)


def test_quote_not_in_source(tmp_path):
    reg = REGISTRY.replace("The plant makes five tonnes a day.", "The plant makes six tonnes a day.")
    rep = run(tmp_path, registry=reg)
    f = only(rep, "quote")
    assert (f.id, f.line) == ("a.cited", line_of(reg, "The plant makes six"))
    assert "not found verbatim" in f.message and f.message.endswith("ext.txt")
    assert "first 16 of" in f.hint  # 'The plant makes ' matches, then the text differs
    assert (rep.quotes_checked, rep.quotes_found) == (3, 2)


def test_quote_matching_ignores_whitespace_only(tmp_path):
    assert normalise("a \n b\t c ") == "a b c"
    # the source breaks 'five\n   tonnes' across lines: still found; a changed letter is not
    assert run(tmp_path).quotes_found == 3
    reg = REGISTRY.replace("five tonnes a day.", "five tonnes a day!")
    assert only(run(tmp_path / "b", registry=reg), "quote").id == "a.cited"


def test_unparseable_unit(tmp_path):
    reg = REGISTRY.replace("unit: t/day", "unit: blorps/day")
    rep = run(tmp_path, registry=reg)
    f = only(rep, "unit")
    assert (f.id, f.line) == ("a.cited", line_of(reg, "blorps"))
    assert "unknown unit 'blorps/day'" in f.message and f.file.endswith("p.yaml")
    # the derived entry that reads it is not reported a second time as a dangling id
    assert not any(p.check == "derived" for p in rep.problems)


def test_dimension_mismatch_in_a_formula(tmp_path):
    reg = REGISTRY.replace("unit: kg/day\n", "unit: day\n")
    rep = run(tmp_path, registry=reg)
    f = only(rep, "unit")
    assert (f.id, f.line) == ("a.derived", line_of(reg, 'formula: "a.cited'))
    assert "does not evaluate with units" in f.message and "[mass] / [time]" in f.message
    assert "a.cited [t/day]" in f.hint


def test_dangling_id(tmp_path):
    reg = REGISTRY.replace('"a.cited * a.assume"', '"a.cited * a.asume"')
    rep = run(tmp_path, registry=reg)
    f = only(rep, "derived")
    assert (f.id, f.line) == ("a.derived", line_of(reg, "a.asume"))
    assert "unknown id 'a.asume'" in f.message and "did you mean 'a.assume'" in f.hint


def test_derived_cycle(tmp_path):
    reg = REGISTRY + """\
  - id: b.one
    unit: dimensionless
    kind: derived
    formula: "b.two * 2"
  - id: b.two
    unit: dimensionless
    kind: derived
    formula: "b.one / 2 + a.assume"
"""
    rep = run(tmp_path, registry=reg)
    hits = sorted((p for p in rep.problems if p.check == "derived"), key=lambda p: p.id)
    assert [(p.id, p.line) for p in hits] == [("b.one", line_of(reg, '"b.two * 2"')),
                                               ("b.two", line_of(reg, '"b.one / 2'))]
    assert all("derived cycle b.one -> b.two -> b.one" in p.message for p in hits)
    assert len(rep.problems) == 2


def test_duplicate_id_across_files(tmp_path):
    second = "parameters:\n  - id: a.assume\n    unit: dimensionless\n    kind: assumption\n    value: 0.2\n" \
             "    range: {low: 0, high: 1}\n    rationale: again\n"
    rep = run(tmp_path, extra_files={"parameters/q.yaml": second})
    f = only(rep, "duplicate")
    assert (f.id, f.line, Path(f.file).name) == ("a.assume", 2, "q.yaml")
    assert "p.yaml:" in f.hint  # where it was first defined


def test_orphaned_bibliography_entry(tmp_path):
    bib = BIB + [{"id": "unused-report", "type": "report", "title": "Nobody cites me", "URL": "https://x.org",
                  "accessed": {"date-parts": [[2026, 1, 1]]}}]
    rep = run(tmp_path, bib=bib)
    f = only(rep, "orphan")
    text = (tmp_path / "calibration" / "bibliography" / "b.json").read_text()
    assert (f.id, f.line, Path(f.file).name) == ("unused-report", line_of(text, '"unused-report"'), "b.json")


def test_entry_named_in_notes_is_not_orphaned(tmp_path):
    bib = BIB + [{"id": "side-note", "type": "report", "title": "Context", "URL": "https://x.org",
                  "accessed": {"date-parts": [[2026, 1, 1]]}}]
    reg = REGISTRY.replace("    formula: \"a.cited * a.assume\"\n",
                           "    formula: \"a.cited * a.assume\"\n    notes: \"compare side-note, table 2\"\n")
    rep = run(tmp_path, registry=reg, bib=bib)
    assert rep.problems == [] and rep.bibliography_mentioned == ["side-note"]


def test_entry_cited_only_by_a_calibration_target_is_not_orphaned(tmp_path):
    """A target that is no longer fitted into the registry still rests on its sources."""
    bib = BIB + [{"id": f"series-{k}", "type": "report", "title": "Customs series", "URL": "https://x.org",
                  "accessed": {"date-parts": [[2026, 1, 1]]}} for k in ("a", "b", "c")]
    root = make(tmp_path, bib=bib)
    (root / "targets").mkdir(exist_ok=True)
    (root / "targets" / "t.yaml").write_text(
        "id: t\nsources:\n  - {id: series-a, address: https://x.org}\n"
        "observations:\n  - {period: 2024-01, value: 1, source: series-b}\n", encoding="utf-8")
    rep = audit(root, sources=tmp_path / "seeds", scenarios=tmp_path / "scenarios")
    orphans = [p.id for p in rep.problems if p.check == "orphan"]
    assert orphans == ["series-c"]                 # the one no target or parameter names


def test_unknown_source_and_external_without_url(tmp_path):
    reg = REGISTRY.replace("source: ext\n      locator", "source: extt\n      locator")
    bib = [dict(BIB[0], URL=""), BIB[1]]
    rep = run(tmp_path, registry=reg, bib=bib)
    f = only(rep, "citation")
    assert (f.id, f.line) == ("a.cited", line_of(reg, "source: extt"))
    assert "unknown source 'extt'" in f.message and "did you mean 'ext'" in f.hint
    b = only(rep, "bibliography")
    assert b.id == "ext" and "no 'URL'" in b.message


def test_value_outside_range(tmp_path):
    reg = REGISTRY.replace("value: 5\n", "value: 7\n")
    f = only(run(tmp_path, registry=reg), "range")
    assert (f.id, f.line) == ("a.cited", line_of(reg, "value: 7"))
    assert "value 7 lies outside its range [4, 6]" in f.message


def test_non_english_quote_needs_english(tmp_path):
    assert needs_translation("良率仅为85%") and needs_translation("흑연 재고") and not needs_translation("nearly 100% — “yes”")
    reg = REGISTRY.replace('      quote_en: "the yield is only 85%"\n', "")
    f = only(run(tmp_path, registry=reg), "citation")
    assert (f.id, f.line) == ("a.zh", line_of(reg, "良率"))
    assert "no 'quote_en'" in f.message


def test_assumption_needs_rationale_and_range(tmp_path):
    reg = REGISTRY.replace('    rationale: "No source found; a wide range for sweeps."\n', "") \
                  .replace("    range: {low: 0.1, high: 1.0}\n", "")
    rep = run(tmp_path, registry=reg)
    msgs = sorted(p.message for p in rep.problems if p.check == "assumption")
    assert msgs == ["an assumption has no 'range'", "an assumption has no 'rationale'"]
    assert all(p.id == "a.assume" and p.line == line_of(reg, "- id: a.assume")
               for p in rep.problems if p.check == "assumption")


def test_seed_locator_must_be_the_quoted_line(tmp_path):
    reg = REGISTRY.replace('locator: "para. 2"', 'locator: "para. 3"')
    f = only(run(tmp_path, registry=reg), "locator")
    assert f.id == "a.seed" and "quote is in para. 2" in f.message and "not para. 3" in f.message


def test_missing_seed_file_is_reported(tmp_path):
    root = make(tmp_path)
    (tmp_path / "seeds" / "000_abcdef.txt").unlink()
    rep = audit(root, sources=tmp_path / "seeds", scenarios=tmp_path / "scenarios")
    hits = [p for p in rep.problems if p.check == "quote"]
    assert {p.id for p in hits} == {"a.seed", "a.zh"} and all("000_*.txt" in p.message for p in hits)


def test_every_problem_in_one_run(tmp_path):
    reg = (REGISTRY.replace("unit: t/day", "unit: blorps/day")
           .replace("demand doubles in a year", "demand triples in a year")
           .replace("value: 0.5\n", "value: 1.5\n"))
    rep = run(tmp_path, registry=reg)
    assert sorted(p.check for p in rep.problems) == ["quote", "range", "unit"]
    assert sorted(p.id for p in rep.problems) == ["a.assume", "a.cited", "a.seed"]


# ---- scenarios: compile checks and cited overrides ---------------------------------------------

@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """The real calibration/ and scenarios/ copied to tmp_path (sources included)."""
    shutil.copytree(REPO / "calibration", tmp_path / "calibration")
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    return tmp_path


def test_scenario_unit_mismatch_is_reported(repo_copy):
    f = repo_copy / "calibration" / "parameters" / "model.yaml"
    text = f.read_text(encoding="utf-8")
    anchor = "- id: lead_time.domestic"
    text = text.replace(anchor + "\n    name: Order-to-delivery time from a US plant to a US cell maker\n    unit: day",
                        anchor + "\n    name: Order-to-delivery time from a US plant to a US cell maker\n    unit: t")
    assert "unit: t\n" in text
    f.write_text(text, encoding="utf-8")
    rep = audit(repo_copy / "calibration", scenarios=repo_copy / "scenarios")
    hits = [p for p in rep.problems if p.check == "scenario"]
    assert hits and all("lead_time.domestic has unit 't', which cannot be converted to 'day'" in p.message for p in hits)
    assert {Path(p.file).name for p in hits} == {"baseline.yaml"}
    assert all(p.id for p in hits)


def test_scenario_cited_override_quotes_are_checked(repo_copy):
    f = repo_copy / "scenarios" / "graphite-ban.yaml"
    text = f.read_text(encoding="utf-8")
    old = 'diversion: {lever: 1, unit: dimensionless, why: "under a ban, buyers try every other supplier"}'
    assert old in text
    good = ('diversion: {value: 1, unit: dimensionless, cite: {source: iea-gevo-2024-batteries, locator: "x", '
            'quote: "the United States remains the smallest market of the three"}}')
    f.write_text(text.replace(old, good), encoding="utf-8")
    rep = audit(repo_copy / "calibration", scenarios=repo_copy / "scenarios")
    assert rep.problems == [] and rep.overrides == 1
    base_checked = rep.quotes_checked
    f.write_text(text.replace(old, good.replace("smallest", "largest")), encoding="utf-8")
    rep = audit(repo_copy / "calibration", scenarios=repo_copy / "scenarios")
    p = only(rep, "quote")
    assert p.id == "graphite-ban:policies.export_controls.0.diversion" and Path(p.file).name == "graphite-ban.yaml"
    assert p.line == line_of(text, old)
    assert rep.quotes_checked == base_checked and rep.quotes_found == base_checked - 1


def test_explain_survives_a_derived_cycle(tmp_path):
    from sim.provenance.explain import ScenarioIndex, explain_text
    from sim.provenance.registry import load_registry

    reg_text = REGISTRY + """\
  - id: b.one
    unit: dimensionless
    kind: derived
    formula: "b.two * 2"
  - id: b.two
    unit: dimensionless
    kind: derived
    formula: "b.one / 2"
"""
    root = make(tmp_path, registry=reg_text)
    out = explain_text(load_registry(root), "b.one", index=ScenarioIndex())
    assert "derived cycle: b.one -> b.two -> b.one" in out and "cannot be evaluated" in out

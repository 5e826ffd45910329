"""The scenario format: shipped scenarios, the published schema, extends: merging, positions."""
from __future__ import annotations

import json

import pytest

import sim
from conftest import SCENARIOS
from sim.core.yamlio import load_text
from sim.scenario.load import load_document
from sim.scenario.schema import schema_json

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def test_all_shipped_scenarios_validate(cli):
    code, out, err = cli("validate", *SHIPPED)
    assert code == 0, err
    assert out.count(": ok") == len(SHIPPED) == 7


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_say_what_question_they_answer(path):
    scn = sim.load_scenario(path)
    assert scn.description.startswith("Question:")
    assert path.read_text().startswith("# yaml-language-server: $schema=./scenario.schema.json")


def test_published_schema_is_current():
    assert (SCENARIOS / "scenario.schema.json").read_text() == schema_json(), \
        "regenerate: python -c \"from sim.scenario.schema import schema_json; " \
        "open('scenarios/scenario.schema.json','w').write(schema_json())\""
    assert json.loads(schema_json())["$schema"].endswith("2020-12/schema")


def test_extends_overrides_merges_by_id_and_removes(write):
    base = write("base.yaml", """
        id: base
        pipeline:
          - {id: a, capacity: {param: x.a}}
          - {id: b, capacity: {param: x.b}}
        cells: {capacity: {param: x.c}, yield: {param: x.y}}
    """)
    child = write("child.yaml", """
        extends: base.yaml
        id: child
        cells:
          capacity: {lever: 5, unit: GWh/year, why: test}
        pipeline:
          - {id: a, remove: true}
          - {id: b, ramp_years: {param: x.r}}
          - {id: c, capacity: {param: x.d}}
    """)
    doc = load_document(child)
    d = doc.data
    assert d["id"] == "child"
    assert d["cells"]["capacity"] == {"lever": 5, "unit": "GWh/year", "why": "test"}   # replaced whole
    assert d["cells"]["yield"] == {"param": "x.y"}                                       # inherited
    assert [p["id"] for p in d["pipeline"]] == ["b", "c"]
    assert d["pipeline"][0] == {"id": "b", "capacity": {"param": "x.b"}, "ramp_years": {"param": "x.r"}}
    assert doc.where(("cells", "capacity"))[0] == str(child)
    assert doc.where(("cells", "yield"))[0] == str(base)
    f, line, _ = doc.where(("pipeline", 0, "capacity"))
    assert (f, line) == (str(base), 4)
    f, line, _ = doc.where(("pipeline", 1, "capacity"))
    assert (f, line) == (str(child), 8)
    assert [str(p) for p in doc.files] == [str(base), str(child)]


def test_shock_scenarios_state_only_what_differs():
    ban = load_document(SCENARIOS / "graphite-ban.yaml")
    assert "supply" in ban.data and "supply:" not in (SCENARIOS / "graphite-ban.yaml").read_text()
    assert ban.where(("supply", "graphite", "CN", "lead_time"))[0].endswith("baseline.yaml")


def test_positions_are_one_based_lines_and_columns():
    loc = load_text("a: 1\nb:\n  c: [1, 2]\n", "x.yaml")
    assert loc.where(("a",)) == (1, 4)
    assert loc.where(("b", "c"), key=True) == (3, 3)
    assert loc.where(("b", "c", 1)) == (3, 10)


def test_a_lever_is_labelled_as_such_in_the_run():
    scn = sim.load_scenario(SCENARIOS / "graphite-ban.yaml")
    levers = [p for p in scn.params() if p.kind == "lever"]
    assert any(p.id == "graphite-ban:policies.export_controls.0.effective" for p in levers)
    assert all(p.rationale for p in levers)

"""The share of registry entries labelled `assumption` (issue 11: at most one in ten), and what each
remaining assumption must carry: a rationale and a real low/high range; registry levers likewise."""
from __future__ import annotations

from pathlib import Path

import pytest

from sim.provenance.audit import audit

REPO = Path(__file__).resolve().parents[1]
TARGET_SHARE = 0.10          # issue 11's goal
MEASURED_CEILING = 36       # assumptions left on 2026-12-02 (docs/sources-review.md): may only fall


@pytest.fixture(scope="module")
def report() -> dict:
    return audit(REPO / "calibration").to_json()


def share(rep: dict) -> float:
    return rep["assumption"] / rep["parameters"]


def test_assumption_count_does_not_rise_above_the_measured_level(report):
    assert report["parameters"] > 0
    assert report["assumption"] <= MEASURED_CEILING, (
        f"{report['assumption']} of {report['parameters']} entries are assumptions ({share(report):.1%}); "
        f"cite a source, or keep them at or below {MEASURED_CEILING}")


@pytest.mark.xfail(strict=True, reason="issue 11 target not reached: 36 of 281 (12.8%) are assumptions; "
                                       "see docs/sources-review.md for the ones no stored page could settle")
def test_assumption_share_is_at_most_one_in_ten(report):
    assert share(report) <= TARGET_SHARE


def test_every_assumption_has_a_rationale_and_a_real_range(report):
    assert report["assumption"] == len(report["assumptions"]) > 0
    for a in report["assumptions"]:
        assert len(a["rationale"].split()) >= 8, f"{a['id']}: the rationale is too short to say why"
        assert a["low"] is not None and a["high"] is not None, f"{a['id']}: no range"
        assert a["low"] < a["high"], f"{a['id']}: the range is a point"
        assert a["low"] <= a["value"] <= a["high"], f"{a['id']}: the value lies outside its range"


def test_registry_levers_are_counted_and_explained():
    from sim.provenance.registry import load_registry
    reg = load_registry(REPO / "calibration")
    levers = [p for p in reg.params.values() if p.kind == "lever"]
    rep = audit(REPO / "calibration").to_json()
    assert rep["registry_lever"] == len(levers) > 0
    assert rep["parameters"] == sum(rep[k] for k in ("cited", "derived", "calibrated", "assumption", "registry_lever"))
    for p in levers:
        assert p.rationale.strip(), f"{p.id}: a lever says why it is a choice"
        assert p.low is not None and p.high is not None and p.low < p.high, f"{p.id}: a lever needs a range"


def test_a_lever_without_rationale_is_an_audit_problem(tmp_path):
    cal = tmp_path / "calibration"
    (cal / "parameters").mkdir(parents=True)
    (cal / "bibliography").mkdir()
    (cal / "bibliography" / "b.json").write_text("[]\n")
    (cal / "parameters" / "p.yaml").write_text(
        "parameters:\n"
        "  - id: x.choice\n    name: a choice\n    unit: dimensionless\n    kind: lever\n    value: 1\n"
        "    range: {low: 0, high: 2}\n")
    texts = [p["text"] for p in audit(cal).to_json()["problems"]]
    assert any("x.choice" in t and "rationale" in t for t in texts), texts

"""Target files: the shipped ones load; every kind of bad input is one precise FILE:LINE error, exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from sim.calibrate.periods import parse_period
from sim.calibrate.targets import load_target
from sim.core.errors import BadInput

REPO = Path(__file__).resolve().parents[1]
TARGETS = REPO / "calibration" / "targets"

Q2019 = "battery prices have fallen 87% in real terms over the past decade, from $1,100 per kWh in 2010 to $156 per kWh this year"
Q2020 = ("Average battery pack prices have fallen a huge 89 per cent in real terms over the last decade from $1,100 per "
         "kWh in 2010 to a record $137 per kWh recorded this year")
Q2021 = ("Lithium-ion battery pack prices have dropped 6 percent to $132/kWh in 2021 from $140/kWh in 2020, according "
         "to BloombergNEF (BNEF).")

GOOD = f"""\
id: test-prices
title: test target
kind: learning_curve
series:
  name: pack price
  unit: USD/kWh
  frequency: year
  products: lithium-ion packs
  codes: not applicable
  destination: all markets
  definition: BNEF survey average
sources:
  - id: edie-2019-bnef-battery-prices
    address: https://www.edie.net/news/8/BNEF--Battery-prices-have-plummeted-87--since-2010/
    read: 2026-11-22
    passage: paragraph 3
  - id: ecoholistic-2020-bnef-battery-prices
    address: https://www.ecoholistic.com/historic-milestone-battery-pack-prices-fall-under-critical-100-kwh-mark-for-first-time/
    read: 2026-11-22
    passage: paragraph 4
  - id: greentechlead-2021-bnef-battery-prices
    address: https://greentechlead.com/electric-vehicle/lithium-ion-battery-pack-prices-drop-6-to-132-kwh-38449
    read: 2026-11-22
    passage: paragraph 1
observations:
  - period: 2019
    value: 156
    unit: USD/kWh
    source: edie-2019-bnef-battery-prices
    locator: paragraph 3
    quote: "{Q2019}"
    reading: as stated
  - period: 2020
    value: 137
    unit: USD/kWh
    source: ecoholistic-2020-bnef-battery-prices
    locator: paragraph 4
    quote: "{Q2020}"
    reading: as stated
  - period: 2021
    value: 132
    unit: USD/kWh
    source: greentechlead-2021-bnef-battery-prices
    locator: paragraph 1
    quote: "{Q2021}"
    reading: as stated
model: {{form: exponential_time, base_year: 2019}}
fit:
  seed: 1
  population: 64
  backtest: {{holdout: 1}}
  parameters:
    - id: calibrated.test.level
      name: level
      unit: USD/kWh
      role: level
      search: {{low: 50, high: 500}}
      plausible: {{low: 100, high: 300, why: test}}
    - id: calibrated.test.decline
      name: decline
      unit: 1/year
      role: decline
      search: {{low: 0, high: 1}}
      plausible: {{low: 0.01, high: 0.5, why: test}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "target.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _line(text: str, needle: str, nth: int = 0) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return lines[nth]


def _problems(tmp_path: Path, text: str) -> list:
    p = _write(tmp_path, text)
    with pytest.raises(BadInput) as exc:
        load_target(p)
    for pr in exc.value.problems:
        assert pr.file == str(p)
    return exc.value.problems


@pytest.fixture(autouse=True)
def _repo(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)


def test_the_good_target_and_the_shipped_targets_load(tmp_path):
    t = load_target(_write(tmp_path, GOOD))
    assert [o.period.label for o in t.observations] == ["2019", "2020", "2021"]
    assert [p.role for p in t.params] == ["level", "decline"]
    for f in sorted(TARGETS.glob("*.yaml")):
        t = load_target(f)
        assert t.observations and t.params
        for o in t.observations:
            assert o.source and o.locator and o.quote and o.reading
    g = load_target(TARGETS / "cn-graphite-exports-2023.yaml")
    assert g.params[0].plausible == (0.0, 2.0)          # the registry range of controls.front_running
    assert g.model["_normalise"].label == "2023-01/2023-10"


def test_missing_citation_names_the_observation_line(tmp_path):
    text = GOOD.replace(f'    quote: "{Q2020}"\n', "")
    probs = _problems(tmp_path, text)
    assert len(probs) == 1
    assert "observation 2020: missing 'quote'" in probs[0].message
    assert probs[0].line == _line(text, "- period: 2020")


def test_missing_read_date_of_a_source(tmp_path):
    text = GOOD.replace("    passage: paragraph 4\n", "    passage: paragraph 4\n", 1)
    text = text.replace("    read: 2026-11-22\n    passage: paragraph 1\n", "    passage: paragraph 1\n")
    probs = _problems(tmp_path, text)
    assert any("missing 'read'" in p.message and p.line == _line(text, "- id: greentechlead") for p in probs)


def test_a_quote_not_in_the_stored_source_is_refused(tmp_path):
    text = GOOD.replace("to $156 per kWh this year", "to $165 per kWh this year")
    probs = _problems(tmp_path, text)
    assert "quote not found verbatim" in probs[0].message
    assert probs[0].line == _line(text, "$165 per kWh")


def test_mismatched_units(tmp_path):
    text = GOOD.replace("    value: 137\n    unit: USD/kWh\n", "    value: 137\n    unit: t\n")
    probs = _problems(tmp_path, text)
    assert len(probs) == 1
    assert "unit 't' does not match the series unit 'USD/kWh'" in probs[0].message
    assert probs[0].line == _line(text, "unit: t")


def test_convertible_units_are_converted(tmp_path):
    text = GOOD.replace("    value: 137\n    unit: USD/kWh\n", "    value: 137000\n    unit: USD/MWh\n")
    t = load_target(_write(tmp_path, text))
    assert t.observations[1].value == pytest.approx(137.0)


def test_an_undeclared_gap_is_an_error_and_a_declared_one_is_not(tmp_path):
    text = GOOD.replace("  - period: 2020\n", "  - period: 2023\n").replace("  - period: 2021\n", "  - period: 2024\n")
    probs = _problems(tmp_path, text)
    assert len(probs) == 1
    assert "gap in the series: 2020/2022 has no observation before 2023" in probs[0].message
    assert probs[0].line == _line(text, "- period: 2023")
    declared = text.replace("model:", "not_observed:\n  - {period: 2020/2022, why: not found}\nmodel:")
    t = load_target(_write(tmp_path, declared))
    assert [(p.label, w) for p, w in t.not_observed] == [("2020/2022", "not found")]


def test_duplicated_period(tmp_path):
    text = GOOD.replace("  - period: 2021\n", "  - period: 2020\n")
    probs = _problems(tmp_path, text)
    assert len(probs) == 1
    assert "duplicated period 2020" in probs[0].message
    assert probs[0].line == _line(text, "- period: 2020", nth=1)


def test_unordered_dates(tmp_path):
    text = GOOD.replace("  - period: 2020\n", "  - period: 2018\n")
    probs = _problems(tmp_path, text)
    assert any("period 2018 is out of order: it comes after 2019" in p.message and
               p.line == _line(text, "- period: 2018") for p in probs)


def test_a_parameter_not_in_the_registry(tmp_path):
    text = (REPO / "calibration" / "targets" / "cn-graphite-exports-2023.yaml").read_text(encoding="utf-8")
    text = text.replace("calibrates: licence.capacity_share", "calibrates: licence.capacity_shar")
    text = text.replace("scenario: ../scenarios/", f"scenario: {REPO}/calibration/scenarios/")
    probs = _problems(tmp_path, text)
    assert len(probs) == 1
    assert "parameter 'licence.capacity_shar' is not in the registry" in probs[0].message
    assert "did you mean 'licence.capacity_share'" in probs[0].hint
    assert probs[0].line == _line(text, "calibrates: licence.capacity_shar")


def test_a_fit_may_not_overwrite_a_cited_entry_nor_miss_a_plausible_range(tmp_path):
    text = GOOD.replace("id: calibrated.test.level", "id: sic.displacement_ratio")
    probs = _problems(tmp_path, text)
    assert "is a cited registry entry" in probs[0].message
    text = GOOD.replace("      plausible: {low: 100, high: 300, why: test}\n", "")
    probs = _problems(tmp_path, text)
    assert "no plausible range" in probs[0].message
    text = GOOD.replace("search: {low: 50, high: 500}", "search: {low: 150, high: 500}")
    probs = _problems(tmp_path, text)
    assert "do not contain the plausible range" in probs[0].message


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace("    value: 137\n    unit: USD/kWh\n", "    value: 137\n    unit: t\n")
    text = text.replace("  - period: 2021\n", "  - period: 2020\n")
    text = text.replace("    locator: paragraph 3\n", "")
    msgs = " | ".join(p.message for p in _problems(tmp_path, text))
    assert "missing 'locator'" in msgs and "does not match the series unit" in msgs


def test_cli_exits_2_with_file_line_col(tmp_path, cli):
    text = GOOD.replace("  - period: 2021\n", "  - period: 2020\n")
    p = _write(tmp_path, text)
    code, out, err = cli("calibrate", p, "--no-write", "--out", tmp_path / "out")
    assert code == 2
    assert f"{p}:{_line(text, '- period: 2020', nth=1)}:" in err and "duplicated period 2020" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    code, _, err = cli("calibrate", tmp_path / "missing.yaml")
    assert code == 2 and "file not found" in err


def test_periods():
    p = parse_period("2023-01/2023-10", "month")
    assert p.units == 10 and p.label == "2023-01/2023-10" and p.end.isoformat() == "2023-11-01"
    assert parse_period(2019, "year").units == 1
    for bad in ("2023-13", "2023-10/2023-01", "23-01", True):
        with pytest.raises(ValueError):
            parse_period(bad, "month")

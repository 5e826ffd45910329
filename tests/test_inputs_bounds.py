"""Issue 13, values: ids fit a file name, units are bounded, every quantity is bounded so the
engines stay finite, dates lie in a window, levers keep to their registry range unless marked
what-if; each cause is a located exit 2 with a hint (and, where it used to, no longer exit 1)."""
from __future__ import annotations

import json
import time

import pytest

from conftest import SCENARIOS, child_of_baseline, expect_bad
from sim.core import units


def _bad(cli, write, tmp_path, body: str, *needles: str, line: int | None = None, standalone: str | None = None) -> str:
    p = write("s.yaml", standalone if standalone is not None else child_of_baseline(body))
    return expect_bad(cli, [p], tmp_path / "out", *needles, file=p, line=line)


def _baseline_with(old: str, new: str) -> str:
    text = (SCENARIOS / "baseline.yaml").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_a_list_where_the_id_belongs(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "", "id", "wrong type", standalone=_baseline_with("id: baseline", "id: [a, b]"))


@pytest.mark.parametrize("where", ["material", "origin", "region"])
def test_a_list_where_a_reference_belongs(cli, write, tmp_path, where):
    body = {"material": "policies:\n  tariffs:\n    - {id: t1, origin: CN, material: [graphite], rate: {lever: 0.1, unit: dimensionless, why: t}}\n",
            "origin": "policies:\n  tariffs:\n    - {id: t1, origin: [CN], material: graphite, rate: {lever: 0.1, unit: dimensionless, why: t}}\n",
            "region": "pipeline:\n  - {id: sila-moses-lake, region: [US]}\n"}[where]
    _bad(cli, write, tmp_path, body, "wrong type")


def test_an_id_ending_in_a_newline(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "", "is not a usable name", line=2,
         standalone=_baseline_with("id: baseline", 'id: "baseline\\n"'))


def test_an_id_too_long_for_a_file_name(cli, write, tmp_path):
    err = _bad(cli, write, tmp_path, "", "100 characters", line=2,
               standalone=_baseline_with("id: baseline", "id: " + "a" * 300))
    assert "a" * 300 not in err


def test_an_item_id_with_a_slash(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "pipeline:\n  - {id: a/b, region: US, product: sic, capacity: {param: sic.first_plant_capacity}, "
         "online: {param: sic.first_plant_online}}\n", "pattern")


def test_a_quoted_calendar_date(cli, write, tmp_path):
    _bad(cli, write, tmp_path, 'calendar: {start: "2025-01-01", end: 2026-01-01, step: week}\n',
         "not read as a date", "unquoted", line=3)


def test_a_sourcing_rule_without_material_fails_validate_not_run(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        policies:
          sourcing_rules:
            - id: r1
              schedule:
                - {from: {lever: 2026-01-01, unit: date, why: t}, min_share: {lever: 0.5, unit: dimensionless, why: t}}
    """))
    code, _, err = cli("validate", p)
    assert code == 2 and "needs 'material'" in err and "(hint: " in err
    expect_bad(cli, [p], tmp_path / "out", "needs 'material'")


def test_a_tariff_without_origin(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "policies:\n  tariffs:\n    - {id: t1, material: graphite, rate: {lever: 0.1, unit: dimensionless, why: t}}\n",
         "needs 'origin'")


@pytest.mark.parametrize("unit,needle", [("9**9**9*GWh/year", "chained exponent"), ("GWh**99999", "exponent"),
                                         ("GWh*" * 5000 + "GWh", "characters long"), ("t" * 200_000, "characters long"),
                                         ("10**10**10 t", "chained exponent")])
def test_unit_strings_are_bounded_in_length_and_exponent(cli, write, tmp_path, unit, needle):
    t0 = time.monotonic()
    err = _bad(cli, write, tmp_path, f'cells:\n  capacity: {{lever: 1, unit: "{unit}", why: x}}\n', needle, line=4)
    assert time.monotonic() - t0 < 10
    assert len(err) < 2000


def test_unit_parse_refuses_before_pint():
    for u in ["9**9**9*GWh/year", "x" * 101, "GWh^50"]:
        with pytest.raises(ValueError):
            units.parse(u)
    assert units.factor("GWh/year", "GWh/day") == pytest.approx(1 / 365.25, rel=1e-3)


@pytest.mark.parametrize("lead,needle", [("1.0e+9", "<= 3650"), ("1.0e+5", "<= 3650"), ("3651", "<= 3650"),
                                         ("1.0e+300", "beyond any scale")])
def test_a_lead_time_beyond_ten_years(cli, write, tmp_path, lead, needle):
    _bad(cli, write, tmp_path, f"supply:\n  graphite:\n    CN: {{lead_time: {{lever: {lead}, unit: day, why: x, what_if: true}}}}\n",
         needle)


def test_growth_of_minus_one(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "demand:\n  segments:\n    ev: {growth: {lever: -1, unit: dimensionless, why: x}}\n",
         "must be > -1")


@pytest.mark.parametrize("path,value", [("cells:\n  capacity", "1.0e+12"), ("jobs:\n  exposed", "1.0e+30")])
def test_huge_quantities_are_bounded(cli, write, tmp_path, path, value):
    unit = "GWh/day" if "capacity" in path else "person"
    _bad(cli, write, tmp_path, f"{path}: {{lever: {value}, unit: {unit}, why: x, what_if: true}}\n", "out of range")


@pytest.mark.parametrize("date", ["9999-01-01", "1800-01-01"])
def test_a_control_date_outside_the_window(cli, write, tmp_path, date):
    _bad(cli, write, tmp_path, f"""
        policies:
          export_controls:
            - {{id: ban, origin: CN, material: graphite, regime: ban, effective: {{lever: {date}, unit: date, why: x}}}}
    """, "outside 1900-01-01..2200-12-31")


def test_a_calendar_outside_the_window(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "calendar: {start: 1850-01-01, end: 1860-01-01, step: week}\n", "outside", line=3)


def test_a_lever_outside_its_registry_range_is_an_error(cli, write, tmp_path):
    # cells.utilisation_max declares 0.5..0.95
    _bad(cli, write, tmp_path, "cells:\n  utilisation: {lever: 0.2, unit: dimensionless, why: x}\n",
         "outside the range", "cells.utilisation_max", "what_if: true", line=4)


def test_a_marked_what_if_lever_runs_and_the_manifest_says_so(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        calendar: {start: 2025-01-01, end: 2026-01-01, step: week}
        cells:
          utilisation: {lever: 0.2, unit: dimensionless, why: "what if plants idle", what_if: true}
    """))
    code, _, err = cli("run", p, "--out", tmp_path / "out", "--no-plots", "--quiet")
    assert code == 0, err
    man = json.loads((tmp_path / "out" / "test-child" / "manifest.json").read_text())
    text = json.dumps(man)
    assert "what-if: outside the range" in text and "cells.utilisation_max" in text


def test_a_lever_inside_its_registry_range_needs_no_mark(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("cells:\n  utilisation: {lever: 0.85, unit: dimensionless, why: x}\n"))
    code, _, err = cli("validate", p)
    assert code == 0, err


@pytest.mark.parametrize("text", ["1e3", "1.5e9", "2E5"])
def test_a_number_yaml_reads_as_text_gets_a_hint_naming_the_cause(cli, write, tmp_path, text):
    err = _bad(cli, write, tmp_path, f"cells:\n  capacity: {{lever: {text}, unit: GWh/year, why: x}}\n",
               "not a valid quantity", line=4)
    assert f"YAML reads {text} as text" in err and "1.0e+3" in err


def test_material_unit_must_be_a_mass(cli, write, tmp_path):
    _bad(cli, write, tmp_path, "materials:\n  graphite: {unit: banana, group: anode}\n", "not a mass unit", line=4)
    _bad(cli, write, tmp_path, "materials:\n  graphite: {unit: GWh, group: anode}\n", "not a mass unit", line=4)


def test_material_unit_in_tonnes_or_kg_is_fine(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("materials:\n  graphite: {unit: kg, group: anode}\n"))
    code, _, err = cli("validate", p)
    assert code == 0, err


def test_every_problem_line_of_a_broken_scenario_has_a_hint(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        importer: [US]
        cells:
          capacity: {lever: -5, unit: GWh/year, why: test}
          utilisation: {lever: 0.2, unit: banana, why: x}
        policies:
          export_controls:
            - {id: c1, regime: quota}
          tariffs:
            - {id: t1}
    """))
    err = expect_bad(cli, [p], tmp_path / "out")
    lines = err.strip().splitlines()[:-1]
    assert lines and all("(hint: " in ln for ln in lines), err


def test_a_title_of_200000_characters_is_refused_quickly(cli, write, tmp_path):
    t0 = time.monotonic()
    err = _bad(cli, write, tmp_path, "title: " + "T" * 200_000 + "\n", "longer than 200 characters", line=3)
    assert time.monotonic() - t0 < 10 and len(err) < 2000

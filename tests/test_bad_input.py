"""Every kind of bad input gets one clear FILE:LINE:COL message, exit 2, no traceback, no output."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import LOCATED, SCENARIOS, child_of_baseline, expect_bad

def _expect_bad(cli, path: Path, out: Path, *needles: str, line: int | None = None) -> str:
    return expect_bad(cli, [path], out, *needles, line=line)


def test_malformed_yaml(cli, write, tmp_path):
    p = write("bad.yaml", "id: x\ncalendar: {start: 2025-01-01, end: 2026-01-01\nstep: week\n")
    err = _expect_bad(cli, p, tmp_path / "out", "malformed YAML")
    assert f"{p}:" in err


def test_unknown_key_with_did_you_mean(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        calender: {start: 2025-01-01, end: 2026-01-01, step: week}
    """))
    _expect_bad(cli, p, tmp_path / "out", "unknown key 'calender'", "did you mean 'calendar'?", line=3)


def test_wrong_type(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        importer: [US]
    """))
    _expect_bad(cli, p, tmp_path / "out", "importer", "wrong type", line=3)


def test_negative_capacity(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: {lever: -5, unit: GWh/year, why: test}
    """))
    _expect_bad(cli, p, tmp_path / "out", "cells.capacity", "out of range", ">= 0", line=4)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_inf(cli, write, tmp_path, value):
    p = write("s.yaml", child_of_baseline(f"""
        cells:
          capacity: {{lever: {value}, unit: GWh/year, why: test}}
    """))
    _expect_bad(cli, p, tmp_path / "out", "not finite", line=4)


def test_end_before_start(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        calendar: {start: 2030-01-01, end: 2026-01-01, step: week}
    """))
    _expect_bad(cli, p, tmp_path / "out", "calendar.end", "is not after start", line=3)


def test_unknown_parameter_id_with_did_you_mean(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: {param: us.cell_capacity_2052}
    """))
    _expect_bad(cli, p, tmp_path / "out", "unknown parameter id 'us.cell_capacity_2052'",
                "did you mean 'us.cell_capacity_2025'?", line=4)


def test_unknown_unit(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: {lever: 100, unit: GWh/blorps, why: test}
    """))
    _expect_bad(cli, p, tmp_path / "out", "unknown unit 'GWh/blorps'")


def test_wrong_dimension(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: {lever: 100, unit: t, why: test}
    """))
    _expect_bad(cli, p, tmp_path / "out", "cannot be converted to 'GWh/day'")


def test_missing_file(cli, tmp_path):
    _expect_bad(cli, tmp_path / "nope.yaml", tmp_path / "out", "file not found")


def test_a_directory(cli, tmp_path):
    _expect_bad(cli, SCENARIOS, tmp_path / "out", "is a directory")


def test_empty_file(cli, write, tmp_path):
    p = write("empty.yaml", "\n  \n")
    _expect_bad(cli, p, tmp_path / "out", "file is empty")


def test_yaml_alias_bomb(cli, write, tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    p = write("bomb.yaml", "\n".join(lines) + "\n")
    _expect_bad(cli, p, tmp_path / "out", "YAML bomb")


def test_file_over_size_bound(cli, write, tmp_path):
    p = write("big.yaml", "id: big\n" + "# padding\n" * 120_000)
    _expect_bad(cli, p, tmp_path / "out", "larger than")


def test_extends_cycle(cli, write, tmp_path):
    write("a.yaml", "extends: b.yaml\nid: a\n")
    b = write("b.yaml", "extends: a.yaml\nid: b\n")
    _expect_bad(cli, b, tmp_path / "out", "extends: cycle")


def test_duplicate_key(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        importer: US
        importer: CN
    """))
    _expect_bad(cli, p, tmp_path / "out", "duplicate key 'importer'", line=4)


def test_every_problem_is_reported_at_once(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        calender: {start: 2025-01-01, end: 2026-01-01, step: week}
        importr: US
    """))
    err = _expect_bad(cli, p, tmp_path / "out", "calender", "importr")
    assert "2 problems found" in err


def test_semantic_problems_together(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: {param: us.cell_capacity_2052}
          utilisation: {lever: 1.5, unit: dimensionless, why: test}
        supply:
          graphite:
            XX: {share: {lever: 0, unit: dimensionless, why: t}, lead_time: {lever: 1, unit: day, why: t}}
    """))
    err = _expect_bad(cli, p, tmp_path / "out", "us.cell_capacity_2052", "cells.utilisation", "unknown region 'XX'")
    assert len(LOCATED.findall(err)) >= 3


def test_bare_number_needs_provenance(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        cells:
          capacity: 150
    """))
    _expect_bad(cli, p, tmp_path / "out", "bare value 150", "provenance")


def test_announced_after_effective(cli, write, tmp_path):
    p = write("s.yaml", child_of_baseline("""
        policies:
          export_controls:
            - id: c
              origin: CN
              material: graphite
              regime: ban
              announced: {lever: 2027-01-01, unit: date, why: t}
              effective: {lever: 2026-01-01, unit: date, why: t}
    """))
    _expect_bad(cli, p, tmp_path / "out", "announced must not be after effective", line=10)


def test_validate_reports_all_files(cli, write, tmp_path):
    a = write("a.yaml", child_of_baseline("importr: US\n"))
    b = write("b.yaml", child_of_baseline("calender: {start: 2025-01-01, end: 2026-01-01, step: week}\n"))
    code, out, err = cli("validate", a, b, SCENARIOS / "baseline.yaml")
    assert code == 2
    assert f"{a}:" in err and f"{b}:" in err and "Traceback" not in err
    assert "baseline.yaml: ok" in out


def test_bad_samples_argument(cli, tmp_path):
    code, _, err = cli("run", SCENARIOS / "baseline.yaml", "--samples", "0", "--out", tmp_path)
    assert code == 2 and "--samples must be at least 1" in err

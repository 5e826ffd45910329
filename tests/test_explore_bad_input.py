"""Bad policy files: FILE:LINE:COL, exit 2, nothing written."""
from __future__ import annotations

import re

import pytest

from explore_cases import POLICY, write

STOCK = "        cost: {param: policy_costs.graphite_stockpile_30d}\n"


VIA = pytest.mark.parametrize("via", ["explore", "validate"])


def _expect(cli, tmp_path, policy, line, message, via="explore"):
    scn, pol = write(tmp_path, policy)
    out = tmp_path / "out"
    before = sorted(tmp_path.rglob("*"))
    if via == "explore":
        code, stdout, err = cli("explore", scn, "--policies", pol, "--samples", "8", "--out", out, "--no-progress")
    else:                              # batsim validate recognises the policy file by its levers: key
        code, stdout, err = cli("validate", pol, "--scenario", scn)
        assert "ok" not in stdout, stdout
    assert code == 2, err
    assert sorted(tmp_path.rglob("*")) == before, "something was written"
    m = re.search(rf"{re.escape(str(pol))}:(\d+):(\d+): (.*)", err)
    assert m, err
    assert int(m.group(1)) == line, err
    assert message in m.group(3), err
    assert "Traceback" not in err
    assert not out.exists()            # nothing written


def _lines(text, needle):
    return [i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln][0]


@pytest.mark.parametrize("patch, message", [
    ("cells: {capacityy: {lever: 1, unit: GWh/year, why: x}}", "unknown key 'capacityy'"),
    ("reserves: {cobalt: {initial: {lever: 1, unit: t, why: x}}}", "unknown material 'cobalt'"),
    ("supply: {graphite: {KR: {share: {lever: 0.1, unit: dimensionless, why: x}, "
     "lead_time: {lever: 30, unit: day, why: x}}}}", "unknown region 'KR'"),
    ("inventory: {graphite: {initial_days: {param: no.such.param}}}", "unknown parameter id 'no.such.param'"),
])
@VIA
def test_a_lever_naming_an_input_the_scenario_does_not_have(cli, tmp_path, patch, message, via):
    policy = POLICY.replace("      b: {patch: {}, cost:", "      b: {patch: {" + patch + "}, cost:")
    _expect(cli, tmp_path, policy, _lines(policy, "      b: {patch:"), message, via)


@pytest.mark.parametrize("cost, message", [
    ("{lever: 5, unit: t, why: x}", "not a currency"),
    ("{param: graphite.intensity}", "not a currency"),
    ("{param: policy_costs.no_such}", "unknown parameter id"),
    ("{lever: 5, unit: USD}", "needs a 'why:'"),
])
@VIA
def test_a_cost_with_the_wrong_unit_or_no_source(cli, tmp_path, cost, message, via):
    policy = POLICY.replace(STOCK, f"        cost: {cost}\n")
    _expect(cli, tmp_path, policy, _lines(policy, f"        cost: {cost}"), message, via)


@VIA
def test_a_threshold_on_an_unknown_kpi(cli, tmp_path, via):
    policy = POLICY.replace("threshold: {kpi: peak_shortfall_fraction", "threshold: {kpi: peak_shortfal_fraction")
    _expect(cli, tmp_path, policy, 3, "unknown KPI 'peak_shortfal_fraction'", via)


def test_an_unknown_kpi(cli, tmp_path):
    _expect(cli, tmp_path, POLICY.replace("kpi: cell_output_shortfall_gwh", "kpi: shortfall"), 2, "unknown KPI")


@pytest.mark.parametrize("edit, needle, message", [
    (("design: full_factorial", "design: {sampled: 0}"), "design:", "design would be empty"),
    (("design: full_factorial", "design: latin"), "design:", "design must be full_factorial"),
    (("  twin:\n    options:\n      a: {patch: {}, cost: {lever: 0, unit: USD, why: the same policy twice}}\n"
      "      b: {patch: {}, cost: {lever: 0, unit: USD, why: the same policy twice}}\n", "  twin:\n    options: {}\n"),
     "  twin:", "has no options"),
])
@VIA
def test_an_empty_or_unknown_design(cli, tmp_path, edit, needle, message, via):
    policy = POLICY.replace(*edit)
    assert policy != POLICY
    _expect(cli, tmp_path, policy, _lines(policy, needle), message, via)


def test_no_levers_at_all(cli, tmp_path):
    policy = POLICY[:POLICY.index("levers:")] + "levers: {}\ndesign: full_factorial\n"
    _expect(cli, tmp_path, policy, _lines(policy, "levers:"), "levers: must be a mapping")


def test_a_patch_value_out_of_range_is_located_in_the_policy_file(cli, tmp_path):
    policy = POLICY.replace("initial: {lever: 14500, unit: t", "initial: {lever: -5, unit: t")
    _expect(cli, tmp_path, policy, _lines(policy, "initial: {lever: -5"), "out of range")


def test_an_unknown_top_level_key(cli, tmp_path):
    policy = POLICY.replace("design: full_factorial", "desing: full_factorial")
    _expect(cli, tmp_path, policy, _lines(policy, "desing:"), "did you mean 'design'")


def test_the_shipped_policy_file_checks_against_the_scenario_it_names():
    from conftest import SCENARIOS
    from sim.explore.run import check

    pf, combos = check(SCENARIOS / "policies" / "us-anode-resilience.yaml")
    assert pf.id == "us-anode-resilience" and len(combos) == 24
    assert {o.lever for o in combos[0].options} == {"stockpile", "sic_subsidy", "allied_offtake"}


def test_validate_takes_a_policy_file_by_its_levers_key_and_checks_the_scenario_it_names(cli):
    from conftest import SCENARIOS

    pol = SCENARIOS / "policies" / "us-anode-resilience.yaml"
    code, out, err = cli("validate", pol, SCENARIOS / "baseline.yaml")
    assert code == 0, err
    assert f"{pol}: ok (policy file us-anode-resilience, 3 levers, 24 policies over graphite-controls-2025)" in out
    assert "baseline.yaml: ok (baseline" in out          # scenarios beside it are still checked as scenarios


def test_validate_a_policy_file_against_the_scenario_its_scenario_key_names(cli, tmp_path):
    scn, pol = write(tmp_path, "scenario: short.yaml\n" + POLICY)
    code, out, err = cli("validate", pol)
    assert code == 0, err
    assert "ok (policy file tiny, 2 levers, 4 policies over explore-short)" in out
    pol.write_text(POLICY, encoding="utf-8")
    code, out, err = cli("validate", pol)             # no scenario: key, no --scenario: said where, exit 2
    assert code == 2 and f"{pol}:1:1: the policy file names no scenario" in err and "Traceback" not in err
    pol.write_text(POLICY.replace("threshold: {kpi: peak_shortfall_fraction", "threshold: {kpi: nope"), encoding="utf-8")
    code, out, err = cli("validate", pol)             # the file's own problems come first, at their line
    assert code == 2 and f"{pol}:3:18: threshold: unknown KPI 'nope'" in err, err


def test_validate_reports_problems_of_a_policy_file_and_a_scenario_together(cli, tmp_path):
    scn, pol = write(tmp_path, POLICY.replace("kpi: cell_output_shortfall_gwh", "kpi: shortfall"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"extends: {scn.name}\nid: broken\ncalendar: {{start: 2025-01-01, end: 2020-01-01, step: month}}\n",
                      encoding="utf-8")
    code, out, err = cli("validate", pol, broken, "--scenario", scn)
    assert code == 2, err
    assert re.search(rf"{re.escape(str(pol))}:2:\d+: .*unknown KPI 'shortfall'", err), err
    assert f"{broken}:" in err, err

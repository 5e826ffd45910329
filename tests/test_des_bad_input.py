"""Bad DES input: one located FILE:LINE:COL message per problem, exit 2, nothing written."""
from __future__ import annotations


import pytest

from conftest import MAIN, expect_bad

def child(body: str) -> str:
    return f"extends: {MAIN}\nid: des-bad\n" + body


_expect_bad = expect_bad


CASES = {
    "lot size 0": ("des:\n  lot_size:\n    graphite: {lever: 0, unit: t, why: x}\n", 5,
                   ("des.lot_size.graphite", "out of range", "> 0")),
    "negative processing capacity": (
        "policies:\n  export_controls:\n    - id: cn-anode-2025\n      licence:\n"
        "        capacity_share: {lever: -0.5, unit: dimensionless, why: x}\n", 7, ("capacity_share", "out of range")),
    "zero reviewers": ("des:\n  licence:\n    servers: {lever: 0, unit: dimensionless, why: x}\n", 5, ("servers", ">= 1")),
    "fractional reviewers": ("des:\n  licence:\n    servers: {lever: 2.5, unit: dimensionless, why: x}\n", 5,
                             ("whole number",)),
    "approval above 1": (
        "policies:\n  export_controls:\n    - id: cn-anode-2025\n      licence:\n"
        "        approval: {lever: 1.5, unit: dimensionless, why: x}\n", 7, ("approval", "<= 1")),
    "approval below 0": (
        "policies:\n  export_controls:\n    - id: cn-anode-2025\n      licence:\n"
        "        approval: {lever: -0.1, unit: dimensionless, why: x}\n", 7, ("approval", ">= 0")),
    "negative cv": ("des:\n  lead_time:\n    cv: {lever: -0.2, unit: dimensionless, why: x}\n", 5, ("des.lead_time.cv", ">= 0")),
    "uniform delay that would go negative": (
        "des:\n  licence:\n    decision_shape: uniform\n    decision_cv: {lever: 0.9, unit: dimensionless, why: x}\n", 6,
        ("impossible delay distribution", "would be negative")),
    "unknown delay shape": ("des:\n  lead_time:\n    shape: weibull\n", 5, ("'weibull' is not one of",)),
    "lot size for an unknown material": ("des:\n  lot_size:\n    grafite: {lever: 10, unit: t, why: x}\n", 5,
                                         ("unknown material 'grafite'",)),
    "lot size in the wrong unit": ("des:\n  lot_size:\n    graphite: {lever: 10, unit: day, why: x}\n", 5,
                                   ("cannot be converted",)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_des_scenario(cli, write, tmp_path, name):
    body, line, needles = CASES[name]
    p = write("s.yaml", child(body))
    _expect_bad(cli, [p, "--engine", "des"], tmp_path / "out", *needles, file=p, line=line)


@pytest.mark.parametrize("args,needle", [
    (["--replications", "0"], "--replications must be at least 1"),
    (["--replications", "-3"], "--replications must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--samples", "3", "--replications", "4"], "differ"),
], ids=["zero replications", "negative replications", "zero workers", "samples vs replications"])
def test_bad_des_options(cli, tmp_path, args, needle):
    _expect_bad(cli, [MAIN, "--engine", "des", *args], tmp_path / "out", needle)


def test_replications_need_a_stochastic_engine(cli, tmp_path):
    _expect_bad(cli, [MAIN, "--replications", "5"], tmp_path / "out", "--engine des or hybrid")


def test_a_good_des_section_validates(cli, write):
    p = write("ok.yaml", child("des:\n  lot_size:\n    graphite: {lever: 250, unit: t, why: x}\n"
                               "  lead_time: {shape: lognormal, cv: {lever: 0.3, unit: dimensionless, why: x}}\n"))
    code, out, err = cli("validate", p)
    assert code == 0, err

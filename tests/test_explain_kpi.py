"""`batsim explain KPI --scenario FILE`: every KPI of summary.json explained (exit 0), arithmetic that
adds up, drivers that are real, and KPI names told apart from parameter ids."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import sim
from conftest import MAIN
from sim.provenance.explain_kpi import FORMULAS, explain_kpi, kpi_names

NUM = r"-?[\d,]+(?:\.\d+)?(?:e[+-]?\d+)?"


def _num(s: str) -> float:
    return float(s.replace(",", ""))


@pytest.fixture(scope="module")
def summary_keys(tmp_path_factory):
    out = tmp_path_factory.mktemp("x")
    folder = sim.run(MAIN).write(out, plots=False)
    summ = json.loads((folder / "summary.json").read_text())
    return [k for k in summ["units"]]


@pytest.mark.slow
def test_every_kpi_in_summary_json_is_explained(cli, summary_keys):
    assert set(summary_keys) <= set(kpi_names())
    for k in summary_keys:
        code, out, err = cli("explain", k, "--scenario", MAIN)
        assert code == 0, (k, err)
        assert out.startswith(k) and "computed as:" in out and "in graphite-controls-2025" in out, out


def test_des_kpis_and_kpis_without_a_scenario_exit_0(cli):
    from sim.des.result import DES_KPI_UNITS

    for k in DES_KPI_UNITS:                                  # the extra keys of a DES run's summary.json
        for extra in ((), ("--scenario", MAIN)):
            code, out, err = cli("explain", k, *extra)
            assert code == 0 and out.startswith(k) and "DES only" in out, (k, err)
    code, out, err = cli("explain", "recovery_date")
    assert code == 0 and "--scenario FILE" in out


def test_param_ids_still_work_and_are_told_apart(cli):
    code, out, err = cli("explain", "sic.displacement_ratio")
    assert code == 0 and out.startswith("sic.displacement_ratio") and "computed as" not in out
    code, out, err = cli("explain", "sic.displacement_ratio", "--scenario", MAIN)
    assert code == 2 and "--scenario applies to a KPI name" in err
    code, out, err = cli("explain", "cell_output_shortfal_gwh")             # a typo: neither
    assert code == 2


@pytest.fixture(scope="module")
def info():
    scn = sim.load_scenario(MAIN)
    return {k: explain_kpi(k, scn) for k in FORMULAS}


def test_shortfall_arithmetic_adds_up_and_matches_summary(info):
    i = info["cell_output_shortfall_gwh"]
    m = re.match(rf"shortfall ({NUM}) GWh = planned ({NUM}) GWh - output ({NUM}) GWh", i["arithmetic"][0])
    assert m, i["arithmetic"]
    x, p, o = map(_num, m.groups())
    assert x == pytest.approx(p - o, abs=0.11) and x == pytest.approx(i["value"], abs=0.06)
    m = re.search(rf"({NUM}) GWh/yr = min\(demand ({NUM}), utilisation ({NUM}) x cell capacity ({NUM})\)",
                  i["arithmetic"][1])
    planned, demand, util, cap = map(_num, m.groups())
    assert planned == pytest.approx(min(demand, util * cap), rel=2e-3)


def test_jobs_and_peak_fraction_arithmetic(info):
    j = info["jobs_at_risk_peak"]
    m = re.search(rf"= exposed jobs ({NUM}) x peak shortfall fraction ({NUM})", j["arithmetic"][0])
    exposed, frac = map(_num, m.groups())
    assert exposed * frac == pytest.approx(j["value"], rel=1e-3)
    p = info["peak_shortfall_fraction"]
    m = re.search(rf"= 1 - output ({NUM}) / planned ({NUM})", p["arithmetic"][0])
    o, pl = map(_num, m.groups())
    assert 1 - o / pl == pytest.approx(p["value"], abs=2e-3)


def test_stockout_arithmetic_is_a_difference_of_days(info):
    a = info["days_until_stockout"]["arithmetic"][0]
    m = re.search(r"stock-out (\d+) = .*\(day (\d+)\) - (?:first step a control binds|first control effective) "
                  r".*\(day (\d+)\)", a)
    n, d1, d0 = map(int, m.groups())
    assert n == d1 - d0 == info["days_until_stockout"]["value"]


def test_drivers_are_ranked_and_reproduce_the_engine(info):
    ds = info["cell_output_shortfall_gwh"]["drivers"]
    assert ds and len(ds) <= 5
    sizes = [abs(d["kpi_high"] - d["kpi_low"]) for d in ds]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    d = ds[0]                                                  # rerun the top driver alone: same KPI
    scn = sim.load_scenario(MAIN)
    res = sim.run(scn, samples=2, given={d["param"]: np.array([d["low"], d["high"]])}, uncertain=False)
    assert res.kpis["cell_output_shortfall_gwh"] == pytest.approx([d["kpi_low"], d["kpi_high"]], rel=1e-9, abs=1e-9)


def test_text_links_each_driver_to_explain_param(cli):
    code, out, err = cli("explain", "cell_output_shortfall_gwh", "--scenario", MAIN)
    assert code == 0
    links = re.findall(r"\[batsim explain (\S+)\]", out)
    assert links
    for pid in links[:2]:
        c2, o2, _ = cli("explain", pid)
        assert c2 == 0 and o2.startswith(pid)


def test_json_format(cli):
    code, out, err = cli("explain", "peak_shortfall_fraction", "--scenario", MAIN, "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["kpi"] == "peak_shortfall_fraction" and d["arithmetic"] and "drivers" in d

"""The market data (calibration/parameters/market.yaml): units, ranges, shares and totals hold together."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sim.provenance.explain import derived_range
from sim.provenance.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "market-data.md"
IMPORTERS = ("EU", "JP", "KR", "CN", "ROW")

UNITS = {  # id -> (unit, kind) for the entries the market block and the checks below rely on
    "global.battery_capacity_2024": ("GWh/year", "cited"),
    "global.battery_demand_2024_iea": ("GWh/year", "cited"),
    "global.storage_installed_2024": ("GWh/year", "cited"),
    "cn.cell_output_2024": ("GWh/year", "cited"),
    "cn.cell_installed_2024": ("GWh/year", "cited"),
    "cn.cell_capacity_2024": ("GWh/year", "derived"),
    "cn.anode_share_cn": ("dimensionless", "assumption"),
    "eu.cell_capacity_2025": ("GWh/year", "cited"),
    "eu.cell_demand_ev_2025": ("GWh/year", "derived"),
    "eu.anode_share_cn": ("dimensionless", "cited"),
    "jp.cell_capacity_2024": ("GWh/year", "cited"),
    "jp.graphite_import_share_cn": ("dimensionless", "cited"),
    "kr.cell_capacity_2022": ("GWh/year", "cited"),
    "kr.anode_share_cn": ("dimensionless", "derived"),
    "kr.anode_output_2024": ("t/year", "cited"),
    "row.cell_demand_ev_2025": ("GWh/year", "derived"),
    "row.anode_share_cn": ("dimensionless", "assumption"),
    "market.anode_output.cn_2024": ("t/year", "derived"),
    "market.anode_output.allied_2024": ("t/year", "derived"),
    "market.order_price_elasticity": ("dimensionless", "assumption"),
    "market.leakage_share": ("dimensionless", "assumption"),
    "market.leakage.delay_days": ("day", "cited"),
    "market.investment.build_days": ("day", "derived"),
    "market.investment.qualification_days": ("day", "cited"),
    "market.investment.capex_per_tpa_allied": ("USD*year/t", "derived"),
    "market.inventory_days_importer": ("day", "assumption"),
}


@pytest.fixture(scope="module")
def reg():
    return load_registry(REPO / "calibration")


def bounds(reg, pid: str) -> tuple[float, float]:
    """(low, high) of an entry: its declared range, a derived entry's range over its inputs, or the point."""
    p = reg[pid]
    if p.kind == "derived":
        r = derived_range(reg, pid)
        if r is not None:
            return float(r[0]), float(r[1])
        v = float(reg.nominal(pid))
        return v, v
    if p.low is None:
        return float(p.value), float(p.value)
    return float(p.low), float(p.high)


def market_ids(reg) -> list[str]:
    return [i for i in reg.ids() if Path(reg[i].file).name == "market.yaml"]


def doc_block() -> dict:
    """The proposed ``market:`` YAML block of docs/market-data.md, parsed."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)
    found = [yaml.safe_load(b) for b in blocks if b.startswith("market:")]
    assert len(found) == 1, "docs/market-data.md has one market: block"
    return found[0]["market"]


def params_in(node) -> list[tuple[tuple, str]]:
    """Every (path, registry id) referenced by ``{param: ID}`` in a nested mapping."""
    out: list[tuple[tuple, str]] = []

    def walk(n, path):
        if isinstance(n, dict):
            if set(n) == {"param"}:
                out.append((path, n["param"]))
                return
            for k, v in n.items():
                walk(v, path + (k,))

    walk(node, ())
    return out


@pytest.mark.parametrize("pid", sorted(UNITS))
def test_entry_loads_with_its_unit_and_kind(reg, pid):
    unit, kind = UNITS[pid]
    assert pid in reg, f"{pid} is not in the registry"
    assert (reg[pid].unit, reg[pid].kind) == (unit, kind)
    assert Path(reg[pid].file).name == "market.yaml"


def test_ranges_contain_the_values(reg):
    checked = 0
    for pid in market_ids(reg):
        p = reg[pid]
        v = float(reg.nominal(pid))
        lo, hi = bounds(reg, pid)
        assert lo <= v + 1e-9 and v <= hi + 1e-9, f"{pid}: {v} outside [{lo}, {hi}]"
        if p.kind == "assumption":
            assert lo < hi and p.rationale, f"{pid}: an assumption needs a rationale and a range wider than a point"
        checked += 1
    assert checked >= 80


def test_assumptions_added_are_the_eight_documented(reg):
    got = sorted(i for i in market_ids(reg) if reg[i].kind == "assumption")
    assert got == sorted(["cn.anode_share_cn", "row.anode_share_cn", "market.order_price_elasticity",
                          "market.substitution_elasticity_sic", "market.price_cap", "market.leakage_share",
                          "market.investment.response", "market.inventory_days_importer"])
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{a}`" in text for a in got)


@pytest.mark.parametrize("code", ("eu", "jp", "kr", "cn", "row"))
def test_origin_shares_are_fractions_that_sum_to_one(reg, code):
    cn, allied = f"{code}.anode_share_cn", f"{code}.anode_share_allied"
    assert abs(reg.nominal(cn) + reg.nominal(allied) - 1) < 1e-12
    for pid in (cn, allied):
        lo, hi = bounds(reg, pid)
        assert -1e-12 <= lo <= hi <= 1 + 1e-12, f"{pid}: [{lo}, {hi}] is not inside [0, 1]"
    # the ends pair up: the highest Chinese share leaves the lowest allied one
    assert abs(bounds(reg, cn)[1] + bounds(reg, allied)[0] - 1) < 1e-9


def test_korea_anode_from_china_is_below_its_graphite_import_dependence(reg):
    """Korea's domestic anode output makes China's share of its anode lower than of its graphite imports."""
    assert reg.nominal("kr.anode_share_cn") < reg.nominal("kr.graphite_import_share_cn_synthetic_2024")
    assert reg.nominal("kr.anode_share_cn") > 0.5


def test_doc_block_references_registry_ids_with_the_right_units(reg):
    m = doc_block()
    assert set(m["importers"]) == set(IMPORTERS)
    expect = {"capacity": "GWh/year", "base": "GWh/year", "growth": "dimensionless", "share": "dimensionless",
              "initial_days": "day", "target_days": "day", "elasticity": "dimensionless",
              "price_cap": "dimensionless", "delay_days": "day", "response": "dimensionless",
              "max_added": "t/year", "build_days": "day"}
    refs = params_in(m)
    assert len(refs) >= 40
    for path, pid in refs:
        assert pid in reg, f"market.{'.'.join(path)} names {pid}, not in the registry"
        unit = "t/year" if path[0] == "capacity" else expect[path[-1]]
        assert reg[pid].unit == unit, f"market.{'.'.join(path)}: {pid} is in {reg[pid].unit}, expected {unit}"


def test_doc_block_shares_per_importer_sum_to_one(reg):
    m = doc_block()
    for code, imp in m["importers"].items():
        shares = imp["supply"]["graphite"]
        total = sum(reg.nominal(s["share"]["param"]) for s in shares.values())
        assert abs(total - 1) < 1e-9, f"{code}: graphite shares sum to {total}"
        assert set(shares) <= {"CN", "ALLIED", "US", "ROW"}


def test_doc_block_elasticity_is_a_positive_magnitude(reg):
    """The clearing rule takes a positive elasticity (price index = (demand/supply)^(1/e))."""
    pid = doc_block()["clearing"]["elasticity"]["param"]
    lo, hi = bounds(reg, pid)
    assert 0 < lo <= reg.nominal(pid) <= hi


def final_demand_ids() -> list[str]:
    """Each region's 2025 cell demand where cells are used (at 2024 levels where 2025 is not cited)."""
    return ["cn.cell_installed_2024", "eu.cell_demand_ev_2025", "eu.cell_demand_storage_2024",
            "us.cell_demand_ev_2025", "us.cell_demand_storage_2025", "row.cell_demand_ev_2025"]


def test_sum_of_importers_demand_is_within_the_cited_world_figure(reg):
    ids = final_demand_ids()
    total = sum(reg.nominal(i) for i in ids)
    lo = sum(bounds(reg, i)[0] for i in ids)
    hi = sum(bounds(reg, i)[1] for i in ids)
    g_lo, g_hi = bounds(reg, "global.battery_demand_2024_iea")
    assert g_lo <= total <= g_hi, f"importers' demand {total:.1f} GWh outside the IEA's {g_lo}-{g_hi}"
    assert lo <= g_hi and hi >= g_lo
    # and close to EV demand plus storage installations, an independent sum of two other sources
    assert abs(total / reg.nominal("global.battery_demand_2024") - 1) < 0.05


def test_ev_shares_leave_room_for_the_emerging_markets(reg):
    """The CN, EU and US shares (one IEA sentence) leave at least the cited emerging-market share."""
    top = sum(bounds(reg, f"{c}.ev_battery_demand_share_2024")[1] for c in ("cn", "eu", "us"))
    assert 1 - top >= bounds(reg, "row.emde_ev_battery_demand_share_2024")[0]


def test_regional_capacities_fit_inside_world_capacity(reg):
    parts = ["cn.cell_capacity_2024", "eu.cell_capacity_2025", "us.cell_capacity_2025",
             "jp.cell_capacity_2024", "kr.cell_capacity_2022"]
    assert sum(reg.nominal(p) for p in parts) < reg.nominal("global.battery_capacity_2024")
    assert reg.nominal("row.cell_capacity_2025") > 0


def test_china_cells_physics(reg):
    lo, hi = bounds(reg, "cn.cell_utilisation_2024")
    assert 0 < lo <= hi <= 1
    assert bounds(reg, "cn.cell_output_export_and_other_2024")[0] > 0
    assert reg.nominal("cn.cell_output_storage_2024") < reg.nominal("cn.cell_output_2024")
    assert bounds(reg, "cn.cell_demand_storage_2024")[0] > 0


def test_anode_supply_by_origin_balances_and_korea_fits_inside_allied(reg):
    total = reg.nominal("market.anode_output.cn_2024") + reg.nominal("market.anode_output.allied_2024")
    assert abs(total / reg.nominal("anode.global_shipments_2024") - 1) < 1e-9
    assert reg.nominal("kr.anode_output_2024") <= bounds(reg, "market.anode_output.allied_2024")[0]
    assert bounds(reg, "market.anode_output.allied_ex_us_2024")[0] > 0


def test_build_days_are_the_build_years_in_days(reg):
    assert reg.nominal("market.investment.build_days") == pytest.approx(
        reg.nominal("lead_time.anode_plant_build") * 365.25)
    assert reg.nominal("market.investment.qualification_days") > 365


def test_structural_zero_is_zero(reg):
    lo, hi = bounds(reg, "market.segment_included_elsewhere")
    assert lo == hi == 0 == reg.nominal("market.segment_included_elsewhere")

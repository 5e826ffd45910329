"""Bad market input: each problem located (FILE:LINE:COL), exit 2, no traceback, nothing written."""
from __future__ import annotations

from conftest import expect_bad
from market_cases import lever, write


def bad(cli, tmp_path, text: str, *needles: str) -> str:
    p = write(tmp_path, "bad", text)
    return expect_bad(cli, [p], tmp_path / "out", *needles, file=p)


def test_an_importer_that_is_not_a_region(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  importers:\n    XX:\n      willingness: " + lever(1) + "\n",
        "importer 'XX' is not a region")


def test_an_elasticity_of_zero_or_below(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  clearing:\n    elasticity: " + lever(0) + "\n", "must be > 0")


def test_a_negative_elasticity(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  clearing:\n    elasticity: " + lever(-0.5) + "\n", "must be > 0")


def test_a_negative_shared_capacity(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  capacity:\n    graphite:\n      ALLIED: " + lever(-5, "t/year") + "\n",
        "must be >= 0")


def test_a_patched_route_the_base_has_no_link_for(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  importers:\n    EU:\n      supply:\n        graphite:\n          ROW:\n"
        "            share: " + lever(0.1) + "\n", "which the base scenario has no link for")


def test_an_importers_shares_that_do_not_sum_to_one(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  importers:\n    EU:\n      supply:\n        graphite:\n          CN:\n"
        "            share: " + lever(0.5) + "\n", "importer EU:", "sum to")


def test_a_material_no_origin_supplies(cli, tmp_path):
    bad(cli, tmp_path, "materials:\n  lfp:\n    unit: t\n    group: anode\n    max_share: " + lever(0.1) + "\n",
        "no origin supplies material 'lfp'")


def test_shared_capacity_on_a_route_no_importer_has(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  capacity:\n    graphite:\n      ROW: " + lever(100, "t/year") + "\n",
        "a route no importer has")


def test_a_tariff_on_an_undefined_route(cli, tmp_path):
    bad(cli, tmp_path, "policies:\n  tariffs:\n    - {id: t-row, origin: ROW, material: graphite, rate: "
        + lever(0.25) + "}\n", "a route the scenario has no supply for")


def test_an_importer_equal_to_the_scenarios_own(cli, tmp_path):
    bad(cli, tmp_path, "market:\n  importers:\n    US:\n      willingness: " + lever(1) + "\n",
        "is the scenario's own importer")


def test_all_problems_are_reported_at_once(cli, tmp_path):
    err = bad(cli, tmp_path, "market:\n  clearing:\n    elasticity: " + lever(0) + "\n  importers:\n    XX: {}\n",
              "must be > 0", "importer 'XX' is not a region")
    assert err.count("bad.yaml:") >= 2

"""Per-importer outputs (issue 10, item 5): summary.json's ``importer`` and ``regions`` for one and
several importers, ``--importer`` good and bad, timeseries columns unchanged with price rows, the
price and by-importer plots. Several importers come from a hand-built market (importers_market.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from conftest import MAIN, SCENARIOS, assert_located
from importers_market import PRICE_FACTOR, fake_simulate, two_importer_result
from sim.core.errors import BadInput
from sim.outputs.tables import COLUMNS
from sim.stockflow.kpis import KPI_UNITS, PRICE_KPIS


def strict(text: str) -> dict:
    def no_constants(name: str) -> None:
        raise ValueError(f"non-strict JSON constant {name}")
    return json.loads(text, parse_constant=no_constants)


@pytest.fixture(scope="module")
def one():
    return sim.run(MAIN, seed=0)


@pytest.fixture(scope="module")
def two():
    return two_importer_result()


def test_a_one_importer_run_has_one_region_with_the_top_level_kpis(one):
    s = one.summary()
    assert s["importer"] == "US" and list(s["regions"]) == ["US"]
    reg = s["regions"]["US"]
    for k in KPI_UNITS:
        assert reg[k] == s[k], k
    for k in PRICE_KPIS:      # no market: the price index is the delivered one (premiums, tariffs), >= 1 here
        assert set(reg[k]) == {"graphite", "sic"} and all(v is not None and 1.0 <= v < 10 for v in reg[k].values()), reg[k]


def test_several_importers_each_get_a_region_and_the_focus_is_the_top_level(two):
    s = two.summary()
    assert s["importer"] == "US" and set(s["regions"]) == {"US", "EU"}
    for k in KPI_UNITS:
        assert s["regions"]["US"][k] == s[k], k
    eu = s["regions"]["EU"]
    assert eu["cell_output_shortfall_gwh"] == 0.0 and s["cell_output_shortfall_gwh"] > 50   # baseline vs controls
    assert set(eu) >= set(KPI_UNITS) | set(PRICE_KPIS)


def test_price_kpis_are_the_peak_and_step_weighted_mean_of_the_recorded_index(two):
    s = two.summary()
    for code in ("US", "EU"):
        tr = two.market.importers[code]
        frac = tr.series["shortfall_fraction"][:, 0]
        w = tr.dt_days / tr.dt_days.sum()
        for m, name in enumerate(two.market.materials):
            f = PRICE_FACTOR[code][m]
            assert s["regions"][code]["price_index_peak"][name] == pytest.approx(1 + f * frac.max(), abs=1e-6)
            assert s["regions"][code]["price_index_mean"][name] == pytest.approx(1 + f * (frac * w).sum(), abs=1e-6)
    assert s["regions"]["US"]["price_index_peak"]["graphite"] > 1.0 == s["regions"]["EU"]["price_index_peak"]["graphite"]


def test_another_importer_in_focus_moves_its_kpis_to_the_top_level(two):
    eu = two.for_importer("EU")
    s = eu.summary()
    assert s["importer"] == "EU" and s["cell_output_shortfall_gwh"] == 0.0
    assert s["regions"] == two.summary()["regions"]                   # the same run, seen from the EU


def test_an_unknown_importer_is_bad_input_with_the_list_and_a_did_you_mean(two):
    with pytest.raises(BadInput) as e:
        two.for_importer("eu")
    msg = str(e.value)
    assert "unknown importer 'eu'" in msg and "US, EU" in msg and "did you mean 'EU'" in msg
    with pytest.raises(BadInput, match="importers are US"):
        sim.run(SCENARIOS / "baseline.yaml", importer="JP")


def test_ensemble_regions_hold_the_same_statistics_as_the_top_level():
    r = two_importer_result(samples=4)
    s = r.summary()
    for code, reg in s["regions"].items():
        assert set(reg["quantiles"]) == set(s["quantiles"]) | set(PRICE_KPIS), code
        assert set(reg["quantiles"]["price_index_peak"]) == set(r.market.materials)
    for k in KPI_UNITS:
        assert s["regions"]["US"]["quantiles"][k] == s["quantiles"][k], k
    q = s["regions"]["US"]["quantiles"]["price_index_peak"]["graphite"]
    assert q["p05"] <= q["p50"] <= q["p95"] and q["defined_in"] == 1.0


def test_summary_json_is_strict_with_a_reason_for_every_null_in_every_region(one, tmp_path):
    folder = one.write(tmp_path, plots=False)
    d = strict((folder / "summary.json").read_text(encoding="utf-8"))
    reg = d["regions"]["US"]
    for k in (*KPI_UNITS, *PRICE_KPIS):
        v = reg[k]
        if v is None or (isinstance(v, dict) and None in v.values()):
            assert k in reg["kpi_notes"], k
    assert all(v is not None for v in reg["price_index_peak"].values())   # one importer records prices too


def test_timeseries_columns_are_unchanged_and_price_rows_appear_when_recorded(one, two):
    import pandas as pd

    t1, t2 = one.timeseries(), two.timeseries()
    assert tuple(t1.columns) == COLUMNS == tuple(t2.columns)
    assert set(t1[t1["variable"] == "price_index"]["region"]) == {"US"}     # one importer: its own prices
    p = t2[t2["variable"] == "price_index"]
    assert set(p["region"]) == {"US", "EU"} and set(p["material"]) == set(two.market.materials)
    assert (p["unit"] == "index").all() and (p["value"] >= 1.0).all()
    per = p.groupby(["region", "material"]).size()
    assert (per == len(two.dates)).all()
    # the focus keeps every series of a one-importer run; the other importer adds only its own rows
    v1 = t1.groupby("variable").size()
    v2 = t2[t2["region"] != "EU"].groupby("variable").size()
    assert v1.equals(v2)
    eu = t2[t2["region"] == "EU"]
    assert set(eu["variable"]) == {"planned_output", "cell_output", "shortfall", "shortfall_fraction", "price_index"}
    assert pd.api.types.is_float_dtype(eu["value"])


def test_price_and_by_importer_plots_are_written_for_a_market_run(two, one, tmp_path):
    from sim.outputs.plots import write_plots

    names = {p.name for p in write_plots(two, tmp_path / "two")}
    assert {"price_index.png", "shortfall_by_importer.png"} <= names
    single = {p.name for p in write_plots(one, tmp_path / "one")}
    assert "price_index.png" in single and "shortfall_by_importer.png" not in single


def test_the_focus_is_drawn_heavier_in_the_by_importer_plot(two, tmp_path, monkeypatch):
    from sim.outputs import figstyle, plots

    seen = {}
    monkeypatch.setattr(plots, "save", lambda fig, path, fmt: seen.setdefault(path.name, fig) and path)
    plots.importers_plot(two, tmp_path, "png")
    lines = {ln.get_label(): ln for ln in seen["shortfall_by_importer"].axes[0].get_lines() if ln.get_label()[0] != "_"}
    focus = next(v for k, v in lines.items() if "importer in focus" in k)
    other = lines["EU"]
    assert focus.get_linewidth() > 2 * other.get_linewidth()
    figstyle.pyplot().close("all")


def test_the_price_plot_marks_the_policy_dates(two, tmp_path, monkeypatch):
    from sim.outputs import figstyle, plots

    seen = {}
    monkeypatch.setattr(plots, "save", lambda fig, path, fmt: seen.setdefault(path.name, fig) and path)
    plots.price_plot(two, tmp_path, "png")
    fig = seen["price_index"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("China graphite licence effective 2025-11-08") for t in labels)
    assert any("graphite price index" in t for t in labels) and "price index" in fig.axes[0].get_ylabel()
    assert any("seed 0" in t.get_text() for t in fig.texts)                 # the caption
    figstyle.pyplot().close("all")


# ---- the CLI ------------------------------------------------------------------------------------

def test_run_importer_default_and_explicit(cli, tmp_path):
    code, out, err = cli("run", MAIN, "--importer", "US", "--out", tmp_path, "--no-plots")
    assert code == 0, err
    d = strict((tmp_path / "graphite-controls-2025" / "summary.json").read_text(encoding="utf-8"))
    assert d["importer"] == "US" and "importer US" in out


def test_run_unknown_importer_exits_2_names_the_importers_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = cli("run", MAIN, "--importer", "us", "--out", out, "--no-plots")
    assert_located(code, stdout, err, "unknown importer 'us'", "importers are US", "did you mean 'US'")
    assert not out.exists() or not any(out.iterdir())


def test_run_importer_on_a_market_run_through_the_engine_call(cli, tmp_path, monkeypatch):
    """The CLI's path with several importers: sim.api._simulate is the one place the market engine enters."""
    import sim.api

    monkeypatch.setattr(sim.api, "_simulate", fake_simulate)
    code, out, err = cli("run", MAIN, "--importer", "EU", "--out", tmp_path)
    assert code == 0, err
    folder = tmp_path / "graphite-controls-2025"
    d = strict((folder / "summary.json").read_text(encoding="utf-8"))
    assert d["importer"] == "EU" and d["cell_output_shortfall_gwh"] == 0.0 and set(d["regions"]) == {"US", "EU"}
    m = strict((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["importer"] == "EU" and m["importers"] == ["US", "EU"]
    assert "importer EU (of US, EU" in out
    assert (folder / "plots" / "price_index.png").is_file() and (folder / "plots" / "shortfall_by_importer.png").is_file()
    code, stdout, err = cli("run", MAIN, "--importer", "KR", "--out", tmp_path / "bad", "--no-plots")
    assert_located(code, stdout, err, "unknown importer 'KR'", "US, EU")
    assert not (tmp_path / "bad").exists()


def test_kpi_only_runs_give_every_importer_the_same_kpis_as_full_runs(monkeypatch):
    """record='summary' computes each importer's KPIs block by block; they equal the full record's."""
    import sim.api
    from sim.scenario.compile import resolve

    monkeypatch.setattr(sim.api, "_simulate", fake_simulate)
    scn = sim.load_scenario(MAIN)
    res = resolve(scn, samples=5, seed=3)
    light, regions = sim.api._kpis_only(scn, res, block=2)
    full = sim.api._kpis.compute_market(fake_simulate(scn, res, "full"))
    assert light.codes == ["US", "EU"] and not light.focused.series
    for code in ("US", "EU"):
        for k in KPI_UNITS:
            np.testing.assert_allclose(regions[code].kpis[k], full[code].kpis[k], rtol=1e-12, equal_nan=True)
    assert np.array_equal(light.focused.shock_day, fake_simulate(scn, res, "summary").focused.shock_day, equal_nan=True)

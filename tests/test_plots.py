"""Plots a brief can use: on scale, named, separate panels, stock-out marked, engine and caption, formats;
and no crash on zero demand, zero capacity or no controls."""
from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import MAIN, SCENARIOS
from sim.outputs import plots as P

DEMAND = ("us.cell_demand_ev_2025", "us.cell_demand_storage_2025", "us.cell_demand_defence_2025",
          "us.cell_demand_datacentre_2025")


@pytest.fixture(scope="module")
def main_run():
    return sim.run(MAIN)


@pytest.fixture
def figures(monkeypatch):
    """Capture each figure instead of saving it (name -> figure)."""
    got = {}

    def keep(fig, path, fmt="png"):
        got[path.name] = fig
        return path

    monkeypatch.setattr(P, "save", keep)
    yield got
    P.pyplot().close("all")


def _labels(fig):
    out = []
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def test_supply_plot_keeps_demand_and_the_front_running_spike_on_scale(main_run, figures, tmp_path):
    P.write_plots(main_run, tmp_path)
    fig = figures["supply_by_origin"]
    top, bottom = fig.axes[0], fig.axes[1]
    s = main_run.trajectory.series
    assert top.get_ylim()[1] >= float(np.max(s["demand"])) * 365.25       # demand not off scale
    spike = float(np.max(s["supportable_by_origin"].sum(axis=2))) * 365.25
    assert spike > 1.25 * float(np.max(s["planned_output"])) * 365.25         # a spike to show (the plot annotates above 1.25x)
    assert bottom.get_ylim()[1] >= spike                                    # and it is not clipped
    assert any("front-running" in t for t in _labels(fig))


def test_labels_use_names_and_policy_dates_a_day_apart_stay_distinct(main_run, figures, tmp_path):
    P.write_plots(main_run, tmp_path)
    labels = _labels(figures["supply_by_origin"])
    assert not any("cn-anode-2025" in t for t in labels)                   # no internal ids
    assert any(t.startswith("China graphite licence effective 2025-11-08") for t in labels)
    assert any("suspended 2025-11-07" in t for t in labels)
    assert any("anode deliveries from China" in t for t in labels)
    ax = figures["supply_by_origin"].axes[0]
    texts = [t for t in ax.texts if t.get_text().startswith(("suspended", "effective"))]
    assert len(texts) == 2 and texts[0].xyann[1] != texts[1].xyann[1]      # staggered, not on top of each other


def test_shortfall_and_jobs_are_separate_panels_and_the_stockout_is_marked(main_run, figures, tmp_path):
    P.write_plots(main_run, tmp_path)
    fig = figures["shortfall"]
    a1, a2 = fig.axes[:2]
    assert len(fig.axes) == 2 and a1.get_position().y0 > a2.get_position().y1   # stacked, not twin axes
    assert "shortfall" in a1.get_ylabel() and "jobs" in a2.get_ylabel()
    day = P.stockout_day(main_run)
    from sim.stockflow.kpis import stockout_origin      # days count from the first binding step
    assert day == pytest.approx(float(main_run.kpis["days_until_stockout"][0] + stockout_origin(main_run.trajectory)[0]))
    when = main_run.scenario.calendar.date_of(day).isoformat()
    assert any(f"stock-out: material first limits output {when}" in t for t in _labels(fig))


def test_titles_name_the_engine_and_captions_name_scenario_version_seed(main_run, figures, tmp_path):
    P.write_plots(main_run, tmp_path)
    assert set(figures) == {"supply_by_origin", "inventory_cover", "shortfall", "sic_share", "price_index"}
    for fig in figures.values():
        assert "(stock-flow engine)" in fig.axes[0].get_title()
        cap = [t.get_text() for t in fig.texts]
        assert any(c.startswith("scenario graphite-controls-2025 · batsim ") and "seed 0" in c
                   and "engine stockflow" in c for c in cap), cap


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_formats(main_run, tmp_path, fmt, magic):
    paths = P.write_plots(main_run, tmp_path, fmt=fmt)
    assert [p.suffix for p in paths] == [f".{fmt}"] * 5
    for p in paths:
        assert p.read_bytes()[:len(magic)] == magic and p.stat().st_size > 5000


def test_unknown_format_is_refused(main_run, tmp_path):
    with pytest.raises(ValueError, match="unknown plot format"):
        P.write_plots(main_run, tmp_path, fmt="jpg")


@pytest.mark.parametrize("case", ["zero demand", "zero capacity", "no controls"])
def test_degenerate_runs_still_plot(tmp_path, case):
    if case == "no controls":
        res = sim.run(SCENARIOS / "baseline.yaml")
        assert not res.trajectory.structure.controls
    else:
        scn = sim.load_scenario(MAIN)
        ids = DEMAND if case == "zero demand" else ("us.cell_capacity_2025",)
        res = sim.run(scn, given={i: np.zeros(1) for i in ids})
        # zero at the start (the baseline's named plants still ramp up later in the zero-capacity case)
        assert float(np.max(res.trajectory.series["planned_output"][0])) == 0.0
    paths = P.write_plots(res, tmp_path)
    assert all(p.stat().st_size > 5000 for p in paths)


@pytest.mark.slow
def test_des_plots_say_which_engine_made_them(figures, tmp_path):
    res = sim.run(MAIN, engine="des", replications=2, workers=1)
    P.write_plots(res, tmp_path)
    for fig in figures.values():
        assert "(discrete-event engine, 2 replications)" in fig.axes[0].get_title()
        assert any("engine des" in t.get_text() and "2 replications" in t.get_text() for t in fig.texts)


# ---- sweep plots ----------------------------------------------------------------------------------

def _factors():
    from sim.sweep.factors import factor

    long = "A parameter with a deliberately long descriptive name that used to be cut off in tornado labels"
    return {"a.long": factor("a.long", 0.5, 2.0, 1.0, unit="t/day", name=long),
            "b.short": factor("b.short", 10.0, 30.0, 20.0, name="Short name")}


def test_tornado_shows_full_names_ranges_and_kpi_values_at_bar_ends():
    from sim.sweep import plots as SP

    rows = []
    for pid, lo, hi in (("a.long", -40.0, 60.0), ("b.short", 5.0, -5.0)):
        for idx, v in (("low", lo), ("high", hi), ("swing", abs(hi - lo))):
            rows.append({"kpi": "k", "param": pid, "index": idx, "value": v, "ci_low": np.nan, "ci_high": np.nan})
    plt = SP._plt()
    fig, ax = plt.subplots()
    SP.tornado(ax, "k", rows, 100.0, "GWh", _factors())
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    joined = " ".join(t.replace("\n", " ") for t in ticks)
    assert "…" not in joined and "used to be cut off in tornado labels" in joined
    assert "a.long [0.5 t/day – 2 t/day]" in joined and "b.short [10 – 30]" in joined
    ends = {t.get_text() for t in ax.texts}
    assert {"60", "160", "105", "95"} <= ends                                # KPI at low/high = nominal + delta
    plt.close(fig)


def test_morris_points_are_numbered_with_a_key_instead_of_overlapping_labels():
    from sim.sweep import plots as SP

    rows = []
    for pid, mu in (("a.long", 3.0), ("b.short", 3.01)):                      # nearly the same point
        rows += [{"kpi": "k", "param": pid, "index": "mu_star", "value": mu, "ci_low": mu - 0.1, "ci_high": mu + 0.1},
                 {"kpi": "k", "param": pid, "index": "sigma", "value": 1.0, "ci_low": np.nan, "ci_high": np.nan}]
    plt = SP._plt()
    fig, ax = plt.subplots()
    SP.morris_scatter(ax, "k", rows, "GWh", _factors())
    texts = [t.get_text() for t in ax.texts]
    assert {"1", "2"} <= set(texts)
    key = [t for t in texts if t.startswith("1. ")][0]
    assert "Short name (b.short)" in key and "2. A parameter with" in key
    plt.close(fig)


def test_sweep_plots_in_svg_with_a_caption(tmp_path):
    from sim.sweep.run import sweep

    res = sweep(MAIN, "oat", params=["inventory.anode_days"], out=tmp_path, workers=1, plot_format="svg",
                log=lambda m: None)
    svgs = sorted((res.folder / "plots").glob("tornado-*.svg"))
    assert svgs and not list((res.folder / "plots").glob("*.png"))
    text = svgs[0].read_text(encoding="utf-8")
    assert "scenario graphite-controls-2025" in text and "oat sweep, 3 evaluations" in text
    assert all(f.startswith("plots/tornado-") and f.endswith(".svg") for f in res.summary["files"] if "plots/" in f)

"""The KPI definitions of issue 10 checked analytically on hand-made series: the 28-day rolling
window of peak_shortfall_fraction (and jobs_at_risk_peak), days_until_stockout counted from the
first step a control binds, and the per-material price index KPIs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from sim.stockflow import kpis
from sim.stockflow.engine import Trajectory


def traj(frac: np.ndarray, dts: np.ndarray, planned: np.ndarray | float = 1.0, limited: np.ndarray | None = None,
         shock: float | None = None, bind: float | None = None, exposed: float = 1000.0,
         prices: np.ndarray | None = None) -> Trajectory:
    """A one-sample trajectory with shortfall fraction ``frac`` per step (planned output per day ``planned``)."""
    frac = np.asarray(frac, dtype=float)[:, None]
    T = len(frac)
    plan = np.broadcast_to(np.asarray(planned, dtype=float).reshape(-1, 1), (T, 1)).copy()
    lim = (frac > 0).astype(float) if limited is None else np.asarray(limited, dtype=float)[:, None]
    one = np.ones((T, 1))
    series = {"shortfall": plan * frac, "planned_output": plan, "cell_output": plan * (1 - frac),
              "shortfall_fraction": frac, "material_limited": lim, "jobs_at_risk": exposed * frac,
              "substitute_share": 0 * one, "controlled_origin_share": one, "days_of_cover": 30 * one,
              "anode_cost_index": one, "cell_cost_index": one}
    if prices is not None:
        series["price_index"] = prices
    td = np.concatenate([[0.0], np.cumsum(dts)[:-1]])
    t = Trajectory(structure=None, t_days=td, dt_days=np.asarray(dts, dtype=float), series=series,  # type: ignore[arg-type]
                   shock_day=None if shock is None else np.array([shock]))
    if bind is not None:
        t.bind_day = np.array([bind])      # type: ignore[attr-defined]   (the market engine's field)
    return t


WEEKS = np.full(52, 7.0)


def test_a_one_week_total_loss_in_a_weekly_run_is_a_quarter_of_four_weeks():
    f = np.zeros(52)
    f[20] = 1.0
    k = kpis.compute(traj(f, WEEKS))
    assert k["peak_shortfall_fraction"][0] == pytest.approx(0.25)
    assert k["jobs_at_risk_peak"][0] == pytest.approx(250.0)          # exposed x the window's fraction


def test_a_sustained_dip_gives_its_level():
    f = np.zeros(52)
    f[10:30] = 0.4
    assert kpis.compute(traj(f, WEEKS))["peak_shortfall_fraction"][0] == pytest.approx(0.4)


def test_two_weeks_at_sixty_percent_inside_four_weeks_give_thirty_percent():
    f = np.zeros(52)
    f[5:7] = 0.6
    assert kpis.compute(traj(f, WEEKS))["peak_shortfall_fraction"][0] == pytest.approx(0.3)


def test_the_window_weights_by_planned_output():
    f = np.zeros(52)
    f[8:12] = [1.0, 0.0, 0.0, 0.0]
    planned = np.ones(52)
    planned[8] = 3.0                                   # the lost week was planned three times as high
    assert kpis.compute(traj(f, WEEKS, planned))["peak_shortfall_fraction"][0] == pytest.approx(3 / 6)


def test_a_monthly_step_is_its_own_window():
    dts = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    f = np.zeros(12)
    f[4] = 0.8
    assert kpis.compute(traj(f, dts))["peak_shortfall_fraction"][0] == pytest.approx(0.8)


def test_a_daily_run_averages_over_28_days():
    f = np.zeros(120)
    f[50:57] = 1.0                                     # one week lost in a daily run
    assert kpis.compute(traj(f, np.ones(120)))["peak_shortfall_fraction"][0] == pytest.approx(7 / 28)


def test_a_run_shorter_than_the_window_is_one_window():
    f = np.array([0.0, 1.0])
    assert kpis.compute(traj(f, np.array([7.0, 7.0])))["peak_shortfall_fraction"][0] == pytest.approx(0.5)


def test_window_sums_of_a_constant_rate_are_rate_times_28_days():
    dts = np.array([7.0, 10.0, 3.0, 31.0, 5.0, 7.0])
    w = kpis.window_sums(np.full((6, 2), 2.0), dts)
    assert np.allclose(w, 56.0) and w.shape[1] == 2


@settings(max_examples=60, deadline=None)
@given(level=hs.floats(0.0, 1.0), step=hs.sampled_from(["day", "week", "month"]), n=hs.integers(5, 60))
def test_a_constant_shortfall_gives_the_old_per_step_definition(level, step, n):
    dts = {"day": np.ones(n), "week": np.full(n, 7.0), "month": np.resize([31.0, 30.0, 28.0], n)}[step]
    planned = np.linspace(1.0, 3.0, n)                 # the fraction is constant even if the plan grows
    t = traj(np.full(n, level), dts, planned)
    assert kpis.compute(t)["peak_shortfall_fraction"][0] == pytest.approx(t.series["shortfall_fraction"].max())


@settings(max_examples=60, deadline=None)
@given(f=hs.lists(hs.floats(0.0, 1.0), min_size=4, max_size=40))
def test_weekly_peak_is_the_largest_mean_of_four_consecutive_weeks_and_at_most_the_worst_week(f):
    f = np.array(f)
    k = kpis.compute(traj(f, np.full(len(f), 7.0)))["peak_shortfall_fraction"][0]
    naive = max(f[i:i + 4].mean() for i in range(len(f) - 3))
    assert k == pytest.approx(naive, abs=1e-12) and k <= f.max() + 1e-12


def test_nothing_planned_means_nothing_lost():
    t = traj(np.zeros(10), WEEKS[:10], planned=0.0)
    assert kpis.compute(t)["peak_shortfall_fraction"][0] == 0.0


# ---- days_until_stockout from the first binding step --------------------------------------------

def _stockout_at(week: int) -> np.ndarray:
    f = np.zeros(52)
    f[week:] = 0.5
    return f


def test_days_until_stockout_counts_from_the_step_a_control_binds():
    # the control took effect on day 14 but was suspended; it bound from day 140; stock-out on day 210
    t = traj(_stockout_at(30), WEEKS, shock=14.0, bind=140.0)
    assert kpis.compute(t)["days_until_stockout"][0] == pytest.approx(210.0 - 140.0)


def test_without_bind_day_it_counts_from_the_effective_date_as_before():
    t = traj(_stockout_at(30), WEEKS, shock=14.0)
    assert kpis.compute(t)["days_until_stockout"][0] == pytest.approx(210.0 - 14.0)


def test_a_control_that_never_binds_counts_from_the_run_start():
    t = traj(_stockout_at(30), WEEKS, shock=14.0, bind=float("nan"))
    assert kpis.compute(t)["days_until_stockout"][0] == pytest.approx(210.0)


def test_a_shortage_before_the_control_binds_is_not_its_stockout():
    f = np.zeros(52)
    f[3] = 0.2            # a brief shortage before the control binds ...
    f[30:] = 0.5          # ... and the stock-out it causes
    t = traj(f, WEEKS, shock=7.0, bind=140.0)
    assert kpis.compute(t)["days_until_stockout"][0] == pytest.approx(70.0)


def test_stockout_origin_is_what_the_kpi_counts_from():
    t = traj(_stockout_at(30), WEEKS, shock=14.0, bind=140.0)
    assert kpis.stockout_origin(t)[0] + kpis.compute(t)["days_until_stockout"][0] == pytest.approx(210.0)


# ---- price index KPIs --------------------------------------------------------------------------

def test_price_index_peak_and_step_weighted_mean_per_material():
    dts = np.array([10.0, 20.0, 10.0])
    p = np.ones((3, 1, 2))
    p[:, 0, 0] = [1.0, 2.0, 1.0]
    p[:, 0, 1] = [1.0, 1.0, 4.0]
    out = kpis.price_kpis(traj(np.zeros(3), dts, prices=p), ["graphite", "sic"])
    assert out["price_index_peak"]["graphite"][0] == 2.0 and out["price_index_peak"]["sic"][0] == 4.0
    assert out["price_index_mean"]["graphite"][0] == pytest.approx((10 + 40 + 10) / 40)
    assert out["price_index_mean"]["sic"][0] == pytest.approx((10 + 20 + 40) / 40)


def test_no_recorded_prices_give_undefined_price_kpis():
    out = kpis.price_kpis(traj(np.zeros(3), np.full(3, 7.0)), ["graphite"])
    assert np.isnan(out["price_index_peak"]["graphite"][0]) and np.isnan(out["price_index_mean"]["graphite"][0])


# ---- one definition in README, the code and `batsim explain` ---------------------------------

PHRASES = {"peak_shortfall_fraction": ("largest share of planned output lost over a rolling four-week (28-day) window",
                                       "so the arrival of single lots does not set it"),
           "days_until_stockout": ("first step in which an export control actually binds",
                                   "suspended before it bit")}


def _norm(text: str) -> str:
    return " ".join(text.replace("``", "").replace("`", "").split())


@pytest.mark.parametrize("kpi", sorted(PHRASES))
def test_readme_code_and_explain_define_the_kpi_in_the_same_words(kpi):
    from conftest import ROOT
    from sim.provenance.explain_kpi import FORMULAS

    readme = _norm((ROOT / "README.md").read_text(encoding="utf-8"))
    readme = readme[readme.index(f"- {kpi} —"):][:600]
    for where, text in (("README", readme), ("kpis.py", _norm(kpis.__doc__ or "")), ("explain", _norm(FORMULAS[kpi]))):
        for phrase in PHRASES[kpi]:
            assert phrase in text, (where, phrase)


def test_explain_gives_the_price_kpis_formulas(cli):
    for name in kpis.PRICE_KPIS:
        code, out, err = cli("explain", name)
        assert code == 0, err
        assert "delivered-price index" in out or "price_index" in out

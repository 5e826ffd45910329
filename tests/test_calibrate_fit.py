"""Fitting: synthetic data with known parameters are recovered within their intervals; fits are
seeded and reproducible; out-of-range values are refused unless forced; the registry entry written
cites the data and passes the audit; `batsim explain` shows where a calibrated value came from."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from sim.core.errors import BadInput

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture
def calib(tmp_path, monkeypatch):
    """A private copy of calibration/ and scenarios/ (the registry may be written), with a
    synthetic source in the bibliography."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "calibration", root / "calibration")
    shutil.copytree(REPO / "scenarios", root / "scenarios")
    bib = root / "calibration" / "bibliography" / "test.json"
    bib.write_text(json.dumps([{"id": "synthetic-test", "type": "dataset", "title": "synthetic test data",
                                "URL": "https://example.org/synthetic", "accessed": {"date-parts": [[2026, 11, 22]]}}]))
    monkeypatch.setenv("BATSIM_CALIBRATION", str(root / "calibration"))
    monkeypatch.chdir(tmp_path)
    return root / "calibration"


def _source(calib: Path, lines: list[str]) -> None:
    (calib / "sources" / "synthetic-test.txt").write_text(
        "# https://example.org/synthetic — read 2026-11-22 via stored copy\n" + "\n".join(lines) + "\n", encoding="utf-8")


def _obs(period: str, value: float, unit: str, stat: str = "value") -> tuple[str, str]:
    line = f"synthetic observation {period} ({stat}): {value:.6g} {unit}"
    block = (f"  - period: '{period}'\n    statistic: {stat}\n    value: {value:.6g}\n    unit: {unit}\n"
             f"    source: synthetic-test\n    locator: line {period}\n    quote: \"{line}\"\n    reading: synthetic\n")
    return line, block


# ---- learning curve ---------------------------------------------------------------------------

def _learning_target(calib: Path, years: list[int], prices: np.ndarray, decline_plausible=(0.05, 0.35),
                     seed: int = 3) -> Path:
    lines, blocks = zip(*[_obs(str(y), p, "USD/kWh") for y, p in zip(years, prices)])
    _source(calib, list(lines))
    gaps = []
    for a, b in zip(years[:-1], years[1:]):
        if b > a + 1:
            gaps.append(f"  - {{period: '{a + 1}/{b - 1}' , why: not generated}}\n" if b > a + 2 else
                        f"  - {{period: '{a + 1}', why: not generated}}\n")
    text = f"""\
id: synthetic-learning
title: synthetic learning curve
kind: learning_curve
description: synthetic test data
series: {{name: price, unit: USD/kWh, frequency: year, products: packs, codes: none, destination: all, definition: synthetic}}
sources:
  - {{id: synthetic-test, address: "https://example.org/synthetic", read: 2026-11-22, passage: all lines}}
observations:
{''.join(blocks)}{('not_observed:' + chr(10) + ''.join(gaps)) if gaps else ''}
model:
  form: exponential_time
  base_year: 2010
  learning_rate:
    id: calibrated.synthetic.learning_rate
    name: synthetic learning rate
    calibrates: costs.learning_rate
    volume_growth: {{factor: 264, years: 10, source: synthetic-test, locator: line 1, quote: "{lines[0]}", reading: synthetic}}
fit:
  seed: {seed}
  population: 512
  starts: 2
  interval: {{method: profile, level: 0.95, points: 41}}
  backtest: {{holdout: 2}}
  parameters:
    - {{id: calibrated.synthetic.level, name: level, unit: USD/kWh, role: level, search: {{low: 100, high: 5000}},
       plausible: {{low: 500, high: 2000, why: test}}}}
    - {{id: calibrated.synthetic.decline, name: decline, unit: 1/year, role: decline, search: {{low: 0, high: 0.8}},
       plausible: {{low: {decline_plausible[0]}, high: {decline_plausible[1]}, why: test}}}}
checks:
  - {{kind: breakeven_multiple, loss_per_sales_dollar: a123.loss_per_sales_dollar_2011, claim: a123.breakeven_capacity_multiple}}
"""
    p = calib / "targets" / "synthetic-learning.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _prices(level: float, decline: float, years: list[int], sd: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.array(years, dtype=float) - 2010
    return level * np.exp(-decline * t) * np.exp(rng.normal(0, sd, len(years)))


def test_learning_curve_recovers_known_parameters_within_the_interval(calib):
    from sim.calibrate.run import calibrate

    years = [2010, 2012, 2013, 2015, 2016, 2017, 2019, 2020, 2021, 2022, 2023, 2024]
    truth = (1000.0, 0.17)
    path = _learning_target(calib, years, _prices(*truth, years, 0.05, seed=11))
    run = calibrate(path, write=False, out=None, plots=False)
    for value, iv, true in zip(run.theta, run.intervals, truth):
        assert iv.low <= true <= iv.high, (iv, true)
        assert iv.low < value < iv.high
        assert not (iv.open_low or iv.open_high)
    assert run.theta[1] == pytest.approx(0.17, abs=0.02)
    assert run.stats["r2"] > 0.95 and run.stats["n"] == 12 and run.stats["dof"] == 10
    # learning rate from the decline and the cited growth (264x in 10 years), monotone in it
    lr = run.derived[0]
    r = np.log(264) / 10
    assert lr["value"] == pytest.approx(1 - 2 ** (-run.theta[1] / r))
    assert lr["interval"]["low"] < lr["value"] < lr["interval"]["high"]
    # break-even: a loss of 0.57/$ needs cost to fall to 1/1.57; M = 1.57 ** (1/b)
    c = run.checks[0]
    b = -np.log2(1 - lr["value"])
    assert c["model_multiple"]["value"] == pytest.approx(1.57 ** (1 / b))
    assert c["model_multiple"]["low"] < c["model_multiple"]["value"] < c["model_multiple"]["high"]
    assert c["verdict"].startswith(("agreement", "partial", "tension"))
    # the backtest fits all but the last two years and predicts them
    bt = run.backtest
    assert bt["held_out"] == ["2023", "2024"] and bt["train_n"] == 10 and len(bt["errors"]) == 2
    assert bt["rmse_log"] < 0.3


def test_fits_are_seeded_and_reproducible(calib):
    from sim.calibrate.run import calibrate

    years = list(range(2010, 2025))
    path = _learning_target(calib, years, _prices(900.0, 0.2, years, 0.1, seed=5))
    a = calibrate(path, write=False, out=None, plots=False)
    b = calibrate(path, write=False, out=None, plots=False)
    assert np.array_equal(a.theta, b.theta)
    assert [iv.low for iv in a.intervals] == [iv.low for iv in b.intervals]
    assert a.backtest["errors"] == b.backtest["errors"]


def test_out_of_range_values_are_refused_unless_forced_and_the_entry_passes_the_audit(calib, capsys):
    from sim.calibrate.run import calibrate
    from sim.cli.main import main
    from sim.provenance.audit import audit
    from sim.provenance.registry import load_registry

    years = list(range(2010, 2025))
    path = _learning_target(calib, years, _prices(900.0, 0.2, years, 0.05, seed=2), decline_plausible=(0.05, 0.12))
    reg_file = calib / "parameters" / "calibrated.yaml"
    before = reg_file.read_text(encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        calibrate(path, out=calib.parent / "out", plots=False)
    msg = str(exc.value)
    assert "calibrated.synthetic.decline" in msg and "outside its plausible range [0.05, 0.12]" in msg
    assert f"{path}:" in msg
    assert reg_file.read_text(encoding="utf-8") == before                    # nothing written
    assert (calib.parent / "out" / "calibration" / "synthetic-learning" / "report.txt").is_file()
    # the CLI says the same, exit 2
    code = main(["calibrate", str(path), "--no-plots", "--out", str(calib.parent / "out")])
    assert code == 2 and "outside its plausible range" in capsys.readouterr().err
    # --force writes, and says so in the entry
    run = calibrate(path, force=True, out=None, plots=False)
    assert run.written
    data = yaml.safe_load(reg_file.read_text(encoding="utf-8"))
    ids = {e["id"]: e for e in data["parameters"]}
    assert "calibrated.episodes.front_running" in ids                # other targets' entries kept
    e = ids["calibrated.synthetic.decline"]
    assert e["kind"] == "calibrated" and "forced" in e["calibration"]
    assert e["calibration"]["target"] == "synthetic-learning.yaml"
    assert e["range"]["low"] <= e["value"] <= e["range"]["high"]
    assert e["evidence"][0]["source"] == "synthetic-test"
    reg = load_registry(calib)
    assert reg["calibrated.synthetic.decline"].value == pytest.approx(run.theta[1], rel=1e-5)
    rep = audit(calib, sources=SEEDS if SEEDS.is_dir() else None)
    mine = [p for p in rep.problems if "synthetic" in p.id]
    assert mine == [], [str(p) for p in mine]
    # refitting replaces this target's entries, never duplicates them
    calibrate(path, force=True, out=None, plots=False)
    again = yaml.safe_load(reg_file.read_text(encoding="utf-8"))["parameters"]
    assert [x["id"] for x in again].count("calibrated.synthetic.decline") == 1


def test_explain_shows_the_data_and_the_method(calib, capsys):
    from sim.calibrate.run import calibrate
    from sim.cli.main import main

    years = list(range(2012, 2025))
    path = _learning_target(calib, years, _prices(1000.0, 0.15, years, 0.05, seed=8))
    calibrate(path, out=None, plots=False)
    assert main(["explain", "calibrated.synthetic.learning_rate"]) == 0
    out = capsys.readouterr().out
    assert "kind       calibrated" in out
    assert "synthetic observation 2012 (value)" in out              # the quoted data
    assert "target     synthetic-learning.yaml" in out
    assert "method     Least squares on log(price)" in out
    assert "interval" in out and "profile likelihood" in out
    assert "calibrates costs.learning_rate" in out


# ---- stock-flow: licence regime recovered from synthetic exports ---------------------------------

SCN = """\
extends: {base}
id: synthetic-licensing
calendar: {{start: 2023-01-01, end: 2024-12-29, step: week}}
policies:
  export_controls:
    - id: cn-graphite-2023
      licence:
        decision_days: {{lever: 14, unit: day, why: synthetic test}}
"""


def _monthly_shipments(scn, given: dict) -> dict:
    """Independent of sim.calibrate: monthly totals of CN shipments (arrivals one weekly step later)."""
    res = sim.run(scn, samples=1, given=given, uncertain=False, record="full")
    arr = res.trajectory.series["deliveries"][:, 0, 1, 0]
    ship = arr[1:]                                  # lead 7 days = 1 weekly step
    cal = scn.calendar
    out: dict = {}
    for t, rate in enumerate(ship):
        for d in range(7):
            day = cal.start + dt.timedelta(days=int(cal.t_days[t]) + d)
            out[(day.year, day.month)] = out.get((day.year, day.month), 0.0) + rate
    return out


def test_stockflow_fit_recovers_the_licence_regime_within_the_interval(calib):
    from sim.calibrate.run import calibrate

    scn_path = calib / "scenarios" / "synthetic.yaml"
    scn_path.write_text(SCN.format(base=calib / "scenarios" / "cn-graphite-licensing-2023.yaml"), encoding="utf-8")
    scn = sim.load_scenario(scn_path)
    truth = {"controls.front_running": 1.2, "licence.approval_share_2024": 0.55}
    m = _monthly_shipments(scn, {k: np.array([v]) for k, v in truth.items()})
    base = np.mean([m[(2023, k)] for k in range(1, 10)])
    rng = np.random.default_rng(4)
    months = [(2023, k) for k in (10, 11, 12)] + [(2024, k) for k in range(1, 8)]
    values = [m[ym] * np.exp(rng.normal(0, 0.03)) for ym in months]
    lines, blocks = zip(*([_obs("2023-01/2023-09", base, "t/month", "mean")] +
                          [_obs(f"{y}-{mo:02d}", v, "t/month") for (y, mo), v in zip(months, values)]))
    _source(calib, list(lines))
    text = f"""\
id: synthetic-exports
title: synthetic exports
kind: stockflow
series: {{name: exports, unit: t/month, frequency: month, products: graphite, codes: none, destination: all, definition: synthetic}}
sources:
  - {{id: synthetic-test, address: "https://example.org/synthetic", read: 2026-11-22, passage: all lines}}
observations:
{''.join(blocks)}
model: {{scenario: ../scenarios/synthetic.yaml, variable: shipments, origin: CN, material: graphite, normalise: 2023-01/2023-09}}
fit:
  seed: 7
  population: 256
  starts: 2
  interval: {{method: profile, level: 0.99, points: 25}}   # one draw: a 95% interval misses 1 in 20
  backtest: {{holdout: 2}}
  parameters:
    - {{id: calibrated.synthetic.front_running, name: fr, unit: dimensionless, calibrates: controls.front_running,
       search: {{low: 0, high: 3}}}}
    - {{id: calibrated.synthetic.approval, name: approval, unit: dimensionless, calibrates: licence.approval_share_2024,
       search: {{low: 0.05, high: 1}}}}
"""
    path = calib / "targets" / "synthetic-exports.yaml"
    path.write_text(text, encoding="utf-8")
    run = calibrate(path, write=False, out=calib.parent / "out", des=False)
    for fp, value, iv in zip(run.target.params, run.theta, run.intervals):
        true = truth[fp.calibrates]
        assert iv.low <= true <= iv.high, (fp.id, iv, true)
        assert value == pytest.approx(true, rel=0.1)
    assert run.stats["rmse"] < 0.06 and run.stats["n"] == 10        # the anchor is not a residual
    assert run.backtest["train_n"] == 8 and run.backtest["rmse_log"] < 0.15
    folder = calib.parent / "out" / "calibration" / "synthetic-exports"
    assert (folder / "plots" / "observed_vs_fitted.png").stat().st_size > 10_000
    assert (folder / "plots" / "profiles.png").is_file()
    fit = json.loads((folder / "fit.json").read_text())
    assert fit["compared"]["used"][0] is False and fit["parameters"][0]["inside_plausible"]
    # one batch call evaluates many candidates: far fewer calls than model runs
    assert run.problem.evaluations > 20 * run.problem.calls

"""Bad input to the joint calibration and backtest: located messages, exit 2, nothing written, registry untouched."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, assert_located

CAL = ROOT / "calibration"
CONFIG = CAL / "episodes.yaml"
REGISTRY = CAL / "parameters" / "calibrated.yaml"


def _digest() -> str:
    return hashlib.sha256(REGISTRY.read_bytes()).hexdigest() if REGISTRY.exists() else ""


def _config(tmp: Path, edit=None, targets: dict[str, Path] | None = None) -> Path:
    """A copy of calibration/episodes.yaml under tmp with absolute target paths, edited by ``edit(data)``."""
    d = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for key in ("episodes", "held_out"):
        for e in d.get(key, []):
            e["target"] = str((targets or {}).get(e["id"], CAL / e["target"]))
    if edit:
        edit(d)
    p = tmp / "episodes.yaml"
    p.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return p


def _target(tmp: Path, name: str, edit) -> Path:
    """A copy of a shipped target under tmp (scenario path made absolute), edited by ``edit(data)``."""
    src = CAL / "targets" / name
    d = yaml.safe_load(src.read_text(encoding="utf-8"))
    d["model"]["scenario"] = str((src.parent / d["model"]["scenario"]).resolve())
    edit(d)
    p = tmp / name
    p.write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p


def _bad(cli, args: list, out: Path, *needles: str, file: Path | None = None) -> str:
    before = _digest()
    code, stdout, err = cli(*args)
    assert_located(code, stdout, err, *needles, file=file)
    assert not out.exists(), "nothing may be written for bad input"
    assert _digest() == before, "the registry must be untouched"
    return err


@pytest.mark.parametrize("command", ["calibrate", "backtest"])
def test_missing_target(cli, tmp_path, command):
    cfg = _config(tmp_path, lambda d: d["episodes"][0].update(target=str(tmp_path / "nope.yaml")))
    out = tmp_path / "out"
    extra = ["--out", out] if command == "calibrate" else ["--out", out]
    _bad(cli, [command, cfg, *extra], out, "target file", "not found", file=cfg)


def test_shared_parameter_absent_from_one_scenario(cli, tmp_path):
    def edit(d):
        d["shared"].append({"id": "calibrated.test.us_share", "name": "US share", "unit": "dimensionless",
                            "calibrates": "controls.cn_sb_2024.us_share_2024_08", "transform": "identity",
                            "search": {"low": 0.2, "high": 0.4}})
    cfg = _config(tmp_path, edit)
    out = tmp_path / "out"
    err = _bad(cli, ["calibrate", cfg, "--out", out], out, "does not read", "graphite-2023", file=cfg)
    assert "antimony-2024" not in err.split("does not read")[0].splitlines()[-1]   # antimony's scenario reads it


def test_episode_with_fewer_observations_than_its_parameters(cli, tmp_path):
    def edit(d):   # five per-episode terms; the graphite episode has four fitted observations
        extra = [("licence.decision_cv", 0.05, 1.5), ("licence.basis_smoothing_days", 7, 90),
                 ("controls.diversion", 0.05, 0.95)]
        d["per_episode"] += [{"id": f"calibrated.test.{pid.split('.')[-1]}", "name": pid, "unit": "day" if "days" in pid
                              else "dimensionless", "calibrates": pid, "transform": "log",
                              "search": {"low": lo, "high": hi}, "plausible": {"low": lo, "high": hi, "why": "test"}}
                             for pid, lo, hi in extra]
        dec = next(q for q in d["shared"] if q["id"].endswith("licence_decision_days"))
        d["shared"].remove(dec)
        d["per_episode"].insert(0, dec)
    cfg = _config(tmp_path, edit)
    out = tmp_path / "out"
    _bad(cli, ["calibrate", cfg, "--out", out], out, "graphite-2023 has 4 fitted observations, fewer than its own 5",
         file=cfg)


@pytest.mark.parametrize("how", ["unordered", "overlapping"])
def test_overlapping_or_unordered_periods(cli, tmp_path, how):
    def edit(d):
        obs = d["observations"]
        if how == "unordered":
            obs[2], obs[3] = obs[3], obs[2]
        else:
            obs[1]["period"] = "2023-10/2023-11"
    tgt = _target(tmp_path, "cn-graphite-exports-2023.yaml", edit)
    cfg = _config(tmp_path, targets={"graphite-2023": tgt})
    out = tmp_path / "out"
    _bad(cli, ["calibrate", cfg, "--out", out], out, "period", file=tgt)


def test_zero_where_the_series_unit_forbids_it(cli, tmp_path):
    def edit(d):   # a price series cannot be zero, even when flagged
        d["series"]["unit"] = "USD/kWh"
        for o in d["observations"]:
            o["unit"] = "USD/kWh"
        d["observations"][2].update(value=0, zero=True)
    tgt = _target(tmp_path, "cn-graphite-exports-2023.yaml", edit)
    cfg = _config(tmp_path, targets={"graphite-2023": tgt})
    out = tmp_path / "out"
    _bad(cli, ["calibrate", cfg, "--out", out], out, "a zero is not a possible value of a series in 'USD/kWh'", file=tgt)


def test_quote_not_in_its_source(cli, tmp_path):
    def edit(d):
        d["observations"][3]["quote"] = "exports of natural graphite rose to a record in January"
    tgt = _target(tmp_path, "cn-graphite-exports-2023.yaml", edit)
    cfg = _config(tmp_path, targets={"graphite-2023": tgt})
    out = tmp_path / "out"
    _bad(cli, ["backtest", cfg, "--out", out], out, "quote", file=tgt)


def test_one_episode_is_not_a_joint_fit(cli, tmp_path):
    cfg = _config(tmp_path, lambda d: d.update(episodes=d["episodes"][:1]))
    out = tmp_path / "out"
    _bad(cli, ["calibrate", cfg, "--out", out], out, "at least 2 episodes", file=cfg)


def test_identity_transform_refused_for_a_population(cli, tmp_path):
    cfg = _config(tmp_path, lambda d: d["per_episode"][0].update(transform="identity"))
    out = tmp_path / "out"
    _bad(cli, ["calibrate", cfg, "--out", out], out, "needs transform log or logit", file=cfg)


def test_no_degrees_of_freedom_is_refused(tmp_path):
    """Too many per-episode terms leave the joint fit (and the graphite episode) without degrees of freedom."""
    from sim.calibrate.episodes import load_config
    from sim.calibrate.joint import build_models, check_dof
    from sim.core.errors import BadInput

    def edit(d):   # four per-episode terms: 2 shared + 3x4 + 2x4 + 1 = 23 quantities for 19 observations
        for pid in ("licence.decision_cv", "licence.basis_smoothing_days", "controls.diversion"):
            d["per_episode"].append({"id": f"calibrated.test.{pid.split('.')[-1]}", "name": pid,
                                     "unit": "day" if "days" in pid else "dimensionless", "calibrates": pid,
                                     "transform": "log", "search": {"low": 0.05, "high": 90 if "days" in pid else 0.95},
                                     "plausible": {"low": 0.05, "high": 90 if "days" in pid else 0.95, "why": "test"}})
    cfg = load_config(_config(tmp_path, edit))
    with pytest.raises(BadInput) as exc:
        check_dof(cfg, build_models(cfg))
    assert "degrees of freedom" in str(exc.value)


def test_force_is_refused_for_a_joint_config(cli, tmp_path):
    out = tmp_path / "out"
    _bad(cli, ["calibrate", CONFIG, "--force", "--out", out], out, "--force does not apply", file=CONFIG)


def test_cli_help(cli):
    code, out, _ = cli("backtest", "--help")
    assert code == 0
    for key in ("rmse_log_out_of_sample", "collapse_month_error", "inside_band_90", "--format"):
        assert key in out
    code, out, _ = cli("calibrate", "--help")
    assert code == 0 and "episodes.yaml" in out


def test_a_leave_one_out_fit_without_degrees_of_freedom_is_refused_before_fitting(cli, tmp_path):
    """Decision time per episode as well: leaving out the magnets leaves 10 observations for 11 quantities."""
    def edit(d):
        dec = next(q for q in d["shared"] if q["id"].endswith("licence_decision_days"))
        d["shared"].remove(dec)
        d["per_episode"].insert(0, dec)
    cfg = _config(tmp_path, edit)
    out = tmp_path / "out"
    _bad(cli, ["backtest", cfg, "--out", out], out, "degrees of freedom", file=cfg)

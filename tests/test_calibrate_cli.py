"""`batsim calibrate` on the shipped targets: the committed registry entries are what a fresh run
gives, the reports and plots are written, and the calibrated 2025 scenario uses the fitted ids."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import sim

REPO = Path(__file__).resolve().parents[1]
TARGETS = REPO / "calibration" / "targets"


@pytest.fixture
def copy(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "calibration", root / "calibration")
    shutil.copytree(REPO / "scenarios", root / "scenarios")
    monkeypatch.setenv("BATSIM_CALIBRATION", str(root / "calibration"))
    monkeypatch.chdir(root)
    return root


def _entries(path: Path) -> dict:
    return {e["id"]: e for e in yaml.safe_load(path.read_text(encoding="utf-8"))["parameters"]}


def _check_reproduces(copy: Path, target: str, extra: list[str], cli) -> str:
    shipped = _entries(REPO / "calibration" / "parameters" / "calibrated.yaml")
    code, out, err = cli("calibrate", f"calibration/targets/{target}", "--out", copy / "out", *extra)
    assert code == 0, err
    fresh = _entries(copy / "calibration" / "parameters" / "calibrated.yaml")
    mine = [k for k, e in fresh.items() if e["calibration"]["target"] == target]
    assert mine and set(mine) <= set(shipped)
    for k in mine:
        assert fresh[k]["value"] == pytest.approx(shipped[k]["value"], rel=1e-3, abs=1e-6), k
        assert fresh[k]["range"]["low"] == pytest.approx(shipped[k]["range"]["low"], rel=1e-2, abs=1e-6), k
        assert fresh[k]["range"]["high"] == pytest.approx(shipped[k]["range"]["high"], rel=1e-2, abs=1e-6), k
    tid = target.removesuffix(".yaml")
    folder = copy / "out" / "calibration" / tid
    for f in ("report.txt", "fit.json", "plots/observed_vs_fitted.png", "plots/profiles.png"):
        assert (folder / f).is_file(), f
    return out


def test_pack_price_target_from_the_cli_reproduces_the_committed_registry(copy, cli):
    out = _check_reproduces(copy, "battery-pack-price-bnef.yaml", [], cli)
    assert "calibrated.pack_price.learning_rate" in out
    assert "backtest    held out 2023, 2024" in out
    assert "a123.breakeven_capacity_multiple" in out and "tension" in out


def test_no_shipped_calibrated_entry_was_forced_or_fitted_without_degrees_of_freedom():
    """Issue 9: '--force is not the answer for shipped results', and every fitted quantity needs
    degrees of freedom. The single-episode graphite fit (four terms on four months, decision time at
    0 days against its plausible 1-63) was retired for the joint fit of calibration/episodes.yaml."""
    shipped = _entries(REPO / "calibration" / "parameters" / "calibrated.yaml")
    assert shipped
    for k, e in shipped.items():
        cal = e["calibration"]
        assert "forced" not in cal and "--force" not in cal["command"], k
        dof = cal["fit"]["dof"]
        assert (dof["joint"] if isinstance(dof, dict) else dof) > 0, k
        if isinstance(dof, dict):
            assert min(dof["per_episode"].values()) > 0, k
        pl = cal["plausible"]                            # [low, high] (joint fit) or {low, high, from}
        lo, hi = (pl["low"], pl["high"]) if isinstance(pl, dict) else pl
        assert lo <= e["value"] <= hi, k


@pytest.mark.slow
def test_the_single_graphite_target_alone_is_refused_and_writes_nothing(copy, cli):
    """Fitted alone, the 2023 graphite episode has no degrees of freedom and wants a decision time
    outside its plausible range: calibrate says so, exits 2 and leaves the registry as it was (the
    report is still written, for a reviewer to read)."""
    reg = copy / "calibration" / "parameters" / "calibrated.yaml"
    before = reg.read_text(encoding="utf-8")
    code, out, err = cli("calibrate", "calibration/targets/cn-graphite-exports-2023.yaml", "--out", copy / "out")
    assert code == 2, err
    assert "calibrated.cn_2023.licence_decision_days" in err and "outside its plausible range [1, 63]" in err
    assert reg.read_text(encoding="utf-8") == before
    assert (copy / "out" / "calibration" / "cn-graphite-exports-2023" / "report.txt").is_file()


def test_the_main_2025_scenario_uses_the_fitted_licence_regime(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)
    scn = sim.load_scenario(REPO / "scenarios" / "graphite-controls-2025.yaml")
    q = {p.rsplit(".", 1)[-1]: x for p, x in scn.quantities.items() if p.startswith("policies.export_controls.0.")}
    assert q["approval"].pid == "calibrated.episodes.licence_approval_share"     # the fitted population
    assert q["decision_days"].pid == "calibrated.episodes.licence_decision_days"
    assert q["front_running"].pid == "calibrated.episodes.front_running"
    assert q["diversion"].pid == "controls.diversion"            # everything else as the shipped scenario
    reg = scn.registry
    for k in ("approval", "decision_days", "front_running"):
        p = reg[q[k].pid]
        assert p.kind == "calibrated"
        assert p.calibration["target"] == "episodes.yaml"                  # the joint fit of several episodes
        assert (REPO / "calibration" / p.calibration["target"]).is_file()
        assert any(s.endswith("cn-graphite-licensing-2023.yaml") for s in p.calibration["scenario"])
    # the fitted regime (approval 0.84, fast decisions) loses no more output than the assumed one
    base = sim.load_scenario(REPO / "scenarios" / "graphite-controls-2025-strict.yaml")
    fitted = sim.run(scn).kpis["cell_output_shortfall_gwh"][0]
    assumed = sim.run(base).kpis["cell_output_shortfall_gwh"][0]
    assert fitted <= assumed

"""The new mechanism reduces to the old one: zero spread, constant capacity, pre-control basis, one phase.

Every shipped scenario and the calibration scenario is run as written (the old control form, which
compiles to phases) and as a twin that states the same control as explicit dated phases with the
new terms set to their neutral values (decision_cv 0, capacity_share_final = capacity_share,
capacity_basis pre_control); the trajectories agree within 1e-12 relative.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from conftest import ROOT, SCENARIOS
from sim.scenario.compile import resolve
from sim.stockflow.engine import simulate

FILES = sorted(SCENARIOS.glob("*.yaml")) + [ROOT / "calibration" / "scenarios" / "cn-graphite-licensing-2023.yaml"]
NEUTRAL = {"decision_cv": {"lever": 0.0, "unit": "dimensionless", "why": "neutral: a fixed delay"},
           "capacity_tau_days": {"lever": 30.0, "unit": "day", "why": "neutral: the final share equals the initial"},
           "capacity_basis": "pre_control"}


def _q(v):
    return dict(v) if isinstance(v, dict) else v


def _phased(c: dict, nominal) -> dict:
    """The old-form control ``c`` as explicit phases, with the new licence terms at neutral values.

    ``nominal(key)`` is the nominal date of one of its dates ('effective', 'suspensions.0.start', ..):
    pieces that are empty at nominal values (a suspension that starts before the effective date)
    are left out, as the validation of phases requires.
    """
    out = {k: _q(v) for k, v in c.items() if k not in ("regime", "effective", "ends", "suspensions", "licence")}
    out["id"] = c["id"] + "-phased"
    lic = {k: _q(v) for k, v in (c.get("licence") or {}).items()}
    if lic:
        for k, v in {**NEUTRAL, "capacity_share_final": lic["capacity_share"]}.items():
            lic.setdefault(k, v)          # terms the scenario states stay as stated (the twin has the same)
        out["licence"] = lic
    start, t0, phases = _q(c["effective"]), nominal("effective"), []
    for j, w in enumerate(c.get("suspensions") or []):   # binding until the suspension, none in it, binding after
        if nominal(f"suspensions.{j}.start") > t0:
            phases.append({"regime": c["regime"], "start": start, "end": _q(w["start"])})
        phases.append({"regime": "none", "start": _q(w["start"]), "end": _q(w["end"])})
        start, t0 = _q(w["end"]), nominal(f"suspensions.{j}.end")
    last = {"regime": c["regime"], "start": start}
    if "ends" in c:
        last["end"] = _q(c["ends"])
    out["phases"] = phases + [last]
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_old_form_and_its_explicit_phases_give_the_same_trajectory(tmp_path: Path, path: Path):
    scn = sim.load_scenario(path)
    all_controls = (scn.data.get("policies") or {}).get("export_controls") or []
    controls = [(i, c) for i, c in enumerate(all_controls) if c.get("regime", "none") != "none"]
    if not controls:
        pytest.skip(f"{path.name} has no export control")

    def nominal(i):
        return lambda key: scn.quantities[f"policies.export_controls.{i}.{key}"].param.value

    base = str(path)
    if path.parent != SCENARIOS:          # a base is read from the scenario's own folder (or the shipped ones)
        shutil.copyfile(path, tmp_path / path.name)
        base = path.name
    twin = {"extends": base, "id": scn.id,          # the same id: levers keep their random streams
            "policies": {"export_controls": [{"id": c["id"], "remove": True} for _, c in controls] +
                         [_phased(c, nominal(i)) for i, c in controls]}}
    p = tmp_path / "twin.yaml"
    p.write_text(yaml.safe_dump(twin, sort_keys=False), encoding="utf-8")
    other = sim.load_scenario(p)
    assert other.data["policies"]["export_controls"][-1]["phases"]
    # the control's dates stay at their nominal values (the twin's pieces are cut at those); the rest is sampled
    dates = {q.pid: q.param.value for path, q in scn.quantities.items()
             if path.startswith("policies.export_controls.") and q.source == "param" and q.spec.unit == "date"}
    for samples, seed in ((1, 0), (4, 7)):
        a = simulate(scn, resolve(scn, samples=samples, seed=seed, given=dates))
        used = other.inputs()
        b = simulate(other, resolve(other, samples=samples, seed=seed, given={k: v for k, v in dates.items() if k in used}))
        for key, x in a.series.items():
            if isinstance(x, np.ndarray):
                np.testing.assert_allclose(b.series[key], x, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(x).max())),
                                           err_msg=key)
        # the shock day is the first binding phase's start: the old form's effective date, unless the
        # twin had to drop an empty binding piece (a suspension from before the effective date)
        if all(c["phases"][0]["regime"] != "none" for c in other.data["policies"]["export_controls"]):
            np.testing.assert_array_equal(a.shock_day, b.shock_day)

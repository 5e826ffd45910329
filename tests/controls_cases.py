"""Scenario builders shared by the export-control tests: variants of the calibration scenario."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np

import sim
from conftest import ROOT
from sim.scenario.compile import resolve
from sim.stockflow.engine import Trajectory, simulate

CALIB = ROOT / "calibration" / "scenarios" / "cn-graphite-licensing-2023.yaml"


def lever(v: object, unit: str = "dimensionless") -> str:
    """A quantity as YAML flow text."""
    return f"{{lever: {v}, unit: {unit}, why: test}}"


def licence(cap: float = 0.3, approval: float = 1.0, days: float = 28, **extra: object) -> str:
    """A licence: block (flow style); extra keys are quantities, except capacity_basis."""
    parts = [f"capacity_share: {lever(cap)}", f"approval: {lever(approval)}", f"decision_days: {lever(days, 'day')}"]
    for k, v in extra.items():
        unit = "day" if k.endswith("_days") else "dimensionless"
        parts.append(f"{k}: {v}" if k == "capacity_basis" else f"{k}: {lever(v, unit)}")
    return "{" + ", ".join(parts) + "}"


def control(body: str, front_running: float = 0.0, diversion: float = 0.0) -> str:
    """A control on CN graphite replacing the calibration scenario's, with ``body`` (indented 6)."""
    return ("policies:\n  export_controls:\n    - {id: cn-graphite-2023, remove: true}\n"
            "    - id: test-control\n      origin: CN\n      material: graphite\n"
            f"      front_running: {lever(front_running)}\n      diversion: {lever(diversion)}\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "      ") + "\n")


def write(tmp_path: Path, name: str, *parts: str) -> Path:
    """Write a scenario extending the calibration scenario with ``parts``; returns its path."""
    base = tmp_path / CALIB.name          # a base is read from the scenario's own folder (or the shipped ones)
    if not base.exists():
        shutil.copyfile(CALIB, base)
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"extends: {CALIB.name}\nid: {name}\n" + "".join(parts), encoding="utf-8")
    return p


def run(path: Path, samples: int = 1, seed: int = 0) -> Trajectory:
    """The stock-flow trajectory of a scenario file."""
    scn = sim.load_scenario(path)
    return simulate(scn, resolve(scn, samples=samples, seed=seed))


def exports(tr: Trajectory) -> np.ndarray:
    """(T,S) what China ships per day: arrivals from CN shifted back by the (one-week) lead time."""
    st = tr.structure
    arr = tr.series["deliveries"][:, :, st.regions.index("CN"), :].sum(axis=2)
    return np.vstack([arr[7:], np.zeros((7, arr.shape[1]))])


def destinations(**shares: float) -> str:
    """A top-level destinations: split of the importer's demand."""
    return "destinations:\n" + "".join(f"  {k}: {{share: {lever(v)}}}\n" for k, v in shares.items())

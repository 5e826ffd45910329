"""Market test scenarios: the two-importer fixture (tests/market/) and variants written on the fly."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import sim
from conftest import ROOT
from sim.scenario.compile import resolve
from sim.stockflow.market import MarketModel

FIXTURE = ROOT / "tests" / "market" / "two-importers.yaml"


def lever(v: object, unit: str = "dimensionless") -> str:
    """A quantity as YAML flow text (a test's what-if value)."""
    return f"{{lever: {v}, unit: {unit}, why: test}}"


def write(tmp_path: Path, name: str, text: str, base: Path = FIXTURE) -> Path:
    """A scenario extending ``base`` (a shipped one by name, else copied beside it) with ``text``."""
    if base.parent == ROOT / "scenarios":
        ext = base.stem
    else:
        ext = base.name
        if not (tmp_path / base.name).exists():
            shutil.copyfile(base, tmp_path / base.name)
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"extends: {ext}\nid: {name}\n" + text, encoding="utf-8")
    return p


def run(path: Path, samples: int = 1, seed: int = 0, record: str = "full") -> MarketModel:
    """The market model of a scenario file, after its run (``mm.result`` holds the MarketTrajectory)."""
    scn = sim.load_scenario(path)
    mm = MarketModel(scn, resolve(scn, samples=samples, seed=seed))
    mm.result = mm.run(record=record)
    return mm


def global_balance(mm: MarketModel) -> np.ndarray:
    """(S,M) relative imbalance of: in transit at start + shipped = received + in transit at end + lost."""
    out = 0.0
    scale = 1.0
    for r in mm.runs:
        received = r.rec_arr_m.sum(axis=0)
        out = out + (r.transit0 + r.shipped_cum) - (received + r.in_transit_total() + r.lost_cum)
        scale = max(scale, float(r.shipped_cum.max()))
    return np.abs(out) / scale

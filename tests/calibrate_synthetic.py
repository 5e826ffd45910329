"""Synthetic episodes for the joint-calibration tests: the graphite calibration scenario, known values."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np

from sim.calibrate.episodes import EpisodeConfig, EpisodeRef, JointParam
from sim.calibrate.periods import parse_period
from sim.calibrate.targets import FitParam, load_target
from sim.core.yamlio import load_text
from sim.provenance.registry import find_calibration, load_registry

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "calibration" / "targets" / "cn-graphite-exports-2023.yaml"
MONTHS = [f"{y}-{m:02d}" for y, m in [(2023, 11), (2023, 12)] + [(2024, k) for k in range(1, 11)]]


def params() -> list[JointParam]:
    """Front-running shared; mean decision time and approval share per episode."""
    return [
        JointParam(FitParam("calibrated.synthetic.front_running", "front-running", "dimensionless", 0.0, 4.0,
                            (0.0, 2.0), "test", "controls.front_running"), "identity", False),
        JointParam(FitParam("calibrated.synthetic.decision", "decision", "day", 1.0, 120.0, (1.0, 63.0), "test",
                            "licence.decision_days_calendar", step=2.0), "log", True),
        JointParam(FitParam("calibrated.synthetic.approval", "approval", "dimensionless", 0.02, 0.98,
                            (0.02, 0.98), "test", "licence.approval_share_2024"), "logit", True, beta=1.0),
    ]


def config(refs: list[EpisodeRef], ps: list[JointParam], **kw) -> EpisodeConfig:
    root = find_calibration(TARGET.parent)
    reg = load_registry(start=TARGET.parent)
    loc = load_text("id: synthetic\n", "synthetic.yaml")
    settings = dict(seed=7, population=256, outer=4, inner=6, predictive_samples=200)
    settings.update(kw)
    return EpisodeConfig(path=Path("synthetic.yaml"), id="synthetic", title="synthetic", description="",
                         episodes=refs, held_out=[], params=ps, located=loc, registry=reg, root=root, **settings)


def synthetic_episodes(truth: np.ndarray, noise: float, seed: int, ps: list[JointParam]) -> list[EpisodeRef]:
    """Episodes whose observations are the engine's own predictions at ``truth`` (E, p) times log-normal noise."""
    from sim.calibrate.stockflow import StockflowTarget

    reg = load_registry(start=TARGET.parent)
    base = load_target(TARGET, reg)
    anchor = base.observations[0]
    obs = [anchor] + [dataclasses.replace(anchor, period=parse_period(m, "month"), statistic="value", value=1.0)
                      for m in MONTHS]
    t = copy.copy(base)
    t.observations = obs
    sf = StockflowTarget(t, reg)
    pred = sf.per_unit(sf.flows(truth, names=[q.param.calibrates for q in ps]))       # (n_obs, E)
    rng = np.random.default_rng(seed)
    refs = []
    for e in range(len(truth)):
        te = copy.copy(t)
        vals = pred[:, e] * np.exp(noise * rng.standard_normal(len(obs)))
        vals[0] = 1.0
        te.observations = [dataclasses.replace(o, value=float(v) * anchor.value) for o, v in zip(obs, vals)]
        te.id = f"synthetic-{e}"
        refs.append(EpisodeRef(te.id, te, ("episodes", e)))
    return refs

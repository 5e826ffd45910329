"""Helpers to verify the DES against the stock-flow engine (used by tests and bench/bench_des.py).

``deterministic_variant`` writes a scenario that extends a given one with every DES delay fixed
(no spread in transit, review or decision times, no commissioning slip, no batch-yield scatter)
and a chosen resolution (lots per step); ``agreement`` measures how far a DES trajectory is from
the stock-flow trajectory of the same scenario.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..stockflow.engine import Trajectory


def _lever(v: float, unit: str) -> str:
    return f"{{lever: {v!r}, unit: {unit}, why: verification against the stock-flow engine, what_if: true}}"


def deterministic_variant(base: str | Path, lots_per_step: float, scenario_id: str = "des-deterministic",
                          extra: str = "") -> str:
    """YAML text of a scenario extending ``base`` with fixed DES delays and ``lots_per_step`` lots."""
    return (f"extends: {Path(base).resolve()}\n"
            f"id: {scenario_id}\n"
            f"des:\n"
            f"  lots_per_step: {_lever(float(lots_per_step), 'dimensionless')}\n"
            f"  lead_time: {{shape: fixed, cv: {_lever(0.0, 'dimensionless')}}}\n"
            f"  licence: {{service_shape: fixed, service_cv: {_lever(0.0, 'dimensionless')}, "
            f"decision_shape: fixed, decision_cv: {_lever(0.0, 'dimensionless')}}}\n"
            f"  commissioning: {{slip_mean: {_lever(0.0, 'day')}}}\n"
            f"  batch_yield_sd: {_lever(0.0, 'dimensionless')}\n" + extra)


def licence_terms(control_id: str, capacity_share: float = 0.5, approval: float = 0.6, decision_days: float = 63.0,
                  front_running: float = 1.0) -> str:
    """YAML text fixing a licence control's terms as levers (so a verification does not move when
    the registry values behind a scenario are recalibrated)."""
    return (f"policies:\n  export_controls:\n    - id: {control_id}\n"
            f"      front_running: {_lever(float(front_running), 'dimensionless')}\n"
            f"      licence:\n"
            f"        capacity_share: {_lever(float(capacity_share), 'dimensionless')}\n"
            f"        approval: {_lever(float(approval), 'dimensionless')}\n"
            f"        decision_days: {_lever(float(decision_days), 'day')}\n"
            f"        decision_cv: {_lever(0.0, 'dimensionless')}\n"      # a fixed delay, pre-control basis:
            f"        capacity_basis: pre_control\n")                      # as verified before the phased mechanism


def agreement(des: Trajectory, sf: Trajectory) -> dict[str, np.ndarray]:
    """Per replication: errors of the DES against the stock-flow trajectory (sample 0).

    - ``output_max``: largest one-step cell-output difference / peak planned output;
    - ``output_rms``: root-mean-square of the same over the run;
    - ``output_cum``: largest gap of cumulative output / total planned output;
    - ``backlog_max``: largest licence-backlog difference / peak stock-flow backlog (0 without licences).
    """
    a, b = des.series, sf.series
    ref = b["cell_output"][:, :1]
    planned = b["planned_output"][:, 0]
    diff = a["cell_output"] - ref
    out = {"output_max": np.abs(diff).max(axis=0) / planned.max(),
           "output_rms": np.sqrt((diff ** 2).mean(axis=0)) / planned.max(),
           "output_cum": np.abs(np.cumsum(diff * des.dt_days[:, None], axis=0)).max(axis=0) /
           (planned * des.dt_days).sum()}
    blr = b["licence_backlog"][:, :1].sum(axis=2)
    bl = a["licence_backlog"].sum(axis=2)
    peak = float(blr.max())
    out["backlog_max"] = np.abs(bl - blr).max(axis=0) / peak if peak > 0 else np.zeros(bl.shape[1])
    return out

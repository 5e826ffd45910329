"""The discrete-event engine's own settings: from the scenario's ``des:`` section, else the registry.

Every numeric setting is a quantity with provenance. A scenario may state it under ``des:`` (slot
``des.<path>``, checked for unit and bounds when the scenario is compiled); when it does not, the
registry entry with the same id (``calibration/parameters/des.yaml``) gives the value. Checks that
bounds alone cannot make (a uniform delay that would go negative, a fractional number of
reviewers, a lot size for an unknown material) raise BadInput located at the offending key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import units
from ..core.errors import BadInput, Problem
from ..scenario.compile import Resolved, Scenario
from ..scenario.slots import spec_for
from .streams import impossible

NUMERIC = ("des.lots_per_step", "des.lead_time.cv", "des.licence.servers", "des.licence.service_cv",
           "des.licence.decision_cv", "des.commissioning.slip_mean", "des.commissioning.slip_cv",
           "des.batch_yield_sd")
SHAPES = {"lead": ("lead_time", "shape"), "service": ("licence", "service_shape"),
          "decision": ("licence", "decision_shape"), "slip": ("commissioning", "shape")}
DEFAULT_SHAPE = "gamma"


@dataclass
class Settings:
    """DES settings of one sample (engine units: t, days, dimensionless)."""

    lot_size: dict[str, float]           # explicit lot sizes by material (others default from the flow)
    lots_per_step: float
    lead_shape: str
    lead_cv: float
    servers: int
    service_shape: str
    service_cv: float
    decision_shape: str
    decision_cv: float
    slip_shape: str
    slip_mean: float
    slip_cv: float
    yield_sd: float
    sources: dict[str, str] = field(default_factory=dict)   # setting -> 'scenario' | registry id


def _registry_value(scn: Scenario, pid: str) -> float:
    p = scn.registry[pid]
    spec = spec_for(pid)
    assert spec is not None, pid
    return float(p.value) * units.factor(p.unit, spec.unit)


def read_settings(scn: Scenario, res: Resolved) -> list[Settings]:
    """Per-sample DES settings; BadInput (FILE:LINE:COL) for settings that cannot be simulated."""
    d = scn.data.get("des") or {}
    doc = scn.doc
    problems: list[Problem] = []
    values: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    for path in NUMERIC:
        if path in res.slots:
            values[path] = res.slots[path]
            sources[path] = scn.quantities[path].pid
        else:
            if path not in scn.registry:
                problems.append(Problem(doc.main_file, 1, 1, f"registry entry '{path}' is missing",
                                        "calibration/parameters/des.yaml defines the DES defaults"))
                continue
            values[path] = np.full(res.samples, _registry_value(scn, path))
            sources[path] = f"{path} (registry default)"
    shapes = {}
    for key, (sec, name) in SHAPES.items():
        shapes[key] = str((d.get(sec) or {}).get(name, DEFAULT_SHAPE))
    lot: dict[str, np.ndarray] = {}
    for m in (d.get("lot_size") or {}):
        if m not in scn.data["materials"]:
            problems.append(doc.problem(("des", "lot_size", m), f"unknown material '{m}'",
                                        "known: " + ", ".join(scn.data["materials"])))
            continue
        lot[m] = res.slots[f"des.lot_size.{m}"]
        sources[f"des.lot_size.{m}"] = scn.quantities[f"des.lot_size.{m}"].pid
    if problems:
        raise BadInput(problems)
    for key, cv_path in (("lead", "des.lead_time.cv"), ("service", "des.licence.service_cv"),
                         ("decision", "des.licence.decision_cv"), ("slip", "des.commissioning.slip_cv")):
        bad = {impossible(shapes[key], float(v)) for v in np.unique(values[cv_path])} - {""}
        if bad:
            where = tuple(_split(cv_path)) if cv_path in res.slots else ("des",) + SHAPES[key]
            problems.append(doc.problem(where, f"impossible delay distribution: {sorted(bad)[0]}",
                                        f"lower {cv_path} or choose shape gamma or lognormal"))
    servers = values["des.licence.servers"]
    if np.any(np.abs(servers - np.rint(servers)) > 1e-9):
        where = tuple(_split("des.licence.servers")) if "des.licence.servers" in res.slots else ("des",)
        problems.append(doc.problem(where, f"des.licence.servers must be a whole number (got {servers[0]:g})",
                                    "it counts applications reviewed in parallel"))
    if problems:
        raise BadInput(problems)
    out = []
    for i in range(res.samples):
        out.append(Settings(
            lot_size={m: float(v[i]) for m, v in lot.items()},
            lots_per_step=float(values["des.lots_per_step"][i]),
            lead_shape=shapes["lead"], lead_cv=float(values["des.lead_time.cv"][i]),
            servers=int(round(float(servers[i]))),
            service_shape=shapes["service"], service_cv=float(values["des.licence.service_cv"][i]),
            decision_shape=shapes["decision"], decision_cv=float(values["des.licence.decision_cv"][i]),
            slip_shape=shapes["slip"], slip_mean=float(values["des.commissioning.slip_mean"][i]),
            slip_cv=float(values["des.commissioning.slip_cv"][i]),
            yield_sd=float(values["des.batch_yield_sd"][i]), sources=dict(sources)))
    return out


def _split(path: str) -> list[Any]:
    return [int(x) if x.isdigit() else x for x in path.split(".")]

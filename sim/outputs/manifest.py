"""manifest.json: everything needed to reproduce and audit a run.

Inputs with their sha256 (scenario chain and registry files), every resolved parameter with its
value, unit, kind and citation, the versions of batsim and its numerical stack, seed, engine.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10]
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def parameter_records(scn: Any, by_id: dict[str, np.ndarray] | None = None, sampled: list[str] | None = None) -> list[dict]:
    """One record per parameter the scenario uses: id, value, unit, kind, evidence summary."""
    used_at: dict[str, list[str]] = {}
    for q in scn.quantities.values():
        used_at.setdefault(q.pid, []).append(q.path)
    out = []
    for p in scn.params():
        rec: dict[str, Any] = {"id": p.id, "name": p.name, "value": _jsonable(p.value), "unit": p.unit, "kind": p.kind}
        if p.kind == "derived":
            rec["formula"] = p.formula
            if by_id is not None and p.id in by_id:
                rec["value"] = float(np.median(by_id[p.id]))
        if p.low is not None:
            rec["range"] = [_jsonable(p.low), _jsonable(p.high)]
        if sampled is not None and p.id in sampled:
            rec["sampled"] = p.distribution
        if p.evidence:
            rec["citations"] = [{"source": e.source, "locator": e.locator} for e in p.evidence]
        if p.kind in ("assumption", "lever") and p.rationale:
            rec["rationale"] = p.rationale
        rec["defined_at"] = f"{p.file}:{p.line}"
        if p.id in used_at:
            rec["used_at"] = used_at[p.id]
        out.append(rec)
    return out


def build(result: Any, argv: list[str] | None = None) -> dict[str, Any]:
    """The manifest of a finished run."""
    scn = result.scenario
    reg = scn.registry
    inputs = [{"path": f, "role": "scenario" if i == len(scn.files) - 1 else "extends",
               "sha256": _sha(Path(f))} for i, f in enumerate(scn.files)]
    inputs += [{"path": str(f), "role": "registry", "sha256": _sha(f)} for f in reg.files]
    bib = [f for r in reg.roots for f in sorted((r / "bibliography").glob("*.json"))]
    inputs += [{"path": str(f), "role": "bibliography", "sha256": _sha(f)} for f in bib]
    return {
        "batsim_version": _version("batsim") or "source",
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "scenario": scn.id,
        "engine": result.engine,
        "samples": result.samples,
        "seed": result.seed,
        "importer": getattr(result, "importer", None),
        "importers": list(getattr(result, "importers", None) or []),
        "calendar": {"start": scn.calendar.start.isoformat(), "end": scn.calendar.end.isoformat(),
                     "step": scn.calendar.step, "steps": scn.calendar.n},
        "command": argv,
        "inputs": inputs,
        "parameters": parameter_records(scn, result.resolved.by_id, result.resolved.sampled),
        "versions": {"python": sys.version.split()[0], "platform": platform.platform(),
                     **{k: _version(k) for k in ("numpy", "scipy", "simpy", "pandas", "matplotlib", "pyyaml",
                                                "pint", "jsonschema")}},
        "checks": {"mass_balance_max_error_t": result.trajectory.mass_error_max},
    }

"""`batsim report`: gather what a reviewer needs from a run or sweep folder into one report.

The question, KPIs with bands, the plots, the top drivers of each headline KPI (the sweep's own
indices for a sweep folder; a quick local sensitivity otherwise), each cited claim beside the
model's figure, every parameter with kind and citation, the assumptions, the bibliography, and
the manifest's versions and hashes. :mod:`report_html` renders it as one self-contained file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import bad

HEADLINE = ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout", "recovery_date",
            "jobs_at_risk_peak", "sic_anode_share_end")


@dataclass
class Report:
    """Everything the HTML shows, as plain data."""

    folder: Path
    kind: str                                   # 'run' | 'sweep'
    summary: dict[str, Any]
    manifest: dict[str, Any]
    title: str = ""
    description: str = ""
    kpis: list[dict[str, Any]] = field(default_factory=list)
    drivers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    drivers_note: str = ""
    plots: list[Path] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    bibliography: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad(str(path.parent), f"'{path.parent}' has no {path.name}: it is not a finished run or sweep folder",
                  "give a folder written by 'batsim run' or 'batsim sweep'") from None
    except json.JSONDecodeError as exc:
        raise bad(str(path), f"{path.name} is not valid JSON: {exc.msg}", "rerun the run or sweep that wrote it",
                  line=exc.lineno, col=exc.colno) from None


def input_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Input files with role and sha256: a run's manifest 'inputs', a sweep's 'scenario.files'."""
    if manifest.get("inputs"):
        return list(manifest["inputs"])
    sc = manifest.get("scenario")
    return list(sc.get("files", [])) if isinstance(sc, dict) else []


def seed_of(manifest: dict[str, Any]) -> Any:
    """The seed a run or sweep was made with."""
    s = manifest.get("seed")
    return s.get("seed") if isinstance(s, dict) else s


def _scenario(manifest: dict[str, Any], folder: Path) -> Any:
    """The scenario that made the folder, loaded from the path in its manifest (None if gone)."""
    import sim

    paths = [i["path"] for i in input_files(manifest) if i.get("role") == "scenario"][-1:]  # the last extends the rest
    for p in paths:
        for cand in (Path(p), folder / p, Path.cwd() / p):
            if cand.is_file():
                return sim.load_scenario(cand)
    return None


def _kpi_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    units = summary.get("units", {})
    q = summary.get("quantiles") or {}
    rows = []
    for k, u in units.items():
        band = q.get(k) or {}
        rows.append({"kpi": k, "unit": u, "value": summary.get(k), "p05": band.get("p05"), "p95": band.get("p95"),
                     "defined_in": band.get("defined_in"), "headline": k in HEADLINE})
    return rows


def _parquet_stats(path: Path, rows: list[dict[str, Any]]) -> None:
    """Add mean and P(KPI > 0) to ``rows`` from a run's kpis.parquet (one row per sample)."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for r in rows:
        if r["kpi"] not in table.column_names or r["unit"] == "date":
            continue
        a = np.asarray(table.column(r["kpi"]).to_numpy(zero_copy_only=False), dtype=float)
        good = a[np.isfinite(a)]
        r["mean"] = float(good.mean()) if good.size else None
        r["p_positive"] = float(np.mean(np.nan_to_num(a, nan=0.0) > 0))


def _sweep_kpis(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, st in (summary.get("kpis") or {}).items():
        st = st or {}
        rows.append({"kpi": k, "unit": (summary.get("kpi_units") or {}).get(k, ""),
                     "value": st.get("p50"), "p05": st.get("p05"), "p95": st.get("p95"),
                     "defined_in": st["defined"] / st["n"] if st.get("n") else None, "headline": k in HEADLINE})
    return rows


def _local_drivers(scn: Any) -> tuple[dict[str, list[dict[str, Any]]], str]:
    from .sensitivity import local_sensitivity

    loc = local_sensitivity(scn)
    out = {k: [{"param": d.param, "name": d.name, "effect": f"{_fmt(d.kpi_low)} → {_fmt(d.kpi_high)}",
                "detail": f"{_fmt(d.low, d.unit)} → {_fmt(d.high, d.unit)}"} for d in loc.top(k, 5)]
           for k in HEADLINE}
    note = (f"Local sensitivity of the nominal run: each of the scenario's ranged inputs nudged by ±{loc.step:.0%} of "
            f"its range ({loc.evaluated} samples in one vectorised run). KPI at the lower → upper nudge.")
    return out, note


def _sweep_drivers(summary: dict[str, Any], manifest: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], str]:
    names = {f["id"]: f.get("name") or f["id"] for f in manifest.get("factors", [])}
    out: dict[str, list[dict[str, Any]]] = {}
    for k, rows in (summary.get("top") or {}).items():
        out[k] = [{"param": r["param"], "name": names.get(r["param"], r["param"]),
                   "effect": ", ".join(f"{i} {_fmt(v)}" for i, v in r.items() if i != "param"), "detail": ""}
                  for r in rows]
    return out, f"From this sweep's indices ({summary.get('method')}, {summary.get('evaluations')} evaluations)."


def _fmt(v: Any, unit: str = "") -> str:
    """A number for a table: dates as ISO, persons whole, 4 significant figures otherwise."""
    import datetime as dt
    import math

    if v is None:
        return "—"
    if unit == "date" and isinstance(v, (int, float)):
        return dt.date.fromordinal(int(round(v))).isoformat()
    if isinstance(v, float):
        if not math.isfinite(v):
            return "undefined"
        if unit == "person":
            return f"{v:,.0f}"
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


def _bibliography(manifest: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, str]:
    from ..provenance.bibliography import describe, load_bibliography
    from ..provenance.registry import find_calibration

    cited = {c["source"] for p in params for c in p.get("citations", [])}
    try:
        bib = load_bibliography(find_calibration())
    except Exception:   # the report still shows the ids without the registry at hand
        return {s: s for s in sorted(cited)}
    return {s: (describe(bib.get(s)) if bib.get(s) else s) for s in sorted(cited)}


def build_report(folder: str | Path, drivers: bool = True) -> Report:
    """Read a run or sweep folder into a :class:`Report` (BadInput if it is neither)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise bad(str(folder), f"no such folder '{folder}'", "give a folder written by 'batsim run' or 'batsim sweep'")
    summary = _read_json(folder / "summary.json")
    manifest = _read_json(folder / "manifest.json")
    kind = "sweep" if "method" in summary else "run"
    rep = Report(folder=folder, kind=kind, summary=summary, manifest=manifest)
    scn = _scenario(manifest, folder)
    rep.title = summary.get("title") or (scn.title if scn is not None else str(summary.get("scenario")))
    rep.description = scn.description if scn is not None else ""
    rep.kpis = _kpi_rows(summary) if kind == "run" else _sweep_kpis(summary)
    if kind == "run" and (folder / "kpis.parquet").is_file():
        _parquet_stats(folder / "kpis.parquet", rep.kpis)
    if kind == "sweep":
        rep.drivers, rep.drivers_note = _sweep_drivers(summary, manifest)
    elif drivers and scn is not None:
        rep.drivers, rep.drivers_note = _local_drivers(scn)
    else:
        rep.drivers_note = "Drivers not computed: the scenario file named in manifest.json was not found."
    pdir = folder / "plots"
    order = {"supply_by_origin": 0, "shortfall": 1, "inventory_cover": 2, "sic_share": 3}   # the brief's order
    found = [p for p in pdir.glob("*") if p.suffix in (".png", ".svg")] if pdir.is_dir() else []
    rep.plots = sorted(found, key=lambda p: (order.get(p.stem, 9), not p.stem.endswith(HEADLINE), p.name))
    if kind == "run":
        rep.parameters = list(manifest.get("parameters", []))
    elif scn is not None:
        from ..outputs.manifest import parameter_records

        rep.parameters = parameter_records(scn)
    rep.bibliography = _bibliography(manifest, rep.parameters)
    return rep

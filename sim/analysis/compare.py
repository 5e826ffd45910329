"""Compare scenarios with common random numbers: a KPI table with differences from the first,
a diff of every resolved parameter that differs, and overlay plots of the main series.

Common random numbers come from the engine's design: each parameter id draws from its own
stream seeded by (seed, id), so with one seed the scenarios see the same draws for every
uncertain input they share, and differences are paired sample by sample (their band is the
5-95% of the paired differences, much narrower than the difference of two bands).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..stockflow.kpis import DATE_KPIS, KPI_UNITS


@dataclass
class Comparison:
    """Finished runs of several scenarios (first = reference) and the tables built from them."""

    results: list[Any]
    labels: list[str]
    samples: int
    seed: int

    @property
    def importer(self) -> str:
        """The importer whose KPIs are compared (each result's focus; the same in every scenario)."""
        return ", ".join(dict.fromkeys(str(getattr(r, "importer", "")) for r in self.results))

    def kpi_rows(self) -> list[dict[str, Any]]:
        """One row per scenario and KPI: value (median), p05/p50/p95 and the paired difference from the first."""
        ref = self.results[0]
        rows = []
        for label, res in zip(self.labels, self.results):
            summ = res.summary()
            for k, unit in KPI_UNITS.items():
                a = np.asarray(res.kpis[k], dtype=float)
                row: dict[str, Any] = {"scenario": label, "kpi": k, "unit": unit, "value": summ.get(k)}
                d = a - np.asarray(ref.kpis[k], dtype=float)
                if self.samples > 1:
                    q = (summ.get("quantiles") or {}).get(k) or {}
                    row.update(p05=q.get("p05"), p50=q.get("p50"), p95=q.get("p95"))
                good = d[np.isfinite(d)]
                if good.size == 0 or (good.size * 2 <= d.size and d.size > 1):
                    row["diff_vs_first"] = None
                    if self.samples > 1:
                        row.update(diff_p05=None, diff_p95=None)
                else:
                    row["diff_vs_first"] = round(float(np.median(good)), 6)
                    if self.samples > 1:
                        lo, hi = np.quantile(good, [0.05, 0.95])
                        row.update(diff_p05=round(float(lo), 6), diff_p95=round(float(hi), 6))
                if k in DATE_KPIS:
                    row["unit"] = "date (difference in days)"
                row["importer"] = summ.get("importer")       # last: the earlier columns keep their places
                rows.append(row)
        return rows

    def params_diff(self) -> list[dict[str, Any]]:
        """Every scenario quantity (by path) whose parameter or value differs: value, kind, citation per scenario."""
        paths = sorted({p for r in self.results for p in r.scenario.quantities})
        rows = []
        for path in paths:
            cells = []
            for res in self.results:
                q = res.scenario.quantities.get(path)
                if q is None:
                    cells.append(None)
                    continue
                p = q.param
                cite = "; ".join(f"{e.source} {e.locator}".strip() for e in p.evidence) if p.evidence else ""
                cells.append({"param": q.pid, "value": _iso(p.value), "unit": p.unit, "kind": p.kind,
                              "citation": cite or (p.rationale or "")[:120]})
            # a lever inherited from an extended scenario is '<id>:<path>' in each: compare without the id
            keys = {(c["param"].split(":")[-1], str(c["value"])) if c else None for c in cells}
            if len(keys) > 1:
                row: dict[str, Any] = {"path": path}
                for label, c in zip(self.labels, cells):
                    for f in ("param", "value", "unit", "kind", "citation"):
                        row[f"{label}:{f}"] = "" if c is None else c[f]
                rows.append(row)
        return rows

    def write(self, out: str | Path = "outputs", fmt: str = "png", xlsx: bool = False, plots: bool = True) -> Path:
        """Write ``out/compare-<ids>/``: kpis.csv, params_diff.csv, plots/*, (kpis.xlsx); atomically."""
        from ..outputs.atomic import atomic_dir
        from .compare_plots import write_overlays

        final = Path(out) / folder_name(self.labels)
        kr, pr = self.kpi_rows(), self.params_diff()
        with atomic_dir(final) as tmp:
            (tmp / "kpis.csv").write_text(_csv(kr), encoding="utf-8")
            (tmp / "params_diff.csv").write_text(_csv(pr, first=["path"]), encoding="utf-8")
            if plots:
                write_overlays(self, tmp / "plots", fmt)
            if xlsx:
                from ..outputs.xlsx import csv_table, write_xlsx

                write_xlsx(tmp / "kpis.xlsx", [csv_table("kpis", _csv(kr)), csv_table("params_diff", _csv(pr, ["path"])),
                                               csv_table("timeseries", self.timeseries_csv())])
        return final

    def timeseries_csv(self) -> str:
        """Every scenario's tidy time series with a leading scenario column (ensemble median)."""
        from ..outputs.tables import timeseries_csv

        parts = []
        for i, (label, res) in enumerate(zip(self.labels, self.results)):
            lines = timeseries_csv(res).splitlines()
            if i == 0:
                parts.append("scenario," + lines[0])
            parts += [f"{label},{ln}" for ln in lines[1:]]
        return "\n".join(parts) + "\n"

    def table_text(self) -> str:
        """The headline KPIs per scenario with the difference from the first, as printed by `batsim compare`."""
        heads = ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout", "recovery_date",
                 "jobs_at_risk_peak", "sic_anode_share_end")
        rows = {(r["scenario"], r["kpi"]): r for r in self.kpi_rows()}
        table = [[f"KPI (importer {self.importer})", *self.labels]]
        for k in heads:
            cells = [k]
            for i, lab in enumerate(self.labels):
                r = rows[(lab, k)]
                v = "—" if r["value"] is None else _num(r["value"], r["unit"])
                if i and r["diff_vs_first"] is not None:
                    d = _num(r["diff_vs_first"], r["unit"], "+")
                    if self.samples > 1 and r.get("diff_p05") is not None:
                        d += f" [{_num(r['diff_p05'], r['unit'], '+')}, {_num(r['diff_p95'], r['unit'], '+')}]"
                    v = f"{v} ({d})"
                cells.append(v)
            table.append(cells)
        widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
        return "".join("  " + row[0].ljust(widths[0]) + "".join(f"  {c:>{w}}" for c, w in zip(row[1:], widths[1:]))
                       + "\n" for row in table)


def _num(v: Any, unit: str, sign: str = "") -> str:
    if isinstance(v, str):
        return v
    if unit in ("person", "day") or unit.startswith("date"):
        return f"{v:{sign},.0f}"
    return f"{v:{sign},.1f}" if abs(v) >= 100 else f"{v:{sign}.3g}"


def folder_name(labels: Sequence[str]) -> str:
    """'compare-<id1>-vs-<id2>...' (shortened with a hash past 120 characters)."""
    name = "compare-" + "-vs-".join(labels)
    if len(name) > 120:
        import hashlib

        name = name[:100] + "-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _csv(rows: list[dict[str, Any]], first: list[str] | None = None) -> str:
    cols: list[str] = list(first or [])
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n", restval="")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def labels_for(scenarios: Sequence[Any]) -> list[str]:
    """Scenario ids, made unique (a copy that kept its id gets '#2') so no run hides another."""
    out: list[str] = []
    for s in scenarios:
        lab, n = s.id, 2
        while lab in out:
            lab, n = f"{s.id}#{n}", n + 1
        out.append(lab)
    return out


def compare(scenarios: Sequence[Any], samples: int = 1, seed: int = 0, engine: str = "stockflow",
            importer: str | None = None) -> Comparison:
    """Run each scenario (paths or loaded) with the same seed: common random numbers for shared inputs;
    ``importer`` puts that importing region in focus in every one (default: each scenario's importer)."""
    from ..api import load_scenario, run

    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    scns = [s if hasattr(s, "quantities") else load_scenario(s) for s in scenarios]
    results = [run(s, samples=samples, seed=seed, engine=engine, record="full", importer=importer) for s in scns]
    return Comparison(results=results, labels=labels_for(scns), samples=samples, seed=seed)

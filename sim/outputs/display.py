"""Short text and HTML views of a run for notebooks: a one-line repr and a KPI table."""
from __future__ import annotations

import html
from typing import Any

HEADLINE = ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout")


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def kpi_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per KPI: name, unit, median (the value summary.json gives), and p05/p95 for ensembles."""
    q = summary.get("quantiles") or {}
    rows = []
    for name, unit in (summary.get("units") or {}).items():
        row = {"kpi": name, "unit": unit, "value": summary.get(name)}
        if q:
            b = q.get(name) or {}
            row.update({"p05": b.get("p05"), "p95": b.get("p95")})
        rows.append(row)
    return rows


def short_repr(result: Any) -> str:
    """``<Result graphite-controls-2025: stockflow, 1000 samples, seed 7, 521 week steps; shortfall ...>``."""
    scn = result.scenario
    s = result.summary()
    head = ", ".join(f"{k}={_fmt(s.get(k))}" for k in HEADLINE)
    n = result.samples
    return (f"<{type(result).__name__} {scn.id}: {result.engine}, {n} sample{'s' if n != 1 else ''}, "
            f"seed {result.seed}, {scn.calendar.n} {scn.calendar.step} steps; {head}"
            + (" (medians)" if n > 1 else "") + ">")


def html_table(result: Any) -> str:
    """An HTML table of every KPI (median and 5-95% band for ensembles), titled by the scenario."""
    s = result.summary()
    rows = kpi_rows(s)
    cols = ["kpi", "unit", "value"] + (["p05", "p95"] if s.get("quantiles") else [])
    label = {"value": "median" if result.samples > 1 else "value"}
    e = html.escape
    out = [f"<p><b>{e(result.scenario.id)}</b> — {e(result.scenario.title)}<br>"
           f"engine {e(result.engine)}, {result.samples} sample(s), seed {result.seed}</p>",
           "<table><thead><tr>" + "".join(f"<th>{e(label.get(c, c))}</th>" for c in cols) + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{e(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)

"""Render a :class:`~sim.analysis.report.Report` as one self-contained HTML file.

No scripts, no external styles, fonts or images: plots are embedded (PNG as base64 data URIs,
SVG inline), so the file opens anywhere without a network. Addresses of sources are shown as
text in the bibliography, never as ``src=``/``href=`` targets.
"""
from __future__ import annotations

import base64
import html
import re
from typing import Any

from .report import Report, _fmt, input_files, seed_of

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;
line-height:1.45;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;width:100%;font-size:.86em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.headline td{font-weight:600}
.kind-cited{color:#1e6b34}.kind-assumption{color:#a04000}.kind-calibrated{color:#1f4e8c}.kind-derived{color:#555}
.kind-lever{color:#7d3c98}figure{margin:1em 0}figure img,figure svg{max-width:100%;height:auto}
figcaption{font-size:.8em;color:#555}.note{font-size:.85em;color:#555}code{font-size:.9em}
blockquote{margin:.3em 0 .3em 1em;color:#444;font-style:italic}
"""


def esc(v: Any) -> str:
    """HTML-escaped text of a value (None as a dash)."""
    return html.escape("—" if v is None else str(v))


def _anchor(sid: str) -> str:
    return "bib-" + re.sub(r"[^A-Za-z0-9_.-]", "-", sid)


def _table(head: list[str], rows: list[list[str]], cls: list[str] | None = None, tid: str = "") -> str:
    out = [f'<table{f" id={chr(34)}{tid}{chr(34)}" if tid else ""}><thead><tr>'
           + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, r in enumerate(rows):
        c = f' class="{cls[i]}"' if cls and cls[i] else ""
        out.append(f"<tr{c}>" + "".join(r) + "</tr>")
    return "".join(out) + "</tbody></table>"


def _plot(path: Any) -> str:
    name = esc(path.stem.replace("_", " "))
    if path.suffix == ".svg":
        svg = path.read_text(encoding="utf-8")
        svg = re.sub(r"<\?xml[^>]*>|<!DOCTYPE[^>]*>", "", svg)
        body = svg
    else:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body = f'<img alt="{name}" src="data:image/png;base64,{data}">'
    return f"<figure>{body}<figcaption>{name} ({esc(path.name)})</figcaption></figure>"


def _td(v: Any, num: bool = False, unit: str = "") -> str:
    return f'<td class="num">{esc(_fmt(v, unit))}</td>' if num else f"<td>{esc(_fmt(v, unit))}</td>"


def _kpis(rep: Report) -> str:
    extra = any("mean" in r for r in rep.kpis)
    rows, cls = [], []
    for r in rep.kpis:
        d, u = r.get("defined_in"), r["unit"]
        row = [f"<td><code>{esc(r['kpi'])}</code></td>", _td(r["value"], True, u), _td(r.get("p05"), True, u),
               _td(r.get("p95"), True, u)]
        if extra:
            p = r.get("p_positive")
            row += [_td(r.get("mean"), True, u), _td(None if p is None else f"{p:.0%}", True)]
        rows.append(row + [_td(u), _td(None if d is None else f"{d:.0%}", True)])
        cls.append("headline" if r.get("headline") else "")
    samples = rep.summary.get("samples", 1)
    if rep.kind == "sweep":
        note = (f"Median and 5–95% over the sweep's {rep.summary.get('evaluations')} evaluations ({rep.summary.get('method')}"
                " design)" + ("; for a one-at-a-time design this is the spread of the design, not a probability band."
                              if rep.summary.get("method") == "oat" else "."))
    elif (samples or 1) > 1:
        note = f"Median over {samples} samples; band 5–95% over the samples where the KPI is defined."
    else:
        note = "One nominal run (no band: run with --samples N for 5–95% bands)."
    head = ["KPI", "value", "5%", "95%"] + (["mean", "P(KPI > 0)"] if extra else []) + ["unit", "defined in"]
    return (f"<p class=note>{esc(note)} Headline KPIs in bold. Explain any KPI with "
            "<code>batsim explain KPI --scenario FILE</code>.</p>" + _table(head, rows, cls, tid="kpi-table"))


def _importers(rep: Report) -> str:
    """Each importing region's headline KPIs and price index peak by material (summary.json ``regions``)."""
    from .report import HEADLINE

    regions = rep.summary.get("regions") or {}
    units = rep.summary.get("units") or {}
    mats = sorted({m for r in regions.values() for m in (r.get("price_index_peak") or {})})
    rows, cls = [], []
    for code, r in regions.items():
        focus = code == rep.summary.get("importer")
        row = [f"<td>{esc(code)}{' (in focus)' if focus else ''}</td>"]
        row += [_td(r.get(k), True, units.get(k, "")) for k in HEADLINE]
        row += [_td((r.get("price_index_peak") or {}).get(m), True) for m in mats]
        rows.append(row)
        cls.append("headline" if focus else "")
    head = ["importer", *HEADLINE, *(f"price_index_peak {m}" for m in mats)]
    note = ("The top-level KPIs above are the importer in focus; <code>batsim run SCENARIO --importer CODE</code> "
            "puts another in focus. A price index of — means the run records no prices (no market).")
    return f"<p class=note>{note}</p>" + _table(head, rows, cls, tid="importer-table")


def _drivers(rep: Report) -> str:
    parts = [f"<p class=note>{esc(rep.drivers_note)}</p>"]
    for k, ds in rep.drivers.items():
        if not ds:
            parts.append(f"<p><code>{esc(k)}</code>: no input moves it here.</p>")
            continue
        rows = [[f"<td>{esc(d['name'])}<br><code>{esc(d['param'])}</code></td>", f"<td>{esc(d['detail'])}</td>",
                 f"<td>{esc(d['effect'])}</td>", f"<td><code>batsim explain {esc(d['param'])}</code></td>"] for d in ds]
        parts.append(f"<h3><code>{esc(k)}</code></h3>" + _table(["input", "input moved", "KPI moved", "more"], rows))
    return "".join(parts)


def _claims(rep: Report) -> str:
    claims = rep.summary.get("claims") or []
    if not claims:
        return "<p>No cited claims are compared in this scenario.</p>"
    rows = []
    for c in claims:
        src = c.get("source")
        link = f'<a href="#{_anchor(src)}">{esc(src)}</a>' if src else "—"
        rows.append([f"<td>{esc(c.get('claim'))}<br><code>{esc(c.get('param'))}</code></td>",
                     f"<td>{link} {esc(c.get('locator'))}<blockquote>{esc(c.get('quote'))}</blockquote></td>",
                     f"<td><code>{esc(c.get('kpi'))}</code> = <b>{esc(c.get('model'))}</b></td>",
                     f"<td>{esc(c.get('note'))}</td>"])
    return _table(["claim", "source", "model's figure", "note"], rows)


def _cites(p: dict[str, Any]) -> str:
    seen, out = set(), []
    for c in p.get("citations", []):
        key = (c["source"], c.get("locator"))
        if key in seen:
            continue
        seen.add(key)
        out.append(f'<a href="#{_anchor(c["source"])}">{esc(c["source"])}</a> {esc(c.get("locator") or "")}')
    return "<br>".join(out)


def _params(rep: Report) -> str:
    rows = []
    for p in rep.parameters:
        rng = p.get("range")
        rows.append([f"<td><code>{esc(p['id'])}</code><br>{esc(p.get('name'))}</td>", _td(p.get("value"), True),
                     _td(p.get("unit")), _td(f"{_fmt(rng[0])} – {_fmt(rng[1])}" if rng else None),
                     f'<td class="kind-{esc(p.get("kind"))}">{esc(p.get("kind"))}</td>',
                     f"<td>{_cites(p) or esc(p.get('formula') or '')}</td>"])
    return _table(["parameter", "value", "unit", "range", "kind", "citation / formula"], rows)


def _assumptions(rep: Report) -> str:
    rows = [[f"<td><code>{esc(p['id'])}</code></td>", _td(p.get("value"), True), _td(p.get("unit")),
             f"<td>{esc(p.get('rationale'))}</td>"] for p in rep.parameters if p.get("kind") in ("assumption", "lever")]
    if not rows:
        return "<p>None: every parameter is cited, calibrated or derived.</p>"
    return ("<p class=note>Figures no source states: each has a rationale and a range that sweeps explore "
            "(<code>batsim audit</code> lists them).</p>" + _table(["parameter", "value", "unit", "rationale"], rows))


def _bib(rep: Report) -> str:
    items = [f'<li id="{_anchor(s)}"><code>{esc(s)}</code>: {esc(text)}</li>' for s, text in rep.bibliography.items()]
    return f"<ol>{''.join(items)}</ol>" if items else "<p>No sources cited.</p>"


def _manifest(rep: Report) -> str:
    m = rep.manifest
    keys = [("batsim", m.get("batsim_version")), ("created (UTC)", m.get("created_utc")),
            ("engine", m.get("engine") or rep.summary.get("method")), ("samples", m.get("samples")),
            ("seed", seed_of(m)), ("command", " ".join(m.get("command") or []) or None)]
    rows = [[f"<th>{esc(k)}</th>", f"<td>{esc(v)}</td>"] for k, v in keys if v is not None]
    rows += [[f"<th>{esc(k)}</th>", f"<td>{esc(v)}</td>"] for k, v in (m.get("versions") or {}).items()]
    files = [[f"<td>{esc(i.get('role'))}</td>", f"<td><code>{esc(i.get('path'))}</code></td>",
              f"<td><code>{esc(i.get('sha256'))}</code></td>"] for i in input_files(m)]
    return _table(["", ""], rows) + (_table(["role", "file", "sha256"], files) if files else "")


def render(rep: Report, extra: list[tuple[str, str, str]] | None = None) -> str:
    """The whole report as one HTML document; ``extra`` sections (id, title, html) follow the drivers."""
    s = rep.summary
    sub = (f"{'Sweep' if rep.kind == 'sweep' else 'Run'} of scenario <code>{esc(s.get('scenario'))}</code> · "
           f"engine {esc(s.get('engine') or 'stockflow')} · seed {esc(seed_of(rep.manifest))} · "
           f"{esc(s.get('samples') or s.get('evaluations'))} sample(s)"
           + (f" · importer {esc(s.get('importer'))}" if s.get("importer") else "")
           + (f" · method {esc(s.get('method'))}" if rep.kind == "sweep" else ""))
    sections = [
        ("question", "The question", f"<p>{esc(rep.description) or esc(rep.title)}</p>"),
        ("kpis", "Key outcomes" + (f" for importer {s['importer']}" if s.get("importer") else ""), _kpis(rep)),
        *([("importers", "By importer", _importers(rep))] if s.get("regions") else []),
        ("plots", "Plots", "".join(_plot(p) for p in rep.plots) or "<p>No plots in this folder.</p>"),
        ("drivers", "What drives the headline KPIs", _drivers(rep)),
        *(extra or []),
        ("claims", "Cited claims beside the model's figures", _claims(rep)),
        ("parameters", "Parameters used", _params(rep)),
        ("assumptions", "Assumptions", _assumptions(rep)),
        ("bibliography", "Bibliography", _bib(rep)),
        ("manifest", "Reproducibility: versions and input hashes", _manifest(rep)),
    ]
    nav = " · ".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{esc(t)}</h2>{c}</section>' for sid, t, c in sections)
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{esc(rep.title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(rep.title)}</h1><p class=note>{sub}</p>"
            f"<p class=note>{nav}</p>{body}</body></html>\n")


def write_report(folder: Any, out: Any = None, drivers: bool = True, explore: list[Any] | None = None) -> Any:
    """Build and write ``report.html`` (inside the folder by default) atomically; returns its path.

    ``explore`` folders (written by ``batsim explore``) each add a section; a ``folder`` that is
    itself an explore folder gets a report of that exploration."""
    from pathlib import Path

    from ..explore import report as xr
    from ..outputs.atomic import write_text
    from .report import build_report

    path = Path(out) if out else Path(folder) / "report.html"
    if xr.is_explore_folder(folder):
        text = xr.render(folder)
    else:
        rep = build_report(folder, drivers=drivers)
        text = render(rep, [(f"explore-{i + 1}", f"Policy exploration: {Path(e).name}", xr.section(e))
                            for i, e in enumerate(explore or [])])
    write_text(path, text)
    return path

"""The explore section of ``batsim report``: robustness table, Pareto plot, PRIM and CART boxes.

Read back from an explore folder's files (summary.json, robustness.csv, pareto.csv,
prim_boxes.csv, cart_boxes.csv, plots/pareto.*), so the report shows what ``batsim explore``
wrote and nothing recomputed. Rendered with the HTML report's own helpers (one style).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..core.errors import bad

TOP = 15          # policies shown in the robustness table (all are in robustness.csv)
COLUMNS = ("satisficing", "kpi_mean", "kpi_p90", "regret_p90", "cost_mean_usd")


def is_explore_folder(folder: str | Path) -> bool:
    """True when ``folder`` holds a manifest written by ``batsim explore``."""
    try:
        return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("method") == "explore"
    except (OSError, ValueError):
        return False


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bad(str(folder), f"'{folder}' has no {name}: it is not a finished explore folder",
                  "give a folder written by 'batsim explore' (OUT/<policy-id>-explore)") from None
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise bad(str(path), f"{name} is not valid JSON: {exc.msg}", "rerun the exploration that wrote it",
                      line=exc.lineno, col=exc.colno) from None
    return list(csv.DictReader(text.splitlines()))


def _num(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


def section(folder: str | Path) -> str:
    """The HTML of one exploration: what was asked, the ranking, the Pareto plot, the failure boxes."""
    from ..analysis.report_html import _plot, _table, _td, esc

    folder = Path(folder)
    if not folder.is_dir():
        raise bad(str(folder), f"no such folder '{folder}'", "give a folder written by 'batsim explore'")
    s = _read(folder, "summary.json")
    metrics: dict[str, dict[str, float | None]] = {}
    for r in _read(folder, "robustness.csv"):
        metrics.setdefault(r["policy"], {})[r["metric"]] = _num(r["value"])
    front = {r["policy"] for r in _read(folder, "pareto.csv") if r.get("pareto") == "true"}
    thr = s["threshold"]
    lim = f"{thr['kpi']} ≤ {thr['max']}" if "max" in thr else f"{thr['kpi']} ≥ {thr['min']}"
    pref = s["preferred"]
    unit = s.get("kpi_unit") or ""
    intro = (f"<p>Policy file <code>{esc(s['policy_file'])}</code>: {esc(s['policies'])} policy combinations, each "
             f"over the same {esc(s['futures'])} sampled futures of <code>{esc(s['scenario'])}</code> (common random "
             f"numbers, seed {esc(s['seed'])}). Ranked by <b>{esc(s['rank_by'])}</b>; satisficing is the share of "
             f"futures with {esc(lim)}. Preferred ({esc(pref['chosen'])}): <b>{esc(pref['policy'])}</b>, which "
             f"fails in {esc(pref['failing_futures'])} futures.</p>")
    names = list(metrics)[:TOP]                  # robustness.csv is written best-ranked first
    rank = {n: metrics[n].get("rank_" + s["rank_by"]) for n in names}
    rows = [[f"<td>{esc(None if rank[n] is None else int(rank[n]))}</td>", f"<td><code>{esc(n)}</code></td>",
             *[_td(metrics[n].get(c), True) for c in COLUMNS], f"<td>{'yes' if n in front else ''}</td>"] for n in names]
    head = ["rank", "policy", "satisficing", f"{s['kpi']} mean ({unit})", f"p90 ({unit})", "regret p90",
            "mean cost (USD)", "Pareto"]
    more = (f" The first {TOP} of {len(metrics)} are shown; all are in robustness.csv." if len(metrics) > TOP else "")
    table = f"<p class=note>Best-ranked first.{esc(more)}</p>" + _table(head, rows, tid="explore-robustness")
    plots = [p for p in sorted((folder / "plots").glob("pareto.*")) if p.suffix in (".png", ".svg")] \
        if (folder / "plots").is_dir() else []
    pareto = "".join(_plot(p) for p in plots) or "<p>No Pareto plot in this folder (run without --no-plots).</p>"
    return (intro + "<h3>Robustness</h3>" + table + "<h3>Cost against the KPI: the Pareto front</h3>" + pareto
            + "<h3>When the preferred policy fails: PRIM boxes</h3>" + _boxes(folder, "prim_boxes.csv", "PRIM")
            + "<h3>Second view: CART leaves</h3>" + _boxes(folder, "cart_boxes.csv", "CART"))


def _boxes(folder: Path, name: str, what: str) -> str:
    from ..analysis.report_html import _table, esc

    if not (folder / name).is_file():
        return f"<p>No {esc(name)} in this folder.</p>"
    rows = _read(folder, name)
    if not rows:
        return (f"<p>No {what} box: no region of the futures where the preferred policy fails stands out "
                f"(or the optional extra is not installed; see summary.json notes).</p>")
    body = [[f"<td>{esc(r['box'])}</td>", f"<td>{esc(r['name'])}<br><code>{esc(r['param'])}</code></td>",
             f"<td>{esc(r['low'])} – {esc(r['high'])} {esc(r['unit'])}</td>", f'<td class="num">{esc(r["coverage"])}</td>',
             f'<td class="num">{esc(r["density"])}</td>'] for r in rows]
    return _table(["box", "parameter", "range", "coverage", "density"], body, tid=f"explore-{what.lower()}")


def render(folder: str | Path) -> str:
    """A whole HTML report of one explore folder (what ``batsim report EXPLORE_DIR`` writes)."""
    from ..analysis.report_html import CSS, _table, esc

    folder = Path(folder)
    s = _read(folder, "summary.json")
    m = _read(folder, "manifest.json")
    title = f"Policy exploration {s['policy_file']} on {s['scenario']}"
    files = [[f"<td>{esc(i.get('role'))}</td>", f"<td><code>{esc(i.get('path'))}</code></td>",
              f"<td><code>{esc(i.get('sha256'))}</code></td>"] for i in (m.get("scenario") or {}).get("files", [])]
    repro = (f"<p class=note>batsim {esc((m.get('versions') or {}).get('batsim'))} · created "
             f"{esc(m.get('created_utc'))} · command <code>{esc(' '.join(m.get('command') or []))}</code></p>"
             + (_table(["role", "file", "sha256"], files) if files else ""))
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
            f'<section id="explore"><h2>Policy exploration</h2>{section(folder)}</section>'
            f'<section id="manifest"><h2>Reproducibility: versions and input hashes</h2>{repro}</section>'
            "</body></html>\n")

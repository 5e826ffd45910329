"""Where does a number come from? ``batsim explain ID`` and the scenario index behind it.

For one registry id: value, unit, range, kind, its evidence (source, locator, verbatim quote
with English rendering, reading), the derivation tree down to cited figures and assumptions
for a derived value, the derived entries that use it, and which shipped scenarios use it,
override it (a lever or cited value in place of the registry entry) or compare a KPI with it.
"""
from __future__ import annotations

import datetime as dt
import re
import textwrap
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import BadInput, Problem
from ..paths import scenarios_beside
from . import formula as fx
from .audit import fmt_value
from .bibliography import Bibliography, describe, load_bibliography
from .registry import Parameter, Registry

WIDTH = 100
MAX_CORNER_INPUTS = 12


# ---- scenarios that use a parameter -------------------------------------------------------------

@dataclass
class Use:
    """A scenario value that reads a registry id, directly or through a derived entry."""

    scenario: str
    path: str
    via: str = ""        # the id the scenario names, when the id is reached through a formula


@dataclass
class Override:
    """A scenario that replaces a value its base scenario takes from the registry."""

    scenario: str
    base: str
    path: str
    replaced: str        # the registry id the base uses
    by: Parameter        # what the scenario uses instead (lever, cited override or another id)
    source: str          # 'lever' | 'override' | 'param'


@dataclass
class ScenarioIndex:
    """The shipped scenarios compiled against a registry, for 'who uses this id' questions."""

    scenarios: list[Any] = field(default_factory=list)    # sim.scenario.compile.Scenario
    broken: list[str] = field(default_factory=list)       # files that did not compile

    def uses(self, reg: Registry, pid: str) -> list[Use]:
        """Scenario values that read ``pid``, directly or through derived entries."""
        out = []
        for s in self.scenarios:
            for path, q in sorted(s.quantities.items()):
                if q.source != "param":
                    continue
                if q.pid == pid:
                    out.append(Use(s.id, path))
                elif pid in reg.closure([q.pid]):
                    out.append(Use(s.id, path, via=q.pid))
        return out

    def claims(self, pid: str) -> list[tuple[str, dict[str, Any]]]:
        """(scenario id, claim) for each scenario that sets a KPI beside ``pid``."""
        return [(s.id, c) for s in self.scenarios for c in (s.data.get("claims") or []) if c.get("param") == pid]

    def overrides(self, reg: Registry, pid: str) -> list[Override]:
        """Places where a scenario replaces a value its base scenario takes from ``pid``."""
        by_file = {Path(s.files[-1]).resolve(): s for s in self.scenarios}
        out = []
        for s in self.scenarios:
            if len(s.files) < 2:
                continue
            base = by_file.get(Path(s.files[-2]).resolve())
            if base is None:
                continue
            for path, bq in sorted(base.quantities.items()):
                if bq.source != "param" or pid not in reg.closure([bq.pid]):
                    continue
                q = s.quantities.get(path)
                if q is None or (q.source == "param" and q.pid == bq.pid):
                    continue
                out.append(Override(s.id, base.id, path, bq.pid, q.param, q.source))
        return out

    def find(self, qid: str) -> Any:
        """The quantity of a scenario lever/override id '<scenario>:<path>' (None if unknown)."""
        sid, _, path = qid.partition(":")
        for s in self.scenarios:
            if s.id == sid and path in s.quantities:
                return s.quantities[path]
        return None


def scenario_index(reg: Registry, scenarios_dir: str | Path | None = None) -> ScenarioIndex:
    """Compile every ``*.yaml`` in ``scenarios_dir`` (default: next to the calibration folder)."""
    from ..scenario.compile import compile_document
    from ..scenario.load import load_document

    d = Path(scenarios_dir) if scenarios_dir is not None else scenarios_beside(reg.root)
    idx = ScenarioIndex()
    for f in sorted(d.glob("*.yaml")) if d.is_dir() else []:
        try:
            idx.scenarios.append(compile_document(load_document(f), reg))
        except BadInput:
            idx.broken.append(str(f))
    return idx


# ---- values -----------------------------------------------------------------------------------

def nominal(reg: Registry, pid: str) -> Any:
    """The nominal value of ``pid`` (derived ones evaluated); None if it cannot be evaluated."""
    try:
        return reg.nominal(pid)
    except Exception:
        return None


def derived_range(reg: Registry, pid: str) -> tuple[float, float] | None:
    """Lowest and highest value of a derived entry over the corners of its inputs' ranges.

    Exact for formulas monotone in each input (all products, quotients and powers of positive
    inputs are); None when no input is uncertain or there are too many to enumerate.
    """
    try:
        leaves = [d for d in reg.closure([pid]) if reg[d].kind != "derived" and reg[d].uncertain and not reg[d].is_date]
    except (KeyError, ValueError):
        return None
    if not leaves or len(leaves) > MAX_CORNER_INPUTS:
        return None
    k = len(leaves)
    bits = (np.arange(2 ** k)[:, None] >> np.arange(k)[None, :]) & 1
    given = {d: np.where(bits[:, i] == 1, float(reg[d].high), float(reg[d].low)) for i, d in enumerate(leaves)}
    try:
        v = np.asarray(reg.evaluate([pid], given)[pid], dtype=float)
    except Exception:
        return None
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else None


def substituted(reg: Registry, p: Parameter) -> str:
    """The formula with each id replaced by its nominal value and unit."""
    def one(m: re.Match) -> str:
        d = m.group(1)
        if d not in reg:
            return d
        q = reg[d]
        return f"{fmt_value(nominal(reg, d))} {q.unit}" if q.unit != "dimensionless" else fmt_value(nominal(reg, d))
    names = fx.names(p.formula)
    if not names:
        return p.formula
    pat = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w.])")
    return pat.sub(one, p.formula)


# ---- text -------------------------------------------------------------------------------------

def _wrap(label: str, text: str, indent: str) -> list[str]:
    head = f"{indent}{label:<11}"
    body = " ".join(str(text).split())
    lines = textwrap.wrap(body, width=max(40, WIDTH - len(head)), break_long_words=False,
                          break_on_hyphens=False) or [""]
    cont = indent + " " * 11
    return [head + lines[0]] + [cont + x for x in lines[1:]]


def _range_text(reg: Registry, p: Parameter) -> str:
    if p.kind == "derived":
        r = derived_range(reg, p.id)
        return f"{fmt_value(r[0])} \u2026 {fmt_value(r[1])} {p.unit} (over the corners of its inputs' ranges)" if r else ""
    if p.low is None:
        return ""
    unit = "" if p.is_date else f" {p.unit}"
    dist = f", {p.distribution}" if p.uncertain else ""
    return f"{fmt_value(p.low)} \u2026 {fmt_value(p.high)}{unit}{dist}"


def _value_text(reg: Registry, p: Parameter) -> str:
    v = nominal(reg, p.id) if p.kind == "derived" else p.value
    if v is None:
        return "(cannot be evaluated: run 'batsim audit')"
    return fmt_value(v) if p.is_date else f"{fmt_value(v)} {p.unit}"


def details(reg: Registry, p: Parameter, bib: Bibliography, indent: str) -> list[str]:
    """Every provenance field of one entry, as labelled, wrapped lines."""
    out: list[str] = []
    if p.name:
        out += _wrap("name", p.name, indent)
    out += _wrap("value", _value_text(reg, p), indent)
    rng = _range_text(reg, p)
    if rng:
        out += _wrap("range", rng, indent)
    out += _wrap("kind", p.kind, indent)
    for i, e in enumerate(p.evidence):
        tag = "" if len(p.evidence) == 1 else f" [{i + 1}]"
        entry = bib.get(e.source)
        out += _wrap("source" + tag, f"{e.source}: {describe(entry)}" if entry else f"{e.source} (not in the bibliography)", indent)
        out += _wrap("locator", e.locator, indent)
        out += _wrap("quote", f"\u201c{e.quote}\u201d", indent)
        if e.quote_en:
            out += _wrap("english", f"\u201c{e.quote_en}\u201d", indent)
        if e.reading:
            out += _wrap("reading", e.reading, indent)
    if p.kind == "derived" and p.formula:
        out += _wrap("formula", p.formula, indent)
        out += _wrap("", f"= {substituted(reg, p)} = {_value_text(reg, p)}", indent)
    if p.rationale:
        out += _wrap("rationale", p.rationale, indent)
    nr = p.nearest_reference
    if nr:
        src = str(nr.get("source", ""))
        entry = bib.get(src)
        text = f"{src}, {nr.get('locator', '')}" + (f": {nr['note']}" if nr.get("note") else "")
        out += _wrap("nearest", text, indent)
        if entry:
            out += _wrap("", describe(entry), indent)
    if p.calibration:
        out += _wrap("calibrated", "fitted as follows (data, method, fit, interval):", indent)
        for k, v in p.calibration.items():
            if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
                for i, x in enumerate(v):
                    out += _wrap(k if i == 0 else "", x, indent + "  ")
            else:
                out += _wrap(k, _calib_text(v), indent + "  ")
    if p.notes:
        out += _wrap("notes", p.notes, indent)
    out += _wrap("defined at", display_where(p.where()), indent)
    return out


def _calib_text(v: Any) -> str:
    """A calibration record's value as one line: mappings as 'key value; ...', numbers short."""
    if isinstance(v, dict):
        return "; ".join(f"{k} {_calib_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return " | ".join(_calib_text(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _tree(reg: Registry, pid: str, bib: Bibliography, prefix: str, out: list[str],
          stack: tuple[str, ...] = ()) -> None:
    deps = reg.dependencies(pid)
    stack = stack + (pid,)
    for i, d in enumerate(deps):
        last = i == len(deps) - 1
        branch, cont = ("\u2514\u2500 ", "   ") if last else ("\u251c\u2500 ", "\u2502  ")
        if d not in reg:
            out.append(f"{prefix}{branch}{d}  (unknown id)")
            continue
        if d in stack:
            out.append(f"{prefix}{branch}{d}  (derived cycle: {' -> '.join(stack + (d,))}; run 'batsim audit')")
            continue
        q = reg[d]
        out.append(f"{prefix}{branch}{d} = {_value_text(reg, q)}  ({q.kind})")
        out += details(reg, q, bib, prefix + cont + "   ")
        if q.kind == "derived":
            _tree(reg, d, bib, prefix + cont, out, stack)


def explain_text(reg: Registry, pid: str, index: ScenarioIndex | None = None,
                 bib: Bibliography | None = None) -> str:
    """The full provenance of ``pid`` as text (raises BadInput for an unknown id)."""
    bib = bib if bib is not None else load_bibliography(reg.roots)
    index = index if index is not None else scenario_index(reg)
    if pid not in reg:
        q = index.find(pid) if ":" in pid else None
        if q is None:
            raise _unknown(reg, pid)
        p = q.param
        out = [f"{p.id}: a {'lever (what-if choice)' if q.source == 'lever' else 'cited override'} in scenario "
               f"{pid.split(':', 1)[0]}"]
        out += _wrap("value", fmt_value(p.value) + ("" if p.is_date else f" {p.unit}"), "  ")
        if p.low is not None:
            out += _wrap("range", f"{fmt_value(p.low)} \u2026 {fmt_value(p.high)}", "  ")
        out += _wrap("why" if q.source == "lever" else "kind", p.rationale or p.kind, "  ")
        for e in p.evidence:
            entry = bib.get(e.source)
            out += _wrap("source", f"{e.source}: {describe(entry)}" if entry else e.source, "  ")
            out += _wrap("locator", e.locator, "  ")
            out += _wrap("quote", f"\u201c{e.quote}\u201d", "  ")
            if e.quote_en:
                out += _wrap("english", f"\u201c{e.quote_en}\u201d", "  ")
        out += _wrap("slot", f"{q.path} (model unit {q.spec.unit})", "  ")
        out += _wrap("defined at", display_where(p.where()), "  ")
        return "\n".join(out) + "\n"
    p = reg[pid]
    out = [f"{pid}"]
    out += details(reg, p, bib, "  ")
    if p.kind == "derived":
        out += ["", "derivation", f"  {pid} = {p.formula}"]
        _tree(reg, pid, bib, "  ", out)
    users = sorted(q for q, e in reg.params.items() if e.kind == "derived" and pid in reg.dependencies(q))
    if users:
        out += ["", "used in the formulas of"] + [f"  {u} = {reg[u].formula}" for u in users]
    out += ["", "scenarios"]
    uses = index.uses(reg, pid)
    overrides = index.overrides(reg, pid)
    claims = index.claims(pid)
    by_scn: dict[str, list[str]] = {}
    for u in uses:
        by_scn.setdefault(u.scenario, []).append(u.path + (f" (through {u.via})" if u.via else ""))
    for sid, paths in by_scn.items():
        out += _wrap("used by", f"{sid}: {', '.join(paths)}", "  ")
    for o in overrides:
        what = {"lever": "lever", "override": "cited value", "param": f"registry id {o.by.id}"}[o.source]
        val = fmt_value(o.by.value) + ("" if o.by.is_date or o.source == "param" else f" {o.by.unit}")
        extra = f": {o.by.rationale}" if o.source == "lever" and o.by.rationale else ""
        if o.source == "override" and o.by.evidence:
            extra = f" ({o.by.evidence[0].source}, {o.by.evidence[0].locator})"
        out += _wrap("overridden", f"{o.scenario}: {o.path} takes {what} {val if o.source != 'param' else ''}".rstrip()
                     + f" instead of {o.replaced} (used by its base {o.base}){extra}", "  ")
    for sid, c in claims:
        out += _wrap("compared", f"{sid}: KPI {c.get('kpi')} is set beside this claim"
                     + (f" ({c['note']})" if c.get("note") else ""), "  ")
    if not (uses or overrides or claims):
        out.append("  no shipped scenario uses this id (it is evidence held for comparison or later use)")
    if index.broken:
        out.append(f"  (not searched, as they do not validate: {', '.join(index.broken)}; run 'batsim validate')")
    return "\n".join(out) + "\n"


def display_where(where: str) -> str:
    """``FILE:LINE:COL`` with FILE relative to the working directory when below it."""
    f, _, rest = where.partition(":")
    try:
        f = str(Path(f).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        pass
    return f"{f}:{rest}" if rest else f


def _unknown(reg: Registry, pid: str) -> BadInput:
    near = get_close_matches(pid, reg.ids(), n=3, cutoff=0.5)
    hint = ("did you mean " + ", ".join(f"'{n}'" for n in near) + "?") if near else "'batsim params' lists every id"
    return BadInput([Problem("<command line>", 1, 1, f"unknown parameter id '{pid}'", hint)])


def explain_json(reg: Registry, pid: str, index: ScenarioIndex | None = None,
                 bib: Bibliography | None = None) -> dict[str, Any]:
    """The provenance of ``pid`` as a dict (inputs nested for derived entries)."""
    bib = bib if bib is not None else load_bibliography(reg.roots)
    index = index if index is not None else scenario_index(reg)
    if pid not in reg:
        raise _unknown(reg, pid)

    def node(d: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        p = reg[d]
        stack = stack + (d,)
        r = derived_range(reg, d) if p.kind == "derived" else (p.low, p.high)
        return {
            "id": d, "name": p.name, "kind": p.kind, "value": _json(nominal(reg, d)), "unit": p.unit,
            "low": _json(r[0]) if r else None, "high": _json(r[1]) if r else None, "distribution": p.distribution,
            "evidence": [{"source": e.source, "reference": describe(bib.get(e.source) or {"title": e.source}),
                          "locator": e.locator, "quote": e.quote, "quote_en": e.quote_en, "reading": e.reading}
                         for e in p.evidence],
            "formula": p.formula or None, "rationale": p.rationale or None,
            "nearest_reference": p.nearest_reference or None, "calibration": p.calibration or None,
            "notes": p.notes or None, "file": p.file, "line": p.line,
            "inputs": [node(x, stack) if x not in stack else {"id": x, "cycle": True}
                       for x in reg.dependencies(d) if x in reg],
        }

    out = node(pid)
    out["used_by"] = [u.__dict__ for u in index.uses(reg, pid)]
    out["overridden_by"] = [{"scenario": o.scenario, "base": o.base, "path": o.path, "replaced": o.replaced,
                             "source": o.source, "value": _json(o.by.value), "unit": o.by.unit,
                             "why": o.by.rationale or None} for o in index.overrides(reg, pid)]
    out["claims"] = [{"scenario": s, **c} for s, c in index.claims(pid)]
    out["derived_users"] = sorted(q for q, e in reg.params.items() if e.kind == "derived" and pid in reg.dependencies(q))
    return out


def _json(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.ndarray):
        return float(v)
    return v

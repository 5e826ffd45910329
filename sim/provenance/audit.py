"""The auditor: does every number in the registry trace to its evidence?

``audit()`` reads the registry leniently (a broken entry is reported, not fatal, so one run
lists every problem), then checks:

- structure: keys, ids, units that parse, kinds, values, duplicate ids (also what loading checks);
- ranges: ``low <= value <= high``; assumptions have a rationale and a real range;
- citations: every evidence and nearest-reference source is a bibliography entry, cited entries
  have source, locator, verbatim quote, English rendering of a non-English quote and a reading;
  no bibliography entry is orphaned;
- quotes: each quote appears verbatim (whitespace aside) in its source text: seeds in the
  ``--sources`` folder (``seedNNN`` -> ``NNN_*.txt``, and a ``para. N`` locator must be line N),
  external sources in ``calibration/sources/<id>.txt``; scenario ``cite:`` overrides too;
- derived formulas: ids resolve, no cycles, and the formula evaluates with units into the
  entry's unit;
- scenarios: every ``scenarios/*.yaml`` compiles against the registry (units convert to the
  slot each value fills, values within the slot's bounds).

Every finding is a :class:`Finding`: ``FILE:LINE:COL: id: what is wrong (hint: how to fix)``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..core.errors import BadInput, Problem
from ..core.yamlio import Located, load_file
from .bibliography import SEED_RE, Bibliography, load_bibliography
from ..paths import ENV, calibration_roots, find_in_roots, scenarios_beside
from .registry import KINDS, Evidence, Parameter, Registry, as_roots, evaluate_derived, parse_entry

_LOCATOR_RE = re.compile(r"^paras?\.\s*(\d+)(?:\s*[-\u2013]\s*(\d+))?$")
_CALIBRATION_KEYS = ("target", "method", "fit", "interval")


def normalise(text: str) -> str:
    """Collapse every run of whitespace to one space: the only liberty a quote may take."""
    return " ".join(str(text).split())


def needs_translation(text: str) -> bool:
    """True when ``text`` is not English: any CJK, kana or Hangul, or mostly non-ASCII letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    for c in letters:
        name = unicodedata.name(c, "")
        if name.startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA")):
            return True
    return sum(ord(c) > 127 for c in letters) / len(letters) > 0.3


@dataclass(frozen=True)
class Finding:
    """One audit problem: where, about which id, which check, and the message with a hint."""

    file: str
    line: int
    col: int
    id: str
    check: str
    message: str
    hint: str = ""

    @property
    def problem(self) -> Problem:
        """This finding as a :class:`Problem` (message prefixed with the id)."""
        text = f"{self.id}: {self.message}" if self.id else self.message
        return Problem(self.file, self.line, self.col, text, self.hint)

    def __str__(self) -> str:
        return str(self.problem)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with the formatted line as ``text``."""
        return {"file": self.file, "line": self.line, "col": self.col, "id": self.id, "check": self.check,
                "message": self.message, "hint": self.hint, "text": str(self)}


@dataclass
class AuditReport:
    """What the audit counted and every problem it found."""

    root: str
    parameters: int
    kinds: dict[str, int]
    by_file: dict[str, Counter]
    levers: int
    overrides: int
    problems: list[Finding]
    quotes_checked: int
    quotes_found: int
    quotes_unchecked: int
    sources_dir: str | None
    bibliography_entries: int
    bibliography_cited: int
    bibliography_mentioned: list[str]
    scenarios: list[dict[str, Any]]
    assumptions: list[dict[str, Any]]
    used_by_scenarios: int

    @property
    def ok(self) -> bool:
        """True when the audit found nothing wrong."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The report as ``batsim audit --format json`` prints it."""
        out: dict[str, Any] = {"parameters": self.parameters}
        out.update({k: self.kinds.get(k, 0) for k in KINDS if k != "lever"})
        out.update({
            "registry_lever": self.kinds.get("lever", 0),   # registry entries that are choices, not facts
            "lever": self.levers,
            "scenario_overrides": self.overrides,
            "quotes_checked": self.quotes_checked,
            "quotes_found": self.quotes_found,
            "quotes_unchecked": self.quotes_unchecked,
            "sources": self.sources_dir,
            "bibliography": {"entries": self.bibliography_entries, "cited": self.bibliography_cited,
                             "mentioned_in_notes_only": self.bibliography_mentioned},
            "by_file": {f: {k: c.get(k, 0) for k in KINDS} for f, c in self.by_file.items()},
            "used_by_scenarios": self.used_by_scenarios,
            "scenarios": self.scenarios,
            "assumptions": self.assumptions,
            "problems": [p.to_json() for p in self.problems],
            "ok": self.ok,
        })
        return out


# ---- lenient loading --------------------------------------------------------------------------

@dataclass
class _Loaded:
    registry: Registry
    located: dict[str, tuple[Located, tuple, dict[str, Any]]]  # id -> (file, key path, raw entry)
    broken: set[str]                                           # ids seen but not usable
    problems: list[Finding]


def _finding_from(p: Problem, check: str, pid: str = "") -> Finding:
    msg = p.message
    if pid and msg.startswith(pid + ": "):
        msg = msg[len(pid) + 2:]
    return Finding(p.file, p.line, p.col, pid, check, msg, p.hint)


def load_lenient(root: Path | list[Path]) -> _Loaded:
    """Load every registry file of one calibration folder or several, keeping whatever parses and
    reporting the rest."""
    found: list[Finding] = []
    params: dict[str, Parameter] = {}
    located: dict[str, tuple[Located, tuple, dict[str, Any]]] = {}
    broken: set[str] = set()
    roots = as_roots(root)
    pdir = roots[0] / "parameters"
    files = [f for r in roots if (r / "parameters").is_dir() for f in sorted((r / "parameters").glob("*.yaml"))]
    if not files:
        found.append(Finding(str(pdir), 1, 1, "", "structure", "no registry files (parameters/*.yaml) found",
                             "the registry is calibration/parameters/*.yaml; see calibration/README.md"))
    for f in files:
        try:
            loc = load_file(f)
        except BadInput as exc:
            found += [_finding_from(p, "structure") for p in exc.problems]
            continue
        data = loc.data
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
            found.append(_finding_from(loc.problem((), "a registry file holds 'parameters:' with a list of entries"),
                                       "structure"))
            continue
        for i, raw in enumerate(data["parameters"]):
            path = ("parameters", i)
            probs: list[Problem] = []
            p = parse_entry(raw, loc, path, probs)
            rid = raw.get("id") if isinstance(raw, dict) else None
            pid = rid if isinstance(rid, str) else ""
            for pr in probs:
                check = "unit" if "unknown unit" in pr.message else "structure"
                found.append(_finding_from(pr, check, pid))
            if p is None:
                if pid:
                    broken.add(pid)
                continue
            if p.id in params or p.id in broken:
                first = params[p.id].where() if p.id in params else "an entry with problems"
                found.append(Finding(p.file, p.line, p.col, p.id, "duplicate", "duplicate id",
                                     f"first defined at {first}; ids are unique across all registry files"))
                continue
            if probs:
                broken.add(p.id)
                continue
            params[p.id] = p
            located[p.id] = (loc, path, raw)
    reg = Registry(params=params, root=roots[0], files=files, roots=roots)
    return _Loaded(reg, located, broken, found)


# ---- the audit --------------------------------------------------------------------------------

class _Auditor:
    def __init__(self, roots: list[Path], sources: Path | None, scenarios_dir: Path | None):
        self.roots = roots
        self.root = roots[0]
        self.sources = sources
        # a study's scenarios sit in the study folder; the shipped ones in scenarios/ beside calibration/
        default = roots[-1].parent if len(roots) > 1 else scenarios_beside(roots[0])
        self.scenarios_dir = scenarios_dir if scenarios_dir is not None else default
        self.found: list[Finding] = []
        self.quotes_checked = self.quotes_found = self.quotes_unchecked = 0
        self._texts: dict[str, tuple[str, str] | None] = {}
        self.used_sources: set[str] = set()

    def add(self, where: tuple[str, int, int], pid: str, check: str, message: str, hint: str = "") -> None:
        self.found.append(Finding(where[0], where[1], where[2], pid, check, message, hint))

    # -- positions
    def where(self, pid: str, *sub: Any) -> tuple[str, int, int]:
        if pid in self.L.located:
            loc, path, _ = self.L.located[pid]
            line, col = loc.where(path + tuple(sub))
            return loc.file, line, col
        p = self.reg.params[pid]
        return p.file, p.line, p.col

    def ev_path(self, pid: str, j: int) -> tuple:
        raw = self.L.located[pid][2] if pid in self.L.located else {}
        return ("evidence", j) if isinstance(raw.get("evidence"), list) else ("evidence",)

    # -- sources
    def source_text(self, sid: str) -> tuple[str, str] | None | str:
        """(file name, text); None when not checkable (seed without --sources); str = problem."""
        if sid in self._texts:
            return self._texts[sid]
        m = SEED_RE.match(sid)
        res: Any
        if m:
            if self.sources is None:
                res = None
            else:
                hits = sorted(self.sources.glob(f"{m.group(1)}_*.txt"))
                if len(hits) == 1:
                    res = (str(hits[0]), hits[0].read_text(encoding="utf-8"))
                elif not hits:
                    res = f"no seed file {self.sources}/{m.group(1)}_*.txt for source '{sid}'"
                else:
                    res = f"several seed files match {self.sources}/{m.group(1)}_*.txt"
        else:
            f = find_in_roots(self.roots, "sources", f"{sid}.txt")
            res = (str(f), f.read_text(encoding="utf-8")) if f is not None else \
                f"no stored text for source '{sid}' (expected {' or '.join(str(r / 'sources' / (sid + '.txt')) for r in self.roots)})"
        self._texts[sid] = res
        return res

    def check_quote(self, owner: str, ev: Evidence, where: tuple[str, int, int]) -> None:
        if not ev.quote.strip() or ev.source not in self.bib:
            return
        got = self.source_text(ev.source)
        if got is None:
            self.quotes_unchecked += 1
            return
        if isinstance(got, str):
            self.add(where, owner, "quote", got,
                     "pass the seed folder with --sources DIR" if SEED_RE.match(ev.source)
                     else f"store the quoted passage in calibration/sources/{ev.source}.txt")
            return
        fname, text = got
        self.quotes_checked += 1
        q, t = normalise(ev.quote), normalise(text)
        if q not in t:
            lo, hi = 0, len(q)
            while lo < hi:  # the longest prefix of the quote that the source contains
                mid = (lo + hi + 1) // 2
                if q[:mid] in t:
                    lo = mid
                else:
                    hi = mid - 1
            near = q[max(0, lo - 30):lo]
            hint = (f"the first {lo} of {len(q)} characters match, up to \u2026{near!r}; copy the text after "
                    "that exactly from the source" if lo else "no part of the quote's start is in the source; "
                    "is the source id right?")
            self.add(where, owner, "quote", f"quote not found verbatim in {fname}", hint)
            return
        self.quotes_found += 1
        if SEED_RE.match(ev.source):
            self.check_seed_locator(owner, ev, where, fname, text)

    def check_seed_locator(self, owner: str, ev: Evidence, where: tuple[str, int, int], fname: str, text: str) -> None:
        m = _LOCATOR_RE.match(ev.locator.strip())
        if not m:
            self.add(where, owner, "locator", f"seed locator {ev.locator!r} is not 'para. N'",
                     "a seed locator is 'para. N', N being the line of the seed file holding the quote")
            return
        a = int(m.group(1))
        b = int(m.group(2) or a)
        lines = text.split("\n")
        q = normalise(ev.quote)
        if normalise(" ".join(lines[a - 1:b])).find(q) >= 0:
            return
        actual = [i + 1 for i, line in enumerate(lines) if q in normalise(line)]
        where_q = f"para. {actual[0]}" if actual else "no single paragraph (it spans lines)"
        self.add(where, owner, "locator", f"quote is in {where_q} of {fname}, not {ev.locator}",
                 f"set locator: \"para. {actual[0]}\"" if actual else "give the range as 'paras. N-M'")

    def check_evidence(self, owner: str, ev: Evidence, where_of: Any, required: bool, need_reading: bool = True) -> None:
        """``where_of(key)`` locates a key of this evidence mapping."""
        if not ev.source:
            if required:
                self.add(where_of(None), owner, "citation", "evidence has no 'source'",
                         "name a bibliography id (calibration/bibliography/*.json)")
        elif ev.source not in self.bib:
            near = get_close_matches(ev.source, self.bib.ids(), n=1, cutoff=0.6)
            self.add(where_of("source"), owner, "citation", f"unknown source '{ev.source}'",
                     f"did you mean '{near[0]}'?" if near else "add a CSL-JSON entry to calibration/bibliography/")
        else:
            self.used_sources.add(ev.source)
        if required:
            for key, hint in (("locator", "say where in the source: paragraph, page or table, e.g. 'para. 27'"),
                              ("quote", "copy the passage verbatim from the source, in its language"),
                              ("reading", "say how the figure was read, e.g. how a rounded word became a range")):
                if key == "reading" and not need_reading:
                    continue
                if not getattr(ev, key).strip():
                    self.add(where_of(key if key in self._keys_of(where_of) else None), owner, "citation",
                             f"evidence has no '{key}'", hint)
        if ev.quote.strip() and needs_translation(ev.quote) and not ev.quote_en.strip():
            self.add(where_of("quote"), owner, "citation", "the quote is not English and has no 'quote_en'",
                     "add quote_en: an English rendering of the quote")
        self.check_quote(owner, ev, where_of("quote"))

    @staticmethod
    def _keys_of(where_of: Any) -> set[str]:
        return getattr(where_of, "keys", set())

    # -- per entry
    def check_entry(self, p: Parameter) -> None:
        pid = p.id
        raw = self.L.located.get(pid, (None, None, {}))[2]
        # evidence
        for j, ev in enumerate(p.evidence):
            path = self.ev_path(pid, j)
            ev_raw = raw.get("evidence")
            ev_raw = ev_raw[j] if isinstance(ev_raw, list) else ev_raw

            def where_of(key: str | None, _path: tuple = path) -> tuple[str, int, int]:
                return self.where(pid, *(_path + ((key,) if key else ())))

            where_of.keys = set(ev_raw) if isinstance(ev_raw, dict) else set()  # type: ignore[attr-defined]
            self.check_evidence(pid, ev, where_of, required=p.kind == "cited")
        if p.kind == "cited" and not p.evidence:
            self.add(self.where(pid), pid, "citation", "a cited entry has no 'evidence'",
                     "add evidence: {source, locator, quote, reading}; or make it an assumption with a rationale")
        # nearest reference
        nr = p.nearest_reference
        if "nearest_reference" in raw and not isinstance(raw.get("nearest_reference"), dict):
            self.add(self.where(pid, "nearest_reference"), pid, "citation",
                     "nearest_reference must be a mapping {source, locator, note}")
        if nr:
            src = str(nr.get("source") or "")
            if not src:
                self.add(self.where(pid, "nearest_reference"), pid, "citation", "nearest_reference has no 'source'")
            elif src not in self.bib:
                near = get_close_matches(src, self.bib.ids(), n=1, cutoff=0.6)
                self.add(self.where(pid, "nearest_reference", "source"), pid, "citation",
                         f"unknown nearest_reference source '{src}'",
                         f"did you mean '{near[0]}'?" if near else "add a CSL-JSON entry to calibration/bibliography/")
            else:
                self.used_sources.add(src)
            if not str(nr.get("locator") or "").strip():
                self.add(self.where(pid, "nearest_reference"), pid, "citation", "nearest_reference has no 'locator'",
                         "say where in the source: paragraph, page or table")
        # kind-specific
        if p.kind in ("assumption", "lever"):
            if not p.rationale.strip():
                self.add(self.where(pid), pid, "assumption", "an assumption has no 'rationale'",
                         "say why this value, and why no source was found")
            if p.low is None or p.high is None:
                self.add(self.where(pid), pid, "assumption", "an assumption has no 'range'",
                         "give a wide range: {low: .., high: ..} for sweeps to explore")
            elif p.low == p.high:
                self.add(self.where(pid, "range"), pid, "assumption", "an assumption's range is a single point",
                         "an assumption needs a real range (low < high)")
        if p.kind == "calibrated":
            cal = p.calibration
            if not cal:
                self.add(self.where(pid), pid, "calibration", "a calibrated entry has no 'calibration' record",
                         "add calibration: {target, method, fit, interval}")
            else:
                for key in _CALIBRATION_KEYS:
                    if key not in cal:
                        self.add(self.where(pid, "calibration"), pid, "calibration", f"calibration has no '{key}'",
                                 "a calibration records target, method, fit and interval")
                tgt = cal.get("target")
                if isinstance(tgt, str) and tgt and find_in_roots(self.roots, "targets", tgt) is None \
                        and find_in_roots(self.roots, tgt) is None:
                    self.add(self.where(pid, "calibration", "target"), pid, "calibration",
                             f"calibration target '{tgt}' not found under {self.root / 'targets'}")
                src = cal.get("source")
                if src:
                    if src in self.bib:
                        self.used_sources.add(str(src))
                    else:
                        self.add(self.where(pid, "calibration", "source"), pid, "citation",
                                 f"unknown calibration source '{src}'")
        if p.kind == "derived" and "value" in raw:
            self.add(self.where(pid, "value"), pid, "structure", "a derived entry's value comes from its formula",
                     "remove 'value' (or make the entry cited/assumption)")
        if p.kind != "derived" and "formula" in raw:
            self.add(self.where(pid, "formula"), pid, "structure", f"a {p.kind} entry has a 'formula'",
                     "only derived entries are computed from a formula; set kind: derived")
        # ranges
        self.check_range(p)

    def check_range(self, p: Parameter, value: Any = None) -> None:
        pid = p.id
        v = p.value if value is None else value
        lo, hi = p.low, p.high
        if (lo is None) != (hi is None):
            return
        if lo is not None and hi is not None:
            if lo > hi:
                self.add(self.where(pid, "range"), pid, "range", f"range low {fmt_value(lo)} is above high {fmt_value(hi)}",
                         "swap them")
                return
            if v is not None and not (lo <= v <= hi):
                self.add(self.where(pid, "value"), pid, "range",
                         f"value {fmt_value(v)} lies outside its range [{fmt_value(lo)}, {fmt_value(hi)}]",
                         "the nominal value must lie within the range it was read as")
            if p.distribution == "loguniform" and not p.is_date and lo <= 0:
                self.add(self.where(pid, "distribution"), pid, "range", "a loguniform range must be positive",
                         f"low is {fmt_value(lo)}; use uniform, or a positive low")
        elif p.kind != "derived" and p.distribution != "uniform":
            self.add(self.where(pid, "distribution"), pid, "range",
                     f"distribution '{p.distribution}' without a range has no effect", "add range: {low, high}")

    # -- derived formulas
    def check_derived(self) -> None:
        reg = self.reg
        graph = {pid: [d for d in reg.dependencies(pid)] for pid, p in reg.params.items() if p.kind == "derived"}
        bad_nodes: set[str] = set()
        for pid, deps in sorted(graph.items()):
            for d in deps:
                if d in reg.params:
                    continue
                bad_nodes.add(pid)
                if d in self.L.broken:
                    continue  # its own problems are reported where it is defined
                near = get_close_matches(d, reg.ids(), n=1, cutoff=0.6)
                self.add(self.where(pid, "formula"), pid, "derived", f"formula refers to unknown id '{d}'",
                         f"did you mean '{near[0]}'?" if near else "every name in a formula is a registry id")
        for cycle in _cycles(graph):
            text = " -> ".join(cycle + [cycle[0]])
            for pid in cycle:
                bad_nodes.add(pid)
                self.add(self.where(pid, "formula"), pid, "derived", f"derived cycle {text}",
                         "a derived entry cannot depend on itself, directly or not")
        # evaluate with units, inputs first
        values: dict[str, Any] = {pid: p.value for pid, p in reg.params.items() if p.kind != "derived"}
        failed = set(bad_nodes)
        for pid in _topo(graph, failed):
            p = reg.params[pid]
            if any(d in failed for d in graph[pid]):
                failed.add(pid)
                continue
            if any(values.get(d) is None for d in graph[pid]):
                failed.add(pid)
                continue
            try:
                v = evaluate_derived(reg, p, values)
            except Exception as exc:  # pint raises DimensionalityError, ValueError, ...
                failed.add(pid)
                units_in = ", ".join(f"{d} [{reg.params[d].unit}]" for d in graph[pid])
                self.add(self.where(pid, "formula"), pid, "unit", f"formula does not evaluate with units: {exc}",
                         f"inputs: {units_in}; declared unit '{p.unit}'")
                continue
            if not math.isfinite(float(v)):
                failed.add(pid)
                self.add(self.where(pid, "formula"), pid, "derived", f"formula gives {v} at the nominal inputs",
                         "check for division by zero or log of a non-positive number")
                continue
            values[pid] = v
            self.check_range(p, v)
        self.derived_values = values

    # -- bibliography
    def note_target_sources(self) -> None:
        """Sources a calibration target cites (its ``sources`` and each observation's) count as used.

        A target that is not (or no longer) fitted into the registry still rests on them; its own
        loader (``batsim calibrate``) checks their quotes, so here they are only counted.
        """
        from ..core.yamlio import load_file

        for root in self.roots:
            for f in sorted((root / "targets").glob("*.yaml")) if (root / "targets").is_dir() else []:
                try:
                    data = load_file(f, "calibration target").data
                except Exception:  # noqa: BLE001 - a broken target is reported by its own loader
                    continue
                if not isinstance(data, dict):
                    continue
                for key, field_ in (("sources", "id"), ("observations", "source")):
                    rows = data.get(key) if isinstance(data.get(key), list) else []
                    for r in rows:
                        sid = str(r.get(field_) or "") if isinstance(r, dict) else ""
                        if sid in self.bib:
                            self.used_sources.add(sid)

    def check_bibliography(self) -> None:
        for p in self.bib.problems:
            m = re.match(r"^([^:\s]+): ", p.message)
            self.found.append(_finding_from(p, "bibliography", m.group(1) if m else ""))
        mentioned: set[str] = set()
        text = " ".join(" ".join([p.notes, p.rationale, str(p.nearest_reference.get("note", "")),
                                  " ".join(e.reading for e in p.evidence)]) for p in self.reg.params.values())
        for sid in self.bib.ids():
            if sid not in self.used_sources and re.search(r"(?<![\w-])" + re.escape(sid) + r"(?![\w-])", text):
                mentioned.add(sid)
        self.mentioned = sorted(mentioned)
        for sid in self.bib.ids():
            e = self.bib.entries[sid]
            where = self.bib.where(sid)
            if sid not in self.used_sources and sid not in mentioned:
                self.add(where, sid, "orphan", "bibliography entry is not used by any parameter or scenario",
                         "cite it from a registry entry's evidence or nearest_reference, or remove it")
            if not str(e.get("title") or "").strip():
                self.add(where, sid, "bibliography", "entry has no 'title'")
            if not SEED_RE.match(sid):
                for key in ("URL", "accessed"):
                    if not e.get(key):
                        self.add(where, sid, "bibliography", f"external source has no '{key}'",
                                 "an external source records its address (URL) and the date it was read (accessed)")

    # -- scenarios
    def check_scenarios(self) -> None:
        from ..scenario.compile import compile_document, iter_quantities
        from ..scenario.load import load_document

        self.scenario_rows: list[dict[str, Any]] = []
        self.used_ids: set[str] = set()
        seen_levers: set[tuple] = set()
        seen_overrides: set[tuple] = set()
        files = sorted(self.scenarios_dir.glob("*.yaml")) if self.scenarios_dir.is_dir() else []
        docs = []
        for f in files:
            try:
                docs.append((f, load_document(f)))
            except BadInput as exc:
                self.found += [_finding_from(p, "scenario", f.stem) for p in exc.problems]
                self.scenario_rows.append({"file": str(f), "id": None, "ok": False})
        docs.sort(key=lambda fd: (len(fd[1].files), fd[0].name))  # bases before the scenarios that extend them
        for f, doc in docs:
            sid = str(doc.data.get("id", f.stem))
            row: dict[str, Any] = {"file": str(f), "id": sid, "ok": True, "quantities": 0, "levers": 0, "overrides": 0}
            try:
                scn = compile_document(doc, self.reg, check_cites=False)
                row["quantities"] = len(scn.quantities)
                ids = [q.pid for q in scn.quantities.values() if q.source == "param"]
                self.used_ids.update(self.reg.closure(ids))
            except BadInput as exc:
                row["ok"] = False
                self.found += [_finding_from(p, "scenario", sid) for p in exc.problems]
            for qpath, raw in iter_quantities(doc.data):
                dotted = ".".join(str(x) for x in qpath)
                pos = doc.where(qpath)
                if "lever" in raw:
                    row["levers"] += 1
                    seen_levers.add(pos)
                    if not str(raw.get("why") or "").strip():
                        self.add(pos, f"{sid}:{dotted}", "lever", "a lever has no 'why'",
                                 "say what question this what-if choice answers")
                elif "cite" in raw:
                    row["overrides"] += 1
                    if pos in seen_overrides:
                        continue
                    seen_overrides.add(pos)
                    c = raw.get("cite") if isinstance(raw.get("cite"), dict) else {}
                    ev = Evidence(source=str(c.get("source", "")), locator=str(c.get("locator", "")),
                                  quote=str(c.get("quote", "")), quote_en=str(c.get("quote_en", "")),
                                  reading=str(c.get("reading", "")))

                    def where_of(key: str | None, _q: tuple = qpath, _d: Any = doc) -> tuple[str, int, int]:
                        return _d.where(_q + (("cite", key) if key else ("cite",)))

                    where_of.keys = set(c)  # type: ignore[attr-defined]
                    self.check_evidence(f"{sid}:{dotted}", ev, where_of, required=True, need_reading=False)
            self.scenario_rows.append(row)
        self.levers = len(seen_levers)
        self.overrides = len(seen_overrides)

    def run(self) -> AuditReport:
        self.L = load_lenient(self.roots)
        self.reg = self.L.registry
        self.found += self.L.problems
        self.bib: Bibliography = load_bibliography(self.roots)
        for pid in sorted(self.reg.params):
            self.check_entry(self.reg.params[pid])
        self.check_derived()
        self.check_scenarios()
        self.note_target_sources()
        self.check_bibliography()
        kinds = Counter(p.kind for p in self.reg.params.values())
        by_file: dict[str, Counter] = {}
        for p in self.reg.params.values():
            by_file.setdefault(Path(p.file).name, Counter())[p.kind] += 1
        assumptions = [{"id": p.id, "value": _jsonable(p.value), "low": _jsonable(p.low), "high": _jsonable(p.high),
                        "unit": p.unit, "rationale": normalise(p.rationale)}
                       for p in sorted(self.reg.params.values(), key=lambda p: p.id) if p.kind == "assumption"]
        problems = sorted(set(self.found), key=lambda f: (f.file, f.line, f.col, f.id, f.message))
        return AuditReport(
            root=" + ".join(str(r) for r in self.roots), parameters=len(self.reg.params), kinds=dict(kinds),
            by_file=dict(sorted(by_file.items())), levers=self.levers, overrides=self.overrides,
            problems=problems, quotes_checked=self.quotes_checked, quotes_found=self.quotes_found,
            quotes_unchecked=self.quotes_unchecked, sources_dir=str(self.sources) if self.sources else None,
            bibliography_entries=len(self.bib.entries), bibliography_cited=len(self.used_sources),
            bibliography_mentioned=self.mentioned, scenarios=self.scenario_rows, assumptions=assumptions,
            used_by_scenarios=len(self.used_ids & set(self.reg.params)))


def audit(root: str | Path | list[Path] | None = None, sources: str | Path | None = None,
          scenarios: str | Path | None = None, study: str | Path | None = None) -> AuditReport:
    """Audit the registry under ``root`` (one calibration folder or several; by default the
    shipped registry plus the study's found from ``study`` or the working folder).

    ``sources`` is the folder of seed texts (``NNN_*.txt``); without it seed quotes are counted
    as unchecked. ``scenarios`` defaults to the study folder's ``*.yaml`` when there is a study,
    else ``scenarios/`` beside the calibration folder.
    """
    if study is not None and not Path(study).is_dir():
        raise BadInput([Problem(str(study), 1, 1, "study: not a folder", "give a study folder made by 'batsim init'")])
    roots = [_display(r) for r in (as_roots(root) if root is not None else calibration_roots(study))]
    for r in roots:
        if not (r / "parameters").is_dir():
            raise BadInput([Problem(str(r / "parameters"), 1, 1, "parameter registry folder not found",
                                    f"a calibration folder holds parameters/*.yaml; unset {ENV} or point it at one")])
    if scenarios is None and study is not None and len(roots) == 1 and root is None:
        scenarios = study   # a study without its own registry: audit its scenarios against the shipped one
    s = None
    if sources is not None:
        s = Path(sources)
        if not s.is_dir():
            raise BadInput([Problem(str(s), 1, 1, "--sources: not a folder",
                                    "give the folder holding the seed texts NNN_*.txt, e.g. ../shared/seeds")])
    return _Auditor(roots, s, Path(scenarios) if scenarios is not None else None).run()


# ---- helpers ----------------------------------------------------------------------------------

def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Every cycle (strongly connected component of more than one node, or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan; graphs are small, recursion depth is fine
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, []):
                out.append(_cycle_order(sorted(comp), graph))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _cycle_order(comp: list[str], graph: dict[str, list[str]]) -> list[str]:
    """A walk around the component starting at its smallest id (for a readable message)."""
    members, path = set(comp), [comp[0]]
    while True:
        nxt = [w for w in graph[path[-1]] if w in members]
        step = next((w for w in nxt if w not in path), None)
        if step is None:
            return path
        path.append(step)


def _topo(graph: dict[str, list[str]], skip: set[str]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(v: str) -> None:
        if state.get(v) == 2 or v in skip:
            return
        if state.get(v) == 1:
            return
        state[v] = 1
        for w in graph.get(v, []):
            if w in graph:
                visit(w)
        state[v] = 2
        order.append(v)

    for v in sorted(graph):
        visit(v)
    return order


def _display(p: Path) -> Path:
    """``p`` relative to the working directory when it lies below it (shorter messages)."""
    try:
        return p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return p


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


def fmt_value(v: Any) -> str:
    """A value for people: dates ISO, integers without a fraction, large ones with separators."""
    if v is None:
        return "-"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)):
        x = float(v)
        if not math.isfinite(x):
            return str(x)
        if x == int(x) and abs(x) < 1e15:
            return f"{int(x):,}" if abs(x) >= 10000 else str(int(x))
        return f"{x:.6g}"
    return str(v)


def format_text(rep: AuditReport) -> str:
    """The human report: coverage table, assumptions, then every problem."""
    out = []
    cols = list(KINDS)
    w = max([len("registry file")] + [len(f) for f in rep.by_file] + [len("total")])
    head = f"{'registry file':<{w}}  " + "  ".join(f"{c:>10}" for c in cols) + f"  {'total':>6}"
    out.append(f"batsim audit of {rep.root}")
    out.append("")
    out.append(head)
    out.append("-" * len(head))
    for f, c in rep.by_file.items():
        out.append(f"{f:<{w}}  " + "  ".join(f"{c.get(k, 0):>10}" for k in cols) + f"  {sum(c.values()):>6}")
    out.append("-" * len(head))
    out.append(f"{'total':<{w}}  " + "  ".join(f"{rep.kinds.get(k, 0):>10}" for k in cols) + f"  {rep.parameters:>6}")
    out.append("")
    ok_s = sum(1 for s in rep.scenarios if s.get("ok"))
    out.append(f"scenarios       {len(rep.scenarios)} compiled against the registry, {ok_s} without problems; "
               f"{rep.levers} lever(s) and {rep.overrides} cited override(s) in them; "
               f"{rep.used_by_scenarios} of {rep.parameters} registry ids feed a scenario")
    seeds = f" against {rep.sources_dir}" if rep.sources_dir else ""
    out.append(f"quotes          {rep.quotes_found} of {rep.quotes_checked} found verbatim in their source texts{seeds}")
    if rep.quotes_unchecked:
        out.append(f"                {rep.quotes_unchecked} seed quote(s) not checked: pass --sources DIR (the seed folder)")
    out.append(f"bibliography    {rep.bibliography_entries} entries, {rep.bibliography_cited} cited as evidence or "
               f"nearest reference" + (f", {len(rep.bibliography_mentioned)} named only in notes "
                                       f"({', '.join(rep.bibliography_mentioned)})" if rep.bibliography_mentioned else ""))
    out.append("")
    out.append(f"assumptions ({len(rep.assumptions)}): no source states these; sweeps explore their ranges")
    for a in rep.assumptions:
        rng = f"[{fmt_value(a['low'])}, {fmt_value(a['high'])}]" if a["low"] is not None else "[no range]"
        first = re.split(r"(?<=[a-z0-9)\]'\"])\.\s+(?=[A-Z])", a["rationale"], maxsplit=1)[0].rstrip(".") + "."
        if len(first) > 110:
            first = first[:107] + "..."
        out.append(f"  {a['id']} = {fmt_value(a['value'])} {rng} {a['unit']}: {first}")
    out.append("")
    if rep.problems:
        out.append(f"problems ({len(rep.problems)}):")
        out.extend(str(p) for p in rep.problems)
    else:
        out.append("problems: none")
    return "\n".join(out) + "\n"

"""The parameter catalogue: a Markdown data dictionary generated from the registry.

``docs/parameters.md`` is this module's output, committed, and a test regenerates it and
compares, so it never drifts from ``calibration/parameters/*.yaml``. Regenerate with::

    python -m sim.provenance.catalogue            # writes docs/parameters.md
    python -m sim.provenance.catalogue --check    # exit 1 if it is out of date
    batsim params --format markdown               # the same text on stdout
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .audit import fmt_value
from .bibliography import Bibliography, describe, load_bibliography
from .explain import derived_range, nominal
from .registry import KINDS, Parameter, Registry, find_calibration, load_registry

HEADER = ("<!-- Generated from calibration/parameters/*.yaml by `python -m sim.provenance.catalogue`; "
          "do not edit by hand. -->")


def _cell(s: Any) -> str:
    return " ".join(str(s).split()).replace("|", "\\|")


def _rel(reg: Registry, f: str) -> str:
    try:
        return Path(f).resolve().relative_to(Path(reg.root).resolve().parent).as_posix()
    except ValueError:
        return Path(f).name


def value_text(reg: Registry, p: Parameter) -> str:
    """Nominal value with unit (derived entries evaluated)."""
    v = nominal(reg, p.id) if p.kind == "derived" and p.id in reg else p.value
    return fmt_value(v) if p.is_date or v is None else f"{fmt_value(v)} {p.unit}"


def range_text(reg: Registry, p: Parameter) -> str:
    """``low – high`` (derived: over the corners of the inputs' ranges), or '' for a point."""
    if p.kind == "derived":
        r = derived_range(reg, p.id) if p.id in reg else None
        return f"{fmt_value(r[0])} – {fmt_value(r[1])}" if r else ""
    return f"{fmt_value(p.low)} – {fmt_value(p.high)}" if p.low is not None and p.high is not None else ""


def source_text(p: Parameter) -> str:
    """A short statement of where the value comes from, for tables."""
    if p.kind == "derived":
        return f"= {p.formula}"
    if p.kind == "assumption":
        ref = p.nearest_reference.get("source") if p.nearest_reference else None
        return "assumption" + (f" (nearest: {ref})" if ref else "")
    if p.kind == "lever":
        return "lever: " + (p.rationale or "")
    if p.kind == "calibrated":
        return "calibrated to " + str(p.calibration.get("target", "?"))
    return ", ".join(dict.fromkeys(e.source for e in p.evidence))


def render(reg: Registry, bib: Bibliography | None = None, params: Sequence[Parameter] | None = None,
           title: str = "Parameter catalogue") -> str:
    """The catalogue of ``params`` (default: the whole registry) as Markdown."""
    bib = bib if bib is not None else load_bibliography(reg.roots)
    ps = sorted(params if params is not None else reg.params.values(), key=lambda p: p.id)
    kinds = Counter(p.kind for p in ps)
    out = ([HEADER, ""] if params is None else []) + [f"# {title}", ""]
    out.append("Every number the model uses, with its unit, range, kind and evidence, generated from the "
               "registry (`calibration/parameters/*.yaml`; format in `calibration/README.md`). "
               "`batsim explain ID` shows the same for one id, with the scenarios that use it; "
               "`batsim audit --sources ../shared/seeds --strict` checks every quote against its source.")
    out.append("")
    counts = ", ".join(f"{kinds.get(k, 0)} {k}" for k in list(KINDS) + sorted(set(kinds) - set(KINDS)))
    out.append(f"**{len(ps)} parameters**: {counts}.")
    out.append("")
    out += ["## Summary", "", "| id | value | range | kind | source |", "|---|---|---|---|---|"]
    for p in ps:
        out.append(f"| [`{p.id}`](#{_anchor(p.id)}) | {_cell(value_text(reg, p))} | {_cell(range_text(reg, p))} | "
                   f"{p.kind} | {_cell(source_text(p))} |")
    out.append("")
    out.append("## Entries")
    topic = None
    used_sources: set[str] = set()
    for p in ps:
        t = p.id.split(".", 1)[0].split(":", 1)[0]
        if t != topic:
            topic = t
            out += ["", f"### {t}"]
        out += ["", f"#### {p.id}", ""]
        if p.name:
            out += [_cell(p.name), ""]
        rng = range_text(reg, p)
        line = f"- **value** {value_text(reg, p)}"
        if rng:
            line += f"; range {rng}" + (" (over the corners of its inputs' ranges)" if p.kind == "derived"
                                        else f", {p.distribution}" if p.uncertain else "")
        out.append(line)
        out.append(f"- **kind** {p.kind}")
        if p.formula:
            out.append(f"- **formula** `{p.formula}`")
        for e in p.evidence:
            used_sources.add(e.source)
            out.append(f"- **source** [`{e.source}`](#ref-{_anchor(e.source)}), {_cell(e.locator)}")
            out.append(f"  > {_cell(e.quote)}")
            if e.quote_en:
                out += ["  >", f"  > *English:* {_cell(e.quote_en)}"]
            if e.reading:
                out.append(f"  - *reading:* {_cell(e.reading)}")
        if p.rationale:
            out.append(f"- **rationale** {_cell(p.rationale)}")
        nr = p.nearest_reference
        if nr:
            src = str(nr.get("source", ""))
            used_sources.add(src)
            note = f": {_cell(nr['note'])}" if nr.get("note") else ""
            out.append(f"- **nearest reference** [`{src}`](#ref-{_anchor(src)}), {_cell(nr.get('locator', ''))}{note}")
        for k, v in (p.calibration or {}).items():
            out.append(f"- **calibration {k}** {_cell(v)}")
        if p.notes:
            out.append(f"- **notes** {_cell(p.notes)}")
        out.append(f"- **defined in** `{_rel(reg, p.file)}`")
    out += ["", "## References", ""]
    for sid in sorted(used_sources if params is not None else set(bib.ids()) | used_sources):
        e = bib.get(sid)
        out.append(f"- <a id=\"ref-{_anchor(sid)}\"></a>`{sid}`: "
                   + (_cell(describe(e)) if e else "(not in the bibliography)"))
    return "\n".join(out) + "\n"


def _anchor(s: str) -> str:
    """The GitHub heading anchor of ``s`` (lowercase, punctuation dropped, spaces to '-')."""
    return "".join(c for c in s.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def default_path(root: Path | None = None) -> Path:
    """Where the catalogue is committed: ``docs/parameters.md`` beside ``calibration/``."""
    return (root or find_calibration()).parent / "docs" / "parameters.md"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) docs/parameters.md."""
    ap = argparse.ArgumentParser(prog="python -m sim.provenance.catalogue", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed catalogue is out of date")
    ap.add_argument("--out", type=Path, default=None, help="output file (default docs/parameters.md)")
    args = ap.parse_args(argv)
    reg = load_registry()
    text = render(reg)
    out = args.out or default_path(Path(reg.root))
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date; run: python -m sim.provenance.catalogue", file=sys.stderr)
            return 1
        print(f"{out} is current")
        return 0
    from ..outputs.atomic import write_text

    write_text(out, text)
    print(f"wrote {out} ({len(reg.params)} parameters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Check a scenario's cited overrides: a known source, a locator, and a quote its stored text holds.

An override ``{value: V, unit: U, cite: {source, locator, quote}}`` is recorded as ``kind: cited``,
so it must be as checkable as a registry entry: the source is in the bibliography (shipped or
the study's), locator and quote are not blank, and for an external source the quote appears
verbatim (whitespace aside) in its stored text ``calibration/sources/<id>.txt``. Seed sources
(``seedNNN``) live outside the registry; their quotes are checked by
``batsim audit --sources DIR``.
"""
from __future__ import annotations

from difflib import get_close_matches
from typing import Any, Iterable

from ..core.errors import Problem
from ..paths import find_in_roots
from ..provenance.audit import normalise
from ..provenance.bibliography import SEED_RE, load_bibliography
from ..provenance.registry import Registry
from .load import Document


def cite_problems(doc: Document, reg: Registry, overrides: Iterable[tuple[tuple, dict[str, Any]]]) -> list[Problem]:
    """Every problem with the ``cite:`` of each override ``(path, raw quantity)``."""
    out: list[Problem] = []
    bib = None
    for qpath, raw in overrides:
        c = raw.get("cite")
        if not isinstance(c, dict):
            continue
        bib = bib if bib is not None else load_bibliography(reg.roots)
        at = qpath + ("cite",)
        src = str(c.get("source") or "")
        for key, hint in (("locator", "say where in the source: paragraph, page or table, e.g. 'p. 3'"),
                          ("quote", "copy the passage verbatim from the source, in its language")):
            if not str(c.get(key) or "").strip():
                out.append(doc.problem(at + ((key,) if key in c else ()), f"cite has no {key}", hint))
        if src not in bib:
            near = get_close_matches(src, bib.ids(), n=1, cutoff=0.6)
            out.append(doc.problem(at + ("source",), f"cite: unknown source '{src}'",
                                   f"did you mean '{near[0]}'?" if near else
                                   "add a CSL-JSON entry to calibration/bibliography/*.json (the study's own folder "
                                   "or the shipped one); 'batsim cite' lists the known ids"))
            continue
        quote = str(c.get("quote") or "")
        if SEED_RE.match(src) or not quote.strip():
            continue   # seed texts are checked by `batsim audit --sources DIR`
        f = find_in_roots(reg.roots, "sources", f"{src}.txt")
        if f is None:
            out.append(doc.problem(at + ("source",), f"cite: no stored text for source '{src}'",
                                   f"store the passage read in calibration/sources/{src}.txt so the quote can be checked"))
        elif normalise(quote) not in normalise(f.read_text(encoding="utf-8")):
            out.append(doc.problem(at + ("quote",), f"cite: quote not found verbatim in {f}",
                                   "copy the passage exactly; only whitespace may differ"))
    return out

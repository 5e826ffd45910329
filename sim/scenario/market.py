"""The ``market:`` section: each importer compiled as a scenario of its own (base + its patch).

An importer's patch is deep-merged over the base scenario (mappings key by key, a quantity or a
list replaced whole) with the importer's code as ``importer:``; the merged document keeps the
file, line and column of every value (patched values point into the ``market:`` section), and
goes through the ordinary compile path, so every quantity is checked and cited. The market's own
checks (importers are regions, routes exist in the base, every material has an origin, shared
capacity on existing routes) are here too; all problems are reported together.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np

from ..core.errors import BadInput, Problem
from .load import Document, is_quantity
from .slots import PATCHABLE


def importer_codes(data: dict) -> list[str]:
    """The importers of a scenario: its ``importer`` first, then the market's other importers."""
    others = list(((data.get("market") or {}).get("importers") or {}))
    return [data.get("importer")] + [c for c in others if c != data.get("importer")]


def importer_document(doc: Document, code: str) -> Document:
    """The base document with importer ``code``'s patch merged in, positions kept."""
    d = doc.data
    patch = ((d.get("market") or {}).get("importers") or {}).get(code) or {}
    prefix = ("market", "importers", code)
    out = Document(data={}, files=list(doc.files),
                   values={p: v for p, v in doc.values.items() if p[:1] != ("market",)},
                   keys={p: v for p, v in doc.keys.items() if p[:1] != ("market",)},
                   replaced={p: v for p, v in doc.replaced.items() if p[:1] != ("market",)})
    for p, v in doc.replaced.items():
        if p[:3] == prefix:
            out.replaced[p[3:]] = v
    data = {k: copy.deepcopy(v) for k, v in d.items() if k != "market"}
    for sec in PATCHABLE:
        if sec in patch:
            data[sec] = _merge(data.get(sec), patch[sec], (sec,), prefix, doc, out)
    data["importer"] = code
    data["id"] = f"{d.get('id', 'scenario')}.importer-{str(code).lower()}"
    # other importers' codes stay known (phases may name them as destinations); no patches
    data["market"] = {"clearing": d["market"]["clearing"], "importers": {c: {} for c in importer_codes(d) if c != code}}
    out.data = data
    return out


def _copy_pos(doc: Document, src: tuple, dst: tuple, out: Document) -> None:
    n = len(src)
    for table, target in ((doc.values, out.values), (doc.keys, out.keys)):
        for p, pos in table.items():
            if p[:n] == src:
                target[dst + p[n:]] = pos


def _merge(base: Any, patch: Any, rel: tuple, prefix: tuple, doc: Document, out: Document) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict) and not is_quantity(patch):
        merged = dict(base)
        for k, v in patch.items():
            merged[k] = _merge(base.get(k), v, rel + (k,), prefix, doc, out)
        return merged
    for table in (out.values, out.keys):
        for p in [p for p in table if p[:len(rel)] == rel and len(p) > len(rel)]:
            del table[p]
    _copy_pos(doc, prefix + rel, rel, out)
    if is_quantity(patch) and isinstance(base, dict) and isinstance(base.get("param"), str):
        out.replaced[rel] = base["param"]
    return copy.deepcopy(patch)


def market_problems(doc: Document, reg: Any, compile_fn: Any, base_problems: list[Problem]) -> tuple[list[Problem], dict]:
    """Problems of the ``market:`` section and of each importer compiled alone; the importers' Scenarios."""
    d = doc.data
    mk = d.get("market") or {}
    problems: list[Problem] = []
    regions = set(d.get("regions") or {})
    supply = d.get("supply") or {}
    scns: dict[str, Any] = {}
    for code, patch in (mk.get("importers") or {}).items():
        where = ("market", "importers", code)
        if code not in regions:
            problems.append(doc.problem(where, f"importer '{code}' is not a region",
                                        "each importer is a key of regions: (add it there)", key=True))
            continue
        if code == d.get("importer"):
            problems.append(doc.problem(where, f"importer '{code}' is the scenario's own importer",
                                        "market.importers lists the other importing regions", key=True))
            continue
        for m, origins in ((patch or {}).get("supply") or {}).items():
            for o in (origins or {}):
                if o not in (supply.get(m) or {}):
                    problems.append(doc.problem(where + ("supply", m, o), f"importer '{code}' patches route "
                                                f"{m} from {o}, which the base scenario has no link for",
                                                f"add supply.{m}.{o} to the base scenario (share 0 if its own "
                                                "importer does not use it)", key=True))
        try:
            scns[code] = compile_fn(importer_document(doc, code), reg, check_cites=False, nested=True)
            problems += _nominal_shares(scns[code], code, doc)
        except BadInput as exc:
            seen = {(p.file, p.line, p.col) for p in base_problems + problems}
            problems += [replace(p, message=f"importer {code}: {p.message}") for p in exc.problems
                         if (p.file, p.line, p.col) not in seen]
    for m in d.get("materials") or {}:
        if not (supply.get(m) or {}):
            problems.append(doc.problem(("materials", m), f"no origin supplies material '{m}'",
                                        f"add supply.{m} with at least one origin, or remove the material", key=True))
    for m, origins in (mk.get("capacity") or {}).items():
        for o in (origins or {}):
            if o not in (supply.get(m) or {}):
                problems.append(doc.problem(("market", "capacity", m, o), f"shared capacity for {m} from {o}, "
                                            "a route no importer has", f"add supply.{m}.{o}, or remove this entry",
                                            key=True))
    for m, origins in (mk.get("investment") or {}).items():
        for o in (origins or {}):
            if o not in (supply.get(m) or {}):
                problems.append(doc.problem(("market", "investment", m, o), f"investment in {m} at {o}, a route "
                                            "no importer has", f"add supply.{m}.{o}, or remove this entry", key=True))
    return problems, scns


def _nominal_shares(scn_i: Any, code: str, doc: Document) -> list[Problem]:
    """Each material's preferred shares for importer ``code`` sum to 1 at nominal values (derived
    shares included, which the static check cannot add up)."""
    from .compile import resolve

    res = resolve(scn_i, samples=1)
    out = []
    for m, origins in (scn_i.data.get("supply") or {}).items():
        total = sum(float(res.slots[f"supply.{m}.{o}.share"][0]) for o in origins or {}
                    if f"supply.{m}.{o}.share" in res.slots)
        if abs(total - 1.0) > 1e-6:
            patched = ("market", "importers", code, "supply", m)
            where = patched if patched in doc.values or patched in doc.keys else ("supply", m)
            out.append(doc.problem(where, f"importer {code}: preferred shares of '{m}' sum to {total:g}, not 1 "
                                   "(nominal values)", "shares split each material's orders across origins; "
                                   "patch the other origins' shares too"))
    return out


def importer_resolved(res: Any, scn_i: Any, code: str) -> Any:
    """Importer ``code``'s per-sample values: the base run's draws, its patch's where it has one."""
    from .compile import Resolved

    pre = f"market.importers.{code}."
    slots = {}
    for p in scn_i.quantities:
        v = res.slots.get(pre + p)
        slots[p] = v if v is not None else res.slots[p]
    return Resolved(samples=res.samples, by_id=res.by_id, slots=slots, sampled=res.sampled)


def willingness(res: Any, code: str) -> np.ndarray:
    """(S,) importer ``code``'s willingness to pay (1 unless the scenario says)."""
    v = res.slots.get(f"market.importers.{code}.willingness")
    return np.ones(res.samples) if v is None else v

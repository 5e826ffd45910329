"""Load a scenario file, following ``extends:`` chains, keeping where each value came from.

A child scenario states only what differs from its base: mappings merge key by key, lists of
items with an ``id`` merge item by item (``remove: true`` drops an inherited item), other
values replace. Every value in the merged document keeps the file, line and column it was
written at, so a problem found after merging still points at the right place.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import BadInput, Problem
from ..core.yamlio import Located, load_file
from .extends import resolve_extends

MAX_EXTENDS_DEPTH = 8
Pos = tuple[str, int, int]


@dataclass
class Document:
    """A merged scenario document with the source position of each value and key."""

    data: dict[str, Any]
    files: list[Path]
    values: dict[tuple, Pos] = field(default_factory=dict)
    keys: dict[tuple, Pos] = field(default_factory=dict)

    @property
    def main_file(self) -> str:
        return str(self.files[-1])

    def where(self, path: tuple, key: bool = False) -> Pos:
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (self.main_file, 1, 1))

    def problem(self, path: tuple, message: str, hint: str = "", key: bool = False) -> Problem:
        f, line, col = self.where(path, key)
        where = ".".join(str(x) for x in path)
        text = f"{where}: {message}" if where else message
        return Problem(f, line, col, text, hint)

    def sha256(self) -> dict[str, str]:
        return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in self.files}


def _positions(loc: Located, path: tuple, new_path: tuple, doc: Document) -> None:
    """Copy the positions of ``loc`` under ``path`` into ``doc`` re-rooted at ``new_path``."""
    n = len(path)
    for table, target in ((loc.values, doc.values), (loc.keys, doc.keys)):
        for p, (line, col) in table.items():
            if p[:n] == path:
                target[new_path + p[n:]] = (loc.file, line, col)


def is_quantity(v: Any) -> bool:
    """True for a quantity mapping ({param}, {lever, ..} or {value, ..}), which a child replaces whole."""
    return isinstance(v, dict) and bool({"param", "lever", "value"} & set(v)) and "id" not in v


def _merge(base: Any, base_path: tuple, child: Any, child_loc: Located, child_path: tuple,
           out_path: tuple, doc: Document) -> Any:
    if isinstance(base, dict) and isinstance(child, dict) and not is_quantity(child):
        out = dict(base)
        for k, v in child.items():
            if k == "extends" and out_path == ():
                continue
            if k in base:
                out[k] = _merge(base[k], base_path + (k,), v, child_loc, child_path + (k,), out_path + (k,), doc)
            else:
                out[k] = v
                _positions(child_loc, child_path + (k,), out_path + (k,), doc)
            doc.keys[out_path + (k,)] = (child_loc.file, *child_loc.where(child_path + (k,), key=True))
        return out
    if (isinstance(base, list) and isinstance(child, list) and all(isinstance(x, dict) and "id" in x for x in base)
            and all(isinstance(x, dict) and "id" in x for x in child)):
        by_id = {x["id"]: i for i, x in enumerate(base)}
        old_values = {p: v for p, v in doc.values.items() if p[:len(out_path)] == out_path}
        old_keys = {p: v for p, v in doc.keys.items() if p[:len(out_path)] == out_path}
        merged: list[tuple[Any, Any]] = [(x, ("base", i)) for i, x in enumerate(base)]
        for j, item in enumerate(child):
            if item["id"] in by_id:
                i = by_id[item["id"]]
                merged[i] = (item, ("merge", i, j))
            else:
                merged.append((item, ("child", j)))
        for p in old_values:
            doc.values.pop(p, None)
        for p in old_keys:
            doc.keys.pop(p, None)
        result = []
        for item, how in merged:
            if item.get("remove") is True:
                continue
            k = len(result)
            if how[0] == "base":
                _reroot(old_values, old_keys, out_path + (how[1],), out_path + (k,), doc)
                result.append(item)
            elif how[0] == "child":
                _positions(child_loc, child_path + (how[1],), out_path + (k,), doc)
                result.append(item)
            else:
                _reroot(old_values, old_keys, out_path + (how[1],), out_path + (k,), doc)
                result.append(_merge(base[how[1]], base_path + (how[1],), item, child_loc,
                                     child_path + (how[2],), out_path + (k,), doc))
        doc.values[out_path] = (child_loc.file, *child_loc.where(child_path))
        return result
    # replace: drop the base's positions below this path, take the child's
    for table in (doc.values, doc.keys):
        for p in [p for p in table if p[:len(out_path)] == out_path and len(p) > len(out_path)]:
            del table[p]
    _positions(child_loc, child_path, out_path, doc)
    return child


def _reroot(values: dict, keys: dict, old: tuple, new: tuple, doc: Document) -> None:
    n = len(old)
    for src, dst in ((values, doc.values), (keys, doc.keys)):
        for p, pos in src.items():
            if p[:n] == old:
                dst[new + p[n:]] = pos


def load_document(path: str | Path, _chain: tuple[Path, ...] = ()) -> Document:
    """Load ``path`` and its ``extends:`` ancestors into one merged :class:`Document`."""
    p = Path(path)
    loc = load_file(p)
    if not isinstance(loc.data, dict):
        raise BadInput([Problem(str(p), 1, 1, "a scenario must be a mapping of keys to values",
                                "start with 'id:', 'calendar:' ... or 'extends:'")])
    data = loc.data
    ext = data.get("extends")
    resolved = p.resolve()
    if ext is None:
        doc = Document(data=data, files=[p])
        _positions(loc, (), (), doc)
        return doc
    line, col = loc.where(("extends",))
    chain = _chain + (resolved,)
    base_path = resolve_extends(ext, p, chain[0], Problem(str(p), line, col, ""))
    if base_path.resolve() in chain:
        cycle = " -> ".join(str(c.name) for c in chain + (base_path.resolve(),))
        raise BadInput([Problem(str(p), line, col, f"extends: cycle {cycle}", "a scenario cannot extend itself, directly or not")])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise BadInput([Problem(str(p), line, col, f"extends: chain deeper than {MAX_EXTENDS_DEPTH}")])
    base = load_document(base_path, chain)
    doc = Document(data={}, files=base.files + [p], values=dict(base.values), keys=dict(base.keys))
    doc.data = _merge(base.data, (), data, loc, (), (), doc)
    doc.data.pop("extends", None)
    doc.values[()] = (str(p), 1, 1)
    return doc

"""Safe, bounded YAML loading that remembers where every value came from.

PyYAML's safe loader is used to parse; we build the Python objects ourselves so that we can
(1) record the line and column of every key and value, for ``FILE:LINE:COL`` messages,
(2) bound the work: file size, node count (aliases are counted each time they expand, so an
alias bomb stops early), nesting depth, and (3) reject duplicate keys instead of silently
keeping the last one.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput, Problem, bad

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 40

try:  # the C parser is several times faster; both are safe loaders
    _Loader = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on the build of PyYAML
    _Loader = yaml.SafeLoader

PathT = tuple  # a key path like ("policies", "export_controls", 0, "effective")


@dataclass
class Located:
    """A parsed document plus the position of every value and key, by key path."""

    file: str
    data: Any
    values: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathT, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathT, key: bool = False) -> tuple[int, int]:
        """Line and column of ``path`` (its key if ``key``), falling back to the nearest parent."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: PathT, message: str, hint: str = "", key: bool = False) -> Problem:
        line, col = self.where(path, key=key)
        return Problem(self.file, line, col, message, hint)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.nodes = 0
        self.located = Located(file, None)
        self.problems: list[Problem] = []
        self._scalar = yaml.constructor.SafeConstructor()

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def build(self, node: yaml.Node, path: PathT, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            line, col = self._mark(node)
            raise bad(self.file, f"document expands to more than {MAX_NODES} nodes",
                      "an alias/anchor chain that multiplies (a 'YAML bomb') or a file far larger "
                      "than any scenario; remove the aliases", line, col)
        if depth > MAX_DEPTH:
            line, col = self._mark(node)
            raise bad(self.file, f"nesting deeper than {MAX_DEPTH} levels", "flatten the document", line, col)
        self.located.values[path] = self._mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    line, col = self._mark(knode)
                    self.problems.append(Problem(self.file, line, col, "YAML merge keys ('<<') are not supported",
                                                 "write the keys out, or use 'extends:' to build on another scenario"))
                    continue
                key = self.build(knode, path + ("<key>",), depth + 1)
                if isinstance(key, (list, dict)):
                    line, col = self._mark(knode)
                    self.problems.append(Problem(self.file, line, col, "a mapping key must be a plain value"))
                    continue
                if isinstance(key, (_dt.date,)):
                    key = key.isoformat()
                if key in out:
                    line, col = self._mark(knode)
                    self.problems.append(Problem(self.file, line, col, f"duplicate key '{key}'",
                                                 "each key may appear once in a mapping"))
                    continue
                self.located.keys[path + (key,)] = self._mark(knode)
                out[key] = self.build(vnode, path + (key,), depth + 1)
            self.located.values.pop(path + ("<key>",), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, path + (i,), depth + 1) for i, v in enumerate(node.value)]
        value = self._scalar.construct_object(node)
        if isinstance(value, float) and not math.isfinite(value):
            line, col = self._mark(node)
            self.problems.append(Problem(self.file, line, col, f"number '{node.value}' is not finite",
                                         "NaN and infinity are not valid inputs; give a finite number"))
        if isinstance(value, bytes):
            line, col = self._mark(node)
            self.problems.append(Problem(self.file, line, col, "binary values are not supported"))
        return value


def load_text(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into a :class:`Located`; raise BadInput for anything malformed."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise bad(file, f"file is larger than {MAX_BYTES // 1000} kB", "scenario files are small; is this the right file?")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"malformed YAML: {exc.problem or exc.context}"
        raise bad(file, msg, "check indentation, colons and quotes near this position", line, col) from None
    except yaml.YAMLError as exc:
        raise bad(file, f"malformed YAML: {exc}") from None
    if node is None:
        raise bad(file, "file is empty", "a scenario needs at least 'id' and 'calendar' (or 'extends')")
    b = _Builder(file)
    b.located.data = b.build(node, (), 0)
    if b.problems:
        raise BadInput(b.problems)
    return b.located


def load_file(path: str | Path) -> Located:
    """Read and parse a YAML file with every guard: missing, directory, size, encoding."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise bad(name, "file not found", "check the path; scenarios live in scenarios/")
    if p.is_dir():
        raise bad(name, "is a directory, not a YAML file", "name a .yaml file inside it")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise bad(name, f"file is larger than {MAX_BYTES // 1000} kB ({size} bytes)",
                      "scenario and registry files are small; is this the right file?")
        raw = p.read_bytes()
    except OSError as exc:
        raise bad(name, f"cannot read file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(name, f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from None
    if not text.strip():
        raise bad(name, "file is empty", "a scenario needs at least 'id' and 'calendar' (or 'extends')")
    return load_text(text, name)

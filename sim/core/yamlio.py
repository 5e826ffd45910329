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
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput, Problem, bad, show

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
        if node.tag not in _SAFE_TAGS:
            line, col = self._mark(node)
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(Problem(self.file, line, col, f"YAML tag '{show(tag)}' is not allowed",
                                         "scenario files use plain values: remove the tag (nothing tagged is ever "
                                         "constructed or run)"))
            return None
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
                    self.problems.append(Problem(self.file, line, col, "a mapping key must be a plain value",
                                                 "keys are names like 'id' or 'graphite', not lists or mappings"))
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
        try:
            value = self._scalar.construct_object(node)
        except Exception as exc:  # PyYAML's constructors raise several types (e.g. !!timestamp x: AttributeError)
            line, col = self._mark(node)
            self.problems.append(Problem(self.file, line, col, f"cannot read value '{show(node.value)}': "
                                         f"{exc.__class__.__name__}", "write a plain number, date or string"))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            line, col = self._mark(node)
            self.problems.append(Problem(self.file, line, col, f"number '{node.value}' is not finite",
                                         "NaN and infinity are not valid inputs; give a finite number"))
        if isinstance(value, bytes):
            line, col = self._mark(node)
            self.problems.append(Problem(self.file, line, col, "binary values are not supported"))
        return value


_FORBIDDEN = re.compile(r"[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}


def _char_problems(text: str, file: str) -> list[Problem]:
    """Characters YAML does not allow (control characters, NUL, lone surrogates), each where it is."""
    out = []
    for m in _FORBIDDEN.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        out.append(Problem(file, line, col, f"control character {show(m.group())} (U+{ord(m.group()):04X}) is not "
                           "allowed in YAML", "delete it; inside a quoted string write it as an escape, e.g. \\t"))
        if len(out) >= 10:
            break
    return out


def load_text(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into a :class:`Located`; raise BadInput for anything malformed."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise bad(file, f"file is larger than {MAX_BYTES // 1000} kB", "scenario files are small; is this the right file?")
    chars = _char_problems(text, file)
    if chars:
        raise BadInput(chars)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"malformed YAML: {exc.problem or exc.context}"
        raise bad(file, msg, "check indentation, colons and quotes near this position", line, col) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise bad(file, f"malformed YAML: {exc.__class__.__name__}", "check the file's structure: is it YAML?") from None
    if node is None:
        raise bad(file, "file is empty", "a scenario needs at least 'id' and 'calendar' (or 'extends')")
    b = _Builder(file)
    b.located.data = b.build(node, (), 0)
    if b.problems:
        raise BadInput(b.problems)
    return b.located


def read_regular(path: str | Path, what: str = "file", max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, checked before reading; BadInput otherwise.

    Devices (/dev/zero, /dev/urandom), FIFOs, sockets and /dev/stdin are refused before anything is
    read (a FIFO is opened non-blocking, so a swapped-in one cannot hang us either); names with a NUL
    byte or too long for the system get a bounded message, never an OSError.
    """
    name = str(path)
    if "\x00" in name:
        raise bad(name, f"{what} name contains a NUL byte", "give a plain file path")
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise bad(name, f"{what} not found", "check the path; scenarios live in scenarios/") from None
    except OSError as exc:
        raise bad(name, f"cannot read {what}: {exc.strerror}", "check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise bad(name, "is a directory, not a YAML file", "name a .yaml file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise bad(name, f"is not a regular file ({_kind(st.st_mode)})",
                  f"a {what} must be a file on disk; devices, pipes and sockets are not read")
    if st.st_size > max_bytes:
        raise bad(name, f"file is larger than {max_bytes // 1000} kB ({st.st_size} bytes)",
                  "scenario and registry files are small; is this the right file?")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):   # replaced between stat and open
                raise bad(name, "is not a regular file", f"a {what} must be a file on disk")
            with os.fdopen(fd, "rb", closefd=False) as fh:
                raw = fh.read(max_bytes + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise bad(name, f"cannot read {what}: {exc.strerror}", "check the path and its permissions") from None
    if len(raw) > max_bytes:
        raise bad(name, f"file is larger than {max_bytes // 1000} kB", "is this the right file?")
    return raw


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO or pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a file"


def load_file(path: str | Path, what: str = "file") -> Located:
    """Read and parse a YAML file with every guard: missing, not a regular file, size, encoding."""
    name = str(path)
    raw = read_regular(path, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise bad(name, f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8", line, col) from None
    if not text.strip():
        raise bad(name, "file is empty", "a scenario needs at least 'id' and 'calendar' (or 'extends')")
    return load_text(text, name)

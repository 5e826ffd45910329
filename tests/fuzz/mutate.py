"""Mutations of scenario documents: structural (on the parsed data) and textual (on the YAML text).

Each mutation takes a ``random.Random`` and returns new YAML text plus a short label, so a
failing case can be reproduced from (seed, case index) alone. Structural mutations work on the
merged document of a shipped scenario (so every section gets hit, not only a child's few keys);
textual ones work on the file as shipped (so ``extends:``, tags, duplicate keys and control
characters reach the parser).
"""
from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any, Callable

import yaml

Path_ = tuple
EXTREME_NUMBERS = [0, -1, -0.0, 1e-308, 5e-324, 1e308, -1e308, 2 ** 63, -2 ** 63, 2 ** 200, 1e9, 1e5, 1e300,
                   float("nan"), float("inf"), float("-inf"), 0.5, 3650, 3651, 99999999999999999999]
BAD_UNITS = ["banana", "", " ", "GWh/", "9**9**9*GWh/year", "GWh**99999", "GWh" + "*GWh" * 3000, "t" * 20000,
             "1e999 GWh", "GWh/year/year", "m", "kg", "day**-1", "dimensionless*meter", "()" * 500, "GWh\x00",
             "(" * 2000, "10**10**10 t", "t/day" + "/day" * 500, "ГВт·ч", "t/year\n", "USD", "date", "%"]
BAD_DATES = ["2025-13-45", "9999-12-31", "0001-01-01", "2025-02-30", "1e5", "yesterday", "2025-1-1",
             dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(1900, 1, 1), dt.date(2200, 1, 1), 20250101, -1,
             "2025-01-01T00:00:00", "२०२५-०१-०१"]
STRINGS = ["", " ", "\n", "a" * 200_000, "a" * 5000, "x\x00y", "\x07\x1b[31mred", "é\u202e\u200bz", "🙂" * 100,
           "../../etc/passwd", "/etc/shadow", "a/b", "CON", ".", "..", "id\n", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")]
EXTENDS_TARGETS = ["/dev/zero", "/dev/urandom", "/dev/stdin", "/etc/shadow", "/etc/passwd", "/", ".", "nope.yaml",
                   "a\x00b.yaml", "a" * 5000 + ".yaml", "a" * 200_000, "../" * 50 + "etc/hosts", "fifo.yaml",
                   "self", "baseline.yaml\n", "", " ", "http://example.invalid/x.yaml", "dir.yaml", "binary.yaml",
                   "huge.yaml", "~/x.yaml", "${HOME}/x.yaml", "baseline.yaml"]
WRONG_TYPES: list[Any] = [None, True, 0, 1.5, "text", [], {}, [1, 2], {"a": 1}, [[[]]], {"param": 3},
                          {"lever": "1e3", "unit": "GWh/year", "why": "x"}, {"lever": [1], "unit": "t", "why": "x"}]
CONTROL = [chr(c) for c in list(range(0, 32)) + [127, 0x85, 0x2028, 0xFEFF, 0xFFFE]]
TAGS = ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!foo bar", "!!binary aGk=",
        "!!set {a, b}", "!!omap [{a: 1}]", "!!timestamp 2025-01-01", "!<tag:evil> x", "!!int 'x'", "!!float '1e999'"]


def paths(data: Any, path: Path_ = ()) -> list[Path_]:
    """Every key path in a document (mappings and lists), the root excluded."""
    out: list[Path_] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(path + (k,))
            out.extend(paths(v, path + (k,)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(path + (i,))
            out.extend(paths(v, path + (i,)))
    return out


def _get(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: Path_, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _pick(rng: random.Random, data: Any, want: Callable[[Path_, Any], bool]) -> Path_ | None:
    cands = [p for p in paths(data) if want(p, _get(data, p))]
    return rng.choice(cands) if cands else None


def _quantity(v: Any) -> bool:
    return isinstance(v, dict) and bool({"param", "lever", "value"} & set(v))


def m_delete(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: True)
    del _get(d, p[:-1])[p[-1]]
    return f"delete {p}"


def m_wrong_type(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: True)
    _set(d, p, copy.deepcopy(rng.choice(WRONG_TYPES)))
    return f"wrong type at {p}"


def m_extreme_number(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: _quantity(v))
    x = rng.choice(EXTREME_NUMBERS)
    q = _get(d, p)
    unit = rng.choice(["dimensionless", "day", "t/year", "GWh/year", "t", "1/year", "person", "t/GWh", "year"])
    q.clear()
    q.update({"lever": x, "unit": unit, "why": "fuzz"})
    if rng.random() < 0.3:
        q["range"] = {"low": rng.choice(EXTREME_NUMBERS), "high": rng.choice(EXTREME_NUMBERS)}
    return f"extreme {x!r} {unit} at {p}"


def m_bad_unit(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: _quantity(v))
    q = _get(d, p)
    q.clear()
    q.update({"lever": 1.0, "unit": rng.choice(BAD_UNITS), "why": "fuzz"})
    return f"bad unit at {p}"


def m_bad_date(rng: random.Random, d: dict) -> str:
    dates = [p for p in paths(d) if isinstance(_get(d, p), dt.date) or
             (_quantity(_get(d, p)) and _get(d, p).get("unit") == "date")]
    x = rng.choice(BAD_DATES)
    if dates and rng.random() < 0.7:
        p = rng.choice(dates)
        v = _get(d, p)
        if isinstance(v, dict):
            v.clear()
            v.update({"lever": x, "unit": "date", "why": "fuzz"})
        else:
            _set(d, p, x)
    else:
        p = ("calendar", rng.choice(["start", "end"]))
        d.setdefault("calendar", {})
        if isinstance(d["calendar"], dict):
            d["calendar"][p[1]] = x
    return f"bad date {x!r} at {p}"


def m_string(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: isinstance(v, str))
    if p is None:
        p = ("title",)
    _set(d, p, rng.choice(STRINGS))
    return f"string at {p}"


def m_control_in_string(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: isinstance(v, str)) or ("title",)
    s = str(_get(d, p)) if p != ("title",) or "title" in d else "t"
    i = rng.randrange(len(s) + 1)
    _set(d, p, s[:i] + rng.choice(CONTROL) + s[i:])
    return f"control char in {p}"


def m_key(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: isinstance(p[-1], str))
    parent = _get(d, p[:-1])
    new = rng.choice(["", "x" * 5000, "a\nb", "é", "1", "ID", p[-1] + "x", p[-1].upper(), "<<", "$ref", "__class__"])
    parent[new] = parent.pop(p[-1])
    return f"rename key {p} -> {new[:20]!r}"


def m_deep(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: True)
    depth = rng.choice([10, 39, 41, 60, 200])
    v: Any = 1
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"a": v}
    _set(d, p, v)
    return f"nest {depth} at {p}"


def m_list_for_id(rng: random.Random, d: dict) -> str:
    p = _pick(rng, d, lambda p, v: p[-1] in ("id", "material", "origin", "region", "product", "importer", "group",
                                              "destination", "param"))
    p = p or ("id",)
    _set(d, p, rng.choice([["a", "b"], {"a": 1}, 7, None, "x" * 300, "x\n", "a/b", "CN\n"]))
    return f"list/odd where an id belongs at {p}"


def m_drop_field(rng: random.Random, d: dict) -> str:
    """Delete a field a list item needs (e.g. a sourcing rule's material)."""
    items = [p for p in paths(d) if isinstance(_get(d, p), dict) and "id" in _get(d, p) and isinstance(p[-1], int)]
    if not items:
        return m_delete(rng, d)
    p = rng.choice(items)
    item = _get(d, p)
    k = rng.choice([k for k in item if k != "id"] or ["id"])
    del item[k]
    return f"drop {k} of {p}"


def m_zero(rng: random.Random, d: dict) -> str:
    """A valid-but-edge value: zero demand, capacity, utilisation, growth -1, far-away dates."""
    p = _pick(rng, d, lambda p, v: _quantity(v) and isinstance(p[-1], str))
    x = rng.choice([0, 0.0, 1e-9, -0.99, 1.0])
    q = _get(d, p)
    q.clear()
    q.update({"lever": x, "unit": "dimensionless" if "share" in p[-1] or p[-1] in ("utilisation", "yield", "growth") else
              {"lead_time": "day", "base": "GWh/year", "capacity": "t/year"}.get(p[-1], "dimensionless"),
              "why": "fuzz", "what_if": True})
    return f"edge {x} at {p}"


STRUCTURAL = [m_delete, m_wrong_type, m_extreme_number, m_extreme_number, m_bad_unit, m_bad_date, m_string,
              m_control_in_string, m_key, m_deep, m_list_for_id, m_drop_field, m_zero]


def t_dup_line(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    return "".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]), f"duplicate line {i + 1}"


def t_control(rng: random.Random, text: str) -> tuple[str, str]:
    i = rng.randrange(len(text) + 1)
    c = rng.choice(CONTROL)
    return text[:i] + c + text[i:], f"insert U+{ord(c):04X} at {i}"


def t_tag(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    cands = [i for i, ln in enumerate(lines) if ": " in ln and not ln.lstrip().startswith("#")]
    i = rng.choice(cands)
    a, b = lines[i].split(": ", 1)
    lines[i] = f"{a}: {rng.choice(TAGS)}\n" if rng.random() < 0.5 else f"{a}: {rng.choice(TAGS).split()[0]} {b}"
    return "".join(lines), f"tag on line {i + 1}"


def t_truncate(rng: random.Random, text: str) -> tuple[str, str]:
    i = rng.randrange(len(text))
    return text[:i], f"truncate at {i}"


def t_flip(rng: random.Random, text: str) -> tuple[str, str]:
    b = bytearray(text.encode("utf-8"))
    i = rng.randrange(len(b))
    b[i] = rng.randrange(256)
    return b.decode("utf-8", "surrogateescape"), f"flip byte {i}"


def t_extends(rng: random.Random, text: str) -> tuple[str, str]:
    target = rng.choice(EXTENDS_TARGETS)
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("extends:"))
    quoted = yaml.safe_dump(target, default_style='"', width=10 ** 9).strip().removesuffix("...").strip()
    return f"extends: {quoted}\n{body}\n", f"extends {target[:40]!r}"


def t_indent(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    lines[i] = rng.choice(["\t", " ", "   "]) + lines[i]
    return "".join(lines), f"indent line {i + 1}"


def t_bomb(rng: random.Random, text: str) -> tuple[str, str]:
    n = rng.choice([5, 9, 12])
    parts = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, n):
        parts.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    return text + "\nbomb:\n" + "\n".join("  " + p for p in parts) + "\n", f"alias bomb {n}"


TEXTUAL = [t_dup_line, t_control, t_control, t_tag, t_truncate, t_flip, t_extends, t_extends, t_indent, t_bomb]


def dump(data: dict) -> str:
    """YAML text for a (mutated) document; strings that YAML cannot carry are replaced."""
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10 ** 9)
    except (yaml.YAMLError, RecursionError, UnicodeEncodeError):
        return yaml.safe_dump({"id": "unrepresentable"}, sort_keys=False)


def structural(rng: random.Random, merged: dict) -> tuple[str, str]:
    d = copy.deepcopy(merged)
    labels = [rng.choice(STRUCTURAL)(rng, d) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    return dump(d), "; ".join(labels)


def m_far_date(rng: random.Random, d: dict) -> str:
    """A valid date outside the calendar (before its start or long after its end)."""
    dates = [p for p in paths(d) if _quantity(_get(d, p)) and p[-1] in ("announced", "effective", "online", "from",
                                                                          "ends", "start", "end")]
    if not dates:
        return "no dates"
    p = rng.choice(dates)
    x = rng.choice([dt.date(1950, 1, 1), dt.date(2024, 12, 31), dt.date(2100, 6, 1), dt.date(2200, 12, 31)])
    q = _get(d, p)
    q.clear()
    q.update({"lever": x, "unit": "date", "why": "fuzz", "what_if": True})
    return f"far date {x} at {p}"


def edge(rng: random.Random, merged: dict) -> tuple[str, str]:
    """Valid-but-edge mutations (zeros, far dates), which must run and give strict-JSON summaries."""
    d = copy.deepcopy(merged)
    labels = [rng.choice([m_zero, m_zero, m_far_date])(rng, d) for _ in range(rng.choice([1, 2, 4]))]
    return dump(d), "; ".join(labels)


def textual(rng: random.Random, text: str) -> tuple[str, str]:
    return rng.choice(TEXTUAL)(rng, text)

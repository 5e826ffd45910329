"""The bibliography: CSL-JSON entries under ``calibration/bibliography/``, and their export.

Entries are read with the file, line and column of each ``"id"``, so the auditor can point at
an orphaned or duplicated reference. :func:`to_bibtex` writes classic BibTeX (entry types and
required fields that plain BibTeX, biber and reference managers all accept); :func:`parse_bibtex`
is a small strict reader used to check that output.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..core.errors import BadInput, Problem

SEED_RE = re.compile(r"^seed(\d{3})$")


@dataclass
class Bibliography:
    """Every CSL-JSON entry by id, where each was defined, and any problems reading the files."""

    entries: dict[str, dict[str, Any]]
    positions: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __contains__(self, sid: str) -> bool:
        return sid in self.entries

    def get(self, sid: str) -> dict[str, Any] | None:
        """The entry ``sid``, or None."""
        return self.entries.get(sid)

    def ids(self) -> list[str]:
        """Every entry id, sorted."""
        return sorted(self.entries)

    def where(self, sid: str) -> tuple[str, int, int]:
        """File, line and column of the entry's ``"id"``."""
        return self.positions.get(sid, (str(self.files[0]) if self.files else "bibliography", 1, 1))


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def load_bibliography(root: str | Path | Sequence[str | Path]) -> Bibliography:
    """Read ``root/bibliography/*.json`` (CSL-JSON arrays) of one calibration folder or several
    (shipped, then a study's). Problems are collected, not raised."""
    roots = [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]
    bdir = roots[0] / "bibliography"
    files = [f for r in roots if (r / "bibliography").is_dir() for f in sorted((r / "bibliography").glob("*.json"))]
    bib = Bibliography(entries={}, files=files)
    if not files:
        bib.problems.append(Problem(str(bdir), 1, 1, "no bibliography files found",
                                    "the bibliography is CSL-JSON arrays in calibration/bibliography/*.json"))
    for f in files:
        name = str(f)
        text = f.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            bib.problems.append(Problem(name, exc.lineno, exc.colno, f"malformed JSON: {exc.msg}",
                                        "a bibliography file is a JSON array of CSL-JSON objects"))
            continue
        if not isinstance(data, list):
            bib.problems.append(Problem(name, 1, 1, "a bibliography file must hold a JSON array of entries"))
            continue
        search_from = 0
        for i, e in enumerate(data):
            if not isinstance(e, dict) or not isinstance(e.get("id"), str) or not e["id"]:
                bib.problems.append(Problem(name, 1, 1, f"entry {i} has no string 'id'",
                                            "every CSL-JSON entry needs an id that registry evidence refers to"))
                continue
            sid = e["id"]
            m = re.compile(r'"id"\s*:\s*' + re.escape(json.dumps(sid, ensure_ascii=False))).search(text, search_from)
            if m is None:  # e.g. the id was written with escapes; fall back to the start of the file
                line, col = 1, 1
            else:
                line, col = _line_col(text, m.start())
                search_from = m.end()
            if sid in bib.entries:
                first = bib.positions[sid]
                bib.problems.append(Problem(name, line, col, f"{sid}: duplicate bibliography id",
                                            f"first defined at {first[0]}:{first[1]}:{first[2]}"))
                continue
            bib.entries[sid] = e
            bib.positions[sid] = (name, line, col)
    return bib


# ---- short descriptions -----------------------------------------------------------------------

def _names(people: Iterable[dict[str, Any]]) -> list[str]:
    out = []
    for a in people or []:
        if "literal" in a:
            out.append(str(a["literal"]))
        else:
            out.append(" ".join(x for x in (str(a.get("given", "")), str(a.get("family", ""))) if x).strip())
    return [n for n in out if n]


def _date(d: Any) -> str:
    """``{"date-parts": [[2024, 1, 22]]}`` -> ``2024-01-22`` ('' when absent)."""
    try:
        parts = [int(x) for x in d["date-parts"][0]]
    except (TypeError, KeyError, IndexError, ValueError):
        return ""
    return "-".join([f"{parts[0]:04d}"] + [f"{x:02d}" for x in parts[1:3]])


def describe(entry: dict[str, Any]) -> str:
    """One line naming a reference: authors, title, container, date, address and access date."""
    bits = []
    names = _names(entry.get("author", []))
    if names:
        bits.append(", ".join(names[:3]) + (" et al." if len(names) > 3 else ""))
    bits.append(f"\u201c{entry.get('title', '(untitled)')}\u201d")
    if entry.get("container-title"):
        bits.append(str(entry["container-title"]))
    if _date(entry.get("issued")):
        bits.append(_date(entry.get("issued")))
    text = ", ".join(bits)
    if entry.get("URL"):
        text += f" <{entry['URL']}>"
    if _date(entry.get("accessed")):
        text += f" (read {_date(entry.get('accessed'))})"
    return text


# ---- BibTeX -----------------------------------------------------------------------------------

_REQUIRED = {
    "article": ("author", "title", "journal", "year"),
    "book": ("author", "title", "publisher", "year"),
    "techreport": ("author", "title", "institution", "year"),
    "inproceedings": ("author", "title", "booktitle", "year"),
    "incollection": ("author", "title", "booktitle", "publisher", "year"),
    "phdthesis": ("author", "title", "school", "year"),
    "misc": (),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = dict(_REQUIRED)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_TEX = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&",
        "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(s: Any) -> str:
    return "".join(_TEX.get(c, c) for c in " ".join(str(s).split()))


def _url(u: str) -> str:
    return "".join("%{:02X}".format(ord(c)) if c in "{} \\\"" else c for c in u.strip())


def _bib_name(a: dict[str, Any]) -> str:
    if "literal" in a:
        return "{" + _tex(a["literal"]) + "}"
    fam, giv = _tex(a.get("family", "")), _tex(a.get("given", ""))
    if " and " in f" {fam} ":
        fam = "{" + fam + "}"
    return f"{fam}, {giv}" if giv else fam


def _key(sid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:.\-+/]", "_", sid)


def bibtex_entry(entry: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """The BibTeX type, key and fields (already escaped) for one CSL-JSON entry."""
    csl = str(entry.get("type", ""))
    f: dict[str, str] = {}
    authors = entry.get("author") or []
    if authors:
        f["author"] = " and ".join(_bib_name(a) for a in authors)
    if entry.get("editor"):
        f["editor"] = " and ".join(_bib_name(a) for a in entry["editor"])
    f["title"] = "{" + _tex(entry.get("title", "(untitled)")) + "}"
    issued = entry.get("issued")
    try:
        parts = [int(x) for x in issued["date-parts"][0]]  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        parts = []
    if parts:
        f["year"] = str(parts[0])
        if len(parts) > 1 and 1 <= parts[1] <= 12:
            f["month"] = _MONTHS[parts[1] - 1]
        f["date"] = _date(issued)
    container = entry.get("container-title")
    publisher = entry.get("publisher")
    if csl in ("article-journal", "article-magazine", "article-newspaper", "article", "review") and container:
        kind, f["journal"] = "article", _tex(container)
    elif csl == "book":
        kind = "book"
    elif csl == "chapter" and container:
        kind, f["booktitle"] = "incollection", _tex(container)
    elif csl == "paper-conference" and container:
        kind, f["booktitle"] = "inproceedings", _tex(container)
    elif csl == "report" and (publisher or container):
        kind, f["institution"] = "techreport", _tex(publisher or container)
    elif csl == "thesis" and publisher:
        kind, f["school"] = "phdthesis", _tex(publisher)
    else:
        kind = "misc"
    if publisher and kind in ("book", "incollection", "misc", "inproceedings"):
        f["publisher"] = _tex(publisher)
    for csl_k, bib_k in (("volume", "volume"), ("issue", "number"), ("DOI", "doi"), ("language", "language")):
        if entry.get(csl_k):
            f[bib_k] = _tex(entry[csl_k])
    if entry.get("page"):
        f["pages"] = _tex(str(entry["page"]).replace("-", "--"))
    url = entry.get("URL")
    if url:
        f["url"] = _url(str(url))
    if kind == "misc":
        how = [_tex(container)] if container else []
        if url:
            how.append(r"\url{" + _url(str(url)).replace("%", r"\%").replace("#", r"\#") + "}")
        if how:
            f["howpublished"] = ". ".join(how)
    notes = [_tex(entry["note"])] if entry.get("note") else []
    accessed = _date(entry.get("accessed"))
    if accessed:
        f["urldate"] = accessed
        notes.append(f"Accessed {accessed}")
    if notes:
        f["note"] = ". ".join(n.rstrip(".") for n in notes)
    if any(k not in f for k in _REQUIRED[kind]):
        kind = "misc"
        if url and "howpublished" not in f:
            f["howpublished"] = r"\url{" + _url(str(url)).replace("%", r"\%").replace("#", r"\#") + "}"
        if container and "journal" in f:
            f["howpublished"] = f.pop("journal") + (". " + f["howpublished"] if "howpublished" in f else "")
    return kind, _key(str(entry["id"])), f


def to_bibtex(entries: Iterable[dict[str, Any]]) -> str:
    """BibTeX for ``entries`` (CSL-JSON dicts), one ``@type{key, ...}`` block each."""
    blocks = []
    for e in entries:
        kind, key, fields = bibtex_entry(e)
        body = ",\n".join(f"  {k} = {v}" if k == "month" else f"  {k} = {{{v}}}" for k, v in fields.items())
        blocks.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(blocks)


def to_csl_json(entries: Iterable[dict[str, Any]]) -> str:
    """The entries as a CSL-JSON array (UTF-8, indented), as the bibliography files hold them."""
    return json.dumps(list(entries), ensure_ascii=False, indent=2) + "\n"


class BibtexError(ValueError):
    """BibTeX text that does not parse."""


def parse_bibtex(text: str) -> list[dict[str, str]]:
    """Parse BibTeX strictly: balanced braces, ``key = value`` fields, no duplicate keys or fields.

    Returns one dict per entry with ``ENTRYTYPE``, ``ID`` and the fields (values without their
    outer delimiters, ``#`` concatenations joined, ``@string`` macros and month names expanded).
    Text outside entries is ignored, as BibTeX ignores it.
    """
    macros = {m: m for m in _MONTHS}
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    i, n = 0, len(text)

    def err(msg: str, at: int) -> BibtexError:
        line, col = _line_col(text, at)
        return BibtexError(f"line {line}, col {col}: {msg}")

    def ws(j: int) -> int:
        while j < n and text[j].isspace():
            j += 1
        return j

    def braced(j: int) -> tuple[str, int]:  # text[j] == '{'
        depth, k = 0, j
        while k < n:
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return text[j + 1:k], k + 1
            k += 1
        raise err("unbalanced braces", j)

    def value(j: int) -> tuple[str, int]:
        parts = []
        while True:
            j = ws(j)
            if j >= n:
                raise err("value expected", j)
            c = text[j]
            if c == "{":
                v, j = braced(j)
            elif c == '"':
                k, depth = j + 1, 0
                while k < n and not (text[k] == '"' and depth == 0):
                    depth += {"{": 1, "}": -1}.get(text[k], 0)
                    if depth < 0:
                        raise err("unbalanced braces in quoted value", k)
                    k += 1
                if k >= n:
                    raise err("unterminated quoted value", j)
                v, j = text[j + 1:k], k + 1
            else:
                m = re.compile(r"[A-Za-z0-9_:.\-+/]+").match(text, j)
                if not m:
                    raise err(f"unexpected {c!r} where a value should be", j)
                word = m.group(0)
                if not word.isdigit():
                    if word.lower() not in macros:
                        raise err(f"undefined macro '{word}'", j)
                    word = macros[word.lower()]
                v, j = word, m.end()
            parts.append(v)
            j = ws(j)
            if j < n and text[j] == "#":
                j += 1
                continue
            return "".join(parts), j

    while True:
        at = text.find("@", i)
        if at < 0:
            break
        m = re.compile(r"@\s*([A-Za-z]+)\s*([{(])").match(text, at)
        if not m:
            raise err("'@' not followed by an entry type and '{'", at)
        etype = m.group(1).lower()
        close = "}" if m.group(2) == "{" else ")"
        j = m.end()
        if etype == "comment":
            if m.group(2) == "{":
                _, i = braced(m.end() - 1)
            else:
                i = text.index(")", j) + 1
            continue
        if etype == "preamble":
            _, j = value(j)
            j = ws(j)
            if j >= n or text[j] != close:
                raise err("expected the end of @preamble", j)
            i = j + 1
            continue
        if etype == "string":
            km = re.compile(r"\s*([A-Za-z][A-Za-z0-9_:.\-+/]*)\s*=").match(text, j)
            if not km:
                raise err("@string needs NAME = value", j)
            v, j = value(km.end())
            macros[km.group(1).lower()] = v
            j = ws(j)
            if j >= n or text[j] != close:
                raise err("expected the end of @string", j)
            i = j + 1
            continue
        km = re.compile(r"\s*([^\s,={}()\"#%']+)\s*,").match(text, j)
        if not km:
            raise err(f"@{etype} needs a citation key followed by ','", j)
        key = km.group(1)
        if key in seen:
            raise err(f"duplicate key '{key}'", at)
        seen.add(key)
        entry = {"ENTRYTYPE": etype, "ID": key}
        j = km.end()
        while True:
            j = ws(j)
            if j >= n:
                raise err(f"entry '{key}' is not closed: unbalanced braces", at)
            if text[j] == close:
                j += 1
                break
            fm = re.compile(r"([A-Za-z][A-Za-z0-9_:.\-+]*)\s*=").match(text, j)
            if not fm:
                raise err(f"in @{etype}{{{key}: expected 'field = value' or the closing '{close}'", j)
            name = fm.group(1).lower()
            if name in entry:
                raise err(f"duplicate field '{name}' in '{key}'", j)
            entry[name], j = value(fm.end())
            j = ws(j)
            if j < n and text[j] == ",":
                j += 1
            elif j < n and text[j] == close:
                j += 1
                break
            elif j >= n:
                raise err(f"entry '{key}' is not closed: unbalanced braces", at)
            else:
                raise err(f"in '{key}': expected ',' or '{close}' after field '{name}'", j)
        out.append(entry)
        i = j
    return out


def require(bib: Bibliography) -> Bibliography:
    """``bib`` itself, or BadInput when its files could not be read."""
    if bib.problems:
        raise BadInput(bib.problems)
    return bib

"""Find the fenced examples in README.md and docs/*.md, with the test marker written above each.

A marker is an HTML comment on the line just before a fence, e.g.
``<!-- docs-test: samples=20 replications=8 -->`` (run with fewer samples or replications),
``<!-- docs-test: quick -->`` (``batsim calibrate`` with ``--quick``: its smaller population and
grids), ``<!-- docs-test: slow -->``, ``<!-- docs-test: fragment -->`` (a YAML block that is part of a
scenario, not a snippet to merge onto the baseline) or ``<!-- docs-test: skip REASON -->``.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
RUNNABLE = {"bash", "sh", "console", "shell", "python", "yaml"}


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its marker's settings."""

    file: Path
    line: int
    lang: str
    text: str
    skip: str = ""
    slow: bool = False
    fragment: bool = False
    quick: bool = False
    reduce: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file.name}:{self.line}"


def parse_marker(text: str, b: Block) -> None:
    """Apply a marker's settings to ``b``; unknown words are an error (a typo must not pass)."""
    if text.startswith("skip"):
        b.skip = text[4:].strip() or "no reason given"
        if b.skip == "no reason given":
            raise ValueError(f"{b.id}: a skip marker needs a reason")
        return
    for word in text.split():
        if word == "slow":
            b.slow = True
        elif word == "fragment":
            b.fragment = True
        elif word == "quick":
            b.quick = True
        elif re.fullmatch(r"(samples|replications)=\d+", word):
            k, v = word.split("=")
            b.reduce[k] = int(v)
        else:
            raise ValueError(f"{b.id}: unknown docs-test marker word {word!r}")


def blocks(files: list[Path]) -> list[Block]:
    """Every fenced block of ``files``, in order."""
    out = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            b = Block(file=f, line=line, lang=m.group(1).lower(), text=m.group(2))
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mk = MARKER.search(before)
            if mk:
                parse_marker(mk.group(1), b)
            out.append(b)
    return out


def reduce_text(text: str, reduce: dict[str, int], python: bool) -> str:
    """``--samples N``/``samples=N`` (and replications) lowered as the marker says."""
    for k, v in reduce.items():
        text = re.sub(rf"\b{k}=[\d_]+" if python else rf"--{k}[ =][\d_]+", f"{k}={v}" if python else f"--{k} {v}", text)
    return text


def shell_commands(text: str) -> list[list[str]]:
    """The commands of a bash block: continuation lines joined, comments dropped, ``&&`` split."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        cmd: list[str] = []
        for w in words + ["&&"]:
            if w == "&&":
                if cmd:
                    out.append(cmd)
                cmd = []
            else:
                cmd.append(w)
    return out


def console_steps(text: str) -> list[tuple[list[str], list[str]]]:
    """``$ command`` lines of a console block, each with the output lines written under it."""
    steps: list[tuple[list[str], list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            for cmd in shell_commands(line[2:]):
                steps.append((cmd, []))
        elif line.strip() and steps:
            steps[-1][1].append(line)
    return steps

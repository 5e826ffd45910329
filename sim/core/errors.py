"""Problems found in user input, reported together as ``FILE:LINE:COL: message``.

Bad input is never a traceback: code raises :class:`BadInput` with every problem it found,
and the CLI prints them and exits 2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT = 600   # a message or hint echoes at most this many characters of anything
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def show(value: object, limit: int = 80) -> str:
    """A user-supplied value fit to echo in a one-line message: control characters escaped, length bounded."""
    s = value if isinstance(value, str) else repr(value)
    cut = len(s) > limit
    s = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), s[:limit])
    return s + (f"... ({len(value) if isinstance(value, str) else len(repr(value))} characters)" if cut else "")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        # one line, bounded, whatever the input put into the message (a newline, 200 kB of a file name)
        text = f"{show(self.file, MAX_TEXT)}:{self.line}:{self.col}: {show(self.message, MAX_TEXT)}"
        return f"{text} (hint: {show(self.hint, MAX_TEXT)})" if self.hint else text


@dataclass
class BadInput(Exception):
    """Raised with every problem found; the CLI maps it to exit code 2."""

    problems: list[Problem] = field(default_factory=list)
    outcome: str = "nothing was written"   # what the CLI says after the problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def bad(file: str, message: str, hint: str = "", line: int = 1, col: int = 1) -> BadInput:
    """A BadInput holding one problem (for errors that stop everything at once)."""
    return BadInput([Problem(str(file), line, col, message, hint)])

"""Problems found in user input, reported together as ``FILE:LINE:COL: message``.

Bad input is never a traceback: code raises :class:`BadInput` with every problem it found,
and the CLI prints them and exits 2.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


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

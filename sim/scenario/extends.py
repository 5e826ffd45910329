"""Where an ``extends:`` value points: a path relative to the file, or the name of a shipped scenario.

A base is read only from the top scenario's own folder tree, its study folder, or the shipped
scenarios, and only when it is a regular file (issue 13: ``extends: /etc/shadow`` or a FIFO is
refused). Messages name the value given (shortened, control characters escaped), never a
file's content.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.errors import BadInput, Problem
from .. import paths

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_LEN = 255


def shipped_names() -> list[str]:
    """The names ``extends:`` accepts for the shipped scenarios."""
    d = paths.shipped_scenarios()
    return sorted(f.stem for f in d.glob("*.yaml")) if d.is_dir() else []


def _show(v: str) -> str:
    s = v if len(v) <= 60 else v[:57] + "..."
    return s.encode("unicode_escape").decode("ascii")


def _within(f: Path, folder: Path) -> bool:
    try:
        f.relative_to(folder)
        return True
    except ValueError:
        return False


def allowed_folders(top: Path) -> list[Path]:
    """The folders a base may come from, for the scenario ``top`` the user named."""
    out = [top.parent]
    study = paths.study_folder(top.parent)
    if study is not None:
        out.append(study)
    out.append(paths.shipped_scenarios())
    beside = paths.scenarios_beside(paths.calibration_roots(top.parent)[0])
    if beside.is_dir():   # with $BATSIM_CALIBRATION, the scenarios beside it
        out.append(beside)
    return [d.resolve() for d in out]


def resolve_extends(ext: Any, file: Path, top: Path, at: Problem) -> Path:
    """The base file of ``extends: ext`` written in ``file`` (as written, not resolved); BadInput at ``at``."""
    def bad(message: str, hint: str) -> BadInput:
        return BadInput([Problem(at.file, at.line, at.col, message, hint)])

    names = shipped_names()
    example = f"e.g. extends: {names[0] if names else 'baseline'} (a shipped scenario) or extends: base.yaml"
    if not isinstance(ext, str) or not ext.strip():
        raise bad("extends: must be a file path or the name of a shipped scenario", example)
    if len(ext) > MAX_LEN or any(ord(c) < 32 or ord(c) == 127 for c in ext):
        raise bad(f"extends: '{_show(ext)}' is not a usable file name",
                  f"at most {MAX_LEN} characters, no control characters; {example}")
    is_name = NAME_RE.match(ext) is not None and not ext.endswith((".yaml", ".yml"))
    if is_name:
        target = paths.shipped_scenarios() / f"{ext}.yaml"
        if not target.is_file():
            from difflib import get_close_matches

            near = get_close_matches(ext, names, n=1)
            raise bad(f"extends: '{_show(ext)}' is not a shipped scenario",
                      (f"did you mean '{near[0]}'? " if near else "") + "shipped: " + ", ".join(names)
                      + "; a file path ends in .yaml")
    else:
        target = file.parent / ext
    try:
        real = target.resolve()
    except (OSError, RuntimeError):
        raise bad(f"extends: base scenario '{_show(ext)}' cannot be resolved", "give a path to a .yaml file")
    folders = allowed_folders(top.resolve())
    if not any(_within(real, d) for d in folders):
        raise bad(f"extends: '{_show(ext)}' lies outside the scenario's folder, its study and the shipped scenarios",
                  f"copy the base next to the scenario, or extend a shipped one by name ({', '.join(names)})")
    if not real.exists():
        raise bad(f"extends: base scenario '{_show(ext)}' not found",
                  f"paths are relative to {file.parent or '.'}; shipped names: {', '.join(names)}")
    if not real.is_file():
        raise bad(f"extends: '{_show(ext)}' is not a regular file", "a base scenario is a .yaml file")
    return target

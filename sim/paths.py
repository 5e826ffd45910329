"""Where batsim's data lives: the shipped registry and scenarios, a study's own registry, the override.

The one place that resolves these folders. Shipped data is the checkout's top-level
``calibration/`` and ``scenarios/`` when batsim runs from a source checkout (or an editable
install), else the copy installed as package data under ``sim/_data/``. A *study* is any folder
holding ``calibration/parameters/`` above the scenario (or the working folder) that is not the
shipped one; its entries, bibliography and sources are read after the shipped ones.
``$BATSIM_CALIBRATION`` names one calibration folder that replaces both (tests, other registries).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
DATA = PACKAGE / "_data"
ENV = "BATSIM_CALIBRATION"


def _in_checkout() -> bool:
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "calibration" / "parameters").is_dir()


def shipped_calibration() -> Path:
    """The shipped ``calibration/`` folder (checkout first, then package data)."""
    return CHECKOUT / "calibration" if _in_checkout() else DATA / "calibration"


def shipped_scenarios() -> Path:
    """The shipped ``scenarios/`` folder (checkout first, then package data)."""
    return CHECKOUT / "scenarios" if _in_checkout() else DATA / "scenarios"


def scenarios_beside(calibration: str | Path) -> Path:
    """The ``scenarios/`` folder that sits beside a calibration folder (shipped, or $BATSIM_CALIBRATION's)."""
    return Path(calibration).parent / "scenarios"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def study_calibration(start: str | Path | None = None) -> Path | None:
    """The nearest ``calibration/`` with a ``parameters/`` folder above ``start`` (else the working
    folder) that is not the shipped one, or None."""
    base = Path(start) if start is not None else Path.cwd()
    try:
        base = base.resolve()
    except OSError:
        return None
    if not base.is_dir():
        base = base.parent
    shipped = shipped_calibration()
    for d in [base, *base.parents]:
        c = d / "calibration"
        if (c / "parameters").is_dir():
            # a batsim checkout's own calibration/ is the shipped data (an installed batsim run
            # inside a checkout), not a study that would define every id a second time
            return None if _same(c, shipped) or _is_batsim_checkout(d) else c
    return None


def _is_batsim_checkout(d: Path) -> bool:
    """True when ``d`` holds batsim's own pyproject.toml (a source checkout)."""
    try:
        return 'name = "batsim"' in (d / "pyproject.toml").read_text(encoding="utf-8")[:4000]
    except (OSError, UnicodeDecodeError):
        return False


def study_folder(start: str | Path | None = None) -> Path | None:
    """The study folder (the one holding the study's ``calibration/``) above ``start``, or None."""
    c = study_calibration(start)
    return c.parent if c is not None else None


def calibration_roots(start: str | Path | None = None) -> list[Path]:
    """The calibration folders to read, in order: $BATSIM_CALIBRATION alone, else shipped then study."""
    env = os.environ.get(ENV)
    if env:
        return [Path(env)]
    roots = [shipped_calibration()]
    study = study_calibration(start)
    if study is not None:
        roots.append(study)
    return roots


def find_in_roots(roots: list[Path], *parts: str) -> Path | None:
    """The first ``root/parts...`` that is a regular file, searching ``roots`` in order, or None."""
    for r in roots:
        f = Path(r).joinpath(*parts)
        if f.is_file():
            return f
    return None

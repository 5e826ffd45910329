"""Units, parsed and dimension-checked with pint (loaded lazily: it is slow to import).

The model works internally in a fixed set of canonical units (tonnes, GWh, days, USD);
every parameter is converted once, when a scenario is compiled, by :func:`factor`.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

DATE = "date"
MAX_UNIT_CHARS = 100      # the longest unit any scenario needs is ~20 characters
MAX_EXPONENT = 12         # t/day**2 is plausible; 9**9**9 (or GWh**99999) would run pint for ever
_EXPONENT = re.compile(r"(\*\*|\^)\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)")
_CHAINED = re.compile(r"(\*\*|\^)\s*[-+]?[\d.eE+-]+\s*(\*\*|\^)")


def check_bounded(unit: str) -> None:
    """Refuse, before pint sees it, a unit string that is too long or raises to a huge power."""
    if len(unit) > MAX_UNIT_CHARS:
        raise ValueError(f"unit is {len(unit)} characters long (at most {MAX_UNIT_CHARS})")
    if _CHAINED.search(unit):
        raise ValueError("unit has a chained exponent (like 9**9**9)")
    for m in _EXPONENT.finditer(unit):
        try:
            big = abs(float(m.group(2))) > MAX_EXPONENT
        except ValueError:
            big = True
        if big:
            raise ValueError(f"unit has exponent {m.group(2)[:20]} (at most {MAX_EXPONENT})")


@lru_cache(maxsize=1)
def ureg() -> Any:
    """The shared pint registry, with the few units the domain needs that pint lacks."""
    import pint

    reg = pint.UnitRegistry(on_redefinition="ignore")
    reg.define("USD = [currency] = usd = dollar")
    reg.define("person = [] = persons = jobs = job")
    return reg


@lru_cache(maxsize=512)
def parse(unit: str) -> Any:
    """Parse a unit string; raise ValueError with a readable message if pint cannot."""
    if unit == DATE:
        raise ValueError("'date' is a calendar value, not a physical unit")
    check_bounded(unit)
    try:
        return ureg().Unit(unit)
    except Exception as exc:  # pint raises several unrelated types
        raise ValueError(f"unknown unit: {exc.__class__.__name__}") from None


def invalid_reason(unit: str) -> str:
    """Why ``unit`` cannot be used ('' when it is 'date' or a unit pint understands)."""
    if unit == DATE:
        return ""
    try:
        parse(unit)
        return ""
    except ValueError as exc:
        return str(exc)


def is_valid(unit: str) -> bool:
    """True when ``unit`` is 'date' or a unit pint understands."""
    return not invalid_reason(unit)


@lru_cache(maxsize=1024)
def factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking a value in ``from_unit`` to ``to_unit``; ValueError if dimensions differ."""
    if from_unit == to_unit:
        return 1.0
    if DATE in (from_unit, to_unit):
        raise ValueError(f"cannot convert between '{from_unit}' and '{to_unit}'")
    src, dst = parse(from_unit), parse(to_unit)
    if src.dimensionality != dst.dimensionality:
        raise ValueError(f"unit '{from_unit}' [{src.dimensionality}] is not compatible with "
                         f"'{to_unit}' [{dst.dimensionality}]")
    try:
        f = float(ureg().Quantity(1.0, src).to(dst).magnitude)
    except (OverflowError, ZeroDivisionError, ArithmeticError) as exc:
        raise ValueError(f"unit '{from_unit}' cannot be converted to '{to_unit}': {exc.__class__.__name__}") from None
    if not math.isfinite(f) or f == 0.0 or not 1e-30 < abs(f) < 1e30:
        raise ValueError(f"unit '{from_unit}' is {f:g} '{to_unit}', outside any sensible scale")
    return f


def same_dimension(a: str, b: str) -> bool:
    """True when two unit strings measure the same kind of quantity."""
    if DATE in (a, b):
        return a == b
    try:
        return parse(a).dimensionality == parse(b).dimensionality
    except ValueError:
        return False

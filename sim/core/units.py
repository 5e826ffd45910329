"""Units, parsed and dimension-checked with pint (loaded lazily: it is slow to import).

The model works internally in a fixed set of canonical units (tonnes, GWh, days, USD);
every parameter is converted once, when a scenario is compiled, by :func:`factor`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

DATE = "date"


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
    try:
        return ureg().Unit(unit)
    except Exception as exc:  # pint raises several unrelated types
        raise ValueError(f"unknown unit '{unit}': {exc.__class__.__name__}") from None


def is_valid(unit: str) -> bool:
    """True when ``unit`` is 'date' or a unit pint understands."""
    if unit == DATE:
        return True
    try:
        parse(unit)
        return True
    except ValueError:
        return False


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
    return float(ureg().Quantity(1.0, src).to(dst).magnitude)


def same_dimension(a: str, b: str) -> bool:
    """True when two unit strings measure the same kind of quantity."""
    if DATE in (a, b):
        return a == b
    try:
        return parse(a).dimensionality == parse(b).dimensionality
    except ValueError:
        return False

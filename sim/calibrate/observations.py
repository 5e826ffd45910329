"""Checks on one observed value before a fit uses it: finite, and within a scale no series reaches.

A value like 1.0e+308 parses as a finite float but overflows the fit's sums of squares and
ratios (issue 13: ZeroDivisionError); it is refused at load with the observation's line.
"""
from __future__ import annotations

import math

MAX_MAGNITUDE = 1e15   # in the series unit; a trade or price series is many orders of magnitude below


def observation_problem(value: float, unit: str = "") -> str:
    """Why ``value`` (already in the series unit) cannot be fitted, or '' when it can."""
    if not math.isfinite(value):
        return f"value {value!r} is not finite once converted to the series unit"
    if abs(value) > MAX_MAGNITUDE:
        return f"value {value:g}{' ' + unit if unit else ''} is beyond any plausible scale (at most {MAX_MAGNITUDE:g})"
    if value != 0 and abs(value) < 1 / MAX_MAGNITUDE:
        return f"value {value:g}{' ' + unit if unit else ''} is below any plausible scale (at least {1 / MAX_MAGNITUDE:g})"
    return ""

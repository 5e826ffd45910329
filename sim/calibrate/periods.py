"""Periods of an observed series: a month ('2023-11'), a year (2019), or a run of them ('2023-01/2023-10').

An observation covers one period; a series has one frequency (month or year). Periods are
compared, ordered and checked for gaps by their first and last day.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

FREQUENCIES = ("month", "year")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, order=True)
class Period:
    """Whole months or whole years, from ``first`` to ``last`` inclusive (first days of each unit)."""

    first: dt.date
    last: dt.date
    freq: str

    @property
    def start(self) -> dt.date:
        """First day covered."""
        return self.first

    @property
    def end(self) -> dt.date:
        """Day after the last day covered."""
        return next_unit(self.last, self.freq)

    @property
    def units(self) -> int:
        """Number of months (or years) covered."""
        if self.freq == "year":
            return self.last.year - self.first.year + 1
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    @property
    def label(self) -> str:
        one = _fmt(self.first, self.freq)
        return one if self.first == self.last else f"{one}/{_fmt(self.last, self.freq)}"

    def mid_year(self) -> float:
        """Decimal year of the middle of the period (for plots and time trends)."""
        a, b = self.start, self.end
        mid = a + (b - a) / 2
        y0 = dt.date(mid.year, 1, 1)
        return mid.year + (mid - y0).days / (dt.date(mid.year + 1, 1, 1) - y0).days

    def units_list(self) -> list["Period"]:
        """Each month (or year) of the period as a one-unit Period."""
        out, d = [], self.first
        while d <= self.last:
            out.append(Period(d, d, self.freq))
            d = next_unit(d, self.freq)
        return out


def next_unit(d: dt.date, freq: str) -> dt.date:
    if freq == "year":
        return dt.date(d.year + 1, 1, 1)
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _fmt(d: dt.date, freq: str) -> str:
    return f"{d.year:04d}" if freq == "year" else f"{d.year:04d}-{d.month:02d}"


def _one(text: str, freq: str) -> dt.date:
    if freq == "month":
        m = _MONTH.match(text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"'{text}' is not a month: write YYYY-MM")
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    m = _YEAR.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a year: write YYYY")
    return dt.date(int(m.group(1)), 1, 1)


def parse_period(raw: object, freq: str) -> Period:
    """Parse ``raw`` ('2023-11', 2019, '2023-01/2023-10') at frequency ``freq``; ValueError if malformed."""
    if freq not in FREQUENCIES:
        raise ValueError(f"unknown frequency '{freq}'")
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError(f"{raw!r} is not a period: write {'YYYY-MM' if freq == 'month' else 'YYYY'}"
                         " or a range FIRST/LAST")
    text = str(raw).strip()
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"'{text}' is not a period: a range is FIRST/LAST")
    first = _one(parts[0].strip(), freq)
    last = _one(parts[-1].strip(), freq)
    if last < first:
        raise ValueError(f"period '{text}' ends before it starts")
    return Period(first, last, freq)

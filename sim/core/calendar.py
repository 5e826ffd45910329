"""The simulation calendar: step start dates and step lengths in days."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

STEPS = ("day", "week", "month")
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Calendar:
    """Steps from ``start`` up to (not past) ``end``; ``dates[i]`` is the start of step i."""

    start: dt.date
    end: dt.date
    step: str

    @property
    def dates(self) -> np.ndarray:
        return _dates(self.start, self.end, self.step)

    @property
    def n(self) -> int:
        return len(self.dates) - 1

    @property
    def t_days(self) -> np.ndarray:
        """Day offset (from ``start``) of the start of each step, length ``n``."""
        d = self.dates
        return (d[:-1] - d[0]).astype("timedelta64[D]").astype(float)

    @property
    def dt_days(self) -> np.ndarray:
        """Length of each step in days (months vary), length ``n``."""
        return np.diff(self.dates).astype("timedelta64[D]").astype(float)

    def day_of(self, date: dt.date) -> float:
        """Days from ``start`` to ``date`` (negative before the start)."""
        return float((date - self.start).days)

    def date_of(self, day: float) -> dt.date:
        """Calendar date ``day`` days after ``start`` (rounded down to a whole day)."""
        return self.start + dt.timedelta(days=int(np.floor(day)))


def _dates(start: dt.date, end: dt.date, step: str) -> np.ndarray:
    s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
    if step == "day":
        out = np.arange(s, e + 1, np.timedelta64(1, "D"))
    elif step == "week":
        out = np.arange(s, e + 1, np.timedelta64(7, "D"))
    elif step == "month":
        months = np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 2, np.timedelta64(1, "M"))
        offset = np.timedelta64(start.day - 1, "D")
        out = months.astype("datetime64[D]") + offset
        out = out[out <= e + 1]
        if out[-1] < e:  # close the last step at the end date
            out = np.append(out, e)
    else:  # validated earlier; defensive
        raise ValueError(f"unknown step '{step}'")
    if len(out) < 2:
        out = np.array([s, e if e > s else s + 1], dtype="datetime64[D]")
    return out

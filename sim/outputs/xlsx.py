"""Excel export (openpyxl): the KPI table and the time series, for analysts who live in spreadsheets.

One workbook, one sheet per table; numbers stay numbers (not text), dates stay dates. Written
atomically like every other output.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any, Iterable, Sequence

Table = tuple[str, Sequence[str], Iterable[Sequence[Any]]]   # sheet name, header, rows


def _value(v: Any) -> Any:
    """A CSV cell as Excel wants it: numbers as float, ISO dates as dates, empty as blank."""
    if not isinstance(v, str):
        return v
    if v == "":
        return None
    try:
        return float(v)
    except ValueError:
        pass
    if len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def csv_table(name: str, text: str) -> Table:
    """A sheet from CSV text (the run's own timeseries.csv), cells converted to numbers and dates."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows)
    return name, header, ([_value(c) for c in r] for r in rows)


def write_xlsx(path: str | Path, tables: list[Table]) -> Path:
    """Write ``tables`` as the sheets of one .xlsx workbook at ``path`` (atomically)."""
    from openpyxl import Workbook

    from ..sweep.storage import atomic_write

    wb = Workbook(write_only=True)
    for name, header, rows in tables:
        ws = wb.create_sheet(title=name[:31])
        ws.append(list(header))
        for r in rows:
            ws.append([_value(c) for c in r])
    path = Path(path)
    atomic_write(path, lambda tmp: wb.save(tmp))
    return path


def kpi_sheet(summary: dict[str, Any], stats: list[dict[str, Any]] | None) -> Table:
    """The KPI table of one run: kpi, unit, value (and the ensemble statistics when there are samples)."""
    units = summary.get("units", {})
    if stats:
        cols = ("kpi", "unit", "value", "median", "mean", "p05", "p95", "p_positive", "defined_in")
        rows = [[r["kpi"], r["unit"], summary.get(r["kpi"]), *(r[c] for c in cols[3:])] for r in stats]
        return "kpis", cols, rows
    return "kpis", ("kpi", "unit", "value"), [[k, u, summary.get(k)] for k, u in units.items()]


def run_workbook(result: Any, path: str | Path) -> Path:
    """kpis.xlsx of a run: sheets kpis, timeseries (tidy, ensemble median) and, for ensembles, bands."""
    from . import tables

    summ = result.summary()
    stats = tables.ensemble_stats(result) if result.samples > 1 else None
    sheets = [kpi_sheet(summ, stats), csv_table("timeseries", tables.timeseries_csv(result))]
    if result.samples > 1:
        sheets.append(csv_table("bands", tables.bands_csv(result)))
    return write_xlsx(path, sheets)

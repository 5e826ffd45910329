"""Tidy tables from a run: the time series (time, variable, region, material, unit, value) and
the summary of KPIs. Rates are reported per year, stocks in tonnes, ensembles by their median.
"""
from __future__ import annotations

import csv
import io
import math
from typing import Any, Iterator

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..stockflow.kpis import DATE_KPIS, KPI_UNITS, PRICE_KPIS

Row = tuple[str, str, str, str, str, np.ndarray]   # variable, region, material, unit, kind, (T,S) values

COLUMNS = ("time", "variable", "region", "material", "unit", "value")


def series_rows(result: Any) -> Iterator[Row]:
    """Every recorded series as (variable, region, material, unit, (T,S) array): all of the importer in
    focus, then per importer (``region`` = the importer) its price index by material and, for the
    other importers of a market run, their planned output, output, shortfall and shortfall fraction."""
    yield from _focus_rows(result)
    market = getattr(result, "market", None)
    if market is None:
        return
    for code, traj in market.importers.items():
        s = traj.series
        if code != market.focus:
            for var in ("planned_output", "cell_output", "shortfall"):
                if var in s:
                    yield var, code, "cells", "GWh/year", s[var] * DAYS_PER_YEAR
            if "shortfall_fraction" in s:
                yield "shortfall_fraction", code, "cells", "dimensionless", s["shortfall_fraction"]
        p = s.get("price_index")
        if p is not None:
            for m, name in enumerate(market.materials):
                yield "price_index", code, name, "index", p[:, :, m]


def _focus_rows(result: Any) -> Iterator[Row]:
    traj, st = result.trajectory, result.trajectory.structure
    s = traj.series
    imp = st.regions[st.importer]
    yr = DAYS_PER_YEAR
    group = st.groups[0]
    for var in ("demand", "cell_capacity", "planned_output", "cell_output", "shortfall"):
        yield var, imp, "cells", "GWh/year", s[var] * yr
    yield "shortfall_fraction", imp, "cells", "dimensionless", s["shortfall_fraction"]
    yield "days_of_cover", imp, group, "day", s["days_of_cover"]
    yield "substitute_share", imp, group, "dimensionless", s["substitute_share"]
    yield "controlled_origin_share", imp, group, "dimensionless", s["controlled_origin_share"]
    yield "jobs_at_risk", imp, "", "person", s["jobs_at_risk"]
    yield "anode_cost_index", imp, group, "index", s["anode_cost_index"]
    yield "cell_cost_index", imp, "cells", "index", s["cell_cost_index"]
    if "inventory" not in s:
        return
    for m, name in enumerate(st.materials):
        yield "inventory", imp, name, "t", s["inventory"][:, :, m]
        yield "in_transit", imp, name, "t", s["in_transit"][:, :, m]
        yield "consumption", imp, name, "t/year", s["consumption"][:, :, m] * yr
        yield "orders_blocked", imp, name, "t/year", s["orders_blocked"][:, :, m] * yr
        if m in st.substitutes:
            yield "anode_share", imp, name, "dimensionless", s["substitute_by_material"][:, :, m]
        if m in st.reserves:
            yield "reserve", imp, name, "t", s["reserve"][:, :, m]
        for r, region in enumerate(st.regions):
            d = s["deliveries"][:, :, r, m]
            if (r, m) in st.supplied or d.any():
                yield "deliveries", region, name, "t/year", d * yr
    for r, region in enumerate(st.regions):
        d = s["supportable_by_origin"][:, :, r]
        if d.any():
            yield "cells_supportable_by_origin", region, group, "GWh/year", d * yr
    for k, c in enumerate(st.controls):
        yield "licence_backlog", st.regions[c.origin], st.materials[c.material], "t", s["licence_backlog"][:, :, k]
    for (product, stage), arr in sorted(s.get("stages", {}).items()):
        unit = "GWh/year" if product == "cells" else "t/year"
        yield f"capacity_{stage}", imp, product, unit, np.asarray(arr) * yr


def timeseries_csv(result: Any) -> str:
    """The tidy CSV text: one row per time, variable, region and material (ensemble median)."""
    dates = [d.isoformat() for d in result.dates]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for var, region, material, unit, arr in series_rows(result):
        med = arr[:, 0] if arr.shape[1] == 1 else np.median(arr, axis=1)
        for d, v in zip(dates, med):
            w.writerow((d, var, region, material, unit, _fmt(v)))
    return buf.getvalue()


def bands_csv(result: Any, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> str:
    """Percentile bands over the ensemble, for fan charts (only written when samples > 1)."""
    dates = [d.isoformat() for d in result.dates]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS[:-1] + tuple(f"p{int(q * 100):02d}" for q in quantiles))
    for var, region, material, unit, arr in series_rows(result):
        qs = np.quantile(arr, quantiles, axis=1)
        for i, d in enumerate(dates):
            w.writerow((d, var, region, material, unit, *(_fmt(x) for x in qs[:, i])))
    return buf.getvalue()


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.9g}"


def kpi_value(name: str, arr: np.ndarray, cal: Any) -> Any:
    """One JSON value for a KPI array: the sample (or median), dates as ISO, NaN as null."""
    a = np.asarray(arr, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0 or a.size * 2 <= np.asarray(arr).size and np.asarray(arr).size > 1:
        return None   # undefined for (most) samples
    v = float(np.median(a))
    if name in DATE_KPIS:
        return cal.date_of(v).isoformat()
    if KPI_UNITS.get(name) == "person":
        return round(v)
    return round(v, 6)


def _quantiles(name: str, arr: np.ndarray, cal: Any) -> dict[str, Any] | None:
    """p05/p50/p95 over the samples where a KPI is defined, and the share of samples it is defined in."""
    a = np.asarray(arr, dtype=float)
    good = a[~np.isnan(a)]
    if good.size == 0:
        return None
    p = np.quantile(good, [0.05, 0.5, 0.95])
    vals = [cal.date_of(x).isoformat() for x in p] if name in DATE_KPIS else [round(float(x), 6) for x in p]
    return {"p05": vals[0], "p50": vals[1], "p95": vals[2], "defined_in": round(good.size / a.size, 4)}


def kpi_section(kpis: dict[str, np.ndarray], cal: Any, samples: int) -> dict[str, Any]:
    """Every KPI's value (median over samples) and, for ensembles, its ``quantiles``."""
    out: dict[str, Any] = {name: kpi_value(name, kpis[name], cal) for name in KPI_UNITS}
    if samples > 1:
        out["quantiles"] = {name: _quantiles(name, kpis[name], cal) for name in KPI_UNITS}
    return out


def region_section(reg: Any, cal: Any, samples: int) -> dict[str, Any]:
    """One importer's entry in summary.json ``regions``: the KPIs as at the top level, plus the
    price index peak and mean by material (with their quantiles for ensembles)."""
    out = kpi_section(reg.kpis, cal, samples)
    q = out.pop("quantiles", None)
    for name in PRICE_KPIS:
        out[name] = {m: kpi_value(name, a, cal) for m, a in reg.prices.get(name, {}).items()}
        if q is not None:
            q[name] = {m: _quantiles(name, a, cal) for m, a in reg.prices.get(name, {}).items()}
    if q is not None:
        out["quantiles"] = q
    return out


def summary(result: Any) -> dict[str, Any]:
    """summary.json: every KPI of the importer in focus (median over samples), with quantiles and claims
    when relevant; ``importer`` names it, ``regions`` holds the same for every importing region."""
    cal = result.scenario.calendar
    out: dict[str, Any] = {"scenario": result.scenario.id, "title": result.scenario.title,
                           "engine": result.engine, "samples": result.samples, "seed": result.seed,
                           "importer": result.importer}
    sec = kpi_section(result.kpis, cal, result.samples)
    q = sec.pop("quantiles", None)
    out.update(sec)
    out["units"] = dict(KPI_UNITS)
    if q is not None:
        out["quantiles"] = q
    claims = []
    for c in result.scenario.data.get("claims") or []:
        p = result.scenario.registry[c["param"]]
        ev = p.evidence[0] if p.evidence else None
        claims.append({"param": p.id, "claim": p.value, "claim_range": [p.low, p.high], "kpi": c["kpi"],
                       "model": out.get(c["kpi"]), "source": ev.source if ev else None,
                       "locator": ev.locator if ev else None, "quote": ev.quote if ev else None,
                       "note": c.get("note", "")})
    if claims:
        out["claims"] = claims
    out["mass_balance_max_error_t"] = result.trajectory.mass_error_max
    out["regions"] = {code: region_section(reg, cal, result.samples) for code, reg in result.regions.items()}
    return out


# ---- ensembles: per-sample KPIs and their labelled statistics -------------------------------------

STAT_COLUMNS = ("kpi", "unit", "median", "mean", "p05", "p95", "p_positive", "defined_in")


def kpi_arrays(result: Any) -> dict[str, np.ndarray]:
    """Every KPI of a run as a float array over samples (DES queue KPIs included), in summary order."""
    out = {k: np.asarray(result.kpis[k], dtype=float) for k in KPI_UNITS}
    for k, v in (getattr(result, "des_kpis", None) or {}).items():
        out[k] = np.asarray(v, dtype=float)
    return out


def kpi_units(result: Any) -> dict[str, str]:
    """Units of :func:`kpi_arrays`; dates are days since the run's start in the arrays."""
    units = dict(KPI_UNITS)
    if getattr(result, "des_kpis", None):
        from ..des.result import DES_KPI_UNITS

        units.update(DES_KPI_UNITS)
    return units


def ensemble_stats(result: Any) -> list[dict[str, Any]]:
    """Per KPI: median, mean, 5% and 95% quantiles and P(KPI > 0) over the samples where it is defined.

    Dates are ISO strings (their mean is the mean day); P(KPI > 0) is over all samples, so a
    stock-out that never happens counts as not positive.
    """
    cal = result.scenario.calendar
    units = kpi_units(result)
    rows = []
    for name, a in kpi_arrays(result).items():
        good = a[np.isfinite(a)]
        row: dict[str, Any] = {"kpi": name, "unit": units.get(name, ""), "defined_in": good.size / max(a.size, 1)}
        if good.size:
            p05, med, p95 = np.quantile(good, [0.05, 0.5, 0.95])
            vals = {"median": med, "mean": float(good.mean()), "p05": p05, "p95": p95}
            for k, v in vals.items():
                row[k] = cal.date_of(float(v)).isoformat() if name in DATE_KPIS else float(v)
        else:
            row.update(median=None, mean=None, p05=None, p95=None)
        row["p_positive"] = None if name in DATE_KPIS else float(np.mean(np.nan_to_num(a, nan=0.0) > 0))
        rows.append(row)
    return rows


def _cell(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if unit == "person":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def ensemble_table(result: Any) -> str:
    """The labelled text table `batsim run --samples N` prints (one line per KPI)."""
    rows = ensemble_stats(result)
    head = f"  {'KPI':32s} {'median':>11s} {'mean':>11s} {'5%':>11s} {'95%':>11s} {'P(>0)':>6s}  unit"
    lines = [head]
    for r in rows:
        p = "" if r["p_positive"] is None else f"{r['p_positive']:.0%}"
        lines.append(f"  {r['kpi']:32s} {_cell(r['median'], r['unit']):>11s} {_cell(r['mean'], r['unit']):>11s} "
                     f"{_cell(r['p05'], r['unit']):>11s} {_cell(r['p95'], r['unit']):>11s} {p:>6s}  {r['unit']}"
                     + (f" (defined in {r['defined_in']:.0%} of samples)" if r["defined_in"] < 1 else ""))
    return "\n".join(lines) + "\n"


def kpi_columns(result: Any) -> dict[str, Any]:
    """kpis.parquet's columns: sample, then every KPI (dates as dates, undefined as null)."""
    import datetime as dt

    cal = result.scenario.calendar
    cols: dict[str, Any] = {"sample": np.arange(result.samples, dtype=np.int64)}
    for name, a in kpi_arrays(result).items():
        if name in DATE_KPIS:
            cols[name] = [None if not np.isfinite(v) else dt.date.fromisoformat(cal.date_of(float(v)).isoformat())
                          for v in a]
        else:
            cols[name] = a
    return cols

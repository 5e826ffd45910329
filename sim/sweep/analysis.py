"""Sensitivity indices as one tidy table: kpi, param, index, value, ci_low, ci_high.

- ``sobol``: SALib.analyze.sobol on the SALib Saltelli/Sobol design (first order ``S1`` and total
  order ``ST``; 95% intervals from SALib's bootstrap with 100 resamples, its default: value ±
  ``*_conf``, where ``*_conf`` = 1.96 × the bootstrap standard deviation).
  A base row whose block (A, AB_1..AB_D, B) holds a failed sample is dropped as a whole, which
  keeps the estimator valid with N' < N base rows.
- ``morris``: SALib.analyze.morris in unit-cube coordinates (``mu_star`` with its 95% bootstrap
  interval from 1,000 resamples, ``sigma``, ``mu``): an elementary effect is the KPI change for a step of the
  parameter's probability range, so effects of parameters in different units compare.
  Trajectories with a failed sample are dropped.
- ``oat``: ``low`` / ``high`` = KPI at the parameter's low / high minus the nominal KPI,
  ``slope`` = (KPI(high) - KPI(low)) / (high - low) in KPI unit per parameter unit (per day for
  dates), ``swing`` = |KPI(high) - KPI(low)|. No intervals (deterministic).
- ``mc`` / ``lhs``: Spearman rank correlation ``spearman`` with a 95% Fisher-z interval
  (standard error 1.06/sqrt(n-3)).

KPIs are analysed over the samples that did not fail. ``days_until_stockout`` is undefined
when no stock-out happens; for the analyses it is censored at the calendar's length (a
stock-out "after the horizon"). A KPI still undefined for some samples, or constant, gets no
indices; the reason is listed in ``summary.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .design import Design

COLUMNS = ("kpi", "param", "index", "value", "ci_low", "ci_high")
SOBOL_RESAMPLES = 100      # SALib's default; cost grows as N x D x resamples per KPI
MORRIS_RESAMPLES = 1000
Z95 = 1.959963984540054


@dataclass
class Analysis:
    """Index rows (dicts with COLUMNS), KPIs skipped with the reason, and KPI statistics."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def _row(kpi: str, param: str, index: str, value: float, lo: float = np.nan, hi: float = np.nan) -> dict[str, Any]:
    return {"kpi": kpi, "param": param, "index": index, "value": float(value), "ci_low": float(lo), "ci_high": float(hi)}


def prepared(y: np.ndarray, failed: np.ndarray, censor: float | None) -> np.ndarray:
    """The KPI as analysed: failed samples NaN, undefined values censored where that is defined."""
    y = np.array(y, dtype=float)
    y[failed] = np.nan
    if censor is not None:
        y = np.where(np.isnan(y) & ~failed, censor, y)
    return y


def kpi_stats(y: np.ndarray, failed: np.ndarray) -> dict[str, Any]:
    """Count, share defined, mean and percentiles of a KPI over the samples that did not fail."""
    v = y[~failed]
    ok = v[np.isfinite(v)]
    out: dict[str, Any] = {"n": int(len(v)), "defined": int(len(ok))}
    if len(ok):
        p = np.percentile(ok, [5, 50, 95])
        out.update(mean=float(ok.mean()), p05=float(p[0]), p50=float(p[1]), p95=float(p[2]))
    return out


def analyse(design: Design, kpis: dict[str, np.ndarray], failed: np.ndarray, seed: int = 0,
            censor: dict[str, float] | None = None) -> Analysis:
    """All indices of ``design.method`` for every KPI (see the module docstring)."""
    censor = censor or {}
    out = Analysis()
    for k, raw in kpis.items():
        out.stats[k] = kpi_stats(np.asarray(raw, dtype=float), failed)
        y = prepared(raw, failed, censor.get(k))
        good = y[~failed]
        if design.method == "oat":
            out.rows += _oat(design, k, y)
            continue
        if len(good) == 0:
            out.skipped[k] = "every sample failed"
            continue
        if np.isnan(good).any():
            share = float(np.isnan(good).mean())
            out.skipped[k] = f"undefined for {share:.0%} of samples (the event did not happen)"
            continue
        if not np.isfinite(good).all():
            out.skipped[k] = "infinite for some samples"
            continue
        if np.ptp(good) <= 1e-12 * max(1.0, float(np.abs(good).max())):
            out.skipped[k] = f"constant ({good[0]:g}) over the design"
            continue
        if design.method == "sobol":
            out.rows += _sobol(design, k, y, seed)
        elif design.method == "morris":
            out.rows += _morris(design, k, y, seed)
        else:
            out.rows += _spearman(design, k, y)
    return out


def _sobol(design: Design, kpi: str, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """S1 and ST with bootstrap intervals (SALib), over the blocks without failures."""
    from SALib.analyze import sobol

    d = len(design.factors)
    blocks = y.reshape(-1, d + 2)
    blocks = blocks[~np.isnan(blocks).any(axis=1)]
    if len(blocks) < 2:
        return []
    r = sobol.analyze(design.problem(), blocks.ravel(), calc_second_order=False, num_resamples=SOBOL_RESAMPLES,
                      conf_level=0.95, seed=seed)
    rows = []
    for j, f in enumerate(design.factors):
        for idx in ("S1", "ST"):
            v, c = float(r[idx][j]), float(r[f"{idx}_conf"][j])
            rows.append(_row(kpi, f.id, idx, v, v - c, v + c))
    return rows


def _morris(design: Design, kpi: str, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """mu*, sigma, mu (SALib), over the trajectories without failures."""
    from SALib.analyze import morris

    d = len(design.factors)
    X = design.unit.reshape(-1, d + 1, d)
    Y = y.reshape(-1, d + 1)
    ok = ~np.isnan(Y).any(axis=1)
    if ok.sum() < 1:
        return []
    r = morris.analyze(design.problem(), X[ok].reshape(-1, d), Y[ok].ravel(), num_resamples=MORRIS_RESAMPLES,
                       conf_level=0.95, num_levels=design.meta.get("num_levels", 4), seed=seed)
    rows = []
    for j, f in enumerate(design.factors):
        m, c = float(r["mu_star"][j]), float(r["mu_star_conf"][j])
        rows.append(_row(kpi, f.id, "mu_star", m, m - c, m + c))
        rows.append(_row(kpi, f.id, "sigma", float(r["sigma"][j])))
        rows.append(_row(kpi, f.id, "mu", float(r["mu"][j])))
    return rows


def _oat(design: Design, kpi: str, y: np.ndarray) -> list[dict[str, Any]]:
    """low, high, slope and swing of each parameter against the nominal run."""
    rows = []
    y0 = y[0]
    for j, f in enumerate(design.factors):
        lo, hi = y[2 * j + 1], y[2 * j + 2]
        dx = f.high - f.low
        rows.append(_row(kpi, f.id, "low", lo - y0))
        rows.append(_row(kpi, f.id, "high", hi - y0))
        rows.append(_row(kpi, f.id, "slope", (hi - lo) / dx if dx else np.nan))
        rows.append(_row(kpi, f.id, "swing", abs(hi - lo)))
    return rows


def _ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=0)


def _spearman(design: Design, kpi: str, y: np.ndarray) -> list[dict[str, Any]]:
    """Spearman rank correlation of each parameter with the KPI, Fisher-z 95% interval."""
    ok = ~np.isnan(y)
    n = int(ok.sum())
    if n < 4:
        return []
    rx = _ranks(design.values[ok])
    ry = _ranks(y[ok])
    rx = rx - rx.mean(axis=0)
    ry = ry - ry.mean()
    den = np.sqrt((rx ** 2).sum(axis=0) * (ry ** 2).sum())
    rho = np.where(den > 0, (rx * ry[:, None]).sum(axis=0) / np.where(den > 0, den, 1.0), np.nan)
    se = 1.06 / np.sqrt(n - 3)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return [_row(kpi, f.id, "spearman", rho[j], np.tanh(z[j] - Z95 * se), np.tanh(z[j] + Z95 * se))
            for j, f in enumerate(design.factors)]

"""Key outcomes of a trajectory, one value per sample.

Definitions (also in README):
- ``cell_output_shortfall_gwh``: planned minus actual cell output, summed over the run (GWh).
- ``peak_shortfall_fraction``: the largest share of planned output lost over a rolling
  four-week (28-day) window: shortfall summed over the window's steps (weighted by the days of
  each step inside the window) over planned output summed the same way, so the arrival of single
  lots does not set it. A monthly step is its own window; a run shorter than 28 days is one window.
- ``days_until_stockout``: days from the first step in which an export control actually binds
  (``Trajectory.bind_day``; a control that was suspended before it bit does not count) to the
  first step from then on in which material shortage limits output; null if never. A run whose
  controls never bind counts from its start; an engine that does not report ``bind_day`` counts
  from the first control's effective date (``shock_day``), as before.
- ``recovery_date``: the step after the last one with shortfall above 1%, if output was limited
  at some point and stays within 1% of plan for at least 28 days to the end; null otherwise.
- ``jobs_at_risk_peak``: exposed jobs x the peak shortfall fraction (the same 28-day windows).
- ``jobs_at_risk_first_week``: the same, seven days after the first control takes effect.
- ``sic_anode_share_end``: share of the anode duty (graphite-equivalent) served by substitutes
  (Si/C) in the last step.
- ``price_index_peak`` / ``price_index_mean`` (per importer, per material; market runs): the largest
  and the step-weighted mean delivered-price index the importer pays (1 = before any control);
  null where the run records no prices (a one-importer run without a market).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import Trajectory
from .market_types import MarketTrajectory

RECOVERY_THRESHOLD = 0.01
RECOVERY_DAYS = 28.0
WINDOW_DAYS = 28.0          # the rolling window of peak_shortfall_fraction and jobs_at_risk_peak
PRICE_KPIS = ("price_index_peak", "price_index_mean")
DATE_KPIS = ("recovery_date",)
KPI_UNITS = {
    "cell_output_shortfall_gwh": "GWh", "peak_shortfall_fraction": "dimensionless", "days_until_stockout": "day",
    "recovery_date": "date", "jobs_at_risk_peak": "person", "jobs_at_risk_first_week": "person",
    "sic_anode_share_end": "dimensionless", "controlled_origin_share_start": "dimensionless",
    "controlled_origin_share_end": "dimensionless", "min_days_of_cover": "day", "anode_cost_index_peak": "index",
    "cell_cost_index_end": "index", "planned_output_gwh": "GWh", "cell_output_gwh": "GWh",
}


def _year_mean(x: np.ndarray, dts: np.ndarray, last: bool) -> np.ndarray:
    cum = np.cumsum(dts)
    mask = cum > cum[-1] - 365.25 if last else cum - dts < 365.25
    w = dts[mask][:, None]
    return (x[mask] * w).sum(axis=0) / w.sum()


def window_sums(rate: np.ndarray, dts: np.ndarray, window: float = WINDOW_DAYS) -> np.ndarray:
    """(W,S) integrals of ``rate`` (T,S, per day, constant within a step) over the trailing windows of
    ``window`` days that end at each step's end and fit inside the run (the whole run if it is shorter)."""
    edges = np.concatenate([[0.0], np.cumsum(dts)])                         # (T+1,) step boundaries
    cum = np.concatenate([np.zeros((1, rate.shape[1])), np.cumsum(rate * dts[:, None], axis=0)])
    ends = edges[1:]
    fits = ends - window >= -1e-9
    if not fits.any():
        return cum[-1:] - cum[:1]
    b = np.flatnonzero(fits) + 1                                            # window end boundaries
    a = np.maximum(edges[b] - window, 0.0)                                  # window starts (days)
    k = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, len(dts) - 1)
    frac = ((a - edges[k]) / np.maximum(dts[k], 1e-12))[:, None]
    start = cum[k] + frac * (cum[k + 1] - cum[k])
    return cum[b] - start


def rolling_peak(num: np.ndarray, den: np.ndarray, dts: np.ndarray, window: float = WINDOW_DAYS) -> np.ndarray:
    """(S,) largest ratio of ``num`` to ``den`` summed over any rolling window (NaN if ``den`` is never positive)."""
    n, d = window_sums(num, dts, window), window_sums(den, dts, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(d > 1e-12 * np.maximum(np.abs(d).max(axis=0), 1e-300), n / np.where(d > 0, d, 1.0), np.nan)
    ok = np.isfinite(r).any(axis=0)
    return np.where(ok, np.nanmax(np.where(np.isfinite(r), r, -np.inf), axis=0), np.nan)


def stockout_origin(traj: Trajectory) -> np.ndarray:
    """(S,) run day from which days_until_stockout counts: the first step a control binds (``bind_day``),
    the run's start where none binds; without ``bind_day``, the first effective date (``shock_day``)."""
    S = traj.samples if traj.series else len(traj.shock_day if traj.shock_day is not None else [0])
    bind = getattr(traj, "bind_day", None)
    start = bind if bind is not None else traj.shock_day
    if start is None:
        return np.zeros(S)
    start = np.asarray(start, dtype=float)
    return np.where(np.isnan(start), 0.0, start)


def compute(traj: Trajectory) -> dict[str, np.ndarray]:
    """KPI arrays of length S (NaN where a KPI has no value, e.g. no stock-out)."""
    s, dts, td = traj.series, traj.dt_days, traj.t_days
    S = traj.samples
    T = len(td)
    out: dict[str, np.ndarray] = {}
    w = dts[:, None]
    out["cell_output_shortfall_gwh"] = (s["shortfall"] * w).sum(axis=0)
    out["planned_output_gwh"] = (s["planned_output"] * w).sum(axis=0)
    out["cell_output_gwh"] = (s["cell_output"] * w).sum(axis=0)
    planned = s["planned_output"]
    # where nothing is ever planned the per-step series is the answer (0: nothing lost)
    peak = rolling_peak(s["shortfall"], planned, dts)
    out["peak_shortfall_fraction"] = np.where(np.isnan(peak), s["shortfall_fraction"].max(axis=0), peak)
    shock = traj.shock_day if traj.shock_day is not None else np.full(S, np.nan)
    origin = stockout_origin(traj)
    limited = s["material_limited"] > 0.5                                   # (T,S)
    after = td[:, None] >= origin[None, :]
    hit = limited & after
    first = np.where(hit.any(axis=0), hit.argmax(axis=0), -1)
    out["days_until_stockout"] = np.where(first >= 0, td[np.maximum(first, 0)] - origin, np.nan)
    above = s["shortfall_fraction"] > RECOVERY_THRESHOLD
    last_above = np.where(above.any(axis=0), T - 1 - above[::-1].argmax(axis=0), -1)
    rec_step = np.minimum(last_above + 1, T - 1)
    end = td[-1] + dts[-1]
    # a recovery counts only if output stays within 1% of plan for RECOVERY_DAYS to the end
    recovered = (first >= 0) & (last_above < T - 1) & (end - td[rec_step] >= RECOVERY_DAYS)
    out["recovery_date"] = np.where(recovered & (last_above >= 0), td[rec_step], np.nan)  # days since start
    # jobs at risk weighted by planned output over the same windows: exposed x the window's shortfall fraction
    jobs = rolling_peak(s["jobs_at_risk"] * planned, planned, dts)
    out["jobs_at_risk_peak"] = np.where(np.isnan(jobs), s["jobs_at_risk"].max(axis=0), jobs)
    wk = np.where(np.isnan(shock), np.nan, shock + 7.0)
    idx = np.searchsorted(td, np.nan_to_num(wk, nan=0.0), side="left")
    idx = np.minimum(idx, T - 1)
    out["jobs_at_risk_first_week"] = np.where(np.isnan(wk), np.nan, s["jobs_at_risk"][idx, np.arange(S)])
    out["sic_anode_share_end"] = s["substitute_share"][-1].copy()
    out["controlled_origin_share_start"] = _year_mean(s["controlled_origin_share"], dts, last=False)
    out["controlled_origin_share_end"] = _year_mean(s["controlled_origin_share"], dts, last=True)
    out["min_days_of_cover"] = s["days_of_cover"].min(axis=0)
    out["anode_cost_index_peak"] = s["anode_cost_index"].max(axis=0)
    out["cell_cost_index_end"] = s["cell_cost_index"][-1].copy()
    return out


def price_kpis(traj: Trajectory, materials: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """``{"price_index_peak": {material: (S,)}, "price_index_mean": {...}}`` from ``series["price_index"]``
    (T,S,M): the largest and the step-weighted mean index; all NaN when the run records no prices."""
    p = traj.series.get("price_index") if traj.series else None
    S = traj.samples if traj.series else 0
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in PRICE_KPIS}
    w = traj.dt_days[:, None] / traj.dt_days.sum()
    for m, name in enumerate(materials):
        if p is None:
            out["price_index_peak"][name] = out["price_index_mean"][name] = np.full(S, np.nan)
            continue
        x = np.asarray(p[:, :, m], dtype=float)
        out["price_index_peak"][name] = x.max(axis=0)
        out["price_index_mean"][name] = (x * w).sum(axis=0)
    return out


@dataclass
class ImporterKPIs:
    """One importing region's KPIs (arrays over samples): the standard ones and its prices by material."""

    kpis: dict[str, np.ndarray]
    prices: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @staticmethod
    def concat(parts: list["ImporterKPIs"]) -> "ImporterKPIs":
        """The KPIs of consecutive sample blocks, joined on the sample axis."""
        return ImporterKPIs({k: np.concatenate([p.kpis[k] for p in parts]) for k in parts[0].kpis},
                            {k: {m: np.concatenate([p.prices[k][m] for p in parts]) for m in v}
                             for k, v in parts[0].prices.items()})


def compute_market(market: MarketTrajectory) -> dict[str, ImporterKPIs]:
    """Every importer's KPIs, by code, in the market's order."""
    return {code: ImporterKPIs(compute(tr), price_kpis(tr, market.materials)) for code, tr in market.importers.items()}


_REASONS = {
    "days_until_stockout": "no stock-out: material never limited cell output",
    "jobs_at_risk_first_week": "no export control takes effect, so there is no first week to report",
    "min_days_of_cover": "no material is used (zero demand, capacity or utilisation), so cover is unbounded",
    "controlled_origin_share_start": "no material was ordered in the first year",
    "controlled_origin_share_end": "no material was ordered in the last year",
    "sic_anode_share_end": "no anode duty in the last step (no cell output)",
    "peak_shortfall_fraction": "no planned output, so no share of it can be lost",
    "price_index_peak": "this run records no prices (a one-importer scenario without a market)",
    "price_index_mean": "this run records no prices (a one-importer scenario without a market)",
}


def undefined_reason(name: str, summary: dict) -> str:
    """Why KPI ``name`` has no value (summary.json's ``kpi_notes``), given the other values."""
    if name == "recovery_date":
        if summary.get("days_until_stockout") is None:
            return "no recovery to report: output was never limited by material"
        return (f"not recovered: output did not stay within {RECOVERY_THRESHOLD:.0%} of plan for "
                f"{RECOVERY_DAYS:g} days before the end of the calendar")
    if summary.get("samples", 1) > 1:
        return _REASONS.get(name, "no value") + " (in most samples; see quantiles.defined_in)"
    return _REASONS.get(name, "the inputs leave this KPI without a value (e.g. zero demand)")

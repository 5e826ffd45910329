"""Key outcomes of a trajectory, one value per sample.

Definitions (also in README):
- ``cell_output_shortfall_gwh``: planned minus actual cell output, summed over the run (GWh).
- ``peak_shortfall_fraction``: the largest share of planned output lost in any step.
- ``days_until_stockout``: days from the first export control's effective date (the run's start
  if there is none) to the first step in which material shortage limits output; null if never.
- ``recovery_date``: the step after the last one with shortfall above 1%, if output was limited
  at some point and stays within 1% of plan for at least 28 days to the end; null otherwise.
- ``jobs_at_risk_peak``: exposed jobs x the peak shortfall fraction.
- ``jobs_at_risk_first_week``: the same, seven days after the first control takes effect.
- ``sic_anode_share_end``: share of the anode duty (graphite-equivalent) served by substitutes
  (Si/C) in the last step.
"""
from __future__ import annotations

import numpy as np

from .engine import Trajectory

RECOVERY_THRESHOLD = 0.01
RECOVERY_DAYS = 28.0
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
    out["peak_shortfall_fraction"] = s["shortfall_fraction"].max(axis=0)
    shock = traj.shock_day if traj.shock_day is not None else np.full(S, np.nan)
    origin = np.where(np.isnan(shock), 0.0, shock)
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
    out["jobs_at_risk_peak"] = s["jobs_at_risk"].max(axis=0)
    wk = np.where(np.isnan(shock), np.nan, shock + 7.0)
    idx = np.searchsorted(td, np.nan_to_num(wk, nan=0.0), side="left")
    idx = np.minimum(idx, T - 1)
    out["jobs_at_risk_first_week"] = np.where(np.isnan(wk), np.nan, s["jobs_at_risk"][idx, np.arange(S)])
    out["sic_anode_share_end"] = s["substitute_share"][-1].copy()   # a copy: a view keeps the series alive
    out["controlled_origin_share_start"] = _year_mean(s["controlled_origin_share"], dts, last=False)
    out["controlled_origin_share_end"] = _year_mean(s["controlled_origin_share"], dts, last=True)
    out["min_days_of_cover"] = s["days_of_cover"].min(axis=0)
    out["anode_cost_index_peak"] = s["anode_cost_index"].max(axis=0)
    out["cell_cost_index_end"] = s["cell_cost_index"][-1].copy()
    return out


_REASONS = {
    "days_until_stockout": "no stock-out: material never limited cell output",
    "jobs_at_risk_first_week": "no export control takes effect, so there is no first week to report",
    "min_days_of_cover": "no material is used (zero demand, capacity or utilisation), so cover is unbounded",
    "controlled_origin_share_start": "no material was ordered in the first year",
    "controlled_origin_share_end": "no material was ordered in the last year",
    "sic_anode_share_end": "no anode duty in the last step (no cell output)",
    "peak_shortfall_fraction": "no planned output, so no share of it can be lost",
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

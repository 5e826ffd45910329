"""Robustness of policies over common futures: regret, satisficing, percentiles, the Pareto front.

Arrays are (policies, futures). Regret of a policy in a future is how much worse its KPI is
than the best policy's in that same future (so the best policy there has regret exactly 0).
The satisficing probability is the share of futures in which the threshold KPI stays within
its limit. Failed evaluations (NaN) are left out of each statistic.
"""
from __future__ import annotations

from typing import Any

import numpy as np

PERCENTILES = (5, 50, 90, 95)


def regret(k: np.ndarray, sense: str = "min") -> np.ndarray:
    """Per-future regret (P, N): KPI minus the best KPI over policies in the same future (>= 0)."""
    k = np.asarray(k, dtype=float)
    with np.errstate(all="ignore"):
        if sense == "min":
            return k - np.nanmin(k, axis=0, keepdims=True)
        return np.nanmax(k, axis=0, keepdims=True) - k


def satisfied(t: np.ndarray, threshold: dict[str, Any]) -> np.ndarray:
    """Boolean (P, N): the threshold KPI within ``max`` (and ``min``) in each future; NaN is not satisfied."""
    t = np.asarray(t, dtype=float)
    ok = np.isfinite(t)
    with np.errstate(invalid="ignore"):
        if "max" in threshold:
            ok &= t <= float(threshold["max"])
        if "min" in threshold:
            ok &= t >= float(threshold["min"])
    return ok


def metrics(k: np.ndarray, t: np.ndarray, cost: np.ndarray, threshold: dict[str, Any], sense: str = "min"
            ) -> dict[str, np.ndarray]:
    """Every robustness metric per policy: name -> array (P,)."""
    r = regret(k, sense)
    ok = satisfied(t, threshold)
    valid = np.isfinite(t)
    with np.errstate(all="ignore"):
        out = {
            "satisficing": ok.sum(axis=1) / np.maximum(1, valid.sum(axis=1)),
            "regret_mean": np.nanmean(r, axis=1),
            "regret_max": np.nanmax(r, axis=1),
            "regret_p90": np.nanpercentile(r, 90, axis=1),
            "kpi_mean": np.nanmean(k, axis=1),
            **{f"kpi_p{q:02d}": np.nanpercentile(k, q, axis=1) for q in PERCENTILES},
            "threshold_kpi_mean": np.nanmean(t, axis=1),
            "threshold_kpi_p90": np.nanpercentile(t, 90, axis=1),
            "cost_mean_usd": np.nanmean(cost, axis=1),
            "cost_p05_usd": np.nanpercentile(cost, 5, axis=1),
            "cost_p95_usd": np.nanpercentile(cost, 95, axis=1),
            "failed_futures": (~np.isfinite(k)).sum(axis=1).astype(float),
        }
    return out


def pareto_front(cost: np.ndarray, kpi: np.ndarray, sense: str = "min") -> np.ndarray:
    """Boolean (P,): policies no other policy beats on both mean cost and mean KPI (ties kept)."""
    c = np.asarray(cost, dtype=float)
    y = np.asarray(kpi, dtype=float) * (1.0 if sense == "min" else -1.0)
    le = (c[None, :] <= c[:, None]) & (y[None, :] <= y[:, None])
    lt = (c[None, :] < c[:, None]) | (y[None, :] < y[:, None])
    dominated = (le & lt).any(axis=1)
    return ~dominated & np.isfinite(c) & np.isfinite(y)


def rank(m: dict[str, np.ndarray], by: str, sense: str = "min") -> np.ndarray:
    """Policy indices from best to worst on metric ``by``; ties broken by lower mean cost, then index."""
    key = {"satisficing": -m["satisficing"], "regret_max": m["regret_max"], "regret_p90": m["regret_p90"],
           "mean": m["kpi_mean"] * (1 if sense == "min" else -1),
           "p90": m["kpi_p90"] * (1 if sense == "min" else -1)}[by]
    key = np.where(np.isfinite(key), key, np.inf)
    return np.lexsort((np.arange(len(key)), m["cost_mean_usd"], key))

"""Time series of a sweep, reduced to percentile bands with bounded memory.

Method: a fixed-size subsample. Before the sweep starts, ``min(n, KEEP)`` sample indices are
drawn without replacement (from the sweep's SeedSequence, child "series"). Each chunk returns
the full trajectories of the key series for those of its samples only, written with the
chunk's shard; at the end the bands are the empirical percentiles over the subsample. Memory
is KEEP × steps × series × 4 bytes (1,000 × 521 × 8 × 4 B ≈ 17 MB for the main scenario)
whatever the number of samples, the subsample does not depend on chunking, workers or the
order chunks finish in, and a resumed sweep reads it back from the shards. The subsample of
a Monte Carlo design is itself a uniform random sample, so a percentile p is estimated with a
standard error of about sqrt(p(1-p)/KEEP) in probability (0.7 points at p = 5%).
KPI histograms use every sample (KPIs are one number per sample).
"""
from __future__ import annotations

from typing import Any

import numpy as np

KEEP = 1000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def keep_indices(n: int, seed_seq: np.random.SeedSequence, keep: int = KEEP) -> np.ndarray:
    """The sorted global sample indices whose time series are kept."""
    if keep <= 0 or n <= 0:
        return np.zeros(0, np.int64)
    if n <= keep:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed_seq).choice(n, size=keep, replace=False)).astype(np.int64)


def bands(kept: dict[str, tuple[np.ndarray, np.ndarray]], quantiles: tuple[float, ...] = QUANTILES
          ) -> dict[str, np.ndarray]:
    """Per series, the (len(quantiles), T) percentiles over the kept samples (NaN rows = failed)."""
    out = {}
    for name, (_, values) in kept.items():
        v = np.asarray(values, dtype=float)
        ok = ~np.all(np.isnan(v), axis=1)
        out[name] = (np.nanquantile(v[ok], quantiles, axis=0) if ok.any()
                     else np.full((len(quantiles), v.shape[1]), np.nan))
    return out


def bands_columns(b: dict[str, np.ndarray], times: list[str], units: dict[str, str],
                  quantiles: tuple[float, ...] = QUANTILES) -> dict[str, Any]:
    """bands.csv as columns: time, variable, unit, q05 .. q95 (one row per step and series)."""
    cols: dict[str, list] = {"time": [], "variable": [], "unit": []}
    qn = [f"q{round(q * 100):02d}" for q in quantiles]
    for q in qn:
        cols[q] = []
    for name in sorted(b):
        arr = b[name]
        T = arr.shape[1]
        cols["time"] += list(times[:T])
        cols["variable"] += [name] * T
        cols["unit"] += [units.get(name, "")] * T
        for i, q in enumerate(qn):
            cols[q] += arr[i].tolist()
    return cols

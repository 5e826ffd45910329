"""The delivered-price index an importer pays, from what arrived and the price it was bought at."""
from __future__ import annotations

import numpy as np


def delivered_price_index(value: np.ndarray, arrived: np.ndarray) -> np.ndarray:
    """(T,S,M) ``value / arrived`` (arrivals x link price x price weights over arrivals), normalised
    by each sample's and material's first defined value, carried forward where nothing arrived (1 before)."""
    p = np.where(arrived > 0, value / np.maximum(arrived, 1e-300), np.nan)
    T, S, M = p.shape
    flat = _ffill(p.reshape(T, S * M), np.nan).reshape(T, S, M)
    first = np.full((S, M), np.nan)
    for t in range(T):                             # the first defined value per sample and material
        first = np.where(np.isnan(first), flat[t], first)
    first = np.where(np.isnan(first) | (first <= 0), 1.0, first)
    return np.where(np.isnan(flat), 1.0, flat / first[None])


def _ffill(x: np.ndarray, first: float) -> np.ndarray:
    """Carry the last defined value forward along time (NaN where nothing arrived)."""
    out = x.copy()
    prev = np.full(x.shape[1], first)
    for t in range(len(out)):
        row = out[t]
        nan = np.isnan(row)
        row[nan] = prev[nan]
        prev = row
    return out

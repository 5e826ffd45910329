"""Production from stock and the planned use of one step: substitutes first, within their share limit.

Each substitute may serve at most its max_share of the cells made (a design limit per cell), so the
base material bounds output too. Shared by the stepper's production (what the stock allows) and
its per-step plan (what buyers order for when share limits move with price).
"""
from __future__ import annotations

import numpy as np


def produce(avail: np.ndarray, need: np.ndarray, dt: float, disp: np.ndarray, maxshare: np.ndarray,
            subs_by_group: list, base_by_group: list, group_of: list) -> tuple[np.ndarray, np.ndarray]:
    """Share of planned output made ``f`` (S,) and material used (S,M, t) from stock ``avail`` (S,M, geq)."""
    S = avail.shape[0]
    G = need.shape[1]
    f = np.ones(S)
    for g in range(G):
        nd = np.maximum(need[:, g] * dt, 1e-300)
        base_av = avail[:, base_by_group[g][0]] if base_by_group[g] else np.zeros(S)
        tot_av = base_av.copy()
        ms_sum = np.zeros(S)
        for m in subs_by_group[g]:
            tot_av += avail[:, m]
            ms_sum += maxshare[:, m]
        fg = np.minimum(1.0, tot_av / nd)
        if subs_by_group[g]:
            with np.errstate(divide="ignore", invalid="ignore"):   # only rows with ms_sum < 1 are kept
                base_lim = base_av / (np.maximum(1.0 - ms_sum, 1e-300) * nd)
            fg = np.where(ms_sum < 1.0, np.minimum(fg, base_lim), fg)
        np.minimum(f, np.where(need[:, g] > 0, fg, 1.0), out=f)
    use = np.zeros((S, disp.shape[1]))
    got = np.ones((S, G)) if G > 1 else None
    for g in range(G):
        want = need[:, g] * dt * f
        left = want.copy()
        for m in subs_by_group[g]:
            u = np.minimum(np.minimum(avail[:, m], maxshare[:, m] * want), left)
            use[:, m] = u / disp[:, m]
            left -= u
        for m in base_by_group[g]:
            u = np.minimum(avail[:, m], left)
            use[:, m] = u / disp[:, m]
            left -= u
        if got is not None:
            got[:, g] = np.where(want > 0, 1.0 - left / np.maximum(want, 1e-300), 1.0)
    if got is not None:
        short = got.min(axis=1)                   # < 1 only through rounding; keep groups in step
        use *= (short[:, None] / np.maximum(got, 1e-300))[:, group_of]
        f = f * short
    return f, use


def plan_step(need: np.ndarray, supply_geq: np.ndarray, disp: np.ndarray, maxshare: np.ndarray,
              subs_by_group: list, base_by_group: list) -> np.ndarray:
    """(...,S,M) planned use (t/day): substitutes up to their share limit and supply, the base the rest.

    ``need`` is (...,S,G) and ``supply_geq`` (...,S,M): one step, or all steps at once."""
    use = np.zeros(supply_geq.shape)
    for g in range(need.shape[-1]):
        left = need[..., g].copy()
        for m in subs_by_group[g]:
            u = np.minimum(np.minimum(maxshare[..., m] * need[..., g], supply_geq[..., m]), left)
            use[..., m] = u / disp[..., m]
            left -= u
        for m in base_by_group[g][:1]:
            use[..., m] = left / disp[..., m]
    return use

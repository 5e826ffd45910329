"""Scenario discovery: PRIM boxes over the futures in which the preferred policy fails.

Uses the ``prim`` package (Project-Platypus/PRIM, the standalone PRIM of the EMA Workbench;
an optional extra, ``pip install 'batsim[explore]'``). Each box is taken at the densest point of
its peeling trajectory whose coverage is at least ``min_coverage``; further boxes are searched on
the cases the earlier boxes left. Limits are in each parameter's own unit (dates as ISO dates).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import bad

QP_MAX = 0.05      # a restriction is reported when its quasi-p value (PRIM's one-sided binomial test) is below this


MISSING = ("scenario discovery needs the 'prim' package, which is not installed: prim_boxes.csv holds no boxes "
           "(pip install 'batsim[explore]', or pip install prim)")


def available() -> bool:
    """True when the optional ``prim`` package can be imported."""
    try:
        import prim  # noqa: F401
    except ImportError:
        return False
    return True


def _prim() -> Any:
    try:
        import prim
    except ImportError as exc:
        raise bad("--policies", MISSING.split(":")[0], "pip install 'batsim[explore]'   (or: pip install prim)") from exc
    return prim


@dataclass
class Box:
    """One PRIM box: limits on the restricted parameters, its coverage and density, and its trajectory."""

    index: int
    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    step: int
    trajectory: list[dict[str, float]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)    # restricted by PRIM, but not significantly (qp >= 0.05)


def find_boxes(X: np.ndarray, ids: list[str], fails: np.ndarray, max_boxes: int = 2, min_coverage: float = 0.5,
               mass_min: float = 0.05) -> list[Box]:
    """PRIM on ``X`` (futures × parameters) with ``fails`` as the cases of interest."""
    import pandas as pd

    prim = _prim()
    fails = np.asarray(fails, dtype=bool)
    if fails.all() or not fails.any() or X.shape[1] == 0:
        return []
    names = [f"x{j}" for j in range(X.shape[1])]      # PRIM's recarray wants plain field names
    df = pd.DataFrame({n: X[:, j] for j, n in enumerate(names)})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(df, fails.astype(float), threshold=0.5, threshold_type=">", mass_min=mass_min)
        boxes: list[Box] = []
        left = np.ones(len(X), dtype=bool)
        for b in range(max_boxes):
            try:
                box = p.find_box()
            except Exception:  # noqa: BLE001 - PRIM stops when nothing is left to find
                break
            if box is None:
                break
            traj = box.peeling_trajectory
            cov = traj["coverage"].to_numpy(float)
            den = traj["density"].to_numpy(float)
            ok = np.flatnonzero(cov >= min_coverage)
            i = int(ok[np.lexsort((-cov[ok], -den[ok]))[0]]) if len(ok) else int(np.argmax(cov))
            box.select(i)
            lims = box.limits
            if len(lims.index) == 0 or den[i] <= den[0]:   # restricts nothing, or no denser than what was left
                break
            qp = lims["qp values"].to_numpy(float)
            keep = [n for n, q in zip(lims.index, qp) if q < QP_MAX] or [lims.index[int(np.argmin(qp))]]
            limits = {ids[int(str(n)[1:])]: (float(lims.loc[n, "min"]), float(lims.loc[n, "max"])) for n in keep}
            inside = left.copy()
            for pid, (lo, hi) in limits.items():
                x = X[:, ids.index(pid)]
                inside &= (x >= lo) & (x <= hi)
            hit = int((inside & fails).sum())
            boxes.append(Box(b + 1, limits, hit / int(fails.sum()), hit / max(1, int(inside.sum())),
                             float(inside.sum() / len(X)), i,
                             [{k: float(traj[k].iloc[j]) for k in ("coverage", "density", "mass", "res dim")}
                              for j in range(len(traj))],
                             dropped=[ids[int(str(n)[1:])] for n in lims.index if n not in keep]))
            left &= ~inside
    return boxes


def show_value(v: float, unit: str) -> str:
    """A box limit in the parameter's unit: dates as ISO dates, numbers to 6 significant digits."""
    if unit == "date":
        return dt.date.fromordinal(int(round(v))).isoformat()
    return f"{v:.6g}"

"""Quick local sensitivity: every ranged input nudged down and up around its nominal value, all in
one vectorised engine call (1 + 2k samples), ranked by how much each moves each KPI.

Used by ``batsim explain KPI`` and ``batsim report`` when no sweep is at hand. The step is a
share of the parameter's declared range (clipped to the range), so dates and rates are treated
alike; it is local: a KPI that is flat at nominal (say no shortfall) gets no drivers here even
if a large move would create one — a sweep answers that.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

STEP = 0.1


@dataclass(frozen=True)
class Driver:
    """One input's effect on one KPI: the KPI at the input's lower and upper nudge."""

    param: str
    name: str
    unit: str
    low: float
    high: float
    kpi_low: float
    kpi_high: float

    @property
    def effect(self) -> float:
        """KPI(up) - KPI(down); NaN-safe magnitude for ranking via :attr:`size`."""
        return self.kpi_high - self.kpi_low

    @property
    def size(self) -> float:
        v = self.effect
        return abs(v) if np.isfinite(v) else (np.inf if np.isfinite(self.kpi_low) != np.isfinite(self.kpi_high) else 0.0)


@dataclass
class Local:
    """The result: nominal KPIs and, per KPI, the drivers with a non-zero effect, largest first."""

    nominal: dict[str, float]
    drivers: dict[str, list[Driver]]
    step: float
    evaluated: int

    def top(self, kpi: str, n: int = 5) -> list[Driver]:
        return self.drivers.get(kpi, [])[:n]


_CACHE: dict[tuple[str, float, int], Local] = {}


def local_sensitivity(scn: Any, step: float = STEP, seed: int = 0) -> Local:
    """Nudge each ranged input by ``step`` × its range down and up (one engine call) and rank drivers.

    Cached per process by the sha256 of the scenario chain and registry (explaining every KPI of
    one scenario runs the engine once).
    """
    from ..sweep.storage import scenario_fingerprint

    key = (scenario_fingerprint(scn)["hash"], float(step), int(seed))
    if key not in _CACHE:
        _CACHE[key] = _local(scn, step, seed)
    return _CACHE[key]


def _local(scn: Any, step: float, seed: int) -> Local:
    from ..api import run
    from ..sweep.factors import choose
    from ..core.errors import BadInput

    try:
        factors = choose(scn)
    except BadInput:
        factors = []
    k = len(factors)
    n = 1 + 2 * k
    given: dict[str, np.ndarray] = {}
    points: list[tuple[float, float]] = []
    for j, f in enumerate(factors):
        col = np.full(n, f.nominal, dtype=float)
        h = step * (f.high - f.low)
        lo, hi = max(f.low, f.nominal - h), min(f.high, f.nominal + h)
        if f.is_date:
            lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        col[1 + 2 * j], col[2 + 2 * j] = lo, hi
        points.append((lo, hi))
        given[f.id] = col
    res = run(scn, samples=n, seed=seed, given=given, uncertain=False, record="summary")
    kp = {name: np.asarray(v, dtype=float) for name, v in res.kpis.items()}
    nominal = {name: float(v[0]) for name, v in kp.items()}
    drivers: dict[str, list[Driver]] = {}
    for name, v in kp.items():
        ds = [Driver(f.id, f.name, f.unit, points[j][0], points[j][1], float(v[1 + 2 * j]), float(v[2 + 2 * j]))
              for j, f in enumerate(factors)]
        ds = [d for d in ds if d.size > 1e-9 * max(1.0, abs(nominal[name]) if np.isfinite(nominal[name]) else 1.0)]
        drivers[name] = sorted(ds, key=lambda d: -d.size)
    return Local(nominal=nominal, drivers=drivers, step=step, evaluated=n)


def driver_line(d: Driver, unit: str, fmt: Any = None) -> str:
    """'name (id): 0.55 -> 0.61 moves it 222.4 -> 180.1 GWh (batsim explain id)'."""
    f = fmt or (lambda x: "undefined" if not np.isfinite(x) else f"{x:,.4g}")
    u = f" {unit}" if unit and unit != "dimensionless" else ""
    pu = "" if d.unit in ("dimensionless", "date") else f" {d.unit}"
    lo, hi = (_iso(d.low), _iso(d.high)) if d.unit == "date" else (f"{d.low:.4g}{pu}", f"{d.high:.4g}{pu}")
    return (f"{d.name} ({d.param}): {lo} -> {hi} moves it {f(d.kpi_low)} -> {f(d.kpi_high)}{u}  "
            f"[batsim explain {d.param}]")


def _iso(ordinal: float) -> str:
    import datetime as dt

    return dt.date.fromordinal(int(round(ordinal))).isoformat()

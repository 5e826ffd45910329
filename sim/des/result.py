"""The result of a DES or hybrid run: a :class:`sim.api.Result` plus the event log and queue KPIs."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..api import Result

DES_KPI_UNITS = {
    "licence_backlog_peak_t": "t", "licence_time_to_decision_mean_days": "day", "licence_refused_t": "t",
    "lost_in_transit_t": "t", "lots_shipped": "count", "licence_applications": "count",
}
EVENT_COLUMNS = ("time", "kind", "entity", "quantity")
EVENT_UNITS = {
    "ship": "t", "in_transit_at_start": "t", "arrive": "t", "lost": "t", "licence_apply": "t",
    "licence_approve": "t", "licence_refuse": "t", "licence_release": "t", "batch": "GWh",
    "shortage_starts": "GWh", "shortage_ends": "GWh", "reserve_release": "t", "control_binds": "-",
    "control_lifted": "t", "front_running_starts": "dimensionless", "front_running_ends": "dimensionless",
    "project_announced": "t/day or GWh/day", "construction_start": "t/day or GWh/day",
    "commissioned": "t/day or GWh/day", "ramp_complete": "t/day or GWh/day",
}


@dataclass(repr=False)   # keep Result's short repr
class DesResult(Result):
    """A finished DES/hybrid run; ``samples`` counts replications."""

    replications: int = 1
    workers: int = 1
    events: list[tuple[float, str, str, float]] = field(default_factory=list)
    des_kpis: dict[str, np.ndarray] = field(default_factory=dict)
    n_events: np.ndarray = field(default_factory=lambda: np.zeros(0))
    settings: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """summary.json: the common KPIs, plus licence-queue KPIs, with p05/p50/p95 over replications."""
        from ..outputs.tables import kpi_value, summary

        out = summary(self)
        cal = self.scenario.calendar
        for name, unit in DES_KPI_UNITS.items():
            out[name] = kpi_value(name, self.des_kpis[name], cal)
            out["units"][name] = unit
            if "quantiles" in out:
                a = np.asarray(self.des_kpis[name], dtype=float)
                good = a[~np.isnan(a)]
                if good.size == 0:
                    out["quantiles"][name] = None
                    continue
                p = np.quantile(good, [0.05, 0.5, 0.95])
                out["quantiles"][name] = {"p05": round(float(p[0]), 6), "p50": round(float(p[1]), 6),
                                          "p95": round(float(p[2]), 6), "defined_in": round(good.size / a.size, 4)}
        out["replications"] = self.replications
        out["des_events_per_replication"] = int(np.median(self.n_events)) if self.n_events.size else 0
        return out

    def events_csv(self) -> str:
        """events.csv of the first replication: time (ISO date), kind, entity, quantity (unit by kind: docs/des.md)."""
        cal = self.scenario.calendar
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(EVENT_COLUMNS)
        for day, kind, entity, qty in self.events:
            w.writerow((cal.date_of(day).isoformat(), kind, entity, f"{qty:.9g}"))
        return buf.getvalue()

    def manifest_extra(self) -> dict[str, Any]:
        """What manifest.json adds for a DES run: replications, workers, DES settings and their sources."""
        return {"replications": self.replications, "workers": self.workers, "des_settings": self.settings,
                "des_events_total": int(self.n_events.sum()),
                "random_streams": "numpy.random.SeedSequence(seed).spawn(replications); one named stream per "
                                  "use inside a replication (docs/des.md)"}

"""`batsim explain KPI`: how an output is computed (its formula over recorded series), the arithmetic
for one run of a scenario, and its top drivers from a quick local sensitivity.

The arithmetic is recomputed from the run's own series (nominal values, one sample), so it
is the same number summary.json reports; a test checks each line adds up.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..stockflow.kpis import KPI_UNITS, RECOVERY_DAYS, RECOVERY_THRESHOLD, WINDOW_DAYS, stockout_origin, window_sums

YR = DAYS_PER_YEAR

FORMULAS: dict[str, str] = {
    "cell_output_shortfall_gwh": "sum over steps of (planned_output - cell_output) x step length; planned_output = "
                                 "min(demand, utilisation x cell_capacity), cell_output = planned_output x the share "
                                 "the anode material on hand allows",
    "peak_shortfall_fraction": "the largest share of planned output lost over a rolling four-week (28-day) "
                               "window: (planned_output - cell_output) / planned_output, each summed over the "
                               "window's steps weighted by step length, so the arrival of single lots does not set "
                               "it (a monthly step is its own window)",
    "days_until_stockout": "day of the first step (on or after the first step in which an export control actually "
                           "binds) in which material shortage limits output, minus that binding day (not the "
                           "effective date of a control that was suspended before it bit); the run's start if no "
                           "control binds (the first control's effective date for an engine that does not report "
                           "binding)",
    "recovery_date": f"the step after the last one with shortfall_fraction > {RECOVERY_THRESHOLD:.0%}, if output was "
                     f"limited and then stays within {RECOVERY_THRESHOLD:.0%} of plan for {RECOVERY_DAYS:.0f} days "
                     "to the end",
    "jobs_at_risk_peak": f"exposed jobs x the peak shortfall fraction (the same rolling {WINDOW_DAYS:.0f}-day "
                         "windows; jobs_at_risk = exposed jobs x shortfall_fraction in each step)",
    "jobs_at_risk_first_week": "jobs_at_risk in the step 7 days after the first control takes effect",
    "sic_anode_share_end": "substitute_share (Si/C share of the anode duty, graphite-equivalent) in the last step",
    "controlled_origin_share_start": "mean of controlled_origin_share over the first 365.25 days, weighted by step "
                                     "length",
    "controlled_origin_share_end": "mean of controlled_origin_share over the last 365.25 days, weighted by step length",
    "min_days_of_cover": "min over steps of days_of_cover = anode inventory / planned daily use",
    "anode_cost_index_peak": "max over steps of anode_cost_index (delivered anode cost relative to the start)",
    "cell_cost_index_end": "cell_cost_index (learning-curve cell cost relative to the start) in the last step",
    "planned_output_gwh": "sum over steps of planned_output x step length; planned_output = min(demand, "
                          "utilisation x cell_capacity)",
    "cell_output_gwh": "sum over steps of cell_output x step length",
}
DES_FORMULAS: dict[str, str] = {
    "licence_backlog_peak_t": "DES only: the largest licence-queue backlog (tonnes awaiting a decision)",
    "licence_time_to_decision_mean_days": "DES only: mean days from licence application to decision",
    "licence_refused_t": "DES only: tonnes whose licence was refused",
    "lost_in_transit_t": "DES only: tonnes lost in transit (lots caught by a ban that loses goods at sea)",
    "lots_shipped": "DES only: number of lots shipped",
    "licence_applications": "DES only: number of licence applications",
}

REGION_FORMULAS: dict[str, str] = {
    "price_index_peak": "per importer and material (summary.json regions): max over steps of price_index, the "
                        "delivered-price index the importer pays (1 = before any control); null where the run "
                        "records no prices",
    "price_index_mean": "per importer and material (summary.json regions): mean of price_index over the run, "
                        "weighted by step length; null where the run records no prices",
}
FORMULA_ONLY = {**DES_FORMULAS, **REGION_FORMULAS}     # explained by formula, not recomputed for a scenario


def is_kpi(name: str) -> bool:
    """True for a KPI key of summary.json (stock-flow, DES, or per importer in ``regions``)."""
    return name in FORMULAS or name in FORMULA_ONLY


def kpi_names() -> list[str]:
    return [*FORMULAS, *FORMULA_ONLY]


def _n(v: float, unit: str = "") -> str:
    if not np.isfinite(v):
        return "undefined"
    txt = f"{v:,.0f}" if unit == "person" else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}")
    return txt + (f" {unit}" if unit and unit not in ("dimensionless", "person", "index") else "")


class _Run:
    """One nominal run's series at sample 0, with dates."""

    def __init__(self, result: Any) -> None:
        self.r = result
        s = result.trajectory.series
        self.s = {k: np.asarray(v)[:, 0] for k, v in s.items() if isinstance(v, np.ndarray) and np.ndim(v) >= 2}
        self.td = result.trajectory.t_days
        self.dt = result.trajectory.dt_days
        self.cal = result.scenario.calendar
        self.slots = {k: float(v[0]) for k, v in result.resolved.slots.items()}
        sh = result.trajectory.shock_day
        self.shock = float(sh[0]) if sh is not None and np.isfinite(sh[0]) else None
        bind = getattr(result.trajectory, "bind_day", None)
        self.binds = bind is not None
        self.origin = float(stockout_origin(result.trajectory)[0])

    def date(self, day: float) -> str:
        return self.cal.date_of(day).isoformat()

    def kpi(self, name: str) -> float:
        return float(np.asarray(self.r.kpis[name], dtype=float)[0])

    def planned_line(self, i: int) -> str:
        s = self.s
        u = self.slots.get("cells.utilisation", 1.0)
        return (f"planned output on {self.date(self.td[i])}: {_n(s['planned_output'][i] * YR)} GWh/yr = min(demand "
                f"{_n(s['demand'][i] * YR)}, utilisation {u:.4g} x cell capacity {_n(s['cell_capacity'][i] * YR)})")


def _shortfall(x: _Run) -> list[str]:
    p, o = x.kpi("planned_output_gwh"), x.kpi("cell_output_gwh")
    i = int(np.argmax(x.s["shortfall_fraction"]))
    return [f"shortfall {_n(p - o)} GWh = planned {_n(p)} GWh - output {_n(o)} GWh (summed over "
            f"{len(x.td)} steps)", x.planned_line(0),
            f"worst step {x.date(x.td[i])}: planned {_n(x.s['planned_output'][i] * YR)} GWh/yr, output "
            f"{_n(x.s['cell_output'][i] * YR)} GWh/yr"]


def _window(x: _Run) -> tuple[float, float, str, str]:
    """Planned and actual output (GWh) in the worst rolling window, and its first and last dates."""
    pl = window_sums(x.s["planned_output"][:, None], x.dt)[:, 0]
    out = window_sums(x.s["cell_output"][:, None], x.dt)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(pl > 0, 1 - out / np.where(pl > 0, pl, 1.0), -np.inf)
    j = int(np.argmax(frac))
    ends = np.cumsum(x.dt)
    end = ends[ends - WINDOW_DAYS >= -1e-9][j] if (ends - WINDOW_DAYS >= -1e-9).any() else ends[-1]
    start = max(end - WINDOW_DAYS, 0.0)
    return float(pl[j]), float(out[j]), x.date(start), x.date(end - 1)


def _peak(x: _Run) -> list[str]:
    p, o, a, b = _window(x)
    i = int(np.argmax(x.s["shortfall_fraction"]))
    return [f"peak shortfall fraction {x.kpi('peak_shortfall_fraction'):.4g} = 1 - output {_n(o)} / planned "
            f"{_n(p)} GWh over the {WINDOW_DAYS:.0f} days {a} .. {b}",
            f"(the worst single step, {x.date(x.td[i])}, lost {x.s['shortfall_fraction'][i]:.4g}; the window "
            "keeps the arrival of single lots from setting the peak)"]


def _stockout(x: _Run) -> list[str]:
    v = x.kpi("days_until_stockout")
    origin = x.origin
    if x.binds:
        what = "first step a control binds" if origin > 0 or x.shock is not None else "run start"
    else:
        what = "first control effective" if x.shock is not None else "run start"
    if not np.isfinite(v):
        return [f"no stock-out: material never limits output after the {what} ({x.date(origin)})"]
    return [f"days until stock-out {v:.0f} = first material-limited step {x.date(origin + v)} (day {origin + v:.0f}) "
            f"- {what} {x.date(origin)} (day {origin:.0f})"]


def _recovery(x: _Run) -> list[str]:
    sf = x.s["shortfall_fraction"]
    above = np.flatnonzero(sf > RECOVERY_THRESHOLD)
    v = x.kpi("recovery_date")
    if np.isfinite(v):
        return [f"recovery {x.date(v)}: last step above {RECOVERY_THRESHOLD:.0%} shortfall {x.date(x.td[above[-1]])}, "
                f"then within {RECOVERY_THRESHOLD:.0%} of plan for {x.td[-1] + x.dt[-1] - v:.0f} days to the end "
                f"(>= {RECOVERY_DAYS:.0f})"]
    if above.size == 0:
        return [f"no recovery date: shortfall never exceeds {RECOVERY_THRESHOLD:.0%}"]
    return [f"no recovery date: the shortfall is still {sf[-1]:.1%} in the last step ({x.date(x.td[-1])})"]


def _jobs_peak(x: _Run) -> list[str]:
    e = x.slots.get("jobs.exposed", 0.0)
    f = x.kpi("peak_shortfall_fraction")
    return [f"jobs at risk (peak) {_n(x.kpi('jobs_at_risk_peak'), 'person')} = exposed jobs {_n(e, 'person')} x peak "
            f"shortfall fraction {f:.4g} (over {WINDOW_DAYS:.0f} days)"]


def _jobs_week(x: _Run) -> list[str]:
    if x.shock is None:
        return ["undefined: the scenario has no export control"]
    i = min(int(np.searchsorted(x.td, x.shock + 7.0)), len(x.td) - 1)
    e = x.slots.get("jobs.exposed", 0.0)
    return [f"jobs at risk in the first week {_n(x.kpi('jobs_at_risk_first_week'), 'person')} = exposed jobs "
            f"{_n(e, 'person')} x shortfall fraction {x.s['shortfall_fraction'][i]:.4g} on {x.date(x.td[i])} "
            f"(first control effective {x.date(x.shock)} + 7 days)"]


def _at(series: str, kpi: str, how: str) -> Callable[[_Run], list[str]]:
    def f(x: _Run) -> list[str]:
        a = x.s[series]
        i = {"end": len(a) - 1, "max": int(np.nanargmax(a)), "min": int(np.nanargmin(a))}[how]
        return [f"{kpi} {_n(x.kpi(kpi))} = {series} in step {x.date(x.td[i])}"
                + ("" if how == "end" else f" (the {how} over {len(a)} steps)")]
    return f


def _year(kpi: str, last: bool) -> Callable[[_Run], list[str]]:
    def f(x: _Run) -> list[str]:
        cum = np.cumsum(x.dt)
        mask = cum > cum[-1] - 365.25 if last else cum - x.dt < 365.25
        idx = np.flatnonzero(mask)
        return [f"{kpi} {x.kpi(kpi):.4g} = step-weighted mean of controlled_origin_share over {len(idx)} steps "
                f"{x.date(x.td[idx[0]])} .. {x.date(x.td[idx[-1]])} (values {x.s['controlled_origin_share'][idx].min():.3g}"
                f" .. {x.s['controlled_origin_share'][idx].max():.3g})"]
    return f


def _total(kpi: str, series: str) -> Callable[[_Run], list[str]]:
    def f(x: _Run) -> list[str]:
        a = x.s[series] * YR
        out = [f"{kpi} {_n(x.kpi(kpi))} GWh = sum of {series} x step over {len(a)} steps (mean {_n(a.mean())} GWh/yr "
               f"over {(x.td[-1] + x.dt[-1] - x.td[0]) / YR:.2f} years)"]
        return out + [x.planned_line(0)] if series == "planned_output" else out
    return f


ARITHMETIC: dict[str, Callable[[_Run], list[str]]] = {
    "cell_output_shortfall_gwh": _shortfall, "peak_shortfall_fraction": _peak, "days_until_stockout": _stockout,
    "recovery_date": _recovery, "jobs_at_risk_peak": _jobs_peak, "jobs_at_risk_first_week": _jobs_week,
    "sic_anode_share_end": _at("substitute_share", "sic_anode_share_end", "end"),
    "controlled_origin_share_start": _year("controlled_origin_share_start", last=False),
    "controlled_origin_share_end": _year("controlled_origin_share_end", last=True),
    "min_days_of_cover": _at("days_of_cover", "min_days_of_cover", "min"),
    "anode_cost_index_peak": _at("anode_cost_index", "anode_cost_index_peak", "max"),
    "cell_cost_index_end": _at("cell_cost_index", "cell_cost_index_end", "end"),
    "planned_output_gwh": _total("planned_output_gwh", "planned_output"),
    "cell_output_gwh": _total("cell_output_gwh", "cell_output"),
}


def explain_kpi(name: str, scenario: Any | None = None, top: int = 5, local: Any = None) -> dict[str, Any]:
    """The explanation as data: formula, unit, and (with a scenario) value, arithmetic and drivers."""
    out: dict[str, Any] = {"kpi": name, "formula": FORMULAS.get(name) or FORMULA_ONLY[name],
                           "unit": KPI_UNITS.get(name, "index" if name in REGION_FORMULAS else "")}
    if scenario is None or name in FORMULA_ONLY:
        return out
    import sim

    from ..analysis.sensitivity import local_sensitivity

    res = sim.run(scenario, samples=1, seed=0)
    x = _Run(res)
    out["scenario"] = scenario.id
    out["value"] = res.summary()[name]
    out["arithmetic"] = ARITHMETIC[name](x)
    loc = local if local is not None else local_sensitivity(scenario)
    out["sensitivity_step"] = loc.step
    out["drivers"] = [{"param": d.param, "name": d.name, "unit": d.unit, "low": d.low, "high": d.high,
                       "kpi_low": d.kpi_low, "kpi_high": d.kpi_high} for d in loc.top(name, top)]
    return out


def explain_kpi_text(info: dict[str, Any]) -> str:
    """The text `batsim explain KPI` prints."""
    from ..analysis.sensitivity import Driver, driver_line

    name, unit = info["kpi"], info["unit"]
    lines = [f"{name}" + (f" [{unit}]" if unit else ""), f"  computed as: {info['formula']}"]
    if "scenario" not in info:
        if name in FORMULAS:
            lines.append(f"  (for this KPI's value, arithmetic and drivers in a run: batsim explain {name} "
                         "--scenario FILE)")
        return "\n".join(lines) + "\n"
    lines.append(f"  in {info['scenario']} (nominal values, seed 0): {info['value']}")
    lines += [f"    {a}" for a in info["arithmetic"]]
    ds = info["drivers"]
    step = info["sensitivity_step"]
    if ds:
        lines.append(f"  top drivers (each input nudged by ±{step:.0%} of its range, one vectorised run):")
        for d in ds:
            lines.append("    " + driver_line(Driver(**d), unit if unit != "date" else "day"))
    else:
        lines.append(f"  no input moves it within ±{step:.0%} of its range around nominal (a sweep explores further: "
                     f"batsim sweep SCENARIO --method morris)")
    return "\n".join(lines) + "\n"

"""Plots of a run for a brief: supply by origin against demand, inventory cover, shortfall, Si/C share;
for market runs also the price index by material and the shortfall of every importer.

Titled (saying which engine made them), axes labelled with units, labels from names (not ids),
policy dates marked so that dates a day apart stay distinct, the stock-out day marked, and a
caption line with scenario, version, seed and engine. Ensembles show the median and a 5-95%
band. PNG, SVG or PDF. matplotlib is imported only when a plot is drawn, so the CLI starts fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from .figstyle import add_caption, caption, pyplot, save

_COLORS = {"CN": "#c0392b", "ALLIED": "#2980b9", "US": "#27ae60", "ROW": "#8e44ad", "EU": "#d4ac0d", "JP": "#e84393",
           "KR": "#17a589"}
_EVENT_STYLE = {"announced": ("#7f8c8d", ":"), "effective": ("#c0392b", "--"), "suspended": ("#2980b9", "-."),
                "reinstated": ("#8e44ad", (0, (5, 1)))}
ENGINE_NAMES = {"stockflow": "stock-flow engine", "des": "discrete-event engine",
                "hybrid": "hybrid engine (DES material over stock-flow capacity)"}


@dataclass(frozen=True)
class Mark:
    """A dated policy event to draw: a vertical line, or a shaded span when ``end`` is set."""

    day: float
    label: str
    kind: str
    end: float | None = None


def region_name(scn: Any, code: str) -> str:
    """The region's name from the scenario (``regions: {CN: {name: China}}``), else its code."""
    return str(((scn.data.get("regions") or {}).get(code) or {}).get("name") or code)


def material_name(scn: Any, code: str) -> str:
    """The material's short name: the scenario's code (``graphite``), readable as it is."""
    return code.replace("_", " ")


def control_name(result: Any, c: Any) -> str:
    """'China graphite licence' for an export control (origin, material, regime), not its id."""
    st = result.trajectory.structure
    return f"{region_name(result.scenario, st.regions[c.origin])} {material_name(result.scenario, st.materials[c.material])} {c.regime}"


def policy_marks(result: Any) -> list[Mark]:
    """Each export control's announcement and effective date, and its suspensions as spans (median days)."""
    out: list[Mark] = []
    slots = result.resolved.slots
    for c in result.trajectory.structure.controls:
        name = control_name(result, c)
        for key, kind in (("announced", "announced"), ("effective", "effective")):
            v = slots.get(f"{c.path}.{key}")
            if v is not None:
                out.append(Mark(float(np.median(v)), f"{name} {kind}", kind))
        for j in range(c.n_suspensions):
            a, b = slots.get(f"{c.path}.suspensions.{j}.start"), slots.get(f"{c.path}.suspensions.{j}.end")
            if a is not None:
                end = float(np.median(b)) if b is not None else None
                out.append(Mark(float(np.median(a)), f"{name} suspended", "suspended", end))
    return sorted(out, key=lambda m: m.day)


def stockout_day(result: Any) -> float | None:
    """Run day of the stock-out (median over samples where there is one), or None."""
    from ..stockflow.kpis import stockout_origin

    k = np.asarray(result.kpis.get("days_until_stockout", [np.nan]), dtype=float)
    day = k + stockout_origin(result.trajectory)
    good = day[np.isfinite(day)]
    if good.size == 0 or good.size * 2 <= day.size and day.size > 1:
        return None
    return float(np.median(good))


def _date(result: Any, day: float) -> np.datetime64:
    return np.datetime64(result.scenario.calendar.start) + np.timedelta64(int(round(day)), "D")


def draw_marks(ax: Any, result: Any, labels: bool) -> None:
    """Policy lines and suspension spans on ``ax``; with ``labels``, each named in staggered text at the top."""
    cal = result.scenario.calendar
    marks = policy_marks(result)
    texts = []
    for m in marks:
        color, ls = _EVENT_STYLE[m.kind]
        when = cal.date_of(m.day).isoformat()
        label = f"{m.label} {when}"
        if m.end is not None:
            until = cal.date_of(m.end).isoformat()
            label = f"{m.label} {when}, reinstated {until}"
            ax.axvspan(_date(result, m.day), _date(result, m.end), color=color, alpha=0.08, lw=0)
            rc, rls = _EVENT_STYLE["reinstated"]
            ax.axvline(_date(result, m.end), color=rc, ls=rls, lw=1.1)
            texts.append((m.end, f"reinstated {until}", rc))
        ax.axvline(_date(result, m.day), color=color, ls=ls, lw=1.1, label=label if labels else None)
        texts.append((m.day, f"{m.kind} {when}", color))
    if labels:   # staggered so that events a day apart stay readable
        for i, (day, text, color) in enumerate(sorted(texts)):
            ax.annotate(text, (_date(result, day), 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -10 - 9 * (i % 4)), textcoords="offset points", fontsize=6.5, color=color)


def draw_stockout(ax: Any, result: Any, label: bool) -> None:
    """A vertical line at the stock-out day (material first limits output), if there is one."""
    day = stockout_day(result)
    if day is None:
        return
    when = result.scenario.calendar.date_of(day).isoformat()
    ax.axvline(_date(result, day), color="black", lw=1.4, ls="-", alpha=0.8,
               label=f"stock-out: material first limits output {when}" if label else None)


def band(ax: Any, x: np.ndarray, arr: np.ndarray, label: str, color: str | None = None, **kw: Any) -> None:
    """One series: a line (one sample) or the median with its 5-95% band (an ensemble)."""
    arr = np.asarray(arr, dtype=float).reshape(len(x), -1)
    if arr.shape[1] == 1:
        ax.plot(x, arr[:, 0], label=label, color=color, lw=kw.pop("lw", 1.6), **kw)
        return
    lo, med, hi = np.nanquantile(arr, [0.05, 0.5, 0.95], axis=1)
    ax.plot(x, med, label=f"{label} (median)", color=color, lw=kw.pop("lw", 1.6), **kw)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0, label=f"{label} 5-95%")


def engine_note(result: Any) -> str:
    """'stock-flow engine' or 'discrete-event engine, 20 replications': which engine drew the figure."""
    name = ENGINE_NAMES.get(result.engine, result.engine)
    reps = getattr(result, "replications", 1)
    return name + (f", {reps} replications" if result.engine != "stockflow" and reps > 1 else "")


def finish(fig: Any, axes: list[Any], result: Any, title: str, path: Path, fmt: str) -> Path:
    """Title (with the engine), policy marks, stock-out, one legend below, caption; save."""
    axes[0].set_title(f"{result.scenario.title}\n{title} ({engine_note(result)})", fontsize=9)
    for i, ax in enumerate(axes):
        ax.grid(alpha=0.3)
        draw_marks(ax, result, labels=(i == 0))
        draw_stockout(ax, result, label=(i == 0))
    axes[-1].set_xlabel("date")
    handles, labels = [], []
    for a in fig.axes:
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 0.02), ncol=2, frameon=False)
    fig.autofmt_xdate()
    rows = (len(labels) + 1) // 2
    fig.tight_layout(rect=(0, min(0.4, 0.03 + 0.022 * rows), 1, 1))
    add_caption(fig, caption(result.scenario.id, result.seed, result.engine, result.samples))
    return save(fig, path, fmt)


def _top(*arrays: np.ndarray) -> float:
    vals = [float(np.nanmax(a)) for a in arrays if np.size(a) and np.isfinite(np.nanmax(a))]
    return max([1.0, *vals]) * 1.08


def _start(result: Any, panels: int = 1, height: float = 5.8,
           ratios: tuple[float, ...] | None = None) -> tuple[Any, list[Any], dict[str, Any], np.ndarray]:
    """A figure of ``panels`` stacked axes sharing the date axis, the run's series and its dates."""
    fig, axes = pyplot().subplots(panels, 1, figsize=(9.5, height), sharex=True, squeeze=False, height_ratios=ratios)
    return fig, list(axes[:, 0]), result.trajectory.series, np.array(result.dates, dtype="datetime64[D]")


def supply_plot(result: Any, folder: Path, fmt: str) -> Path:
    """Top: demand, planned output and output on one scale (demand never off-scale). Bottom: anode
    supply by origin against planned output, scaled so the front-running spike is not clipped."""
    fig, (a1, a2), s, x = _start(result, 2, 8.2, ratios=(1, 1.3))
    st, yr = result.trajectory.structure, DAYS_PER_YEAR
    band(a1, x, s["demand"] * yr, "cell demand", "black")
    band(a1, x, s["planned_output"] * yr, "planned output (demand capped by cell capacity)", "0.45")
    band(a1, x, s["cell_output"] * yr, "cell output", "#e67e22")
    hi = lambda k: np.nanquantile(s[k], 0.95, axis=1) * yr   # noqa: E731 - the band's top, not just the median
    a1.set_ylim(0, _top(hi("demand"), hi("planned_output")))
    a1.set_ylabel("GWh/year")
    sup = np.median(s["supportable_by_origin"], axis=1) * yr if "supportable_by_origin" in s else np.zeros((len(x), 0))
    order = [r for r in range(sup.shape[1]) if sup[:, r].any()]
    if order:
        a2.stackplot(x, *[sup[:, r] for r in order],
                     labels=[f"anode deliveries from {region_name(result.scenario, st.regions[r])}" for r in order],
                     colors=[_COLORS.get(st.regions[r], None) for r in order], alpha=0.55)
    planned = np.median(s["planned_output"], axis=1) * yr
    band(a2, x, s["planned_output"] * yr, "planned output (demand capped by cell capacity)", "0.45")
    band(a2, x, s["cell_output"] * yr, "cell output", "#e67e22")
    total = sup.sum(axis=1) if order else np.zeros(len(x))
    a2.set_ylim(0, _top(total, hi("planned_output"), hi("cell_output")))
    if order and total.max() > 1.25 * max(planned.max(), 1e-9):
        i = int(np.argmax(total))
        a2.annotate(f"peak {total[i]:,.0f} GWh/yr of supply on {result.dates[i].isoformat()}\n"
                    "(buyers front-running the control)", (x[i], total[i]), xytext=(12, -18),
                    textcoords="offset points", fontsize=7, arrowprops={"arrowstyle": "->", "lw": 0.7})
    a2.set_ylabel("GWh/year of cells supported")
    a2.set_title("Anode supply by origin (as GWh of cells it supports) against planned and actual output", fontsize=8)
    return finish(fig, [a1, a2], result, "Cell demand, planned output and output; anode supply by origin",
                  folder / "supply_by_origin", fmt)


def cover_plot(result: Any, folder: Path, fmt: str) -> Path:
    """Anode inventory at cell makers in days of planned use, with the stock-out day marked."""
    fig, (ax,), s, x = _start(result)
    cover = np.where(np.isfinite(s["days_of_cover"]), s["days_of_cover"], np.nan)
    band(ax, x, cover, "anode inventory cover", "#2c3e50")
    finite = cover[np.isfinite(cover)]
    ax.set_ylim(0, _top(finite) if finite.size else 1.0)
    ax.set_ylabel("days of planned use")
    return finish(fig, [ax], result, "Anode inventory at cell makers, in days of planned use", folder / "inventory_cover",
                  fmt)


def shortfall_plot(result: Any, folder: Path, fmt: str) -> Path:
    """Shortfall (% of planned output) and jobs at risk on separate panels, so neither reads as the other."""
    fig, (a1, a2), s, x = _start(result, 2, 7.4)
    frac = s["shortfall_fraction"] * 100
    band(a1, x, frac, "shortfall of planned output", "#c0392b")
    a1.set_ylim(0, min(100.0, _top(np.nanquantile(frac, 0.95, axis=1), np.array([5.0]))))
    a1.set_ylabel("shortfall (% of planned output)")
    band(a2, x, s["jobs_at_risk"], "jobs at risk (exposed jobs × shortfall fraction)", "#7f8c8d")
    a2.set_ylim(0, _top(np.nanquantile(s["jobs_at_risk"], 0.95, axis=1), np.array([10.0])))
    a2.set_ylabel("jobs at risk (persons)")
    a2.yaxis.set_major_formatter(_thousands())
    return finish(fig, [a1, a2], result, "Cell output shortfall (top) and jobs at risk (bottom)",
                  folder / "shortfall", fmt)


def share_plot(result: Any, folder: Path, fmt: str) -> Path:
    """Si/C share of anode duty and the controlled origin's share of deliveries, in %."""
    fig, (ax,), s, x = _start(result)
    band(ax, x, s["substitute_share"] * 100, "Si/C share of anode duty", "#16a085")
    band(ax, x, s["controlled_origin_share"] * 100, "controlled origin's share of deliveries", "#c0392b")
    ax.set_ylim(0, 105)
    ax.set_ylabel("share (%)")
    return finish(fig, [ax], result, "Si/C share of anode duty (graphite-equivalent) and the controlled origin's share",
                  folder / "sic_share", fmt)


def price_plot(result: Any, folder: Path, fmt: str) -> Path | None:
    """The delivered-price index the importer in focus pays, one line per material (None if not recorded)."""
    p = result.market.price_index() if getattr(result, "market", None) is not None else None
    if p is None:
        return None
    fig, (ax,), _, x = _start(result)
    colors = ("#2c3e50", "#16a085", "#d35400", "#8e44ad", "#7f8c8d")
    for m, name in enumerate(result.market.materials):
        band(ax, x, p[:, :, m], f"{material_name(result.scenario, name)} price index", colors[m % len(colors)])
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_ylim(0, _top(np.nanquantile(p, 0.95, axis=1)))
    ax.set_ylabel("price index (1 = before any control)")
    who = region_name(result.scenario, result.importer)
    return finish(fig, [ax], result, f"Delivered price index by material, paid by {who}", folder / "price_index", fmt)


def importers_plot(result: Any, folder: Path, fmt: str) -> Path | None:
    """Shortfall (% of planned output) of every importer, the importer in focus drawn heavy (None with one importer)."""
    market = getattr(result, "market", None)
    if market is None or len(market.codes) < 2:
        return None
    fig, (ax,), _, x = _start(result)
    top = [np.array([5.0])]
    for code, traj in market.importers.items():
        frac = traj.series["shortfall_fraction"] * 100
        mine = code == market.focus
        label = region_name(result.scenario, code) + (" (importer in focus)" if mine else "")
        band(ax, x, frac, label, _COLORS.get(code), lw=2.6 if mine else 1.1, zorder=3 if mine else 2,
             alpha=1.0 if mine else 0.75)
        top.append(np.nanquantile(frac, 0.95, axis=1))
    ax.set_ylim(0, min(100.0, _top(*top)))
    ax.set_ylabel("shortfall (% of planned output)")
    return finish(fig, [ax], result, "Cell output shortfall by importer", folder / "shortfall_by_importer", fmt)


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


PLOTS = (supply_plot, cover_plot, shortfall_plot, share_plot, price_plot, importers_plot)


def write_plots(result: Any, folder: str | Path, fmt: str = "png") -> list[Path]:
    """Write the standard plots into ``folder`` as ``fmt`` (png, svg or pdf); returns their paths
    (the price and by-importer plots only when the run has prices or several importers)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with np.errstate(all="ignore"):
        return [p for p in (plot(result, folder, fmt) for plot in PLOTS) if p is not None]

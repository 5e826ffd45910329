"""Plots of a run for a brief: supply by origin against demand, inventory cover, shortfall, Si/C share.

Titled, axes labelled with units, policy dates marked. Ensembles show the median and a 5-95%
band. matplotlib is imported here only, so the CLI starts fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.calendar import DAYS_PER_YEAR

_COLORS = {"CN": "#c0392b", "ALLIED": "#2980b9", "US": "#27ae60", "ROW": "#8e44ad"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _policy_marks(ax: Any, result: Any) -> None:
    """Vertical lines at each export control's announcement, effect and suspension dates (in the legend)."""
    scn = result.scenario
    start = np.datetime64(scn.calendar.start)
    styles = {"announced": ":", "effective": "--", "suspended": "-.", "reinstated": (0, (5, 1))}
    for c in result.trajectory.structure.controls:
        keys = [("announced", "announced"), ("effective", "effective")]
        keys += [(f"suspensions.{j}.start", "suspended") for j in range(c.n_suspensions)]
        keys += [(f"suspensions.{j}.end", "reinstated") for j in range(c.n_suspensions)]
        for key, label in keys:
            v = result.resolved.slots.get(f"{c.path}.{key}")
            if v is None:
                continue
            day = float(np.median(v))
            x = start + np.timedelta64(int(day), "D")
            when = scn.calendar.date_of(day).isoformat()
            ax.axvline(x, color="0.3", ls=styles[label], lw=1, label=f"{c.id} {label} {when}")


def _band(ax: Any, x: np.ndarray, arr: np.ndarray, label: str, color: str | None = None) -> None:
    if arr.shape[1] == 1:
        ax.plot(x, arr[:, 0], label=label, color=color, lw=1.6)
        return
    lo, med, hi = np.quantile(arr, [0.05, 0.5, 0.95], axis=1)
    ax.plot(x, med, label=f"{label} (median)", color=color, lw=1.6)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0, label=f"{label} 5-95%")


def _finish(fig: Any, ax: Any, result: Any, title: str, ylabel: str, path: Path) -> None:
    ax.set_title(f"{result.scenario.title}\n{title}", fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("date")
    ax.grid(alpha=0.3)
    _policy_marks(ax, result)
    handles, labels = [], []
    for a in fig.axes:
        h, lab = a.get_legend_handles_labels()
        handles += h
        labels += lab
    ax.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_plots(result: Any, folder: str | Path) -> list[Path]:
    """Write the standard plots into ``folder``; returns their paths."""
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    s, st = result.trajectory.series, result.trajectory.structure
    x = np.array(result.dates, dtype="datetime64[D]")
    yr = DAYS_PER_YEAR
    paths = []

    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    if "supportable_by_origin" in s:
        sup = np.median(s["supportable_by_origin"], axis=1) * yr
        order = [r for r in range(st.R) if sup[:, r].any()]
    if "supportable_by_origin" in s and order:   # nothing to stack when no anode is delivered (zero demand)
        ax.stackplot(x, *[sup[:, r] for r in order], labels=[f"anode deliveries from {st.regions[r]}" for r in order],
                     colors=[_COLORS.get(st.regions[r], None) for r in order], alpha=0.55)
    top = max(1.0, float(np.quantile(s["planned_output"] * yr, 0.99)) * 1.6)
    dmax = float(np.max(np.median(s["demand"], axis=1))) * yr
    _band(ax, x, s["demand"] * yr, "cell demand" + (f" (off scale: rises to {dmax:,.0f})" if dmax > top else ""), "black")
    _band(ax, x, s["planned_output"] * yr, "planned output (capped by capacity)", "0.45")
    _band(ax, x, s["cell_output"] * yr, "cell output", "#e67e22")
    ax.set_ylim(0, top)
    _finish(fig, ax, result, "Anode supply by origin (as GWh of cells it supports) against demand and output",
            "GWh/year", folder / "supply_by_origin.png")
    paths.append(folder / "supply_by_origin.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    cover = np.where(np.isfinite(s["days_of_cover"]), s["days_of_cover"], np.nan)
    _band(ax, x, cover, "anode inventory cover", "#2c3e50")
    ax.set_ylim(bottom=0)
    _finish(fig, ax, result, "Anode inventory at cell makers, in days of planned use", "days of cover",
            folder / "inventory_cover.png")
    paths.append(folder / "inventory_cover.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    _band(ax, x, s["shortfall_fraction"] * 100, "shortfall of planned output", "#c0392b")
    ax.set_ylim(0, 100)
    ax2 = ax.twinx()
    ax2.plot(x, np.median(s["jobs_at_risk"], axis=1) / 1000, color="#7f8c8d", lw=1.2, label="jobs at risk")
    ax2.set_ylabel("jobs at risk (thousands, grey line)")
    ax2.set_ylim(bottom=0)
    _finish(fig, ax, result, "Cell output shortfall and jobs at risk", "shortfall (% of planned output)",
            folder / "shortfall.png")
    paths.append(folder / "shortfall.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    _band(ax, x, s["substitute_share"] * 100, "Si/C share of anode duty", "#16a085")
    _band(ax, x, s["controlled_origin_share"] * 100, "controlled-origin share of deliveries", "#c0392b")
    ax.set_ylim(0, 105)
    _finish(fig, ax, result, "Si/C share of anode duty (graphite-equivalent) and supply share of the controlled origin",
            "share (%)", folder / "sic_share.png")
    paths.append(folder / "sic_share.png")
    plt.close(fig)
    return paths

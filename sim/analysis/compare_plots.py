"""Overlay plots of compared scenarios: cell output against demand, shortfall, inventory cover, Si/C share.

One colour per scenario (median line; 5-95% band for ensembles), labelled by scenario title,
with the caption line naming every scenario, the seed and the engine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..outputs.figstyle import add_caption, caption, pyplot, save
from ..outputs.plots import band

COLORS = ("#2c3e50", "#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d")
YR = DAYS_PER_YEAR

# file stem, title, y label, [(series, multiplier, label suffix, line style)]
PANELS = (
    ("output_vs_demand", "Cell output (solid) against demand (dotted), log scale", "GWh/year",
     [("cell_output", YR, "cell output", "-"), ("demand", YR, "demand", ":")]),
    ("shortfall", "Shortfall of planned cell output", "% of planned output",
     [("shortfall_fraction", 100.0, "shortfall", "-")]),
    ("inventory_cover", "Anode inventory cover at cell makers", "days of planned use",
     [("days_of_cover", 1.0, "cover", "-")]),
    ("sic_share", "Si/C share of the anode duty (graphite-equivalent)", "share (%)",
     [("substitute_share", 100.0, "Si/C share", "-")]),
)


def write_overlays(cmp: Any, folder: Path, fmt: str = "png") -> list[Path]:
    """One overlay figure per panel into ``folder``; returns the paths."""
    plt = pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    ids = ", ".join(cmp.labels)
    engine = cmp.results[0].engine
    out = []
    for stem, title, ylabel, lines in PANELS:
        fig, ax = plt.subplots(figsize=(9.5, 5.6))
        top, low = 0.0, np.inf
        for i, (label, res) in enumerate(zip(cmp.labels, cmp.results)):
            x = np.array(res.dates, dtype="datetime64[D]")
            color = COLORS[i % len(COLORS)]
            for name, mult, what, ls in lines:
                arr = np.asarray(res.trajectory.series[name], dtype=float) * mult
                arr = np.where(np.isfinite(arr), arr, np.nan)
                with np.errstate(all="ignore"):
                    band(ax, x, arr, f"{label}: {what}", color, ls=ls)
                    med = np.nanmedian(arr, axis=1)
                if np.isfinite(med).any():
                    top = max(top, float(np.nanmax(med)))
                    low = min(low, float(np.nanmin(med)))
        if stem == "output_vs_demand" and low > 0 and np.isfinite(low):   # demand grows far past output
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, max(1.0, top) * 1.08)
        ax.set_title(f"{title} — {' vs '.join(cmp.labels)}", fontsize=9)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("date")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
        fig.autofmt_xdate()
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        add_caption(fig, caption(ids, cmp.seed, engine, cmp.samples, extra="common random numbers"))
        out.append(save(fig, folder / stem, fmt))
    return out

"""Explore plots: the Pareto front of cost against the KPI, regret per policy, PRIM peeling trajectories."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..outputs.figstyle import pyplot
from ..sweep.plots import save

MAX_POLICIES = 25


def pareto(folder: Path, names: list[str], cost: np.ndarray, kpi: np.ndarray, front: np.ndarray, preferred: int,
           kpi_label: str, caption: str, fmt: str = "png") -> Path:
    """Mean cost (million USD) against the mean KPI, the front joined, the preferred policy marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    c = cost / 1e6
    ax.scatter(c[~front], kpi[~front], s=18, color="0.6", label="dominated")
    order = np.argsort(c[front])
    ax.plot(c[front][order], kpi[front][order], "o-", color="tab:blue", ms=5, label="Pareto front")
    ax.scatter([c[preferred]], [kpi[preferred]], s=90, facecolors="none", edgecolors="tab:red", linewidths=1.5,
               label=f"preferred: {names[preferred]}")
    ax.set_xlabel("mean cost over futures (million USD)")
    ax.set_ylabel(f"mean {kpi_label}")
    ax.set_title("Policy cost against outcome")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return save(fig, folder / "plots" / "pareto", fmt, caption)


def regret(folder: Path, names: list[str], r: np.ndarray, order: np.ndarray, kpi_label: str, caption: str,
           fmt: str = "png") -> Path:
    """Box plots of each policy's regret over the futures, best-ranked first (at most 25 policies)."""
    plt = pyplot()
    shown = list(order[:MAX_POLICIES])
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(shown) + 1.5))
    data = [r[i][np.isfinite(r[i])] for i in shown]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False)
    ax.set_yticks(range(1, len(shown) + 1), [names[i] for i in shown], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel(f"regret in {kpi_label} (against the best policy in each future); whiskers 5-95%")
    ax.set_title("Regret distribution per policy" + (f" (best {MAX_POLICIES} of {len(order)})" if len(order) > len(shown) else ""))
    ax.grid(alpha=0.3, axis="x")
    return save(fig, folder / "plots" / "regret", fmt, caption)


def trajectory(folder: Path, boxes: list[Any], caption: str, fmt: str = "png", policy: str = "") -> Path | None:
    """Coverage against density along each box's peeling trajectory, the reported box marked."""
    if not boxes:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for b in boxes:
        cov = [t["coverage"] for t in b.trajectory]
        den = [t["density"] for t in b.trajectory]
        ax.plot(cov, den, ".-", ms=4, label=f"box {b.index}")
        ax.scatter([b.coverage], [b.density], s=80, facecolors="none", edgecolors="tab:red",
                   label=f"box {b.index} as reported (significant limits only)")
    ax.set_xlabel("coverage (share of failing futures inside the box)")
    ax.set_ylabel("density (share of futures in the box that fail)")
    ax.set_title("PRIM peeling trajectory" + (f"\nfailures of {policy}" if policy else ""), fontsize=10)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, folder / "plots" / "prim_trajectory", fmt, caption)

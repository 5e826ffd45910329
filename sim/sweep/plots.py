"""Sweep plots: tornado (OAT), fan chart and KPI histograms (MC/LHS), Sobol bars, Morris mu*-sigma.

Axes carry units; parameters are labelled by name (wrapped, never cut) with their id; tornado
bars show the parameter's low and high values and the KPI at each; Morris points are numbered
with a key beside the plot so labels never overlap; every figure has the caption line
(scenario, version, seed, engine, method). PNG, SVG or PDF, each written atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import textwrap

import numpy as np

from ..outputs.figstyle import add_caption
from ..outputs.figstyle import save as save_figure

MAX_BARS = 20


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, fmt: str = "png", caption: str = "") -> Path:
    """Save ``fig`` as ``fmt`` (png, svg, pdf) atomically with the caption line, and close it."""
    if len(fig.axes) > 1:
        fig.tight_layout()
    if caption:
        add_caption(fig, caption)
    return save_figure(fig, path, fmt)


def _value(v: float, unit: str) -> str:
    if unit == "date":
        import datetime as dt

        return dt.date.fromordinal(int(round(v))).isoformat()
    u = "" if unit in ("", "dimensionless") else f" {unit}"
    return f"{v:.4g}{u}"


def wrapped_label(f: Any, width: int = 75) -> str:
    """The factor's full name wrapped to ``width`` characters, then its id and low–high range."""
    name = "\n".join(textwrap.wrap(f.name, width)) if f.name != f.id else ""
    rng = f"{_value(f.low, f.unit)} – {_value(f.high, f.unit)}"
    return (f"{name}\n" if name else "") + f"{f.id} [{rng}]"


def _unit(u: str) -> str:
    return f" [{u}]" if u else ""


def _labels(ids: list[str], factors: dict[str, Any]) -> list[str]:
    return [factors[i].label() if i in factors else i for i in ids]


def _pick(rows: list[dict[str, Any]], kpi: str, index: str) -> dict[str, dict[str, Any]]:
    return {r["param"]: r for r in rows if r["kpi"] == kpi and r["index"] == index}


def tornado(ax: Any, kpi: str, rows: list[dict[str, Any]], nominal: float, unit: str, factors: dict[str, Any]) -> None:
    """OAT tornado: KPI at each parameter's low and high (values at the bar ends), widest swing on top."""
    low, high, swing = _pick(rows, kpi, "low"), _pick(rows, kpi, "high"), _pick(rows, kpi, "swing")
    ranked = sorted(swing, key=lambda p: np.nan_to_num(swing[p]["value"]), reverse=True)
    moving = [p for p in ranked if np.nan_to_num(swing[p]["value"]) > 0] or ranked[:1]
    ids = moving[:MAX_BARS][::-1]
    y = np.arange(len(ids))
    lo = np.array([low[p]["value"] for p in ids], dtype=float)
    hi = np.array([high[p]["value"] for p in ids], dtype=float)
    ax.barh(y + 0.2, lo, height=0.4, left=nominal, color="#2980b9", label="parameter at its low value")
    ax.barh(y - 0.2, hi, height=0.4, left=nominal, color="#c0392b", label="parameter at its high value")
    for yy, d in ((y + 0.2, lo), (y - 0.2, hi)):
        for j in range(len(ids)):
            if np.isfinite(d[j]) and d[j] != 0:
                ax.annotate(f"{nominal + d[j]:,.4g}", (nominal + d[j], yy[j]), fontsize=6, va="center",
                            ha="left" if d[j] >= 0 else "right", xytext=(2 if d[j] >= 0 else -2, 0),
                            textcoords="offset points")
    ax.axvline(nominal, color="k", lw=0.8)
    ax.set_yticks(y, [wrapped_label(factors[i]) if i in factors else i for i in ids], fontsize=6.5)
    ax.margins(x=0.12)
    ax.set_xlabel(f"{kpi}{_unit(unit)} (nominal {nominal:.4g}; bar ends: KPI with the parameter at its low / high)")
    hidden = len(ranked) - len(ids)
    ax.set_title(f"OAT: {kpi}" + (f" ({hidden} parameters with a smaller or no effect not shown)" if hidden else ""),
                 fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def sobol_bars(ax: Any, kpi: str, rows: list[dict[str, Any]], factors: dict[str, Any], n: int) -> None:
    """First- and total-order Sobol indices with 95% bootstrap intervals, largest total on top."""
    s1, st = _pick(rows, kpi, "S1"), _pick(rows, kpi, "ST")
    ids = sorted(st, key=lambda p: np.nan_to_num(st[p]["value"]), reverse=True)[:MAX_BARS][::-1]
    y = np.arange(len(ids))
    for off, d, name, color in ((-0.2, s1, "first order S1", "#2980b9"), (0.2, st, "total order ST", "#c0392b")):
        v = np.array([d[p]["value"] for p in ids])
        err = np.array([[d[p]["value"] - d[p]["ci_low"] for p in ids], [d[p]["ci_high"] - d[p]["value"] for p in ids]])
        ax.barh(y + off, v, height=0.4, xerr=err, color=color, label=name, error_kw={"lw": 0.7})
    ax.set_yticks(y, _labels(ids, factors), fontsize=7)
    ax.set_xlabel("Sobol index (share of variance, dimensionless; bars: 95% bootstrap CI)")
    ax.set_title(f"Sobol indices: {kpi} (N = {n} base samples)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def morris_scatter(ax: Any, kpi: str, rows: list[dict[str, Any]], unit: str, factors: dict[str, Any]) -> None:
    """Morris screening: mu* (mean |elementary effect|) against sigma, top parameters labelled."""
    ms, sg = _pick(rows, kpi, "mu_star"), _pick(rows, kpi, "sigma")
    ids = list(ms)
    x = np.array([ms[p]["value"] for p in ids])
    y = np.array([sg[p]["value"] for p in ids])
    xerr = np.array([ms[p]["value"] - ms[p]["ci_low"] for p in ids])
    ax.errorbar(x, y, xerr=xerr, fmt="o", ms=4, color="#2c3e50", ecolor="#95a5a6", lw=0.8)
    top = np.argsort(-np.nan_to_num(x))[:10]
    key = []
    for n, i in enumerate(top, start=1):   # numbered points, names in a key: labels never overlap
        ax.annotate(str(n), (x[i], y[i]), fontsize=7, fontweight="bold", xytext=(3, 3), textcoords="offset points")
        name = factors[ids[i]].name if ids[i] in factors else ids[i]
        key.append(f"{n}. " + "\n    ".join(textwrap.wrap(f"{name} ({ids[i]})", 48)))
    if key:
        ax.text(1.02, 1.0, "\n".join(key), transform=ax.transAxes, fontsize=6.5, va="top", ha="left")
    lim = max(float(np.nanmax(x)) if len(x) else 1.0, float(np.nanmax(y)) if len(y) else 1.0) * 1.05 or 1.0
    ax.plot([0, lim], [0, lim], ls=":", color="grey", lw=0.8)
    ax.set_xlabel(f"mu* of {kpi}{_unit(unit)} per full parameter range")
    ax.set_ylabel(f"sigma{_unit(unit)}")
    ax.set_title(f"Morris screening: {kpi}", fontsize=10)


def fan_chart(ax: Any, name: str, b: np.ndarray, times: list[str], unit: str, kept: int) -> None:
    """Percentile bands over time: 5-95% and 25-75% shaded, the median as a line."""
    t = np.array(times[: b.shape[1]], dtype="datetime64[D]")
    ax.fill_between(t, b[0], b[4], color="#2980b9", alpha=0.2, lw=0, label="5-95%")
    ax.fill_between(t, b[1], b[3], color="#2980b9", alpha=0.4, lw=0, label="25-75%")
    ax.plot(t, b[2], color="#1f3a5f", lw=1.2, label="median")
    ax.set_ylabel(f"{name}{_unit(unit)}", fontsize=8)
    ax.set_title(f"{name} ({kept} kept trajectories)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="best")


def histogram(ax: Any, kpi: str, y: np.ndarray, unit: str) -> None:
    """Histogram of one KPI over the samples where it is defined."""
    v = y[np.isfinite(y)]
    if len(v):
        ax.hist(v, bins=min(40, max(5, int(np.sqrt(len(v))))), color="#7f8c8d")
    ax.set_xlabel(f"{kpi}{_unit(unit)}", fontsize=7)
    ax.set_ylabel("samples", fontsize=7)
    undefined = len(y) - len(v)
    ax.set_title(kpi + (f" ({undefined} undefined)" if undefined else ""), fontsize=8)
    ax.tick_params(labelsize=6)


def write_all(folder: Path, method: str, rows: list[dict[str, Any]], kpis: dict[str, np.ndarray],
              units: dict[str, str], factors: list[Any], base_n: int = 0, bands: dict[str, np.ndarray] | None = None,
              times: list[str] | None = None, series_units: dict[str, str] | None = None,
              kept: int = 0, fmt: str = "png", caption: str = "") -> list[Path]:
    """Every plot of a sweep into ``folder/plots`` as ``fmt``, each with ``caption``; returns the paths."""
    plt = _plt()
    pdir = folder / "plots"
    fmap = {f.id: f for f in factors}
    analysed = list(dict.fromkeys(r["kpi"] for r in rows))
    out = []
    h = max(3.0, 0.55 * min(len(factors), MAX_BARS) + 1.5)
    for k in analysed:
        if method == "oat":
            fig, ax = plt.subplots(figsize=(11, h))
            tornado(ax, k, rows, float(kpis[k][0]), units.get(k, ""), fmap)
            out.append(save(fig, pdir / f"tornado-{k}.png", fmt, caption))
        elif method == "sobol":
            fig, ax = plt.subplots(figsize=(11, h))
            sobol_bars(ax, k, rows, fmap, base_n)
            out.append(save(fig, pdir / f"sobol-{k}.png", fmt, caption))
        elif method == "morris":
            fig, ax = plt.subplots(figsize=(12, 6))
            morris_scatter(ax, k, rows, units.get(k, ""), fmap)
            out.append(save(fig, pdir / f"morris-{k}.png", fmt, caption))
    if method in ("mc", "lhs"):
        if bands:
            names = sorted(bands)
            nc = 2
            nr = (len(names) + nc - 1) // nc
            fig, axes = plt.subplots(nr, nc, figsize=(11, 2.6 * nr), squeeze=False)
            for ax, name in zip(axes.ravel(), names):
                fan_chart(ax, name, bands[name], times or [], (series_units or {}).get(name, ""), kept)
            for ax in axes.ravel()[len(names):]:
                ax.set_visible(False)
            out.append(save(fig, pdir / "fan_chart.png", fmt, caption))
        names = sorted(kpis)
        nc = 4
        nr = (len(names) + nc - 1) // nc
        fig, axes = plt.subplots(nr, nc, figsize=(13, 2.5 * nr), squeeze=False)
        for ax, k in zip(axes.ravel(), names):
            histogram(ax, k, np.asarray(kpis[k], dtype=float), units.get(k, ""))
        for ax in axes.ravel()[len(names):]:
            ax.set_visible(False)
        out.append(save(fig, pdir / "kpi_histograms.png", fmt, caption))
    return out

"""Plots of a calibration: observed against fitted, and the profile likelihood of each parameter."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from .fit import r2_text


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _dt(year: float) -> dt.date:
    y = int(year)
    return dt.date(y, 1, 1) + dt.timedelta(days=(year - y) * 365.25)


def observed_vs_fitted(run: Any, path: Path) -> None:
    """The observations (with the periods they cover) against the fitted model, and the backtest."""
    plt = _plt()
    t = run.target
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    obs = t.observations
    y = run.model.y_all
    if t.kind == "stockflow":
        sf = run.model
        labels = sf.month_labels
        x = [d + dt.timedelta(days=14) for d in labels]
        ax.plot(x, run.series["fitted"], "-", color="C0", lw=2, label="stock-flow model, fitted")
        if run.series.get("backtest") is not None:
            ax.plot(x, run.series["backtest"], "--", color="C2", lw=1.5,
                    label=f"fitted without the last {t.holdout} observation(s) (backtest)")
        if run.series.get("des_mean") is not None:
            ax.plot(x, run.series["des_mean"], ":", color="C3", lw=1.8, label="DES engine, fitted values (mean)")
            ax.fill_between(x, run.series["des_p05"], run.series["des_p95"], color="C3", alpha=0.12,
                            label="DES 5-95% over replications")
        for i, o in enumerate(obs):
            a, b = o.period.start, o.period.end - dt.timedelta(days=1)
            if o.period.units > 1:
                ax.hlines(y[i], a, b, color="k", lw=2.5)
            ax.plot([a + (b - a) / 2], [y[i]], "o", color="k", ms=6,
                    label="observed (customs)" if i == 0 else None)
        for name, d in run.marks:
            ax.axvline(d, color="0.5", ls="--", lw=1)
            ax.text(d, ax.get_ylim()[1] * 0.97, f" {name}", rotation=90, va="top", ha="right", fontsize=8, color="0.3")
        ax.set_ylabel(f"{t.series['name']}\n(ratio to the {t.model['_normalise'].label} monthly mean)")
        lo = min(labels[0], obs[0].period.start)
        hi = max(obs[-1].period.end + dt.timedelta(days=120), lo)
        ax.set_xlim(lo, min(hi, labels[-1] + dt.timedelta(days=31)))
        ax.set_ylim(bottom=0)
    else:
        lc = run.model
        years = np.linspace(min(o.period.mid_year() for o in obs) - 0.5, max(o.period.mid_year() for o in obs) + 1.5, 200)
        tt = years - (lc.base_year + 0.5)
        ax.semilogy([_dt(v) for v in years], lc.curve(run.theta, tt)[:, 0], "-", color="C0", lw=2,
                    label="fitted: level x exp(-decline x years)")
        if run.band is not None:
            band = lc.curve(run.band, tt)
            ax.fill_between([_dt(v) for v in years], band.min(axis=1), band.max(axis=1), color="C0", alpha=0.15,
                            label=f"parameter sets inside the {int(t.interval_level * 100)}% profile region")
        if run.series.get("backtest_theta") is not None:
            ax.semilogy([_dt(v) for v in years], lc.curve(run.series["backtest_theta"], tt)[:, 0], "--", color="C2",
                        label=f"fitted without the last {t.holdout} observation(s) (backtest)")
        ax.semilogy([_dt(o.period.mid_year()) for o in obs], y, "o", color="k", label="observed (BNEF survey)")
        ax.set_ylabel(f"{t.series['name']} ({t.unit})")
    ax.set_title(t.title, fontsize=10)
    st = run.stats
    ax.text(0.99, 0.02, f"n={st['n']}, p={st['p']}, RMSE({st['scale']})={st['rmse']:.3f}, R²={r2_text(st['r2'], 3)}",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.25")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def profiles(run: Any, path: Path) -> None:
    """-2 log L against each parameter, with the interval threshold and the plausible range."""
    from scipy.stats import chi2

    plt = _plt()
    k = len(run.profiles)
    fig, axes = plt.subplots(1, k, figsize=(3.3 * k, 3.2), dpi=110, squeeze=False)
    thr = float(chi2.ppf(run.target.interval_level, 1))
    best = run.best_m2ll
    for ax, pr, fp, iv, v in zip(axes[0], run.profiles, run.target.params, run.intervals, run.theta):
        ax.plot(pr.grid, pr.m2ll - best, "-", color="C0")
        ax.axhline(thr, color="C3", ls="--", lw=1)
        ax.axvspan(fp.plausible[0], fp.plausible[1], color="C2", alpha=0.1, label="plausible range")
        ax.axvspan(iv.low, iv.high, color="C0", alpha=0.12, label=f"{int(iv.level * 100)}% interval")
        ax.axvline(v, color="k", lw=1)
        ax.set_xlabel(f"{fp.id.split('.')[-1]} ({fp.unit})", fontsize=8)
        ax.set_ylim(bottom=-0.2, top=max(thr * 3, 1.0))
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("profile -2 log L (above minimum)", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Profile likelihood: {run.target.id}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

"""Files of a backtest: ``backtest.json`` and one plot per episode (observed, fitted, left-out prediction)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from .backtest import BacktestRun


def write_backtest(run: BacktestRun, out: str | Path) -> Path:
    """Write OUT/backtest/<config-id>/backtest.json (with per-episode detail) and plots/<episode>.png."""
    from ..outputs.atomic import write_text

    d = Path(out) / "backtest" / run.cfg.id
    (d / "plots").mkdir(parents=True, exist_ok=True)
    body = run.to_json()
    body["detail"] = {r["episode"]: r["_detail"] for r in run.rows + run.held_out}
    body["curves"] = run.curves
    write_text(d / "backtest.json", json.dumps(body, indent=1))
    for r in run.rows + run.held_out:
        plot_episode(run, r, d / "plots" / f"{r['episode']}.png")
    return d


def plot_episode(run: BacktestRun, row: dict, path: Path) -> None:
    """Observed (points), fitted jointly (line), and the left-out predictive median with its band."""
    from .plots import _plt

    plt = _plt()
    c = run.curves[row["episode"]]
    det = row["_detail"]
    months = [dt.date.fromisoformat(m) + dt.timedelta(days=14) for m in c["months"]]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    held = "fitted" not in c
    what = "held-out prediction" if held else "left-out prediction"
    ax.fill_between(months, c["low"], c["high"], color="tab:orange", alpha=0.25,
                    label=f"{what}, {int(det['band'] * 100)}% band (model spread)")
    ax.plot(months, c["median"], color="tab:orange", lw=1.5, label=f"{what}, median")
    if not held:
        ax.plot(months, c["fitted"], color="tab:blue", lw=1.5, label="fitted jointly (all episodes)")
    target = next((e.target for e in run.cfg.episodes + run.cfg.held_out if e.id == row["episode"]), None)
    if target is not None:
        labels = set(det["periods"])
        pts = [(o.period.start + (o.period.end - o.period.start) / 2, v)
               for o, v in zip([o for o in target.observations if o.period.label in labels], det["observed"])]
        ax.scatter([p[0] for p in pts], [max(p[1], 1e-3) for p in pts], color="k", zorder=5, s=18, label="observed")
    ax.axhline(0.25, color="grey", lw=0.7, ls=":")
    ax.axhline(0.5, color="grey", lw=0.7, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(1e-3, 0.5 * np.nanmin([x for x in c["low"] if x and x > 0] or [1e-3])))
    ax.set_ylabel("ratio to the pre-announcement mean (log)")
    ax.set_title(f"{row['episode']}: out-of-sample RMSE(log) {row['rmse_log_out_of_sample']:.2f}, "
                 f"{row['inside_band_90']:.0%} inside the band", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

"""Leave-one-out backtest of the joint calibration (``batsim backtest CONFIG``).

For each fitted episode in turn: fit the others jointly, draw a new episode from the fitted population
(shared values at their estimate, per-episode values from the population with the uncertainty of its
mean, log-normal observation error), run the left-out episode's scenario once with those samples, and
compare: out-of-sample RMSE(log) of the predictive median, the months of collapse (first month below
25% of the pre-announcement mean) and recovery (first month after it back at 50%), and the share of
observations inside the central ``band`` predictive interval. Held-out episodes (never fitted) are
predicted the same way from the population of all fitted episodes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .episodes import EpisodeConfig
from .joint import EpisodeModel, JointResult, build_models, check_dof, fit_joint, predictive

COLLAPSE, RECOVERY = 0.25, 0.50


def _month(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _label(m: int | None) -> str:
    return "-" if m is None else f"{m // 12}-{m % 12 + 1:02d}"


def collapse_recovery(months: list[int], values: np.ndarray) -> tuple[int | None, int | None]:
    """First month below COLLAPSE, then the first month after it at or above RECOVERY (month indices)."""
    c = next((m for m, v in zip(months, values) if np.isfinite(v) and v < COLLAPSE), None)
    if c is None:
        return None, None
    r = next((m for m, v in zip(months, values) if m > c and np.isfinite(v) and v >= RECOVERY), None)
    return c, r


def _observed_months(model: EpisodeModel) -> tuple[list[int], np.ndarray]:
    """The single-month observations after the normalisation period, in order."""
    t = model.ref.target
    after = t.observations[model.sf.anchor].period.end
    idx = [i for i, o in enumerate(t.observations) if o.period.units == 1 and o.period.start >= after]
    return [_month(t.observations[i].period.start) for i in idx], model.y[idx]


def _model_months(model: EpisodeModel) -> tuple[list[int], np.ndarray]:
    t = model.ref.target
    after = t.observations[model.sf.anchor].period.end
    keep = [i for i, d in enumerate(model.sf.month_labels) if d >= after]
    return [_month(model.sf.month_labels[i]) for i in keep], np.array(keep, dtype=int)


def score(model: EpisodeModel, pred: dict[str, np.ndarray], band: float) -> dict[str, Any]:
    """Out-of-sample errors of one episode's predictive distribution ``pred`` (see module docstring)."""
    u = model.use
    med = np.nanmedian(pred["obs_model"], axis=1)
    r = model.residuals(med[:, None])[:, 0]
    lo = np.nanquantile(pred["obs"], (1 - band) / 2, axis=1)[u]
    hi = np.nanquantile(pred["obs"], (1 + band) / 2, axis=1)[u]
    y = model.y[u]
    z = model.zero[u]
    inside = np.where(z, lo <= model.floor[u], (y >= lo) & (y <= hi))
    om, ov = _observed_months(model)
    c_obs, r_obs = collapse_recovery(om, ov)
    mm, keep = _model_months(model)
    monthly = pred["monthly"][keep]
    c_pred, r_pred = collapse_recovery(mm, np.nanmedian(monthly, axis=1))
    per = [collapse_recovery(mm, monthly[:, j]) for j in range(monthly.shape[1])]

    def band_of(vals: list[int | None]) -> list[int] | None:
        v = [x for x in vals if x is not None]
        if len(v) < 0.5 * len(vals):
            return None
        q = np.quantile(np.array(v, dtype=float), [(1 - band) / 2, (1 + band) / 2])
        return [int(np.floor(q[0])), int(np.ceil(q[1]))]

    cb, rb = band_of([p[0] for p in per]), band_of([p[1] for p in per])
    return {
        "episode": model.id, "observations": int(u.sum()),
        "rmse_log_out_of_sample": float(np.sqrt(np.mean(r ** 2))),
        "collapse_month_error": None if c_obs is None or c_pred is None else int(c_pred - c_obs),
        "recovery_month_error": None if r_obs is None or r_pred is None else int(r_pred - r_obs),
        "inside_band_90": float(np.mean(inside)),
        "_detail": {
            "collapse": {"observed": _label(c_obs), "predicted": _label(c_pred),
                         "band": None if cb is None else [_label(cb[0]), _label(cb[1])],
                         "observed_inside_band": None if cb is None or c_obs is None else cb[0] <= c_obs <= cb[1]},
            "recovery": {"observed": _label(r_obs), "predicted": _label(r_pred),
                         "band": None if rb is None else [_label(rb[0]), _label(rb[1])],
                         "observed_inside_band": None if rb is None or r_obs is None else rb[0] <= r_obs <= rb[1]},
            "periods": [o.period.label for o, k in zip(model.ref.target.observations, u) if k],
            "observed": y.tolist(), "median": med[u].tolist(), "low": lo.tolist(), "high": hi.tolist(),
            "band": band,
        },
    }


@dataclass
class BacktestRun:
    """The all-episode fit, each leave-one-out fit and prediction, and the held-out predictions."""

    cfg: EpisodeConfig
    full: JointResult
    dof: dict
    rows: list[dict] = field(default_factory=list)
    held_out: list[dict] = field(default_factory=list)
    curves: dict[str, dict] = field(default_factory=dict)     # per episode: months, fitted, predicted band

    def to_json(self) -> dict:
        """The interface of ``batsim backtest --format json`` (held-out episodes under their own key)."""
        strip = [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rows]
        held = [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.held_out]
        return {"dof": int(self.dof["joint"]), "episodes": strip, "held_out": held}


def _curves(model: EpisodeModel, pred: dict, band: float) -> dict:
    m = pred["monthly"]
    return {"months": [d.isoformat() for d in model.sf.month_labels],
            "median": np.nanmedian(m, axis=1).tolist(),
            "low": np.nanquantile(m, (1 - band) / 2, axis=1).tolist(),
            "high": np.nanquantile(m, (1 + band) / 2, axis=1).tolist()}


SETTINGS = ("seed", "population", "starts", "outer", "inner", "level", "band", "predictive_samples")


def _task(cfg: EpisodeConfig, models: list[EpisodeModel], leave: int | None) -> dict:
    """One task of the backtest: fit all episodes but ``leave`` and score it, or (``leave`` None) fit
    all, with each episode's fitted curve and the held-out episodes' scores."""
    if leave is not None:
        m = models[leave]
        res = fit_joint(cfg, [x for x in models if x is not m])
        pred = predictive(res, m, cfg.predictive_samples, cfg.seed + leave + 1)
        return {"row": score(m, pred, cfg.band), "curves": {m.id: _curves(m, pred, cfg.band)}}
    res = fit_joint(cfg, models)
    fitted = {m.id: m.predict(np.concatenate([res.shared_values(), res.episode_values(e)])[None, :])[1][:, 0].tolist()
              for e, m in enumerate(models)}
    held, curves = [], {}
    for h, m in enumerate(build_models(cfg, cfg.held_out) if cfg.held_out else []):
        pred = predictive(res, m, cfg.predictive_samples, cfg.seed + 1000 + h)
        held.append(score(m, pred, cfg.band))
        curves[m.id] = _curves(m, pred, cfg.band)
    return {"fitted": fitted, "held_out": held, "curves": curves, "result": res}


def _fold(path: str, settings: dict, leave: int | None) -> dict:
    """:func:`_task` in a worker process: the config read again from its file (the result's config is
    dropped so that it pickles; the caller puts its own back)."""
    from .episodes import load_config

    cfg = load_config(path)
    for k, v in settings.items():
        setattr(cfg, k, v)
    out = _task(cfg, build_models(cfg), leave)
    if "result" in out:
        out["result"].cfg = None
    return out


def run_backtest(cfg: EpisodeConfig, progress: Callable[[str], None] | None = None, workers: int = 1) -> BacktestRun:
    """Fit all episodes, then leave each out in turn and predict it; predict held-out episodes.

    The tasks (the full fit and one per left-out episode) are independent and seeded, so ``workers``
    processes give the same numbers as one."""
    models = build_models(cfg)
    dof = check_dof(cfg, models)
    for m in models:                 # every leave-one-out fit needs degrees of freedom too, before any runs
        check_dof(cfg, [x for x in models if x is not m])
    tasks: list[int | None] = [None, *range(len(models))]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        settings = {k: getattr(cfg, k) for k in SETTINGS}
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as ex:
            from ..outputs.progress import bar

            outs = list(bar(ex.map(_fold, [str(cfg.path)] * len(tasks), [settings] * len(tasks), tasks),
                            total=len(tasks), desc="backtest folds", unit="fit"))
        outs[0]["result"].cfg = cfg
    else:
        outs = []
        for t in tasks:
            if progress:
                progress("fitting all episodes" if t is None else f"leave out {models[t].id}")
            outs.append(_task(cfg, models, t))
    full = outs[0]
    run = BacktestRun(cfg, full["result"], dof)
    for t, o in zip(tasks[1:], outs[1:]):
        run.rows.append(o["row"])
        c = o["curves"][models[t].id]
        c["fitted"] = full["fitted"][models[t].id]
        run.curves[models[t].id] = c
    run.held_out = full["held_out"]
    run.curves.update(full["curves"])
    return run


def table(run: BacktestRun) -> str:
    """The backtest table as text."""
    head = (f"{'episode':<26} {'n':>3} {'RMSE(log)':>9} {'inside90':>8}  {'collapse obs/pred [band]':<34} "
            f"{'recovery obs/pred [band]':<34}")
    lines = [head, "-" * len(head)]

    def fmt(r: dict, mark: str = "") -> str:
        d = r["_detail"]

        def cr(x: dict) -> str:
            b = f"[{x['band'][0]}..{x['band'][1]}]" if x["band"] else "[-]"
            return f"{x['observed']} / {x['predicted']} {b}"

        return (f"{(r['episode'] + mark):<26} {r['observations']:>3} {r['rmse_log_out_of_sample']:>9.3f} "
                f"{r['inside_band_90']:>8.2f}  {cr(d['collapse']):<34} {cr(d['recovery']):<34}")

    lines += [fmt(r) for r in run.rows]
    if run.held_out:
        lines.append("held out (never fitted; predicted from the population of all fitted episodes):")
        lines += [fmt(r, " *") for r in run.held_out]
    lines.append(f"joint fit: {run.dof['observations']} observations, {run.dof['fitted_quantities']} fitted "
                 f"quantities, {run.dof['joint']} degrees of freedom; target RMSE(log) <= 0.6 per episode")
    return "\n".join(lines) + "\n"

"""``batsim calibrate calibration/episodes.yaml``: the joint fit, its report, refusals and write-back.

Writes ``OUT/calibration/<config-id>/report.txt``, ``fit.json`` and, unless refused or ``write=False``,
the registry entries (``calibration/parameters/calibrated.yaml``, kind ``calibrated``):

- each shared parameter: its estimate, range = its Laplace interval;
- each per-episode parameter: the *population* entry (value = population median, range = the 5-95%
  quantiles of a new episode's value, ``distribution: lognormal|logitnormal``), which the 2025
  scenarios read, and one entry per episode with its own value and interval.

A value outside its plausible range (shared estimates, per-episode values, population medians) is
``OUTSIDE PLAUSIBLE RANGE``: nothing is written, exit 2, the report still written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.errors import BadInput
from ..provenance.registry import NORMAL_RANGE_Z
from .episodes import EpisodeConfig, load_config
from .joint import JointResult, build_models, check_dof, fit_joint
from .run import _evidence

RANGE_Q = 0.05     # population entries: range = the RANGE_Q and 1 - RANGE_Q quantiles


@dataclass
class JointRun:
    cfg: EpisodeConfig
    res: JointResult
    dof: dict
    fitted: dict[str, dict] = field(default_factory=dict)   # per episode: observed vs fitted
    refused: list[str] = field(default_factory=list)
    written: str | None = None
    out_dir: Path | None = None
    command: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        cfg, res = self.cfg, self.res
        shared = [{"id": q.id, "calibrates": q.param.calibrates, "value": float(v), "unit": q.param.unit,
                   "interval": list(res.interval(j, q.transform, cfg.level)), "plausible": list(q.param.plausible)}
                  for j, (q, v) in enumerate(zip(cfg.shared, res.shared_values()))]
        pops = []
        for k, (q, pop) in enumerate(zip(cfg.pooled, res.populations())):
            lo_s, hi_s = res.sigma_iv[0][k], res.sigma_iv[1][k]
            pops.append({"id": q.id, "calibrates": q.param.calibrates, "unit": q.param.unit,
                         "transform": q.transform, "mu": pop.mu, "mu_se": pop.mu_se, "sigma": pop.sigma,
                         "sigma_interval": [float(lo_s), float(hi_s)], "median": pop.median,
                         "range_5_95": [float(pop.quantile(RANGE_Q)), float(pop.quantile(1 - RANGE_Q))],
                         "plausible": list(q.param.plausible),
                         "episodes": {ep: {"value": float(res.episode_values(e)[k]),
                                           "interval": list(res.interval(res.S + e * res.K + k, q.transform,
                                                                         cfg.level))}
                                      for e, ep in enumerate(res.episodes)}})
        return {"config": str(cfg.path), "id": cfg.id, "title": cfg.title, "episodes": res.episodes,
                "dof": self.dof, "shared": shared, "population": pops, "tau_log": res.tau, "level": cfg.level,
                "fitted": self.fitted, "history": res.history, "refused": self.refused,
                "written_to": self.written, "model_evaluations": res.evaluations, "engine_calls": res.calls,
                "seconds": self.seconds, "command": self.command}


def calibrate_joint(path: str | Path, *, write: bool = True, out: str | Path | None = "outputs", quick: bool = False,
                    progress: Callable[[str], None] | None = None, argv: list[str] | None = None) -> JointRun:
    """Fit the episodes config at ``path`` jointly; refuse implausible values; write report and registry."""
    import time

    t0 = time.perf_counter()
    cfg = load_config(path)
    if quick:
        shrink(cfg)
    models = build_models(cfg)
    dof = check_dof(cfg, models)
    res = fit_joint(cfg, models, progress)
    run = JointRun(cfg, res, dof, command=" ".join(argv) if argv else f"batsim calibrate {path}")
    for e, m in enumerate(models):
        theta = np.concatenate([res.shared_values(), res.episode_values(e)])
        pred = m.predict(theta[None, :])[0][:, 0]
        r = m.residuals(pred[:, None])[:, 0]
        run.fitted[m.id] = {"periods": [o.period.label for o, u in zip(m.ref.target.observations, m.use) if u],
                            "observed": m.y[m.use].tolist(), "fitted": pred[m.use].tolist(),
                            "rmse_log": float(np.sqrt(np.mean(r ** 2)))}
    run.refused = _implausible(run)
    run.seconds = time.perf_counter() - t0
    if write and not run.refused:
        from .writeback import write_entries

        run.written = str(write_entries(cfg.root, _name(cfg), entries(run)))
    if out is not None:
        run.out_dir = _write(run, Path(out))
    if run.refused and write:
        raise BadInput([cfg.problem(where, msg, "argue the range again with evidence, or change the mechanism")
                        for where, msg in _refusals(run)],
                       outcome="the registry was not changed"
                       + (f"; the fit report was written to {run.out_dir}" if run.out_dir else ""))
    return run


def shrink(cfg: EpisodeConfig) -> None:
    """Smaller screen, fewer EM rounds and predictive samples (tests; still seeded)."""
    cfg.population = min(cfg.population, 128)
    cfg.outer, cfg.inner, cfg.starts = min(cfg.outer, 2), min(cfg.inner, 4), min(cfg.starts, 2)
    cfg.predictive_samples = min(cfg.predictive_samples, 64)


def _name(cfg: EpisodeConfig) -> str:
    return cfg.path.name


def _checks(run: JointRun) -> list[tuple[tuple, str, str, float, tuple[float, float]]]:
    cfg, res = run.cfg, run.res
    out = []
    for j, (q, v) in enumerate(zip(cfg.shared, res.shared_values())):
        out.append((("shared", j), q.id, "shared value", float(v), q.param.plausible))
    for k, (q, pop) in enumerate(zip(cfg.pooled, res.populations())):
        out.append((("per_episode", k), q.id, "population median", pop.median, q.param.plausible))
        for e, ep in enumerate(res.episodes):
            out.append((("per_episode", k), q.id, f"value for episode {ep}", float(res.episode_values(e)[k]),
                        q.param.plausible))
    return out


def _implausible(run: JointRun) -> list[str]:
    return [f"{pid} ({what})" for _, pid, what, v, (lo, hi) in _checks(run) if not lo <= v <= hi]


def _refusals(run: JointRun) -> list[tuple[tuple, str]]:
    return [(where, f"OUTSIDE PLAUSIBLE RANGE: fitted {pid} {what} = {v:.4g} is outside [{lo:g}, {hi:g}]; "
                    "not written to the registry")
            for where, pid, what, v, (lo, hi) in _checks(run) if not lo <= v <= hi]


# ---- registry entries --------------------------------------------------------------------------------

def _record(run: JointRun, extra: dict) -> dict:
    cfg = run.cfg
    srcs = list(dict.fromkeys(o.source for e in cfg.episodes for o in e.target.observations))
    rec = {"target": _name(cfg), "source": srcs[0], "sources": srcs,
           "data": [f"{e.id}: {o.period.label}: {o.value:g} {e.target.unit} ({o.statistic}; {o.source}, {o.locator})"
                    for e in cfg.episodes for o in e.target.observations],
           "series": "; ".join(f"{e.id}: {e.target.title}" for e in cfg.episodes),
           "method": ("Joint fit of the episodes with partial pooling (docs/calibration.md): shared parameters, "
                      "per-episode values from a normal population on the log/logit scale, log-normal errors; "
                      "Laplace-approximated EM, conditional modes by batched Levenberg-Marquardt on the stock-flow "
                      f"engine (one vectorised call per episode per iteration); seed {cfg.seed}."),
           "seed": cfg.seed, "fit": {"dof": run.dof, "tau_log": run.res.tau,
                                     "rmse_log": {k: v["rmse_log"] for k, v in run.fitted.items()}},
           "scenario": [e.target.model["scenario"] for e in cfg.episodes],
           "command": f"batsim calibrate calibration/{_name(cfg)}"}
    rec.update(extra)
    return rec


def entries(run: JointRun) -> list[dict]:
    """The calibrated registry entries of a joint fit (shared, population, per episode)."""
    cfg, res = run.cfg, run.res
    ev = [x for e in cfg.episodes for x in _evidence(e.target)]
    out = []
    for j, (q, v) in enumerate(zip(cfg.shared, res.shared_values())):
        lo, hi = res.interval(j, q.transform, cfg.level)
        out.append({"id": q.id, "name": q.param.name, "unit": q.param.unit, "kind": "calibrated", "value": float(v),
                    "range": {"low": min(lo, v), "high": max(hi, v)}, "distribution": "triangular", "evidence": ev,
                    "calibration": _record(run, {"calibrates": q.param.calibrates, "role": "shared by all episodes",
                                                 "interval": {"low": lo, "high": hi, "level": cfg.level,
                                                              "method": "Laplace (Gauss-Newton) at the mode"},
                                                 "plausible": list(q.param.plausible)})})
    for k, (q, pop) in enumerate(zip(cfg.pooled, res.populations())):
        dist = "lognormal" if q.transform == "log" else "logitnormal"
        lo, hi = float(pop.quantile(RANGE_Q)), float(pop.quantile(1 - RANGE_Q))
        pop_rec = {"calibrates": q.param.calibrates, "role": "population of the per-episode values",
                   "population": {"transform": q.transform, "mu": pop.mu, "mu_se": pop.mu_se, "sigma": pop.sigma,
                                  "sigma_interval": [float(res.sigma_iv[0][k]), float(res.sigma_iv[1][k])],
                                  "range_is": f"5-95% quantiles of a new episode's value (z = {NORMAL_RANGE_Z:.4f})"},
                   "interval": {"low": lo, "high": hi, "level": 1 - 2 * RANGE_Q,
                                "method": "quantiles of a new episode's value (population predictive)"},
                   "plausible": list(q.param.plausible)}
        out.append({"id": q.id, "name": q.param.name + " (population of the fitted episodes)", "unit": q.param.unit,
                    "kind": "calibrated", "value": pop.median, "range": {"low": lo, "high": hi},
                    "distribution": dist, "evidence": ev, "calibration": _record(run, pop_rec)})
        for e, ep in enumerate(res.episodes):
            v = float(res.episode_values(e)[k])
            a, b = res.interval(res.S + e * res.K + k, q.transform, cfg.level)
            out.append({"id": f"{q.id}.{ep.replace('-', '_')}", "name": f"{q.param.name} (episode {ep})",
                        "unit": q.param.unit, "kind": "calibrated", "value": v,
                        "range": {"low": min(a, v), "high": max(b, v)}, "distribution": "triangular",
                        "evidence": _evidence(cfg.episodes[e].target),
                        "calibration": _record(run, {"calibrates": q.param.calibrates, "role": f"episode {ep}",
                                                     "interval": {"low": a, "high": b, "level": cfg.level,
                                                                  "method": "Laplace at the conditional mode"},
                                                     "plausible": list(q.param.plausible)})})
    return out


# ---- report ------------------------------------------------------------------------------------------

def report_text(run: JointRun) -> str:
    """The joint fit as text: degrees of freedom, shared values, the population, each episode's fit."""
    j = run.to_json()
    L = [f"{run.cfg.id}: joint fit of {len(j['episodes'])} episodes ({', '.join(j['episodes'])})",
         f"degrees of freedom: joint {j['dof']['joint']} ({j['dof']['observations']} observations, "
         f"{j['dof']['fitted_quantities']} fitted quantities); per episode "
         + ", ".join(f"{k} {v}" for k, v in j['dof']['per_episode'].items())
         + f"; population sd {j['dof']['population_sd']}",
         f"log-scale error sd tau = {j['tau_log']:.3f}; intervals {int(run.cfg.level * 100)}%"]
    flag = lambda v, p: "" if p[0] <= v <= p[1] else "  OUTSIDE PLAUSIBLE RANGE"  # noqa: E731
    if j["shared"]:
        L.append("shared:")
        for s in j["shared"]:
            L.append(f"  {s['id']} = {s['value']:.4g} [{s['interval'][0]:.4g}, {s['interval'][1]:.4g}] "
                     f"{s['unit']} (plausible {s['plausible'][0]:g}-{s['plausible'][1]:g}){flag(s['value'], s['plausible'])}")
    L.append("population (a new episode's value: median, 5-95%; mu and sigma on the transformed scale):")
    for p in j["population"]:
        L.append(f"  {p['id']} median {p['median']:.4g} [{p['range_5_95'][0]:.4g}, {p['range_5_95'][1]:.4g}] "
                 f"{p['unit']}; {p['transform']}: mu {p['mu']:.3f} (se {p['mu_se']:.3f}), sigma {p['sigma']:.3f} "
                 f"[{p['sigma_interval'][0]:.3f}, {p['sigma_interval'][1]:.3f}]{flag(p['median'], p['plausible'])}")
        for ep, v in p["episodes"].items():
            L.append(f"    {ep:<24} {v['value']:.4g} [{v['interval'][0]:.4g}, {v['interval'][1]:.4g}]"
                     f"{flag(v['value'], p['plausible'])}")
    L.append("fit by episode (observed / fitted, ratio to the pre-announcement mean):")
    for ep, f in j["fitted"].items():
        L.append(f"  {ep}: RMSE(log) {f['rmse_log']:.3f}; " + ", ".join(
            f"{p} {o:.3g}/{m:.3g}" for p, o, m in zip(f["periods"], f["observed"], f["fitted"])))
    L.append(f"{j['model_evaluations']} model runs in {j['engine_calls']} vectorised engine calls, {run.seconds:.0f} s")
    if run.refused:
        L.append("REFUSED (outside plausible range, not written): " + "; ".join(run.refused))
    elif run.written:
        L.append(f"wrote {run.written}")
    return "\n".join(L) + "\n"


def _write(run: JointRun, out: Path) -> Path:
    from ..outputs.atomic import write_text

    d = out / "calibration" / run.cfg.id
    d.mkdir(parents=True, exist_ok=True)
    write_text(d / "fit.json", json.dumps(_plain(run.to_json()), indent=1))
    write_text(d / "report.txt", report_text(run))
    return d


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v

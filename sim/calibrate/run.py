"""``batsim calibrate TARGET``: load a target, fit, estimate intervals, backtest, report, write back.

:func:`calibrate` does, in order:

1. load and check the target (:mod:`.targets`) against the registry and bibliography;
2. build the batch predictor: the stock-flow engine over the calibration scenario
   (:mod:`.stockflow`) or a learning curve (:mod:`.learning`);
3. fit: a seeded Latin hypercube in one batch, then ``scipy.optimize.least_squares`` from the
   best candidates (:mod:`.fit`);
4. profile likelihood of each parameter and its confidence interval;
5. backtest: the last observations held out, the rest fitted, the out-of-sample error;
6. for stock-flow targets, the DES engine: the fitted values run as stochastic replications,
   and a population search of its own;
7. checks (a learning-curve target: the scale a loss-making producer would need);
8. refuse any fitted value outside its plausible range (the registry range of the id it
   calibrates, or the range the target declares) unless ``force``; otherwise write the values
   into ``calibration/parameters/calibrated.yaml`` as kind ``calibrated``;
9. write ``OUT/calibration/<target-id>/``: report.txt, fit.json, plots/.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.errors import BadInput
from ..provenance.registry import find_calibration, load_registry
from . import fit as F
from .targets import Target, load_target


@dataclass
class CalibrationRun:
    """Everything a calibration found; ``to_json()`` is fit.json."""

    target: Target
    model: Any
    problem: F.FitProblem
    theta: np.ndarray
    stats: dict
    profiles: list[F.Profile]
    intervals: list[F.Interval]
    best_m2ll: float
    backtest: dict
    refused: list[str] = field(default_factory=list)
    des: dict | None = None
    derived: list[dict] = field(default_factory=list)     # values computed from the fit (learning rate)
    checks: list[dict] = field(default_factory=list)
    series: dict = field(default_factory=dict)
    marks: list[tuple[str, dt.date]] = field(default_factory=list)
    band: np.ndarray | None = None
    written: str | None = None
    out_dir: Path | None = None
    command: str = ""
    evaluations: int = 0

    def values(self) -> dict[str, float]:
        return {fp.id: float(v) for fp, v in zip(self.target.params, self.theta)}

    def to_json(self) -> dict:
        t = self.target
        return {
            "target": t.name, "id": t.id, "title": t.title, "kind": t.kind, "series": _series(t),
            "observations": [{"period": o.period.label, "statistic": o.statistic, "value": o.value, "unit": t.unit,
                              "source": o.source, "locator": o.locator} for o in t.observations],
            "not_observed": [{"period": p.label, "why": w} for p, w in t.not_observed],
            "compared": {"observed": [float(v) for v in self.model.y_all],
                         "fitted": [float(v) for v in self.problem.predictions(self.theta[None, :])[:, 0]],
                         "used": [bool(u) for u in self.problem.use],
                         "scale": self.problem.scale},
            "parameters": [{"id": fp.id, "calibrates": fp.calibrates or None, "value": float(v), "unit": fp.unit,
                            "interval": iv.to_json(), "plausible": list(fp.plausible),
                            "plausible_from": fp.plausible_why, "search": [fp.low, fp.high],
                            "inside_plausible": fp.plausible[0] <= v <= fp.plausible[1]}
                           for fp, v, iv in zip(t.params, self.theta, self.intervals)],
            "fit": self.stats, "backtest": self.backtest, "des": self.des, "derived": self.derived,
            "checks": self.checks, "refused": self.refused, "written_to": self.written,
            "seed": t.seed, "population": t.population, "model_evaluations": self.evaluations,
            "command": self.command,
        }


def _series(t: Target) -> dict:
    return {k: v for k, v in t.series.items()}


def _say(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def calibrate(path: str | Path, *, write: bool = True, force: bool = False, out: str | Path | None = "outputs",
              des: bool = True, plots: bool = True, quick: bool = False,
              progress: Callable[[str], None] | None = None, argv: list[str] | None = None) -> CalibrationRun:
    """Fit the target at ``path``; see the module docstring. ``quick`` shrinks the population,
    profile grids and DES runs (for tests); results are still seeded and reproducible."""
    path = Path(path)
    root = find_calibration(path.parent)
    reg = load_registry(start=path.parent)
    t = load_target(path, reg)
    if quick:
        t.population = min(t.population, 256)
        t.interval_points = min(t.interval_points, 9)
        t.starts = min(t.starts, 2)
    if t.kind == "stockflow":
        from .stockflow import StockflowTarget

        model: Any = StockflowTarget(t, reg)
    else:
        from .learning import LearningCurveTarget

        model = LearningCurveTarget(t)
    prob = F.FitProblem(names=[fp.id for fp in t.params], low=np.array([fp.low for fp in t.params]),
                        high=np.array([fp.high for fp in t.params]), predict=model.predict, y=model.y_all,
                        scale=str(t.model.get("scale", "log")), steps=np.array([fp.step for fp in t.params]),
                        use=model.fitted)
    _say(progress, f"{t.id}: {prob.n} observations, {prob.p} parameters; searching {t.population} candidates "
                   f"(seed {t.seed})")
    res = F.fit(prob, t.population, t.seed, t.starts)
    profiles, intervals, best = _profiles(prob, res, t, progress)
    theta = res.theta
    stats = F.fit_stats(prob, theta)
    stats.update(population_best_sse=res.population_best, method_note=(
        "SSE of log(model/observed); error variance concentrated out of a Gaussian likelihood"))
    _say(progress, f"{t.id}: backtest, last {t.holdout} observation(s) held out")
    bt = F.backtest(prob, t.holdout, t.population, t.seed, t.starts)
    bt["held_out"] = [t.observations[e["index"]].period.label for e in bt.get("errors", [])]
    run = CalibrationRun(target=t, model=model, problem=prob, theta=theta, stats=stats, profiles=profiles,
                         intervals=intervals, best_m2ll=best, backtest=bt,
                         command=" ".join(argv) if argv else f"batsim calibrate {path}")
    if t.kind == "stockflow":
        if quick:
            t.des = {"population": min(int(t.des.get("population", 8)), 8),
                     "replications": min(int(t.des.get("replications", 4)), 4)}
        _stockflow_extras(run, des, progress, quick)
    else:
        _learning_extras(run, reg)
    for fp, v in zip(t.params, theta):
        if not fp.plausible[0] <= v <= fp.plausible[1]:
            run.refused.append(fp.id)
    for d_ in run.derived:
        if d_.get("plausible") and not d_["plausible"][0] <= d_["value"] <= d_["plausible"][1]:
            run.refused.append(d_["id"])
    run.evaluations = prob.evaluations
    if write and (not run.refused or force):
        from .writeback import write_entries

        entries = _entries(run, reg, forced=bool(run.refused))
        run.written = str(write_entries(root, t.name, entries))
    if out is not None:
        run.out_dir = _write_outputs(run, Path(out), plots)
    if run.refused and write and not force:
        loc = t.located
        assert loc is not None
        probs = []
        for rid in run.refused:
            i = next((k for k, fp in enumerate(t.params) if fp.id == rid), None)
            where = ("fit", "parameters", i) if i is not None else ("model", "learning_rate")
            val, (lo, hi), why = _plaus(run, rid)
            probs.append(loc.problem(where, f"fitted {rid} = {val:.4g} is outside its plausible range "
                                            f"[{lo:g}, {hi:g}] ({why}); not written to the registry",
                                     "check the data and the model; 'batsim calibrate --force' writes it anyway"
                                     + (f"; the report is in {run.out_dir}" if run.out_dir else "")))
        raise BadInput(probs, outcome="the registry was not changed"
                       + (f"; the fit report was written to {run.out_dir}" if run.out_dir else ""))
    return run


def _plaus(run: CalibrationRun, rid: str) -> tuple[float, tuple[float, float], str]:
    for fp, v in zip(run.target.params, run.theta):
        if fp.id == rid:
            return float(v), fp.plausible, fp.plausible_why
    d_ = next(d for d in run.derived if d["id"] == rid)
    return d_["value"], tuple(d_["plausible"]), d_["plausible_from"]  # type: ignore[return-value]


def _profiles(prob: F.FitProblem, res: F.FitResult, t: Target, progress: Any) -> tuple[list, list, float]:
    """Profiles of every parameter; if one finds a better optimum, refit from it and profile again."""
    for attempt in range(2):
        best = float(F.m2ll(res.sse, prob.n))
        profs = []
        for j in range(prob.p):
            _say(progress, f"{t.id}: profile likelihood of {prob.names[j]} ({t.interval_points} points)")
            profs.append(F.profile(prob, res.theta, j, t.interval_points, t.seed,
                                   population=max(32, min(512, t.population // 8))))
        lowest = min(float(p.sse.min()) for p in profs)
        if lowest < res.sse * (1 - 1e-6) - 1e-12 and attempt == 0:
            pr = min(profs, key=lambda p: float(p.sse.min()))
            x0 = pr.others[int(np.argmin(pr.sse))]
            _say(progress, f"{t.id}: a profile found a better fit; refining from it")
            better = F.refine(prob, [x0])
            if better.sse < res.sse:
                better.population_best = res.population_best
                res.theta, res.sse = better.theta, better.sse
            else:
                res.theta, res.sse = x0, lowest
            continue
        break
    best = float(F.m2ll(res.sse, prob.n))
    ivs = [F.interval_from_profile(pr, best, t.interval_level, float(res.theta[j])) for j, pr in enumerate(profs)]
    return profs, ivs, best


# ---- stock-flow extras: monthly series, DES -----------------------------------------------------

def _stockflow_extras(run: CalibrationRun, des: bool, progress: Any, quick: bool) -> None:
    sf = run.model
    t = run.target
    flow = sf.flows(run.theta[None, :])
    run.series["fitted"] = sf.monthly(flow)[:, 0]
    if run.backtest.get("theta"):
        run.series["backtest"] = sf.monthly(sf.flows(np.array(run.backtest["theta"])[None, :]))[:, 0]
    scn = sf.scn
    for c in (scn.data.get("policies") or {}).get("export_controls") or []:
        for key, label in (("announced", "announced"), ("effective", "in force")):
            q = scn.quantities.get(f"policies.export_controls.{(scn.data['policies']['export_controls']).index(c)}.{key}")
            if q is not None and isinstance(q.param.value, dt.date):
                run.marks.append((f"{c.get('id')} {label}", q.param.value))
    if not des:
        run.des = {"skipped": "DES engine not run (--no-des)"}
        return
    try:
        import sim.des as _des  # noqa: F401  (another module: present in this installation?)

        del _des
    except ImportError:
        run.des = {"skipped": "sim.run(engine='des') is not available in this installation"}
        return
    cfg = t.des or {}
    reps = int(cfg.get("replications", 16))
    pop = int(cfg.get("population", 64))
    _say(progress, f"{t.id}: DES engine, fitted values x {reps} replications and a population of {pop}")
    try:
        th = np.repeat(run.theta[None, :], reps, axis=0)
        flows = sf.flows(th, engine="des", seed=t.seed)
        pred = sf.per_unit(flows)
        mean_pred = pred.mean(axis=1)
        use = run.problem.use
        lr = np.log(mean_pred[use] / sf.y_all[use])
        monthly = sf.monthly(flows)
        run.series["des_mean"] = monthly.mean(axis=1)
        run.series["des_p05"] = np.nanpercentile(monthly, 5, axis=1)
        run.series["des_p95"] = np.nanpercentile(monthly, 95, axis=1)
        cand = F.lhs(run.problem.low, run.problem.high, pop, t.seed + 1)
        cp = sf.per_unit(sf.flows(cand, engine="des", seed=t.seed + 1))
        sse = (np.log(np.maximum(cp[use], 1e-12) / sf.y_all[use][:, None]) ** 2).sum(axis=0)
        b = int(np.nanargmin(sse))
        sf_sse = float(run.stats["sse"])
        run.des = {
            "replications": reps,
            "at_fitted_values": {"sse": float((lr ** 2).sum()), "rmse_log": float(np.sqrt(np.mean(lr ** 2))),
                                 "predicted_mean": [float(x) for x in mean_pred],
                                 "predicted_p05": [float(x) for x in np.percentile(pred, 5, axis=1)],
                                 "predicted_p95": [float(x) for x in np.percentile(pred, 95, axis=1)]},
            "population_search": {"candidates": pop, "seed": t.seed + 1, "best_sse": float(sse[b]),
                                  "best": {fp.id: float(v) for fp, v in zip(t.params, cand[b])},
                                  "stockflow_sse_at_its_optimum": sf_sse},
            "note": "DES replications are stochastic (lot sizes, transit and licence-review times); shipments are "
                    "read back from arrivals by the mean lead time",
        }
    except Exception as exc:  # the DES belongs to another module; report, do not fail the calibration
        run.des = {"skipped": f"DES run failed: {exc.__class__.__name__}: {exc}"}


# ---- learning-curve extras: learning rate, break-even check -----------------------------------------

def _learning_extras(run: CalibrationRun, reg: Any) -> None:
    from .learning import breakeven_multiple, learning_rate_for_multiple

    lc = run.model
    t = run.target
    j = lc.i_decline
    iv = run.intervals[j]
    lr_cfg = t.model.get("learning_rate")
    thr_pts = []
    for pr in run.profiles:   # parameter sets inside the profile region: a band for the plot
        keep = pr.m2ll - run.best_m2ll <= _chi2(t.interval_level)
        thr_pts.append(pr.others[keep])
    run.band = np.vstack(thr_pts) if thr_pts else None
    bt = run.backtest
    if bt.get("theta"):
        run.series["backtest_theta"] = np.array(bt["theta"])[None, :]
    if not lr_cfg:
        return
    vg = lr_cfg["volume_growth"]
    rate = float(lc.learning_rate(run.theta[j]))
    lo, hi = float(lc.learning_rate(iv.low)), float(lc.learning_rate(iv.high))
    cal_id = str(lr_cfg.get("calibrates", ""))
    plaus = None
    why = ""
    if cal_id and cal_id in reg and reg[cal_id].low is not None:
        plaus = [float(reg[cal_id].low), float(reg[cal_id].high)]
        from ..provenance.explain import display_where

        why = f"the registry range of {cal_id} ({reg[cal_id].kind}, {display_where(reg[cal_id].where())})"
    run.derived.append({
        "id": str(lr_cfg["id"]), "name": str(lr_cfg.get("name", "learning rate")), "unit": "dimensionless",
        "calibrates": cal_id or None, "value": rate, "from": t.params[j].id,
        "interval": {"low": lo, "high": hi, "level": iv.level, "method": "profile likelihood of "
                     f"{t.params[j].id}, transformed (monotone)", "bounded_by_search_low": iv.open_low,
                     "bounded_by_search_high": iv.open_high},
        "volume_growth": {"factor": float(vg["factor"]), "years": float(vg["years"]),
                          "rate_per_year": lc.growth, "source": vg["source"], "locator": vg["locator"],
                          "quote": vg["quote"], "reading": vg["reading"]},
        "formula": "1 - 2 ** (-decline / r), r = ln(factor) / years", "plausible": plaus, "plausible_from": why,
    })
    for ch in t.checks:
        loss_id, claim_id = ch["loss_per_sales_dollar"], ch["claim"]
        loss = float(reg[loss_id].value)
        claim = reg[claim_id]
        m = breakeven_multiple(loss, rate)
        m_lo, m_hi = sorted((breakeven_multiple(loss, hi), breakeven_multiple(loss, lo)))
        c_lo = float(claim.low if claim.low is not None else claim.value)
        c_hi = float(claim.high if claim.high is not None else claim.value)
        need = sorted((learning_rate_for_multiple(loss, c_hi), learning_rate_for_multiple(loss, c_lo)))
        overlap = not (m_hi < c_lo or m_lo > c_hi)
        verdict = ("agreement: the claimed multiple lies inside the range the fitted curve allows" if c_lo <= m <= c_hi
                   else ("partial agreement: the claimed range overlaps the fitted curve's interval" if overlap
                         else "tension: the fitted curve puts break-even at a "
                         + ("smaller" if m_hi < c_lo else "larger") + " multiple than claimed"))
        run.checks.append({
            "kind": "breakeven_multiple", "loss_per_sales_dollar": {"id": loss_id, "value": loss},
            "claim": {"id": claim_id, "value": float(claim.value), "low": c_lo, "high": c_hi},
            "cost_over_revenue": 1 + loss, "cost_fall_needed": 1 - 1 / (1 + loss),
            "learning_rate_used": {"value": rate, "low": lo, "high": hi},
            "model_multiple": {"value": m, "low": m_lo, "high": m_hi},
            "learning_rate_the_claim_needs": {"low": need[0], "high": need[1]},
            "verdict": verdict,
            "reading": "A loss of L per dollar of sales read as unit cost = (1 + L) x price; the fitted industry "
                       "price curve read as a scale curve for one producer (unit cost ∝ scale^(-b), "
                       "b = -log2(1 - learning rate)); fixed costs spread over more output would lower the "
                       "multiple further. " + str(ch.get("note", "")),
        })


def _chi2(level: float) -> float:
    from scipy.stats import chi2

    return float(chi2.ppf(level, 1))


# ---- registry entries ------------------------------------------------------------------------------

def _method(run: CalibrationRun) -> str:
    t = run.target
    if t.kind == "stockflow":
        sf = run.model
        return (f"Stock-flow engine (sim.stockflow) on {sf.scenario_file}: modelled {t.model.get('variable', 'shipments')} "
                f"from {t.model['origin']} of {t.model['material']} aggregated by {t.freq} and divided by its "
                f"{t.model['_normalise'].label} mean, against the observed series divided by the same; least squares "
                f"on log(model/observed); {t.population} Latin-hypercube candidates in one vectorised run (seed {t.seed}), "
                f"then scipy.optimize.least_squares (trf) from the best {t.starts}; {t.interval_points}-point profile "
                "likelihood per parameter, the others re-fitted (batched Levenberg-Marquardt); error variance "
                "concentrated out. Other inputs at their registry values (conditional on them).")
    return (f"Least squares on log(price): price = level x exp(-decline x (year - {run.model.base_year})); "
            f"{t.population} Latin-hypercube candidates (seed {t.seed}), then scipy.optimize.least_squares (trf); "
            f"{t.interval_points}-point profile likelihood per parameter; error variance concentrated out. Fitted "
            "against time: no cited series of cumulative deployment was found.")


def _evidence(t: Target) -> list[dict]:
    out = []
    for o in t.observations:
        e = {"source": o.source, "locator": o.locator, "quote": o.quote,
             "reading": f"{o.period.label} ({o.statistic}): {o.value:g} {t.unit}. {o.reading}"}
        if o.quote_en:
            e["quote_en"] = o.quote_en
        out.append(e)
    return out


def _record(run: CalibrationRun, iv: dict, extra: dict | None = None, forced: bool = False) -> dict:
    t = run.target
    srcs = list(dict.fromkeys(o.source for o in t.observations))
    rec: dict[str, Any] = {
        "target": t.name, "source": srcs[0], "sources": srcs,
        "data": [f"{o.period.label}: {o.value:g} {t.unit} ({o.statistic}; {o.source}, {o.locator})" for o in t.observations],
        "series": str(t.series.get("definition", "")).strip(),
        "not_observed": [f"{p.label}: {w}" for p, w in t.not_observed] or None,
        "method": _method(run), "seed": t.seed,
        "fit": {k: v for k, v in run.stats.items() if k != "method_note"},
        "interval": iv,
        "backtest": {"held_out": run.backtest.get("held_out"), "rmse_log": run.backtest.get("rmse_log"),
                     "mape": run.backtest.get("mape"),
                     "errors": [{"observed": e["observed"], "predicted": e["predicted"],
                                 "relative_error": e["relative_error"]} for e in run.backtest.get("errors", [])]},
        "command": f"batsim calibrate {'--force ' if run.refused else ''}calibration/targets/{t.name}",
    }
    if t.kind == "stockflow":
        rec["scenario"] = run.model.scenario_file
        if run.des and "at_fitted_values" in run.des:
            rec["des_check"] = {"replications": run.des["replications"],
                                "rmse_log_at_fitted_values": run.des["at_fitted_values"]["rmse_log"],
                                "population_best_sse": run.des["population_search"]["best_sse"]}
    if extra:
        rec.update(extra)
    if forced:
        rec["forced"] = "written with --force although a fitted value of this target is outside its plausible range"
    return {k: v for k, v in rec.items() if v is not None}


def _entries(run: CalibrationRun, reg: Any, forced: bool) -> list[dict]:
    t = run.target
    out = []
    ev = _evidence(t)
    for fp, v, iv in zip(t.params, run.theta, run.intervals):
        ivj = iv.to_json()
        extra = {"calibrates": fp.calibrates} if fp.calibrates else {}
        extra["plausible"] = {"low": fp.plausible[0], "high": fp.plausible[1], "from": fp.plausible_why}
        out.append({
            "id": fp.id, "name": fp.name, "unit": fp.unit, "kind": "calibrated", "value": float(v),
            "range": {"low": float(iv.low), "high": float(iv.high)}, "distribution": "triangular",
            "evidence": ev,
            "calibration": _record(run, ivj, extra, forced and fp.id in run.refused),
            "notes": _notes(run, fp.id),
        })
    for d_ in run.derived:
        lr_ev = ev + [{"source": d_["volume_growth"]["source"], "locator": d_["volume_growth"]["locator"],
                       "quote": d_["volume_growth"]["quote"], "reading": d_["volume_growth"]["reading"]}]
        extra = {"calibrates": d_["calibrates"], "derived_from": d_["from"], "formula": d_["formula"],
                 "volume_growth": {k: d_["volume_growth"][k] for k in ("factor", "years", "rate_per_year", "source")},
                 "checks": [{k: c[k] for k in ("claim", "model_multiple", "learning_rate_the_claim_needs", "verdict")}
                            for c in run.checks] or None}
        if d_.get("plausible"):
            extra["plausible"] = {"low": d_["plausible"][0], "high": d_["plausible"][1], "from": d_["plausible_from"]}
        iv = d_["interval"]
        out.append({
            "id": d_["id"], "name": d_["name"], "unit": "dimensionless", "kind": "calibrated", "value": d_["value"],
            "range": {"low": iv["low"], "high": iv["high"]}, "distribution": "triangular", "evidence": lr_ev,
            "calibration": _record(run, iv, {k: v for k, v in extra.items() if v is not None},
                                   forced and d_["id"] in run.refused),
            "notes": _notes(run, d_["id"]),
        })
    return out


def _notes(run: CalibrationRun, pid: str) -> str:
    t = run.target
    base = str(t.description or "").strip()
    return " ".join(base.split())


# ---- outputs ---------------------------------------------------------------------------------------

def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.floating, float)):
        x = float(v)
        return None if not math.isfinite(x) else x
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (dt.date, Path)):
        return str(v)
    return v


def _write_outputs(run: CalibrationRun, out: Path, plots: bool) -> Path:
    from ..outputs.atomic import atomic_dir

    final = out / "calibration" / run.target.id
    with atomic_dir(final) as tmp:
        (tmp / "fit.json").write_text(json.dumps(_jsonable(run.to_json()), indent=2), encoding="utf-8")
        (tmp / "report.txt").write_text(report_text(run), encoding="utf-8")
        if plots:
            from . import plots as P

            (tmp / "plots").mkdir()
            P.observed_vs_fitted(run, tmp / "plots" / "observed_vs_fitted.png")
            P.profiles(run, tmp / "plots" / "profiles.png")
    return final


def _rel(p: str) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return p


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def report_text(run: CalibrationRun) -> str:
    """The human report: data, fitted values with intervals, fit, backtest, DES, checks."""
    t = run.target
    L = [f"{t.id}: {t.title}", ""]
    s = t.series
    L.append(f"series      {s['name']} [{t.unit}, by {t.freq}]")
    for key in ("products", "codes", "destination"):
        L.append(f"{key:<12}" + " ".join(str(s[key]).split()))
    L.append("observed    " + ", ".join(f"{o.period.label}={o.value:g}" + ("" if o.statistic == "value" else
                                                                            f" ({o.statistic})")
                                        for o in t.observations))
    if t.not_observed:
        L.append("not observed " + "; ".join(f"{p.label} ({w})" for p, w in t.not_observed))
    L.append("sources     " + ", ".join(x.id for x in t.sources))
    L.append("")
    L.append(f"fitted ({int(t.interval_level * 100)}% profile-likelihood intervals; plausible range in brackets)")
    for fp, v, iv in zip(t.params, run.theta, run.intervals):
        lo = _fmt(iv.low) + (" (search limit)" if iv.open_low else "")
        hi = _fmt(iv.high) + (" (search limit)" if iv.open_high else "")
        flag = "" if fp.plausible[0] <= v <= fp.plausible[1] else "  OUTSIDE PLAUSIBLE RANGE"
        L.append(f"  {fp.id} = {_fmt(v)} {fp.unit}  CI [{lo}, {hi}]  [{fp.plausible[0]:g}, {fp.plausible[1]:g}]"
                 f"{flag}" + (f"  (stands in for {fp.calibrates})" if fp.calibrates else ""))
    for d_ in run.derived:
        iv = d_["interval"]
        L.append(f"  {d_['id']} = {_fmt(d_['value'])}  CI [{_fmt(iv['low'])}, {_fmt(iv['high'])}]"
                 + (f"  [{d_['plausible'][0]:g}, {d_['plausible'][1]:g}]" if d_.get("plausible") else "")
                 + f"  (from {d_['from']} and output growth x{d_['volume_growth']['factor']:g} in "
                   f"{d_['volume_growth']['years']:g} years)")
    for fp, iv in zip(t.params, run.intervals):
        if iv.open_low or iv.open_high:
            side = " and ".join(x for x, o in (("below", iv.open_low), ("above", iv.open_high)) if o)
            L.append(f"  note: the data do not bound {fp.id} {side} within the search range "
                     f"[{fp.low:g}, {fp.high:g}]")
    st = run.stats
    L.append("")
    L.append(f"fit         n={st['n']} p={st['p']} dof={st['dof']}  SSE={st['sse']:.4g}  RMSE({st['scale']})="
             f"{st['rmse']:.4f}  R²={st['r2']:.4f}  MAPE={st['mape']:.1%}  AIC={st['aic']:.2f}")
    pred = run.problem.predictions(run.theta[None, :])[:, 0]
    L.append("            period      observed   fitted   (" + ("ratio to the pre-announcement mean" if t.kind ==
                                                              "stockflow" else t.unit) + ")")
    for i, o in enumerate(t.observations):
        tag = "" if run.problem.use[i] else "  (normalisation anchor)"
        L.append(f"            {o.period.label:<16}{run.model.y_all[i]:>8.4g} {pred[i]:>8.4g}{tag}")
    bt = run.backtest
    L.append("")
    if bt.get("errors"):
        L.append(f"backtest    held out {', '.join(bt['held_out'])}; fitted on {bt['train_n']} observations: "
                 f"out-of-sample RMSE(log)={bt['rmse_log']:.4f}, MAPE={bt['mape']:.1%}")
        for e, lab in zip(bt["errors"], bt["held_out"]):
            L.append(f"            {lab}: observed {e['observed']:.4g}, predicted {e['predicted']:.4g} "
                     f"({e['relative_error']:+.1%})")
    else:
        L.append(f"backtest    {bt.get('skipped', 'none')}")
    if run.des is not None:
        L.append("")
        if "skipped" in run.des:
            L.append(f"DES engine  {run.des['skipped']}")
        else:
            a, ps = run.des["at_fitted_values"], run.des["population_search"]
            L.append(f"DES engine  fitted values, {run.des['replications']} replications: RMSE(log)={a['rmse_log']:.4f} "
                     f"(stock-flow {st['rmse']:.4f})")
            L.append(f"            own population search ({ps['candidates']} candidates): best SSE {ps['best_sse']:.4g} "
                     f"vs stock-flow optimum {ps['stockflow_sse_at_its_optimum']:.4g}: "
                     + ", ".join(f"{k.split('.')[-1]}={v:.3g}" for k, v in ps["best"].items()))
    for c in run.checks:
        L.append("")
        L.append(f"check       {c['claim']['id']} = {c['claim']['value']:g} (read {c['claim']['low']:g}-"
                 f"{c['claim']['high']:g}) with {c['loss_per_sales_dollar']['id']} = {c['loss_per_sales_dollar']['value']:g}")
        L.append(f"            cost/revenue {c['cost_over_revenue']:.2f}: unit cost must fall {c['cost_fall_needed']:.1%}")
        m, lr = c["model_multiple"], c["learning_rate_used"]
        L.append(f"            fitted learning rate {lr['value']:.1%} [{lr['low']:.1%}, {lr['high']:.1%}] -> break-even "
                 f"at {m['value']:.2f}x scale [{m['low']:.2f}, {m['high']:.2f}]")
        nd = c["learning_rate_the_claim_needs"]
        L.append(f"            the claim needs a learning rate of {nd['low']:.1%}-{nd['high']:.1%}")
        L.append(f"            {c['verdict']}")
    L.append("")
    if run.refused:
        L.append("OUT OF RANGE " + ", ".join(run.refused) + " outside the plausible range: "
                 + ("written anyway (--force)" if run.written else "not written to the registry"))
    L.append(f"registry    {_rel(run.written) if run.written else 'not written'}")
    L.append(f"evaluations {run.problem.evaluations} model runs in {run.problem.calls} batch calls")
    return "\n".join(L) + "\n"


def main_progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


__all__ = ["CalibrationRun", "calibrate", "report_text"]

"""The explore driver: policy file -> combinations × common futures -> sweep chunks -> robustness files.

The (policy, future) rows run on the sweep machinery (:func:`sim.sweep.run.execute`: chunks,
local pool or Dask, Parquet shards with checksums, ``--resume``); :func:`finish` replaces the
sweep analysis with regret, satisficing, percentiles, the Pareto front and PRIM.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core import units
from ..core.errors import bad
from ..sweep.storage import Store, scenario_fingerprint, write_parquet, _sha
from . import robust
from .combine import Combination, compile_all, compile_options, design
from .evaluate import ExploreEvaluator, future_factors, futures, row_design
from .policy import PolicyFile, load_policy

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class ExploreResult:
    """A finished exploration: policies, their metrics, the preferred one and its failure boxes."""

    policy_file: PolicyFile
    names: list[str]
    metrics: dict[str, np.ndarray]
    kpi: np.ndarray                 # (P, N) of the policy file's KPI
    threshold_kpi: np.ndarray       # (P, N)
    cost: np.ndarray                # (P, N) USD
    regret: np.ndarray              # (P, N)
    order: np.ndarray
    preferred: int
    front: np.ndarray
    boxes: list[Any]
    futures: np.ndarray
    future_ids: list[str]
    folder: Path | None
    summary: dict[str, Any] = field(default_factory=dict)
    leaves: list[Any] = field(default_factory=list)     # CART leaves where most futures fail (second view)

    def table(self) -> Any:
        """Every policy's metrics as a pandas DataFrame (one row per policy, best-ranked first)."""
        import pandas as pd

        df = pd.DataFrame({"policy": self.names, **self.metrics, "pareto": self.front})
        return df.iloc[self.order].reset_index(drop=True)


def cost_matrix(pf: PolicyFile, combos: list[Combination], registry: Any, ids: list[str], F: np.ndarray) -> np.ndarray:
    """Cost (P, N) in USD of each policy in each future: the sum of its options' cost quantities."""
    pos = {pid: j for j, pid in enumerate(ids)}
    n = F.shape[0]

    def value(cost: dict[str, Any]) -> np.ndarray:
        if "lever" in cost:
            return np.full(n, float(cost["lever"]) * units.factor(str(cost["unit"]), "USD"))
        pid = cost["param"]
        p = registry[pid]
        f = units.factor(p.unit, "USD")
        if pid in pos:
            return F[:, pos[pid]] * f
        if p.kind == "derived":
            leaves = {q: (F[:, pos[q]] if q in pos else registry[q].value) for q in registry.closure([pid])
                      if registry[q].kind != "derived"}
            return np.broadcast_to(np.asarray(registry.evaluate([pid], leaves)[pid], dtype=float), (n,)) * f
        return np.full(n, float(p.value) * f)

    return np.array([np.sum([value(o.cost) for o in c.options], axis=0) for c in combos]).reshape(len(combos), n)


def prepare(scenario: str | Path, policies: str | Path, seed: int = 0) -> tuple[PolicyFile, list[Combination], Any]:
    """Load and check the policy file against the scenario, compile every combination (BadInput on problems)."""
    from ..provenance.registry import load_registry
    from ..scenario.compile import compile_document
    from ..scenario.load import load_document

    reg = load_registry(start=Path(scenario).parent)
    pf = load_policy(policies, reg)
    base = load_document(scenario)
    compile_document(base, reg)
    compile_options(pf, base, reg)
    combos = design(pf, seed)
    compile_all(pf, combos, base, reg)
    names = [c.name for c in combos]
    if pf.preferred is not None and pf.preferred not in names:
        from difflib import get_close_matches

        near = get_close_matches(pf.preferred, names, n=1, cutoff=0.3)
        raise bad(str(pf.file), f"preferred: '{pf.preferred}' is not one of the design's policies",
                  f"did you mean '{near[0]}'?" if near else "policies are named lever=option+lever=option",
                  *pf.loc.where(("preferred",)))
    return pf, combos, reg


def check(policies: str | Path, scenario: str | Path | None = None) -> tuple[PolicyFile, list[Combination]]:
    """Check a policy file without running it (for ``batsim validate``): against ``scenario``, or the
    scenario its ``scenario:`` key names (a path relative to the policy file). BadInput on problems."""
    if scenario is None:
        from ..provenance.registry import load_registry

        pf = load_policy(policies, load_registry(start=Path(policies).parent))
        if pf.scenario is None:
            raise bad(str(policies), "the policy file names no scenario: to check it against",
                      "add scenario: PATH (relative to the policy file), or give it (batsim validate --scenario S)",
                      *pf.loc.where(("id",), key=True))
        scenario = Path(policies).parent / pf.scenario
    pf, combos, _ = prepare(scenario, policies)
    return pf, combos


def explore(scenario: str | Path, policies: str | Path, samples: int | None = None, seed: int | None = None,
            out: str | Path = "outputs", resume: bool = False, workers: int | None = None, executor: str = "local",
            scheduler: str | None = None, chunk_size: int | None = None, plots: bool = True, progress: bool = False,
            argv: list[str] | None = None, plot_format: str = "png", log: Log = _stderr) -> ExploreResult:
    """Evaluate every policy of ``policies`` over the same ``samples`` futures of ``scenario``; write the files."""
    from ..sweep import executors as ex
    from ..sweep.run import execute

    if resume and (samples is None or seed is None or chunk_size is None):
        from ..provenance.registry import load_registry

        pf0 = load_policy(policies, load_registry(start=Path(scenario).parent))
        store = Store(Path(out) / f"{pf0.id}-explore")
        if store.exists():
            m = store.read()
            samples = samples if samples is not None else m.get("samples")
            seed = seed if seed is not None else (m.get("seed") or {}).get("seed")
            chunk_size = chunk_size if chunk_size is not None else m.get("chunk_size")
    samples = 1000 if samples is None else int(samples)
    seed = 0 if seed is None else int(seed)
    if samples < 1:
        raise bad("--samples", f"--samples must be a positive number (got {samples})")
    pf, combos, reg = prepare(scenario, policies, seed)
    if pf.scenario is not None:
        named = (Path(policies).parent / pf.scenario).resolve()
        if named != Path(scenario).resolve():
            log(f"note: the policy file names scenario '{pf.scenario}'; running it on {scenario} as given")
    scns = [c.scenario for c in combos]
    cost_params = [reg[o.cost["param"]] for opts in pf.levers.values() for o in opts if "param" in o.cost]
    facs = future_factors(scns, cost_params)
    ids = [f.id for f in facs]
    F = futures(facs, samples, seed)
    C = cost_matrix(pf, combos, reg, ids, F)
    cost_ids = {p.id for p in cost_params}
    folder = Path(out) / f"{pf.id}-explore"
    evaluator = ExploreEvaluator(scns, ids, F)
    d = row_design(len(combos), samples, seed)

    def finisher(design_, store, evaluator_, plots=True, log=log, plot_format="png"):
        return finish(pf, combos, F, facs, C, cost_ids, store, plots=plots, plot_format=plot_format, seed=seed, log=log)

    fp = scenario_fingerprint(scns[0])
    return execute(d, evaluator, lambda: ex.make(executor, workers, scheduler), folder, resume=resume,
                   scenario=fp, chunk_size=chunk_size, progress=progress, plots=plots, keep=0, argv=argv, log=log,
                   plot_format=plot_format, finisher=finisher)


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["" if isinstance(v, float) and not np.isfinite(v) else (repr(v) if isinstance(v, float) else v)
                    for v in r])
    return buf.getvalue()


def finish(pf: PolicyFile, combos: list[Combination], F: np.ndarray, facs: list[Any], C: np.ndarray,
           cost_ids: set[str], store: Store, plots: bool = True, plot_format: str = "png", seed: int = 0,
           log: Log = _stderr) -> ExploreResult:
    """Read the result shards back; write robustness.csv, pareto.csv, prim_boxes.csv, summary.json, plots."""
    from ..outputs.atomic import write_text
    from . import discover

    m = store.manifest
    P, N = len(combos), F.shape[0]
    kpis, errors = store.read_results(m["chunks"])
    K = kpis[pf.kpi].reshape(P, N)
    T = kpis[pf.threshold["kpi"]].reshape(P, N)
    met = robust.metrics(K, T, C, pf.threshold, pf.sense)
    order = robust.rank(met, pf.rank_by, pf.sense)
    names = [c.name for c in combos]
    pref = names.index(pf.preferred) if pf.preferred else int(order[0])
    front = robust.pareto_front(met["cost_mean_usd"], met["kpi_mean"], pf.sense)
    R = robust.regret(K, pf.sense)
    rank_of = np.empty(P, dtype=int)
    rank_of[order] = np.arange(1, P + 1)
    rows: list[list[Any]] = [["policy", "metric", "value"]]
    for i in order:
        rows.append([names[i], "rank_" + pf.rank_by, int(rank_of[i])])
        rows += [[names[i], k, float(v[i])] for k, v in met.items()]
    write_text(store.folder / "robustness.csv", _csv(rows))
    levers = list(pf.levers)
    prow: list[list[Any]] = [["policy", *levers, "cost_mean_usd", f"{pf.kpi}_mean", "satisficing", "pareto"]]
    for i in np.argsort(met["cost_mean_usd"], kind="stable"):
        ch = combos[i].choices()
        prow.append([names[i], *[ch[lv] for lv in levers], float(met["cost_mean_usd"][i]), float(met["kpi_mean"][i]),
                     float(met["satisficing"][i]), "true" if front[i] else "false"])
    write_text(store.folder / "pareto.csv", _csv(prow))
    # scenario discovery on the preferred policy's failing futures
    cols = [j for j, f in enumerate(facs) if f.id not in cost_ids]
    ok = np.isfinite(T[pref])
    fails = ~robust.satisfied(T[pref], pf.threshold)
    notes: list[str] = []
    if discover.available():
        boxes = discover.find_boxes(F[ok][:, cols], [facs[j].id for j in cols], fails[ok],
                                    max_boxes=pf.discovery["max_boxes"], min_coverage=pf.discovery["min_coverage"])
    else:
        boxes = []
        notes.append(discover.MISSING)
        log(f"note: {discover.MISSING}")
    from . import cart

    if cart.available():
        leaves = cart.find_leaves(F[ok][:, cols], [facs[j].id for j in cols], fails[ok])
    else:
        leaves = []
        notes.append(cart.MISSING)
        log(f"note: {cart.MISSING}")
    by_id = {f.id: f for f in facs}

    def box_rows(found: list[Any], first: list[str]) -> list[list[Any]]:
        rows_ = [first + ["param", "low", "high", "coverage", "density", "unit", "name", "policy"]]
        for b in found:
            for pid, (lo, hi) in b.limits.items():
                f = by_id[pid]
                rows_.append([b.index, *([b.node] if len(first) > 1 else []), pid, discover.show_value(lo, f.unit),
                              discover.show_value(hi, f.unit), round(b.coverage, 6), round(b.density, 6), f.unit,
                              f.name, names[pref]])
        return rows_

    def limits(b: Any) -> dict[str, list[str]]:
        return {pid: [discover.show_value(lo, by_id[pid].unit), discover.show_value(hi, by_id[pid].unit),
                      by_id[pid].unit] for pid, (lo, hi) in b.limits.items()}

    write_text(store.folder / "prim_boxes.csv", _csv(box_rows(boxes, ["box"])))
    write_text(store.folder / "cart_boxes.csv", _csv(box_rows(leaves, ["box", "leaf"])))
    fut_cols: dict[str, Any] = {"future": np.arange(N, dtype=np.int64)}
    fut_cols.update({f.id: np.ascontiguousarray(F[:, j]) for j, f in enumerate(facs)})
    write_parquet(store.folder / "futures.parquet", fut_cols)
    files = ["robustness.csv", "pareto.csv", "prim_boxes.csv", "cart_boxes.csv", "futures.parquet", "summary.json",
             "manifest.json"]
    if plots:
        from ..outputs.figstyle import caption
        from . import plots as pl

        cap = caption(str(m.get("scenario", {}).get("id")), seed, "stockflow",
                      extra=f"explore {pf.id}: {P} policies × {N} common futures")
        label = f"{pf.kpi} ({kpis and m.get('kpi_units', {}).get(pf.kpi, '')})"
        made = [pl.pareto(store.folder, names, met["cost_mean_usd"], met["kpi_mean"], front, pref, label, cap, plot_format),
                pl.regret(store.folder, names, R, order, label, cap, plot_format),
                pl.trajectory(store.folder, boxes, cap, plot_format, policy=names[pref])]
        files += [str(p.relative_to(store.folder)) for p in made if p is not None]
    thr = pf.threshold
    summary = {
        "policy_file": pf.id, "scenario": m.get("scenario", {}).get("id"), "policies": P, "futures": N, "seed": seed,
        "kpi": pf.kpi, "kpi_unit": m.get("kpi_units", {}).get(pf.kpi), "sense": pf.sense, "threshold": thr,
        "rank_by": pf.rank_by, "failed_evaluations": int(sum(e is not None for e in errors)),
        "preferred": {"policy": names[pref], "chosen": "preferred: in the policy file" if pf.preferred else
                      f"best on {pf.rank_by}", **{k: float(v[pref]) for k, v in met.items()},
                      "failing_futures": int(fails[ok].sum())},
        "ranking": [{"policy": names[i], pf.rank_by if pf.rank_by != "mean" else "kpi_mean":
                     float(met["satisficing" if pf.rank_by == "satisficing" else
                               {"regret_max": "regret_max", "regret_p90": "regret_p90", "mean": "kpi_mean",
                                "p90": "kpi_p90"}[pf.rank_by]][i]),
                     "cost_mean_usd": float(met["cost_mean_usd"][i])} for i in order[:10]],
        "pareto_front": [names[i] for i in np.flatnonzero(front)],
        "boxes": [{"box": b.index, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                   "limits": limits(b), "not_significant": b.dropped} for b in boxes],
        "cart": [{"box": b.index, "leaf": b.node, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                  "limits": limits(b)} for b in leaves],
        "future_parameters": [f.id for f in facs],
        "notes": notes,
        "files": sorted(files),
    }
    write_text(store.folder / "summary.json", json.dumps(summary, indent=1, default=float) + "\n")
    m["explore"] = {"policy_file": str(pf.file), "policies": [{"policy": names[i], **combos[i].choices()} for i in range(P)],
                    "futures": [f.record() for f in facs], "futures_sha256": _sha(store.folder / "futures.parquet")}
    m["status"] = "complete"
    m["failures"] = summary["failed_evaluations"]
    store.save()
    return ExploreResult(pf, names, met, K, T, C, R, order, pref, front, boxes, F, [f.id for f in facs], store.folder,
                         summary, leaves)

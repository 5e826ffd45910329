"""Run the discrete-event (or hybrid) engine: replications on a process pool, one result.

Replication ``i`` draws from child ``i`` of ``numpy.random.SeedSequence(seed)``; its random
streams depend on nothing else, so results are identical whatever the worker count, and two
scenarios run with the same seed share their streams (common random numbers). With
``samples == 1`` every replication uses the nominal parameter values; with ``samples > 1``
replication ``i`` uses parameter sample ``i`` (so samples and replications must agree).
"""
from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np

from ..scenario.compile import Scenario, resolve
from ..stockflow import kpis as _kpis
from ..stockflow.controls import bind_day, binding_steps
from ..stockflow.engine import StockFlowModel, Trajectory
from ..stockflow.structure import build_structure
from .hybrid import slow_paths
from .inputs import Inputs, build_inputs
from .model import RepOutput, simulate
from .params import read_settings
from .result import DES_KPI_UNITS, DesResult
from .streams import replication_seeds

ENGINES = ("des", "hybrid")
CHUNKS_PER_WORKER = 4


def default_workers() -> int:
    """min(2, CPUs)."""
    return max(1, min(2, os.cpu_count() or 1))


def _work(payload: tuple[dict[int, Inputs], list[tuple[int, int, np.random.SeedSequence]]]) -> list[tuple[int, RepOutput]]:
    inputs, jobs = payload
    last = {key: n for n, (_, key, _) in enumerate(jobs)}
    out = []
    for n, (i, key, ss) in enumerate(jobs):
        out.append((i, simulate(inputs[key], ss, record_events=(i == 0))))
        if last[key] == n and len(inputs) > 1:      # one sample per replication: its inputs are done with
            inputs[key].forget()
    return out


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def run_replications(inputs: list[Inputs], n: int, seed: int, workers: int) -> list[RepOutput]:
    """Run ``n`` replications (replication i uses ``inputs[i]``, or ``inputs[0]`` when there is one)."""
    seeds = replication_seeds(seed, n)
    jobs = [(i, i if len(inputs) > 1 else 0, seeds[i]) for i in range(n)]
    from ..outputs.progress import bar

    if workers <= 1 or n == 1:
        used = {k: inputs[k] for k in {j[1] for j in jobs}}
        return [out for job in bar(jobs, desc="DES replications", unit="rep") for _, out in _work((used, [job]))]
    chunks = min(n, workers * CHUNKS_PER_WORKER)
    bounds = np.linspace(0, n, chunks + 1).round().astype(int)
    payloads = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = jobs[a:b]
        payloads.append(({k: inputs[k] for k in {j[1] for j in part}}, part))
    results: list[RepOutput | None] = [None] * n
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        with bar(total=n, desc=f"DES replications ({workers} workers)", unit="rep") as progress:
            for chunk in pool.map(_work, payloads):
                for i, out in chunk:
                    results[i] = out
                progress.update(len(chunk))
    return results  # type: ignore[return-value]


def _stack(outs: list[RepOutput], key: str) -> np.ndarray:
    return np.stack([o.series[key] for o in outs], axis=1)


def _record(scn: Scenario, pid: str) -> dict[str, Any]:
    """A manifest record of a registry entry the DES used as a default."""
    p = scn.registry[pid]
    rec: dict[str, Any] = {"id": p.id, "name": p.name, "value": p.value, "unit": p.unit, "kind": p.kind,
                           "defined_at": f"{p.file}:{p.line}"}
    if p.low is not None:
        rec["range"] = [p.low, p.high]
    if p.rationale:
        rec["rationale"] = p.rationale
    return rec


def run_des(scn: Scenario, samples: int = 1, seed: int = 0, engine: str = "des",
            given: dict[str, np.ndarray] | None = None, replications: int = 1,
            workers: int | None = None, uncertain: bool | None = None) -> DesResult:
    """Run ``scn`` on the DES (or hybrid) engine; the result has one sample per replication."""
    t0 = time.perf_counter()
    if engine not in ENGINES:
        raise ValueError(f"unknown DES engine '{engine}'; available: {', '.join(ENGINES)}")
    if replications < 1:
        raise ValueError("replications must be at least 1")
    if samples < 1:
        raise ValueError("samples must be at least 1")
    if samples > 1 and replications > 1 and samples != replications:
        raise ValueError("with parameter sampling, replication i uses sample i: give samples == replications")
    n = max(samples, replications)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    draw = samples > 1 if uncertain is None else bool(uncertain) and samples > 1
    distinct = draw or given is not None
    res = resolve(scn, samples=n, seed=seed, given=given, uncertain=draw)
    settings = read_settings(scn, res)
    res_m = res if distinct else resolve(scn, samples=1, seed=seed, uncertain=False)
    st = build_structure(scn)
    sfm = StockFlowModel(scn, res_m)
    slow = slow_paths(sfm) if engine == "hybrid" else None
    inputs = build_inputs(scn, st, sfm, res_m, settings if distinct else settings[:1], engine, slow)
    outs = run_replications(inputs, n, seed, workers)
    cal = scn.calendar
    series: dict[str, Any] = {k: _stack(outs, k) for k in outs[0].series}
    series["material_limited"] = series["material_limited"].astype(float)
    keys = sorted({k for o in outs for k in o.stages})
    T = cal.n
    series["stages"] = {k: np.stack([np.broadcast_to(np.asarray(o.stages.get(k, 0.0), dtype=float), (T,)) for o in outs],
                                    axis=1) for k in keys}
    shock = np.array([inputs[i if distinct else 0].shock for i in range(n)])
    bind = bind_day(binding_steps(sfm.control_plans(), cal.n, res_m.samples), cal.t_days)   # as the stock-flow engine
    bind = np.array([bind[i if distinct else 0] for i in range(n)])
    traj = Trajectory(structure=st, t_days=cal.t_days, dt_days=cal.dt_days, series=series, shock_day=shock,
                      mass_error_max=max(o.mass_error_max for o in outs), bind_day=bind)
    kpis = _kpis.compute(traj)
    des_kpis = {k: np.array([o.kpis[k] for o in outs]) for k in DES_KPI_UNITS}
    s0 = settings[0]
    info = {k: v for k, v in asdict(s0).items() if k != "sources"}
    info["lot_size_t"] = {m: float(inputs[0].lot_size[j]) for j, m in enumerate(st.materials)}
    info["sources"] = s0.sources
    info["registry_defaults"] = [_record(scn, path) for path, src in s0.sources.items() if "registry default" in src]
    return DesResult(scenario=scn, resolved=res, trajectory=traj, kpis=kpis, engine=engine, seed=seed,
                     replications=n, workers=workers, events=outs[0].events or [], des_kpis=des_kpis,
                     n_events=np.array([o.n_events for o in outs]), settings=info,
                     elapsed_s=time.perf_counter() - t0)
